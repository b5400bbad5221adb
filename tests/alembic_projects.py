"""Generate small Alembic projects and throwaway databases for tests.

Every suite that needs a real Alembic project (executor, acceptance, stateful) builds it here in
its own ``tmp_path``, with fixed revision ids, so scenarios read like the revision graph they
test. The generated env.py reads the URL from ``DATABASE_URL`` when it is set, else from
``sqlalchemy.url``, the way the Go provider's example projects did. This module never imports
``alembic_provider``; it imports SQLAlchemy only inside the database helpers.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import textwrap
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlalchemy.engine import URL

__all__ = [
    "MARIADB_URL_VAR",
    "POSTGRES_URL_VAR",
    "Revision",
    "add_revision",
    "database_on",
    "database_reachable",
    "make_project",
    "server_url",
    "sqlite_url",
    "table_name",
    "tables",
    "throwaway_database",
    "version_rows",
]

POSTGRES_URL_VAR = "ALEMBIC_TEST_POSTGRES_URL"
MARIADB_URL_VAR = "ALEMBIC_TEST_MARIADB_URL"
_DEFAULT_SERVER_URLS = {
    "postgresql": "postgresql://postgres@127.0.0.1:5432/postgres",
    "mariadb": "mysql+pymysql://root@127.0.0.1:3306/mysql",
}
_SERVER_URL_VARS = {"postgresql": POSTGRES_URL_VAR, "mariadb": MARIADB_URL_VAR}
SCRIPT_LOCATION = "migrations"


@dataclass(frozen=True)
class Revision:
    """One revision file to generate; see :func:`add_revision` for the fields."""

    rev_id: str
    down_revision: str | Sequence[str] | None
    message: str = ""
    branch_labels: Sequence[str] | None = None
    depends_on: str | Sequence[str] | None = None
    upgrade_sql: str | Sequence[str] | None = None
    downgrade_sql: str | Sequence[str] | None = None
    upgrade_code: str = ""
    fail: bool = False


def table_name(rev_id: str) -> str:
    """Return the table a generated revision creates by default."""
    return "t_" + re.sub(r"\W", "_", rev_id).lower()


def sqlite_url(path: Path) -> str:
    """Return the SQLAlchemy URL of an SQLite file."""
    return f"sqlite:///{path}"


def make_project(
    tmp_path: Path,
    url: str | None = None,
    revisions: Sequence[Revision] = (),
    *,
    env_logs_to_stdout: bool = False,
    version_table: str | None = None,
    version_table_schema: str | None = None,
    transaction_per_migration: bool = False,
    config_name: str = "alembic.ini",
    section: str = "alembic",
    models: str | None = None,
    compare_server_default: bool = False,
) -> Path:
    """Write an Alembic project into ``tmp_path / "project"`` and return its directory.

    :param url: ``sqlalchemy.url`` of the ini; default an SQLite file beside the project.
    :param env_logs_to_stdout: route Alembic's logging and a few prints of env.py to stdout,
        as users often do, to prove nothing parses stdout.
    :param version_table: a custom version table name that only env.py knows.
    :param config_name: file name of the ini, relative to the project directory.
    :param section: the ini section holding the Alembic options.
    :param models: Python source defining ``target_metadata``, written to ``models.py`` and
        passed by env.py to ``context.configure`` (read afresh by each run of env.py).
    :param compare_server_default: env.py asks autogenerate to compare server defaults.
    """
    project = tmp_path / "project"
    (project / SCRIPT_LOCATION / "versions").mkdir(parents=True, exist_ok=True)
    if url is None:
        url = sqlite_url(tmp_path / "db.sqlite")
    stream = "sys.stdout" if env_logs_to_stdout else "sys.stderr"
    scripts = os.path.relpath(project / SCRIPT_LOCATION, (project / config_name).parent)
    ini = f"""\
        [{section}]
        script_location = %(here)s/{scripts}
        prepend_sys_path = .
        sqlalchemy.url = {url.replace("%", "%%")}

        [loggers]
        keys = root,sqlalchemy,alembic

        [handlers]
        keys = console

        [formatters]
        keys = generic

        [logger_root]
        level = WARNING
        handlers = console
        qualname =

        [logger_sqlalchemy]
        level = WARNING
        handlers =
        qualname = sqlalchemy.engine

        [logger_alembic]
        level = INFO
        handlers =
        qualname = alembic

        [handler_console]
        class = StreamHandler
        args = ({stream},)
        level = NOTSET
        formatter = generic

        [formatter_generic]
        format = %(levelname)-5.5s [%(name)s] %(message)s
        """
    (project / config_name).parent.mkdir(parents=True, exist_ok=True)
    (project / config_name).write_text(textwrap.dedent(ini))
    (project / SCRIPT_LOCATION / "env.py").write_text(
        _env_py(
            version_table=version_table or "alembic_version",
            version_table_schema=version_table_schema,
            transaction_per_migration=transaction_per_migration,
            prints=env_logs_to_stdout,
            models=models is not None,
            compare_server_default=compare_server_default,
        )
    )
    if models is not None:
        (project / "models.py").write_text(textwrap.dedent(models))
    (project / SCRIPT_LOCATION / "script.py.mako").write_text(_MAKO)
    for revision in revisions:
        add_revision(
            project,
            revision.rev_id,
            revision.down_revision,
            revision.message,
            branch_labels=revision.branch_labels,
            depends_on=revision.depends_on,
            upgrade_sql=revision.upgrade_sql,
            downgrade_sql=revision.downgrade_sql,
            upgrade_code=revision.upgrade_code,
            fail=revision.fail,
        )
    return project


def add_revision(
    project_dir: Path,
    rev_id: str,
    down_revision: str | Sequence[str] | None,
    message: str = "",
    *,
    branch_labels: Sequence[str] | None = None,
    depends_on: str | Sequence[str] | None = None,
    upgrade_sql: str | Sequence[str] | None = None,
    downgrade_sql: str | Sequence[str] | None = None,
    upgrade_code: str = "",
    fail: bool = False,
) -> Path:
    """Write one revision file and return its path.

    By default the upgrade creates the table :func:`table_name` and the downgrade drops it.

    :param upgrade_sql: statements to run instead of the default ``CREATE TABLE``.
    :param upgrade_code: Python statements run at the end of ``upgrade()`` (e.g. a wait).
    :param fail: after its statements, the upgrade runs a query that fails in the database.
        The revision also fails when the environment variable ``ALEMBIC_TEST_FAIL`` names it.
    """
    table = table_name(rev_id)
    ups = _statements(upgrade_sql, f"CREATE TABLE {table} (id INTEGER PRIMARY KEY)")
    downs = _statements(downgrade_sql, f"DROP TABLE {table}")
    body = [
        f'"""{message or rev_id}',
        "",
        f"Revision ID: {rev_id}",
        f"Revises: {down_revision}",
        '"""',
        "import os",
        "",
        "from alembic import op",
        "",
        f"revision = {rev_id!r}",
        f"down_revision = {_literal(down_revision)}",
        f"branch_labels = {_literal(branch_labels)}",
        f"depends_on = {_literal(depends_on)}",
        f"FAIL = {fail!r}",
        "",
        "",
        "def upgrade():",
        *[f"    op.execute({statement!r})" for statement in ups],
        *[f"    {line}" for line in textwrap.dedent(upgrade_code).splitlines()],
        '    if FAIL or os.environ.get("ALEMBIC_TEST_FAIL") == revision:',
        f'        op.execute("SELECT missing_column FROM missing_table_{table}")',
        "",
        "",
        "def downgrade():",
        *[f"    op.execute({statement!r})" for statement in downs],
        "    pass",
        "",
    ]
    safe = re.sub(r"\W", "_", rev_id)
    path = project_dir / SCRIPT_LOCATION / "versions" / f"{safe}.py"
    path.write_text("\n".join(body))
    return path


