"""The JSON codec's own forms (DynamicValue.json, RawState.json): number tokens, the dynamic
object, absent attributes, and the errors only JSON has. What both codecs share is in
``test_codecs.py``.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from alembic_provider.cty import (
    UNKNOWN,
    CtyDecodeError,
    CtyEncodeError,
    CtyType,
    Typed,
    Unknown,
    decode_json,
    encode_json,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (b"0.1", Decimal("0.1")),
        (b"1.0", 1),
        (b"1e2", 100),
        (b"-0", 0),
        (b"1180591620717411303424", 2**70),
        (b"12345678901234567890.123456789", Decimal("12345678901234567890.123456789")),
    ],
)
def test_numbers_are_read_exactly(text: bytes, expected: Any) -> None:
    value = decode_json(text, "number")
    assert value == expected
    assert type(value) is type(expected)


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (2**70, b"1180591620717411303424"),
        (0.1, b"0.1"),
        (1e100, b"1" + b"0" * 100),
        (1e-7, b"0.0000001"),
        (-0.0, b"0"),
        (2.0, b"2"),
        (Decimal("1E+2"), b"100"),
        (Decimal("1.50"), b"1.5"),
        (Decimal("-1.2300E-7"), b"-0.000000123"),
    ],
)
def test_numbers_are_written_in_plain_notation(value: Any, text: bytes) -> None:
    assert encode_json(value, "number") == text


def test_dynamic_value_is_a_type_and_value_object() -> None:
    text = b'{"value":["a"],"type":["list","string"]}'
    assert decode_json(text, "dynamic") == Typed(["list", "string"], ["a"])
    assert encode_json(Typed(["list", "string"], ["a"]), "dynamic") == text


def test_missing_attributes_can_be_read_as_null() -> None:
    ty: CtyType = ["object", {"a": "string", "b": ["list", "string"]}]
    assert decode_json(b'{"a":"x"}', ty, missing_as_null=True) == {"a": "x", "b": None}


@pytest.mark.parametrize(
    ("text", "ty", "message"),
    [
        (
            b'{"value":"x"}',
            "dynamic",
            "Cannot decode the value at the top level: expected a dynamic value as a "
            '{"type": ..., "value": ...} object, found a JSON object.',
        ),
        (
            b"NaN",
            "number",
            "Cannot decode the JSON data: 'NaN' is not a number cty accepts.",
        ),
        (
            b"{",
            "number",
            "Cannot decode the JSON data: "
            "Expecting property name enclosed in double quotes: line 1 column 2 (char 1).",
        ),
    ],
)
def test_decode_errors(text: bytes, ty: CtyType, message: str) -> None:
    with pytest.raises(CtyDecodeError) as caught:
        decode_json(text, ty)
    assert str(caught.value) == message


@pytest.mark.parametrize(
    ("value", "ty", "message"),
    [
        (
            {"a": [UNKNOWN]},
            ["object", {"a": ["list", "string"]}],
            "Cannot encode the value at .a[0] as JSON: it is unknown, and JSON cannot carry "
            "unknown values. Encode it as msgpack instead.",
        ),
        (
            Typed("string", Unknown(12, b"\x81\x01\xc2")),
            "dynamic",
            "Cannot encode the value at the top level as JSON: it is unknown, and JSON cannot "
            "carry unknown values. Encode it as msgpack instead.",
        ),
        (
            UNKNOWN,
            "dynamic",
            "Cannot encode the value at the top level as JSON: it is unknown, and JSON cannot "
            "carry unknown values. Encode it as msgpack instead.",
        ),
    ],
)
def test_unknown_values_cannot_be_written(value: Any, ty: CtyType, message: str) -> None:
    with pytest.raises(CtyEncodeError) as caught:
        encode_json(value, ty)
    assert str(caught.value) == message
