"""Acceptance tests of ``statement_lock_timeout``: a migration stuck behind a lock fails fast.

Through the newest Terraform against PostgreSQL and MariaDB: another connection holds an open
transaction that read the table a migration alters (a table lock), or locked the version
table's row a stamp rewrites (a row lock); with the bound set, the apply fails within it, naming
the table and saying to retry, and the next apply after the transaction ended succeeds. Never
edits the provider.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from acceptance.databases import Database
from acceptance.harness import Harness, Step
from acceptance.state import State
from acceptance.test_upgrade_semantics import PROVIDER, database_at, provider_block, resource_block
from tests.alembic_projects import Revision, add_revision, make_project, table_name

pytestmark = [pytest.mark.acceptance, pytest.mark.newest_terraform]

BOUND = 3
#: Terraform, the provider and the worker start, plan and apply around the wait itself.
ALLOWANCE = 60


class Holder:
    """A connection whose open transaction read a table, so altering that table must wait."""

    def __init__(self, database: Database) -> None:
        self.database = database
        self.engine: Any = None
        self.connection: Any = None
        self.started = 0.0

    def take(self, table: str, lock: str = "") -> None:
        """Read ``table`` in a transaction left open; ``lock`` is appended (``FOR UPDATE``)."""
        self.engine = self.database.engine()
        self.connection = self.engine.connect()
        self.connection.begin()
        self.connection.execute(sa.text(f"SELECT * FROM {table} {lock}")).fetchall()
        self.started = time.monotonic()

    def release(self) -> None:
        if self.connection is not None:
            self.connection.rollback()
            self.connection.close()
            self.engine.dispose()
            self.connection = None


@pytest.mark.parametrize("database", ["postgresql", "mariadb"], indirect=True)
@pytest.mark.parametrize("where", ["resource", "provider"])
def test_a_migration_behind_a_lock_fails_fast_and_the_next_apply_succeeds(
    harness: Harness, database: Database, tmp_path: Path, where: str
) -> None:
    project = make_project(tmp_path / "alembic", revisions=[Revision("r1", None, "accounts")])
    table = table_name("r1")
    bound = {"statement_lock_timeout": f"{BOUND}s"}
    provider = provider_block(project, **(bound if where == "provider" else {}))
    config = provider + resource_block(
        "alembic_upgrade",
        "db",
        environment={"DATABASE_URL": database.url},
        **(bound if where == "resource" else {}),
    )
    holder = Holder(database)

    def alter_behind_a_lock() -> None:
        add_revision(
            project,
            "r2",
            "r1",
            "add a column",
            upgrade_sql=[f"ALTER TABLE {table} ADD COLUMN note VARCHAR(20)"],
        )
        holder.take(table)

    def failed_fast(state: State) -> None:
        waited = time.monotonic() - holder.started
        assert waited < BOUND + ALLOWANCE, f"the apply waited {waited:.0f}s"
        database_at(database, ["r1"])(state)

    try:
        harness.test(
            [
                Step(config=config, check=database_at(database, ["r1"])),
                Step(
                    config=config,
                    pre_config=alter_behind_a_lock,
                    expect_error=(
                        rf"Lock Wait Timeout[\s\S]*Revision 'r2' \(add a column\)[\s\S]*"
                        rf"{BOUND}s[\s\S]*{table}[\s\S]*Apply again once"
                    ),
                    check=failed_fast,
                ),
                Step(
                    config=config,
                    pre_config=holder.release,
                    check=database_at(database, ["r2"]),
                ),
            ],
            provider=PROVIDER,
        )
    finally:
        holder.release()


@pytest.mark.parametrize("database", ["postgresql", "mariadb"], indirect=True)
def test_a_stamp_behind_a_row_lock_on_the_version_table_fails_fast(
    harness: Harness, database: Database, tmp_path: Path
) -> None:
    project = make_project(
        tmp_path / "alembic",
        revisions=[Revision("r1", None, "first"), Revision("r2", "r1", "second")],
    )
    address = "alembic_stamp.baseline"
    holder = Holder(database)

    def config(target: str) -> str:
        return provider_block(project) + resource_block(
            "alembic_stamp",
            "baseline",
            target=target,
            environment={"DATABASE_URL": database.url},
            statement_lock_timeout=f"{BOUND}s",
        )

    def failed_fast(state: State) -> None:
        waited = time.monotonic() - holder.started
        assert waited < BOUND + ALLOWANCE, f"the apply waited {waited:.0f}s"
        assert database.heads() == ("r1",)

    try:
        harness.test(
            [
                Step(config=config("r1"), check=database_at(database, ["r1"], address)),
                Step(
                    config=config("r2"),
                    pre_config=lambda: holder.take("alembic_version", "FOR UPDATE"),
                    expect_error=(
                        rf"Lock Wait Timeout[\s\S]*{BOUND}s[\s\S]*alembic_version"
                        r"[\s\S]*Apply again once"
                    ),
                    check=failed_fast,
                ),
                Step(
                    config=config("r2"),
                    pre_config=holder.release,
                    check=database_at(database, ["r2"], address),
                ),
            ],
            provider=PROVIDER,
        )
    finally:
        holder.release()
