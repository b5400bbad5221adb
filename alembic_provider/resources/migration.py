"""The flow ``alembic_upgrade`` and ``alembic_stamp`` share: gather facts, ask the machine, act.

Each Terraform verb restores the resource's :class:`~statemachine.resource.ResourceLifecycle`
from private state, reads what it must through the executor (read-only), fires the observed
fact, and only then executes the writes the machine put in ``pending``. The outcome goes back
to the machine, and the state Terraform stores is built from what the machine recorded. No
rule about what may happen lives here: this module only moves facts and effects.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from alembic_provider import errors
from alembic_provider.cty import UNKNOWN, contains_unknown
from alembic_provider.durations import parse_duration
from alembic_provider.executor import (
    CallOptions,
    DatabaseFacts,
    Inspection,
    PlannedMove,
    Project,
    RunOptions,
    RunResult,
)
from alembic_provider.resources.base import Applied, Context, Planned, Values
from alembic_provider.resources.common import (
    fill_defaults,
    heads_text,
    project_for,
    upgrade_state_values,
)
from alembic_provider.resources.databases import Reading, owner_of, reading_of
from alembic_provider.schema import Block, Schema, empty_object
from statemachine.resource import (
    Action,
    Decision,
    Kind,
    ResourceLifecycle,
    ResourceSnapshot,
    State,
    recorded_heads,
)

__all__ = ["COMPUTED", "Flow", "MigrationResource"]

#: Computed attributes the flow fills; ``id`` is apart because it never changes.
COMPUTED = ("revision", "revisions", "target_revisions", "pending", "sql")
_DEFAULT_LOCK_TIMEOUT = "5m"
_SYMBOLS = ("head", "heads")
_REREAD_TIMEOUT = 60.0


@dataclass(frozen=True)
class _Private:
    """What the provider keeps in Terraform's private state for one resource.

    ``configured_target`` is set only while the stored ``target`` is a revision id the Go
    provider wrote in place of the configured ``head``: plans then echo the stored value (no
    diff, no re-stamp) while the configured one is what gets resolved.
    """

    snapshot: ResourceSnapshot | None = None
    configured_target: str | None = None
    written_by_us: bool = True
    #: The recorded heads come from a refresh (ReadResource), not from an apply.
    refreshed: bool = False
    #: Imported without reading the database: the resource's own settings (``url``,
    #: ``environment``, ``python``) reach import and the refresh after it only through the
    #: configuration, which the first plan brings.
    unread: bool = False

    @classmethod
    def decode(cls, raw: bytes) -> _Private:
        if not raw:
            return cls(written_by_us=False)
        try:
            data = json.loads(raw)
            snapshot = ResourceSnapshot.from_json(json.dumps(data["lifecycle"]))
            target = data.get("configured_target")
            return cls(
                snapshot,
                target if isinstance(target, str) else None,
                refreshed=data.get("refreshed") is True,
                unread=data.get("unread") is True,
            )
        except (ValueError, KeyError, TypeError):
            return cls()

    def encode(
        self, life: ResourceLifecycle, *, refreshed: bool = False, unread: bool = False
    ) -> bytes:
        data = {
            "lifecycle": json.loads(life.snapshot().to_json()),
            "configured_target": self.configured_target,
            "refreshed": refreshed,
            "unread": unread,
        }
        return json.dumps(data, separators=(",", ":"), sort_keys=True).encode()


@dataclass(frozen=True)
class _Work:
    """One operation's inputs: where to act, what the user configured, how to stop it."""

    ctx: Context
    project: Project
    target: str
    values: Values
    cancel: threading.Event

    def timeout(self, operation: str) -> float | None:
        timeouts = self.values.get("timeouts")
        if isinstance(timeouts, dict) and isinstance(timeouts.get(operation), str):
            return parse_duration(timeouts[operation])
        return None

    def run_options(self, operation: str) -> RunOptions:
        return RunOptions(
            lock=self.values.get("lock") is not False,
            lock_timeout=parse_duration(self.values.get("lock_timeout") or _DEFAULT_LOCK_TIMEOUT),
            timeout=self.timeout(operation),
            cancel=self.cancel,
        )

    def inspect(
        self,
        target: str | None = None,
        operation: str = "read",
        *,
        planned: tuple[PlannedMove, ...] = (),
        offline: bool = False,
        recorded: tuple[str, ...] | None = None,
        known: DatabaseFacts | None = None,
    ) -> Inspection:
        return self.ctx.executor.inspect(
            self.project,
            target or self.target,
            options=self.call_options(operation),
            planned=planned,
            offline=offline,
            recorded=recorded,
            known=known,
        )

    def call_options(self, operation: str) -> CallOptions:
        return CallOptions(timeout=self.timeout(operation), cancel=self.cancel)

    def reread(self, fallback: tuple[str, ...]) -> tuple[str, ...]:
        """Find where the database stopped when a failure could not say."""
        try:
            return self.ctx.executor.current(
                self.project, options=CallOptions(timeout=_REREAD_TIMEOUT)
            )
        except errors.ProviderError:
            return fallback


