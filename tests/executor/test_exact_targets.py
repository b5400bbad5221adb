"""Upgrades and downgrades to an exact set of revision ids, as a plan resolved them.

A symbolic target such as ``heads`` is resolved again by Alembic at apply; with ``exact`` the
worker moves the database to those ids and runs nothing beyond them, so a revision file added
between plan and apply does not run. Both on the current Alembic and on 1.7.7.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from alembic_provider.errors import TargetError
from alembic_provider.executor import RunOptions, WorkerExecutor
from tests.alembic_projects import Revision as Rev
from tests.alembic_projects import add_revision, sqlite_url, tables, version_rows
from tests.executor.conftest import ProjectFactory

LEGACY = os.environ.get("ALEMBIC_TEST_LEGACY_PYTHON", "")

INTERPRETERS = [
    pytest.param((), id="current"),
    pytest.param(
        (LEGACY,),
        id="legacy",
        marks=pytest.mark.skipif(not LEGACY, reason="ALEMBIC_TEST_LEGACY_PYTHON is not set"),
    ),
]

TWO_HEADS = [
    Rev("r0", None, "base"),
    Rev("a1", "r0", "branch a", branch_labels=["a"]),
    Rev("b1", "r0", "branch b", branch_labels=["b"]),
]

MERGED = [
    Rev("r0", None, "base"),
    Rev("a1", "r0", "a one"),
    Rev("a2", "a1", "a two"),
    Rev("b1", "r0", "b one"),
    Rev("b2", "b1", "b two"),
    Rev("m", ("a2", "b2"), "merge"),
]


@pytest.mark.parametrize("python", INTERPRETERS)
def test_an_exact_upgrade_runs_no_revision_added_after_the_plan(
    executor: WorkerExecutor,
    project_factory: ProjectFactory,
    tmp_path: Path,
    python: tuple[str, ...],
) -> None:
    url = sqlite_url(tmp_path / "db.sqlite")
    project = project_factory(TWO_HEADS, database=url, python=python)
    executor.upgrade(project, "r0")
    planned = executor.inspect(project, "heads").target
    assert planned == ("a1", "b1")
    add_revision(Path(project.project_root), "a2", "a1", "added after the plan")

    result = executor.upgrade(project, "heads", exact=planned)

    assert sorted(step.revision for step in result.steps) == ["a1", "b1"]
    assert result.heads == ("a1", "b1")
    assert version_rows(url) == {"a1", "b1"}
    assert "t_a2" not in tables(url)
    # The new file is a valid revision: the symbolic target reaches it.
    assert executor.upgrade(project, "heads").heads == ("a2", "b1")


@pytest.mark.parametrize("python", INTERPRETERS)
def test_an_exact_downgrade_reaches_each_revision_through_a_merge(
    executor: WorkerExecutor,
    project_factory: ProjectFactory,
    tmp_path: Path,
    python: tuple[str, ...],
) -> None:
    url = sqlite_url(tmp_path / "db.sqlite")
    project = project_factory(MERGED, database=url, python=python)
    assert executor.upgrade(project, "heads").heads == ("m",)

    # 'a1' alone would leave b2 in place: the exact set is what counts.
    result = executor.downgrade(project, "a1", exact=("a1", "b1"))

    assert [step.revision for step in result.steps] == ["m", "a2", "b2"]
    assert result.heads == ("a1", "b1")
    assert version_rows(url) == {"a1", "b1"}
    assert {"t_m", "t_a2", "t_b2"}.isdisjoint(tables(url))
    assert {"t_r0", "t_a1", "t_b1"} <= tables(url)


def test_an_exact_revision_the_scripts_lost_is_refused_before_anything_runs(
    executor: WorkerExecutor, project_factory: ProjectFactory, tmp_path: Path
) -> None:
    url = sqlite_url(tmp_path / "db.sqlite")
    project = project_factory(TWO_HEADS, database=url)

    with pytest.raises(TargetError) as raised:
        executor.upgrade(project, "heads", exact=("a1", "zz99"))

    directory = Path(project.project_root) / "migrations"
    assert str(raised.value) == (
        f"The revision ids 'zz99' this apply was planned to reach are not in the script "
        f"directory '{directory}'; plan again."
    )
    assert version_rows(url) is None


OWNERS = [
    Rev("b001", None, "billing", branch_labels=["billing"]),
    Rev("c001", None, "catalog", branch_labels=["catalog"]),
]


@pytest.mark.parametrize("python", INTERPRETERS)
def test_an_owner_runs_only_its_own_branch_of_the_exact_heads(
    executor: WorkerExecutor,
    project_factory: ProjectFactory,
    tmp_path: Path,
    python: tuple[str, ...],
) -> None:
    """A plan that followed another resource's move carries that resource's head along."""
    url = sqlite_url(tmp_path / "db.sqlite")
    project = project_factory(OWNERS, database=url, python=python)
    inspection = executor.inspect(project, "billing@head")
    assert inspection.others_branches
    assert not executor.inspect(project, "heads").others_branches
    billing = RunOptions(owner="billing@head")

    # Planned from where the catalog owner would leave the database; it has not applied yet.
    result = executor.upgrade(project, "billing@head", options=billing, exact=("b001", "c001"))

    assert [step.revision for step in result.steps] == ["b001"]
    assert result.heads == ("b001",)
    assert result.others_moved, "the catalog branch is the catalog owner's business"
    assert "t_c001" not in tables(url)
    # The catalog owner applies in turn; planned from the same heads, its result is exact.
    catalog = RunOptions(owner="catalog@head")
    result = executor.upgrade(project, "catalog@head", options=catalog, exact=("b001", "c001"))
    assert (result.heads, result.others_moved) == (("b001", "c001"), False)


def test_an_owners_downgrade_through_a_merge_keeps_the_merged_branch_exact(
    executor: WorkerExecutor, project_factory: ProjectFactory, tmp_path: Path
) -> None:
    url = sqlite_url(tmp_path / "db.sqlite")
    project = project_factory(MERGED, database=url)
    assert executor.upgrade(project, "heads").heads == ("m",)

    options = RunOptions(owner="a1")
    result = executor.downgrade(project, "a1", options=options, exact=("a1", "b1"))

    assert result.heads == ("a1", "b1")
    assert not result.others_moved
