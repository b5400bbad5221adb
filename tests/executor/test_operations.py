"""Every executor operation against SQLite, PostgreSQL and MariaDB, through real workers."""

from __future__ import annotations

import pytest

from alembic_provider.errors import TargetError
from alembic_provider.executor import Inspection, Step, WorkerExecutor
from tests.alembic_projects import Revision as Rev
from tests.alembic_projects import tables, version_rows
from tests.executor.conftest import ProjectFactory

LINEAR = [
    Rev("aaaa0001", None, "create t1"),
    Rev("aaaa0002", "aaaa0001", "create t2"),
    Rev("aaaa0003", "aaaa0002", "create t3"),
]
BRANCHED = [
    *LINEAR,
    Rev("bbbb0001", "aaaa0001", "feature one", branch_labels=["feature"]),
    Rev("bbbb0002", "bbbb0001", "feature two"),
    Rev("cccc0001", None, "other base", branch_labels=["other"]),
]
MERGED = [
    Rev("aaaa0001", None, "root"),
    Rev("bbbb0001", "aaaa0001", "left"),
    Rev("cccc0001", "aaaa0001", "right"),
    Rev("dddd0001", ("bbbb0001", "cccc0001"), "merge left and right"),
]
DEPENDS = [
    Rev("dddd0001", None, "library", branch_labels=["lib"]),
    Rev("eeee0001", None, "application"),
    Rev("ffff0002", "eeee0001", "needs the library", depends_on="dddd0001"),
]


def test_linear_lifecycle(
    executor: WorkerExecutor, project_factory: ProjectFactory, database_url: str
) -> None:
    project = project_factory(LINEAR, database=database_url)

    first = executor.inspect(project, "heads")
    assert first == Inspection(
        current=(),
        target=("aaaa0003",),
        direction="upgrade",
        steps=(
            Step("aaaa0001", "create t1"),
            Step("aaaa0002", "create t2"),
            Step("aaaa0003", "create t3"),
        ),
        script_heads=("aaaa0003",),
        dialect=first.dialect,
        expected=("aaaa0003",),
        stamped=("aaaa0003",),
        start=(),
        database=first.database,
    )
    assert first.database is not None and len(first.database) == 16
    assert version_rows(database_url) is None, "a read must not create the version table"
    assert "CREATE TABLE t_aaaa0001" in executor.sql(project, "heads", current=())

    result = executor.upgrade(project, "aaaa0002")
    assert result.heads == ("aaaa0002",)
    assert result.steps == (Step("aaaa0001", "create t1"), Step("aaaa0002", "create t2"))
    assert {"t_aaaa0001", "t_aaaa0002"} <= tables(database_url)
    assert executor.current(project) == ("aaaa0002",)

    pending = executor.pending(project, "heads")
    assert (pending.direction, pending.steps) == ("upgrade", (Step("aaaa0003", "create t3"),))
    preview = executor.sql(project, "heads", current=pending.current)
    assert "t_aaaa0003" in preview
    assert "t_aaaa0001" not in preview

    assert executor.upgrade(project, "heads").heads == ("aaaa0003",)
    assert executor.inspect(project, "heads").at_target

    back = executor.inspect(project, "aaaa0001")
    assert back.direction == "downgrade"
    assert [step.revision for step in back.steps] == ["aaaa0003", "aaaa0002"]
    assert "DROP TABLE t_aaaa0003" in executor.sql(project, "aaaa0001")
    assert executor.downgrade(project, "aaaa0001").heads == ("aaaa0001",)
    assert "t_aaaa0002" not in tables(database_url)

    assert executor.stamp(project, "heads").heads == ("aaaa0003",)
    assert "t_aaaa0002" not in tables(database_url), "stamp runs no migration"
    assert executor.stamp(project, "base").heads == ()
    assert version_rows(database_url) == set()


