"""Failures come back structured, worded for the user, with what the database reached."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from alembic_provider.errors import (
    ConfigError,
    MigrationError,
    TargetError,
    WorkerEnvironmentError,
)
from alembic_provider.executor import Project, WorkerExecutor
from tests.alembic_projects import Revision as Rev
from tests.alembic_projects import sqlite_url, tables, version_rows
from tests.executor.conftest import ProjectFactory

FAILING = [
    Rev("aaaa0001", None, "create t1"),
    Rev("aaaa0002", "aaaa0001", "create t2"),
    Rev("aaaa0003", "aaaa0002", "create t3 then fail", fail=True),
]
TARGETS = [
    Rev("aaaa0001", None),
    Rev("aaaa0002", "aaaa0001"),
    Rev("bbbb0001", "aaaa0001", branch_labels=["feature"]),
]
_ABSOLUTE = "use a revision id, 'head', 'heads', 'base' or '<branch>@head'."


@pytest.mark.parametrize("server_backend", ["postgresql"], indirect=True)
def test_failing_migration_on_postgresql_rolls_back(
    executor: WorkerExecutor, project_factory: ProjectFactory, server_url_db: str
) -> None:
    project = project_factory(FAILING, database=server_url_db)

    with pytest.raises(MigrationError) as raised:
        executor.upgrade(project, "heads")
    error = raised.value
    assert error.kind == "migration"
    assert error.revision == "aaaa0003"
    assert error.heads_reached == ()
    assert error.message.startswith(
        "Revision 'aaaa0003' (create t3 then fail) failed during upgrade: ProgrammingError: "
    )
    assert "missing_table_t_aaaa0003" in error.message
    assert error.location.startswith('  File "migrations/versions/aaaa0003.py", line ')
    assert "Traceback" not in error.diagnostic().detail
    assert tables(server_url_db) == set(), "transactional DDL rolls the whole run back"
    assert "The database is now at base (no revision applied)." in error.diagnostic().detail


@pytest.mark.parametrize("server_backend", ["postgresql"], indirect=True)
def test_failing_migration_per_transaction_on_postgresql(
    executor: WorkerExecutor, project_factory: ProjectFactory, server_url_db: str
) -> None:
    project = project_factory(FAILING, database=server_url_db, transaction_per_migration=True)

    with pytest.raises(MigrationError) as raised:
        executor.upgrade(project, "heads")
    assert raised.value.heads_reached == ("aaaa0002",)
    assert "t_aaaa0003" not in tables(server_url_db)


@pytest.mark.parametrize("server_backend", ["mariadb"], indirect=True)
def test_failing_migration_on_mariadb_reports_partial_progress(
    executor: WorkerExecutor, project_factory: ProjectFactory, server_url_db: str
) -> None:
    project = project_factory(FAILING, database=server_url_db)

    with pytest.raises(MigrationError) as raised:
        executor.upgrade(project, "heads")
    error = raised.value
    assert (error.revision, error.heads_reached) == ("aaaa0003", ("aaaa0002",))
    assert "t_aaaa0003" in tables(server_url_db), "MariaDB commits DDL as it goes"
    assert error.message.endswith(
        "\n\nOne statement of revision 'aaaa0003' ran before the error; MariaDB commits DDL "
        "implicitly, so this one stays committed: 'CREATE TABLE t_aaaa0003 (id INTEGER "
        "PRIMARY KEY)'. Check the database before applying again."
    ), error.message
    assert version_rows(server_url_db) == {"aaaa0002"}
    assert "The database is now at revision 'aaaa0002'." in error.diagnostic().detail
    assert executor.current(project) == ("aaaa0002",)


@pytest.mark.parametrize("server_backend", ["mariadb"], indirect=True)
def test_stock_env_py_on_mariadb_keeps_the_last_completed_migration(
    executor: WorkerExecutor, project_factory: ProjectFactory, server_url_db: str
) -> None:
    """With the env.py ``alembic init`` writes, each migration commits on its own.

    Alembic gives each migration its own transaction where DDL is not transactional; the
    failing one fails at its first statement, so nothing of its own commits the version row
    of the one before it by accident.
    """
    import alembic

    revisions = [
        *FAILING[:2],
        Rev("aaaa0003", "aaaa0002", "fails at once", upgrade_sql="INSERT INTO missing VALUES (1)"),
    ]
    project = project_factory(revisions, database=server_url_db)
    stock = Path(alembic.__file__).parent / "templates" / "generic" / "env.py"
    env_py = Path(project.project_root) / "migrations" / "env.py"
    assert env_py.exists()
    env_py.write_text(stock.read_text())
    assert "transaction_per_migration" not in env_py.read_text()

    with pytest.raises(MigrationError) as raised:
        executor.upgrade(project, "heads")
    error = raised.value
    assert (error.revision, error.heads_reached) == ("aaaa0003", ("aaaa0002",))
    assert version_rows(server_url_db) == {"aaaa0002"}
    assert {"t_aaaa0001", "t_aaaa0002"} <= tables(server_url_db)
    # The failing statement was the revision's first: nothing of it was committed.
    assert error.message.endswith(
        "\n\nMariaDB commits DDL implicitly, but no statement of revision 'aaaa0003' ran before "
        "the error, so nothing of it was committed."
    ), error.message
    assert "mysql commits" not in error.message
    # The next apply, after the migration is fixed, continues from there.
    assert executor.current(project) == ("aaaa0002",)


def test_failing_migration_on_sqlite(executor: WorkerExecutor, tmp_path: Path) -> None:
    url = sqlite_url(tmp_path / "db.sqlite")
    project = Project(str(_project(tmp_path, url, FAILING)))

    with pytest.raises(MigrationError) as raised:
        executor.upgrade(project, "heads")
    assert raised.value.heads_reached == ("aaaa0002",)
    assert raised.value.summary == "Migration Failed"


def _project(tmp_path: Path, url: str, revisions: list[Rev], **options: object) -> Path:
    from tests.alembic_projects import make_project

    return make_project(tmp_path, url, revisions, **options)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("target", "kind", "message"),
    [
        (
            "nonexist",
            "unknown_target",
            "The target 'nonexist' is not a revision id, branch label or symbol of the script "
            "directory '{scripts}'; " + _ABSOLUTE,
        ),
        (
            "aaaa",
            "ambiguous_target",
            "The target 'aaaa' is ambiguous: it starts the revision ids 'aaaa0001', 'aaaa0002'; "
            "use a full revision id.",
        ),
        (
            "+1",
            "relative_target",
            "The target '+1' is relative to the database's current revision, so every apply "
            "would move the database again; " + _ABSOLUTE,
        ),
        (
            "feature@-1",
            "relative_target",
            "The target 'feature@-1' is relative to the database's current revision, so every "
            "apply would move the database again; " + _ABSOLUTE,
        ),
        (
            "current",
            "relative_target",
            "The target 'current' is relative to the database's current revision, so every "
            "apply would move the database again; " + _ABSOLUTE,
        ),
        (
            "aaaa0001:aaaa0002",
            "relative_target",
            "The target 'aaaa0001:aaaa0002' is a range, so every apply would move the database "
            "again; " + _ABSOLUTE,
        ),
        ("", "target", "The target is empty; " + _ABSOLUTE),
    ],
)
def test_target_errors(
    executor: WorkerExecutor, tmp_path: Path, target: str, kind: str, message: str
) -> None:
    root = _project(tmp_path, sqlite_url(tmp_path / "db.sqlite"), TARGETS)
    project = Project(str(root))

    with pytest.raises(TargetError) as raised:
        executor.resolve(project, target)
    assert raised.value.kind == kind
    assert raised.value.message == message.format(scripts=root / "migrations")
    assert raised.value.diagnostic().summary == "Invalid Target Revision"
    assert raised.value.attribute == ("target",)


def test_partial_ids_and_labels_resolve(executor: WorkerExecutor, tmp_path: Path) -> None:
    project = Project(str(_project(tmp_path, sqlite_url(tmp_path / "db.sqlite"), TARGETS)))

    assert executor.resolve(project, "bbbb") == ("bbbb0001",)
    assert executor.resolve(project, "feature") == ("bbbb0001",)
    assert executor.resolve(project, "base") == ()


def test_database_at_an_unknown_revision(executor: WorkerExecutor, tmp_path: Path) -> None:
    url = sqlite_url(tmp_path / "db.sqlite")
    root = _project(tmp_path, url, TARGETS)
    project = Project(str(root))
    executor.upgrade(project, "aaaa0002")
    engine = sa.create_engine(url)
    with engine.begin() as connection:
        connection.execute(sa.text("UPDATE alembic_version SET version_num = 'ffff9999'"))
    engine.dispose()

    assert executor.current(project) == ("ffff9999",)
    with pytest.raises(MigrationError) as raised:
        executor.inspect(project, "heads")
    assert raised.value.kind == "unknown_database_revision"
    assert raised.value.summary == "Unknown Database Revision"
    assert raised.value.heads_reached == ("ffff9999",)
    assert raised.value.message == (
        f"The database is at 'ffff9999', which the script directory '{root / 'migrations'}' "
        "does not contain: the database is ahead of or diverged from these migration files. "
        "Deploy the matching migration files, or stamp the database to a revision they "
        "contain."
    )
    assert executor.stamp(project, "aaaa0002").heads == ("aaaa0002",)


def test_missing_config_and_section(executor: WorkerExecutor, tmp_path: Path) -> None:
    root = _project(tmp_path, sqlite_url(tmp_path / "db.sqlite"), TARGETS)

    with pytest.raises(ConfigError) as raised:
        executor.current(Project(str(root), config="missing.ini"))
    assert raised.value.message == (
        f"The Alembic configuration file '{root / 'missing.ini'}' does not exist; set 'config' "
        f"to an ini file relative to 'project_root' ('{root}')."
    )
    assert raised.value.attribute == ("config",)

    with pytest.raises(ConfigError) as raised:
        executor.current(Project(str(root), section="other"))
    assert raised.value.message == (
        f"The section 'other' is not in '{root / 'alembic.ini'}'; set 'section' to one of: "
        "'alembic', 'loggers', 'handlers', 'formatters', 'logger_root', 'logger_sqlalchemy', "
        "'logger_alembic', 'handler_console', 'formatter_generic'."
    )

    with pytest.raises(ConfigError) as raised:
        executor.current(Project(str(tmp_path / "nowhere")))
    assert raised.value.attribute == ("project_root",)


def test_config_and_section_are_honoured(executor: WorkerExecutor, tmp_path: Path) -> None:
    url = sqlite_url(tmp_path / "db.sqlite")
    root = _project(tmp_path, url, TARGETS, config_name="conf/db.ini", section="migrations")
    project = Project(str(root), config="conf/db.ini", section="migrations")

    assert executor.upgrade(project, "aaaa0002").heads == ("aaaa0002",)
    assert version_rows(url) == {"aaaa0002"}


def test_broken_env_py(executor: WorkerExecutor, tmp_path: Path) -> None:
    root = _project(tmp_path, sqlite_url(tmp_path / "db.sqlite"), TARGETS)
    (root / "migrations" / "env.py").write_text("raise RuntimeError('env.py is broken')\n")

    with pytest.raises(MigrationError) as raised:
        executor.current(Project(str(root)))
    assert raised.value.kind == "env"
    assert raised.value.message == "env.py failed: RuntimeError: env.py is broken"
    assert raised.value.summary == "Alembic Environment Failed"


def test_env_py_that_never_runs_migrations(executor: WorkerExecutor, tmp_path: Path) -> None:
    root = _project(tmp_path, sqlite_url(tmp_path / "db.sqlite"), TARGETS)
    (root / "migrations" / "env.py").write_text("pass\n")

    with pytest.raises(MigrationError) as raised:
        executor.current(Project(str(root)))
    assert raised.value.message == (
        f"env.py in '{root / 'migrations'}' never called context.run_migrations(), so the "
        "database could not be read."
    )


def test_unreachable_database(executor: WorkerExecutor, tmp_path: Path) -> None:
    root = _project(tmp_path, "sqlite:////nonexistent-dir/x/db.sqlite", TARGETS)

    with pytest.raises(MigrationError) as raised:
        executor.current(Project(str(root)))
    assert raised.value.kind == "database_missing"
    assert raised.value.message.startswith("env.py could not use the database: OperationalError")


def test_interpreter_without_alembic(any_executor: WorkerExecutor, tmp_path: Path) -> None:
    root = _project(tmp_path, sqlite_url(tmp_path / "db.sqlite"), TARGETS)
    project = Project(str(root), python=(sys.executable, "-S"))

    with pytest.raises(WorkerEnvironmentError) as raised:
        any_executor.current(project)
    assert raised.value.message == (
        f"The interpreter '{sys.executable}' cannot import 'alembic' (No module named "
        "'alembic'). Install it in that environment, or set 'python' to an interpreter that "
        "has it."
    )


def test_missing_interpreter(any_executor: WorkerExecutor, tmp_path: Path) -> None:
    root = _project(tmp_path, sqlite_url(tmp_path / "db.sqlite"), TARGETS)
    project = Project(str(root), python=("/nonexistent/bin/python",))

    with pytest.raises(WorkerEnvironmentError) as raised:
        any_executor.current(project)
    assert raised.value.message == (
        "The interpreter command ['/nonexistent/bin/python'] could not be started: [Errno 2] "
        "No such file or directory: '/nonexistent/bin/python'. Set 'python' to an interpreter "
        "that has alembic and SQLAlchemy installed."
    )


def test_offline_sql_of_a_migration_that_needs_the_database(
    executor: WorkerExecutor, tmp_path: Path
) -> None:
    code = "import sqlalchemy as sa\nsa.inspect(op.get_bind()).get_table_names()"
    revisions = [Rev("aaaa0001", None), Rev("aaaa0002", "aaaa0001", upgrade_code=code)]
    project = Project(str(_project(tmp_path, sqlite_url(tmp_path / "db.sqlite"), revisions)))

    with pytest.raises(MigrationError) as raised:
        executor.sql(project, "heads", current=())
    assert raised.value.kind == "offline"
    assert raised.value.revision == "aaaa0002"
    assert raised.value.message.startswith(
        "Revision 'aaaa0002' cannot be rendered as offline SQL: NoInspectionAvailable"
    )
    assert raised.value.summary == "SQL Preview Failed"


@pytest.mark.parametrize("server_backend", ["postgresql"], indirect=True)
def test_a_run_that_commits_nothing_is_caught(
    executor: WorkerExecutor, project_factory: ProjectFactory, server_url_db: str
) -> None:
    """env.py that queries before configure() makes Alembic skip its commit, yet exit cleanly."""
    project = project_factory(FAILING[:2], database=server_url_db)
    env_py = Path(project.project_root) / "migrations" / "env.py"
    env_py.write_text(
        env_py.read_text().replace(
            "        context.configure(\n            connection=connection,",
            "        connection.exec_driver_sql('SELECT 1')\n"
            "        context.configure(\n            connection=connection,",
        )
    )

    with pytest.raises(MigrationError) as raised:
        executor.upgrade(project, "heads")
    assert raised.value.kind == "verify"
    assert raised.value.summary == "Migration Not Recorded"
    assert raised.value.heads_reached == ()
    assert raised.value.message == (
        "The upgrade to 'heads' finished without an error, but the database still needs "
        "'aaaa0001', 'aaaa0002'. env.py may run the migrations in a transaction it never "
        "commits."
    )


_CREATE_TABLE = "op.create_table('made_by_m1', sa.Column('id', sa.Integer, primary_key=True))"
_SECOND = {
    "python": {"upgrade_sql": [], "upgrade_code": "raise RuntimeError('m2 is broken')"},
    "dml": {
        "upgrade_sql": [
            "INSERT INTO made_by_m1 (id) VALUES (1)",
            "INSERT INTO made_by_m1 (id) VALUES (1)",
        ]
    },
}


_LEGACY = os.environ.get("ALEMBIC_TEST_LEGACY_PYTHON", "")


_ENVS = {
    "stock": lambda text: text,
    # The same env.py running the migrations inside a transaction of its own.
    "begin": lambda text: text.replace("connectable.connect()", "connectable.begin()"),
    # A query before configure() begins a transaction (SQLAlchemy 2 autobegin).
    "query": lambda text: text.replace(
        "        context.configure(\n            connection=connection, target",
        "        connection.exec_driver_sql('SELECT 1')\n"
        "        context.configure(\n            connection=connection, target",
    ),
    # Alembic opens one transaction for the whole run itself.
    "ddl": lambda text: text.replace(
        "connection=connection, target_metadata=target_metadata",
        "connection=connection, target_metadata=target_metadata, transactional_ddl=True",
    ),
}


@pytest.mark.parametrize(
    "case",
    [
        ("stock", "python", "current"),
        ("stock", "dml", "current"),
        ("stock", "python", "legacy"),
        ("begin", "python", "current"),
        ("begin", "dml", "current"),
        ("begin", "python", "legacy"),
        ("begin", "dml", "legacy"),
        ("query", "python", "current"),
        ("ddl", "python", "current"),
    ],
    ids="-".join,
)
@pytest.mark.parametrize("server_backend", ["mariadb"], indirect=True)
def test_env_py_on_mariadb_keeps_progress_when_the_second_migration_fails(
    executor: WorkerExecutor,
    project_factory: ProjectFactory,
    server_url_db: str,
    case: tuple[str, str, str],
) -> None:
    """The version table stays at the last migration that completed, however env.py commits.

    DDL commits implicitly on MariaDB, and the version row written after a migration's last DDL
    is kept only if something commits before the next migration fails. With the env.py
    ``alembic init`` writes, Alembic makes the outer ``begin_transaction()`` a no-op and gives
    each migration a transaction of its own, whatever ``transaction_per_migration`` says. When
    env.py runs the migrations inside its own ``engine.begin()`` (or a query before
    ``configure()`` began one, or env.py forces ``transactional_ddl``), there is one
    transaction for the run, so the worker commits between migrations: otherwise the failed run
    leaves the version table empty while m1's table exists.
    """
    import alembic

    env, second, python = case
    revisions = [
        Rev("cccc0001", None, "m1", upgrade_sql=[], upgrade_code=_CREATE_TABLE),
        Rev("cccc0002", "cccc0001", "m2", **_SECOND[second]),  # type: ignore[arg-type]
    ]
    if python == "legacy" and not _LEGACY:
        pytest.skip("ALEMBIC_TEST_LEGACY_PYTHON is not set")
    interpreter = (_LEGACY,) if python == "legacy" else ()
    project = project_factory(revisions, database=server_url_db, python=interpreter)
    for path in (Path(project.project_root) / "migrations" / "versions").glob("*.py"):
        path.write_text(path.read_text().replace("from alembic import op", _IMPORTS))
    stock = Path(alembic.__file__).parent / "templates" / "generic" / "env.py"
    env_py = Path(project.project_root) / "migrations" / "env.py"
    env_py.write_text(_ENVS[env](stock.read_text()))
    assert (env_py.read_text() == stock.read_text()) == (env == "stock")

    with pytest.raises(MigrationError) as raised:
        executor.upgrade(project, "heads")
    error = raised.value
    assert (error.revision, error.heads_reached) == ("cccc0002", ("cccc0001",))
    assert version_rows(server_url_db) == {"cccc0001"}
    assert "made_by_m1" in tables(server_url_db)
    committed = {
        "python": "MariaDB commits DDL implicitly, but no statement of revision 'cccc0002' ran "
        "before the error, so nothing of it was committed.",
        "dml": "One statement of revision 'cccc0002' ran before the error; it is not DDL, so "
        "MariaDB committed nothing of it implicitly.",
    }
    assert error.message.endswith("\n\n" + committed[second]), error.message
    assert "The database is now at revision 'cccc0001'." in error.diagnostic().detail

    # Fixed, the next upgrade runs only m2.
    m2 = Path(project.project_root) / "migrations" / "versions" / "cccc0002.py"
    m2.write_text(
        m2.read_text()
        .replace("raise RuntimeError('m2 is broken')", "pass")
        .replace("    op.execute('INSERT INTO made_by_m1 (id) VALUES (1)')\n", "", 1)
    )
    result = executor.upgrade(project, "heads")
    assert result.heads == ("cccc0002",)
    assert [step.revision for step in result.steps] == ["cccc0002"]
    assert version_rows(server_url_db) == {"cccc0002"}


_IMPORTS = "from alembic import op\nimport sqlalchemy as sa"
