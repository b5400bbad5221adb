"""Acceptance tests of ``alembic_upgrade`` with the real Terraform CLI and real databases.

The lifecycle every test walks: create (the database reaches the head), empty plans, a new
migration file appears and the next apply runs it, destroy leaves the database where it is.
Runs with every Terraform version found, against every database kind, with Terraform starting
the installed provider itself; once more without plugin TLS, and once attached to a provider
started with ``--debug``. Never edits the provider or reads the developer's ``HOME``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from acceptance.databases import Database, sqlite_database
from acceptance.harness import Harness, Step
from acceptance.providers import Managed, Reattach
from acceptance.state import State
from tests.alembic_projects import Revision, add_revision, make_project, table_name
from tests.support import hcl

pytestmark = pytest.mark.acceptance

ADDRESS = "alembic_upgrade.db"


def config_upgrade(project_root: Path, url: str, target: str = "head") -> str:
    """Return the Go provider's configuration shape for one ``alembic_upgrade``."""
    return f"""\
provider "alembic" {{
  project_root = {hcl(str(project_root))}
}}

resource "alembic_upgrade" "db" {{
  target      = {hcl(target)}
  environment = {{
    DATABASE_URL = {hcl(url)}
  }}
}}
"""


def at_revision(database: Database, revision: str) -> Callable[[State], None]:
    """Check that the state's ``revision`` and the database's own version table both say it."""

    def check(state: State) -> None:
        assert state.attr(ADDRESS, "revision") == revision, (
            f"state revision is {state.attr(ADDRESS, 'revision')!r}, expected {revision!r}"
        )
        assert database.heads() == (revision,), (
            f"database heads are {database.heads()!r}, expected {revision!r}"
        )
        assert state.attr(ADDRESS, "id"), "the resource has no id"
        assert table_name(revision) in database.table_names()

    return check


def lifecycle(project: Path, database: Database) -> tuple[list[Step], Callable[[State], None]]:
    """Return the steps of create, update by a new migration file, and the destroy check."""
    config = config_upgrade(project, database.url)

    def new_migration() -> None:
        add_revision(project, "r3", "r2", "third")

    def left_at_head(state: State) -> None:
        assert state.attr(ADDRESS, "revision") == "r3"
        assert database.heads() == ("r3",), "destroy must leave the database as it is"
        assert {table_name(rev) for rev in ("r1", "r2", "r3")} <= database.table_names()

    steps = [
        Step(config=config, check=at_revision(database, "r2")),
        Step(config=config, pre_config=new_migration, check=at_revision(database, "r3")),
    ]
    return steps, left_at_head


def _project(tmp_path: Path) -> Path:
    return make_project(
        tmp_path / "alembic", revisions=[Revision("r1", None, "first"), Revision("r2", "r1")]
    )


def test_upgrade_lifecycle(harness: Harness, database: Database, tmp_path: Path) -> None:
    steps, left_at_head = lifecycle(_project(tmp_path), database)
    harness.test(steps, check_destroy=left_at_head, provider=Managed())


def test_upgrade_lifecycle_without_plugin_tls(harness: Harness, tmp_path: Path) -> None:
    database = sqlite_database(tmp_path)
    steps, left_at_head = lifecycle(_project(tmp_path), database)
    harness.test(steps, check_destroy=left_at_head, provider=Managed(), disable_plugin_tls=True)


def test_upgrade_lifecycle_reattached(harness: Harness, tmp_path: Path) -> None:
    database = sqlite_database(tmp_path)
    steps, left_at_head = lifecycle(_project(tmp_path), database)
    harness.test(steps, check_destroy=left_at_head, provider=Reattach())
