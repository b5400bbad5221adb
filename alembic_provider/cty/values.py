"""Python stand-ins for the cty values that have no plain Python form.

``Unknown`` marks a value Terraform will only know during apply; it keeps the msgpack extension
code and payload it arrived with, so it goes back out byte for byte (Terraform insists that a
refined unknown be echoed with the same refinements). ``Typed`` carries a value of a
``dynamic`` attribute together with its concrete type. Nothing here reads or writes whole values.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import msgpack

from alembic_provider.cty.ctytype import CtyType
from alembic_provider.cty.numeric import is_number, number_from_text

__all__ = ["REFINED_UNKNOWN_CODE", "UNKNOWN", "Refinement", "Typed", "Unknown", "contains_unknown"]

REFINED_UNKNOWN_CODE = 12
"""The msgpack extension code whose payload is a map of refinements."""


class Refinement(enum.IntEnum):
    """Keys of a refined unknown's payload (Terraform's object wire format)."""

    NULLNESS = 1
    """``False``: the value is certainly not null."""
    STRING_PREFIX = 2
    """The string the final value starts with."""
    NUMBER_MIN = 3
    """``(bound, inclusive)`` lower bound of a number."""
    NUMBER_MAX = 4
    """``(bound, inclusive)`` upper bound of a number."""
    LENGTH_MIN = 5
    """Inclusive lower bound of a collection's length."""
    LENGTH_MAX = 6
    """Inclusive upper bound of a collection's length."""


@dataclass(frozen=True, slots=True)
class Unknown:
    """A value that is not known yet, as Terraform sent it (or plainly unknown by default).

    Equal and hashed by extension code and payload. ``refinements`` is read from a code-12
    payload on a best-effort basis: keys and entries it does not understand are left out, and a
    malformed payload simply gives no refinements.
    """

    code: int = 0
    payload: bytes = b"\x00"
    refinements: Mapping[int, Any] = field(init=False, compare=False, hash=False, repr=False)

    def __post_init__(self) -> None:
        if isinstance(self.code, bool) or not isinstance(self.code, int):
            raise TypeError(f"An extension code must be an int, not {type(self.code).__name__}.")
        if not -128 <= self.code <= 127:
            raise ValueError(f"The extension code '{self.code}' is outside -128..127.")
        if not isinstance(self.payload, bytes):
            raise TypeError(
                f"An extension payload must be bytes, not {type(self.payload).__name__}."
            )
        parsed = _parse_refinements(self.payload) if self.code == REFINED_UNKNOWN_CODE else {}
        object.__setattr__(self, "refinements", MappingProxyType(parsed))

    def __reduce__(self) -> tuple[type[Unknown], tuple[int, bytes]]:
        """Copy and pickle by code and payload; the refinements view is derived from them."""
        return (Unknown, (self.code, self.payload))


UNKNOWN = Unknown()
"""The plain unknown value, written ``d4 00 00``."""


@dataclass(frozen=True)
class Typed:
    """A value of a ``dynamic`` attribute with the concrete type it was sent with."""

    type: CtyType
    value: Any


def contains_unknown(value: Any) -> bool:
    """Tell whether ``value`` is unknown or holds an unknown anywhere inside."""
    if isinstance(value, Unknown):
        return True
    if isinstance(value, Typed):
        return contains_unknown(value.value)
    if isinstance(value, dict):
        return any(contains_unknown(item) for item in value.values())
    if isinstance(value, list | tuple | set | frozenset):
        return any(contains_unknown(item) for item in value)
    return False


def _parse_refinements(payload: bytes) -> dict[int, Any]:
    unpacker = msgpack.Unpacker(raw=False, strict_map_key=False)
    unpacker.feed(payload)
    try:
        # Only the first object counts: bytes after the map are reserved for later use.
        raw = unpacker.unpack()
    except (ValueError, TypeError, msgpack.UnpackException):
        return {}
    if not isinstance(raw, dict):
        return {}
    parsed: dict[int, Any] = {}
    for key, value in raw.items():
        if isinstance(key, int) and not isinstance(key, bool) and key in _READERS:
            entry = _READERS[key](value)
            if entry is not None:
                parsed[key] = entry
    return parsed


def _read_nullness(value: Any) -> bool | None:
    return value if isinstance(value, bool) else None


def _read_prefix(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _read_length(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _read_bound(value: Any) -> tuple[Any, bool] | None:
    if not isinstance(value, list) or len(value) != 2 or not isinstance(value[1], bool):
        return None
    bound = number_from_text(value[0]) if isinstance(value[0], str) else value[0]
    if not is_number(bound):
        return None
    return (bound, value[1])


_READERS: dict[int, Callable[[Any], Any]] = {
    Refinement.NULLNESS: _read_nullness,
    Refinement.STRING_PREFIX: _read_prefix,
    Refinement.NUMBER_MIN: _read_bound,
    Refinement.NUMBER_MAX: _read_bound,
    Refinement.LENGTH_MIN: _read_length,
    Refinement.LENGTH_MAX: _read_length,
}
