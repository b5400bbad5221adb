from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from alembic_provider.redaction import Redactor, mask_url


def test_mask_url_hides_only_the_password() -> None:
    assert mask_url("postgresql://app:pa:ss@db:5432/x") == "postgresql://app:***@db:5432/x"
    assert mask_url("sqlite:///tmp/x.db") == "sqlite:///tmp/x.db"
    assert mask_url("mysql+pymysql://root@h/db") == "mysql+pymysql://root@h/db"


def test_learned_values_and_url_passwords_are_hidden() -> None:
    redactor = Redactor()
    redactor.add_value({"DATABASE_URL": "postgresql://app:hunter2@db/x", "TOKEN": "abc123"})
    text = "connect to db with hunter2 and abc123 failed"
    assert redactor.redact(text) == "connect to db with *** and *** failed"


def test_quoted_forms_are_hidden_too() -> None:
    redactor = Redactor(["p@ss word"])
    assert redactor.redact("url postgresql://u:p%40ss%20word@h/db") == "url postgresql://u:***@h/db"
    assert "p@ss" not in redactor.redact("raw p@ss word here")


@given(st.text(min_size=3, max_size=30).filter(lambda s: s.strip() == s and s))
def test_any_learned_secret_never_survives(secret: str) -> None:
    redactor = Redactor([secret])
    assert secret not in redactor.redact(f"before {secret} after {secret}")


def test_the_servers_own_words_about_a_password_survive() -> None:
    """MySQL and MariaDB say whether a password was sent; that is not the password."""
    redactor = Redactor(["s3cret-pw"])
    for sent in ("YES", "NO"):
        text = f"(1045, \"Access denied for user 'app'@'10.0.0.1' (using password: {sent})\")"
        assert redactor.redact(text) == text


def test_password_settings_are_still_masked() -> None:
    redactor = Redactor()
    assert redactor.redact("password: hunter2)") == "password: ***"
    assert redactor.redact("password: YESSIR") == "password: ***"
    assert redactor.redact("password=YES)") == "password=***"
    assert redactor.redact("host=db password=YES) user=x") == "host=db password=*** user=x"
