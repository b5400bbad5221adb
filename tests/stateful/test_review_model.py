"""Model-based test of the plan's review: findings, waivers and the policy against a reference.

A ``RuleBasedStateMachine`` plays Terraform's plan of one ``alembic_upgrade`` against the real
provider (the protocol servicer in this process, its warm worker, an SQLite file): a developer
adds revisions whose ``upgrade()`` does risky or harmless things, some waived by an
``# alembic-review: ignore`` comment for the whole file or on an operation's line; an operator
moves the version table by hand, so different revisions are pending; the provider's and the
resource's ``review { block, ignore }`` lists change. :class:`Reference` predicts for each
plan which revisions get a review warning and with which codes, how many findings the plan
counts as waived, and whether the policy blocks the plan; the provider's diagnostics must say
exactly that, and the plan must leave the database as it was. Nothing is applied: the
migrations only need to be reviewed, never run.
"""

from __future__ import annotations

import contextlib
import io
import re
import shutil
import sqlite3
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from hypothesis import event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from alembic_provider.cty import encode_msgpack
from alembic_provider.log import Logger
from alembic_provider.plugin.proto import tfplugin6_pb2 as pb
from alembic_provider.plugin.servicer import ProviderService
from alembic_provider.provider import Provider, new_provider
from alembic_provider.provider_config import PROVIDER_SCHEMA
from alembic_provider.schema import empty_object
from tests.alembic_projects import add_revision, make_project, sqlite_url
from tests.stateful.test_provider_model import (
    SCHEMAS,
    Terraform,
    Values,
    fingerprint,
    write_rows,
)

#: What each kind of operation does on SQLite, and the finding it earns (None: harmless).
OPERATIONS: dict[str, tuple[str, tuple[str, str] | None]] = {
    "drop_table": ('op.drop_table("accounts")', ("drop-table", "destructive")),
    "drop_column": ('op.drop_column("accounts", "legacy")', ("drop-column", "destructive")),
    "rename_table": ('op.rename_table("accounts", "users")', ("rename-table", "breaking")),
    "add_required": (
        'op.add_column("accounts", sa.Column("email", sa.String(20), nullable=False))',
        ("add-required-column", "breaking"),
    ),
    "raw_sql": ('op.execute("VACUUM")', ("raw-sql", "opaque")),
    "harmless": ('op.create_table("audit_{rev}", sa.Column("id", sa.Integer))', None),
}
#: Names a waiver or a policy list may give: codes and categories the operations earn, and a
#: code none of them earns (it matches nothing).
NAMES = (
    "drop-table",
    "drop-column",
    "rename-table",
    "add-required-column",
    "raw-sql",
    "destructive",
    "breaking",
    "opaque",
    "truncate",
)
_WARNING = re.compile(r"^Migration Review Of Revision '(\w+)': ")
_FINDING = re.compile(r"^- (?:destructive|breaking|locking|opaque) ([\w-]+)", re.MULTILINE)
_WAIVED = re.compile(r"^Migration Review Waivers: (\d+) findings? of the review")


@dataclass(frozen=True)
class Step:
    """One operation of a revision: its kind, and the names a waiver on its line gives."""

    kind: str
    waiver: tuple[str, ...] = ()


@dataclass
class Script:
    """One revision as the reference knows it."""

    revision: str
    steps: tuple[Step, ...]
    waiver: tuple[str, ...] = ()


@dataclass
class Prediction:
    """What a plan must say: codes warned per revision, the waived count, blocked or not."""

    warned: dict[str, set[str]] = field(default_factory=dict)
    waived: int = 0
    blocked: bool = False


def _matches(code: str, category: str, names: tuple[str, ...] | frozenset[str]) -> bool:
    return code in names or category in names


