"""The worker's facts for planning several resources on one database, through real workers.

The fingerprint of the version table env.py connected to, plans that start where other
resources' planned moves leave the database, plans of a database that does not exist yet, and
a stamp of an exact set of heads. SQLite only: none of it depends on the server kind.
"""

from __future__ import annotations

from pathlib import Path

from alembic_provider.errors import ProviderError
from alembic_provider.executor import DatabaseFacts, PlannedMove, Project, Step, WorkerExecutor
from tests.alembic_projects import Revision as Rev
from tests.alembic_projects import make_project, sqlite_url, version_rows

LINES = [
    Rev("aaaa0001", None, "create t1", branch_labels=["a"]),
    Rev("aaaa0002", "aaaa0001", "create t2"),
    Rev("bbbb0001", None, "other base", branch_labels=["b"]),
    Rev("bbbb0002", "bbbb0001", "other two"),
]


def _project(tmp_path: Path, name: str, url: str) -> Project:
    return Project(str(make_project(tmp_path / name, url, LINES)))


def test_one_database_has_one_fingerprint_whoever_connects(
    executor: WorkerExecutor, tmp_path: Path
) -> None:
    url = sqlite_url(tmp_path / "db.sqlite")
    first = executor.inspect(_project(tmp_path, "one", url), "heads")
    second = executor.inspect(_project(tmp_path, "two", url), "heads")
    other = executor.inspect(
        _project(tmp_path, "three", sqlite_url(tmp_path / "x.sqlite")), "a@head"
    )
    assert first.database is not None
    assert first.database == second.database
    assert other.database not in (None, first.database)


def test_an_inspection_from_known_facts_plans_from_them_without_running_env_py(
    executor: WorkerExecutor, tmp_path: Path
) -> None:
    url = sqlite_url(tmp_path / "db.sqlite")
    record = tmp_path / "runs.jsonl"
    root = make_project(tmp_path / "p", url, LINES)
    project = Project(str(root), environment={"ALEMBIC_TEST_RECORD": str(record)})
    read = executor.inspect(project, "a@head")
    assert record.read_text().count("\n") == 1
    known = DatabaseFacts(("aaaa0001",), read.dialect, read.database)
    planned = executor.inspect(project, "a@head", known=known)
    assert record.read_text().count("\n") == 1, "env.py did not run again"
    assert (planned.current, planned.database, planned.dialect) == (
        ("aaaa0001",),
        read.database,
        read.dialect,
    )
    assert planned.steps == (Step("aaaa0002", "create t2"),)


def test_a_plan_starts_where_the_planned_moves_leave_the_database(
    executor: WorkerExecutor, tmp_path: Path
) -> None:
    url = sqlite_url(tmp_path / "db.sqlite")
    project = _project(tmp_path, "p", url)
    alone = executor.inspect(project, "b@head")
    assert (alone.current, alone.start, alone.expected) == ((), (), ("bbbb0002",))
    database = alone.database
    assert database is not None
    moves = (
        PlannedMove(database, (), ("aaaa0001",)),
        PlannedMove(database, ("aaaa0001",), ("aaaa0002",)),
        PlannedMove("elsewhere", ("aaaa0002",), ("aaaa0001",)),
    )
    after = executor.inspect(project, "b@head", planned=moves)
    assert after.current == ()
    assert after.start == after.planned_from == ("aaaa0002",)
    assert after.steps == (Step("bbbb0001", "other base"), Step("bbbb0002", "other two"))
    assert after.expected == ("aaaa0002", "bbbb0002")
    # A move that does not start where the database is (it already happened) is not followed.
    stale = executor.inspect(project, "b@head", planned=(PlannedMove(database, ("x",), ("y",)),))
    assert stale.start == ()
    assert version_rows(url) is None, "planning never writes"


def test_offline_plans_from_an_empty_table_without_a_database(
    executor: WorkerExecutor, tmp_path: Path
) -> None:
    url = sqlite_url(tmp_path / "missing-directory" / "db.sqlite")
    project = _project(tmp_path, "p", url)
    try:
        executor.inspect(project, "a@head")
    except ProviderError as exc:
        assert exc.kind == "database_missing", exc
    else:
        raise AssertionError("a database that cannot be reached was read")
    offline = executor.inspect(project, "a@head", offline=True)
    assert (offline.current, offline.database) == ((), None)
    assert [s.revision for s in offline.steps] == ["aaaa0001", "aaaa0002"]


def test_stamp_of_every_head_keeps_each_branch(executor: WorkerExecutor, tmp_path: Path) -> None:
    url = sqlite_url(tmp_path / "db.sqlite")
    project = _project(tmp_path, "p", url)
    executor.stamp(project, "aaaa0001")
    executor.stamp(project, "bbbb0001")
    assert executor.inspect(project, "heads").stamped == ("aaaa0002", "bbbb0002")
    result = executor.stamp(project, "heads", exact=("aaaa0002", "bbbb0002"))
    assert result.heads == ("aaaa0002", "bbbb0002")
    assert version_rows(url) == {"aaaa0002", "bbbb0002"}
