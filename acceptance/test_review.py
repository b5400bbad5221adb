"""Acceptance tests of the review a plan shows: risky migrations named per revision, with size.

Through the newest Terraform, reading the plan's plain text: a drop column on a populated table
names the table's size, an index built without CONCURRENTLY warns on PostgreSQL, a new table
gets no warning, and each dialect only hears of what hurts it. Never edits the provider.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import sqlalchemy as sa

from acceptance.databases import Database
from acceptance.harness import Harness, Step, normalise_output
from acceptance.state import Plan, State
from acceptance.test_upgrade_semantics import (
    PROVIDER,
    database_at,
    hcl,
    provider_block,
    upgrade_config,
)
from tests.alembic_projects import SCRIPT_LOCATION, Revision, make_project

pytestmark = [pytest.mark.acceptance, pytest.mark.newest_terraform]

DROP = 'op.drop_column("accounts", "legacy")'
INDEX = 'op.create_index("ix_accounts_name", "accounts", ["name"])'
RETYPE = """\
import sqlalchemy as sa
op.alter_column("accounts", "name", type_=sa.String(300), existing_type=sa.String(100))
"""
BATCH_DROP = """\
with op.batch_alter_table("accounts") as batch:
    batch.drop_column("legacy")
"""
NEW_TABLE = """\
import sqlalchemy as sa
op.create_table("audit", sa.Column("id", sa.Integer, primary_key=True))
op.create_index("ix_audit_id", "audit", ["id"])
"""


def _populate(database: Database, rows: int = 5000) -> None:
    engine = database.engine()
    with engine.begin() as connection:
        connection.execute(
            sa.text("CREATE TABLE accounts (id INTEGER, name VARCHAR(100), legacy VARCHAR(200))")
        )
        connection.execute(
            sa.text("INSERT INTO accounts VALUES (:id, :name, :legacy)"),
            [{"id": n, "name": f"n{n}", "legacy": "x" * 150} for n in range(rows)],
        )
        if database.kind == "postgresql":
            connection.execute(sa.text("ANALYZE accounts"))
    engine.dispose()


def _project(tmp_path: Path, *revisions: tuple[str, str, str]) -> Path:
    parent = None
    built = []
    for rev_id, message, code in revisions:
        built.append(Revision(rev_id, parent, message, upgrade_sql=[], upgrade_code=code))
        parent = rev_id
    return make_project(tmp_path / "alembic", revisions=built)


def _warnings(text: str) -> list[str]:
    """The text of each ``Migration Review`` warning in the plan output, one string each."""
    flat = normalise_output(text)
    blocks = flat.split("Warning: Migration Review Of Revision")[1:]
    return [" ".join(block.split("│")).split("Warning:")[0] for block in blocks]


def reviewed(check: Callable[[list[str]], None]) -> Callable[[Plan], None]:
    def plan_check(plan: Plan) -> None:
        check([" ".join(w.split()) for w in _warnings(plan.output)])

    return plan_check


@pytest.mark.parametrize("database", ["postgresql"], indirect=True)
def test_postgresql_names_the_size_of_a_dropped_column_and_a_blocking_index(
    harness: Harness, database: Database, tmp_path: Path
) -> None:
    _populate(database)
    project = _project(
        tmp_path,
        ("r1", "drop legacy", DROP),
        ("r2", "index names", INDEX),
        ("r3", "add audit", NEW_TABLE),
    )

    def check(warnings: list[str]) -> None:
        assert len(warnings) == 2, warnings
        dropped, indexed = warnings
        assert "Revision 'r1' (drop legacy) was reviewed before it runs:" in dropped
        assert "destructive drop-column" in dropped
        assert "drops column 'legacy' of table 'accounts' [~5,000 rows," in dropped
        assert " kB]" in dropped or " MB]" in dropped
        assert "Revision 'r2' (index names)" in indexed
        assert "locking index-without-concurrently" in indexed
        assert "postgresql_concurrently=True" in indexed
        assert not any("'r3'" in w for w in warnings)

    harness.test(
        [
            Step(
                config=upgrade_config(project, database),
                plan_check=reviewed(check),
                check=database_at(database, ["r3"]),
            )
        ],
        provider=PROVIDER,
    )


@pytest.mark.parametrize("database", ["mariadb"], indirect=True)
def test_mariadb_warns_of_a_table_copy_and_not_of_index_locks(
    harness: Harness, database: Database, tmp_path: Path
) -> None:
    _populate(database, rows=500)
    project = _project(tmp_path, ("r1", "widen names", RETYPE), ("r2", "index names", INDEX))

    def check(warnings: list[str]) -> None:
        assert len(warnings) == 1, warnings
        assert "Revision 'r1' (widen names)" in warnings[0]
        assert "locking table-copy" in warnings[0]
        assert "of table 'accounts' in a way that copies the table [~" in warnings[0]

    harness.test(
        [
            Step(
                config=upgrade_config(project, database),
                plan_check=reviewed(check),
                check=database_at(database, ["r2"]),
            )
        ],
        provider=PROVIDER,
    )


@pytest.mark.parametrize("database", ["sqlite"], indirect=True)
def test_sqlite_warns_of_a_dropped_column_and_a_new_table_gets_no_warning(
    harness: Harness, database: Database, tmp_path: Path
) -> None:
    _populate(database, rows=50)
    project = _project(tmp_path, ("r1", "add audit", NEW_TABLE), ("r2", "drop legacy", BATCH_DROP))

    def check(warnings: list[str]) -> None:
        assert len(warnings) == 1, warnings
        assert "Revision 'r2' (drop legacy)" in warnings[0]
        assert "destructive drop-column (line" in warnings[0]
        assert "drops column 'legacy' of table 'accounts'" in warnings[0]

    harness.test(
        [
            Step(
                config=upgrade_config(project, database),
                plan_check=reviewed(check),
                check=database_at(database, ["r2"]),
            )
        ],
        provider=PROVIDER,
    )


@pytest.mark.parametrize("database", ["postgresql"], indirect=True)
def test_the_review_data_source_lists_findings_with_size_for_a_check(
    harness: Harness, database: Database, tmp_path: Path
) -> None:
    _populate(database)
    project = _project(tmp_path, ("r1", "drop legacy", DROP), ("r2", "add audit", NEW_TABLE))
    config = (
        provider_block(project)
        + f'\ndata "alembic_review" "pending" {{\n  url = {hcl(database.url)}\n}}\n'
    )

    def check(state: State) -> None:
        values = dict(state.resource("data.alembic_review.pending").values)
        assert values["dialect"] == "postgresql"
        assert [p["revision"] for p in values["pending"]] == ["r1", "r2"]
        (finding,) = values["findings"]
        assert (finding["code"], finding["category"], finding["revision"]) == (
            "drop-column",
            "destructive",
            "r1",
        )
        assert (finding["table"], finding["column"], finding["message"]) == (
            "accounts",
            "legacy",
            "drop legacy",
        )
        assert finding["rows"] == 5000 and finding["bytes"] > 100_000
        assert values["partial"] == []
        assert values["waived"] == []
        assert database.heads() == (), "a data source must not move the database"

    harness.test([Step(config=config, check=check)], provider=PROVIDER)


@pytest.mark.parametrize("database", ["sqlite"], indirect=True)
def test_a_waiver_in_the_revision_file_lifts_its_finding_and_the_plan_counts_it(
    harness: Harness, database: Database, tmp_path: Path
) -> None:
    _populate(database, rows=10)
    waived = 'op.drop_table("accounts")  # alembic-review: ignore drop-table -- moved to archive'
    project = _project(tmp_path, ("r1", "drop accounts", waived))

    def check(plan: Plan) -> None:
        text = " ".join(normalise_output(plan.output).replace("│", " ").split())
        assert _warnings(plan.output) == [], text
        assert (
            "Warning: Migration Review Waivers 1 finding of the review is waived by "
            "alembic-review comments in the revision files: 'r1' drop-table (moved to archive)."
        ) in text.replace(
            " with alembic_upgrade.db, on terraform_plugin_test.tf line 13, in resource "
            '"alembic_upgrade" "db": 13: resource "alembic_upgrade" "db" {',
            "",
        ), text

    harness.test(
        [
            Step(
                config=upgrade_config(project, database),
                plan_check=check,
                check=database_at(database, ["r1"]),
            )
        ],
        provider=PROVIDER,
    )


@pytest.mark.parametrize("database", ["postgresql"], indirect=True)
def test_the_policy_blocks_a_finding_and_a_waiver_in_the_file_lifts_it(
    harness: Harness, database: Database, tmp_path: Path
) -> None:
    _populate(database, rows=100)
    project = _project(tmp_path, ("r1", "index names", INDEX))
    provider = provider_block(project).rstrip().removesuffix("}")
    config = (
        provider
        + '  review {\n    block = ["locking"]\n  }\n}\n'
        + upgrade_config(project, database).split("}\n", 1)[1]
    )
    revision = project / SCRIPT_LOCATION / "versions" / "r1.py"

    def waive() -> None:
        text = revision.read_text()
        revision.write_text(
            text.replace(
                INDEX, INDEX + "  # alembic-review: ignore index-without-concurrently -- quiet hour"
            )
        )

    def counted(plan: Plan) -> None:
        text = " ".join(normalise_output(plan.output).replace("│", " ").split())
        assert "Warning: Migration Review Waivers" in text, text
        assert "'r1' index-without-concurrently (quiet hour)." in text, text

    harness.test(
        [
            Step(
                config=config,
                expect_error=r"Migration Blocked By Review[\s\S]*index-without-concurrently",
            ),
            Step(
                config=config,
                pre_config=waive,
                plan_check=counted,
                check=database_at(database, ["r1"]),
            ),
        ],
        provider=PROVIDER,
    )
