"""cty types as Terraform writes them in schemas: JSON type specifications.

A type is the JSON value of its specification: ``"string"``, ``"number"``, ``"bool"``,
``"dynamic"``, ``["list", T]``, ``["set", T]``, ``["map", T]``, ``["object", {name: T}]`` (an
optional third element listing optional attributes is accepted and dropped) and
``["tuple", [T, ...]]``. This module checks and prints such specifications; it never looks at
values.
"""

from __future__ import annotations

import json
from typing import Any, TypeAlias

from alembic_provider.cty.errors import CtyDecodeError, CtyEncodeError, CtyError

__all__ = ["CtyType", "describe", "normalize_type", "parse_type", "type_json"]

CtyType: TypeAlias = str | list[Any]

PRIMITIVES = frozenset({"string", "number", "bool"})
COLLECTIONS = frozenset({"list", "set", "map"})
_NAMES = "'string', 'number', 'bool' or 'dynamic'"
_KINDS = "'list', 'set', 'map', 'object' or 'tuple'"
_SHAPES = {
    "list": '["list", TYPE]',
    "set": '["set", TYPE]',
    "map": '["map", TYPE]',
    "object": '["object", {"NAME": TYPE, ...}]',
    "tuple": '["tuple", [TYPE, ...]]',
}
_SHOW_LIMIT = 80


def parse_type(spec: bytes | str) -> CtyType:
    """Read a JSON type specification, such as the ``type`` field of a schema attribute.

    :raises CtyDecodeError: the text is not JSON or not a valid type specification.
    """
    try:
        loaded = json.loads(spec)
    except (ValueError, RecursionError) as exc:
        raise CtyDecodeError(f"Invalid type specification: the text is not JSON ({exc}).") from None
    return normalize_type(loaded, CtyDecodeError)


def type_json(ty: CtyType) -> bytes:
    """Write ``ty`` as compact JSON, attribute names sorted, as the protocol's schema wants.

    :raises CtyEncodeError: ``ty`` is not a valid type specification.
    """
    normal = normalize_type(ty, CtyEncodeError)
    text = json.dumps(normal, separators=(",", ":"), sort_keys=True, ensure_ascii=False)
    return text.encode("utf-8")


def normalize_type(spec: Any, error: type[CtyError] = CtyError) -> CtyType:
    """Check ``spec`` and return a fresh copy without optional-attribute lists.

    :param error: the exception class to raise, so callers report in their own direction.
    """
    if isinstance(spec, str):
        if spec in PRIMITIVES or spec == "dynamic":
            return spec
        raise error(_invalid(spec, f"'{spec}' is not a type name; use {_NAMES}"))
    if not isinstance(spec, list) or not spec:
        raise error(
            _invalid(spec, f"a type is a name such as 'string' or a list such as {_SHAPES['list']}")
        )
    kind = spec[0]
    if not isinstance(kind, str) or kind not in _SHAPES:
        raise error(_invalid(spec, f"the first element must be a type kind: {_KINDS}"))
    if kind in COLLECTIONS:
        if len(spec) != 2:
            raise error(_invalid(spec, f"a '{kind}' type is written as {_SHAPES[kind]}"))
        return [kind, normalize_type(spec[1], error)]
    if kind == "object":
        attrs = spec[1] if len(spec) in (2, 3) else None
        optional = spec[2] if len(spec) == 3 else []
        if (
            not isinstance(attrs, dict)
            or not _is_str_list(list(attrs))
            or not _is_str_list(optional)
        ):
            raise error(_invalid(spec, f"an 'object' type is written as {_SHAPES['object']}"))
        return ["object", {name: normalize_type(t, error) for name, t in attrs.items()}]
    elements = spec[1] if len(spec) == 2 else None
    if not isinstance(elements, list):
        raise error(_invalid(spec, f"a 'tuple' type is written as {_SHAPES['tuple']}"))
    return ["tuple", [normalize_type(t, error) for t in elements]]


def describe(ty: CtyType) -> str:
    """Name a (valid) type for messages: ``list of string``, ``object``, ``tuple of 2 elements``."""
    if isinstance(ty, str):
        return ty
    kind = ty[0]
    if kind in COLLECTIONS:
        return f"{kind} of {describe(ty[1])}"
    if kind == "tuple":
        count = len(ty[1])
        return f"tuple of {count} element{'' if count == 1 else 's'}"
    return "object"


def _is_str_list(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(item, str) for item in value)


def _invalid(spec: Any, reason: str) -> str:
    return f"Invalid type specification '{_show(spec)}': {reason}."


def _show(spec: Any) -> str:
    try:
        text = json.dumps(spec, separators=(",", ":"), ensure_ascii=False)
    except (TypeError, ValueError):
        text = repr(spec)
    return text if len(text) <= _SHOW_LIMIT else text[: _SHOW_LIMIT - 3] + "..."
