"""Exceptions of the cty codec and the wording they share.

Hierarchy::

    ValueError
    └── CtyError             any codec failure
        ├── CtyDecodeError   bytes (or a type specification) that do not fit the type
        └── CtyEncodeError   a Python value that does not fit the type

Messages name the attribute path (``.pending[2].revision``), what the type expects and what kind
of thing was found. They never quote the offending value itself, since it may be sensitive.
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["CtyDecodeError", "CtyEncodeError", "CtyError"]


class CtyError(ValueError):
    """Raised when a value and a cty type do not fit together."""


class CtyDecodeError(CtyError):
    """Raised when bytes from Terraform cannot be read as a value of the given type."""


class CtyEncodeError(CtyError):
    """Raised when a Python value cannot be written as a value of the given type."""


def where(path: str) -> str:
    """Describe a location for a message: the path, or the top level when it is empty."""
    return path if path else "the top level"


def attr_step(name: str) -> str:
    """Return the path step for the attribute ``name``."""
    return f".{name}"


def key_step(key: str) -> str:
    """Return the path step for the map key ``key``, quoted like Terraform does."""
    escaped = key.replace("\\", "\\\\").replace('"', '\\"')
    return f'["{escaped}"]'


def index_step(index: int) -> str:
    """Return the path step for position ``index`` of a list, set or tuple."""
    return f"[{index}]"


def mismatch(verb: str, path: str, expected: str, found: str) -> str:
    """Word a "wrong kind of value" failure."""
    return f"Cannot {verb} the value at {where(path)}: expected {expected}, found {found}."


def object_mismatch(
    verb: str, path: str, missing: Iterable[str], unexpected: Iterable[str], remedy: str
) -> str:
    """Word an object whose attribute names differ from its type's."""
    parts = []
    for label, names in (("missing", sorted(missing)), ("unexpected", sorted(unexpected))):
        if names:
            noun = "attribute" if len(names) == 1 else "attributes"
            parts.append(f"{label} {noun} {', '.join(repr(n) for n in names)}")
    text = f"Cannot {verb} the object at {where(path)}: {'; '.join(parts)}."
    return f"{text} {remedy}" if remedy else text


def clause(exc: BaseException) -> str:
    """Turn a foreign exception into a clause that fits inside one of our sentences."""
    return str(exc).rstrip(".") or type(exc).__name__
