"""The worker's review: what each pending ``upgrade()`` would do, recorded without running it."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from alembic_provider.executor import Project, WorkerExecutor
from alembic_provider.review import Operation
from tests.alembic_projects import Revision, make_project, sqlite_url, tables
from tests.executor.conftest import ProjectFactory

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
                sa.Column("name", sa.String(200)), sa.Column("legacy", sa.Text))
"""
CHANGE = """\
import sqlalchemy as sa
op.drop_column("accounts", "legacy")
op.add_column("accounts", sa.Column("email", sa.String(100), nullable=False))
op.alter_column("accounts", "name", type_=sa.String(50), existing_type=sa.String(200))
with op.get_context().autocommit_block():
    op.create_index("ix_accounts_email", "accounts", ["email"], postgresql_concurrently=True)
op.create_index("ix_accounts_name", "accounts", ["name"])
with op.batch_alter_table("accounts") as batch:
    batch.drop_column("name")
op.execute("DELETE FROM accounts WHERE id < 0")
"""
READS = """\
rows = op.get_bind().execute("SELECT 1").fetchall()
op.drop_table("accounts")
"""
SLOW = """\
import time
while True:
    time.sleep(0.05)
"""


def _project(tmp_path: Path, python: str) -> tuple[Project, Path]:
    database = tmp_path / "db.sqlite"
    root = make_project(
        tmp_path,
        sqlite_url(database),
        [
            Revision("r1", None, "create accounts", upgrade_sql=[], upgrade_code=CREATE),
            Revision("r2", "r1", "change accounts", upgrade_sql=[], upgrade_code=CHANGE),
            Revision("r3", "r2", "reads data", upgrade_sql=[], upgrade_code=READS),
            Revision("r4", "r3", "waits", upgrade_sql=[], upgrade_code=SLOW),
        ],
    )
    return Project(str(root), python=(python,)), database


@pytest.mark.parametrize("python", INTERPRETERS)
def test_the_review_records_each_operation_and_runs_nothing(
    python: str, tmp_path: Path, cold_executor: WorkerExecutor
) -> None:
    project, database = _project(tmp_path, python)
    review = cold_executor.review(project, "heads", current=[], dialect="postgresql", sizes=True)
    assert [r.revision for r in review.revisions] == ["r1", "r2", "r3", "r4"]
    first, second, third, fourth = review.revisions
    assert first.message == "create accounts"
    assert [o.op for o in first.operations] == ["create_table"]
    assert first.partial is None
    ops = second.operations
    assert [o.op for o in ops] == [
        "drop_column",
        "add_column",
        "alter_column",
        "create_index",
        "create_index",
        "drop_column",
        "execute",
    ]
    assert ops[0] == Operation("drop_column", table="accounts", column="legacy", line=ops[0].line)
    assert ops[0].line is not None and ops[0].line > 10
    assert (ops[1].column, ops[1].nullable, ops[1].server_default) == ("email", False, None)
    assert ops[2].type is not None and ops[2].type.length == 50
    assert ops[2].existing_type is not None and ops[2].existing_type.length == 200
    assert (ops[3].concurrently, ops[3].autocommit) == (True, True)
    assert (ops[4].concurrently, ops[4].autocommit, ops[4].table) == (False, False, "accounts")
    assert (ops[5].table, ops[5].column) == ("accounts", "name")
    assert ops[6].sql == "DELETE FROM accounts WHERE id < 0"
    assert third.partial is not None and "op.get_bind()" in third.partial
    # Read from the source: op.* calls with their literal arguments, whatever branch they are in.
    assert [(o.op, o.table, o.sql, o.source) for o in third.operations] == [
        ("drop_table", "accounts", None, True),
        ("execute", None, "SELECT missing_column FROM missing_table_t_r3", True),
    ]
    assert fourth.partial is not None and "longer than 2 seconds" in fourth.partial
    # Nothing ran: the SQLite file holds no table, and no size was asked of a missing table.
    assert tables(sqlite_url(database)) == set()
    assert review.sizes == {}


def test_the_review_from_the_database_heads_lists_only_what_is_pending(
    tmp_path: Path, executor: WorkerExecutor
) -> None:
    project, _ = _project(tmp_path, sys.executable)
    review = executor.review(project, "r2", current=["r1"], dialect="sqlite", sizes=False)
    assert [r.revision for r in review.revisions] == ["r2"]
    assert executor.review(project, "r1", current=["r1"], dialect=None).revisions == ()


def test_the_review_sizes_the_existing_tables_it_touches(
    backend: str, database_url: str, project_factory: ProjectFactory, executor: WorkerExecutor
) -> None:
    import sqlalchemy as sa

    engine = sa.create_engine(database_url, poolclass=sa.pool.NullPool)
    with engine.begin() as connection:
        connection.execute(sa.text("CREATE TABLE accounts (id INTEGER, legacy VARCHAR(200))"))
        connection.execute(
            sa.text("INSERT INTO accounts VALUES (:id, :legacy)"),
            [{"id": n, "legacy": "x" * 150} for n in range(2000)],
        )
        if backend == "postgresql":
            connection.execute(sa.text("ANALYZE accounts"))
    engine.dispose()
    drop = 'op.drop_column("accounts", "legacy")'
    project = project_factory(
        [Revision("r1", None, "drop legacy", upgrade_sql=[], upgrade_code=drop)],
        database=database_url,
    )
    dialect = "mysql" if backend == "mariadb" else backend
    review = executor.review(project, "heads", current=[], dialect=dialect, sizes=True)
    assert review.sizes_error is None
    if backend == "sqlite":
        # dbstat is optional in SQLite builds: bytes when it is there, nothing otherwise.
        assert set(review.sizes) <= {"accounts"}
        return
    size = review.sizes["accounts"]
    assert size.bytes is not None and size.bytes > 10_000
    assert size.rows is not None and size.rows > 1000


def test_a_revision_that_waits_is_read_from_source_in_a_warm_worker_too(
    tmp_path: Path, executor: WorkerExecutor
) -> None:
    root = make_project(
        tmp_path,
        sqlite_url(tmp_path / "db.sqlite"),
        [Revision("w1", None, "waits", upgrade_sql=[], upgrade_code=SLOW)],
    )
    (review,) = executor.review(Project(str(root)), "heads", current=[], dialect="sqlite").revisions
    assert review.partial is not None and "longer than 2 seconds" in review.partial
