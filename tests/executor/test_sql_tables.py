"""Which tables raw SQL in a migration touches, so that the review can size them."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable

import pytest

from alembic_provider.executor.process import WORKER_PATH


def _sql_tables() -> Callable[[str], list[str]]:
    sys.path.insert(0, str(WORKER_PATH))
    try:
        review = importlib.import_module("tfalembic_review")
    finally:
        sys.path.remove(str(WORKER_PATH))
    function: Callable[[str], list[str]] = review.sql_tables
    return function


sql_tables = _sql_tables()


@pytest.mark.parametrize(
    ("sql", "tables"),
    [
        ("TRUNCATE accounts; DELETE FROM logs", ["accounts", "logs"]),
        ('UPDATE "public"."accounts" SET active = true', ["accounts"]),
        ("ALTER TABLE IF EXISTS ONLY accounts ADD COLUMN note text", ["accounts"]),
        # A table the SQL creates has no size to read; what it is filled from has.
        ("CREATE TABLE t_r2 (id INTEGER PRIMARY KEY)", []),
        ("CREATE TABLE IF NOT EXISTS archive AS SELECT * FROM accounts", ["accounts"]),
        ("CREATE TEMP TABLE scratch (a int); INSERT INTO scratch SELECT a FROM big", ["big"]),
    ],
)
def test_the_tables_raw_sql_touches(sql: str, tables: list[str]) -> None:
    assert sql_tables(sql) == tables
