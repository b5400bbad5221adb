"""Byte fixtures and error wording for the msgpack codec."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import msgpack
import pytest

from alembic_provider.cty import (
    UNKNOWN,
    CtyDecodeError,
    CtyEncodeError,
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
        (msgpack.packb("0.1"), Decimal("0.1")),
        (msgpack.packb("1e2"), 100),
        (msgpack.packb("1180591620717411303424"), 2**70),
        (msgpack.packb("-0.5"), Decimal("-0.5")),
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
        (None, b"\xc0"),
        (UNKNOWN, b"\xd4\x00\x00"),
        (Typed("string", None), msgpack.packb([b'"string"', None], use_bin_type=True)),
        (Typed("number", UNKNOWN), bytes.fromhex("92c408226e756d62657222d40000")),
    ],
)
def test_dynamic_null_and_unknown(value: Any, data: bytes) -> None:
    assert encode_msgpack(value, "dynamic") == data
    assert decode_msgpack(data, "dynamic") == value


def test_object_attributes_are_written_sorted_and_maps_too() -> None:
    ty: CtyType = ["object", {"b": ["map", "bool"], "a": "bool"}]
    value = {"b": {"y": True, "x": False}, "a": True}
    assert encode_msgpack(value, ty) == msgpack.packb({"a": True, "b": {"x": False, "y": True}})


def test_sets_keep_wire_order_and_accept_python_sets() -> None:
    assert decode_msgpack(msgpack.packb(["b", "a"]), ["set", "string"]) == ["b", "a"]
    assert decode_msgpack(
        encode_msgpack(frozenset({"a"}), ["set", "string"]), ["set", "string"]
    ) == ["a"]


def test_decode_dynamic_value_prefers_msgpack_then_json_then_null() -> None:
    assert decode_dynamic_value(msgpack.packb("m"), b'"j"', "string") == "m"
    assert decode_dynamic_value(b"", b'"j"', "string") == "j"
    assert decode_dynamic_value(b"", b"", "string") is None


# -- decode errors ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "ty", "message"),
    [
        (
            msgpack.packb({"pending": [{"revision": "a"}, {"revision": "b"}, {"revision": 3}]}),
            ["object", {"pending": ["list", ["object", {"revision": "string"}]]}],
            "Cannot decode the value at .pending[2].revision: "
            "expected string, found a msgpack integer.",
        ),
        (
            msgpack.packb({"a": "x"}),
            ["object", {"a": "string", "b": "string"}],
            "Cannot decode the object at the top level: missing attribute 'b'.",
        ),
        (
            msgpack.packb({"a": "x", "c": 1, "d": 2}),
            ["object", {"a": "string"}],
            "Cannot decode the object at the top level: unexpected attributes 'c', 'd'.",
        ),
        (
            msgpack.packb({"m": {"k": True}}),
            ["object", {"m": ["map", "number"]}],
            'Cannot decode the value at .m["k"]: expected number, found a msgpack boolean.',
        ),
        (
            msgpack.packb([1, 2, 3]),
            ["tuple", ["number", "number"]],
            "Cannot decode the value at the top level: "
            "expected tuple of 2 elements, found a msgpack array of 3 elements.",
        ),
        (
            msgpack.packb({1: "a"}),
            ["map", "string"],
            "Cannot decode the value at the top level: "
            "expected map of string, found a msgpack map with a key that is not a string.",
        ),
        (
            msgpack.packb("ten"),
            "number",
            "Cannot decode the value at the top level: "
            "expected number, found a msgpack string that is not a number.",
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


# -- encode errors ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "ty", "message"),
    [
        (
            {"pending": [{"revision": "a"}, {"revision": "b"}, {"revision": 3}]},
            ["object", {"pending": ["list", ["object", {"revision": "string"}]]}],
            "Cannot encode the value at .pending[2].revision: expected string, found Python int.",
        ),
        (
            {"id": "x"},
            ["object", {"id": "string", "url": "string", "heads": ["set", "string"]}],
            "Cannot encode the object at the top level: missing attributes 'heads', 'url'. "
            "Give every attribute of the object type, None for null, and no others.",
        ),
        (
            {"db": {"id": "x", "extra": 1}},
            ["object", {"db": ["object", {"id": "string"}]}],
            "Cannot encode the object at .db: unexpected attribute 'extra'. "
            "Give every attribute of the object type, None for null, and no others.",
        ),
        (
            {"b": 1},
            ["object", {"a": "string"}],
            "Cannot encode the object at the top level: missing attribute 'a'; "
            "unexpected attribute 'b'. "
            "Give every attribute of the object type, None for null, and no others.",
        ),
        (
            True,
            "number",
            "Cannot encode the value at the top level: expected number, found Python bool.",
        ),
        (
            float("nan"),
            "number",
            "Cannot encode the value at the top level: expected number, found float nan.",
        ),
        (
            [float("inf")],
            ["list", "number"],
            "Cannot encode the value at [0]: expected number, found float inf.",
        ),
        (
            Decimal("NaN"),
            "number",
            "Cannot encode the value at the top level: expected number, found Decimal NaN.",
        ),
        (
            {1: "a"},
            ["map", "string"],
            "Cannot encode the value at the top level: "
            "expected map of string, found a key of Python int.",
        ),
        (
            ("a",),
            ["tuple", ["string", "string"]],
            "Cannot encode the value at the top level: "
            "expected tuple of 2 elements, found 1 element.",
        ),
        (
            {"a"},
            ["list", "string"],
            "Cannot encode the value at the top level: expected list of string, found Python set.",
        ),
        (
            "x",
            "dynamic",
            "Cannot encode the value at the top level: "
            "expected a dynamic value (Typed, None or Unknown), found Python str.",
        ),
        (
            Typed(["list"], []),
            "dynamic",
            "Cannot encode the value at the top level: Invalid type specification '[\"list\"]': "
            "a 'list' type is written as [\"list\", TYPE].",
        ),
        (
            {"k": "\ud800"},
            ["map", "string"],
            'Cannot encode the value at ["k"]: expected string, found a str that is not valid '
            "Unicode.",
        ),
    ],
)
def test_encode_errors(value: Any, ty: CtyType, message: str) -> None:
    with pytest.raises(CtyEncodeError) as caught:
        encode_msgpack(value, ty)
    assert str(caught.value) == message


def test_a_bad_type_is_reported_before_any_value() -> None:
    with pytest.raises(CtyEncodeError, match=r"^Invalid type specification '\"str\"'"):
        encode_msgpack("x", "str")
    with pytest.raises(CtyDecodeError, match=r"^Invalid type specification '\"str\"'"):
        decode_msgpack(b"\xa1x", "str")
