"""Model-based test of the real provider, driven the way Terraform drives it.

A ``RuleBasedStateMachine`` plays Terraform against the protocol servicer in this process: the
real provider with its warm worker executor, one ``alembic_upgrade`` or ``alembic_stamp``, a
generated Alembic project and an SQLite file in a temporary directory. Rules change the script
directory (linear revisions, branches, merges, failing migrations and their fixes), the
configuration (target and settings), the database by hand (SQL on ``alembic_version``), and run
Terraform's commands (plan, apply, apply of a saved plan, ``-replace``, refresh, import,
destroy). Some worlds start without the database (it appears with the first apply, as when
another resource creates it) or with an ``alembic.ini`` that cannot reach it (only the
resource's ``environment`` does, so an import is read by the first plan). :class:`Terraform`
repeats the calls and the checks Terraform itself makes
(ProposedNewState, plan validity, the final plan, consistency after apply, tainted objects and
their replacement); :class:`Scripts` is the plain reference that predicts what each plan and
apply must do. ``--hypothesis-show-statistics`` counts the outcomes seen. The test never
patches the provider and never writes outside its temporary directory.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import shutil
import sqlite3
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from hypothesis import currently_in_test_context, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    invariant,
    multiple,
    precondition,
    rule,
)

from alembic_provider.cty import UNKNOWN, Unknown, contains_unknown, decode_msgpack, encode_msgpack
from alembic_provider.log import Logger
from alembic_provider.plugin.proto import tfplugin6_pb2 as pb
from alembic_provider.plugin.servicer import ProviderService
from alembic_provider.provider import Provider, new_provider
from alembic_provider.provider_config import PROVIDER_SCHEMA
from alembic_provider.resources.stamp import StampResource
from alembic_provider.resources.upgrade import UpgradeResource
from alembic_provider.schema import Block, Schema, empty_object
from tests.alembic_projects import add_revision, make_project, sqlite_url, table_name

Values = dict[str, Any]
Rows = frozenset[str]

SECRET = "hunter2-model-4f9c1e"
SCHEMAS = {"upgrade": UpgradeResource().schema(), "stamp": StampResource().schema()}
_UNKNOWN_REVISION = "ffffdeadbeef"
_SUMMARIES = {
    "target": {"Invalid Target Revision", "Multiple Head Revisions"},
    "unknown": {"Unknown Database Revision"},
    "downgrade": {"Downgrade Not Allowed"},
    "moved": {"Database Moved"},
}
_UNREACHABLE = "Database Not Found"
_BUG_WORDS = ("please report it", "Unexpected Provider Error", "Invalid Value Encoding")
# Raise from a migration with the secret in the message and on stderr, as a driver would.
_FAILURE = (
    "import sys\n"
    'print("connecting with", os.environ.get("APP_SECRET"), file=sys.stderr)\n'
    'raise RuntimeError("the server refused " + str(os.environ.get("APP_SECRET")))\n'
)


# -- the reference: the script directory and what a plan must decide -----------------------


@dataclass(frozen=True)
class Expected:
    """What a plan for one target must find, given the scripts and the database.

    :param error: ``"target"`` (unresolvable), ``"unknown"`` (database at a revision the
        scripts lack), ``"downgrade"`` (behind the database, downgrades not allowed) or
        ``"moved"`` (the database left the heads a refresh recorded).
    :param heads: where a successful apply leaves the database (the planned ``revisions``).
    """

    error: str | None = None
    target: tuple[str, ...] = ()
    heads: tuple[str, ...] = ()
    steps: frozenset[str] = frozenset()
    direction: str = "none"
    fails: bool = False


@dataclass
class Scripts:
    """The revision graph the reference keeps: parents, branch labels, failing revisions."""

    parents: dict[str, tuple[str, ...]] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)
    failing: set[str] = field(default_factory=set)

    def ancestry(self, revisions: Iterable[str]) -> set[str]:
        """Return the revisions and all their ancestors (unknown ids are left out)."""
        seen: set[str] = set()
        stack = [r for r in revisions if r in self.parents]
        while stack:
            revision = stack.pop()
            if revision not in seen:
                seen.add(revision)
                stack.extend(self.parents[revision])
        return seen

    def descendants(self, revision: str) -> set[str]:
        return {r for r in self.parents if r != revision and revision in self.ancestry([r])}

    def heads(self) -> tuple[str, ...]:
        used = {p for parents in self.parents.values() for p in parents}
        return tuple(sorted(set(self.parents) - used))

    def maximal(self, revisions: Iterable[str]) -> tuple[str, ...]:
        """Return the revisions no other one of them descends from: a version table's rows."""
        chosen = set(revisions)
        below: set[str] = set()
        for revision in chosen:
            below |= self.ancestry(self.parents[revision])
        return tuple(sorted(chosen - below))

    def resolve(self, target: str) -> tuple[str, ...] | None:
        """Resolve a target as Alembic does; None when Alembic refuses it."""
        heads = self.heads()
        if target == "heads":
            return heads
        if target == "head":
            return heads if len(heads) <= 1 else None
        if target == "base":
            return ()
        if target.endswith("@head") and target[: -len("@head")] in self.labels:
            start = self.labels[target[: -len("@head")]]
            found = tuple(h for h in heads if start in self.ancestry([h]))
            return found if len(found) == 1 else None
        return (target,) if target in self.parents else None

    def stamped(self, rows: Rows, target: tuple[str, ...]) -> tuple[str, ...]:
        """Where ``alembic stamp`` leaves a database: the target, plus the heads of unrelated
        branches (``base`` clears the table)."""
        if not target:
            return ()
        related = self.ancestry(target)
        kept = {r for r in rows if r not in related and not set(target) & self.ancestry([r])}
        return self.maximal(set(target) | kept)

    def related(self, target: Iterable[str], heads: Iterable[str]) -> frozenset[str]:
        """The heads on the target's branches: ancestors or descendants of a target revision."""
        target = tuple(target)
        lineage = self.ancestry(target)
        return frozenset(h for h in heads if h in lineage or set(target) & self.ancestry([h]))

    def same_branch(
        self, target: Iterable[str], before: Iterable[str], after: Iterable[str]
    ) -> bool:
        """Whether two sets of heads differ only on branches unrelated to the target."""
        return self.related(target, before) == self.related(target, after)

    def others_branches(self, target: Iterable[str]) -> bool:
        """Whether the scripts have heads on branches unrelated to the target, which other
        resources may move while this one applies (its plan's heads are then unknown)."""
        return len(self.related(target, self.heads())) < len(self.heads())

    def expect(self, target: str, rows: Rows, allow_downgrade: bool) -> Expected:
        resolved = self.resolve(target)
        if resolved is None:
            return Expected(error="target")
        if any(r not in self.parents for r in rows):
            return Expected(error="unknown", target=resolved)
        applied = self.ancestry(rows)
        up = self.ancestry(resolved) - applied
        if up:
            heads = self.maximal(applied | self.ancestry(resolved))
            fails = bool(up & self.failing)
            return Expected(None, resolved, heads, frozenset(up), "upgrade", fails)
        if resolved:
            down = set().union(*(self.descendants(t) for t in resolved)) & applied
        else:
            down = applied
        if not down:
            return Expected(None, resolved, tuple(sorted(rows)))
        if not allow_downgrade:
            return Expected(error="downgrade", target=resolved)
        heads = self.maximal(applied - down)
        return Expected(None, resolved, heads, frozenset(down), "downgrade")


# -- the database, read and moved without the provider --------------------------------------


