"""The bound on waiting for locks (``tfalembic_lockwait``): what it sets, what it recognises.

The worker module needs only the standard library, so it is loaded from its file; the driver
errors are stand-ins shaped like psycopg2's, psycopg's and PyMySQL's.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from alembic_provider.executor.process import WORKER_PATH


def _module() -> ModuleType:
    path = Path(WORKER_PATH) / "tfalembic_lockwait.py"
    spec = importlib.util.spec_from_file_location("tfalembic_lockwait", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


LOCKWAIT = _module()


class _Connection:
    def __init__(self) -> None:
        self.statements: list[str] = []

    def exec_driver_sql(self, statement: str) -> None:
        self.statements.append(statement)


class _DriverError(Exception):
    def __init__(self, *args: Any, pgcode: str | None = None, sqlstate: str | None = None):
        super().__init__(*args)
        self.pgcode = pgcode
        self.sqlstate = sqlstate


class _WrappedError(Exception):
    """SQLAlchemy's DBAPIError shape: the driver's error and the statement that failed."""

    def __init__(self, orig: Exception, statement: str) -> None:
        super().__init__(str(orig))
        self.orig = orig
        self.statement = statement


@pytest.mark.parametrize(
    ("dialect", "seconds", "expected"),
    [
        ("postgresql", 5.0, ["SET lock_timeout = '5000ms'"]),
        ("postgresql", 0.0001, ["SET lock_timeout = '1ms'"]),
        (
            "mariadb",
            2.5,
            ["SET SESSION lock_wait_timeout = 3, innodb_lock_wait_timeout = 3"],
        ),
        ("mysql", 0.2, ["SET SESSION lock_wait_timeout = 1, innodb_lock_wait_timeout = 1"]),
        ("sqlite", 5.0, []),
        ("postgresql", None, []),
    ],
)
def test_the_bound_is_set_per_dialect_and_unset_means_nothing(
    dialect: str, seconds: float | None, expected: list[str]
) -> None:
    connection = _Connection()
    LOCKWAIT.bound_lock_waits(connection, dialect, seconds)
    assert connection.statements == expected


@pytest.mark.parametrize(
    ("orig", "statement", "table"),
    [
        (
            _DriverError("canceling statement due to lock timeout", pgcode="55P03"),
            "ALTER TABLE accounts ADD COLUMN note VARCHAR(20)",
            "accounts",
        ),
        (
            _DriverError("canceling statement due to lock timeout", sqlstate="55P03"),
            'ALTER TABLE "public"."accounts" DROP COLUMN legacy',
            "public.accounts",
        ),
        (
            _DriverError(1205, "Lock wait timeout exceeded; try restarting transaction"),
            "CREATE INDEX ix_name ON `accounts` (name)",
            "accounts",
        ),
        (
            _DriverError(1205, "Lock wait timeout exceeded; try restarting transaction"),
            "UPDATE alembic_version SET version_num='r2' WHERE alembic_version.version_num = 'r1'",
            "alembic_version",
        ),
        (_DriverError("canceling statement due to lock timeout", pgcode="55P03"), "SELECT 1", ""),
    ],
)
def test_a_lock_wait_timeout_is_recognised_with_its_table(
    orig: Exception, statement: str, table: str
) -> None:
    assert LOCKWAIT.lock_wait_table(_WrappedError(orig, statement)) == table


@pytest.mark.parametrize(
    "exc",
    [
        _WrappedError(
            _DriverError("deadlock detected", pgcode="40P01"), "ALTER TABLE accounts ADD x INT"
        ),
        _WrappedError(_DriverError(1213, "Deadlock found"), "UPDATE accounts SET x = 1"),
        RuntimeError("not a database error"),
    ],
)
def test_other_errors_are_not_lock_waits(exc: Exception) -> None:
    assert LOCKWAIT.lock_wait_table(exc) is None
