"""Durations in both spellings users write: Go's ``1m30s`` and the Go provider's ``PT1M30S``."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from alembic_provider.durations import duration_validator, parse_duration
from alembic_provider.errors import ConfigError


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("5s", 5.0),
        ("1m30s", 90.0),
        ("250ms", 0.25),
        ("1h", 3600.0),
        ("1.5h", 5400.0),
        ("2h45m", 9900.0),
        ("1h0m0.5s", 3600.5),
        ("100us", 1e-4),
        ("100\u00b5s", 1e-4),
        ("1500ns", 1.5e-6),
        ("0", 0.0),
        ("0s", 0.0),
        (" 30s ", 30.0),
        ("PT5S", 5.0),
        ("PT1M30S", 90.0),
        ("PT0.5S", 0.5),
        ("PT1H", 3600.0),
        ("P1D", 86400.0),
        ("P1DT12H", 129600.0),
        ("P1W", 604800.0),
        ("P1M", 2592000.0),
        ("P1Y", 31536000.0),
        ("pt30s", 30.0),
    ],
)
def test_go_and_iso_durations_parse_to_seconds(text: str, seconds: float) -> None:
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize(
    "text",
    ["", "5", "30", "-5s", "5 s", "5sec", "1d", "PT", "P", "P1DT", "T5S", "PT5", "5s PT5S", "s"],
)
def test_anything_else_is_a_config_error_naming_the_value(text: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_duration(text)
    assert caught.value.message == (
        f"The duration '{text}' is not valid; use a form such as '5s', '1m30s', '250ms', '1h' "
        "or the ISO-8601 form 'PT5S', 'PT1M30S'."
    )


def test_the_validator_returns_the_message_or_none() -> None:
    assert duration_validator("1m") is None
    assert duration_validator("PT30S") is None
    assert duration_validator("30 seconds") == (
        "The duration '30 seconds' is not valid; use a form such as '5s', '1m30s', '250ms', "
        "'1h' or the ISO-8601 form 'PT5S', 'PT1M30S'."
    )
    assert duration_validator(30) is not None


@given(
    hours=st.integers(0, 48),
    minutes=st.integers(0, 59),
    millis=st.integers(0, 59_999),
)
def test_both_spellings_of_the_same_duration_agree(hours: int, minutes: int, millis: int) -> None:
    seconds = millis / 1000
    expected = hours * 3600 + minutes * 60 + seconds
    go = f"{hours}h{minutes}m{seconds}s"
    iso = f"PT{hours}H{minutes}M{seconds}S"
    assert parse_duration(go) == pytest.approx(expected)
    assert parse_duration(iso) == pytest.approx(expected)