def read_rows(path: Path) -> Rows | None:
    """Read ``alembic_version`` directly; None when the file or the table does not exist."""
    if not path.exists():
        return None
    with contextlib.closing(sqlite3.connect(path)) as db:
        table = "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'alembic_version'"
        if db.execute(table).fetchone() is None:
            return None
        return frozenset(row[0] for row in db.execute("SELECT version_num FROM alembic_version"))


def write_rows(path: Path, rows: Rows | None) -> None:
    """Set ``alembic_version`` by hand, as an operator with a SQL shell would."""
    with contextlib.closing(sqlite3.connect(path)) as db:
        if rows is None:
            db.execute("DROP TABLE IF EXISTS alembic_version")
        else:
            db.execute(
                "CREATE TABLE IF NOT EXISTS alembic_version (version_num VARCHAR(32) NOT NULL, "
                "CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num))"
            )
            db.execute("DELETE FROM alembic_version")
            db.executemany("INSERT INTO alembic_version VALUES (?)", [(r,) for r in sorted(rows)])
        db.commit()


def fingerprint(path: Path) -> tuple[str | None, Rows | None]:
    """Return the file's content hash and version rows, to prove an operation wrote nothing."""
    if not path.exists():
        return None, None
    return hashlib.sha256(path.read_bytes()).hexdigest(), read_rows(path)


# -- Terraform: the calls it makes and the checks it applies ---------------------------------


class ProviderBugError(AssertionError):
    """Terraform itself would reject what the provider returned, or the provider says so."""


@dataclass(frozen=True)
class Stored:
    """One object in Terraform's state: value, private bytes and whether it is tainted.

    :param read: the object was last written by ReadResource (a refresh), not by an apply.
    """

    value: Values
    private: bytes
    tainted: bool = False
    read: bool = False


@dataclass(frozen=True)
class SavedPlan:
    """A plan as ``terraform plan -out`` keeps it.

    :param action: ``create``, ``update``, ``replace`` (tainted object) or ``noop``.
    :param prior: the refreshed object the plan started from; apply persists it.
    """

    action: str
    prior: Stored | None
    config: Values
    planned: Values
    private: bytes


@dataclass(frozen=True)
class Outcome:
    """How an apply went: its error summaries and whether Terraform refused the final plan."""

    errors: list[str] = field(default_factory=list)
    inconsistent: bool = False
    applied: bool = False


def known_equal(a: Any, b: Any) -> bool:
    """Terraform's ``Equals``: an unknown equals nothing."""
    return not contains_unknown(a) and not contains_unknown(b) and a == b


def proposed_new(block: Block, prior: Values | None, config: Values) -> Values:
    """Terraform's ProposedNewState: config, with prior values for computed attributes it omits."""
    proposed = dict(config)
    for attribute in block.attributes:
        if attribute.computed and config.get(attribute.name) is None:
            proposed[attribute.name] = None if prior is None else prior.get(attribute.name)
    return proposed


def plan_problems(block: Block, prior: Values | None, config: Values, planned: Values) -> list[str]:
    """Terraform's AssertPlanValid for one block: the attributes a plan may not show so."""
    problems = []
    for attribute in block.attributes:
        name = attribute.name
        want, got = config.get(name), planned.get(name)
        before = None if prior is None else prior.get(name)
        if got == want and type(got) is type(want):
            continue
        if before is not None and want is not None and got == before:
            continue
        if attribute.computed_only or (want is None and attribute.computed):
            continue
        problems.append(f"{name}: planned {got!r}, config {want!r}")
    for nested in block.block_types:
        if planned.get(nested.type_name) != config.get(nested.type_name):
            problems.append(f"block {nested.type_name}")
    return problems


def incompatible(planned: Values, actual: Values) -> list[str]:
    """Terraform's AssertObjectCompatible: known planned values must stay as they are."""
    return [
        f"{name}: planned {value!r}, got {actual.get(name)!r}"
        for name, value in planned.items()
        if not contains_unknown(value) and value != actual.get(name)
    ]


