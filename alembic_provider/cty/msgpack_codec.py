"""The msgpack form of cty values, as Terraform puts it in ``DynamicValue.msgpack``.

Decoding checks the bytes against the type as it goes; encoding is strict about the Python value
(every object attribute present, nothing extra). Any msgpack extension is an unknown value and is
written back with the code and payload it came with. Works on bytes only: never imports protobuf.
"""

from __future__ import annotations

import math
from typing import Any

import msgpack

from alembic_provider.cty.ctytype import CtyType, describe, normalize_type, parse_type, type_json
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
from alembic_provider.cty.numeric import msgpack_number, number_from_text, python_kind
from alembic_provider.cty.shape import mapping_entries, sequence_entries, typed_type
from alembic_provider.cty.values import UNKNOWN, Typed, Unknown

__all__ = ["decode_msgpack", "encode_msgpack"]

_DYNAMIC_IN = "a dynamic value as a [type, value] array"
_DYNAMIC_OUT = "a dynamic value (Typed, None or Unknown)"


def decode_msgpack(data: bytes, ty: CtyType) -> Any:
    """Read msgpack ``data`` as a value of type ``ty``.

    :raises CtyDecodeError: the bytes are not msgpack or do not fit ``ty``.
    """
    ty = normalize_type(ty, CtyDecodeError)
    try:
        raw = msgpack.unpackb(data, raw=False, strict_map_key=False, ext_hook=_unknown)
    except (ValueError, TypeError, msgpack.UnpackException) as exc:
        raise CtyDecodeError(f"Cannot decode the msgpack data: {clause(exc)}.") from None
    return _decode(raw, ty, "")


def encode_msgpack(value: Any, ty: CtyType) -> bytes:
    """Write ``value`` as msgpack of type ``ty``.

    :raises CtyEncodeError: ``value`` does not fit ``ty``.
    """
    ty = normalize_type(ty, CtyEncodeError)
    packer = msgpack.Packer(autoreset=False, use_bin_type=True)
    _encode(packer, value, ty, "")
    return bytes(packer.bytes())


def _unknown(code: int, payload: bytes) -> Unknown:
    """Turn any extension into an unknown, reusing the singleton for the plain one."""
    unknown = Unknown(code, payload)
    return UNKNOWN if unknown == UNKNOWN else unknown


def _decode(raw: Any, ty: CtyType, path: str) -> Any:
    if isinstance(raw, Unknown):
        return raw
    if isinstance(raw, msgpack.Timestamp):
        # The one extension code msgpack decodes itself; it is still just an unknown here.
        return Unknown(-1, raw.to_bytes())
    if ty == "dynamic":
        return None if raw is None else _decode_dynamic(raw, path)
    if raw is None:
        return None
    if isinstance(ty, str):
        return _decode_primitive(raw, ty, path)
    kind = ty[0]
    if kind in ("list", "set", "tuple"):
        if not isinstance(raw, list):
            raise _decode_mismatch(path, ty, raw)
        if kind == "tuple":
            if len(raw) != len(ty[1]):
                raise _decode_mismatch(path, ty, raw)
            return [
                _decode(r, t, path + index_step(i))
                for i, (r, t) in enumerate(zip(raw, ty[1], strict=True))
            ]
        return [_decode(r, ty[1], path + index_step(i)) for i, r in enumerate(raw)]
    if not isinstance(raw, dict):
        raise _decode_mismatch(path, ty, raw)
    if any(not isinstance(key, str) for key in raw):
        raise CtyDecodeError(
            mismatch("decode", path, describe(ty), "a msgpack map with a key that is not a string")
        )
    if kind == "map":
        return {k: _decode(v, ty[1], path + key_step(k)) for k, v in raw.items()}
    attrs: dict[str, CtyType] = ty[1]
    if raw.keys() != attrs.keys():
        missing, unexpected = attrs.keys() - raw.keys(), raw.keys() - attrs.keys()
        raise CtyDecodeError(object_mismatch("decode", path, missing, unexpected, ""))
    return {k: _decode(v, attrs[k], path + attr_step(k)) for k, v in raw.items()}


