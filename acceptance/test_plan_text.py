"""Acceptance tests of what a person reads in ``terraform plan``: every migration that will run.

The plan's text (``terraform plan -no-color``), not only its JSON, must name each pending
migration (id and message) as an addition, with and without a refresh, after new files appear
and after the database was moved by hand; with ``preview_sql`` the diff of ``sql`` is the SQL
that will run, never SQL that already ran shown as removed. Runs with the newest Terraform
against SQLite through a provider started with ``--debug``. Never edits the provider.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

from acceptance.databases import sqlite_database
from acceptance.harness import Harness, Step, normalise_output
from acceptance.state import Plan
from acceptance.test_upgrade_semantics import (
    PROVIDER,
    database_at,
    run_alembic,
    upgrade_config,
)
from tests.alembic_projects import Revision, add_revision, make_project, table_name

pytestmark = [pytest.mark.acceptance, pytest.mark.newest_terraform]


def _added_pending(text: str) -> list[tuple[str, str]]:
    """Return the ``(revision, message)`` objects the plan text shows as added to ``pending``."""
    found = []
    for block in re.findall(r"\+ \{(.*?)\}", text, flags=re.DOTALL):
        revision = re.search(r'\+ revision\s*=\s*"([^"]*)"', block)
        message = re.search(r'\+ message\s*=\s*"([^"]*)"', block)
        if revision and message:
            found.append((revision.group(1), message.group(1)))
    return found


def names_in_text(
    runs: Sequence[tuple[str, str]], ran: Sequence[str] = (), *, sql: bool = False
) -> Callable[[Plan], None]:
    """Check the plan's text: ``runs`` appear as added, nothing that ``ran`` appears removed."""

    def check(plan: Plan) -> None:
        text = plan.output
        assert _added_pending(text) == list(runs), text
        assert not re.search(r"^\s*- \{", text, flags=re.MULTILINE), text
        assert not re.search(r"^\s*- (revision|message)\s*=", text, flags=re.MULTILINE), text
        for revision in ran:
            assert f'+ revision = "{revision}"' not in normalise_output(text), text
        if sql:
            for revision, _ in runs:
                assert f"CREATE TABLE {table_name(revision)}" in text, text
            for revision in ran:
                assert f"CREATE TABLE {table_name(revision)}" not in text, text
        else:
            assert "CREATE TABLE" not in text, text

    return check


def _project(tmp_path: Path) -> Path:
    return make_project(
        tmp_path / "alembic",
        revisions=[Revision("r1", None, "create users"), Revision("r2", "r1", "add email")],
    )


@pytest.mark.parametrize("preview_sql", [False, True], ids=["names", "sql"])
def test_every_plan_names_the_migrations_it_runs(
    harness: Harness, tmp_path: Path, preview_sql: bool
) -> None:
    database = sqlite_database(tmp_path)
    project = _project(tmp_path)
    config = upgrade_config(project, database, preview_sql=preview_sql)
    harness.test(
        [
            Step(
                config=config,
                plan_check=names_in_text(
                    [("r1", "create users"), ("r2", "add email")], sql=preview_sql
                ),
                check=database_at(database, ["r2"]),
            ),
            # New files, planned with a refresh.
            Step(
                config=config,
                pre_config=lambda: (
                    add_revision(project, "r3", "r2", "create orders"),
                    add_revision(project, "r4", "r3", "add totals"),
                ),
                plan_check=names_in_text(
                    [("r3", "create orders"), ("r4", "add totals")],
                    ran=["r1", "r2"],
                    sql=preview_sql,
                ),
                check=database_at(database, ["r4"]),
            ),
            # New files, planned without a refresh.
            Step(
                config=config,
                refresh=False,
                pre_config=lambda: add_revision(project, "r5", "r4", "drop legacy"),
                plan_check=names_in_text(
                    [("r5", "drop legacy")], ran=["r3", "r4"], sql=preview_sql
                ),
                check=database_at(database, ["r5"]),
            ),
            # The database moved back by hand: the plan names what runs again.
            Step(
                config=config,
                pre_config=lambda: run_alembic(project, database, "downgrade", "r3"),
                plan_check=names_in_text(
                    [("r4", "add totals"), ("r5", "drop legacy")], ran=["r3"], sql=preview_sql
                ),
                check=database_at(database, ["r5"]),
            ),
        ],
        provider=PROVIDER,
    )


def test_destroy_plan_names_the_downgrade_of_on_destroy(harness: Harness, tmp_path: Path) -> None:
    """Terraform 1.3+ plans destroys with the provider: the plan says what on_destroy undoes."""
    database = sqlite_database(tmp_path)
    project = _project(tmp_path)
    config = upgrade_config(project, database, on_destroy="base")

    def names_the_downgrade(plan: Plan) -> None:
        text = normalise_output(plan.output)
        assert "Warning: Destroy Downgrades The Database" in text, plan.output
        assert "undoing 'r2' (add email), 'r1' (create users)" in text, plan.output
        assert database.heads() == ("r2",), "planning a destroy must not downgrade"

    harness.test(
        [
            Step(config=config, check=database_at(database, ["r2"])),
            Step(config=config, destroy=True, plan_check=names_the_downgrade),
        ],
        provider=PROVIDER,
    )
    assert database.heads() == ()
