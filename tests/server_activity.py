"""What a PostgreSQL or MariaDB server is doing for one test database, asked from outside.

Tests that stop a migration mid-statement check the server afterwards: no statement of theirs
still sleeping, no migration lock held, or another run waiting for the lock. Each question opens
its own short-lived connection to the test's own database and only reads.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.pool import NullPool

__all__ = ["held_locks", "scalar", "sleeping_statements", "waiting_for_lock"]

#: The name MariaDB's migration lock takes for a database's ``alembic_version`` table.
_MARIADB_LOCK = "CONCAT('alembic:', SHA1(CONCAT(DATABASE(), '..alembic_version')))"


def scalar(url: str, sql: str) -> int:
    """Run one statement on a connection of its own and return its single value as an int."""
    engine = sa.create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            return int(connection.execute(sa.text(sql)).scalar() or 0)
    finally:
        engine.dispose()


def sleeping_statements(url: str) -> int:
    """How many statements of this database are sleeping on the server (``pg_sleep``/``SLEEP``)."""
    if url.startswith("postgresql"):
        return scalar(
            url,
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND query LIKE 'SELECT pg_sleep%' AND state = 'active'",
        )
    return scalar(
        url,
        "SELECT count(*) FROM information_schema.processlist "
        "WHERE db = DATABASE() AND info LIKE 'SELECT SLEEP%'",
    )


def held_locks(url: str) -> int:
    """How many migration locks are held on this database."""
    if url.startswith("postgresql"):
        return scalar(
            url,
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND database = "
            "(SELECT oid FROM pg_database WHERE datname = current_database())",
        )
    return scalar(url, f"SELECT COALESCE(IS_USED_LOCK({_MARIADB_LOCK}), 0) > 0")


def waiting_for_lock(url: str) -> bool:
    """Whether a session of this database waits for a migration lock another one holds."""
    if url.startswith("postgresql"):
        return bool(
            scalar(
                url,
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted AND "
                "database = (SELECT oid FROM pg_database WHERE datname = current_database())",
            )
        )
    return bool(
        scalar(
            url,
            "SELECT count(*) FROM information_schema.processlist "
            "WHERE state = 'User lock' AND db = DATABASE()",
        )
    )
