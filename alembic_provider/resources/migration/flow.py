"""The verbs ``alembic_upgrade`` and ``alembic_stamp`` share: gather facts, fire, carry out.

Each verb restores the resource's :class:`~statemachine.resource.ResourceLifecycle` from private
state, reads what it must through the executor (read-only), fires the facts as one trigger, and
carries out the outcome: it reports the notes, runs the actions with their exact heads, writes
the values. A failure to read is a fact like any other. No rule about what may happen lives
here, and nothing here asks which kind of resource it serves or where its lifecycle stands.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from alembic_provider import errors
from alembic_provider.cty import UNKNOWN
from alembic_provider.executor import Inspection, PlannedMove
from alembic_provider.resources.base import Applied, Context, Planned, Values
from alembic_provider.resources.common import project_for
from alembic_provider.resources.databases import Reading, owner_of, reading_of
from alembic_provider.resources.migration import compat, effects, write_only
from alembic_provider.resources.migration import facts as observe
from alembic_provider.resources.migration.work import Work, session
from alembic_provider.review import policy_of
from alembic_provider.schema import Block
from statemachine.resource import Kind, Outcome, ResourceLifecycle

__all__ = ["Flow"]

Facts = dict[str, Any]


def _fire(ctx: Context, life: ResourceLifecycle, trigger: str, **facts: Any) -> Outcome:
    """Fire one trigger and report the notes of the step it took."""
    life.trigger(trigger, **facts)
    outcome = life.outcome
    effects.report(ctx, outcome)
    return outcome


@dataclass(frozen=True)
class Flow:
    """Plan, apply, read and import for one migration resource type."""

    kind: Kind
    block: Block
    #: Whether a plan reviews the pending upgrades (the type runs migrations).
    reviews: bool = False

    # -- plan ------------------------------------------------------------------------------

    def plan(
        self,
        ctx: Context,
        prior: Values | None,
        config: Values,
        proposed: Values,
        prior_private: bytes,
    ) -> Planned:
        """Plan a create (``prior`` is None) or an update.

        ``proposed`` already carries the schema's defaults: the framework's plan modifiers ran.
        """
        planned = dict(proposed)
        snapshot = compat.decode_private(prior_private) if prior is not None else None
        # A plan from a null prior is a create, even when Terraform passes along the private
        # state of an earlier plan (it does for a forced replace).
        life = compat.restore(self.kind, prior, snapshot)
        target = planned["target"]
        echoed = compat.echoed_target(prior, target, snapshot)
        life.configured_target = target if echoed is not None else None
        planned["target"] = target if echoed is None else echoed
        stored_id = (prior or {}).get("id")
        fallback_id = target if isinstance(target, str) else UNKNOWN
        planned["id"] = stored_id if isinstance(stored_id, str) else fallback_id
        project = project_for(ctx.provider_config, write_only.connection(planned, config))
        owner = owner_of(self.kind, config)
        if project is None or not isinstance(target, str) or observe.has_unknown_input(planned):
            _fire(ctx, life, "planned", known=False)
            return self._planned(ctx, life, prior, planned, owner=owner, inspection=None)
        with session(ctx, planned) as cancel:
            work = Work(ctx, project, target, planned, cancel)
            facts, inspection = self._plan_facts(work, prior, owner)
            _fire(ctx, life, "planned", **facts)
            tracked = facts.get("error_kind") not in observe.CONNECTION_FAILURES
            return self._planned(
                ctx,
                life,
                prior,
                planned,
                owner=owner,
                inspection=inspection,
                work=work,
                tracked=tracked,
            )

    def _plan_facts(
        self, work: Work, prior: Values | None, owner: str
    ) -> tuple[Facts, Inspection | None]:
        """Read what the plan needs; a database that cannot be reached is read offline."""
        ctx = work.ctx
        recorded = None if prior is None else compat.heads_of(prior)
        base: Facts = {
            "allow_downgrade": bool(work.values.get("allow_downgrade")),
            "target_changed": prior is not None and prior.get("target") != work.values["target"],
            "same_connection": observe.same_connection(prior, work.values),
            "project_root": work.project.project_root,
            "destroy_target": observe.destroy_target(work.values),
            **observe.recorded(prior),
        }
        try:
            inspection = _plan_inspection(
                work,
                ctx.databases.take_read(reading_of(work.project)),
                planned=ctx.databases.others(owner),
                recorded=recorded,
                review=self.reviews,
                compare=self._compares(work),
            )
        except errors.ProviderError as exc:
            failed = {**base, **observe.failure(exc)}
            if exc.kind not in observe.CONNECTION_FAILURES:
                return failed, None
            # The database may be created in this apply: plan from the script directory alone.
            failed["others_unreachable"] = ctx.databases.record_unreachable(owner)
            try:
                offline = work.inspect(offline=True)
            except errors.ProviderError as offline_exc:
                return {**base, **observe.failure(offline_exc)}, None
            return (
                {
                    **failed,
                    **observe.planning(offline),
                    **_destroy_facts(work),
                    **self._review(work, offline),
                    **self._models(work, None),
                },
                offline,
            )
        explained = ctx.databases.explains(
            inspection.database, recorded or (), inspection.current, owner
        )
        facts = {
            **base,
            **observe.planning(inspection),
            **_destroy_facts(work),
            **self._review(work, inspection),
            **self._models(work, inspection),
        }
        return {**facts, "explained": explained}, inspection

    def _review(self, work: Work, inspection: Inspection) -> Facts:
        """Review the upgrades a plan would run; a plan that runs none reviews nothing."""
        if not self.reviews or inspection.direction != "upgrade" or not inspection.steps:
            return {}
        policy = policy_of(work.ctx.provider_config.get("review"), work.values.get("review"))
        try:
            return observe.reviewed(work.review(inspection), inspection.dialect, policy)
        except errors.ProviderError as exc:
            return {"review_error": exc.message}

    def _compares(self, work: Work) -> bool:
        """Whether a plan of this resource compares env.py's models with the database."""
        return self.reviews and _compares_models(work)

    def _models(self, work: Work, inspection: Inspection | None) -> Facts:
        """Compare env.py's models with the database when ``compare_models`` is on and the
        database is at its target now (nothing of this plan moves it first)."""
        if not self._compares(work):
            return {}
        facts: Facts = {"compare_models": True}
        if inspection is None or not observe.reached(inspection):
            return facts
        if inspection.planned_from != inspection.current:
            return {
                **facts,
                "model_diff_error": "other resources of this plan move the database first, so "
                "the comparison waits for the apply.",
            }
        try:
            return {**facts, **observe.compared(work.model_diff())}
        except errors.ProviderError as exc:
            return {**facts, "model_diff_error": exc.message}

    def _planned(
        self,
        ctx: Context,
        life: ResourceLifecycle,
        prior: Values | None,
        planned: Values,
        *,
        owner: str,
        inspection: Inspection | None,
        work: Work | None = None,
        tracked: bool = True,
    ) -> Planned:
        """Carry out a plan's outcome: its values, its move for the plans after it."""
        outcome = life.outcome
        if outcome.failed:
            return Planned(None)
        if tracked:
            ctx.databases.record(owner, _move(outcome, inspection))
        effects.record(planned, outcome)
        if work is not None and inspection is not None:
            effects.plan_steps(work, outcome, inspection, prior)
        _fire(ctx, life, "values_planned", equal_to_prior=prior is not None and planned == prior)
        return Planned(planned, compat.encode_private(life))

    def plan_destroy(self, ctx: Context, prior: Values, prior_private: bytes) -> Planned:
        """Say in the plan what destroying the resource does to the database (Terraform 1.3+).

        The destroy decides again during apply (Terraform 1.0-1.2 plan no destroy).
        """
        life = compat.restore(self.kind, prior, compat.decode_private(prior_private))
        self._destroy(ctx, life, prior, run=False)
        return Planned(None, prior_private)

    # -- apply -----------------------------------------------------------------------------

    def apply(
        self,
        ctx: Context,
        prior: Values | None,
        planned: Values,
        config: Values | None,
        planned_private: bytes,
    ) -> Applied:
        """Apply a create (``prior`` is None) or an update as planned."""
        # Whatever this writes, no refresh of this walk describes the database any more.
        ctx.databases.forget_reads()
        life = compat.restore(self.kind, prior, compat.decode_private(planned_private))
        project = project_for(ctx.provider_config, write_only.connection(planned, config))
        if project is None:
            raise errors.InternalError("A configuration value was still unknown during apply.")
        target = str((config or {}).get("target") or planned["target"])
        operation = "create" if prior is None else "update"
        # Where the plan found the database: the apply asks which branches moved since.
        starts_from = life.outcome.starts_from
        with session(ctx, planned) as cancel:
            work = Work(ctx, project, target, planned, cancel, operation)
            try:
                facts: Facts = _apply_facts(work, starts_from)
            except errors.ProviderError as exc:
                facts = {"db_heads": None, **observe.failure(exc)}
            current = facts["db_heads"]
            outcome = _fire(ctx, life, "apply_started", **facts)
            if not outcome.failed:
                ran = effects.run(work, outcome.actions, current or ())
                trigger = "apply_failed" if ran.failed else "apply_succeeded"
                outcome = _fire(ctx, life, trigger, **ran.facts)
        if not outcome.exists:
            return Applied(None)
        state = dict(planned)
        effects.record(state, outcome)
        return Applied(state, compat.encode_private(life))

    def delete(self, ctx: Context, prior: Values, planned_private: bytes) -> Applied:
        """Destroy: keep the database, or downgrade it to ``on_destroy``."""
        ctx.databases.forget_reads()
        life = compat.restore(self.kind, prior, compat.decode_private(planned_private))
        outcome = self._destroy(ctx, life, prior, run=True)
        if not outcome.exists:
            return Applied(None)
        state = dict(prior)
        effects.record(state, outcome)
        return Applied(state, compat.encode_private(life))

    def _destroy(
        self, ctx: Context, life: ResourceLifecycle, prior: Values, *, run: bool
    ) -> Outcome:
        """Plan a destroy and, with ``run``, carry it out.

        The database is read only when ``on_destroy`` names a revision to downgrade to.
        """
        target = prior.get("on_destroy")
        project = project_for(ctx.provider_config, prior)
        if not isinstance(target, str) or not target or project is None:
            outcome = _fire(ctx, life, "destroy_planned", known=project is not None)
            return self._carry_out_destroy(ctx, life, outcome, None, (), run=run)
        with session(ctx, prior) as cancel:
            work = Work(ctx, project, target, prior, cancel, "delete")
            try:
                inspection = work.inspect()
            except errors.ProviderError as exc:
                facts: Facts = observe.failure(exc)
                current: tuple[str, ...] = ()
            else:
                facts = observe.destroying(inspection)
                current = inspection.current
            outcome = _fire(ctx, life, "destroy_planned", destroy_target=target, **facts)
            return self._carry_out_destroy(ctx, life, outcome, work, current, run=run)

    def _carry_out_destroy(
        self,
        ctx: Context,
        life: ResourceLifecycle,
        outcome: Outcome,
        work: Work | None,
        current: tuple[str, ...],
        *,
        run: bool,
    ) -> Outcome:
        if not run or outcome.failed:
            return outcome
        outcome = _fire(ctx, life, "destroy_started")
        if work is None:
            return _fire(ctx, life, "destroyed")
        ran = effects.run(work, outcome.actions, current)
        if ran.failed:
            return _fire(ctx, life, "destroy_failed", **ran.facts)
        return _fire(ctx, life, "destroyed")

    # -- read ------------------------------------------------------------------------------

    def read(self, ctx: Context, state: Values, private: bytes) -> Applied:
        """Refresh: read the database's heads and resolve the target again."""
        snapshot = compat.decode_private(private)
        life = compat.restore(self.kind, state, snapshot)
        target = life.configured_target or state.get("target")
        project = project_for(ctx.provider_config, state)
        # A write-only connection is not in the state: the plan reads the database instead.
        if project is None or not isinstance(target, str) or write_only.in_state(state):
            facts: Facts = {"known": False}
        else:
            with session(ctx, state) as cancel:
                facts = self._read_facts(Work(ctx, project, target, state, cancel), state)
        outcome = _fire(ctx, life, "refreshed", **facts)
        refreshed = dict(state)
        effects.forget_pending(refreshed)
        effects.record(refreshed, outcome)
        # State the Go provider wrote keeps no private state until a plan has seen its config.
        return Applied(refreshed, b"" if snapshot is None else compat.encode_private(life))

    def _read_facts(self, work: Work, state: Values) -> Facts:
        recorded_targets = observe.recorded(state)["recorded_target_revisions"]
        try:
            # The plan that follows compares the models: the refresh's run of env.py does it.
            inspection = work.inspect(compare=self._compares(work))
        except errors.ProviderError as exc:
            failed = observe.failure(exc)
            if failed["error_kind"] != "target":
                return failed
            # The target alone does not resolve: the database's heads are still worth recording.
            try:
                return {**failed, "db_heads": work.current()}
            except errors.ProviderError as current_exc:
                return observe.failure(current_exc)
        work.ctx.databases.keep_read(reading_of(work.project), Reading(work.target, inspection))
        return {
            **observe.refreshing(inspection),
            "recorded_target_revisions": recorded_targets,
        }

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
        _fire(ctx, life, "import_started")
        try:
            inspection = Work(ctx, project, target, state, ctx.cancel).inspect()
        except errors.ProviderError as exc:
            facts = observe.failure(exc)
        else:
            facts = {"db_heads": inspection.current, "target_revisions": inspection.target}
        outcome = _fire(ctx, life, "imported", **facts)
        if not outcome.exists:
            return Applied(None)
        effects.forget_pending(state)
        effects.record(state, outcome)
        return Applied(state, compat.encode_private(life))