def _plan_inspection(
    work: _Work,
    earlier: Reading | None,
    *,
    planned: tuple[PlannedMove, ...],
    recorded: tuple[str, ...] | None,
) -> Inspection:
    """Inspect for a plan, reusing what the refresh moments before read where it can."""
    if earlier is None:
        return work.inspect(planned=planned, recorded=recorded)
    if recorded is not None and earlier.answers(work.target, recorded, planned):
        return earlier.inspection
    return work.inspect(planned=planned, recorded=recorded, known=earlier.inspection.facts)


@dataclass(frozen=True)
class Flow:
    """Plan, apply, read and import for one migration resource type."""

    kind: Kind
    block: Block

    # -- plan ------------------------------------------------------------------------------

    def plan(
        self,
        ctx: Context,
        prior: Values | None,
        proposed: Values | None,
        config: Values | None,
        prior_private: bytes,
    ) -> Planned:
        if proposed is None or config is None:
            if prior is not None:
                self._plan_destroy(ctx, prior, prior_private)
            # The destroy decides again during apply (Terraform 1.0-1.2 plan no destroy).
            return Planned(None, prior_private)
        planned = fill_defaults(self.block, config, proposed)
        kept = _Private.decode(prior_private)
        # A plan from a null prior is a create, even when Terraform passes along the private
        # state of an earlier plan (it does for a forced replace).
        life = ResourceLifecycle(self.kind) if prior is None else self._restore(prior, kept)
        target = planned["target"]
        echoed = _echoed_target(prior, target, kept)
        private = _Private(configured_target=target if echoed else None)
        if echoed is not None:
            planned["target"] = echoed
        if prior is not None and isinstance(prior.get("id"), str):
            planned["id"] = prior["id"]
        else:
            planned["id"] = target if isinstance(target, str) else UNKNOWN
        project = project_for(ctx.provider_config, planned)
        owner = owner_of(self.kind, config)
        if project is None or not isinstance(target, str) or _has_unknown_input(planned):
            ctx.databases.record(owner, None)
            return self._plan_unknown(life, planned, private)
        with self._session(ctx, planned) as cancel:
            work = _Work(ctx, project, target, planned, cancel)
            try:
                inspection = _plan_inspection(
                    work,
                    ctx.databases.take_read(reading_of(project)),
                    planned=ctx.databases.others(owner),
                    recorded=None if prior is None else _heads_of(prior),
                )
            except errors.TargetError as exc:
                life.planned(error=exc.message, error_summary=exc.summary)
                raise _plan_error(life, exc.stderr_tail) from exc
            except errors.ProviderError as exc:
                if prior is not None or exc.kind != "database":
                    raise _unreachable(exc) from exc
                if ctx.databases.record_unreachable(owner):
                    _warn_unreachable(ctx, exc, known=False)
                    return self._plan_unknown(life, planned, private)
                _warn_unreachable(ctx, exc, known=True)
                inspection = work.inspect(offline=True)
            life.planned(
                db_heads=inspection.current,
                start_heads=inspection.start,
                target_heads=self._target_heads(inspection),
                downgrades=_downgrades(inspection),
                allow_downgrade=bool(planned.get("allow_downgrade")),
                config_changed=prior is not None
                and (
                    _config_changed(self.block, prior, planned)
                    or _differs(prior, self._unchanged(prior, inspection))
                ),
                target_changed=prior is not None and prior.get("target") != planned["target"],
                recorded_by_refresh=kept.refreshed
                and _same_connection(prior, planned)
                and not ctx.databases.explains(
                    inspection.database, _heads_of(prior or {}), inspection.current, owner
                ),
                reached=_reached(inspection),
            )
            if life.decision is Decision.ERROR:
                raise _plan_error(life)
            self._fill_plan(work, life, prior, inspection)
            ctx.databases.record(owner, _move(life, inspection))
        _warn(ctx, life)
        if not inspection.script_heads:
            _warn_no_migrations(ctx, project)
        seen = len(life.warnings)
        life.values_planned(
            equal_to_prior=prior is not None and planned == prior,
            db_heads=inspection.current,
        )
        _warn(ctx, life, "Refresh Needed", seen)
        return Planned(planned, private.encode(life))

    def _plan_destroy(self, ctx: Context, prior: Values, prior_private: bytes) -> None:
        """Say in the plan what destroying the resource does to the database (Terraform 1.3+).

        Only ``on_destroy`` writes: its downgrade, with every revision it undoes, is a warning
        of the plan, since a destroy plan has no values to show it in.
        """
        target = prior.get("on_destroy")
        project = project_for(ctx.provider_config, prior)
        if not isinstance(target, str) or not target or project is None:
            return
        life = self._restore(prior, _Private.decode(prior_private))
        with self._session(ctx, prior) as cancel:
            inspection = _Work(ctx, project, target, prior, cancel).inspect(operation="delete")
        life.destroy_planned(
            target_heads=inspection.heads_after,
            db_heads=inspection.current,
            downgrades=_downgrades(inspection),
        )
        if life.decision is Decision.DOWNGRADE:
            undone = ", ".join(
                f"'{s.revision}'" + (f" ({s.message})" if s.message else "")
                for s in inspection.steps
            )
            ctx.diagnostics.warning(
                "Destroy Downgrades The Database",
                f"Destroying this resource downgrades the database from "
                f"'{heads_text(inspection.current) or 'base'}' to '{target}' "
                f"(on_destroy), undoing {undone}.",
            )
        _warn(ctx, life, "Database Kept")

    def _plan_unknown(self, life: ResourceLifecycle, planned: Values, private: _Private) -> Planned:
        """Plan every computed value as known after apply, without reading the database."""
        life.planned(known=False)
        planned.update(dict.fromkeys(self._computed(), UNKNOWN))
        return Planned(planned, private.encode(life))

    def _target_heads(self, inspection: Inspection) -> tuple[str, ...]:
        """The heads a write leaves: a stamp writes the target, a run Alembic's bookkeeping."""
        return inspection.heads_after_stamp if self.kind == "stamp" else inspection.heads_after

    def _fill_plan(
        self, work: _Work, life: ResourceLifecycle, prior: Values | None, inspection: Inspection
    ) -> None:
        planned = work.values
        if life.decision in (Decision.UPGRADE, Decision.DOWNGRADE, Decision.STAMP):
            heads = life.planned_heads or ()
            planned.update(
                revision=heads_text(heads),
                revisions=list(heads),
                target_revisions=sorted(inspection.target),
            )
            if "pending" in planned:
                runs = life.decision is not Decision.STAMP
                planned["pending"] = _steps(inspection) if runs else []
                planned["sql"] = ""
                if runs and planned.get("preview_sql"):
                    planned["sql"] = self._preview(work, inspection)
        else:
            planned.update(self._unchanged(prior, inspection))

    def _unchanged(self, prior: Values | None, inspection: Inspection) -> Values:
        """The computed values of a plan that writes nothing.

        The heads are the database's own, except where the difference is other resources'
        business (see :func:`~statemachine.resource.recorded_heads`): then the heads the state
        records stay until a refresh reads the new ones. ``pending`` and ``sql`` keep what the
        state holds, and a stamp keeps the revisions it stamped, so a plan after new revision
        files (or without a refresh) stays empty.
        """
        prior = prior or {}
        found = inspection.planned_from
        recorded = prior.get("revisions")
        if isinstance(recorded, list) and all(isinstance(r, str) for r in recorded):
            satisfied = self.kind == "stamp" and _reached(inspection)
            found = recorded_heads(recorded, found, keep=satisfied or inspection.others_moved)
        values: Values = {
            "revision": heads_text(found),
            "revisions": list(found),
            "target_revisions": sorted(inspection.target),
        }
        if self.kind == "stamp" and isinstance(prior.get("target_revisions"), list):
            values["target_revisions"] = prior["target_revisions"]
        if "pending" in self._computed():
            values["pending"] = prior.get("pending") or []
            values["sql"] = prior.get("sql") or ""
        return values

    def _preview(self, work: _Work, inspection: Inspection) -> str:
        try:
            return work.ctx.executor.sql(
                work.project,
                work.target,
                current=inspection.planned_from,
                options=work.call_options("read"),
            )
        except errors.ProviderError as exc:
            work.ctx.diagnostics.warning(
                "SQL Preview Unavailable",
                f"The offline SQL preview could not be generated: {exc.message} The plan is "
                "still valid; set preview_sql = false to skip the preview.",
                ("preview_sql",),
            )
            return ""

    # -- apply -----------------------------------------------------------------------------

    def apply(
        self,
        ctx: Context,
        prior: Values | None,
        planned: Values | None,
        config: Values | None,
        planned_private: bytes,
    ) -> Applied:
        # Whatever this writes, no refresh of this walk describes the database any more.
        ctx.databases.forget_reads()
        if planned is None:
            assert prior is not None, "Terraform never applies a null object to a null one"
            return self._destroy(ctx, prior, planned_private)
        private = _Private.decode(planned_private)
        life = self._restore(prior, private)
        if not life.may_apply_started(db_heads=None):
            raise errors.RequestError(
                f"The ApplyResourceChange request for an 'alembic_{self.kind}' carries no plan of "
                "this provider in its 'planned_private' value, so what was planned is unknown. "
                "Run 'terraform plan' again and apply the new plan."
            )
        project = project_for(ctx.provider_config, planned)
        if project is None:
            raise errors.InternalError("A configuration value was still unknown during apply.")
        target = str((config or {}).get("target") or planned["target"])
        operation = "create" if prior is None else "update"
        with self._session(ctx, planned) as cancel:
            work = _Work(ctx, project, target, planned, cancel)
            try:
                current = ctx.executor.current(
                    project, options=CallOptions(timeout=work.timeout(operation), cancel=cancel)
                )
            except errors.ProviderError as exc:
                life.apply_started(db_heads=None, error=exc.message)
                raise
            life.apply_started(db_heads=current)
            if life.error is None:
                self._run(work, life, operation)
        if life.error is not None and not ctx.diagnostics.has_errors:
            ctx.diagnostics.error(life.error_summary or "Migration Failed", life.error)
        if life.state is State.ABSENT:
            return Applied(None)
        state = dict(planned)
        if life.error is not None or life.decision is not Decision.NOOP:
            # A plan that writes nothing already holds the heads it records (a satisfied stamp
            # keeps its own; see ``_unchanged``).
            state["revision"] = heads_text(life.heads or ())
            state["revisions"] = list(life.heads or ())
        return Applied(state, private.encode(life))

    def _run(self, work: _Work, life: ResourceLifecycle, operation: str) -> None:
        options = work.run_options(operation)
        result: RunResult | None = None
        try:
            for action in life.pending:
                result = _execute(work, action, options)
        except errors.MigrationError as exc:
            reached = exc.heads_reached
            if reached is None:
                reached = work.reread(life.planned_from or ())
            life.apply_failed(heads_reached=reached, message=exc.message)
            work.ctx.diagnostics.add(exc.diagnostic())
            return
        reached = result.heads if result is not None else (life.planned_from or ())
        life.apply_succeeded(heads_reached=reached)

    def _destroy(self, ctx: Context, prior: Values, raw_private: bytes) -> Applied:
        private = _Private.decode(raw_private)
        # Terraform hands the destroy half of a replace the private state of the create plan
        # that follows it; the stored object is then all there is to go on.
        snapshot = private.snapshot
        replacing = snapshot is not None and snapshot.state is State.PLANNED_CREATE
        if replacing:
            private = _Private()
        life = self._restore(prior, private)
        target = prior.get("on_destroy")
        project = project_for(ctx.provider_config, prior)
        if replacing or not isinstance(target, str) or not target or project is None:
            life.destroy_planned(replacing=replacing)
            life.destroy_started()
            life.destroyed()
            ctx.log.info("destroy leaves the database as it is")
            return Applied(None)
        with self._session(ctx, prior) as cancel:
            work = _Work(ctx, project, target, prior, cancel)
            inspection = work.inspect(operation="delete")
            life.destroy_planned(
                target_heads=inspection.heads_after,
                db_heads=inspection.current,
                downgrades=_downgrades(inspection),
            )
            life.destroy_started(db_heads=inspection.current)
            _warn(ctx, life, "Database Kept")
            try:
                for action in life.pending:
                    _execute(work, action, work.run_options("delete"))
            except errors.MigrationError as exc:
                reached = exc.heads_reached
                if reached is None:
                    reached = work.reread(inspection.current)
                life.destroy_failed(heads_reached=reached, message=exc.message)
                ctx.diagnostics.add(exc.diagnostic())
                state = dict(prior)
                state["revision"] = heads_text(reached)
                state["revisions"] = list(reached)
                return Applied(state, private.encode(life))
        life.destroyed()
        return Applied(None)

    # -- read ------------------------------------------------------------------------------

    def read(self, ctx: Context, state: Values, private: bytes) -> Applied:
        kept = _Private.decode(private)
        target = kept.configured_target or state.get("target")
        project = project_for(ctx.provider_config, state)
        if project is None or not isinstance(target, str):
            return Applied(state, private)
        life = self._restore(state, kept)
        refreshed = dict(state)
        _forget_pending(refreshed)
        with self._session(ctx, state) as cancel:
            work = _Work(ctx, project, target, state, cancel)
            try:
                inspection = work.inspect()
            except errors.ProviderError as exc:
                if kept.unread:
                    # Imported: the configuration's settings arrive with the first plan.
                    ctx.log.info("refresh after import left to the plan", error=exc.message)
                    return Applied(state, private)
                if not isinstance(exc, errors.TargetError):
                    raise _unreachable(exc) from exc
                # The plan reports the target problem on its attribute; a refresh only reads.
                # The lifecycle keeps what the last apply recorded, so it must not claim these
                # heads came from a refresh.
                heads = ctx.executor.current(
                    project, options=CallOptions(timeout=work.timeout("read"), cancel=cancel)
                )
                refreshed.update(revision=heads_text(heads), revisions=list(heads))
                return Applied(refreshed, kept.encode(life) if kept.written_by_us else b"")
        ctx.databases.keep_read(reading_of(project), Reading(target, inspection))
        life.refreshed(
            db_heads=inspection.current,
            target_heads=self._target_heads(inspection),
            reached=_reached(inspection),
        )
        self._fill_observed(refreshed, inspection)
        _warn(ctx, life)
        # State the Go provider wrote keeps no private state until a plan has seen its config.
        if not kept.written_by_us:
            return Applied(refreshed, b"")
        return Applied(refreshed, kept.encode(life, refreshed=True))

    def _fill_observed(self, values: Values, inspection: Inspection) -> None:
        """Record what the database and the script directory say right now.

        A stamp's ``target_revisions`` stay the revisions it stamped. What is pending is left
        out: the plan that runs it shows it as an addition.
        """
        values["revision"] = heads_text(inspection.current)
        values["revisions"] = list(inspection.current)
        if self.kind != "stamp" or not isinstance(values.get("target_revisions"), list):
            values["target_revisions"] = sorted(inspection.target)
        _forget_pending(values)

    # -- import ----------------------------------------------------------------------------

    def import_state(self, ctx: Context, import_id: str, defaults: Values) -> Applied:
        target = import_id.strip()
        if not target:
            raise errors.ConfigError(
                "The import ID is empty; use the resource's target, for example "
                "'terraform import alembic_upgrade.NAME heads'.",
                summary="Invalid Import ID",
            )
        state = dict(defaults)
        state.update(target=target, id=target)
        project = project_for(ctx.provider_config, state)
        if project is None:
            raise errors.ConfigError(
                "The provider configuration is not known yet, so the database cannot be read "
                "for the import. Import after the values it depends on exist.",
                summary="Cannot Import",
            )
        life = ResourceLifecycle(self.kind)
        life.import_started()
        try:
            inspection = _Work(ctx, project, target, state, ctx.cancel).inspect()
        except errors.TargetError as exc:
            life.import_failed(message=exc.message)
            raise
        except errors.ProviderError as exc:
            if exc.kind not in _UNREADABLE:
                life.import_failed(message=exc.message)
                raise
            # Terraform gives import no configuration: a resource whose ``url``, ``environment``
            # or ``python`` make the database reachable is read by the first plan instead.
            ctx.log.info("import leaves reading the database to the first plan", error=exc.message)
            life.imported(db_heads=())
            return Applied(state, _Private().encode(life, unread=True))
        life.imported(db_heads=inspection.current)
        self._fill_observed(state, inspection)
        return Applied(state, _Private().encode(life))

    # -- internals -------------------------------------------------------------------------

    def _computed(self) -> list[str]:
        names = {a.name for a in self.block.attributes}
        return [n for n in COMPUTED if n in names]

    def _restore(self, prior: Values | None, private: _Private) -> ResourceLifecycle:
        """Rebuild the lifecycle from private state, or from the stored values alone.

        State written by the Go provider has no snapshot: the resource is then taken as present
        at the revision it recorded.
        """
        snapshot = private.snapshot
        if snapshot is not None and snapshot.kind == self.kind:
            return ResourceLifecycle.restore(snapshot)
        if prior is None:
            return ResourceLifecycle(self.kind)
        return ResourceLifecycle(self.kind, State.PRESENT, heads=_heads_of(prior))

    @contextmanager
    def _session(self, ctx: Context, values: Values) -> Iterator[threading.Event]:
        """Hold the resource's proxy (if any) around database work; yield the cancel event."""
        with ctx.proxies.use_for(values, ctx.cancel) as cancel:
            yield cancel


