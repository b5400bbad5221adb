"""Number text: what counts as a decimal number on the wire."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from alembic_provider.cty.numeric import integral_or_decimal, msgpack_number, number_from_text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0", 0),
        ("-12", -12),
        ("+3", 3),
        ("1e5", 100000),
        ("1.5E-1", Decimal("0.15")),
        (".5", Decimal("0.5")),
        ("5.", 5),
        ("-0.0", 0),
        ("100000000000000000000000000000.5", Decimal("100000000000000000000000000000.5")),
    ],
)
def test_number_from_text_reads_decimals(text: str, expected: Any) -> None:
    value = number_from_text(text)
    assert value == expected
    assert type(value) is type(expected)


@pytest.mark.parametrize(
    "text",
    ["", " 1", "1 ", "1_000", "NaN", "Infinity", "-inf", "0x10", "1e", "\u0661", "1.2.3", "e5"],
)
def test_number_from_text_rejects_other_text(text: str) -> None:
    assert number_from_text(text) is None


def test_huge_integral_numbers_stay_decimal() -> None:
    assert isinstance(number_from_text("1e5000"), Decimal)
    assert isinstance(integral_or_decimal(Decimal("1e3999")), int)


@given(st.decimals(allow_nan=False, allow_infinity=False))
def test_msgpack_number_never_loses_value(value: Decimal) -> None:
    wire = msgpack_number(value, "")
    back = number_from_text(wire) if isinstance(wire, str) else wire
    assert back == value
    if isinstance(wire, str):
        assert "E" not in wire and "e" not in wire
