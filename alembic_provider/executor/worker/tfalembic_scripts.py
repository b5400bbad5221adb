"""Questions about the script directory alone: its graph, targets, and the steps between heads.

Nothing here connects to a database or runs env.py. Alembic is imported inside the functions,
so importing this module needs only the standard library. Never imports the provider package.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from tfalembic_alembic import heads_after_steps
from tfalembic_errors import ReportedError, error_text, quoted
from tfalembic_keep import note_root, settle
from tfalembic_scriptcache import load_graph

if TYPE_CHECKING:
    Result = dict[str, Any]
    # A target as the user wrote it, or an exact set of revision ids, taken as it is.
    Destination = str | tuple[str, ...]

__all__ = [
    "check_exact",
    "check_known",
    "describe",
    "heads_after_stamp",
    "labels",
    "load_script",
    "owned_heads",
    "plan",
    "related_heads",
    "resolve",
    "revision_problem",
    "same_on_target_lineage",
    "step_pair",
    "steps_to",
    "unknown_heads",
]

_RELATIVE = re.compile(r"^(?:.+@)?[^@:+-]*[+-]\d+$")
_SYMBOLS = ("head", "heads", "base")
_ABSOLUTE = "a revision id, 'head', 'heads', 'base' or '<branch>@head'"


def load_script(config: Any) -> Any:
    """Load the script directory's graph, reporting failures as the user's.

    The graph comes from the cache when no file that defines it changed (no revision module
    runs then); otherwise every revision file is loaded, as Alembic does.
    """
    from alembic.script import ScriptDirectory
    from alembic.util import CommandError

    # Before anything of the project loads: what this request may use of the warm server's
    # kept imports, with its own environment and sys.path.
    settle(config)
    try:
        script = ScriptDirectory.from_config(config)
    except CommandError as exc:
        raise ReportedError("config", f"The Alembic configuration is not usable: {exc}") from exc
    note_root(script.dir)
    try:
        load_graph(script)
        script.get_heads()
    except ImportError:
        raise
    except Exception as exc:
        raise ReportedError(
            "script",
            f"The migration scripts in '{script.dir}' could not be loaded: {error_text(exc)}",
        ) from exc
    return script


def _tuple(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    return (value,) if isinstance(value, str) else tuple(value)


def _all_ids(script: Any) -> set[str]:
    """Every revision id: each one is a head or an ancestor of one.

    Found by following parents from the heads, once per script object; Alembic's own walk
    sorts the whole graph, which costs far more on a long history than everything else a
    plan asks of it.
    """
    known: set[str] | None = getattr(script, "tfalembic_ids", None)
    if known is None:
        known = _ancestry(script, script.get_heads())
        setattr(script, "tfalembic_ids", known)  # noqa: B010
    return known


def labels(script: Any) -> dict[str, str]:
    """Map each branch label to the revision that declares it (the one nearest the base)."""
    return {
        label: revision.revision
        for revision in script.walk_revisions()
        for label in revision.branch_labels
    }


def _is_label(script: Any, name: str) -> bool:
    return any(
        name in script.revision_map.get_revision(revision_id).branch_labels
        for revision_id in _all_ids(script)
    )


def step_pair(step: Any) -> list[str]:
    return [step.revision.revision, step.revision.doc or ""]


def resolve(script: Any, target: str) -> list[str]:
    """Resolve an absolute target to revision ids; refuse ones that move on every apply."""
    from alembic.script.revision import MultipleHeads, RevisionError
    from alembic.util import CommandError

    ids = _all_ids(script)
    if target in ids:
        return [target]
    if not target.strip():
        raise ReportedError("target", f"The target is empty; use {_ABSOLUTE}.")
    if target == "current" or _RELATIVE.match(target) or ":" in target:
        what = "a range" if ":" in target else "relative to the database's current revision"
        raise ReportedError(
            "relative_target",
            f"The target '{target}' is {what}, so every apply would move the database again; "
            f"use {_ABSOLUTE}.",
            revision=target,
        )
    symbolic = target in _SYMBOLS or "@" in target or _is_label(script, target)
    starts = sorted(i for i in ids if i.startswith(target))
    if not symbolic and len(starts) > 1:
        raise ReportedError(
            "ambiguous_target",
            f"The target '{target}' is ambiguous: it starts the revision ids {quoted(starts)}; "
            "use a full revision id.",
            revision=target,
        )
    try:
        found = script.revision_map.get_revisions(target)
    except MultipleHeads as exc:
        raise ReportedError(
            "multiple_heads",
            f"The target '{target}' is ambiguous because the script directory has several "
            f"heads ({quoted(sorted(script.get_heads()))}); use 'heads' to apply all of "
            "them, '<branch>@head' for one branch, or a revision id.",
            revision=target,
        ) from exc
    except (RevisionError, CommandError) as exc:
        raise ReportedError(
            "unknown_target",
            f"The target '{target}' is not a revision id, branch label or symbol of the script "
            f"directory '{script.dir}'; use {_ABSOLUTE}.",
            revision=target,
        ) from exc
    return sorted(revision.revision for revision in found if revision is not None)


def unknown_heads(script: Any, heads: Sequence[str]) -> list[str]:
    ids = _all_ids(script)
    return sorted(head for head in heads if head not in ids)


def check_known(script: Any, heads: Sequence[str]) -> None:
    unknown = unknown_heads(script, heads)
    if unknown:
        raise ReportedError(
            "unknown_database_revision",
            f"The database is at {quoted(unknown)}, which the script directory '{script.dir}' "
            "does not contain: the database is ahead of or diverged from these migration files. "
            "Deploy the matching migration files, or stamp the database to a revision they "
            "contain.",
            heads=heads,
        )


def check_exact(script: Any, exact: Sequence[str]) -> None:
    """Refuse exact revision ids the script directory no longer contains."""
    missing = sorted(revision for revision in exact if not _known(script, revision))
    if missing:
        raise ReportedError(
            "unknown_target",
            f"The revision ids {quoted(missing)} this apply was planned to reach are not in the "
            f"script directory '{script.dir}'; plan again.",
            revision=missing[0],
        )


def revision_problem(exc: BaseException) -> str:
    """Word a revision walk's failure by its class, with the values in quotes."""
    from alembic.script.revision import MultipleHeads, RangeNotAncestorError, ResolutionError

    if isinstance(exc, MultipleHeads):
        return f"'{exc.argument}' names several heads ({quoted(sorted(exc.heads))})"
    if isinstance(exc, RangeNotAncestorError):
        return f"{_named(exc.lower)} is not an ancestor of {_named(exc.upper)}"
    if isinstance(exc, ResolutionError):
        return f"no revision or branch is named '{exc.argument}'"
    return error_text(exc)


