"""Acceptance tests of ``alembic_stamp`` with the real Terraform CLI.

A stamp marks the database without running migrations: on create and when ``target`` changes,
never because new revisions appeared (the Go provider re-stamped ``head`` then and so skipped
migrations); such drift is a warning that points at ``alembic_upgrade``. Runs with the newest
Terraform against SQLite, through a provider started with ``--debug``. Never edits the provider.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from acceptance.databases import Database, sqlite_database
from acceptance.harness import Harness, PlanCheck, Step, normalise_output
from acceptance.state import Plan, State
from acceptance.test_upgrade_semantics import (
    PROVIDER,
    database_at,
    provider_block,
    resource_block,
)
from tests.alembic_projects import Revision, add_revision, make_project

pytestmark = [pytest.mark.acceptance, pytest.mark.newest_terraform]

ADDRESS = "alembic_stamp.baseline"


def _project(tmp_path: Path) -> Path:
    return make_project(
        tmp_path / "alembic", revisions=[Revision("r1", None), Revision("r2", "r1")]
    )


def stamp_config(project: Path, database: Database, target: str) -> str:
    """Return a provider block with the URL (import reads the database with it) and a stamp."""
    return provider_block(project, url=database.url) + resource_block(
        "alembic_stamp", "baseline", target=target
    )


def stamp_planned(before: str | None, after: str) -> PlanCheck:
    """Check that the plan stamps: ``revision`` old → new, and no migration is listed."""

    def check(plan: Plan) -> None:
        change = plan.change(ADDRESS)
        assert change.changed
        assert (change.before or {}).get("revision") == before
        assert (change.after or {}).get("revision") == after
        assert "pending" not in (change.after or {}), "a stamp runs no migrations"

    return check


def warns_without_stamping(plan: Plan) -> None:
    """Check that a new revision plans nothing, and that the refresh warns about it."""
    assert not plan.changed, f"new revisions must not stamp again: {plan.changed}"
    if plan.refresh:
        text = normalise_output(plan.output)
        assert "Warning: Database Not At Target" in text, text
        assert "The database is at 'r2' but the target resolves to 'r3'" in text, text
        assert "run new migrations with alembic_upgrade" in text, text


def test_stamp_never_follows_new_revisions(harness: Harness, tmp_path: Path) -> None:
    database = sqlite_database(tmp_path)
    project = _project(tmp_path)

    def stamped_only(state: State) -> None:
        database_at(database, ["r2"], ADDRESS)(state)
        assert database.table_names() == {"alembic_version"}, "a stamp must not run migrations"

    harness.test(
        [
            Step(
                config=stamp_config(project, database, "head"),
                plan_check=stamp_planned(None, "r2"),
                check=stamped_only,
            ),
            Step(
                import_state=True,
                resource_name=ADDRESS,
                import_state_id="head",
                import_state_verify=True,
            ),
            Step(
                config=stamp_config(project, database, "head"),
                pre_config=lambda: add_revision(project, "r3", "r2"),
                plan_check=warns_without_stamping,
                check=stamped_only,
            ),
            Step(
                config=stamp_config(project, database, "r3"),
                plan_check=stamp_planned("r2", "r3"),
                check=database_at(database, ["r3"], ADDRESS),
            ),
        ],
        provider=PROVIDER,
    )
    assert database.table_names() == {"alembic_version"}


def test_stamp_plan_without_refresh_stays_empty(harness: Harness, tmp_path: Path) -> None:
    database = sqlite_database(tmp_path)
    project = _project(tmp_path)
    config = stamp_config(project, database, "head")
    harness.test(
        [
            Step(config=config, check=database_at(database, ["r2"], ADDRESS)),
            Step(
                config=config,
                pre_config=lambda: add_revision(project, "r3", "r2"),
                plan_only=True,
                plan_check=warns_without_stamping,
            ),
        ],
        provider=PROVIDER,
    )


def quiet(plan: Plan) -> None:
    """Check that the plan changes nothing and warns about nothing."""
    assert not plan.changed, plan.output
    assert "Warning" not in plan.output, plan.output


def test_stamp_is_satisfied_once_upgrades_passed_it(harness: Harness, tmp_path: Path) -> None:
    """A baseline stamp stays quiet once alembic_upgrade ran the revisions after it."""
    database = sqlite_database(tmp_path)
    project = _project(tmp_path)
    stamp = stamp_config(project, database, "r1")
    both = stamp + resource_block("alembic_upgrade", "schema", target="heads").replace(
        "}\n", "  depends_on = [alembic_stamp.baseline]\n}\n"
    )
    harness.test(
        [
            Step(config=stamp, check=database_at(database, ["r1"], ADDRESS)),
            Step(config=both, check=database_at(database, ["r2"], "alembic_upgrade.schema")),
            Step(
                config=both,
                pre_config=lambda: add_revision(project, "r3", "r2"),
                check=database_at(database, ["r3"], "alembic_upgrade.schema"),
            ),
            Step(config=both, plan_only=True, plan_check=quiet),
        ],
        provider=PROVIDER,
    )