class MigrationResource:
    """The hooks ``alembic_upgrade`` and ``alembic_stamp`` share, in Terraform's verb order.

    A subclass names its type, kind and schema, and may add configuration checks in
    ``validate``; everything else runs through one :class:`Flow`.
    """

    TYPE_NAME: str
    SCHEMA_VERSION: int
    KIND: Kind

    def __init__(self) -> None:
        self._flow = Flow(self.KIND, self.schema().block)

    def schema(self) -> Schema:
        raise NotImplementedError

    def validate(self, ctx: Context, config: Values) -> None:
        return None

    def plan(
        self,
        ctx: Context,
        prior: Values | None,
        proposed: Values | None,
        config: Values | None,
        prior_private: bytes,
    ) -> Planned:
        return self._flow.plan(ctx, prior, proposed, config, prior_private)

    def apply(
        self,
        ctx: Context,
        prior: Values | None,
        planned: Values | None,
        config: Values | None,
        planned_private: bytes,
    ) -> Applied:
        return self._flow.apply(ctx, prior, planned, config, planned_private)

    def read(self, ctx: Context, state: Values, private: bytes) -> Applied:
        return self._flow.read(ctx, state, private)

    def import_state(self, ctx: Context, import_id: str) -> Applied:
        block = self._flow.block
        defaults = empty_object(block)
        defaults.update({a.name: a.default for a in block.attributes if a.default is not None})
        return self._flow.import_state(ctx, import_id, defaults)

    def upgrade_state(self, ctx: Context, version: int, raw: dict[str, Any]) -> Values:
        """Map any earlier schema (the Go provider wrote version 2) straight to this one.

        Terraform sends every stored object through here before each refresh and plan, also
        with ``-refresh=false``. ``pending`` and ``sql`` describe the step a plan runs: once
        stored (the apply must return what its plan said) they are spent, and the next plan
        shows what it runs as additions, never the migrations that already ran as removals.
        """
        values = upgrade_state_values(self._flow.block, raw)
        _forget_pending(values)
        return values


