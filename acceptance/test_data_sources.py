"""Acceptance tests of the data sources ``alembic_revisions`` and ``alembic_current``.

``alembic_revisions`` reads only the script directory, so it must work without any database;
``alembic_current`` reads a database's heads and lists what moving it to a target would run,
without writing. Runs with the newest Terraform against SQLite, through a provider started
with ``--debug``. Never edits the provider.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from acceptance.databases import sqlite_database
from acceptance.harness import Harness, Step
from acceptance.state import State
from acceptance.test_upgrade_semantics import (
    PROVIDER,
    hcl,
    provider_block,
    run_alembic,
)
from tests.alembic_projects import Revision, make_project

pytestmark = [pytest.mark.acceptance, pytest.mark.newest_terraform]


def test_revisions_lists_the_script_directory(harness: Harness, tmp_path: Path) -> None:
    project = make_project(
        tmp_path / "alembic",
        revisions=[
            Revision("r1", None, "create users"),
            Revision("a1", "r1", "alpha feature", branch_labels=["alpha"]),
            Revision("b1", "r1", "beta feature", branch_labels=["beta"]),
            Revision("b2", "b1", "beta follow-up"),
        ],
    )
    # No URL anywhere, and the ini's default SQLite file must never be created.
    config = (
        provider_block(project)
        + """
data "alembic_revisions" "all" {}

output "heads" {
  value = data.alembic_revisions.all.heads
}

output "bases" {
  value = data.alembic_revisions.all.bases
}

output "branches" {
  value = data.alembic_revisions.all.branches
}

output "revisions" {
  value = {
    for r in data.alembic_revisions.all.revisions : r.revision => {
      message        = r.message
      down_revisions = r.down_revisions
      is_head        = r.is_head
      branch_point   = r.is_branch_point
    }
  }
}
"""
    )

    def check(state: State) -> None:
        assert state.outputs["heads"] == ["a1", "b2"]
        assert state.outputs["bases"] == ["r1"]
        assert state.outputs["branches"] == {"alpha": "a1", "beta": "b1"}
        revisions = state.outputs["revisions"]
        assert {rev: item["message"] for rev, item in revisions.items()} == {
            "r1": "create users",
            "a1": "alpha feature",
            "b1": "beta feature",
            "b2": "beta follow-up",
        }
        assert revisions["b2"]["down_revisions"] == ["b1"]
        assert revisions["r1"]["branch_point"] is True
        assert [rev for rev, item in revisions.items() if item["is_head"]] == ["a1", "b2"]
        order = [r["revision"] for r in state.attr("data.alembic_revisions.all", "revisions")]
        assert order.index("r1") < order.index("b1") < order.index("b2"), order
        assert not (tmp_path / "alembic" / "db.sqlite").exists(), "no database may be touched"

    harness.test([Step(config=config, check=check)], provider=PROVIDER)


def test_current_reports_pending_and_direction(harness: Harness, tmp_path: Path) -> None:
    database = sqlite_database(tmp_path)
    project = make_project(
        tmp_path / "alembic",
        revisions=[
            Revision("r1", None, "create users"),
            Revision("r2", "r1", "add email"),
            Revision("r3", "r2", "create orders"),
        ],
    )
    run_alembic(project, database, "upgrade", "r2")

    def current(name: str, target: str | None) -> str:
        target_line = "" if target is None else f"  target = {hcl(target)}\n"
        return (
            f'\ndata "alembic_current" "{name}" {{\n{target_line}  url = {hcl(database.url)}\n}}\n'
        )

    config = (
        provider_block(project)
        + current("ahead", None)
        + current("here", "r2")
        + current("behind", "r1")
    )

    def check(state: State) -> None:
        def values(name: str) -> dict[str, object]:
            return dict(state.resource(f"data.alembic_current.{name}").values)

        ahead, here, behind = values("ahead"), values("here"), values("behind")
        for item in (ahead, here, behind):
            assert item["revision"] == "r2"
            assert item["revisions"] == ["r2"]
        assert ahead["direction"] == "upgrade"
        assert ahead["target_revisions"] == ["r3"]
        assert ahead["pending"] == [{"revision": "r3", "message": "create orders"}]
        assert here["direction"] == "none"
        assert here["pending"] == []
        assert behind["direction"] == "downgrade"
        assert behind["pending"] == [{"revision": "r2", "message": "add email"}]
        assert database.heads() == ("r2",), "a data source must not move the database"

    harness.test([Step(config=config, check=check)], provider=PROVIDER)
