"""How long a migration's statements wait for table and row locks, and the failure past it.

A migration stuck behind another session's long transaction would otherwise wait as long as
the server lets it, and every query that queues behind it waits too. The bound is set on the
connection Alembic hands to the migrations, once its transaction is open, so it holds for
every statement they run however env.py built that connection. Part of the worker: standard
library only, Python 3.8 syntax, never imports the provider package.
"""

from __future__ import annotations

import math
import re
from typing import Any

__all__ = ["bound_lock_waits", "lock_wait_table"]

#: PostgreSQL's lock_not_available: ``lock_timeout`` (or ``NOWAIT``) gave up on a lock.
_PG_LOCK_NOT_AVAILABLE = "55P03"
#: MySQL and MariaDB's "Lock wait timeout exceeded", for metadata and InnoDB row locks alike.
_MYSQL_LOCK_WAIT_TIMEOUT = 1205
_PART = r"(?:[`\"\[]?[\w$]+[`\"\]]?)"
#: A table name, perhaps schema-qualified, each part perhaps quoted.
_NAME = rf"({_PART}(?:\.{_PART})?)"
#: The table a statement locks, from its first words.
_TABLE = re.compile(
    r"^\s*(?:"
    rf"ALTER\s+TABLE\s+(?:IF\s+EXISTS\s+)?(?:ONLY\s+)?{_NAME}"
    rf"|DROP\s+TABLE\s+(?:IF\s+EXISTS\s+)?{_NAME}"
    rf"|TRUNCATE\s+(?:TABLE\s+)?{_NAME}"
    rf"|LOCK\s+TABLES?\s+{_NAME}"
    rf"|CREATE\s+(?:UNIQUE\s+)?INDEX\s+.*?\bON\s+(?:ONLY\s+)?{_NAME}"
    rf"|INSERT\s+INTO\s+{_NAME}"
    rf"|UPDATE\s+{_NAME}"
    rf"|DELETE\s+FROM\s+{_NAME}"
    rf"|RENAME\s+TABLE\s+{_NAME}"
    r")(?:\s|\(|;|$)",
    re.IGNORECASE | re.DOTALL,
)


def bound_lock_waits(connection: Any, dialect: str, seconds: float | None) -> None:
    """Make every later statement on ``connection`` wait at most ``seconds`` for a lock.

    Session-level, so it outlives the transaction it is set in once that commits. SQLite locks the
    whole file, and its driver already gives up after its own busy timeout (``timeout``, 5
    seconds by default in ``sqlite3``), so nothing is set there.
    """
    if seconds is None:
        return
    if dialect == "postgresql":
        milliseconds = max(1, math.ceil(seconds * 1000))
        connection.exec_driver_sql(f"SET lock_timeout = '{milliseconds}ms'")
    elif dialect in ("mysql", "mariadb"):
        whole = max(1, math.ceil(seconds))
        connection.exec_driver_sql(
            f"SET SESSION lock_wait_timeout = {whole}, innodb_lock_wait_timeout = {whole}"
        )


def lock_wait_table(exc: BaseException) -> str | None:
    """Tell whether ``exc`` is a statement that gave up waiting for a lock, and on what.

    Returns the table the statement named (``""`` when it cannot be told), or None when the
    error is something else.
    """
    orig = getattr(exc, "orig", None)
    if orig is None:
        return None
    state = getattr(orig, "pgcode", None) or getattr(orig, "sqlstate", None)
    args = getattr(orig, "args", ())
    number = args[0] if args and isinstance(args[0], int) else None
    if state != _PG_LOCK_NOT_AVAILABLE and number != _MYSQL_LOCK_WAIT_TIMEOUT:
        return None
    match = _TABLE.match(str(getattr(exc, "statement", "") or ""))
    if match is None:
        return ""
    name = next((group for group in match.groups() if group), "")
    return re.sub(r"[`\"\[\]]", "", name)
