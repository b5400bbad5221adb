"""The ``python`` argument through Terraform: the provider's, then a resource's own.

The README's first example sets ``python`` on the provider block; a resource may set its own.
Each interpreter here is a wrapper script that starts this test run's Python with an ``-X``
option naming the wrapper, and each migration writes the option it runs under to a file, so
the test sees which interpreter ran every migration. Runs with the newest Terraform against
SQLite; never edits the provider.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from acceptance.databases import Database, sqlite_database
from acceptance.harness import Harness, Step
from acceptance.state import State
from acceptance.test_upgrade_semantics import (
    PROVIDER,
    database_at,
    provider_block,
    resource_block,
)
from tests.alembic_projects import Revision, add_revision, make_project

pytestmark = [pytest.mark.acceptance, pytest.mark.newest_terraform]

#: Migration code: append the interpreter's name (the wrapper's ``-X`` option) to the record
#: when it runs against the database, not when the plan's review renders it offline.
RECORD_INTERPRETER = """\
import sys
if not op.get_context().as_sql:
    with open(os.environ["ALEMBIC_TEST_INTERPRETERS"], "a") as record:
        record.write(revision + " " + str(sys._xoptions.get("tfa_interpreter")) + "\\n")
"""


def _interpreter(path: Path, name: str) -> str:
    """Write an interpreter wrapper that marks the Python it starts with ``name``."""
    path.write_text(f'#!/bin/sh\nexec {sys.executable} -X tfa_interpreter={name} "$@"\n')
    path.chmod(0o755)
    return str(path)


def _ran(database: Database, record: Path, runs: list[str]) -> Callable[[State], None]:
    """Check that the database is at the last of ``runs`` and which interpreter ran each."""

    def check(state: State) -> None:
        database_at(database, [runs[-1].split()[0]])(state)
        assert record.read_text().splitlines() == runs

    return check


def test_migrations_run_under_the_providers_then_the_resources_python(
    harness: Harness, tmp_path: Path
) -> None:
    database = sqlite_database(tmp_path)
    project = make_project(
        tmp_path / "alembic", revisions=[Revision("r1", None, upgrade_code=RECORD_INTERPRETER)]
    )
    record = tmp_path / "interpreters"
    environment = {"DATABASE_URL": database.url, "ALEMBIC_TEST_INTERPRETERS": str(record)}
    provider = provider_block(
        project, python=[_interpreter(tmp_path / "provider-python", "provider")]
    )
    resource = resource_block("alembic_upgrade", "db", environment=environment)
    own = resource_block(
        "alembic_upgrade",
        "db",
        environment=environment,
        python=[_interpreter(tmp_path / "resource-python", "resource")],
    )

    harness.test(
        [
            Step(config=provider + resource, check=_ran(database, record, ["r1 provider"])),
            Step(
                config=provider + own,
                pre_config=lambda: add_revision(
                    project, "r2", "r1", upgrade_code=RECORD_INTERPRETER
                ),
                check=_ran(database, record, ["r1 provider", "r2 resource"]),
            ),
        ],
        provider=PROVIDER,
    )
