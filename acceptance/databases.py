"""Throwaway databases for acceptance tests: SQLite, PostgreSQL and MariaDB.

SQLite is a file in the test's tmp dir. PostgreSQL and MariaDB come from a server named by
``ALEMBIC_TEST_POSTGRES_URL`` / ``ALEMBIC_TEST_MARIADB_URL`` (local defaults otherwise); each test
gets a freshly created database with a random name, dropped afterwards. When the PostgreSQL
server is unreachable and Docker is, a testcontainers PostgreSQL is used instead. Test code only:
the provider process never imports this module or SQLAlchemy.
"""

from __future__ import annotations

import importlib
import importlib.util
import secrets
import socket
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import URL, make_url
from sqlalchemy.pool import NullPool

from tests.alembic_projects import database_on

__all__ = [
    "DEFAULT_URLS",
    "KINDS",
    "URL_VARIABLES",
    "Database",
    "ServerPool",
    "Unavailable",
    "database_exists",
    "fresh_database",
    "read_only",
    "sqlite_database",
    "with_available_driver",
]

KINDS = ("sqlite", "postgresql", "mariadb")
URL_VARIABLES = {
    "postgresql": "ALEMBIC_TEST_POSTGRES_URL",
    "mariadb": "ALEMBIC_TEST_MARIADB_URL",
}
DEFAULT_URLS = {
    "postgresql": "postgresql://postgres@127.0.0.1:5432/postgres",
    "mariadb": "mysql+pymysql://root@127.0.0.1:3306/mysql",
}
_DEFAULT_PORTS = {"postgresql": 5432, "mariadb": 3306}
_CONNECT_TIMEOUT = 3.0
_CONTAINER_IMAGE = "postgres:16-alpine"


@dataclass(frozen=True)
class Database:
    """A database a test may migrate; ``url`` includes any password, ``repr`` hides it."""

    kind: str
    url: str = field(repr=False)

    def __repr__(self) -> str:
        return f"Database(kind={self.kind!r}, url={make_url(self.url)!r})"

    def engine(self) -> sa.Engine:
        """Return an engine without pooling, so no connection outlives its use."""
        return sa.create_engine(self.url, poolclass=NullPool)

    def heads(self) -> tuple[str, ...]:
        """Read the revisions in ``alembic_version``, sorted; empty when the table is absent."""
        engine = self.engine()
        try:
            with engine.connect() as conn:
                if not sa.inspect(conn).has_table("alembic_version"):
                    return ()
                rows = conn.execute(sa.text("SELECT version_num FROM alembic_version"))
                return tuple(sorted(str(row[0]) for row in rows))
        finally:
            engine.dispose()

    def table_names(self) -> set[str]:
        """Return the names of the tables in the database."""
        engine = self.engine()
        try:
            with engine.connect() as conn:
                return set(sa.inspect(conn).get_table_names())
        finally:
            engine.dispose()


@dataclass(frozen=True)
class Unavailable:
    """Why a database server cannot be used, in words fit for a skip or failure message."""

    reason: str


def with_available_driver(url: URL) -> URL:
    """Name a DBAPI driver installed here when the URL names none.

    SQLAlchemy 2.1 picks ``psycopg`` for a bare ``postgresql://``; the project installs
    ``psycopg2``. The same URL goes to the migrations run by the provider, in the same virtualenv.
    """
    backend, _, driver = url.drivername.partition("+")
    if driver:
        return url
    if backend == "postgresql" and importlib.util.find_spec("psycopg") is None:
        return url.set(drivername="postgresql+psycopg2")
    if backend in ("mysql", "mariadb") and importlib.util.find_spec("MySQLdb") is None:
        return url.set(drivername=f"{backend}+pymysql")
    return url


def _reachable(url: URL, default_port: int) -> bool:
    try:
        with socket.create_connection(
            (url.host or "127.0.0.1", url.port or default_port), timeout=_CONNECT_TIMEOUT
        ):
            return True
    except OSError:
        return False


def _docker_reachable() -> bool:
    try:
        docker = importlib.import_module("docker")
    except ImportError:
        return False
    try:
        client = docker.from_env(timeout=int(_CONNECT_TIMEOUT))
        try:
            return bool(client.ping())
        finally:
            client.close()
    except (docker.errors.DockerException, OSError):
        return False


def _start_postgres_container(stack: ExitStack) -> URL:
    try:
        from testcontainers.community.postgres import PostgresContainer
    except ImportError:
        from testcontainers.postgres import PostgresContainer
    container = PostgresContainer(_CONTAINER_IMAGE, driver="psycopg2")
    container.start()
    stack.callback(container.stop)
    return make_url(container.get_connection_url())