def _statements(value: str | Sequence[str] | None, default: str) -> list[str]:
    if value is None:
        return [default]
    if isinstance(value, str):
        return [value]
    return list(value)


def _literal(value: str | Sequence[str] | None) -> str:
    if value is None or isinstance(value, str):
        return repr(value)
    return repr(tuple(value))


def _env_py(
    *,
    version_table: str,
    version_table_schema: str | None,
    transaction_per_migration: bool,
    prints: bool,
    models: bool = False,
    compare_server_default: bool = False,
) -> str:
    return f'''\
"""env.py generated by tests/alembic_projects.py."""
import json
import logging.config
import os
import sys

from alembic import context
from sqlalchemy import create_engine, pool

config = context.config
if config.config_file_name is not None:
    logging.config.fileConfig(config.config_file_name)

PRINTS = {prints!r}
VERSION_TABLE = {version_table!r}
VERSION_TABLE_SCHEMA = {version_table_schema!r}
TRANSACTION_PER_MIGRATION = {transaction_per_migration!r}
COMPARE_SERVER_DEFAULT = {compare_server_default!r}
TARGET_METADATA = None
if {models!r}:
    import runpy

    TARGET_METADATA = runpy.run_path(
        os.path.join(os.path.dirname(config.config_file_name), "models.py")
    )["target_metadata"]


def database_url():
    return os.environ.get("DATABASE_URL") or config.get_main_option("sqlalchemy.url")


def record():
    path = os.environ.get("ALEMBIC_TEST_RECORD")
    if path:
        with open(path, "a") as handle:
            handle.write(json.dumps({{
                "x": context.get_x_argument(as_dictionary=True),
                "tag": context.get_tag_argument(),
                "offline": context.is_offline_mode(),
                "cwd": os.getcwd(),
                "pid": os.getpid(),
                "sys_path": sys.path,
                "environment": {{
                    k: v for k, v in os.environ.items() if k.startswith("ALEMBIC_TEST")
                }},
            }}) + "\\n")


def run_migrations_offline():
    context.configure(
        url=database_url(),
        literal_binds=True,
        version_table=VERSION_TABLE,
        version_table_schema=VERSION_TABLE_SCHEMA,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online():
    engine = create_engine(database_url(), poolclass=pool.NullPool)
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            version_table=VERSION_TABLE,
            version_table_schema=VERSION_TABLE_SCHEMA,
            transaction_per_migration=TRANSACTION_PER_MIGRATION,
            target_metadata=TARGET_METADATA,
            compare_server_default=COMPARE_SERVER_DEFAULT,
        )
        with context.begin_transaction():
            context.run_migrations()


if PRINTS:
    print("env.py starting; offline =", context.is_offline_mode())
record()
if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
if PRINTS:
    print("env.py done")
'''


