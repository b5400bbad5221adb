"""Plain data of the resource lifecycle: decisions, actions, the facts triggers carry.

Kept apart from ``statemachine.resource`` so that module reads as the machine: states, table,
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
    "WRITES",
    "Action",
    "Decision",
    "Facts",
    "Heads",
    "Kind",
    "Verb",
    "as_heads",
    "need",
    "quote",
]

Kind = Literal["upgrade", "stamp"]
Heads = tuple[str, ...]
"""Revision ids, sorted; ``()`` is an empty version table (alembic's ``base``)."""
Verb = Literal["upgrade", "downgrade", "stamp"]


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
    """One write the handler must run during apply: the alembic verb and the concrete target."""

    verb: Verb
    target: Heads


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


@dataclass(frozen=True)
class Facts:
    """Every fact a trigger may carry, with the defaults the trigger declarations use."""

    known: bool = True
    error: str | None = None
    error_summary: str | None = None
    db_heads: Heads | None = None
    #: Where the plan starts when other resources of the plan move the database first.
    start_heads: Heads | None = None
    target_heads: Heads | None = None
    downgrades: tuple[str, ...] = ()
    allow_downgrade: bool = False
    config_changed: bool = False
    target_changed: bool = False
    recorded_by_refresh: bool = False
    reached: bool = False
    replacing: bool = False
    equal_to_prior: bool = False
    heads_reached: Heads | None = None
    message: str = ""

    def __post_init__(self) -> None:
        for name in ("db_heads", "start_heads", "target_heads", "heads_reached"):
            object.__setattr__(self, name, as_heads(getattr(self, name)))
        if isinstance(self.downgrades, str):
            raise TypeError(
                f"Downgrades are a list of revision ids, not the string '{self.downgrades}'."
            )
        object.__setattr__(self, "downgrades", tuple(self.downgrades))

    @property
    def from_heads(self) -> Heads | None:
        """The heads a plan starts from: ``start_heads`` when given, else the database's."""
        return self.db_heads if self.start_heads is None else self.start_heads

    @classmethod
    def of(cls, event: EventData) -> Facts:
        return cls(**event.kwargs)
