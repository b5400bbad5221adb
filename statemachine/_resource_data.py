"""Plain data of the resource lifecycle: decisions, actions, facts, and the outcome of a step.

Kept apart from ``statemachine.resource`` so that module reads as the machine: states, tables,
model. Never does I/O, never reads a clock; standard library only.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from transitions.core import EventData

__all__ = [
    "NOT_THERE_YET",
    "UNREADABLE",
    "WRITES",
    "Action",
    "Decision",
    "Facts",
    "Heads",
    "Kind",
    "Note",
    "Outcome",
    "RevisionReview",
    "Verb",
    "as_heads",
    "need",
    "quote",
]

Kind = Literal["upgrade", "stamp"]
Heads = tuple[str, ...]
"""Revision ids, sorted; ``()`` is an empty version table (alembic's ``base``)."""
Verb = Literal["upgrade", "downgrade", "stamp"]

#: Failure kinds that mean "these settings do not reach the database": env.py failed, no server
#: answered, the server refused, TLS failed, the interpreter lacks a driver or another package,
#: or env.py still has the placeholder URL.
UNREADABLE = frozenset(
    {
        "env",
        "database",
        "host_unreachable",
        "database_missing",
        "login_refused",
        "tls",
        "driver_missing",
        "environment",
        "placeholder_url",
    }
)
#: Failure kinds of a database that may not exist yet: another resource of the same apply may
#: start its server or create it. A login the server refused, a TLS failure or a missing driver
#: are not: they stay wrong whatever the apply creates.
NOT_THERE_YET = frozenset({"host_unreachable", "database_missing"})


class Decision(enum.Enum):
    """What the last plan decided; the value is the wording used in messages."""

    NOOP = "no-op"
    UPGRADE = "upgrade"
    DOWNGRADE = "downgrade"
    STAMP = "stamp"
    UNKNOWN = "unknown"
    ERROR = "error"
    FORGET = "forget"


WRITES: dict[Decision, Verb] = {
    Decision.UPGRADE: "upgrade",
    Decision.DOWNGRADE: "downgrade",
    Decision.STAMP: "stamp",
}


@dataclass(frozen=True)
class Action:
    """One write the handler must run during apply: the alembic verb and the exact heads."""

    verb: Verb
    target: Heads


@dataclass(frozen=True)
class Note:
    """A diagnostic the handler must report, worded by the machine."""

    severity: Literal["error", "warning"]
    summary: str
    detail: str
    attribute: tuple[str, ...] = ()


@dataclass(frozen=True)
class Outcome:
    """Everything one step decided, for the handler to carry out as given.

    :param actions: the writes to run, in order, each toward its exact heads.
    :param notes: the diagnostics to report.
    :param exists: whether Terraform keeps an object after this step (false after a refused
        create, a destroy, a failed import, or a plan that could not be made).
    :param unknown: plan every computed value as known only after apply.
    :param revisions: the heads to plan or record; None leaves the values as they are.
    :param target_revisions: the target's revision ids to plan or record; None leaves them.
    :param steps: list the migrations the plan runs (``pending``, and ``sql`` when previewed).
    :param moves_to: the heads a plan that writes leaves the database at, for the plans of
        other resources on the same database; None when it writes nothing.
    :param refreshed: the recorded heads come from this refresh.
    :param revisions_unknown: plan the database's heads (``revision``, ``revisions``) as known
        only after apply: other resources may move other branches of the database first.
    :param starts_from: where a plan found the database (one that writes, or a create or update
        that writes nothing), for the apply to ask which branches moved since; None otherwise.
    """

    actions: tuple[Action, ...] = ()
    notes: tuple[Note, ...] = ()
    exists: bool = True
    unknown: bool = False
    revisions: Heads | None = None
    target_revisions: Heads | None = None
    steps: bool = False
    moves_to: Heads | None = None
    refreshed: bool = False
    revisions_unknown: bool = False
    starts_from: Heads | None = None

    @property
    def failed(self) -> bool:
        """An error note says the step did not do what was asked."""
        return any(note.severity == "error" for note in self.notes)


@dataclass(frozen=True)
class RevisionReview:
    """What the review of one pending revision found, one worded line per finding.

    :param findings: each finding as one line of plain text, in operation order.
    :param waived: the codes a comment in the revision file waives, each with its reason in
        parentheses when one is given.
    :param blocked: the findings the review policy's ``block`` names, worded like ``findings``
        (and not repeated there).
    """

    revision: str
    message: str
    findings: tuple[str, ...]
    waived: tuple[str, ...] = ()
    blocked: tuple[str, ...] = ()


def as_heads(value: Iterable[str] | None) -> Heads | None:
    """Normalise revision ids to a sorted tuple; None stays None (not observed)."""
    if value is None:
        return None
    if isinstance(value, str):
        raise TypeError(f"Heads are a collection of revision ids, not the string '{value}'.")
    return tuple(sorted(set(value)))


def need(value: Heads | None, name: str) -> Heads:
    """Return a fact the current edge cannot do without.

    :raises TypeError: when it was not given.
    """
    if value is None:
        raise TypeError(f"The fact '{name}' is required here but was not given.")
    return value


def quote(heads: Heads | None) -> str:
    """Render heads for a message: each id in single quotes, ``'base'`` when empty."""
    if heads is None:
        return "'unknown'"
    return ", ".join(f"'{head}'" for head in heads) if heads else "'base'"


_HEADS = (
    "db_heads",
    "start_heads",
    "target_heads",
    "stamp_heads",
    "target_revisions",
    "recorded_heads",
    "recorded_target_revisions",
    "heads_reached",
)


@dataclass(frozen=True)
class Facts:
    """Every fact a trigger may carry, with the defaults the trigger declarations use."""

    known: bool = True
    #: Why a fact could not be established: the message, its heading, the whole diagnostic
    #: detail, and the kind of failure (``"database"``, ``"target"``, ``"env"`` ...).
    error: str | None = None
    error_summary: str | None = None
    error_detail: str | None = None
    error_kind: str | None = None
    error_attribute: tuple[str, ...] = ()
    #: The database's heads, read now.
    db_heads: Heads | None = None
    #: Where the plan starts when other resources of the plan move the database first.
    start_heads: Heads | None = None
    #: The heads running the migrations to the target leaves (Alembic's bookkeeping).
    target_heads: Heads | None = None
    #: The heads stamping the target leaves; ``target_heads`` when not given.
    stamp_heads: Heads | None = None
    #: The target resolved to revision ids.
    target_revisions: Heads | None = None
    #: What Terraform's state holds now (None: nothing usable).
    recorded_heads: Heads | None = None
    recorded_target_revisions: Heads | None = None
    downgrades: tuple[str, ...] = ()
    #: The revisions a downgrade undoes, each worded for a message.
    undone: tuple[str, ...] = ()
    allow_downgrade: bool = False
    target_changed: bool = False
    #: The state's heads were read with the settings the plan uses.
    same_connection: bool = True
    #: Other resources' planned moves take the database from the recorded heads to where it is.
    explained: bool = False
    #: The database differs from the recorded heads (or, at apply, from where the plan found it;
    #: after apply, from the heads the plan expected) only on branches other resources move.
    others_moved: bool = False
    #: The script directory has branches unrelated to the target, which other resources may
    #: move in the same apply, in any order.
    others_branches: bool = False
    #: Another resource of this plan cannot reach its database either.
    others_unreachable: bool = False
    reached: bool = False
    has_migrations: bool = True
    project_root: str = ""
    destroy_target: str | None = None
    #: Why ``destroy_target`` (``on_destroy``) names no revision of the script directory.
    destroy_error: str | None = None
    equal_to_prior: bool = False
    heads_reached: Heads | None = None
    message: str = ""
    unread: bool = False
    #: The review of each pending revision with findings, in the order they run.
    review: tuple[RevisionReview, ...] = ()
    #: Why the pending revisions could not be reviewed, when they could not.
    review_error: str | None = None
    #: Why the review could not read the sizes of the tables the migrations touch.
    review_sizes_error: str | None = None
    #: ``compare_models`` is on: the plan compares env.py's models with the database.
    compare_models: bool = False
    #: Each difference between the models and the database, worded.
    model_differences: tuple[str, ...] = ()
    #: env.py configures no ``target_metadata``, so there is nothing to compare.
    models_without_metadata: bool = False
    #: env.py asks autogenerate to compare server defaults too.
    model_server_defaults: bool = False
    #: Why the models could not be compared with the database, when they could not.
    model_diff_error: str | None = None

    def __post_init__(self) -> None:
        for name in _HEADS:
            object.__setattr__(self, name, as_heads(getattr(self, name)))
        if isinstance(self.review, str):
            raise TypeError(
                f"'review' is a list of revision reviews, not the string '{self.review}'."
            )
        object.__setattr__(self, "review", tuple(self.review))
        for name in ("downgrades", "undone", "error_attribute", "model_differences"):
            value = getattr(self, name)
            if isinstance(value, str):
                raise TypeError(f"'{name}' is a list of revision ids, not the string '{value}'.")
            object.__setattr__(self, name, tuple(value))
        if self.stamp_heads is None:
            object.__setattr__(self, "stamp_heads", self.target_heads)

    @property
    def from_heads(self) -> Heads | None:
        """The heads a plan starts from: ``start_heads`` when given, else the database's."""
        return self.db_heads if self.start_heads is None else self.start_heads

    @classmethod
    def of(cls, event: EventData) -> Facts:
        """The facts an event carries, read once per event however many guards ask."""
        facts = event.__dict__.get("_facts")
        if not isinstance(facts, Facts):
            facts = cls(**event.kwargs)
            event.__dict__["_facts"] = facts
        return facts