def _echoed_target(prior: Values | None, config_target: Any, private: _Private) -> str | None:
    """Return the stored target to keep when it only stands in for the configured one."""
    if prior is None or not isinstance(config_target, str) or config_target not in _SYMBOLS:
        return None
    stored = prior.get("target")
    if not isinstance(stored, str) or stored in _SYMBOLS or stored == config_target:
        return None
    if not private.written_by_us or private.configured_target == config_target:
        return stored
    return None


def _warn_no_migrations(ctx: Context, project: Project) -> None:
    """Say that a project without revision files leaves the database untouched.

    A fresh ``alembic init`` project has an empty versions directory; ``heads`` then names no
    revision and the plan would otherwise succeed silently, doing nothing.
    """
    ctx.diagnostics.warning(
        "No Migrations Yet",
        f"The Alembic project in '{project.project_root}' has no revision files, so there is no "
        "migration to run and the database is left as it is. Create the first one with "
        "'alembic revision -m \"...\"' in that directory; the next plan shows it.",
    )


def _move(life: ResourceLifecycle, inspection: Inspection) -> PlannedMove | None:
    """The move a plan that writes will make, for the plans of other resources after it."""
    end = life.planned_heads
    if inspection.database is None or not life.pending_writes or end is None:
        return None
    return PlannedMove(inspection.database, inspection.planned_from, end)


