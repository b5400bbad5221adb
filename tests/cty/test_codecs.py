"""What the JSON and msgpack codecs share: the same values, the same rules, the same wording.

Each case runs once per codec. Wire data is written with the format's own library from the same
plain Python structure, so a case states the value once and checks exact bytes for both codecs.
Byte-level fixtures of one format only stay in ``test_json_codec.py`` and ``test_msgpack_codec.py``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import msgpack
import pytest

from alembic_provider.cty import (
    CtyDecodeError,
    CtyEncodeError,
    CtyType,
    Typed,
    decode_json,
    decode_msgpack,
    encode_json,
    encode_msgpack,
)


@dataclass(frozen=True)
class Codec:
    """One codec under test, with the format's own writer for plain structures."""

    name: str
    encode: Callable[[Any, CtyType], bytes]
    decode: Callable[[bytes, CtyType], Any]
    write: Callable[[Any], bytes]
    #: How decode errors name a wire integer in this format.
    integer: str
    #: What encode errors list as the Python values a dynamic value may be.
    dynamic: str

    def __repr__(self) -> str:
        return self.name


def _write_json(native: Any) -> bytes:
    return json.dumps(native, separators=(",", ":"), ensure_ascii=False).encode()


def _write_msgpack(native: Any) -> bytes:
    data: bytes = msgpack.packb(native)
    return data


CODECS = [
    Codec("JSON", encode_json, decode_json, _write_json, "number", "Typed or None"),
    Codec(
        "msgpack",
        encode_msgpack,
        decode_msgpack,
        _write_msgpack,
        "integer",
        "Typed, None or Unknown",
    ),
]
codecs = pytest.mark.parametrize("codec", CODECS, ids=[c.name for c in CODECS])

STATE_TYPE: CtyType = [
    "object",
    {
        "id": "string",
        "revision": "string",
        "heads": ["set", "string"],
        "timeout": "number",
        "offline": "bool",
        "environment": ["map", "string"],
    },
]


@codecs
@pytest.mark.parametrize(
    ("ty", "value", "native"),
    [
        pytest.param(
            STATE_TYPE,
            {
                "environment": {"A": "1"},
                "heads": ["abc", "def"],
                "id": "db",
                "offline": False,
                "revision": None,
                "timeout": Decimal("0.25"),
            },
            {
                "environment": {"A": "1"},
                "heads": ["abc", "def"],
                "id": "db",
                "offline": False,
                "revision": None,
                "timeout": 0.25,
            },
            id="resource state",
        ),
        pytest.param(
            ["object", {"b": "bool", "f": "number", "n": "number", "s": "string", "z": "string"}],
            {"b": True, "f": 1.5, "n": 42, "s": "hi", "z": None},
            {"b": True, "f": 1.5, "n": 42, "s": "hi", "z": None},
            id="primitives",
        ),
        pytest.param(
            ["object", {"b": ["map", "bool"], "a": "bool"}],
            {"b": {"y": True, "x": False}, "a": True},
            {"a": True, "b": {"x": False, "y": True}},
            id="attributes and map keys sorted",
        ),
        pytest.param(
            ["tuple", ["string", "bool"]],
            ['"é\n', True],
            ['"é\n', True],
            id="tuple of escaped text",
        ),
        pytest.param("dynamic", None, None, id="null dynamic"),
    ],
)
def test_values_both_ways(codec: Codec, ty: CtyType, value: Any, native: Any) -> None:
    data = codec.write(native)
    assert codec.encode(value, ty) == data
    assert codec.decode(data, ty) == value


@codecs
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0.1", Decimal("0.1")),
        ("0.5", Decimal("0.5")),
        ("-0.5", Decimal("-0.5")),
        ("1e2", 100),
        ("1180591620717411303424", 2**70),
    ],
)
def test_numbers_written_as_strings_are_read_exactly(
    codec: Codec, text: str, expected: Any
) -> None:
    value = codec.decode(codec.write(text), "number")
    assert value == expected
    assert type(value) is type(expected)