def _named(revisions: Any) -> str:
    return quoted(_tuple(revisions) or ("base",))


def upgrade_steps(script: Any, destination: Destination, current: Sequence[str]) -> list[Any]:
    """Return the migrations an upgrade from ``current`` to ``destination`` runs, in order.

    A tuple destination is taken as it is: nothing beyond those revisions runs, whatever
    the script directory's heads are now.
    """
    from alembic.runtime.migration import MigrationStep

    walk = script.revision_map.iterate_revisions(destination, tuple(current), implicit_base=True)
    return [
        MigrationStep.upgrade_from_script(script.revision_map, revision)
        for revision in reversed(list(walk))
    ]


def downgrade_steps(script: Any, destination: Destination, current: Sequence[str]) -> list[Any]:
    """Return the migrations a downgrade from ``current`` to ``destination`` runs, in order.

    Alembic's downgrade walk takes a single target, so a tuple destination is reached one
    revision after the other, each walk starting where the previous one leaves the heads.
    """
    from alembic.runtime.migration import MigrationStep

    if not isinstance(destination, str):
        steps: list[Any] = []
        heads = list(current)
        for revision in destination:
            more = downgrade_steps(script, revision, heads)
            steps += more
            heads = heads_after_steps(heads, more)
        return steps
    walk = script.revision_map.iterate_revisions(
        tuple(current), destination, select_for_downgrade=True
    )
    return [MigrationStep.downgrade_from_script(script.revision_map, revision) for revision in walk]


def steps_to(script: Any, verb: str, destination: Destination, current: Sequence[str]) -> list[Any]:
    """Return the migrations ``verb`` (``upgrade`` or ``downgrade``) runs from ``current``."""
    if verb == "downgrade":
        return downgrade_steps(script, destination, current)
    return upgrade_steps(script, destination, current)


