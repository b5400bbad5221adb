"""The worker's comparison of env.py's ``target_metadata`` with the live schema, read-only."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from alembic_provider.executor import Project, WorkerExecutor
from tests.alembic_projects import (
    SCRIPT_LOCATION,
    Revision,
    make_project,
    sqlite_url,
    tables,
    version_rows,
)
from tests.support import WorkerRequests

LEGACY = os.environ.get("ALEMBIC_TEST_LEGACY_PYTHON", "")
INTERPRETERS = [
    pytest.param(sys.executable, id="current"),
    pytest.param(
        LEGACY,
        id="legacy",
        marks=pytest.mark.skipif(not LEGACY, reason="ALEMBIC_TEST_LEGACY_PYTHON is not set"),
    ),
]

CREATE = """\
import sqlalchemy as sa
op.create_table("accounts", sa.Column("id", sa.Integer, primary_key=True),
                sa.Column("name", sa.String(100), nullable=True), sa.Column("legacy", sa.Text))
op.create_table("old_audit", sa.Column("id", sa.Integer, primary_key=True))
"""
MODELS = """\
import sqlalchemy as sa

target_metadata = sa.MetaData()
sa.Table("accounts", target_metadata, sa.Column("id", sa.Integer, primary_key=True),
         sa.Column("name", sa.String(100), nullable=False), sa.Column("email", sa.String(200)))
sa.Table("audit", target_metadata, sa.Column("id", sa.Integer, primary_key=True))
"""
AGREEING = """\
import sqlalchemy as sa

target_metadata = sa.MetaData()
sa.Table("accounts", target_metadata, sa.Column("id", sa.Integer, primary_key=True),
         sa.Column("name", sa.String(100), nullable=True), sa.Column("legacy", sa.Text))
sa.Table("old_audit", target_metadata, sa.Column("id", sa.Integer, primary_key=True))
"""


def _project(tmp_path: Path, python: str, models: str | None) -> tuple[Project, str]:
    url = sqlite_url(tmp_path / "db.sqlite")
    root = make_project(
        tmp_path,
        url,
        [Revision("r1", None, "create accounts", upgrade_sql=[], upgrade_code=CREATE)],
        models=models,
    )
    return Project(str(root), python=(python,)), url


@pytest.mark.parametrize("python", INTERPRETERS)
def test_each_difference_is_worded_by_table_and_column(
    python: str, tmp_path: Path, cold_executor: WorkerExecutor
) -> None:
    project, _url = _project(tmp_path, python, MODELS)
    cold_executor.upgrade(project, "heads")
    diff = cold_executor.model_diff(project)
    assert diff.metadata
    assert not diff.server_defaults
    texts = sorted(d.text for d in diff.differences)
    assert "column 'email' of table 'accounts' (VARCHAR(200)) is only in the models" in texts
    assert "column 'legacy' of table 'accounts' (TEXT) is only in the database" in texts
    assert "table 'audit' is only in the models" in texts
    assert "table 'old_audit' is only in the database" in texts
    assert (
        "column 'name' of table 'accounts' is nullable in the database and NOT NULL in the models"
        in texts
    )
    email = next(d for d in diff.differences if d.column == "email")
    assert (email.kind, email.table) == ("add_column", "accounts")


@pytest.mark.parametrize("python", INTERPRETERS)
def test_agreeing_models_have_no_difference(
    python: str, tmp_path: Path, cold_executor: WorkerExecutor
) -> None:
    project, _url = _project(tmp_path, python, AGREEING)
    cold_executor.upgrade(project, "heads")
    diff = cold_executor.model_diff(project)
    assert diff.metadata
    assert diff.differences == ()


def test_without_target_metadata_nothing_is_compared(
    tmp_path: Path, cold_executor: WorkerExecutor
) -> None:
    project, _url = _project(tmp_path, sys.executable, None)
    cold_executor.upgrade(project, "heads")
    assert not cold_executor.model_diff(project).metadata


def test_the_comparison_never_writes(tmp_path: Path, cold_executor: WorkerExecutor) -> None:
    project, url = _project(tmp_path, sys.executable, MODELS)
    diff = cold_executor.model_diff(project)
    assert "table 'accounts' is only in the models" in {d.text for d in diff.differences}
    assert version_rows(url) is None
    assert tables(url) == set()


DEFAULTED = AGREEING.replace(
    'sa.Column("legacy", sa.Text)', 'sa.Column("legacy", sa.Text, server_default="none")'
)


@pytest.mark.parametrize("python", INTERPRETERS)
@pytest.mark.parametrize("compare", [False, True], ids=["default", "server-defaults"])
def test_server_defaults_are_compared_only_when_env_py_asks(
    python: str, compare: bool, tmp_path: Path, cold_executor: WorkerExecutor
) -> None:
    root = make_project(
        tmp_path,
        sqlite_url(tmp_path / "db.sqlite"),
        [Revision("r1", None, "create accounts", upgrade_sql=[], upgrade_code=CREATE)],
        models=DEFAULTED,
        compare_server_default=compare,
    )
    project = Project(str(root), python=(python,))
    cold_executor.upgrade(project, "heads")
    diff = cold_executor.model_diff(project)
    assert diff.server_defaults is compare
    texts = [d.text for d in diff.differences]
    if not compare:
        assert texts == []
        return
    assert texts == [
        "column 'legacy' of table 'accounts' is no server default in the database and "
        "server default 'none' in the models"
    ]


MARKER = """\
import sqlalchemy as sa
op.create_table("marker", sa.Column("id", sa.Integer, primary_key=True))
"""


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_what_env_py_writes_in_its_transaction_is_rolled_back(
    database_url: str, tmp_path: Path, cold_executor: WorkerExecutor
) -> None:
    """On PostgreSQL env.py's ``begin_transaction()`` is a real transaction Alembic commits."""
    url = database_url
    root = make_project(
        tmp_path,
        url,
        [Revision("r1", None, "create marker", upgrade_sql=[], upgrade_code=MARKER)],
        models=AGREEING,
    )
    env_py = root / SCRIPT_LOCATION / "env.py"
    online = "        with context.begin_transaction():\n            context.run_migrations()"
    assert online in env_py.read_text()
    env_py.write_text(
        env_py.read_text().replace(
            online,
            "        with context.begin_transaction():\n"
            "            if context.get_x_argument(as_dictionary=True).get('mark'):\n"
            "                connection.exec_driver_sql('INSERT INTO marker (id) VALUES (1)')\n"
            "            context.run_migrations()",
        )
    )
    cold_executor.upgrade(Project(str(root)), "heads")
    diff = cold_executor.model_diff(Project(str(root), extra={"mark": "1"}))
    assert "marker" in {d.table for d in diff.differences}
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    with engine.connect() as connection:
        assert connection.exec_driver_sql("SELECT count(*) FROM marker").scalar() == 0
    engine.dispose()


