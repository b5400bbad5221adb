"""The msgpack codec's own forms: unknowns and extensions, number encodings, the dynamic
[type, value] pair, and the errors only msgpack has. What both codecs share is in
``test_codecs.py``.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import msgpack
import pytest

from alembic_provider.cty import (
    UNKNOWN,
    CtyDecodeError,
    CtyType,
    Typed,
    Unknown,
    decode_dynamic_value,
    decode_msgpack,
    encode_msgpack,
)

REFINED = bytes.fromhex("c7070c8201c202a2622d")
PRIMITIVES_TYPE: CtyType = [
    "object",
    {"b": "bool", "d": "number", "f": "number", "n": "number", "s": "string", "z": "string"},
]
PRIMITIVES_VALUE = {"b": True, "d": Decimal("0.1"), "f": 1.5, "n": 42, "s": "hi", "z": None}
PRIMITIVES_BYTES = bytes.fromhex(
    "86"
    "a162c3"  # b: true
    "a164a3302e31"  # d: "0.1"
    "a166cb3ff8000000000000"  # f: 1.5 as float64
    "a16e2a"  # n: 42
    "a173a26869"  # s: "hi"
    "a17ac0"  # z: nil
)


def test_plain_unknown_is_d4_00_00() -> None:
    assert encode_msgpack(UNKNOWN, "string") == b"\xd4\x00\x00"
    assert decode_msgpack(b"\xd4\x00\x00", "string") is UNKNOWN


def test_refined_unknown_is_echoed_byte_for_byte() -> None:
    value = decode_msgpack(REFINED, "string")
    assert isinstance(value, Unknown)
    assert value.code == 12
    assert dict(value.refinements) == {1: False, 2: "b-"}
    assert encode_msgpack(value, "string") == REFINED


def test_refined_unknown_nested_in_an_object() -> None:
    ty: CtyType = ["object", {"id": "string", "name": "string"}]
    data = bytes.fromhex("82a26964d40000a46e616d65") + REFINED
    value = decode_msgpack(data, ty)
    assert value["id"] is UNKNOWN
    assert dict(value["name"].refinements) == {1: False, 2: "b-"}
    assert encode_msgpack(value, ty) == data


@pytest.mark.parametrize(
    "data",
    [
        bytes.fromhex("d5fb6162"),  # negative extension code
        bytes.fromhex("c70000"),  # empty ext8 payload
        bytes.fromhex("d40001"),  # code 0 with another payload byte
        bytes.fromhex("c7030c010203"),  # code 12 with a payload that is not a map
    ],
)
def test_any_extension_is_an_unknown_kept_verbatim(data: bytes) -> None:
    value = decode_msgpack(data, ["list", "string"])
    assert isinstance(value, Unknown)
    assert encode_msgpack(value, ["list", "string"]) == data


def test_timestamp_extension_is_an_unknown() -> None:
    data = bytes.fromhex("d6ff00000001")
    assert decode_msgpack(data, "number") == Unknown(-1, b"\x00\x00\x00\x01")
    assert encode_msgpack(decode_msgpack(data, "number"), "number") == data


def test_object_with_every_primitive() -> None:
    assert encode_msgpack(PRIMITIVES_VALUE, PRIMITIVES_TYPE) == PRIMITIVES_BYTES
    decoded = decode_msgpack(PRIMITIVES_BYTES, PRIMITIVES_TYPE)
    assert decoded == PRIMITIVES_VALUE
    assert {k: type(v) for k, v in decoded.items()} == {
        "b": bool,
        "d": Decimal,
        "f": float,
        "n": int,
        "s": str,
        "z": type(None),
    }


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (bytes.fromhex("cd0100"), 256),
        (bytes.fromhex("cfffffffffffffffff"), 2**64 - 1),
        (bytes.fromhex("d38000000000000000"), -(2**63)),
        (bytes.fromhex("ca3fc00000"), 1.5),
        (bytes.fromhex("cb7ff0000000000000"), float("inf")),
    ],
)
def test_number_forms_decode(data: bytes, expected: Any) -> None:
    value = decode_msgpack(data, "number")
    assert value == expected
    assert type(value) is type(expected)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (2**70, msgpack.packb("1180591620717411303424")),
        (2**63, msgpack.packb("9223372036854775808")),
        (2**63 - 1, msgpack.packb(2**63 - 1)),
        (-(2**63), msgpack.packb(-(2**63))),
        (-(2**63) - 1, msgpack.packb("-9223372036854775809")),
        (2.0, bytes.fromhex("cb4000000000000000")),
        (Decimal("0.1"), msgpack.packb("0.1")),
        (Decimal("1E+2"), msgpack.packb(100)),
        (Decimal("0.50"), msgpack.packb(0.5)),
        (Decimal("1E+20"), msgpack.packb("100000000000000000000")),
        (Decimal("-1.2300E-7"), msgpack.packb("-0.000000123")),
    ],
)
def test_number_forms_encode(value: Any, expected: bytes) -> None:
    assert encode_msgpack(value, "number") == expected


def test_dynamic_value_fixture() -> None:
    data = msgpack.packb([b'"string"', "x"], use_bin_type=True)
    assert decode_msgpack(data, "dynamic") == Typed("string", "x")
    assert encode_msgpack(Typed("string", "x"), "dynamic") == data


def test_dynamic_type_may_arrive_as_a_string() -> None:
    data = msgpack.packb(['["list","number"]', [1, 2]])
    assert decode_msgpack(data, "dynamic") == Typed(["list", "number"], [1, 2])


@pytest.mark.parametrize(
    ("value", "data"),
    [
        (UNKNOWN, b"\xd4\x00\x00"),
        (Typed("string", None), msgpack.packb([b'"string"', None], use_bin_type=True)),
        (Typed("number", UNKNOWN), bytes.fromhex("92c408226e756d62657222d40000")),
    ],
)
def test_dynamic_null_and_unknown(value: Any, data: bytes) -> None:
    assert encode_msgpack(value, "dynamic") == data
    assert decode_msgpack(data, "dynamic") == value


def test_decode_dynamic_value_prefers_msgpack_then_json_then_null() -> None:
    assert decode_dynamic_value(msgpack.packb("m"), b'"j"', "string") == "m"
    assert decode_dynamic_value(b"", b'"j"', "string") == "j"
    assert decode_dynamic_value(b"", b"", "string") is None


# -- decode errors ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "ty", "message"),
    [
        (
            msgpack.packb({1: "a"}),
            ["map", "string"],
            "Cannot decode the value at the top level: "
            "expected map of string, found a msgpack map with a key that is not a string.",
        ),
        (
            msgpack.packb(float("nan")),
            "number",
            "Cannot decode the value at the top level: expected number, found a msgpack float NaN.",
        ),
        (
            msgpack.packb("x"),
            "dynamic",
            "Cannot decode the value at the top level: "
            "expected a dynamic value as a [type, value] array, found a msgpack string.",
        ),
        (
            msgpack.packb([b'"text"', "x"], use_bin_type=True),
            "dynamic",
            "Cannot decode the value at the top level: Invalid type specification '\"text\"': "
            "'text' is not a type name; use 'string', 'number', 'bool' or 'dynamic'.",
        ),
    ],
)
def test_decode_errors(data: bytes, ty: CtyType, message: str) -> None:
    with pytest.raises(CtyDecodeError) as caught:
        decode_msgpack(data, ty)
    assert str(caught.value) == message


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "Cannot decode the msgpack data: Unpack failed: incomplete input."),
        (b"\xc0\xc0", "Cannot decode the msgpack data: unpack(b) received extra data."),
    ],
)
def test_malformed_msgpack(data: bytes, message: str) -> None:
    with pytest.raises(CtyDecodeError) as caught:
        decode_msgpack(data, "string")
    assert str(caught.value) == message


@pytest.mark.parametrize("data", [b"\xa2\xff\xfe", b"\x81\x91\x01\x01", b"\xc1"])
def test_malformed_msgpack_is_a_decode_error(data: bytes) -> None:
    with pytest.raises(CtyDecodeError, match=r"^Cannot decode the msgpack data: "):
        decode_msgpack(data, ["map", "string"])