def _destroy_facts(work: Work) -> Facts:
    """Resolve ``on_destroy`` in the script directory, so a typo shows when it is planned."""
    target = observe.destroy_target(work.values)
    if target is None:
        return {}
    try:
        work.resolve(target)
    except errors.ConfigError as exc:
        return {"destroy_error": exc.message}
    return {}


def _compares_models(work: Work) -> bool:
    """The resource's ``compare_models``, else the provider's; off by default."""
    own = work.values.get("compare_models")
    if isinstance(own, bool):
        return own
    return work.ctx.provider_config.get("compare_models") is True


def _plan_inspection(
    work: Work,
    earlier: Reading | None,
    *,
    planned: tuple[PlannedMove, ...],
    recorded: tuple[str, ...] | None,
    review: bool,
    compare: bool,
) -> Inspection:
    """Inspect for a plan, reusing what the refresh moments before read where it can.

    ``review``: the plan reviews a pending upgrade, in the same worker as the inspection.
    ``compare``: the plan compares the models, in the same run of env.py when it reads.
    """
    if earlier is None:
        return work.inspect(planned=planned, recorded=recorded, review=review, compare=compare)
    if recorded is not None and earlier.answers(work.target, recorded, planned):
        return earlier.inspection
    return work.inspect(
        planned=planned, recorded=recorded, known=earlier.inspection.facts, review=review
    )


def _apply_facts(work: Work, starts_from: tuple[str, ...] | None) -> Facts:
    """Read the database before writing; with a plan to apply, also which branches moved."""
    if starts_from is None:
        return {"db_heads": work.current()}
    return observe.applying(work.inspect(recorded=starts_from))


def _move(outcome: Outcome, inspection: Inspection | None) -> PlannedMove | None:
    """The move a plan that writes will make, for the plans of other resources after it."""
    if inspection is None or inspection.database is None or outcome.moves_to is None:
        return None
    return PlannedMove(inspection.database, inspection.planned_from, outcome.moves_to)