#: Failures that mean "these settings do not reach the database": env.py failed, the database
#: refused, the interpreter lacks a driver, or env.py still has the placeholder URL.
_UNREADABLE = frozenset({"env", "database", "environment", "placeholder_url"})
_CONNECTION = ("url", "environment", "python", "alembic", "extra", "tag")


def _plan_error(life: ResourceLifecycle, output: str = "") -> errors.ProviderError:
    """Report the error the machine recorded, with its summary and attribute."""
    cls = errors.TargetError if life.error_attribute == ("target",) else errors.ConfigError
    return cls(
        life.error or "The plan could not be made.",
        summary=life.error_summary,
        attribute=life.error_attribute,
        stderr_tail=output,
    )


def _same_connection(prior: Values | None, planned: Values) -> bool:
    """Whether the stored heads were read with the settings the plan uses.

    Import gets no configuration, so the refresh after it reads with the provider's settings
    only; heads read that way say nothing about the database the configuration names.
    """
    return prior is not None and all(prior.get(n) == planned.get(n) for n in _CONNECTION)


def _unreachable(exc: errors.ProviderError) -> errors.ProviderError:
    """Explain a refresh that cannot read the database of a resource in Terraform's state."""
    if exc.kind != "database":
        return exc
    return errors.MigrationError(
        f"The database of this resource could not be read: {exc.message}\n\nTerraform's state "
        "says the resource exists, so its database must be reachable to refresh it. Check the "
        "connection (url, environment, the proxy settings, whether the server is running). If "
        "the database was removed on purpose, remove the resource from the state with "
        "'terraform state rm ADDRESS'.",
        kind="database",
        summary="Database Not Reachable",
        stderr_tail=exc.stderr_tail,
    )


