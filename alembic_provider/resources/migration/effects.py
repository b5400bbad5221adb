"""Carry out what the lifecycle machine decided: report its notes, run its writes, and write
the values it planned or recorded into the object Terraform gets back.

Executes outcomes as given; decides nothing. Never imports alembic.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from alembic_provider import errors
from alembic_provider.cty import UNKNOWN
from alembic_provider.executor import Inspection
from alembic_provider.resources.base import Context, Values
from alembic_provider.resources.common import heads_text
from alembic_provider.resources.migration.facts import COMPUTED
from alembic_provider.resources.migration.work import Work
from statemachine.resource import Action, Outcome

__all__ = ["Ran", "forget_pending", "record", "report", "run"]


def report(ctx: Context, outcome: Outcome) -> None:
    """Hand the outcome's diagnostics to Terraform."""
    for note in outcome.notes:
        add = ctx.diagnostics.error if note.severity == "error" else ctx.diagnostics.warning
        add(note.summary, note.detail, note.attribute)


def record(values: Values, outcome: Outcome) -> None:
    """Write the revisions the outcome planned or recorded; leave what it leaves alone.

    A step that failed keeps nothing pending: what ran is in the revisions, and what did not
    is planned again from there.
    """
    if outcome.failed:
        forget_pending(values)
    if outcome.unknown:
        values.update({name: UNKNOWN for name in COMPUTED if name in values})
        return
    if outcome.revisions is not None:
        values["revision"] = heads_text(outcome.revisions)
        values["revisions"] = list(outcome.revisions)
    if outcome.revisions_unknown:
        values.update(revision=UNKNOWN, revisions=UNKNOWN)
    if outcome.target_revisions is not None:
        values["target_revisions"] = list(outcome.target_revisions)


def plan_steps(work: Work, outcome: Outcome, inspection: Inspection, prior: Values | None) -> None:
    """List the migrations a plan runs, and their SQL when ``preview_sql`` asks for it.

    A plan that runs nothing keeps what the prior object says (nothing, once stored).
    """
    values = work.values
    if "pending" not in values or outcome.unknown:
        return
    if not outcome.steps:
        values["pending"] = (prior or {}).get("pending") or []
        values["sql"] = (prior or {}).get("sql") or ""
        return
    values["pending"] = [{"revision": s.revision, "message": s.message} for s in inspection.steps]
    values["sql"] = _preview(work, inspection) if values.get("preview_sql") else ""


def _preview(work: Work, inspection: Inspection) -> str:
    try:
        return work.sql(inspection.planned_from)
    except errors.ProviderError as exc:
        work.ctx.diagnostics.warning(
            "SQL Preview Unavailable",
            f"The offline SQL preview could not be generated: {exc.message} The plan is "
            "still valid; set preview_sql = false to skip the preview.",
            ("preview_sql",),
        )
        return ""


def forget_pending(values: Values) -> None:
    """Clear what a stored object says about a step: the state only records where it is."""
    if "pending" in values:
        values["pending"] = []
        values["sql"] = ""


@dataclass(frozen=True)
class Ran:
    """How running the outcome's actions went: the facts of ``*_succeeded`` or ``*_failed``."""

    failed: bool
    facts: dict[str, Any]


def run(work: Work, actions: tuple[Action, ...], start: tuple[str, ...]) -> Ran:
    """Run every action in order; on a failure, find where the database stopped.

    :param start: where the database was before, should nothing say where it stopped.
    """
    options = work.run_options()
    heads: tuple[str, ...] | None = None
    others_moved = False
    try:
        for action in actions:
            result = work.execute(action, options)
            heads, others_moved = result.heads, result.others_moved
    except errors.ProviderError as exc:
        reached = exc.heads_reached
        if reached is None:
            reached = work.reread(heads if heads is not None else start)
        return Ran(
            True,
            {
                "heads_reached": reached,
                "message": exc.message,
                "error_summary": exc.summary,
                "error_detail": exc.detail(),
            },
        )
    return Ran(False, {"heads_reached": heads, "others_moved": others_moved})
