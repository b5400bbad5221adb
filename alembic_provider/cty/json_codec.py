"""The JSON form of cty values: ``DynamicValue.json`` and Terraform's ``RawState.json``.

Numbers are read exactly (integral ones as ``int``, others as ``Decimal``) and written in plain
decimal notation, never through a float. JSON has no unknown values, so encoding one is an error.
A ``dynamic`` value is a ``{"value": ..., "type": ...}`` object. Works on bytes only: never
imports protobuf.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from alembic_provider.cty.ctytype import CtyType, describe, normalize_type, type_json
from alembic_provider.cty.errors import (
    CtyDecodeError,
    CtyEncodeError,
    CtyError,
    attr_step,
    clause,
    index_step,
    key_step,
    mismatch,
    object_mismatch,
    where,
)
from alembic_provider.cty.numeric import (
    integral_or_decimal,
    json_number_text,
    number_from_text,
    python_kind,
)
from alembic_provider.cty.shape import mapping_entries, sequence_entries, typed_type
from alembic_provider.cty.values import Typed, Unknown

__all__ = ["decode_json", "encode_json"]

_DYNAMIC_IN = 'a dynamic value as a {"type": ..., "value": ...} object'
_DYNAMIC_OUT = "a dynamic value (Typed or None)"


def decode_json(data: bytes | str, ty: CtyType, *, missing_as_null: bool = False) -> Any:
    """Read JSON ``data`` as a value of type ``ty``.

    :param missing_as_null: read an object attribute absent from the JSON as null instead of
        failing, as Terraform's own JSON reader does; useful for state written by an older schema.
    :raises CtyDecodeError: the text is not JSON or does not fit ``ty``.
    """
    ty = normalize_type(ty, CtyDecodeError)
    try:
        raw = json.loads(data, parse_float=Decimal, parse_constant=_reject_constant)
    except (ValueError, RecursionError) as exc:
        raise CtyDecodeError(f"Cannot decode the JSON data: {clause(exc)}.") from None
    return _Decoder(missing_as_null).decode(raw, ty, "")


def encode_json(value: Any, ty: CtyType) -> bytes:
    """Write ``value`` as JSON of type ``ty``.

    :raises CtyEncodeError: ``value`` does not fit ``ty`` or holds an unknown value.
    """
    ty = normalize_type(ty, CtyEncodeError)
    parts: list[bytes] = []
    _encode(parts, value, ty, "")
    return b"".join(parts)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"'{name}' is not a number cty accepts")


class _Decoder:
    """Walk loaded JSON along a type, checking and converting as it goes."""

    def __init__(self, missing_as_null: bool) -> None:
        self.missing_as_null = missing_as_null

    def decode(self, raw: Any, ty: CtyType, path: str) -> Any:
        if raw is None:
            return None
        if ty == "dynamic":
            return self.decode_dynamic(raw, path)
        if isinstance(ty, str):
            return _decode_primitive(raw, ty, path)
        kind = ty[0]
        if kind in ("list", "set", "tuple"):
            if not isinstance(raw, list) or (kind == "tuple" and len(raw) != len(ty[1])):
                raise _decode_mismatch(path, ty, raw)
            if kind == "tuple":
                pairs = enumerate(zip(raw, ty[1], strict=True))
                return [self.decode(r, t, path + index_step(i)) for i, (r, t) in pairs]
            return [self.decode(r, ty[1], path + index_step(i)) for i, r in enumerate(raw)]
        if not isinstance(raw, dict):
            raise _decode_mismatch(path, ty, raw)
        if kind == "map":
            return {k: self.decode(v, ty[1], path + key_step(k)) for k, v in raw.items()}
        attrs: dict[str, CtyType] = ty[1]
        missing = set() if self.missing_as_null else attrs.keys() - raw.keys()
        unexpected = raw.keys() - attrs.keys()
        if missing or unexpected:
            raise CtyDecodeError(object_mismatch("decode", path, missing, unexpected, ""))
        return {
            k: self.decode(raw.get(k), attr_ty, path + attr_step(k)) for k, attr_ty in attrs.items()
        }

    def decode_dynamic(self, raw: Any, path: str) -> Typed:
        if not isinstance(raw, dict) or raw.keys() != {"type", "value"}:
            raise CtyDecodeError(mismatch("decode", path, _DYNAMIC_IN, _kind(raw)))
        try:
            ty = normalize_type(raw["type"], CtyDecodeError)
        except CtyError as exc:
            raise CtyDecodeError(f"Cannot decode the value at {where(path)}: {exc}") from None
        return Typed(ty, self.decode(raw["value"], ty, path))


def _decode_primitive(raw: Any, ty: str, path: str) -> Any:
    if ty == "string" and isinstance(raw, str):
        return raw
    if ty == "bool" and isinstance(raw, bool):
        return raw
    if ty == "number" and not isinstance(raw, bool):
        if isinstance(raw, int):
            return raw
        if isinstance(raw, Decimal):
            return integral_or_decimal(raw)
        if isinstance(raw, str):
            # Terraform's own reader takes a number written as a string, too.
            number = number_from_text(raw)
            if number is not None:
                return number
            raise CtyDecodeError(
                mismatch("decode", path, "number", "a JSON string that is not a number")
            )
    raise _decode_mismatch(path, ty, raw)


def _decode_mismatch(path: str, ty: CtyType, raw: Any) -> CtyDecodeError:
    return CtyDecodeError(mismatch("decode", path, describe(ty), _kind(raw)))


def _kind(raw: Any) -> str:
    """Name what the JSON held, without showing the value."""
    if isinstance(raw, bool):
        return "a JSON boolean"
    if isinstance(raw, int | Decimal):
        return "a JSON number"
    if isinstance(raw, str):
        return "a JSON string"
    if isinstance(raw, list):
        return f"a JSON array of {len(raw)} element{'' if len(raw) == 1 else 's'}"
    if raw is None:
        return "JSON null"
    return "a JSON object"


def _encode(parts: list[bytes], value: Any, ty: CtyType, path: str) -> None:
    if isinstance(value, Unknown):
        raise CtyEncodeError(
            f"Cannot encode the value at {where(path)} as JSON: it is unknown, and JSON cannot "
            "carry unknown values. Encode it as msgpack instead."
        )
    if ty == "dynamic":
        if value is None:
            parts.append(b"null")
            return
        concrete = typed_type(value, path, _DYNAMIC_OUT)
        parts.append(b'{"value":')
        _encode(parts, value.value, concrete, path)
        parts.append(b',"type":' + type_json(concrete) + b"}")
    elif value is None:
        parts.append(b"null")
    elif isinstance(ty, str):
        parts.append(_primitive(value, ty, path))
    elif ty[0] in ("map", "object"):
        parts.append(b"{")
        for position, (key, item, item_ty, step) in enumerate(mapping_entries(value, ty, path)):
            parts.append(b"," if position else b"")
            parts.append(_string(key, path + step) + b":")
            _encode(parts, item, item_ty, path + step)
        parts.append(b"}")
    else:
        parts.append(b"[")
        for position, item, item_ty, step in sequence_entries(value, ty, path):
            parts.append(b"," if position else b"")
            _encode(parts, item, item_ty, path + step)
        parts.append(b"]")


def _primitive(value: Any, ty: str, path: str) -> bytes:
    if ty == "number":
        return json_number_text(value, path).encode("ascii")
    if ty == "bool" and isinstance(value, bool):
        return b"true" if value else b"false"
    if ty == "string" and isinstance(value, str):
        return _string(value, path)
    raise CtyEncodeError(mismatch("encode", path, describe(ty), python_kind(value)))


def _string(value: str, path: str) -> bytes:
    try:
        return json.dumps(value, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        raise CtyEncodeError(
            mismatch("encode", path, "string", "a str that is not valid Unicode")
        ) from None