_MAKO = '''\
"""${message}

Revision ID: ${up_revision}
Revises: ${down_revision | comma,n}
"""
from alembic import op
import sqlalchemy as sa

revision = ${repr(up_revision)}
down_revision = ${repr(down_revision)}
branch_labels = ${repr(branch_labels)}
depends_on = ${repr(depends_on)}


def upgrade():
    ${upgrades if upgrades else "pass"}


def downgrade():
    ${downgrades if downgrades else "pass"}
'''


def server_url(backend: str) -> str:
    """Return the administrative URL of a test server (``postgresql`` or ``mariadb``).

    A URL without a driver gets one that is installed: SQLAlchemy 2.1 reads a bare
    ``postgresql://`` as psycopg 3, while the test environment may only have psycopg2.
    """
    import importlib.util

    import sqlalchemy as sa

    url = sa.make_url(os.environ.get(_SERVER_URL_VARS[backend], _DEFAULT_SERVER_URLS[backend]))
    if url.drivername == "postgresql" and importlib.util.find_spec("psycopg") is None:
        url = url.set(drivername="postgresql+psycopg2")
    return url.render_as_string(hide_password=False)


def database_reachable(backend: str) -> bool:
    """Tell whether the test server of ``backend`` accepts a connection."""
    import sqlalchemy as sa

    engine = sa.create_engine(server_url(backend), poolclass=sa.pool.NullPool)
    try:
        with engine.connect():
            return True
    except sa.exc.SQLAlchemyError:
        return False
    finally:
        engine.dispose()


@contextlib.contextmanager
def database_on(server: str | URL, prefix: str = "alembic_test_") -> Iterator[str]:
    """Create a database with a random name on ``server``, yield its URL, then drop it.

    PostgreSQL drops it ``WITH (FORCE)``: a session a killed test left open must not keep it.
    """
    import sqlalchemy as sa

    admin = sa.make_url(server)
    name = prefix + secrets.token_hex(6)
    engine = sa.create_engine(admin, poolclass=sa.pool.NullPool, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            connection.execute(sa.text(f"CREATE DATABASE {name}"))
        try:
            yield admin.set(database=name).render_as_string(hide_password=False)
        finally:
            drop = f"DROP DATABASE IF EXISTS {name}"
            if admin.get_backend_name() == "postgresql":
                drop += " WITH (FORCE)"
            with engine.connect() as connection:
                connection.execute(sa.text(drop))
    finally:
        engine.dispose()


@contextlib.contextmanager
def throwaway_database(backend: str) -> Iterator[str]:
    """Create a database with a random name on a test server, yield its URL, then drop it."""
    with database_on(server_url(backend)) as url:
        yield url


def version_rows(url: str, version_table: str = "alembic_version") -> set[str] | None:
    """Read a version table directly; ``None`` when the table does not exist."""
    import sqlalchemy as sa

    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as connection:
            if not sa.inspect(connection).has_table(version_table):
                return None
            rows = connection.execute(sa.text(f"SELECT version_num FROM {version_table}"))
            return {row[0] for row in rows}
    finally:
        engine.dispose()


def tables(url: str) -> set[str]:
    """Return the names of the tables in a database."""
    import sqlalchemy as sa

    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as connection:
            return set(sa.inspect(connection).get_table_names())
    finally:
        engine.dispose()
