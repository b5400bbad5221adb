"""The worker under an older user environment (e.g. Alembic 1.7 with SQLAlchemy 1.4).

Set ``ALEMBIC_TEST_LEGACY_PYTHON`` to an interpreter whose environment has the old releases
installed; without it these tests are skipped.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from alembic_provider.errors import MigrationError, TargetError
from alembic_provider.executor import Project, RunOptions, WorkerExecutor
from tests.alembic_projects import Revision as Rev
from tests.alembic_projects import make_project, tables, version_rows
from tests.executor.conftest import ProjectFactory

LEGACY = os.environ.get("ALEMBIC_TEST_LEGACY_PYTHON", "")

pytestmark = pytest.mark.skipif(not LEGACY, reason="ALEMBIC_TEST_LEGACY_PYTHON is not set")

REVISIONS = [
    Rev("aaaa0001", None, "create t1"),
    Rev("aaaa0002", "aaaa0001", "create t2"),
    Rev("bbbb0001", "aaaa0001", "feature", branch_labels=["feature"]),
    Rev("cccc0001", ("aaaa0002", "bbbb0001"), "merge"),
]


def test_legacy_versions_are_what_the_variable_promises() -> None:
    out = subprocess.run(
        [LEGACY, "-c", "import alembic, sqlalchemy; print(alembic.__version__)"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert out.strip() != ""


def test_every_operation_under_the_legacy_interpreter(
    any_executor: WorkerExecutor, project_factory: ProjectFactory, database_url: str
) -> None:
    project = project_factory(REVISIONS, database=database_url, python=(LEGACY,))

    assert any_executor.describe(project).heads == ("cccc0001",)
    assert any_executor.resolve(project, "feature@head") == ("cccc0001",)
    with pytest.raises(TargetError):
        any_executor.resolve(project, "+1")
    inspection = any_executor.inspect(project, "heads")
    assert [s.revision for s in inspection.steps][-1] == "cccc0001"
    assert version_rows(database_url) is None
    assert "t_aaaa0001" in any_executor.sql(project, "heads", current=())
    assert any_executor.upgrade(project, "aaaa0002").heads == ("aaaa0002",)
    assert any_executor.upgrade(project, "heads").heads == ("cccc0001",)
    assert any_executor.inspect(project, "heads").at_target
    assert any_executor.downgrade(project, "aaaa0001").heads == ("aaaa0001",)
    assert any_executor.stamp(project, "heads").heads == ("cccc0001",)
    assert any_executor.current(project) == ("cccc0001",)


def test_failure_under_the_legacy_interpreter(executor: WorkerExecutor, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    root = make_project(
        tmp_path, url, [Rev("aaaa0001", None), Rev("aaaa0002", "aaaa0001", fail=True)]
    )
    project = Project(str(root), python=(LEGACY,))

    with pytest.raises(MigrationError) as raised:
        executor.upgrade(project, "heads", options=RunOptions(lock=True))
    assert (raised.value.revision, raised.value.heads_reached) == ("aaaa0002", ("aaaa0001",))
    assert "t_aaaa0002" in tables(url)
