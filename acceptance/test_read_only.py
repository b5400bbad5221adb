"""Plan and refresh never write, on PostgreSQL and MariaDB, through Terraform.

The database is first brought to ``r1``; then a new revision appears and the resource reaches
the database through a login that may only read (no privilege to write, and on PostgreSQL
read-only transactions besides). ``terraform plan``, with and without a refresh, must still
succeed, list ``r2`` as pending with its SQL, and leave the database where it was; the same
configuration with the writing login then applies. Never edits the provider.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from acceptance.databases import Database, read_only
from acceptance.harness import Harness, Step
from acceptance.state import Plan
from acceptance.test_upgrade_semantics import PROVIDER, database_at, planned, upgrade_config
from tests.alembic_projects import Revision, add_revision, make_project, table_name

pytestmark = [pytest.mark.acceptance, pytest.mark.newest_terraform]


@pytest.mark.parametrize("database", ["postgresql", "mariadb"], indirect=True)
def test_plan_and_refresh_succeed_through_a_login_that_cannot_write(
    harness: Harness, database: Database, tmp_path: Path
) -> None:
    project = make_project(tmp_path / "alembic", revisions=[Revision("r1", None)])
    pending_r2 = planned("update", before="r1", after="r2", pending=["r2"])

    def previewed(plan: Plan) -> None:
        pending_r2(plan)
        sql = (plan.change("alembic_upgrade.db").after or {}).get("sql") or ""
        assert f"CREATE TABLE {table_name('r2')}" in sql, sql
        assert database.heads() == ("r1",), "the plan left the database where it was"

    with read_only(database) as reader:
        harness.test(
            [
                Step(config=upgrade_config(project, database), check=database_at(database, ["r1"])),
                Step(
                    config=upgrade_config(project, reader, preview_sql=True),
                    pre_config=lambda: add_revision(project, "r2", "r1"),
                    plan_only=True,
                    expect_non_empty_plan=True,
                    plan_check=previewed,
                ),
                Step(
                    config=upgrade_config(project, database, preview_sql=True),
                    check=database_at(database, ["r2"]),
                ),
            ],
            provider=PROVIDER,
        )
