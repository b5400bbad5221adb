"""A failing migration is reported through Terraform with its revision, file and line.

The second revision raises from its own Python code; ``terraform apply`` must fail with the
revision's id and message, the exception, and the line of the migration file that raised (the
user's own frame standing in for a traceback), then apply once the migration is fixed. Runs with
the newest Terraform on SQLite and PostgreSQL; never edits the provider.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from acceptance.databases import Database
from acceptance.harness import Harness, Step
from acceptance.test_upgrade_semantics import PROVIDER, database_at, upgrade_config
from tests.alembic_projects import Revision, add_revision, make_project

pytestmark = [pytest.mark.acceptance, pytest.mark.newest_terraform]

RAISE = 'raise RuntimeError("bad data in row 7")'


@pytest.mark.parametrize("database", ["sqlite", "postgresql"], indirect=True)
def test_a_failing_migration_names_its_revision_file_and_line(
    harness: Harness, database: Database, tmp_path: Path
) -> None:
    project = make_project(tmp_path / "alembic", revisions=[Revision("r1", None)])
    config = upgrade_config(project, database)
    path = add_revision(project, "r2", "r1", "load users", upgrade_sql=[], upgrade_code=RAISE)
    lines = path.read_text().splitlines()
    line = next(number for number, text in enumerate(lines, 1) if RAISE in text)
    relative = path.relative_to(project).as_posix()
    expected = (
        "Revision 'r2' (load users) failed during upgrade: RuntimeError: bad data in row 7 "
        f'File "{relative}", line {line}, in upgrade {RAISE}'
    )
    harness.test(
        [
            Step(
                config=config,
                expect_error=re.compile(re.escape(expected)),
                check=database_at(database, ["r1"] if database.kind == "sqlite" else []),
            ),
            Step(
                config=config,
                pre_config=lambda: add_revision(project, "r2", "r1", "load users"),
                check=database_at(database, ["r2"]),
            ),
        ],
        provider=PROVIDER,
    )