@codecs
def test_sets_keep_wire_order_and_accept_python_sets(codec: Codec) -> None:
    assert codec.decode(codec.write(["b", "a"]), ["set", "string"]) == ["b", "a"]
    written = codec.encode(frozenset({"a"}), ["set", "string"])
    assert codec.decode(written, ["set", "string"]) == ["a"]


@codecs
@pytest.mark.parametrize(
    "value",
    [Typed(["list", "string"], ["a"]), Typed("string", None), Typed("number", Decimal("0.1"))],
)
def test_dynamic_values_keep_their_type(codec: Codec, value: Typed) -> None:
    assert codec.decode(codec.encode(value, "dynamic"), "dynamic") == value


@codecs
@pytest.mark.parametrize(
    ("native", "ty", "message"),
    [
        (
            {"a": "x"},
            ["object", {"a": "string", "b": "string"}],
            "Cannot decode the object at the top level: missing attribute 'b'.",
        ),
        (
            {"p": [{"a": "x", "z": 1}]},
            ["object", {"p": ["list", ["object", {"a": "string"}]]}],
            "Cannot decode the object at .p[0]: unexpected attribute 'z'.",
        ),
        (
            {"a": "x", "c": 1, "d": 2},
            ["object", {"a": "string"}],
            "Cannot decode the object at the top level: unexpected attributes 'c', 'd'.",
        ),
        (
            {"p": [{"a": "x"}, {"a": 2}]},
            ["object", {"p": ["list", ["object", {"a": "string"}]]}],
            "Cannot decode the value at .p[1].a: expected string, found a {wire} {integer}.",
        ),
        (
            {"pending": [{"revision": "a"}, {"revision": "b"}, {"revision": 3}]},
            ["object", {"pending": ["list", ["object", {"revision": "string"}]]}],
            "Cannot decode the value at .pending[2].revision: "
            "expected string, found a {wire} {integer}.",
        ),
        (
            {"m": {"k": True}},
            ["object", {"m": ["map", "number"]}],
            'Cannot decode the value at .m["k"]: expected number, found a {wire} boolean.',
        ),
        (
            "yes",
            "bool",
            "Cannot decode the value at the top level: expected bool, found a {wire} string.",
        ),
        (
            "ten",
            "number",
            "Cannot decode the value at the top level: "
            "expected number, found a {wire} string that is not a number.",
        ),
        (
            [1],
            ["tuple", []],
            "Cannot decode the value at the top level: "
            "expected tuple of 0 elements, found a {wire} array of 1 element.",
        ),
        (
            [1, 2, 3],
            ["tuple", ["number", "number"]],
            "Cannot decode the value at the top level: "
            "expected tuple of 2 elements, found a {wire} array of 3 elements.",
        ),
    ],
)
def test_decode_errors(codec: Codec, native: Any, ty: CtyType, message: str) -> None:
    with pytest.raises(CtyDecodeError) as caught:
        codec.decode(codec.write(native), ty)
    assert str(caught.value) == message.format(wire=codec.name, integer=codec.integer)


@codecs
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
            {"a": "x"},
            ["object", {}],
            "Cannot encode the object at the top level: unexpected attribute 'a'. "
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
            "1",
            "number",
            "Cannot encode the value at the top level: expected number, found Python str.",
        ),
        (
            True,
            "number",
            "Cannot encode the value at the top level: expected number, found Python bool.",
        ),
        (
            float("inf"),
            "number",
            "Cannot encode the value at the top level: expected number, found float inf.",
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
            "expected a dynamic value ({dynamic}), found Python str.",
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
def test_encode_errors(codec: Codec, value: Any, ty: CtyType, message: str) -> None:
    with pytest.raises(CtyEncodeError) as caught:
        codec.encode(value, ty)
    assert str(caught.value) == message.format(dynamic=codec.dynamic)


@codecs
def test_a_bad_type_is_reported_before_any_value(codec: Codec) -> None:
    with pytest.raises(CtyEncodeError, match=r"^Invalid type specification '\"str\"'"):
        codec.encode("x", "str")
    with pytest.raises(CtyDecodeError, match=r"^Invalid type specification '\"str\"'"):
        codec.decode(codec.write("x"), "str")