class Reference:
    """The linear history and the policy in force, and what a plan of them must show."""

    def __init__(self) -> None:
        self.scripts: list[Script] = []

    def predict(self, applied: int, block: frozenset[str], ignore: frozenset[str]) -> Prediction:
        """``applied``: how many revisions the version table says ran."""
        prediction = Prediction()
        for script in self.scripts[applied:]:
            for step in script.steps:
                finding = OPERATIONS[step.kind][1]
                if finding is None:
                    continue
                code, category = finding
                if _matches(code, category, ignore):
                    continue
                if _matches(code, category, script.waiver + step.waiver):
                    prediction.waived += 1
                elif _matches(code, category, block):
                    prediction.blocked = True
                else:
                    prediction.warned.setdefault(script.revision, set()).add(code)
        return prediction


class ReviewTerraform(Terraform):
    """Terraform for one ``alembic_upgrade``, with the provider's ``review`` block set."""

    review: Values | None = None

    def configure(self, project_root: Path | None = None) -> None:
        project_root = project_root or self.project_root
        self.project_root = project_root
        value: Values = empty_object(PROVIDER_SCHEMA.block)
        value["project_root"] = str(project_root)
        value["review"] = self.review
        config = pb.DynamicValue(msgpack=encode_msgpack(value, PROVIDER_SCHEMA.cty_type()))
        response = self.service.ConfigureProvider(
            pb.ConfigureProvider.Request(terraform_version="1.9.0", config=config), None
        )
        assert self._errors(response) == []


_names = st.lists(st.sampled_from(NAMES), max_size=2, unique=True).map(tuple)
_steps = st.lists(
    st.builds(
        Step,
        st.sampled_from(list(OPERATIONS)),
        st.one_of(st.just(()), _names),
    ),
    min_size=1,
    max_size=2,
).map(tuple)
_policy = st.one_of(st.none(), st.lists(st.sampled_from(NAMES), max_size=3, unique=True))