def _decode_primitive(raw: Any, ty: str, path: str) -> Any:
    if ty == "string" and isinstance(raw, str):
        return raw
    if ty == "bool" and isinstance(raw, bool):
        return raw
    if ty == "number" and not isinstance(raw, bool):
        if isinstance(raw, int):
            return raw
        if isinstance(raw, float) and not math.isnan(raw):
            return raw
        if isinstance(raw, str):
            number = number_from_text(raw)
            if number is None:
                raise CtyDecodeError(
                    mismatch("decode", path, "number", "a msgpack string that is not a number")
                )
            return number
    raise _decode_mismatch(path, ty, raw)


def _decode_dynamic(raw: Any, path: str) -> Typed:
    if not isinstance(raw, list) or len(raw) != 2 or not isinstance(raw[0], bytes | str):
        raise CtyDecodeError(mismatch("decode", path, _DYNAMIC_IN, _kind(raw)))
    try:
        ty = parse_type(raw[0])
    except CtyError as exc:
        raise CtyDecodeError(f"Cannot decode the value at {where(path)}: {exc}") from None
    return Typed(ty, _decode(raw[1], ty, path))


def _decode_mismatch(path: str, ty: CtyType, raw: Any) -> CtyDecodeError:
    return CtyDecodeError(mismatch("decode", path, describe(ty), _kind(raw)))


def _kind(raw: Any) -> str:
    """Name what msgpack sent, without showing the value."""
    if isinstance(raw, bool):
        return "a msgpack boolean"
    if isinstance(raw, int):
        return "a msgpack integer"
    if isinstance(raw, float):
        return "a msgpack float NaN" if math.isnan(raw) else "a msgpack float"
    if isinstance(raw, str):
        return "a msgpack string"
    if isinstance(raw, bytes):
        return "msgpack binary data"
    if isinstance(raw, list):
        return f"a msgpack array of {len(raw)} element{'' if len(raw) == 1 else 's'}"
    return "a msgpack map"


def _encode(packer: Any, value: Any, ty: CtyType, path: str) -> None:
    if isinstance(value, Unknown):
        packer.pack_ext_type(value.code, value.payload)
    elif ty == "dynamic":
        if value is None:
            packer.pack(None)
            return
        concrete = typed_type(value, path, _DYNAMIC_OUT)
        packer.pack_array_header(2)
        packer.pack(type_json(concrete))
        _encode(packer, value.value, concrete, path)
    elif value is None:
        packer.pack(None)
    elif isinstance(ty, str):
        _encode_primitive(packer, value, ty, path)
    elif ty[0] in ("map", "object"):
        entries = mapping_entries(value, ty, path)
        packer.pack_map_header(len(entries))
        for key, item, item_ty, step in entries:
            _pack_string(packer, key, path + step)
            _encode(packer, item, item_ty, path + step)
    else:
        entries = sequence_entries(value, ty, path)
        packer.pack_array_header(len(entries))
        for _, item, item_ty, step in entries:
            _encode(packer, item, item_ty, path + step)


def _encode_primitive(packer: Any, value: Any, ty: str, path: str) -> None:
    if ty == "number":
        packer.pack(msgpack_number(value, path))
    elif ty == "bool" and isinstance(value, bool):
        packer.pack(value)
    elif ty == "string" and isinstance(value, str):
        _pack_string(packer, value, path)
    else:
        raise CtyEncodeError(mismatch("encode", path, describe(ty), python_kind(value)))


def _pack_string(packer: Any, value: str, path: str) -> None:
    try:
        packer.pack(value)
    except UnicodeEncodeError:
        raise CtyEncodeError(
            mismatch("encode", path, "string", "a str that is not valid Unicode")
        ) from None