def _warn_unreachable(ctx: Context, exc: errors.ProviderError, *, known: bool) -> None:
    if known:
        consequence = (
            "The plan assumes the database is created in this apply (for example by another "
            "resource) and starts from an empty version table, so it runs every migration up "
            "to the target. If the database should exist already, fix the connection before "
            "applying."
        )
    else:
        consequence = (
            "Another resource of this plan acts on a database that cannot be reached either, "
            "and whether it is the same one cannot be told yet, so this plan's revisions are "
            "known only after apply."
        )
    ctx.diagnostics.warning(
        "Database Not Reachable", f"The database could not be read: {exc.message}\n\n{consequence}"
    )


def _warn(
    ctx: Context, life: ResourceLifecycle, summary: str = "Database Not At Target", start: int = 0
) -> None:
    for warning in life.warnings[start:]:
        ctx.diagnostics.warning(summary, warning)


def _differs(prior: Values, values: Values) -> bool:
    return any(prior.get(name) != value for name, value in values.items())


def _forget_pending(values: Values) -> None:
    """Clear what a stored object says about a step: the state only records where it is."""
    if "pending" in values:
        values["pending"] = []
        values["sql"] = ""


def _steps(inspection: Inspection) -> list[dict[str, str]]:
    return [{"revision": s.revision, "message": s.message} for s in inspection.steps]