class Terraform:
    """The RPCs Terraform sends for one ``alembic_upgrade`` resource, with Terraform's checks.

    Every diagnostic is recorded in ``diagnostics``; one that blames the provider raises
    :class:`ProviderBugError`, as does anything Terraform would refuse.
    """

    def __init__(self, service: ProviderService, type_name: str, schema: Schema) -> None:
        self.service = service
        self.type_name = type_name
        self.schema = schema
        self.block = schema.block
        self.type = schema.cty_type()
        self.state: Stored | None = None
        self.diagnostics: list[str] = []
        self.project_root = Path()

    def _dv(self, value: Values | None) -> Any:
        return pb.DynamicValue(msgpack=encode_msgpack(value, self.type))

    def _value(self, message: Any) -> Any:
        return decode_msgpack(message.msgpack, self.type) if message.msgpack else None

    def _errors(self, response: Any) -> list[str]:
        errors = []
        for diagnostic in response.diagnostics:
            text = f"{diagnostic.summary}: {diagnostic.detail}"
            self.diagnostics.append(text)
            if any(word in text for word in _BUG_WORDS):
                raise ProviderBugError(f"the provider reported a bug of its own: {text}")
            if diagnostic.severity == pb.Diagnostic.ERROR:
                errors.append(diagnostic.summary)
        return errors

    def configure(self, project_root: Path | None = None) -> None:
        """ConfigureProvider, which starts every walk (each command's plan, and its apply)."""
        project_root = project_root or self.project_root
        self.project_root = project_root
        value: Values = empty_object(PROVIDER_SCHEMA.block)
        value["project_root"] = str(project_root)
        config = pb.DynamicValue(msgpack=encode_msgpack(value, PROVIDER_SCHEMA.cty_type()))
        response = self.service.ConfigureProvider(
            pb.ConfigureProvider.Request(terraform_version="1.9.0", config=config), None
        )
        assert self._errors(response) == []

    def upgrade(self, stored: Stored) -> Stored:
        """UpgradeResourceState, which Terraform sends before every refresh and plan."""
        raw = pb.RawState(json=json.dumps(stored.value).encode())
        response = self.service.UpgradeResourceState(
            pb.UpgradeResourceState.Request(
                type_name=self.type_name, version=self.schema.version, raw_state=raw
            ),
            None,
        )
        upgraded = self._value(response.upgraded_state)
        spent = dict(stored.value)
        if "pending" in spent:
            spent.update(pending=[], sql="")
        if self._errors(response) or upgraded != spent:
            raise ProviderBugError(
                "UpgradeResourceState changed more of a current state than the spent pending step"
            )
        return Stored(upgraded, stored.private, stored.tainted, stored.read)

    def read(self, stored: Stored) -> tuple[Stored | None, list[str]]:
        """ReadResource; on errors the object stays as it was."""
        stored = self.upgrade(stored)
        response = self.service.ReadResource(
            pb.ReadResource.Request(
                type_name=self.type_name,
                current_state=self._dv(stored.value),
                private=stored.private,
            ),
            None,
        )
        errors = self._errors(response)
        if errors:
            return stored, errors
        value = self._value(response.new_state)
        if value is not None and contains_unknown(value):
            raise ProviderBugError(f"ReadResource returned unknown values: {value!r}")
        if value is None:
            return None, []
        return Stored(value, response.private, stored.tainted, read=True), []

    def plan_change(
        self, prior: Values | None, config: Values, prior_private: bytes
    ) -> tuple[Values, bytes, list[str]]:
        response = self.service.PlanResourceChange(
            pb.PlanResourceChange.Request(
                type_name=self.type_name,
                prior_state=self._dv(prior),
                proposed_new_state=self._dv(proposed_new(self.block, prior, config)),
                config=self._dv(config),
                prior_private=prior_private,
            ),
            None,
        )
        errors = self._errors(response)
        if errors:
            return {}, b"", errors
        planned = self._value(response.planned_state)
        problems = plan_problems(self.block, prior, config, planned)
        if problems:
            raise ProviderBugError(f"Provider produced invalid plan: {problems}")
        return planned, response.planned_private, []

    def plan(
        self,
        config: Values,
        refresh: bool,
        planning: Values | None = None,
        replace: bool = False,
        starts_walk: bool = True,
    ) -> tuple[SavedPlan | None, Stored | None, list[str]]:
        """``terraform plan``: refresh (or only upgrade) the object, then plan it.

        :param planning: the configuration as the plan sees it, with values still unknown;
            ``config`` is what they turn out to be, which the final plan and apply see.
        :param replace: ``-replace=ADDR``: plan the object's replacement.
        :param starts_walk: configure the provider first; False for a resource planned later
            in the same walk (after another resource it depends on).
        """
        planning = config if planning is None else planning
        if starts_walk:
            self.configure()
        validation = self.service.ValidateResourceConfig(
            pb.ValidateResourceConfig.Request(type_name=self.type_name, config=self._dv(planning)),
            None,
        )
        if self._errors(validation):
            raise ProviderBugError("a valid configuration was refused")
        current = self.state
        if current is not None:
            if refresh:
                current, errors = self.read(current)
                if errors:
                    return None, self.state, errors
            else:
                current = self.upgrade(current)
        fresh = current is None or current.tainted
        prior = None if fresh or current is None else current.value
        prior_private = b"" if fresh or current is None else current.private
        planned, private, errors = self.plan_change(prior, planning, prior_private)
        if errors:
            return None, current, errors
        if prior is None:
            action = "replace" if current is not None else "create"
        elif replace:
            # -replace: plan the new object from a null prior, handing over the first private.
            planned, private, errors = self.plan_change(None, planning, private)
            if errors:
                return None, current, errors
            action = "replace"
        else:
            action = "noop" if known_equal(planned, prior) else "update"
        return SavedPlan(action, current, config, planned, private), current, []

    def apply(
        self,
        plan: SavedPlan,
        before_apply: Callable[[], None] | None = None,
        starts_walk: bool = True,
    ) -> Outcome:
        """``terraform apply PLAN``: destroy half of a replace, final plan, then apply.

        :param starts_walk: as for :meth:`plan`; False for a resource applied after another.
        """
        if starts_walk:
            self.configure()
        self.state = plan.prior
        if plan.action == "noop":
            return Outcome()
        if plan.action == "replace":
            assert plan.prior is not None
            errors = self._apply_change(plan.prior, None, None, plan.private, "delete")
            if errors:
                return Outcome(errors)
        prior = None if plan.action in ("create", "replace") else plan.prior
        prior_value = None if prior is None else prior.value
        final, private, errors = self.plan_change(
            prior_value, plan.config, b"" if prior is None else prior.private
        )
        if errors:
            return Outcome(errors)
        if incompatible(plan.planned, final):
            return Outcome(["Provider produced inconsistent final plan"], inconsistent=True)
        if prior is not None and known_equal(final, prior.value):
            return Outcome()  # an update may become a no-op once unknowns are known
        if before_apply is not None:
            before_apply()
        action = "update" if prior is not None else "create"
        return Outcome(self._apply_change(prior, final, plan.config, private, action), applied=True)

    def _apply_change(
        self,
        prior: Stored | None,
        planned: Values | None,
        config: Values | None,
        private: bytes,
        action: str,
    ) -> list[str]:
        response = self.service.ApplyResourceChange(
            pb.ApplyResourceChange.Request(
                type_name=self.type_name,
                prior_state=self._dv(None if prior is None else prior.value),
                planned_state=self._dv(planned),
                config=self._dv(config),
                planned_private=private,
            ),
            None,
        )
        errors = self._errors(response)
        value = self._value(response.new_state)
        if not errors:
            if (value is None) != (planned is None):
                raise ProviderBugError(f"ApplyResourceChange returned {value!r} for a {action}")
            if value is not None and contains_unknown(value):
                raise ProviderBugError(f"the applied state has unknown values: {value!r}")
            if planned is not None and value is not None and incompatible(planned, value):
                problems = incompatible(planned, value)
                raise ProviderBugError(
                    f"Provider produced inconsistent result after apply: {problems}"
                )
        if value is None:
            self.state = prior if errors else None
        else:
            tainted = (prior.tainted if prior else False) or (bool(errors) and action == "create")
            self.state = Stored(value, response.private, tainted)
        return errors

    def destroy(self) -> list[str]:
        """``terraform destroy``: refresh, then apply a null plan with the stored private."""
        assert self.state is not None
        self.configure()
        current, errors = self.read(self.state)
        if errors:
            return errors
        self.state = current
        if current is None:
            return []
        return self._apply_change(current, None, None, current.private, "delete")

    def import_(self, import_id: str) -> list[str]:
        """``terraform import``: ImportResourceState, then ReadResource of what it returned."""
        self.configure()
        response = self.service.ImportResourceState(
            pb.ImportResourceState.Request(type_name=self.type_name, id=import_id), None
        )
        errors = self._errors(response)
        if errors:
            return errors
        (item,) = response.imported_resources
        assert item.type_name == self.type_name
        stored, errors = self.read(Stored(self._value(item.state), item.private))
        if errors:
            return errors
        if stored is None:
            raise ProviderBugError("Cannot import non-existent remote object")
        self.state = stored
        return []


# -- processes ------------------------------------------------------------------------------


def _children(pid: int) -> dict[int, str]:
    """Return this process's live children and their command lines, read from /proc."""
    found: dict[int, str] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
            command = Path(f"/proc/{entry}/cmdline").read_bytes().replace(b"\0", b" ")
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[1]) == pid and fields[0] != "Z":
            found[int(entry)] = command.decode(errors="replace")
        elif int(fields[1]) == pid:
            found[int(entry)] = "<zombie>"
    return found


def _working_in(directory: Path) -> list[int]:
    """Return the processes whose working directory lies inside ``directory``."""
    inside = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            with contextlib.suppress(OSError):
                if Path(os.readlink(f"/proc/{entry}/cwd")).is_relative_to(directory):
                    inside.append(int(entry))
    return inside


_PROC = Path("/proc/self/stat").exists()


# -- the machine ----------------------------------------------------------------------------


def note(text: str) -> None:
    """Count an outcome in Hypothesis' statistics (``--hypothesis-show-statistics``)."""
    if currently_in_test_context():
        event(text)


