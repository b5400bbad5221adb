"""Shape checks both encoders share: does this Python value have the form the type wants?

Each function returns the container's parts in wire order, paired with their types and path
steps, or raises :class:`CtyEncodeError`. Nothing here writes bytes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from alembic_provider.cty.ctytype import CtyType, describe, normalize_type
from alembic_provider.cty.errors import (
    CtyEncodeError,
    CtyError,
    attr_step,
    index_step,
    key_step,
    mismatch,
    object_mismatch,
    where,
)
from alembic_provider.cty.numeric import python_kind
from alembic_provider.cty.values import Typed

__all__ = ["Entry", "mapping_entries", "sequence_entries", "typed_type"]

Entry = tuple[Any, Any, CtyType, str]
"""A key (or index), its value, the value's type and the path step to it."""

_OBJECT_REMEDY = "Give every attribute of the object type, None for null, and no others."


def sequence_entries(value: Any, ty: list[Any], path: str) -> list[Entry]:
    """Check a list, set or tuple value and list its elements with their types."""
    is_sequence = isinstance(value, list | tuple)
    if not is_sequence and not (ty[0] == "set" and isinstance(value, set | frozenset)):
        raise CtyEncodeError(mismatch("encode", path, describe(ty), python_kind(value)))
    items: list[Any] = list(value)
    if ty[0] != "tuple":
        return [(i, item, ty[1], index_step(i)) for i, item in enumerate(items)]
    if len(items) != len(ty[1]):
        found = f"{len(items)} element{'' if len(items) == 1 else 's'}"
        raise CtyEncodeError(mismatch("encode", path, describe(ty), found))
    pairs = zip(items, ty[1], strict=True)
    return [(i, item, item_ty, index_step(i)) for i, (item, item_ty) in enumerate(pairs)]


def mapping_entries(value: Any, ty: list[Any], path: str) -> list[Entry]:
    """Check a map or object value and list its entries, sorted by key as cty writes them."""
    if not isinstance(value, Mapping):
        raise CtyEncodeError(mismatch("encode", path, describe(ty), python_kind(value)))
    for key in value:
        if not isinstance(key, str):
            found = f"a key of {python_kind(key)}"
            raise CtyEncodeError(mismatch("encode", path, describe(ty), found))
    if ty[0] == "map":
        return [(key, value[key], ty[1], key_step(key)) for key in sorted(value)]
    attrs: dict[str, CtyType] = ty[1]
    if value.keys() != attrs.keys():
        missing, unexpected = attrs.keys() - value.keys(), value.keys() - attrs.keys()
        raise CtyEncodeError(object_mismatch("encode", path, missing, unexpected, _OBJECT_REMEDY))
    return [(name, value[name], attrs[name], attr_step(name)) for name in sorted(attrs)]


def typed_type(value: Any, path: str, expected: str) -> CtyType:
    """Check a known value of a ``dynamic`` attribute and return its concrete type."""
    if not isinstance(value, Typed):
        raise CtyEncodeError(mismatch("encode", path, expected, python_kind(value)))
    try:
        return normalize_type(value.type, CtyEncodeError)
    except CtyError as exc:
        raise CtyEncodeError(f"Cannot encode the value at {where(path)}: {exc}") from None
