"""Acceptance tests of how often a plan runs env.py: once per resource, never stale.

A refresh reads the database; the plan Terraform makes of the same resource right after, in the
same walk, starts from what that refresh read instead of running env.py again. Nothing of it
outlives the walk: through a provider started with ``--debug`` (one process serving every
command), the next command reads again and sees a database moved by hand in between. Runs
with the newest Terraform against SQLite. Never edits the provider.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from acceptance.databases import sqlite_database
from acceptance.harness import Harness, Step
from acceptance.state import Plan
from acceptance.test_upgrade_semantics import (
    PROVIDER,
    database_at,
    pending_ids,
    run_alembic,
    upgrade_config,
)
from tests.alembic_projects import Revision, make_project

pytestmark = [pytest.mark.acceptance, pytest.mark.newest_terraform]


def _runs(record: Path) -> list[dict[str, object]]:
    if not record.exists():
        return []
    return [json.loads(line) for line in record.read_text().splitlines() if line.strip()]


def ran_env_py(record: Path, times: int, pending: list[str]) -> Callable[[Plan], None]:
    """Check that the plan ran env.py ``times`` times and plans to run ``pending``."""

    def check(plan: Plan) -> None:
        runs = _runs(record)
        assert len(runs) == times, runs
        assert pending_ids(plan.change("alembic_upgrade.db").after) == pending
        record.unlink(missing_ok=True)

    return check


def test_a_plan_runs_env_py_once_per_resource_and_reads_again_next_time(
    harness: Harness, tmp_path: Path
) -> None:
    database = sqlite_database(tmp_path)
    project = make_project(
        tmp_path / "alembic",
        revisions=[Revision("r1", None, "create users"), Revision("r2", "r1", "add email")],
    )
    record = tmp_path / "env-py-runs.jsonl"
    config = upgrade_config(
        project,
        database,
        environment={"DATABASE_URL": database.url, "ALEMBIC_TEST_RECORD": str(record)},
    )

    def move_back_by_hand() -> None:
        run_alembic(project, database, "downgrade", "r1")
        record.unlink(missing_ok=True)

    harness.test(
        [
            Step(config=config, check=database_at(database, ["r2"])),
            # Moved back by hand: the refresh reads r1, the plan starts from it without reading.
            Step(
                config=config,
                pre_config=move_back_by_hand,
                plan_check=ran_env_py(record, 1, ["r2"]),
                check=database_at(database, ["r2"]),
            ),
            # Without a refresh the plan reads the database itself.
            Step(
                config=config,
                refresh=False,
                pre_config=move_back_by_hand,
                plan_check=ran_env_py(record, 1, ["r2"]),
                check=database_at(database, ["r2"]),
            ),
        ],
        provider=PROVIDER,
    )