class ProviderModel(RuleBasedStateMachine):
    """Terraform, an operator and a developer take turns; the reference says what must happen."""

    revisions = Bundle("revisions")

    def __init__(self) -> None:
        super().__init__()
        self.root: Path | None = None
        self.provider: Provider | None = None
        self.saved: tuple[SavedPlan, Rows | None] | None = None
        self.partial = False
        self.world = 0
        self.target: str | None = None
        self.settings: Values = {}
        self.scanned = (0, 0)
        self.planned_world = -1

    # -- world -----------------------------------------------------------------------------

    @initialize(
        target=revisions,
        count=st.integers(0, 3),
        kind=st.sampled_from(list(SCHEMAS)),
        created_later=st.booleans(),
        resource_settings_only=st.booleans(),
    )
    def build(
        self,
        count: int,
        kind: str = "upgrade",
        created_later: bool = False,
        resource_settings_only: bool = False,
    ) -> Any:
        """Make the project and the provider.

        :param created_later: the database's directory appears only with the first apply (as
            when another resource of that apply creates the database) or a change by hand.
        :param resource_settings_only: only the resource's ``environment`` reaches the
            database; ``alembic.ini`` names one that cannot be opened, so an import (which gets
            no configuration) cannot read it.
        """
        self.kind = kind
        self.resource_settings_only = resource_settings_only
        self.root = Path(tempfile.mkdtemp(prefix="provider-model-")).resolve()
        folder = self.root / "later" if created_later else self.root
        self.database = folder / "db.sqlite"
        ini_url = self.root / "nowhere" / "db.sqlite" if resource_settings_only else self.database
        self.project = make_project(self.root, sqlite_url(ini_url), transaction_per_migration=True)
        self.scripts = Scripts()
        self.rows: Rows = frozenset()
        self.before_children = _children(os.getpid()) if _PROC else {}
        self.logs = io.StringIO()
        self.provider = new_provider(log=Logger("provider", level="trace", stream=self.logs))
        self.tf = Terraform(ProviderService(self.provider), f"alembic_{kind}", SCHEMAS[kind])
        self.tf.configure(self.project)
        created = []
        for _ in range(count):
            heads = self.scripts.heads()
            created.append(self._write(self._new_id(), heads[:1]))
        return multiple(*created)

    def teardown(self) -> None:
        if self.root is None:
            return
        try:
            if self.provider is not None:
                if _PROC:
                    started = set(_children(os.getpid())) - set(self.before_children)
                    commands = [_children(os.getpid()).get(pid, "") for pid in started]
                    workers = ("executor/worker serve ", "executor/worker listen ")
                    assert all(any(w in c for w in workers) for c in commands), commands
                self.provider.close()
                if _PROC:
                    # A warm server (``worker listen``) serves the whole test run by design.
                    children = _children(os.getpid())
                    left = {
                        pid
                        for pid in set(children) - set(self.before_children)
                        if "executor/worker listen " not in children[pid]
                    }
                    assert not left, f"child processes left after close(): {sorted(left)}"
                    assert _working_in(self.root) == [], "a worker still runs in the project"
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    def _new_id(self) -> str:
        return f"r{len(self.scripts.parents) + 1:02d}"

    def _write(
        self, revision: str, parents: tuple[str, ...], label: str | None = None, fail: bool = False
    ) -> str:
        self.scripts.parents[revision] = parents
        if label is not None:
            self.scripts.labels[label] = revision
        if fail:
            self.scripts.failing.add(revision)
        else:
            self.scripts.failing.discard(revision)
        table = table_name(revision)
        add_revision(
            self.project,
            revision,
            None if not parents else parents[0] if len(parents) == 1 else parents,
            f"message {revision}",
            branch_labels=[label] if label else None,
            upgrade_sql=f"CREATE TABLE IF NOT EXISTS {table} (id INTEGER PRIMARY KEY)",
            downgrade_sql=f"DROP TABLE IF EXISTS {table}",
            upgrade_code=_FAILURE if fail else "",
        )
        self.world += 1
        return revision

    # -- a developer changes the scripts ---------------------------------------------------

    @rule(target=revisions, head=st.integers(0, 9))
    def add_revision(self, head: int) -> str:
        heads = self.scripts.heads()
        return self._write(self._new_id(), (heads[head % len(heads)],) if heads else ())

    @rule(target=revisions, parent=revisions)
    def add_branch(self, parent: str) -> str:
        label = f"br{len(self.scripts.labels) + 1}"
        return self._write(self._new_id(), (parent,), label)

    @rule(target=revisions)
    def add_base(self) -> str:
        label = f"br{len(self.scripts.labels) + 1}"
        return self._write(self._new_id(), (), label)

    @precondition(lambda self: len(self.scripts.heads()) >= 2)
    @rule(target=revisions, first=st.integers(0, 9), second=st.integers(0, 9))
    def merge_heads(self, first: int, second: int) -> str:
        heads = self.scripts.heads()
        i = first % len(heads)
        j = (i + 1 + second % (len(heads) - 1)) % len(heads)
        return self._write(self._new_id(), tuple(sorted((heads[i], heads[j]))))

    @rule(target=revisions, head=st.integers(0, 9))
    def add_failing_revision(self, head: int) -> str:
        heads = self.scripts.heads()
        parents = (heads[head % len(heads)],) if heads else ()
        return self._write(self._new_id(), parents, fail=True)

    @precondition(lambda self: bool(self.scripts.failing))
    @rule()
    def fix_failing_revisions(self) -> None:
        labels = {revision: label for label, revision in self.scripts.labels.items()}
        for revision in sorted(self.scripts.failing):
            self._write(revision, self.scripts.parents[revision], labels.get(revision))

    # -- the user changes the configuration ------------------------------------------------

    @rule(symbol=st.sampled_from([None, "heads"]))
    def target_heads(self, symbol: str | None) -> None:
        self.target = symbol

    @precondition(lambda self: len(self.scripts.heads()) == 1)
    @rule()
    def target_head(self) -> None:
        self.target = "head"

    @rule(revision=revisions)
    def target_revision(self, revision: str) -> None:
        self.target = revision

    @precondition(lambda self: bool(self.scripts.labels))
    @rule(index=st.integers(0, 9))
    def target_branch(self, index: int) -> None:
        labels = sorted(self.scripts.labels)
        self.target = f"{labels[index % len(labels)]}@head"

    @rule(
        allow_downgrade=st.sampled_from([None, False, True]),
        preview_sql=st.sampled_from([None, False, True]),
        on_destroy=st.sampled_from([None, "base"]),
        statement_lock_timeout=st.sampled_from([None, "5s"]),
    )
    def change_settings(
        self,
        allow_downgrade: bool | None,
        preview_sql: bool | None,
        on_destroy: str | None,
        statement_lock_timeout: str | None = None,
    ) -> None:
        self.settings = {
            "allow_downgrade": allow_downgrade,
            "preview_sql": preview_sql,
            "on_destroy": on_destroy,
            "statement_lock_timeout": statement_lock_timeout,
        }

    @rule(revision=revisions)
    def on_destroy_revision(self, revision: str) -> None:
        self.settings = {**self.settings, "on_destroy": revision}

    def config(self, unknown: str | None = None) -> Values:
        """The configuration; ``unknown`` names an attribute Terraform cannot know at plan time
        (``environment`` from a database created in the same apply, or ``target``)."""
        config: Values = dict.fromkeys(self.tf.type[1])
        config.update({k: v for k, v in self.settings.items() if k in config})
        config["target"] = self.target or ("heads" if self.kind == "stamp" else None)
        config["environment"] = {"DATABASE_URL": sqlite_url(self.database), "APP_SECRET": SECRET}
        if unknown is not None:
            config[unknown] = UNKNOWN
        return config

    # -- an operator moves the database by hand --------------------------------------------

    def _create_database(self) -> None:
        """Create the database's directory, as the resource creating it would (or an operator)."""
        self.database.parent.mkdir(exist_ok=True)

    @property
    def blind(self) -> bool:
        """Whether the provider block's settings alone (an import's) cannot open the database."""
        return self.resource_settings_only or not self.database.parent.exists()

    def _deferred(self, stored: Stored | None) -> bool:
        """Whether a refresh of ``stored`` leaves it alone: an import that could not read the
        database, refreshed again without the configuration's settings. Once the database can
        be reached, such an import is still left to the plan when the read fails (at a revision
        the scripts lack): the plan, with the settings, reports it."""
        if stored is None or stored.value.get("environment") is not None:
            return False
        unread = stored.value.get("revisions") is None
        return self.blind or (unread and self._expect_unknown())

    def _set_rows(self, rows: Iterable[str] | None) -> None:
        self._create_database()
        write_rows(self.database, None if rows is None else frozenset(rows))
        self.rows = frozenset(rows or ())
        self.world += 1

    @rule(revision=revisions, how=st.sampled_from(["upgrade", "downgrade", "stamp"]))
    def move_database(self, revision: str, how: str) -> None:
        applied = self.scripts.ancestry(self.rows)
        if how == "upgrade":
            self._set_rows(self.scripts.maximal(applied | self.scripts.ancestry([revision])))
        elif how == "downgrade" and revision in applied:
            self._set_rows(self.scripts.maximal(applied - self.scripts.descendants(revision)))
        else:
            self._set_rows([revision])

    @rule(drop_table=st.booleans())
    def move_database_to_base(self, drop_table: bool) -> None:
        self._set_rows(None if drop_table else ())

    @rule()
    def move_database_ahead_of_scripts(self) -> None:
        self._set_rows([_UNKNOWN_REVISION])

    # -- Terraform -------------------------------------------------------------------------

    def _expect(self, config: Values, prior: Stored | None = None) -> Expected:
        """What a plan of ``config`` over ``prior`` must decide with the database as it is.

        A plan refuses to go on from heads a refresh recorded when the database has left them
        since (Terraform plans again right before applying a saved plan).
        """
        target = config.get("target") or "heads"
        allow = bool(config.get("allow_downgrade")) or self.kind == "stamp"
        expected = self.scripts.expect(target, self.rows, allow)
        if expected.error in ("target", "unknown"):
            return expected
        fresh = prior is None or prior.tainted
        # Heads a refresh read with other connection settings (the refresh after an import, which
        # gets no configuration) say nothing about this database.
        same = prior is not None and all(
            prior.value.get(n) == config.get(n) for n in ("url", "environment", "python")
        )
        recorded = (
            None
            if prior is None or fresh or not prior.read or not same
            else prior.value["revisions"]
        )
        # A stamp is satisfied once the database is at or past its target.
        reached = self.kind == "stamp" and set(expected.target) <= self.scripts.ancestry(self.rows)
        satisfied = reached and (fresh or not self.partial)
        # A database that moved only on other branches is other resources' business.
        elsewhere = recorded is not None and self.scripts.same_branch(
            expected.target, recorded, self.rows
        )
        moved = recorded is not None and recorded != sorted(self.rows)
        if moved and not satisfied and not elsewhere:
            return Expected(error="moved")
        read = prior is not None and prior.value["revisions"] is not None
        kept = None if prior is None or fresh or not read else tuple(prior.value["revisions"])
        if self.kind != "stamp":
            if expected.error is None and expected.direction == "none" and kept is not None:
                return Expected(target=expected.target, heads=self._noop_heads(expected, kept))
            return expected
        # A stamp writes when created away from its target, when ``target`` changed to one the
        # database has not reached, or after a failure; never because revisions were added or
        # the database moved. Satisfied, it keeps the heads it recorded.
        rows = tuple(sorted(self.rows))
        if satisfied and prior is not None and not fresh and read:
            return Expected(target=expected.target, heads=tuple(prior.value["revisions"]))
        after = self.scripts.stamped(self.rows, expected.target)
        again = fresh or self.partial or (prior is not None and prior.value["target"] != target)
        if after == rows or not again or satisfied:
            heads = rows if kept is None else self._noop_heads(expected, kept)
            return Expected(target=expected.target, heads=heads)
        return Expected(target=expected.target, heads=after, direction="stamp")

    def _noop_heads(self, expected: Expected, recorded: tuple[str, ...]) -> tuple[str, ...]:
        """The heads a plan that writes nothing records: the recorded ones when the database
        moved only on branches unrelated to the target (another resource's business)."""
        rows = tuple(sorted(self.rows))
        lineage = self.scripts.ancestry(expected.target)

        def related(heads: Iterable[str]) -> set[str]:
            return {
                h
                for h in heads
                if h in lineage or set(expected.target) & self.scripts.ancestry([h])
            }

        if recorded != rows and related(recorded) == related(rows):
            return recorded
        return rows

    def _refresh_expected(self, stored: Stored) -> bool:
        """Whether a refresh of ``stored`` must fail: its target resolves, the rows are unknown."""
        target = stored.value.get("target") or "heads"
        if self._deferred(stored):
            return False
        return self.scripts.resolve(target) is not None and self._expect_unknown()

    def _expect_unknown(self) -> bool:
        return any(r not in self.scripts.parents for r in self.rows)

    def _at_target(self, value: Values, rows: Rows) -> bool:
        """Whether a refresh finds the database at the stored target (which ends a failure)."""
        expected = self.scripts.expect(value.get("target") or "heads", rows, False)
        at = self.scripts.stamped(rows, expected.target) if self.kind == "stamp" else expected.heads
        return expected.error is None and at == tuple(sorted(rows))

    def _refreshed(self, stored: Stored | None, rows: Rows) -> None:
        """Record that Terraform persisted a refresh made when the database held ``rows``."""
        if stored is None or stored.value["revisions"] is None:
            return
        assert stored.value["revisions"] == sorted(rows), (stored.value, rows)
        if self._at_target(stored.value, rows):
            self.partial = False

    def _unwritten(self, before: tuple[str | None, Rows | None], what: str) -> None:
        after = fingerprint(self.database)
        if before[0] is not None:
            assert after == before, f"{what} wrote to the database"
        else:
            assert after[1] is None, f"{what} created the version table"

    def _plan(
        self,
        refresh: bool,
        config: Values | None = None,
        unknown: str | None = None,
        replace: bool = False,
    ) -> SavedPlan | None:
        """Run ``terraform plan`` and check it against the reference; None when it failed."""
        config = self.config() if config is None else config
        planning = None if unknown is None else self.config(unknown)
        before = fingerprint(self.database)
        stored = self.tf.state
        seen = len(self.tf.diagnostics)
        plan, current, errors = self.tf.plan(config, refresh, planning, replace)
        self._unwritten(before, "a plan")
        missing = not self.database.parent.exists()
        if refresh and stored is not None:
            if self._refresh_expected(stored):
                assert errors == ["Unknown Database Revision"], errors
                return None
            if current is not None and not self._deferred(stored):
                assert current.value["revisions"] == sorted(self.rows), current.value
        if unknown is not None:
            note("plan: unknown values")
            assert plan is not None and not errors, errors
            computed = [a.name for a in self.tf.block.attributes if a.computed_only]
            unknowns = [name for name in computed if isinstance(plan.planned[name], Unknown)]
            assert set(unknowns) | {"id"} == set(computed), plan
            return plan
        expected = self._expect(config, current)
        if self._missing_database(missing, current, expected, errors):
            return None
        if replace and expected.error is None:
            expected = self._expect(config, None)  # the replacement is planned from null
        if expected.error is not None:
            note(f"plan refused: {expected.error}")
            assert plan is None and errors, (expected, errors)
            assert set(errors) <= _SUMMARIES[expected.error], (expected, errors)
            return None
        note(f"plan: {plan.action if plan else None}")
        assert plan is not None and not errors, (expected, errors)
        if missing and stored is None:
            note("plan: database created later")
            said = [d for d in self.tf.diagnostics[seen:] if d.startswith(_UNREACHABLE)]
            assert said, self.tf.diagnostics[seen:]
        planned = plan.planned
        self._check_planned_heads(expected, planned)
        kept = current is not None and not current.tainted and not replace
        stamped = None if current is None else current.value["target_revisions"]
        keeps = self.kind == "stamp" and expected.direction == "none" and kept
        # A stamp keeps what it stamped (an import that could not read stamped nothing).
        targets = stamped if keeps and stamped is not None else list(expected.target)
        assert planned["target_revisions"] == targets, (expected, planned)
        # A plan that writes always differs from the stored object (its ``pending`` is spent
        # once stored), so Terraform never skips its apply.
        assert not (expected.direction != "none" and plan.action == "noop"), (
            "a plan that writes, yet Terraform sees no change",
            plan,
        )
        if "pending" in planned and expected.direction != "none":
            assert {p["revision"] for p in planned["pending"]} == expected.steps, planned
        settled = refresh and not replace and current is not None and self._settled(current, config)
        if settled and expected.direction == "none":
            assert plan.action == "noop", ("perpetual diff", current, planned)
        return plan

    def _check_planned_heads(self, expected: Expected, planned: Values) -> None:
        if self._heads_unknown(expected):
            note("plan: heads known after apply (other branches)")
            assert isinstance(planned["revisions"], Unknown), (expected, planned)
            assert isinstance(planned["revision"], Unknown), (expected, planned)
        else:
            assert planned["revisions"] == list(expected.heads), (expected, planned)
            assert planned["revision"] == ",".join(expected.heads)

    def _heads_unknown(self, expected: Expected) -> bool:
        """Migrations toward a target with other branches beside it: the heads after apply
        depend on what other resources do meanwhile."""
        migrates = self.kind == "upgrade" and expected.direction in ("upgrade", "downgrade")
        return migrates and self.scripts.others_branches(expected.target)

    def _missing_database(
        self, missing: bool, current: Stored | None, expected: Expected, errors: list[str]
    ) -> bool:
        """A plan of a resource in the state whose database is missing is an error."""
        if missing and current is not None and not current.tainted and expected.error != "target":
            note("plan refused: the database of a resource in the state is missing")
            assert errors == [_UNREACHABLE], errors
            return True
        return False

    def _settled(self, stored: Stored, config: Values) -> bool:
        """Whether every attribute the user sets already has its configured value in ``stored``."""
        if stored.tainted:
            return False
        for attribute in self.tf.block.attributes:
            if attribute.computed_only:
                continue
            want = config.get(attribute.name)
            if want is None and attribute.default is not None:
                want = attribute.default
            if stored.value.get(attribute.name) != want:
                return False
        return True

    def _apply(self, saved: SavedPlan, refreshed_rows: Rows | None, race: bool) -> None:
        """Apply a saved plan and check the result against the reference."""
        raced: list[Rows] = []

        def move_in_between() -> None:
            moved = frozenset() if self.rows else frozenset(self.scripts.heads())
            if moved != self.rows:
                self._set_rows(moved)
                raced.append(moved)

        rows = self.rows
        expected = self._expect(saved.config, saved.prior if saved.action == "update" else None)
        self._create_database()  # by the resource the apply creates it with, if it is missing
        outcome = self.tf.apply(saved, move_in_between if race else None)
        if refreshed_rows is not None:
            self._refreshed(saved.prior, refreshed_rows)
        actual = read_rows(self.database) or frozenset()
        state = self.tf.state
        if outcome.inconsistent:
            note("apply: inconsistent final plan")
            assert self.world != self.planned_world, "the final plan changed with nothing changed"
            return
        if not outcome.applied:
            if saved.action == "noop":
                return
            if not outcome.errors:  # the final plan found nothing left to do
                # A plan that writes nothing may keep heads that differ from the database only
                # on branches unrelated to the target; nothing may have been written either way.
                # A plan that writes always differs from the stored object (its ``pending`` is
                # spent once stored), so Terraform never skips one.
                assert expected.direction == "none", ("a write was skipped", expected, actual)
                assert actual == rows, (expected, actual)
                return
            assert expected.error is not None, ("the final plan failed", outcome.errors)
            assert set(outcome.errors) <= _SUMMARIES[expected.error], (expected, outcome)
            return
        if raced and self._applied_alongside(saved, expected, rows, raced[0], outcome):
            return
        if raced:
            note("apply: refused, database moved in between")
            assert outcome.errors == ["Migration Not Applied As Planned"], outcome.errors
            assert actual == raced[0]
            if state is not None and saved.action == "update":
                assert state.value["revisions"] == sorted(actual), state.value
                self.partial = True
            return
        if expected.fails:
            note("apply: migration failed")
            assert outcome.errors and set(outcome.errors) <= {"Migration Failed"}, outcome.errors
            self._check_between(rows, actual, expected)
            self.rows = actual
            assert state is not None, "a failed apply lost the object"
            assert state.value["revisions"] == sorted(actual), (state.value, actual)
            self.partial = True
            return
        note("apply: succeeded")
        assert outcome.errors == [], (expected, outcome.errors)
        self._check_applied(expected, rows, actual)
        self.rows = actual
        self.partial = False
        for refresh in (False, True):
            again = self._plan(refresh, saved.config)
            assert again is not None and again.action == "noop", ("plan after apply", again)

    def _applied_alongside(
        self,
        saved: SavedPlan,
        expected: Expected,
        rows: Rows,
        raced: Rows,
        outcome: Outcome,
    ) -> bool:
        """Only other branches moved between plan and apply: the apply goes on, on the target's
        branches alone, as when another resource applies in parallel."""
        elsewhere = self.scripts.same_branch(expected.target, rows, raced)
        if not (self._heads_unknown(expected) and elsewhere):
            return False
        note("apply: another branch moved in between")
        allow = bool(saved.config.get("allow_downgrade"))
        after = self.scripts.expect(saved.config.get("target") or "heads", raced, allow)
        state = self.tf.state
        actual = read_rows(self.database) or frozenset()
        self.rows = actual
        assert state is not None
        assert state.value["revisions"] == sorted(actual), (state.value, actual)
        if after.fails:
            assert set(outcome.errors) <= {"Migration Failed"}, outcome.errors
            self.partial = True
            return True
        assert outcome.errors == [], (after, outcome.errors)
        assert actual == frozenset(after.heads), (after, actual)
        self.partial = False
        return True

    def _check_applied(self, expected: Expected, rows: Rows, actual: Rows) -> None:
        """A successful apply reached the planned heads, and the state records them."""
        state = self.tf.state
        assert state is not None and not state.tainted
        if expected.direction == "none":
            # Nothing written; a satisfied stamp keeps the heads it recorded.
            assert actual == rows, (expected, actual)
            assert state.value["revisions"] == list(expected.heads), state.value
        else:
            assert actual == frozenset(expected.heads), (expected, actual)
            assert state.value["revisions"] == sorted(actual), state.value

    def _check_between(self, start: Rows, reached: Rows, expected: Expected) -> None:
        """A failed upgrade stops between where it started and its target, before a failure."""
        done = self.scripts.ancestry(reached)
        assert self.scripts.ancestry(start) <= done, (start, reached)
        assert done <= self.scripts.ancestry(start) | self.scripts.ancestry(expected.target)
        assert (expected.steps & self.scripts.failing) - done, (reached, expected)

    @rule(refresh=st.booleans(), unknown=st.sampled_from([None, "environment", "target"]))
    def plan(self, refresh: bool, unknown: str | None = None) -> None:
        plan = self._plan(refresh, unknown=unknown)
        self.saved = None if plan is None else (plan, self.rows if refresh else None)
        self.planned_world = self.world

    @precondition(lambda self: self.saved is not None)
    @rule(race=st.booleans())
    def apply_saved_plan(self, race: bool) -> None:
        assert self.saved is not None
        (saved, refreshed_rows), self.saved = self.saved, None
        self._apply(saved, refreshed_rows, race)

    @rule(refresh=st.booleans(), unknown=st.sampled_from([None, "environment", "target"]))
    def apply(self, refresh: bool, unknown: str | None = None) -> None:
        self.saved = None
        plan = self._plan(refresh, unknown=unknown)
        self.planned_world = self.world
        if plan is not None:
            self._apply(plan, self.rows if refresh else None, race=False)

    @precondition(lambda self: self.tf.state is not None)
    @rule(refresh=st.booleans())
    def apply_replace(self, refresh: bool) -> None:
        """``terraform apply -replace=ADDR``."""
        self.saved = None
        plan = self._plan(refresh, replace=True)
        self.planned_world = self.world
        if plan is not None:
            self._apply(plan, self.rows if refresh else None, race=False)

    @precondition(lambda self: self.tf.state is not None)
    @rule()
    def refresh(self) -> None:
        assert self.tf.state is not None
        self.saved = None
        before = fingerprint(self.database)
        stored, errors = self.tf.read(self.tf.state)
        self._unwritten(before, "a refresh")
        if self._refresh_expected(self.tf.state):
            assert errors == ["Unknown Database Revision"], errors
            return
        assert errors == [] and stored is not None, errors
        if self._deferred(self.tf.state):
            assert stored.value == self.tf.state.value, "a refresh without settings changed it"
        self.tf.state = stored
        self._refreshed(stored, self.rows)

    @precondition(lambda self: self.tf.state is None)
    @rule(import_id=st.sampled_from(["heads", "head"]))
    def import_by_symbol(self, import_id: str) -> None:
        self._import(import_id)

    @precondition(lambda self: self.tf.state is None)
    @rule(revision=revisions)
    def import_by_revision(self, revision: str) -> None:
        self._import(revision)

    def _import(self, import_id: str) -> None:
        self.saved = None
        before = fingerprint(self.database)
        errors = self.tf.import_(import_id)
        self._unwritten(before, "an import")
        expected = self.scripts.expect(import_id, self.rows, allow_downgrade=True)
        if self.blind and expected.error == "unknown":
            # The import cannot read the database: the first plan will, with the settings.
            expected = Expected(target=expected.target)
        if expected.error is not None:
            note(f"import refused: {expected.error}")
            assert errors and self.tf.state is None, (expected, errors)
            return
        assert errors == [], errors
        assert self.tf.state is not None
        value = self.tf.state.value
        if self.blind:
            note("import: left to the first plan")
            assert value["revisions"] is None, value
        else:
            assert value["revisions"] == sorted(self.rows), value
        assert value["target"] == value["id"] == import_id, value
        self.partial = False

    @precondition(lambda self: self.tf.state is not None)
    @rule()
    def destroy(self) -> None:
        assert self.tf.state is not None
        self.saved = None
        stored = self.tf.state
        partial = self.partial and not self._at_target(stored.value, self.rows)
        errors = self.tf.destroy()
        actual = read_rows(self.database) or frozenset()
        if self._refresh_expected(stored):
            assert errors == ["Unknown Database Revision"], errors
            return
        self.partial = partial
        on_destroy = stored.value.get("on_destroy")
        if on_destroy is None:
            assert errors == [] and self.tf.state is None, errors
            assert actual == self.rows, "destroy without on_destroy moved the database"
            return
        expected = self.scripts.expect(on_destroy, self.rows, allow_downgrade=True)
        if expected.error is not None:
            assert errors and self.tf.state is not None, (expected, errors)
            return
        assert errors == [] and self.tf.state is None, errors
        if partial or expected.direction != "downgrade":
            note("destroy: database kept")
            assert actual == self.rows, (on_destroy, partial, actual)
        else:
            note("destroy: downgraded")
            assert actual == frozenset(expected.heads), (on_destroy, expected, actual)
            self.rows = actual
        self.partial = False

    # -- invariants ------------------------------------------------------------------------

    @invariant()
    def database_matches_reference(self) -> None:
        if self.root is not None:
            assert (read_rows(self.database) or frozenset()) == self.rows

    @invariant()
    def no_secret_in_output(self) -> None:
        if self.root is None:
            return
        diagnostics, logs = self.scanned
        new = self.tf.diagnostics[diagnostics:]
        assert not [d for d in new if SECRET in d], "a diagnostic shows the secret"
        text = self.logs.getvalue()
        assert SECRET not in text[max(0, logs - len(SECRET)) :], "a log line shows the secret"
        self.scanned = (len(self.tf.diagnostics), len(text))


