"""Run env.py inside an EnvironmentContext with a small ``fn``, and read what it saw.

Alembic is imported inside the functions, so importing this module needs only the standard
library. Never imports the provider package.
"""

from __future__ import annotations

import hashlib
import os
import traceback
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from tfalembic_alembic import began_before_alembic, stamp_steps
from tfalembic_config import placeholder_url
from tfalembic_errors import (
    ReportedError,
    database_failure_kind,
    driver_failure,
    error_text,
    import_failure,
    is_driver_failure,
)
from tfalembic_lifeline import LIFELINE
from tfalembic_lockwait import bound_lock_waits
from tfalembic_scripts import check_known, step_pair, steps_to

__all__ = [
    "Facts",
    "Reader",
    "Runner",
    "env_failure",
    "fingerprint",
    "read_database",
    "read_directly",
    "run_env",
]


class Facts:
    """What one ``fn`` call saw of the database env.py connected to."""

    def __init__(self, heads: Sequence[str], context: Any) -> None:
        self.heads = tuple(sorted(heads))
        self.dialect: str = context.dialect.name
        #: The server's own name: SQLAlchemy calls MariaDB "mysql" unless the URL says mariadb.
        self.server: str = _server_name(context.dialect)
        self.engine: Any = getattr(getattr(context, "connection", None), "engine", None)
        self.version_table: str = getattr(context, "version_table", "alembic_version")
        self.version_table_schema: str | None = getattr(context, "version_table_schema", None)
        self.database = fingerprint(self.engine, self.version_table, self.version_table_schema)


def _server_name(dialect: Any) -> str:
    if getattr(dialect, "is_mariadb", False) or dialect.name == "mariadb":
        return "MariaDB"
    name = str(dialect.name)
    return {"mysql": "MySQL", "postgresql": "PostgreSQL", "sqlite": "SQLite"}.get(name, name)


def fingerprint(engine: Any, version_table: str, schema: str | None) -> str | None:
    """Name the version table env.py connected to, without the password: a short hash.

    Made of the backend, host, port, database name, version table schema and version table:
    user, password, driver and query options are left out. Two resources whose env.py connect
    to the same version table get the same name, so the provider can plan one from what the
    other will leave. SQLite files are named by their absolute path. None when env.py gave no
    engine to look at.
    """
    url = getattr(engine, "url", None)
    if url is None:
        return None
    database = url.database or ""
    if url.get_backend_name() == "sqlite" and database and database != ":memory:":
        database = os.path.abspath(database)
    parts = [url.get_backend_name(), url.host or "", str(url.port or ""), database]
    parts += [schema or "", version_table]
    return hashlib.sha256("\0".join(parts).encode("utf-8")).hexdigest()[:16]


class Reader:
    """An ``fn`` that records the heads and runs nothing, like ``alembic current``.

    :param also: called with what the first call saw and env.py's context, while env.py's
        connection is open: more reading in the same run of env.py.
    """

    def __init__(self, also: Callable[[Facts, Any], None] | None = None) -> None:
        self.calls: list[Facts] = []
        self.also = also

    def __call__(self, heads: Sequence[str], context: Any) -> list[Any]:
        self.calls.append(Facts(heads, context))
        if self.also is not None and len(self.calls) == 1:
            self.also(self.calls[0], context)
        return []


class Runner:
    """An ``fn`` that yields the steps one at a time, so a failure names its revision."""

    def __init__(
        self,
        script: Any,
        verb: str,
        target: str | tuple[str, ...],
        narrow: Callable[[Sequence[str]], tuple[str, ...]] | None = None,
        lock_waits: float | None = None,
    ) -> None:
        """:param narrow: given the heads Alembic read (under the lock), the destination to
        move to instead of ``target``.
        :param lock_waits: seconds each migration statement may wait for a lock."""
        self.script = script
        self.lock_waits = lock_waits
        self.verb = verb
        self.target = target
        self.narrow = narrow
        self.state = "before"
        self.facts: Facts | None = None
        self.active: list[str] | None = None
        self.done: list[list[str]] = []
        #: The statements the active revision ran to completion, in order.
        self.ran: list[str] = []
        self.commit_between: Callable[[], None] | None = None

    def __call__(self, heads: Sequence[str], context: Any) -> Iterator[Any]:
        self.facts = Facts(heads, context)
        connection = getattr(context, "connection", None)
        if connection is not None and not getattr(context, "as_sql", False):
            LIFELINE.track(connection)
            bound_lock_waits(connection, context.dialect.name, self.lock_waits)
            _record_statements(connection, self.ran)
        self.state = "planning"
        if self.narrow is not None:
            self.target = self.narrow(heads)
        if self.verb == "stamp":
            steps = stamp_steps(self.script, self.target, heads)
        else:
            check_known(self.script, heads)
            steps = steps_to(self.script, self.verb, self.target, heads)
        self.state = "running"
        self.commit_between = _boundary_commit(context)
        return self._each(steps)

    def _each(self, steps: Sequence[Any]) -> Iterator[Any]:
        for step in steps:
            LIFELINE.check()
            # A stamp step (``from_``/``to_``) runs no migration of its own.
            self.active = None if hasattr(step, "from_") else step_pair(step)
            self.ran.clear()
            yield step
            if self.active is not None:
                self.done.append(self.active)
                if self.commit_between is not None:
                    LIFELINE.check()
                    self.commit_between()
            self.active = None
        self.state = "finished"


