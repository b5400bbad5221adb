"""The cty value codec: Terraform's ``DynamicValue`` bytes to plain Python values and back.

A type is its JSON type specification (``"string"``, ``["list", "number"]``, ``["object",
{...}]``). Values are ``None`` (null), ``str``, ``bool``, numbers (``int``, ``float`` or
``Decimal``), ``list`` (list, set, tuple), ``dict`` (map, object), :class:`Unknown` and, for
``dynamic`` attributes, :class:`Typed`. The codec is pure: it works on bytes and never imports
grpc or protobuf.
"""

from __future__ import annotations

from typing import Any

from alembic_provider.cty.ctytype import CtyType, parse_type, type_json
from alembic_provider.cty.errors import CtyDecodeError, CtyEncodeError, CtyError
from alembic_provider.cty.json_codec import decode_json, encode_json
from alembic_provider.cty.msgpack_codec import decode_msgpack, encode_msgpack
from alembic_provider.cty.values import UNKNOWN, Refinement, Typed, Unknown, contains_unknown

__all__ = [
    "UNKNOWN",
    "CtyDecodeError",
    "CtyEncodeError",
    "CtyError",
    "CtyType",
    "Refinement",
    "Typed",
    "Unknown",
    "contains_unknown",
    "decode_dynamic_value",
    "decode_json",
    "decode_msgpack",
    "encode_json",
    "encode_msgpack",
    "parse_type",
    "type_json",
]


def decode_dynamic_value(msgpack: bytes, json: bytes, ty: CtyType) -> Any:
    """Read a ``DynamicValue``'s fields: msgpack when present, else JSON, else null.

    Terraform sends msgpack; JSON is the protocol's fallback; both empty means null.

    :raises CtyDecodeError: the chosen field does not hold a value of type ``ty``.
    """
    if msgpack:
        return decode_msgpack(msgpack, ty)
    if json:
        return decode_json(json, ty)
    return None
