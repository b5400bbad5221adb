"""Acceptance tests of the review around a plan: the data source, and a blocked plan unblocked.

Through the newest Terraform: ``alembic_review`` lists the findings with the table's size for a
``check``; a plan the policy blocks goes through, and applies, once the revision file waives the
finding. Every code on every dialect, the waivers and the policy within one plan are in
``test_review_codes.py``. Never edits the provider.
"""

from __future__ import annotations

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