@pytest.mark.parametrize("python", INTERPRETERS)
@pytest.mark.parametrize("backend", ["postgresql", "mariadb"], indirect=True)
def test_a_model_column_is_named_on_the_servers(
    python: str, database_url: str, tmp_path: Path, cold_executor: WorkerExecutor
) -> None:
    root = make_project(
        tmp_path,
        database_url,
        [Revision("r1", None, "create accounts", upgrade_sql=[], upgrade_code=CREATE)],
        models=MODELS,
    )
    project = Project(str(root), python=(python,))
    cold_executor.upgrade(project, "heads")
    texts = {d.text for d in cold_executor.model_diff(project).differences}
    assert "column 'email' of table 'accounts' (VARCHAR(200)) is only in the models" in texts
    assert "table 'old_audit' is only in the database" in texts
    assert "table 'audit' is only in the models" in texts
    assert version_rows(database_url) == {"r1"}


@pytest.mark.parametrize("python", INTERPRETERS)
def test_an_inspection_at_the_target_compares_in_its_own_run_of_env_py(
    tmp_path: Path, python: str
) -> None:
    project, _ = _project(tmp_path, python, MODELS)
    record = tmp_path / "env-py-runs.jsonl"
    project = Project(
        project.project_root,
        python=project.python,
        environment={"ALEMBIC_TEST_RECORD": str(record)},
    )
    requests = WorkerRequests()
    with WorkerExecutor(log=requests) as executor:
        # Before the target nothing is compared: the plan says the comparison waits.
        executor.inspect(project, "r1", compare=True)
        executor.upgrade(project, "r1")
        alone = executor.model_diff(project)
        record.unlink()
        requests.ops.clear()
        executor.inspect(project, "r1", compare=True)
        compared = executor.model_diff(project)
        assert requests.ops == ["inspect"], "no worker of its own for the comparison"
        assert len(record.read_text().splitlines()) == 1, "env.py ran once for both"
        assert compared == alone
        # One inspection's comparison serves one plan; an upgrade forgets it.
        executor.model_diff(project)
        executor.inspect(project, "r1", compare=True)
        executor.upgrade(project, "r1")
        executor.model_diff(project)
        assert requests.ops == ["inspect", "model_diff", "inspect", "upgrade", "model_diff"]
