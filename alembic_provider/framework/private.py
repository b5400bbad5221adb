"""Named keys in the private state Terraform keeps for the provider beside each resource.

Terraform stores a resource's private bytes without reading them and hands them back on the
next read, plan and apply; they are ours alone but not ours to trust (a state file may be old,
written by the Go provider, or edited). So every key is declared once as a :class:`PrivateKey`
with its own encoding and a default for when it is absent or unreadable, and
:class:`PrivateState` keeps the keys it does not know, so a provider that writes fewer keys
loses nothing a newer one wrote. Never does I/O.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

__all__ = ["PrivateKey", "PrivateState", "flag", "text"]

T = TypeVar("T")

#: A value :func:`json.dumps` writes: None, bool, int, float, str, lists and string-keyed dicts.
JSONValue = Any

#: What a decoder raises for a value it cannot read; the key's default stands in for it.
_UNREADABLE = (ValueError, TypeError, KeyError)


@dataclass(frozen=True)
class PrivateKey(Generic[T]):
    """One entry of the private state: its name, its encoding and its default.

    :param decode: turns the stored JSON value back into ``T``; it raises ``ValueError``,
        ``TypeError`` or ``KeyError`` for a value it cannot read, and the default is used.
    """

    name: str
    default: T
    encode: Callable[[T], JSONValue]
    decode: Callable[[JSONValue], T]


def _same(value: T) -> T:
    return value


def _exactly_bool(value: JSONValue) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"expected true or false, found {value!r}")
    return value


def _str_or_none(value: JSONValue) -> str | None:
    if value is not None and not isinstance(value, str):
        raise TypeError(f"expected a string or null, found {value!r}")
    return value


def flag(name: str) -> PrivateKey[bool]:
    """A key that is ``true`` or ``false``; absent or anything else reads as ``False``."""
    return PrivateKey(name, False, _same, _exactly_bool)


def text(name: str) -> PrivateKey[str | None]:
    """A key holding a string or null; absent or anything else reads as ``None``."""
    return PrivateKey(name, None, _same, _str_or_none)


class PrivateState:
    """The decoded private bytes of one resource: a JSON object read and written by key.

    Empty bytes (a resource nothing wrote private state for) and bytes that are not a JSON
    object both decode to no keys; :attr:`readable` tells the two apart.
    """

    def __init__(
        self, values: dict[str, JSONValue] | None = None, *, readable: bool = True
    ) -> None:
        self._values: dict[str, JSONValue] = dict(values or {})
        #: False when the raw bytes were not empty and not a JSON object.
        self.readable = readable

    @classmethod
    def decode(cls, raw: bytes) -> PrivateState:
        """Read the ``private`` bytes Terraform round-trips; never raises."""
        if not raw:
            return cls()
        try:
            values = json.loads(raw)
        except (ValueError, RecursionError):  # not JSON, not UTF-8, or nested past reading
            return cls(readable=False)
        if not isinstance(values, dict):
            return cls(readable=False)
        return cls(values)

    def encode(self) -> bytes:
        """Return compact JSON with sorted keys, so the same state is always the same bytes."""
        return json.dumps(self._values, separators=(",", ":"), sort_keys=True).encode()

    def get(self, key: PrivateKey[T]) -> T:
        """Return the value of ``key``, or its default when absent or unreadable."""
        if key.name not in self._values:
            return key.default
        try:
            return key.decode(self._values[key.name])
        except _UNREADABLE:
            return key.default

    def set(self, key: PrivateKey[T], value: T) -> None:
        """Store ``value`` under ``key``, replacing what was there."""
        self._values[key.name] = key.encode(value)

    def remove(self, key: PrivateKey[Any]) -> None:
        """Drop ``key``; a later :meth:`get` answers its default."""
        self._values.pop(key.name, None)

    def __contains__(self, key: PrivateKey[Any]) -> bool:
        return key.name in self._values

    def __iter__(self) -> Iterator[str]:
        """The names stored, known to this provider or not."""
        return iter(sorted(self._values))

    def __len__(self) -> int:
        return len(self._values)

    def __repr__(self) -> str:
        return f"PrivateState.decode({self.encode()!r})"