def _record_statements(connection: Any, ran: list[str]) -> None:
    """Keep each statement the connection completes, so a failure can say what ran before it."""
    from sqlalchemy import event

    def completed(*args: Any) -> None:
        ran.append(str(args[2]))

    event.listen(connection, "after_cursor_execute", completed)


def _boundary_commit(context: Any) -> Callable[[], None] | None:
    """On MySQL and MariaDB, commit after each migration when Alembic will not.

    DDL commits implicitly there, so a migration's tables outlive any failure, but the version
    row written after its last statement is kept only if something commits before the next
    migration fails. Alembic commits each migration on its own (the env.py ``alembic init``
    writes included) unless env.py runs the migrations inside a transaction of its own
    (``engine.begin()``, or a query before ``configure()`` that began one) or forces
    ``transactional_ddl`` without ``transaction_per_migration``. Then a ``COMMIT`` between
    migrations, a statement like the DDL that would commit anyway, keeps the version table at
    the last migration that completed. Other databases keep the transaction env.py chose.
    """
    connection = getattr(context, "connection", None)
    if connection is None or getattr(context, "as_sql", False):
        return None
    if context.dialect.name not in ("mysql", "mariadb"):
        return None
    one_transaction = bool(getattr(context.impl, "transactional_ddl", False)) and not bool(
        context.opts.get("transaction_per_migration", False)
    )
    if not (began_before_alembic(context) or one_transaction):
        return None
    return lambda: connection.exec_driver_sql("COMMIT")


def run_env(config: Any, script: Any, fn: Callable[..., Any], **options: Any) -> None:
    from alembic.runtime.environment import EnvironmentContext

    with EnvironmentContext(config, script, fn=fn, **options):
        script.run_env()


def env_failure(exc: BaseException, offline: bool = False, config: Any = None) -> ReportedError:
    """Word a failure of env.py itself (not of a migration) for the user."""
    if isinstance(exc, ReportedError):
        return exc
    placeholder = placeholder_url(config, exc)
    if placeholder is not None:
        return placeholder
    if isinstance(exc, ImportError):
        return import_failure(exc)
    if is_driver_failure(exc):
        return driver_failure(exc)
    if isinstance(exc, SystemExit):
        return ReportedError("env", f"env.py exited with sys.exit({exc.code!r}).")
    if offline:
        return ReportedError("offline", f"env.py failed in offline (--sql) mode: {error_text(exc)}")
    import sqlalchemy.exc

    if isinstance(exc, sqlalchemy.exc.DBAPIError):
        return ReportedError(
            database_failure_kind(exc), f"env.py could not use the database: {error_text(exc)}"
        )
    return ReportedError("env", f"env.py failed: {error_text(exc)}")


def read_database(
    config: Any,
    script: Any,
    tag: str | None,
    also: Callable[[Facts, Any], None] | None = None,
) -> Facts:
    """Run env.py the way ``alembic current`` does and return what it saw; writes nothing.

    :param also: see :class:`Reader`.
    """
    reader = Reader(also)
    try:
        run_env(config, script, reader, dont_mutate=True, tag=tag)
    except BaseException as exc:
        raise env_failure(exc, config=config) from exc
    if not reader.calls:
        raise ReportedError(
            "env",
            f"env.py in '{script.dir}' never called context.run_migrations(), so the database "
            "could not be read.",
        )
    seen = sorted({facts.heads for facts in reader.calls})
    if len(seen) > 1:
        raise ReportedError(
            "env",
            f"env.py called context.run_migrations() {len(reader.calls)} times and saw "
            f"different heads ({'; '.join(','.join(h) or 'base' for h in seen)}); the provider "
            "tracks one version table per resource.",
        )
    return reader.calls[0]


def read_directly(facts: Facts | None, connection: Any = None) -> tuple[str, ...] | None:
    """Read the version table without env.py, on a connection of our own; None if impossible."""
    from alembic.runtime.migration import MigrationContext

    if facts is None or (connection is None and facts.engine is None):
        return None
    opts = {
        "version_table": facts.version_table,
        "version_table_schema": facts.version_table_schema,
    }
    try:
        if connection is None:
            with facts.engine.connect() as own:
                return tuple(sorted(MigrationContext.configure(own, opts=opts).get_current_heads()))
        with connection.begin():
            heads = MigrationContext.configure(connection, opts=opts).get_current_heads()
        return tuple(sorted(heads))
    except Exception:
        traceback.print_exc()
        return None