class ServerPool:
    """Finds each server once per session and owns any container started for it."""

    def __init__(self, environ: dict[str, str]) -> None:
        self._environ = environ
        self._stack = ExitStack()
        self._servers: dict[str, URL | Unavailable] = {}

    def server(self, kind: str) -> URL | Unavailable:
        """Return the admin URL of the server for ``kind``, or why there is none."""
        if kind not in self._servers:
            self._servers[kind] = self._find(kind)
        return self._servers[kind]

    def _find(self, kind: str) -> URL | Unavailable:
        variable = URL_VARIABLES[kind]
        url = with_available_driver(make_url(self._environ.get(variable) or DEFAULT_URLS[kind]))
        if _reachable(url, _DEFAULT_PORTS[kind]):
            return url
        where = f"{url.host or '127.0.0.1'}:{url.port or _DEFAULT_PORTS[kind]}"
        if kind == "postgresql" and _docker_reachable():
            return _start_postgres_container(self._stack)
        docker_note = " and Docker is not reachable" if kind == "postgresql" else ""
        return Unavailable(
            f"The {kind} server at {where} (from {variable} or its default) is unreachable"
            f"{docker_note}; start one or set {variable}."
        )

    def close(self) -> None:
        """Stop any container this pool started."""
        self._stack.close()


@contextmanager
def fresh_database(kind: str, server: URL) -> Iterator[Database]:
    """Create an empty database with a random name on ``server`` and drop it afterwards."""
    with database_on(server, prefix="acc_") as url:
        yield Database(kind, url)


def sqlite_database(directory: Path) -> Database:
    """Return a SQLite database file in ``directory`` (created on first connection)."""
    return Database("sqlite", f"sqlite:///{directory / 'acceptance.sqlite'}")


def database_exists(kind: str, server: URL, name: str) -> bool:
    """Return whether a database called ``name`` exists on ``server``."""
    query = (
        "SELECT 1 FROM pg_database WHERE datname = :name"
        if kind == "postgresql"
        else "SELECT 1 FROM information_schema.schemata WHERE schema_name = :name"
    )
    engine = sa.create_engine(server, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            return conn.execute(sa.text(query), {"name": name}).first() is not None
    finally:
        engine.dispose()


@contextmanager
def read_only(database: Database) -> Iterator[Database]:
    """Yield ``database`` as seen by a new login that may read it and write nothing at all.

    The login is created on the database's server (PostgreSQL: a role with ``SELECT`` only
    and read-only transactions; MariaDB: a user with ``SELECT`` only) and dropped afterwards.
    Before yielding, a write through it is shown to fail, so a test relying on it cannot pass
    because the login could write after all.
    """
    admin = make_url(database.url)
    name = "ro_" + secrets.token_hex(6)
    password = secrets.token_hex(12)
    reader = Database(
        database.kind,
        admin.set(username=name, password=password).render_as_string(hide_password=False),
    )
    postgres = database.kind == "postgresql"
    if postgres:
        grant = [
            f"CREATE ROLE {name} LOGIN PASSWORD '{password}'",
            f"ALTER ROLE {name} SET default_transaction_read_only = on",
            f"GRANT CONNECT ON DATABASE {admin.database} TO {name}",
            f"GRANT USAGE ON SCHEMA public TO {name}",
            f"GRANT SELECT ON ALL TABLES IN SCHEMA public TO {name}",
            f"ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON TABLES TO {name}",
        ]
        revoke = [
            f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = '{name}'",
            f"DROP OWNED BY {name}",
            f"REVOKE CONNECT ON DATABASE {admin.database} FROM {name}",
            f"DROP ROLE {name}",
        ]
    else:
        grant = [
            f"CREATE USER '{name}'@'%' IDENTIFIED BY '{password}'",
            f"GRANT SELECT ON `{admin.database}`.* TO '{name}'@'%'",
        ]
        revoke = [f"DROP USER '{name}'@'%'"]
    engine = sa.create_engine(admin, poolclass=NullPool, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            for statement in grant:
                connection.execute(sa.text(statement))
        try:
            _refuses_writes(reader)
            yield reader
        finally:
            with engine.connect() as connection:
                for statement in revoke:
                    connection.execute(sa.text(statement))
    finally:
        engine.dispose()


def _refuses_writes(reader: Database) -> None:
    engine = reader.engine()
    try:
        with engine.connect() as connection:
            try:
                connection.execute(sa.text("CREATE TABLE read_only_probe (id INTEGER)"))
            except sa.exc.DBAPIError:
                return
            raise AssertionError(f"{reader!r} could create a table: it is not read-only")
    finally:
        engine.dispose()