# -- two resources on one database ----------------------------------------------------------


class OneDatabaseModel(RuleBasedStateMachine):
    """Two resources on one SQLite database, the second planned after the first.

    ``baseline``: an ``alembic_stamp`` of a baseline revision, then an ``alembic_upgrade`` to
    ``heads`` (the adoption pattern of the stamp's docs). ``branches``: an ``alembic_upgrade``
    of ``app@head`` and one of ``audit@head``, with no ``depends_on`` between them, so they
    may also apply in the other order. Each walk configures the provider once and
    plans (or applies) the first resource, then the second, as Terraform does; the second plan
    must start where the first will leave the database. The reference says where each leaves
    it; the final plans must agree with the first ones, an applied resource's state must hold
    the heads the database then has, and the plans after an apply must be quiet.
    """

    def __init__(self) -> None:
        super().__init__()
        self.root: Path | None = None
        self.provider: Provider | None = None

    @initialize(pattern=st.sampled_from(["baseline", "branches"]), count=st.integers(1, 3))
    def build(self, pattern: str, count: int) -> None:
        self.pattern = pattern
        self.root = Path(tempfile.mkdtemp(prefix="provider-pair-")).resolve()
        self.database = self.root / "db.sqlite"
        self.project = make_project(
            self.root, sqlite_url(self.database), transaction_per_migration=True
        )
        self.scripts = Scripts()
        self.rows: Rows = frozenset()
        self.provider = new_provider(log=Logger("provider", level="info", stream=io.StringIO()))
        service = ProviderService(self.provider)
        first = "stamp" if pattern == "baseline" else "upgrade"
        self.first = Terraform(service, f"alembic_{first}", SCHEMAS[first])
        self.second = Terraform(service, "alembic_upgrade", SCHEMAS["upgrade"])
        self.first.configure(self.project)
        self.second.project_root = self.project
        if pattern == "branches":
            self._write((), "app")
            self._write((), "audit")
        for index in range(count):
            self.add_revision(index)
        self.baseline = sorted(self.scripts.parents)[0]

    def teardown(self) -> None:
        if self.root is None:
            return
        try:
            if self.provider is not None:
                self.provider.close()
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    def _write(self, parents: tuple[str, ...], label: str | None = None) -> str:
        revision = f"r{len(self.scripts.parents) + 1:02d}"
        self.scripts.parents[revision] = parents
        if label is not None:
            self.scripts.labels[label] = revision
        table = table_name(revision)
        add_revision(
            self.project,
            revision,
            parents[0] if parents else None,
            f"message {revision}",
            branch_labels=[label] if label else None,
            upgrade_sql=f"CREATE TABLE IF NOT EXISTS {table} (id INTEGER PRIMARY KEY)",
            downgrade_sql=f"DROP TABLE IF EXISTS {table}",
        )
        return revision

    # -- a developer, an operator and the user ---------------------------------------------

    @rule(head=st.integers(0, 9))
    def add_revision(self, head: int) -> None:
        """A revision on one of the heads (on one branch; the branches never merge)."""
        heads = self.scripts.heads()
        self._write((heads[head % len(heads)],) if heads else ())

    @rule(index=st.integers(0, 9), how=st.sampled_from(["upgrade", "stamp", "base"]))
    def move_database(self, index: int, how: str) -> None:
        """Move the database by hand between walks."""
        revisions = sorted(self.scripts.parents)
        revision = revisions[index % len(revisions)]
        if how == "upgrade":
            rows = self.scripts.maximal(self.scripts.ancestry(self.rows | {revision}))
        else:
            rows = () if how == "base" else (revision,)
        write_rows(self.database, frozenset(rows))
        self.rows = frozenset(rows)

    @rule(index=st.integers(0, 9))
    def move_baseline(self, index: int) -> None:
        """Point the stamp at another baseline revision (``baseline`` only)."""
        revisions = sorted(self.scripts.parents)
        self.baseline = revisions[index % len(revisions)]

    def _configs(self) -> tuple[Values, Values]:
        environment = {"DATABASE_URL": sqlite_url(self.database)}
        targets = (
            (self.baseline, "heads") if self.pattern == "baseline" else ("app@head", "audit@head")
        )
        configs = []
        for tf, target in zip((self.first, self.second), targets, strict=True):
            config: Values = dict.fromkeys(tf.type[1])
            config.update(target=target, environment=environment)
            configs.append(config)
        return configs[0], configs[1]

    # -- the reference ---------------------------------------------------------------------

    def _first_end(self, config: Values) -> Rows:
        """Where the first resource leaves the database."""
        if self.pattern == "branches":
            return frozenset(self.scripts.expect(config["target"], self.rows, False).heads)
        target = (config["target"],)
        state = self.first.state
        again = state is None or state.value["target"] != config["target"]
        if not again or set(target) <= self.scripts.ancestry(self.rows):
            return self.rows  # a stamp in place, or one the database already passed
        return frozenset(self.scripts.stamped(self.rows, target))

    # -- Terraform -------------------------------------------------------------------------

    def _walk(self, refresh: bool) -> tuple[SavedPlan, SavedPlan] | None:
        """One plan walk: the first resource, then the second; both must plan.

        None when a plan without refresh was refused because the database moved by hand since
        a refresh recorded the resource's heads (see :meth:`_quiet`).
        """
        first_config, second_config = self._configs()
        plans = []
        starts_walk = True
        for tf, config in zip(
            (self.first, self.second), (first_config, second_config), strict=True
        ):
            stored = tf.state
            plan, _, errors = tf.plan(config, refresh, starts_walk=starts_walk)
            starts_walk = False
            stale = stored is not None and stored.read and stored.value["revisions"]
            if not refresh and stale and stale != sorted(self.rows) and errors:
                note("pair: unrefreshed plan refused, moved since its refresh")
                assert errors == ["Database Moved"], errors
                return None
            assert plan is not None and errors == [], (tf.type_name, errors)
            plans.append(plan)
        return plans[0], plans[1]

    def _quiet(self) -> None:
        """The plans after an apply change nothing.

        Without a refresh, a resource whose heads a refresh recorded before the other one moved
        the database is refused ("Database Moved", as for any move since that refresh): the
        stored heads alone cannot tell the other resource's move from a move by hand.
        """
        configs = self._configs()
        for refresh in (False, True):
            starts_walk = True
            for tf, config in zip((self.first, self.second), configs, strict=True):
                stored = tf.state
                plan, _, errors = tf.plan(config, refresh, starts_walk=starts_walk)
                starts_walk = False
                stale = stored is not None and stored.read and stored.value["revisions"]
                if not refresh and stale and stale != sorted(self.rows) and errors:
                    note("pair: unrefreshed plan refused, moved since its refresh")
                    assert errors == ["Database Moved"], errors
                    continue
                assert plan is not None and errors == [], (tf.type_name, refresh, errors)
                assert plan.action == "noop", ("plan after apply", tf.type_name, refresh, plan)

    @rule(refresh=st.booleans(), reverse=st.booleans())
    def apply(self, refresh: bool, reverse: bool) -> None:
        """``terraform apply``: plan both, then apply both, then plan again.

        ``branches`` owners have no ``depends_on`` between them, so Terraform may apply the
        second before the first (``reverse``); each then reaches its own branch's head from
        wherever the database is.
        """
        first_config, second_config = self._configs()
        first_end = self._first_end(first_config)
        expected = self.scripts.expect(second_config["target"], first_end, False)
        assert expected.error is None and expected.direction in ("none", "upgrade"), expected
        second_end = frozenset(expected.heads)
        walked = self._walk(refresh)
        if walked is None:
            return
        first, second = walked
        branches = self.pattern == "branches"
        for plan, start, end in ((first, self.rows, first_end), (second, first_end, second_end)):
            if end != start:
                assert plan.action != "noop", ("a plan that writes, yet no change", plan)
                if branches:  # the heads then depend on the order the two apply in
                    assert isinstance(plan.planned["revisions"], Unknown), plan.planned
                else:
                    assert plan.planned["revisions"] == sorted(end), (end, plan.planned)
        if second_end != first_end:
            # Planned from where the first resource will leave the database, not where it is.
            pending = {p["revision"] for p in second.planned["pending"]}
            assert pending == expected.steps, (first_end, second.planned)
            note("pair: second planned after the first")
        order = [(self.first, first, first_config), (self.second, second, second_config)]
        if branches and reverse:
            order.reverse()
            note("pair: branch owners applied in the other order")
        starts_walk = True
        for index, (tf, plan, config) in enumerate(order):
            if branches:
                end = frozenset(self.scripts.expect(config["target"], self.rows, False).heads)
            else:
                end = first_end if index == 0 else second_end
            outcome = tf.apply(plan, starts_walk=starts_walk)
            starts_walk = False
            assert not outcome.inconsistent, "Provider produced inconsistent final plan"
            assert outcome.errors == [], outcome.errors
            actual = read_rows(self.database) or frozenset()
            assert actual == end, (tf.type_name, end, actual)
            if outcome.applied and tf.state is not None and end != self.rows:
                assert tf.state.value["revisions"] == sorted(actual), (tf.state.value, actual)
            self.rows = actual
        self._quiet()
        note(f"pair: {self.pattern} applied")

    @invariant()
    def database_matches_reference(self) -> None:
        if self.root is not None:
            assert (read_rows(self.database) or frozenset()) == self.rows


def _settings() -> settings:
    """Bound the run: every step costs worker round trips (under a minute for 48 sequences of
    up to 25 steps on two cores; the two-resource machine has the rest of the time budget).
    ``long`` runs 500 sequences of up to 50 steps."""
    profile = settings.get_profile(settings.get_current_profile_name())
    if settings.get_current_profile_name() == "long":
        return settings(max_examples=500, stateful_step_count=50)
    return settings(max_examples=min(profile.max_examples, 48), stateful_step_count=25)


def _pair_settings() -> settings:
    """Bound the two-resource run: every apply step is three walks of two resources."""
    if settings.get_current_profile_name() == "long":
        return settings(max_examples=200, stateful_step_count=20)
    return settings(max_examples=30, stateful_step_count=10)


ProviderModel.TestCase.settings = _settings()
TestProviderModel = pytest.mark.slow(ProviderModel.TestCase)
OneDatabaseModel.TestCase.settings = _pair_settings()
TestOneDatabaseModel = pytest.mark.slow(OneDatabaseModel.TestCase)