def plan(script: Any, target: str, current: Sequence[str]) -> tuple[str, list[Any]]:
    """Return the direction and the steps that move ``current`` to ``target``.

    An upgrade is preferred; a downgrade is reported only when nothing is left to upgrade.
    Alembic cannot downgrade to some targets at all (``heads``, another branch): then the
    database is at the target as far as any downgrade could tell.
    """
    from alembic.script.revision import RevisionError
    from alembic.util import CommandError

    check_known(script, current)
    exact = target in _SYMBOLS or target in _all_ids(script)
    if exact and sorted(current) == resolve(script, target):
        return "none", []  # at the target: nothing to run either way
    try:
        steps = upgrade_steps(script, target, current)
    except (RevisionError, CommandError) as exc:
        raise ReportedError(
            "target",
            f"Alembic cannot move the database from {quoted(current) or 'base'} to "
            f"'{target}': {revision_problem(exc)}",
            heads=current,
        ) from exc
    if steps:
        return "upgrade", steps
    try:
        steps = downgrade_steps(script, target, current)
    except Exception:
        steps = []
    return ("downgrade", steps) if steps else ("none", [])


def _ancestry(script: Any, revisions: Sequence[str]) -> set[str]:
    """Return the revisions and all their ancestors (ids the scripts lack are left out)."""
    seen: set[str] = set()
    stack = list(revisions)
    while stack:
        revision = _revision(script, stack.pop())
        if revision is None or revision.revision in seen:
            continue
        seen.add(revision.revision)
        stack.extend(_tuple(revision.down_revision))
    return seen


def _revision(script: Any, revision_id: str) -> Any:
    try:
        return script.revision_map.get_revision(revision_id)
    except Exception:  # an id the scripts lack
        return None


def _known(script: Any, revision_id: str) -> bool:
    return _revision(script, revision_id) is not None


def related_heads(script: Any, target: Sequence[str], heads: Sequence[str]) -> list[str]:
    """Return the heads on the target's branches: ancestors or descendants of a target revision."""
    lineage = _ancestry(script, target)
    return [h for h in heads if h in lineage or bool(set(target) & _ancestry(script, [h]))]


def owned_heads(
    script: Any, target: Sequence[str], exact: Sequence[str], current: Sequence[str]
) -> tuple[str, ...]:
    """Return the exact heads a move toward ``target`` is responsible for, from ``current``.

    Heads on the target's branches, and heads below the database's heads on those branches
    (a downgrade through a merge leaves the merged branch there). The rest are other branches'
    heads that the plan carried along from other resources' moves: those resources run them.
    """
    below = _ancestry(script, related_heads(script, target, current))
    related = set(related_heads(script, target, exact))
    return tuple(h for h in exact if h in related or h in below) or tuple(exact)


def same_on_target_lineage(
    script: Any, target: Sequence[str], before: Sequence[str], after: Sequence[str]
) -> bool:
    """Whether two sets of heads differ only in heads unrelated to the target revisions.

    A head is related when it is a target revision's ancestor or descendant: the rest belong
    to other branches, which other resources move.
    """
    return set(related_heads(script, target, before)) == set(related_heads(script, target, after))


def heads_after_stamp(script: Any, target: str, current: Sequence[str]) -> list[str]:
    """Return the heads stamping ``target`` leaves: the target, plus unrelated branches' heads.

    A current head that is neither an ancestor nor a descendant of a target revision belongs
    to another branch and is kept; ``base`` clears the table. ``alembic stamp`` of several
    heads can drop such a head (it pairs every current head with each target revision), so
    the apply stamps exactly this set (see ``op_stamp``) instead of trusting that bookkeeping.
    """
    resolved = resolve(script, target)
    if not resolved:
        return []
    related = _ancestry(script, resolved)
    kept = {
        head
        for head in current
        if _known(script, head)
        and head not in related
        and not set(resolved) & _ancestry(script, [head])
    }
    chosen = set(resolved) | kept
    below: set[str] = set()
    for revision in chosen:
        parents = _tuple(script.revision_map.get_revision(revision).down_revision)
        below |= _ancestry(script, parents)
    return sorted(chosen - below)


def describe(script: Any) -> Result:
    revisions = list(script.walk_revisions())
    revisions.reverse()
    return {
        "heads": sorted(script.get_heads()),
        "bases": sorted(script.get_bases()),
        "branch_labels": labels(script),
        "revisions": [
            {
                "revision": r.revision,
                "down_revisions": list(_tuple(r.down_revision)),
                "branch_labels": sorted(r.branch_labels),
                "depends_on": list(_tuple(r.dependencies)),
                "message": r.doc or "",
                "is_head": bool(r.is_head),
                "is_base": bool(r.is_base),
                "is_branch_point": bool(r.is_branch_point),
                "is_merge_point": bool(r.is_merge_point),
            }
            for r in revisions
        ],
    }
