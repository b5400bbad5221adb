"""Turn what the executor read (or how it failed) into the facts the lifecycle machine takes.

Facts are plain keyword arguments of a trigger; nothing here decides what they mean.
Never imports alembic.
"""

from __future__ import annotations

from typing import Any

from alembic_provider import errors
from alembic_provider.cty import contains_unknown
from alembic_provider.executor import Inspection
from alembic_provider.resources.base import Values
from alembic_provider.review import (
    ModelDiff,
    Policy,
    Review,
    findings_of,
    revision_lines,
    waive,
)
from statemachine.resource import RevisionReview

__all__ = [
    "COMPUTED",
    "CONNECTION_FAILURES",
    "applying",
    "compared",
    "destroy_target",
    "destroying",
    "failure",
    "has_unknown_input",
    "planning",
    "reached",
    "recorded",
    "refreshing",
    "reviewed",
    "same_connection",
    "targets",
]

#: Computed attributes the flow fills; ``id`` is apart because it never changes.
COMPUTED = ("revision", "revisions", "target_revisions", "pending", "sql")
#: Failures to connect: the script directory is then read offline, for the machine to decide
#: whether the plan can go on without the database.
CONNECTION_FAILURES = frozenset(
    {"database", "host_unreachable", "database_missing", "login_refused", "tls"}
)
#: The settings that decide which database a resource reads.
_CONNECTION = (
    "url",
    "environment",
    "url_wo_version",
    "environment_wo_version",
    "python",
    "alembic",
    "extra",
    "tag",
)

Facts = dict[str, Any]


def failure(exc: errors.ProviderError) -> Facts:
    """The facts of a failed read: its message, heading, whole detail and kind."""
    return {
        "error": exc.message,
        "error_summary": exc.summary,
        "error_detail": exc.detail(),
        "error_kind": "target" if isinstance(exc, errors.TargetError) else exc.kind,
        "error_attribute": tuple(step for step in exc.attribute if isinstance(step, str)),
    }


def reached(inspection: Inspection) -> bool:
    """Whether the database is at or past the target: reaching it would run nothing.

    Alembic upgrades to a target by running every ancestor of it the database's heads lack, so
    no upgrade step means every target revision is a head or an ancestor of one.
    """
    return inspection.direction != "upgrade" or not inspection.steps


def targets(inspection: Inspection) -> Facts:
    """Where each kind of write would leave the database, and the target's revisions."""
    return {
        "target_heads": inspection.heads_after,
        "stamp_heads": inspection.heads_after_stamp,
        "target_revisions": inspection.target,
        "reached": reached(inspection),
    }


def refreshing(inspection: Inspection) -> Facts:
    """What a refresh saw: the database's heads and the target resolved."""
    return {"db_heads": inspection.current, **targets(inspection)}


def planning(inspection: Inspection) -> Facts:
    """What a plan saw: also where it starts and what reaching the target undoes."""
    return {
        **refreshing(inspection),
        "start_heads": inspection.start,
        "downgrades": _downgrades(inspection),
        "others_moved": inspection.others_moved,
        "others_branches": inspection.others_branches,
        "has_migrations": bool(inspection.script_heads),
    }


def reviewed(review: Review, dialect: str | None, policy: Policy) -> Facts:
    """What the review found: each pending revision's findings worded, blocked or waived.

    Findings the policy ignores are left out; waived ones are counted, never blocked.
    """
    found = [f for f in findings_of(review, dialect) if not policy.ignores(f)]
    kept, waived = waive(found, review)
    lines = revision_lines([f for f in kept if not policy.blocks(f)])
    blocked = revision_lines([f for f in kept if policy.blocks(f)])
    lifted: dict[str, list[str]] = {}
    for item in waived:
        reason = f" ({item.reason})" if item.reason else ""
        lifted.setdefault(item.finding.revision, []).append(item.finding.code + reason)
    return {
        "review_sizes_error": review.sizes_error,
        "review": tuple(
            RevisionReview(
                r.revision,
                r.message,
                lines.get(r.revision, ()),
                tuple(lifted.get(r.revision, ())),
                blocked.get(r.revision, ()),
            )
            for r in review.revisions
            if r.revision in lines or r.revision in lifted or r.revision in blocked
        ),
    }


def compared(diff: ModelDiff) -> Facts:
    """What comparing env.py's models with the database found, each difference worded."""
    return {
        "model_differences": tuple(d.text for d in diff.differences),
        "models_without_metadata": not diff.metadata,
        "model_server_defaults": diff.server_defaults,
    }


def applying(inspection: Inspection) -> Facts:
    """What an apply saw before writing: the heads, and whether only other branches moved."""
    return {"db_heads": inspection.current, "others_moved": inspection.others_moved}


def destroying(inspection: Inspection) -> Facts:
    """What a destroy with ``on_destroy`` saw: the downgrade and the revisions it undoes."""
    return {
        "db_heads": inspection.current,
        "target_heads": inspection.heads_after,
        "downgrades": _downgrades(inspection),
        "undone": [
            f"'{s.revision}'" + (f" ({s.message})" if s.message else "") for s in inspection.steps
        ],
    }


def _downgrades(inspection: Inspection) -> list[str]:
    return [s.revision for s in inspection.steps] if inspection.direction == "downgrade" else []


def recorded(prior: Values | None) -> Facts:
    """What Terraform's state records, when it records it in a usable form."""
    prior = prior or {}
    revisions = prior.get("revisions")
    targets = prior.get("target_revisions")
    return {
        "recorded_heads": revisions if _is_ids(revisions) else None,
        "recorded_target_revisions": targets if _is_ids(targets) else None,
    }


def same_connection(prior: Values | None, planned: Values) -> bool:
    """Whether the stored heads were read with the settings the plan uses.

    Import gets no configuration, so the refresh after it reads with the provider's settings
    only; heads read that way say nothing about the database the configuration names.
    """
    return prior is not None and all(prior.get(n) == planned.get(n) for n in _CONNECTION)


def destroy_target(values: Values) -> str | None:
    """The revision ``on_destroy`` names, when it names one (an ``alembic_upgrade`` only)."""
    target = values.get("on_destroy")
    return target if isinstance(target, str) and target.strip() else None


def has_unknown_input(values: Values) -> bool:
    """Whether a setting the plan needs is still unknown."""
    return any(contains_unknown(v) for k, v in values.items() if k not in (*COMPUTED, "id"))


def _is_ids(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(r, str) for r in value)
