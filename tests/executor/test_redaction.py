"""Redaction: known secrets in every spelling, and URL passwords by pattern."""

from __future__ import annotations

import json
from urllib.parse import quote

import pytest
from hypothesis import given
from hypothesis import strategies as st

from alembic_provider.redaction import MASK, Redactor, mask_url, url_password

secrets_text = st.text(min_size=3, max_size=20).filter(lambda s: "*" not in s)


@pytest.mark.parametrize(
    ("url", "masked"),
    [
        ("postgresql://app:s3cret@db:5432/app", "postgresql://app:***@db:5432/app"),
        ("mysql+pymysql://root:p@ss@host/db", "mysql+pymysql://root:***@host/db"),
        ("postgresql://app@db/app", "postgresql://app@db/app"),
        ("sqlite:///relative.db", "sqlite:///relative.db"),
        ("see postgresql://u:pw@h/d and x@y", "see postgresql://u:***@h/d and x@y"),
    ],
)
def test_mask_url(url: str, masked: str) -> None:
    assert mask_url(url) == masked


def test_url_password() -> None:
    assert url_password("postgresql://app:p%40ss@db/app") == "p%40ss"
    assert url_password("postgresql://app@db/app") is None


def test_secret_spellings_are_masked() -> None:
    redactor = Redactor(["p@ss word\\x"])
    for spelling in ["p@ss word\\x", quote("p@ss word\\x", safe=""), json.dumps("p@ss word\\x")]:
        assert "p@ss" not in redactor.redact(f"before {spelling} after")
        assert "p%40ss" not in redactor.redact(f"before {spelling} after")


def test_settings_and_short_values() -> None:
    redactor = Redactor(["ab"])
    assert redactor.redact("host=db password=hunter2 user=app") == ("host=db password=*** user=app")
    assert redactor.redact("ab stays: too short to be treated as a secret") == (
        "ab stays: too short to be treated as a secret"
    )


def test_add_value_and_url_and_extended() -> None:
    redactor = Redactor()
    redactor.add_value({"DATABASE_URL": "postgresql://u:topsecret@h/d", "N": ["tokenvalue"]})
    assert redactor.redact("topsecret tokenvalue") == f"{MASK} {MASK}"
    child = redactor.extended(["childsecret"], urls=["mysql://u:urlsecret@h/d"])
    assert child.redact("childsecret urlsecret topsecret") == f"{MASK} {MASK} {MASK}"
    assert redactor.redact("childsecret") == "childsecret", "extending leaves the parent alone"


@given(secret=secrets_text, before=st.text(max_size=30), after=st.text(max_size=30))
def test_a_known_secret_never_survives(secret: str, before: str, after: str) -> None:
    text = Redactor([secret]).redact(before + secret + after)
    assert secret not in text
    assert MASK in text


@given(secrets=st.lists(secrets_text, min_size=1, max_size=4), text=st.text(max_size=80))
def test_no_secret_survives_among_others(secrets: list[str], text: str) -> None:
    mixed = text.join(secrets) + text
    redacted = Redactor(secrets).redact(mixed)
    for secret in secrets:
        assert secret not in redacted


_password_chars = st.characters(
    blacklist_categories=("Zs", "Zl", "Zp", "Cc", "Cs"), blacklist_characters="@/"
)


@given(password=st.text(_password_chars, min_size=1, max_size=20))
def test_url_passwords_are_masked_by_pattern(password: str) -> None:
    url = f"postgresql://user:{password}@db.example:5432/app"
    assert mask_url(url) == "postgresql://user:***@db.example:5432/app"