def _reached(inspection: Inspection) -> bool:
    """Whether the database is at or past the target: reaching it would run nothing.

    Alembic upgrades to a target by running every ancestor of it the database's heads lack, so
    no upgrade step means every target revision is a head or an ancestor of one.
    """
    return inspection.direction != "upgrade" or not inspection.steps


def _downgrades(inspection: Inspection) -> list[str]:
    return [s.revision for s in inspection.steps] if inspection.direction == "downgrade" else []


def _heads_of(values: Values) -> tuple[str, ...]:
    revisions = values.get("revisions")
    if isinstance(revisions, list) and all(isinstance(r, str) for r in revisions):
        return tuple(revisions)
    revision = values.get("revision")
    if isinstance(revision, str) and revision:
        return tuple(r for r in revision.replace(" ", ",").split(",") if r)
    return ()


def _has_unknown_input(values: Values) -> bool:
    return any(contains_unknown(v) for k, v in values.items() if k not in (*COMPUTED, "id"))


def _config_changed(block: Block, prior: Values, planned: Values) -> bool:
    """Whether anything the user sets differs from the stored value, so apply will run."""
    attributes = any(
        prior.get(a.name) != planned.get(a.name) for a in block.attributes if not a.computed_only
    )
    blocks = any(prior.get(b.type_name) != planned.get(b.type_name) for b in block.block_types)
    return attributes or blocks


def _execute(work: _Work, action: Action, options: RunOptions) -> RunResult:
    """Run one write the machine decided: its verb, toward its exact heads.

    One head is named by its id (so a migration file that appeared after the plan does not
    run), none is ``base``. Several heads: a stamp writes exactly that set; an upgrade or
    downgrade is given the configured target, which the plan resolved to them.
    """
    heads = action.target
    argument = heads[0] if len(heads) == 1 else ("base" if not heads else work.target)
    work.ctx.log.info(f"running alembic {action.verb}", target=argument)
    executor = work.ctx.executor
    if action.verb == "stamp":
        exact = heads if len(heads) > 1 else ()
        return executor.stamp(work.project, argument, options=options, exact=exact)
    run = executor.upgrade if action.verb == "upgrade" else executor.downgrade
    return run(work.project, argument, options=options)
