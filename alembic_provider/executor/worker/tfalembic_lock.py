"""The migration lock: a session-level advisory lock on PostgreSQL, MySQL and MariaDB.

SQLAlchemy is imported inside the functions, so importing this module needs only the standard
library. Never imports the provider package.
"""

from __future__ import annotations

import hashlib
import math
import sys
import time
import traceback
from typing import TYPE_CHECKING, Any

from tfalembic_errors import ReportedError, error_text
from tfalembic_lifeline import LIFELINE
from tfalembic_runtime import Facts

if TYPE_CHECKING:
    Result = dict[str, Any]

__all__ = ["Lock"]

_LOCKING_DIALECTS = ("postgresql", "mysql", "mariadb")


class Lock:
    """A session-level advisory lock, held on a connection of its own for the whole run.

    The connection comes from env.py's engine, so it carries the user's connect arguments;
    the lock name covers the version table, so unrelated projects sharing a server never wait
    for each other.
    """

    def __init__(self, connection: Any, release: str, params: Result) -> None:
        self.connection = connection
        self._release = release
        self._params = params

    @classmethod
    def acquire(cls, facts: Facts, timeout: float | None) -> Lock | None:
        if facts.dialect not in _LOCKING_DIALECTS:
            sys.stderr.write(f"No migration lock for dialect '{facts.dialect}'.\n")
            return None
        try:
            connection = facts.engine.connect()
        except Exception as exc:
            raise ReportedError(
                "lock",
                "The migration lock needs a connection of its own, but env.py's engine could "
                f"not open one ({error_text(exc)}); set 'lock = false' if nothing else migrates "
                "this database.",
                heads=facts.heads,
            ) from exc
        started = time.monotonic()
        LIFELINE.track(connection, guard_commits=False)
        try:
            return cls._take(connection, facts, timeout)
        except ReportedError:
            connection.close()
            raise
        except Exception as exc:
            connection.close()
            if timeout is not None and time.monotonic() - started >= timeout * 0.9:
                raise _lock_timeout(facts, timeout) from exc
            raise ReportedError(
                "database",
                f"Taking the migration lock failed: {error_text(exc)}",
                heads=facts.heads,
            ) from exc

    @classmethod
    def _take(cls, connection: Any, facts: Facts, timeout: float | None) -> Lock:
        from sqlalchemy import text

        name = f"{facts.version_table_schema or ''}.{facts.version_table}"
        if facts.dialect == "postgresql":
            digest = hashlib.sha256(("alembic_provider:" + name).encode("utf-8")).digest()
            params: Result = {"key": int.from_bytes(digest[:8], "big", signed=True)}
            wait = "0" if timeout is None else f"{max(1, int(timeout * 1000))}ms"
            with connection.begin():
                connection.execute(
                    text("SELECT set_config('lock_timeout', :wait, true)"), {"wait": wait}
                )
                connection.execute(text("SELECT pg_advisory_lock(:key)"), params)
            return cls(connection, "SELECT pg_advisory_unlock(:key)", params)
        with connection.begin():
            database = connection.execute(text("SELECT DATABASE()")).scalar()
            key = f"{database}.{name}".encode()
            params = {"name": "alembic:" + hashlib.sha1(key).hexdigest()}
            seconds = 31536000 if timeout is None else math.ceil(timeout)
            got = connection.execute(
                text("SELECT GET_LOCK(:name, :seconds)"), dict(params, seconds=seconds)
            ).scalar()
        if got != 1:
            raise _lock_timeout(facts, timeout)
        return cls(connection, "SELECT RELEASE_LOCK(:name)", params)

    def release(self) -> None:
        from sqlalchemy import text

        try:
            with self.connection.begin():
                self.connection.execute(text(self._release), self._params)
        except Exception:
            traceback.print_exc()
            self.connection.invalidate()
        finally:
            self.connection.close()


def _lock_timeout(facts: Facts, timeout: float | None) -> ReportedError:
    waited = "too long" if timeout is None else f"for more than {timeout:g} seconds"
    return ReportedError(
        "lock_timeout",
        f"Another run held the migration lock on this database (version table "
        f"'{facts.version_table}') {waited}. Let it finish and apply again, raise "
        "'lock_timeout', or set 'lock = false' if nothing else migrates this database.",
        heads=facts.heads,
    )
