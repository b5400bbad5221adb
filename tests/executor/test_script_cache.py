"""The script graph cache: plans read the graph without running revision modules, never stale.

Every revision module generated here appends its id to a file when it is imported, so a test
sees exactly which modules a request executed.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from alembic_provider.errors import MigrationError
from alembic_provider.executor import Project, WorkerExecutor
from tests.alembic_projects import add_revision, make_project, sqlite_url

_RECORD_IMPORT = """
if os.environ.get("ALEMBIC_TEST_IMPORTS"):
    with open(os.environ["ALEMBIC_TEST_IMPORTS"], "a") as _log:
        _log.write(revision + "\\n")
"""


def _recording(path: Path) -> Path:
    path.write_text(path.read_text() + _RECORD_IMPORT)
    return path


def _imports(log: Path) -> list[str]:
    text = log.read_text() if log.exists() else ""
    log.write_text("")
    return text.split()


def _revision(root: Path, rev_id: str, down: str | None, message: str) -> Path:
    return _recording(add_revision(root, rev_id, down, message))


def _settle(root: Path) -> None:
    """Date the revision files a minute back: files edited this very moment are not cached."""
    past = time.time() - 60
    for path in (root / "migrations" / "versions").glob("*.py"):
        os.utime(path, (past, past))


def _cached_graph(
    executor: WorkerExecutor, project: Project, log: Path
) -> list[tuple[str, tuple[str, ...], str]]:
    """Read the graph twice, proving the second read came from the cache."""
    _settle(Path(project.project_root))
    first = _graph(executor, project)
    _imports(log)
    assert _graph(executor, project) == first
    assert _imports(log) == [], "the second read ran revision modules"
    return first


@pytest.fixture
def setup(tmp_path: Path) -> tuple[Path, Project, Path]:
    root = make_project(tmp_path, sqlite_url(tmp_path / "db.sqlite"))
    _revision(root, "c0000001", None, "first")
    _revision(root, "c0000002", "c0000001", "second")
    log = tmp_path / "imports.log"
    return root, Project(str(root), environment={"ALEMBIC_TEST_IMPORTS": str(log)}), log


def _graph(executor: WorkerExecutor, project: Project) -> list[tuple[str, tuple[str, ...], str]]:
    info = executor.describe(project)
    return [(r.revision, r.down_revisions, r.message) for r in info.revisions]


def test_a_second_read_runs_no_revision_module(
    any_executor: WorkerExecutor, setup: tuple[Path, Project, Path]
) -> None:
    root, project, log = setup
    _settle(root)
    first = _graph(any_executor, project)
    assert sorted(_imports(log)) == ["c0000001", "c0000002"]

    assert _graph(any_executor, project) == first
    assert _imports(log) == []
    pending = any_executor.inspect(project, "heads")
    assert [step.revision for step in pending.steps] == ["c0000001", "c0000002"]
    assert _imports(log) == [], "planning pending steps ran revision modules"
    any_executor.upgrade(project, "heads")
    _imports(log)
    inspection = any_executor.inspect(project, "heads")
    assert (inspection.current, inspection.steps) == (("c0000002",), ())
    assert _imports(log) == []


def test_the_cache_follows_edits_additions_renames_and_removals(
    executor: WorkerExecutor, setup: tuple[Path, Project, Path]
) -> None:
    root, project, log = setup
    versions = root / "migrations" / "versions"
    assert _cached_graph(executor, project, log)[-1] == ("c0000002", ("c0000001",), "second")

    edited = versions / "c0000002.py"
    edited.write_text(edited.read_text().replace('"""second', '"""second, edited'))
    assert _graph(executor, project)[-1] == ("c0000002", ("c0000001",), "second, edited")
    assert _cached_graph(executor, project, log)[-1][2] == "second, edited"

    _revision(root, "c0000003", "c0000002", "third")
    assert _graph(executor, project)[-1] == ("c0000003", ("c0000002",), "third")
    assert _cached_graph(executor, project, log)[-1][0] == "c0000003"

    os.rename(versions / "c0000003.py", versions / "renamed_third.py")
    assert _graph(executor, project)[-1] == ("c0000003", ("c0000002",), "third")
    _cached_graph(executor, project, log)
    # The renamed file is the one the migration runs from.
    assert executor.upgrade(project, "heads").heads == ("c0000003",)
    assert sorted(_imports(log)) == ["c0000001", "c0000002", "c0000003"]

    (versions / "renamed_third.py").unlink()
    assert executor.describe(project).heads == ("c0000002",)
    _revision(root, "c0000004", "c0000001", "fourth")
    assert sorted(executor.describe(project).heads) == ["c0000002", "c0000004"]
    _cached_graph(executor, project, log)
    # Reparenting keeps the file's size, and an old modification time would not tell: the
    # change time does.
    fourth = versions / "c0000004.py"
    stat = fourth.stat()
    fourth.write_text(fourth.read_text().replace("'c0000001'", "'c0000002'"))
    os.utime(fourth, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert executor.describe(project).heads == ("c0000004",)


def test_an_apply_loads_each_revision_module_once(
    executor: WorkerExecutor, setup: tuple[Path, Project, Path]
) -> None:
    _root, project, log = setup
    _cached_graph(executor, project, log)

    result = executor.upgrade(project, "heads")

    assert result.heads == ("c0000002",)
    assert sorted(_imports(log)) == ["c0000001", "c0000002"]


def test_a_broken_revision_is_reported_even_after_a_cached_read(
    executor: WorkerExecutor, setup: tuple[Path, Project, Path]
) -> None:
    root, project, log = setup
    _cached_graph(executor, project, log)
    broken = root / "migrations" / "versions" / "c0000002.py"
    broken.write_text(broken.read_text() + "\nthis is not python\n")

    with pytest.raises(MigrationError) as raised:
        executor.describe(project)

    assert "could not be loaded" in raised.value.message


def test_the_cache_can_be_turned_off(
    executor: WorkerExecutor, setup: tuple[Path, Project, Path]
) -> None:
    root, project, log = setup
    _settle(root)
    off = Project(
        project.project_root,
        environment={**project.environment, "TERRAFORM_PROVIDER_ALEMBIC_SCRIPT_CACHE": "off"},
    )
    _graph(executor, off)
    _graph(executor, off)
    assert sorted(_imports(log)) == ["c0000001", "c0000001", "c0000002", "c0000002"]


_LEGACY = os.environ.get("ALEMBIC_TEST_LEGACY_PYTHON", "")
_BRANCHY = [
    ("d0000001", None, "base", None, None),
    ("d0000002", "d0000001", "trunk", None, None),
    ("d0000003", "d0000001", "feature", ["feature"], None),
    ("d0000004", "d0000003", "feature more", None, "d0000002"),
    ("d0000005", ("d0000002", "d0000004"), "merge", None, None),
    ("d0000006", None, "other base", ["other"], None),
]


@pytest.mark.parametrize("legacy", [False, True], ids=["current", "legacy"])
def test_a_cached_graph_answers_like_a_loaded_one(
    executor: WorkerExecutor, tmp_path: Path, legacy: bool
) -> None:
    if legacy and not _LEGACY:
        pytest.skip("ALEMBIC_TEST_LEGACY_PYTHON is not set")
    root = make_project(tmp_path, sqlite_url(tmp_path / "db.sqlite"))
    for rev_id, down, message, labels, depends in _BRANCHY:
        _recording(
            add_revision(root, rev_id, down, message, branch_labels=labels, depends_on=depends)
        )
    log = tmp_path / "imports.log"
    environment = {"ALEMBIC_TEST_IMPORTS": str(log)}
    project = (
        Project(str(root), environment=environment, python=(_LEGACY,))
        if legacy
        else Project(str(root), environment=environment)
    )
    _settle(root)
    loaded = executor.describe(project)
    assert len(_imports(log)) == len(_BRANCHY)

    assert executor.describe(project) == loaded
    assert executor.resolve(project, "feature@head") == ("d0000005",)
    assert executor.resolve(project, "other@head") == ("d0000006",)
    assert _imports(log) == []
    assert executor.upgrade(project, "heads").heads == ("d0000005", "d0000006")
    inspection = executor.inspect(project, "heads")
    assert (inspection.at_target, inspection.steps) == (True, ())