def test_branches_and_labels(
    executor: WorkerExecutor, project_factory: ProjectFactory, database_url: str
) -> None:
    project = project_factory(BRANCHED, database=database_url)

    with pytest.raises(TargetError) as raised:
        executor.inspect(project, "head")
    assert raised.value.message == (
        "The target 'head' is ambiguous because the script directory has several heads "
        "('aaaa0003', 'bbbb0002', 'cccc0001'); use 'heads' to apply all of them, "
        "'<branch>@head' for one branch, or a revision id."
    )
    assert raised.value.kind == "multiple_heads"
    assert raised.value.attribute == ("target",)
    assert executor.resolve(project, "heads") == ("aaaa0003", "bbbb0002", "cccc0001")
    assert executor.resolve(project, "feature@head") == ("bbbb0002",)

    assert executor.inspect(project, "feature@head").heads_after == ("bbbb0002",)
    assert executor.upgrade(project, "feature@head").heads == ("bbbb0002",)
    assert executor.inspect(project, "aaaa0003").heads_after == ("aaaa0003", "bbbb0002")
    pending = executor.inspect(project, "heads")
    assert [step.revision for step in pending.steps] == ["cccc0001", "aaaa0002", "aaaa0003"]
    assert executor.upgrade(project, "heads").heads == ("aaaa0003", "bbbb0002", "cccc0001")
    assert version_rows(database_url) == {"aaaa0003", "bbbb0002", "cccc0001"}
    assert executor.inspect(project, "heads").at_target
    assert executor.inspect(project, "aaaa0003").at_target, "other branches may stay applied"

    downgrade = executor.inspect(project, "bbbb0001")
    assert downgrade.direction == "downgrade"
    assert downgrade.heads_after == ("aaaa0003", "bbbb0001", "cccc0001")
    assert executor.downgrade(project, "bbbb0001").heads == downgrade.heads_after


def test_merge_point(
    executor: WorkerExecutor, project_factory: ProjectFactory, database_url: str
) -> None:
    project = project_factory(MERGED, database=database_url)

    script = executor.describe(project)
    assert script.heads == ("dddd0001",)
    merge = next(r for r in script.revisions if r.revision == "dddd0001")
    assert merge.is_merge_point
    assert merge.down_revisions == ("bbbb0001", "cccc0001")
    assert next(r for r in script.revisions if r.revision == "aaaa0001").is_branch_point

    assert executor.inspect(project, "head").heads_after == ("dddd0001",)
    result = executor.upgrade(project, "head")
    assert result.heads == ("dddd0001",)
    assert [step.revision for step in result.steps][-1] == "dddd0001"
    assert executor.inspect(project, "head").at_target


def test_depends_on_reaches_a_stable_state(
    executor: WorkerExecutor, project_factory: ProjectFactory, database_url: str
) -> None:
    project = project_factory(DEPENDS, database=database_url)

    assert executor.describe(project).heads == ("dddd0001", "ffff0002")
    assert executor.resolve(project, "heads") == ("ffff0002",), "heads a dependency covers drop out"
    assert executor.inspect(project, "heads").heads_after == ("ffff0002",)
    result = executor.upgrade(project, "heads")
    assert result.heads == ("ffff0002",)
    assert version_rows(database_url) == {"ffff0002"}
    assert "t_dddd0001" in tables(database_url)
    after = executor.inspect(project, "heads")
    assert after.direction == "none", "a depends_on head must not look pending after apply"
    script = executor.describe(project)
    assert next(r for r in script.revisions if r.revision == "ffff0002").depends_on == ("dddd0001",)


def test_custom_ids_and_version_table(
    executor: WorkerExecutor, project_factory: ProjectFactory, database_url: str
) -> None:
    revisions = [
        Rev("0001_init", None, "initial schema"),
        Rev("0002_add_users", "0001_init", "add users"),
    ]
    project = project_factory(revisions, database=database_url, version_table="my_versions")

    inspection = executor.inspect(project, "head")
    assert inspection.target == ("0002_add_users",)
    assert [step.revision for step in inspection.steps] == ["0001_init", "0002_add_users"]
    assert executor.upgrade(project, "head").heads == ("0002_add_users",)
    assert version_rows(database_url, "my_versions") == {"0002_add_users"}
    assert version_rows(database_url) is None
    assert executor.current(project) == ("0002_add_users",)


def test_env_py_logging_to_stdout(
    executor: WorkerExecutor, project_factory: ProjectFactory, database_url: str
) -> None:
    project = project_factory(LINEAR, database=database_url, env_logs_to_stdout=True)

    assert executor.inspect(project, "heads").steps[0] == Step("aaaa0001", "create t1")
    result = executor.upgrade(project, "heads")
    assert result.heads == ("aaaa0003",)
    assert "env.py starting" in result.output
    assert "Running upgrade aaaa0002 -> aaaa0003" in result.output
    assert executor.current(project) == ("aaaa0003",)