class ReviewModel(RuleBasedStateMachine):
    """A developer writes revisions, an operator moves the version table, Terraform plans."""

    def __init__(self) -> None:
        super().__init__()
        self.root: Path | None = None
        self.provider: Provider | None = None
        self.reference = Reference()
        self.applied = 0
        self.provider_policy: Values | None = None
        self.resource_policy: Values | None = None

    @initialize(steps=_steps)
    def build(self, steps: tuple[Step, ...]) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="review-model-")).resolve()
        self.database = self.root / "db.sqlite"
        self.project = make_project(self.root, sqlite_url(self.database))
        self.provider = new_provider(log=Logger("provider", level="info", stream=io.StringIO()))
        self.tf = ReviewTerraform(
            ProviderService(self.provider), "alembic_upgrade", SCHEMAS["upgrade"]
        )
        self.tf.configure(self.project)
        write_rows(self.database, frozenset())
        self.add_revision(steps, ())

    def teardown(self) -> None:
        if self.root is None:
            return
        try:
            if self.provider is not None:
                self.provider.close()
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    # -- a developer writes revisions ------------------------------------------------------

    @rule(steps=_steps, waiver=st.one_of(st.just(()), _names))
    def add_revision(self, steps: tuple[Step, ...], waiver: tuple[str, ...]) -> None:
        """A revision of one or two operations, waived for the file and on lines, or not."""
        scripts = self.reference.scripts
        revision = f"r{len(scripts) + 1:02d}"
        lines = ["import sqlalchemy as sa"]
        if waiver:
            lines.append(f"# alembic-review: ignore {', '.join(waiver)} -- weighed")
        for step in steps:
            code = OPERATIONS[step.kind][0].format(rev=revision)
            if step.waiver:
                code += f"  # alembic-review: ignore {', '.join(step.waiver)}"
            lines.append(code)
        add_revision(
            self.project,
            revision,
            scripts[-1].revision if scripts else None,
            f"change {revision}",
            upgrade_sql=[],
            upgrade_code="\n".join(lines),
        )
        scripts.append(Script(revision, steps, waiver))

    # -- an operator moves the version table -----------------------------------------------

    @rule(data=st.data())
    def move_version_table(self, data: st.DataObject) -> None:
        """Stamp by hand: the revisions up to the chosen one ran (0: none did)."""
        self.applied = data.draw(st.integers(0, len(self.reference.scripts)))
        rows = {self.reference.scripts[self.applied - 1].revision} if self.applied else set()
        write_rows(self.database, frozenset(rows))

    # -- the configuration changes ---------------------------------------------------------

    @rule(block=_policy, ignore=_policy)
    def set_provider_policy(self, block: list[str] | None, ignore: list[str] | None) -> None:
        self.provider_policy = (
            None if block is None and ignore is None else {"block": block, "ignore": ignore}
        )

    @rule(block=_policy, ignore=_policy)
    def set_resource_policy(self, block: list[str] | None, ignore: list[str] | None) -> None:
        self.resource_policy = (
            None if block is None and ignore is None else {"block": block, "ignore": ignore}
        )

    def _policy(self) -> tuple[frozenset[str], frozenset[str]]:
        """The lists in force: each of the resource's when set, else the provider's."""

        def names(key: str) -> frozenset[str]:
            for policy in (self.resource_policy, self.provider_policy):
                if policy is not None and policy[key] is not None:
                    return frozenset(policy[key])
            return frozenset()

        return names("block"), names("ignore")

    # -- Terraform plans -------------------------------------------------------------------

    @rule()
    def plan(self) -> None:
        block, ignore = self._policy()
        expected = self.reference.predict(self.applied, block, ignore)
        config: Values = dict.fromkeys(self.tf.type[1])
        config["environment"] = {"DATABASE_URL": sqlite_url(self.database)}
        config["review"] = self.resource_policy
        self.tf.review = self.provider_policy
        self.tf.diagnostics = []
        before = fingerprint(self.database)
        saved, _, errors = self.tf.plan(config, refresh=False)
        assert fingerprint(self.database) == before, "a plan wrote to the database"

        warned: dict[str, set[str]] = {}
        waived = 0
        for text in self.tf.diagnostics:
            if match := _WARNING.match(text):
                codes = re.findall(
                    r"^- (?:destructive|breaking|locking|opaque) ([\w-]+)", text, re.M
                )
                assert match.group(1) not in warned, text
                warned[match.group(1)] = set(codes)
            elif match := _WAIVED.match(text):
                waived = int(match.group(1))
        event(f"plan: {'blocked' if expected.blocked else 'planned'}")
        event(f"plan: {'some' if expected.waived else 'no'} findings waived")
        event(f"plan: {len(expected.warned)} revisions warned")
        assert warned == expected.warned, (warned, expected, self.tf.diagnostics)
        assert waived == expected.waived, (waived, expected, self.tf.diagnostics)
        if expected.blocked:
            assert errors == ["Migration Blocked By Review"], (errors, expected)
            assert saved is None
        else:
            assert errors == [], (errors, self.tf.diagnostics)
            assert saved is not None
            pending = [p["revision"] for p in saved.planned["pending"]]
            assert pending == [s.revision for s in self.reference.scripts[self.applied :]]

    @invariant()
    def nothing_ran(self) -> None:
        """Plans never run a migration: no table but the version table exists."""
        if self.root is not None:
            with contextlib.closing(sqlite3.connect(self.database)) as db:
                names = {r[0] for r in db.execute("SELECT name FROM sqlite_master")}
            assert names <= {"alembic_version", "sqlite_autoindex_alembic_version_1"}, names


def _settings() -> settings:
    """Each plan is one worker round trip of review: bounded under ``ci`` and ``dev``."""
    if settings.get_current_profile_name() == "long":
        return settings(max_examples=300, stateful_step_count=30)
    profile = settings.get_profile(settings.get_current_profile_name())
    return settings(max_examples=min(profile.max_examples, 25), stateful_step_count=12)


ReviewModel.TestCase.settings = _settings()
TestReviewModel = pytest.mark.slow(ReviewModel.TestCase)
