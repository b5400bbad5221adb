"""cty numbers: arbitrary-precision decimals carried as int, float or decimal text.

Python holds a number as ``int`` when it is integral, ``float`` when it arrived as a float64 and
``decimal.Decimal`` otherwise. This module converts between those and the wire forms of both
codecs, exactly: it never rounds a number through a float.
"""

from __future__ import annotations

import decimal
import math
import re
from decimal import Decimal
from typing import Any, TypeAlias

from alembic_provider.cty.errors import CtyEncodeError, mismatch

__all__ = [
    "Number",
    "is_number",
    "json_number_text",
    "msgpack_number",
    "number_from_text",
    "python_kind",
]

Number: TypeAlias = int | float | Decimal

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1
# Beyond this many digits an integral number stays a Decimal: Python refuses to print such ints.
_MAX_INT_DIGITS = 4000
_DECIMAL_TEXT = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")


def is_number(value: Any) -> bool:
    """Tell whether ``value`` is a Python number the codec accepts (``bool`` is not one)."""
    return isinstance(value, int | float | Decimal) and not isinstance(value, bool)


def number_from_text(text: str) -> int | Decimal | None:
    """Read a decimal number written as text; ``None`` when the text is not one."""
    if not _DECIMAL_TEXT.fullmatch(text):
        return None
    try:
        return integral_or_decimal(Decimal(text))
    except decimal.DecimalException:
        return None


def integral_or_decimal(value: Decimal) -> int | Decimal:
    """Return ``value`` as an int when it is integral, else unchanged."""
    if (
        value.is_finite()
        and value == value.to_integral_value()
        and value.adjusted() < _MAX_INT_DIGITS
    ):
        return int(value)
    return value


def msgpack_number(value: Any, path: str) -> int | float | str:
    """Choose the msgpack form of a number: int64, exact float64, else decimal text.

    :raises CtyEncodeError: ``value`` is not a finite number.
    """
    _check_finite(value, path)
    if isinstance(value, float):
        return value
    if isinstance(value, int):
        return value if INT64_MIN <= value <= INT64_MAX else _plain(Decimal(value))
    if value == value.to_integral_value():
        return int(value) if INT64_MIN <= value <= INT64_MAX else _plain(value)
    as_float = float(value)
    if math.isfinite(as_float) and Decimal(as_float) == value:
        return as_float
    return _plain(value)


def json_number_text(value: Any, path: str) -> str:
    """Write a number as a JSON number in plain notation; a float by its shortest decimal.

    :raises CtyEncodeError: ``value`` is not a finite number.
    """
    _check_finite(value, path)
    if isinstance(value, float):
        return _plain(Decimal(repr(value)))
    return _plain(Decimal(value))


def python_kind(value: Any) -> str:
    """Name what a Python value is, for messages, without showing the value."""
    return f"Python {type(value).__name__}"


def _check_finite(value: Any, path: str) -> None:
    if not is_number(value):
        raise CtyEncodeError(mismatch("encode", path, "number", python_kind(value)))
    if isinstance(value, float) and not math.isfinite(value):
        raise CtyEncodeError(mismatch("encode", path, "number", f"float {value}"))
    if isinstance(value, Decimal) and not value.is_finite():
        raise CtyEncodeError(mismatch("encode", path, "number", f"Decimal {value}"))


def _plain(value: Decimal) -> str:
    """Write a finite decimal without exponent and without trailing fractional zeros."""
    if value.is_zero():
        return "0"
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text
