"""Parse the duration strings users write in configuration into seconds.

Two spellings are accepted everywhere a duration is: Go's ``time.ParseDuration`` form
(``"5s"``, ``"1m30s"``, ``"250ms"``, ``"1.5h"``), which Terraform users know from ``timeouts``
blocks, and the ISO-8601 form (``"PT5S"``, ``"PT1M30S"``, ``"P1D"``) that the Go provider's
``proxy_sleep`` validator required. Negative durations do not exist here. Pure functions; never
reads a clock.
"""

from __future__ import annotations

import re

from alembic_provider.errors import ConfigError

__all__ = ["EXAMPLES", "duration_validator", "parse_duration"]

EXAMPLES = "'5s', '1m30s', '250ms', '1h' or the ISO-8601 form 'PT5S', 'PT1M30S'"

_GO_UNITS = {
    "ns": 1e-9,
    "us": 1e-6,
    "\u00b5s": 1e-6,  # micro sign
    "\u03bcs": 1e-6,  # Greek mu
    "ms": 1e-3,
    "s": 1.0,
    "m": 60.0,
    "h": 3600.0,
}
_NUMBER = r"(?:\d+(?:\.\d*)?|\.\d+)"
_GO_PART = re.compile(rf"({_NUMBER})(ns|us|\u00b5s|\u03bcs|ms|s|m|h)")
_GO = re.compile(rf"(?:{_NUMBER}(?:ns|us|\u00b5s|\u03bcs|ms|s|m|h))+")

# Calendar units count as fixed lengths, as the Go provider counted them.
_DAY = 86400.0
_ISO = re.compile(
    rf"""P(?=.)
    (?:(?P<years>{_NUMBER})Y)?
    (?:(?P<months>{_NUMBER})M)?
    (?:(?P<weeks>{_NUMBER})W)?
    (?:(?P<days>{_NUMBER})D)?
    (?:T(?=.)
        (?:(?P<hours>{_NUMBER})H)?
        (?:(?P<minutes>{_NUMBER})M)?
        (?:(?P<seconds>{_NUMBER})S)?
    )?""",
    re.VERBOSE | re.IGNORECASE,
)
_ISO_UNITS = {
    "years": 365 * _DAY,
    "months": 30 * _DAY,
    "weeks": 7 * _DAY,
    "days": _DAY,
    "hours": 3600.0,
    "minutes": 60.0,
    "seconds": 1.0,
}


def _message(text: object) -> str:
    shown = text if isinstance(text, str) else repr(text)
    return f"The duration '{shown}' is not valid; use a form such as {EXAMPLES}."


def parse_duration(text: str) -> float:
    """Return the number of seconds ``text`` spells.

    ``"0"`` alone means zero, as in Go; any other number needs a unit.

    :raises ConfigError: when ``text`` is neither a Go-style nor an ISO-8601 duration.
    """
    value = text.strip() if isinstance(text, str) else None
    if value is None or not value:
        raise ConfigError(_message(text))
    if value == "0":
        return 0.0
    if _GO.fullmatch(value):
        return sum(float(number) * _GO_UNITS[unit] for number, unit in _GO_PART.findall(value))
    iso = _ISO.fullmatch(value)
    if iso is not None and any(iso.groupdict().values()):
        return sum(
            float(number) * _ISO_UNITS[name]
            for name, number in iso.groupdict().items()
            if number is not None
        )
    raise ConfigError(_message(text))


def duration_validator(value: object) -> str | None:
    """Schema validator: the error message for a value that is no duration, else ``None``."""
    if not isinstance(value, str):
        return _message(value)
    try:
        parse_duration(value)
    except ConfigError as err:
        return err.message
    return None
