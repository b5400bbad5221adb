"""The worker's review: what each pending ``upgrade()`` would do, recorded without running it."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from alembic_provider.executor import Project, WorkerExecutor
from alembic_provider.review import Operation, findings_of
from tests.alembic_projects import Revision, make_project, sqlite_url, tables
from tests.executor.conftest import ProjectFactory
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


@pytest.mark.parametrize("how", ["operation", "raw SQL"])
def test_the_review_sizes_the_existing_tables_it_touches(
    backend: str,
    database_url: str,
    project_factory: ProjectFactory,
    executor: WorkerExecutor,
    how: str,
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
    if how == "raw SQL":
        drop = f'op.execute("{"DELETE FROM" if backend == "sqlite" else "TRUNCATE"} accounts")'
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


#: One revision per code: the code, the dialect it applies to, and an upgrade() that earns it.
EVERY_CODE = [
    ("drop-table", "postgresql", 'op.drop_table("accounts")'),
    ("drop-column", "mysql", 'op.drop_column("accounts", "legacy")'),
    ("drop-schema", "postgresql", 'op.execute("DROP SCHEMA archive CASCADE")'),
    ("truncate", "postgresql", 'op.execute("TRUNCATE accounts")'),
    ("rename-table", "sqlite", 'op.rename_table("accounts", "users")'),
    ("rename-column", "sqlite", 'op.alter_column("accounts", "name", new_column_name="full")'),
    (
        "add-required-column",
        "sqlite",
        'op.add_column("accounts", sa.Column("email", sa.String(50), nullable=False))',
    ),
    (
        "narrow-type",
        "mysql",
        'op.alter_column("accounts", "name", type_=sa.String(20), existing_type=sa.String(99))',
    ),
    ("index-without-concurrently", "postgresql", 'op.create_index("ix", "accounts", ["name"])'),
    ("drop-index-without-concurrently", "postgresql", 'op.drop_index("ix", "accounts")'),
    (
        "concurrently-in-transaction",
        "postgresql",
        'op.create_index("ix", "accounts", ["name"], postgresql_concurrently=True)',
    ),
    (
        "foreign-key-validates",
        "postgresql",
        'op.create_foreign_key("fk", "accounts", "owners", ["owner_id"], ["id"])',
    ),
    (
        "check-validates",
        "postgresql",
        'op.create_check_constraint("ck", "accounts", "id > 0")',
    ),
    ("set-not-null", "postgresql", 'op.alter_column("accounts", "name", nullable=False)'),
    (
        "type-rewrite",
        "postgresql",
        'op.alter_column("accounts", "id", type_=sa.BigInteger, existing_type=sa.Integer)',
    ),
    (
        "volatile-default",
        "postgresql",
        'op.add_column("accounts", sa.Column("r", sa.Float, server_default=sa.text("random()")))',
    ),
    (
        "table-copy",
        "mariadb",
        'op.alter_column("accounts", "name", nullable=False, existing_type=sa.String(9))',
    ),
    ("raw-sql", "sqlite", 'op.execute("VACUUM")'),
    ("partial-review", "sqlite", 'op.get_bind()\nop.drop_table("accounts")'),
]


@pytest.mark.parametrize("python", INTERPRETERS)
def test_every_code_is_found_in_a_recorded_revision(
    python: str, tmp_path: Path, cold_executor: WorkerExecutor
) -> None:
    revisions = [
        Revision(
            f"c{n:02d}",
            f"c{n - 1:02d}" if n else None,
            code,
            upgrade_sql=[],
            upgrade_code="import sqlalchemy as sa\n" + body,
        )
        for n, (code, _, body) in enumerate(EVERY_CODE)
    ]
    root = make_project(tmp_path, sqlite_url(tmp_path / "db.sqlite"), revisions)
    project = Project(str(root), python=(python,))
    for dialect in sorted({d for _, d, _ in EVERY_CODE}):
        review = cold_executor.review(project, "heads", current=[], dialect=dialect, sizes=False)
        found = {(f.revision_message, f.code) for f in findings_of(review, dialect)}
        for code, applies, _ in EVERY_CODE:
            if applies == dialect:
                assert (code, code) in found, (dialect, code, sorted(found))


@pytest.mark.parametrize("python", INTERPRETERS)
def test_an_inspection_for_a_plan_makes_its_review_in_the_same_worker(
    tmp_path: Path, python: str
) -> None:
    project, _ = _project(tmp_path, python)
    requests = WorkerRequests()
    with WorkerExecutor(log=requests) as executor:
        alone = executor.review(project, "r3", current=[], dialect="sqlite")
        requests.ops.clear()
        inspection = executor.inspect(project, "r3", review=True)
        reviewed = executor.review(
            project, "r3", current=inspection.planned_from, dialect=inspection.dialect
        )
        assert requests.ops == ["inspect"], "no worker of its own for the review"
        assert reviewed == alone
        # It serves one review: the next one asks a worker again.
        executor.review(project, "r3", current=inspection.planned_from, dialect="sqlite")
        assert requests.ops == ["inspect", "review"]
        # Nothing pending, nothing reviewed; without the flag the inspection reviews nothing.
        executor.inspect(project, "r3")
        executor.review(project, "r3", current=[], dialect="sqlite")
        assert requests.ops == ["inspect", "review", "inspect", "review"]
