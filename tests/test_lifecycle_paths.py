"""Every lifecycle decision, reached through the provider the way Terraform reaches it.

Each test drives the provider core with Terraform's own sequence of calls (configure, refresh,
plan, apply) against an in-memory database history, and checks what Terraform would see: the
diagnostics, the planned or stored values, the writes run. Together with the other tests that
drive the provider, they fire every row of every lifecycle table (``tests/rows_reached.py``).
"""

from __future__ import annotations

import dataclasses
import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from alembic_provider import errors
from alembic_provider.cty import UNKNOWN
from alembic_provider.diagnostics import Diagnostics
from alembic_provider.executor import Inspection, Project, RunOptions, RunResult, Step
from alembic_provider.framework.results import Planned
from alembic_provider.log import Logger
from alembic_provider.provider import Provider, new_provider
from alembic_provider.provider_config import PROVIDER_SCHEMA
from alembic_provider.redaction import Redactor
from alembic_provider.resources.stamp import StampResource
from alembic_provider.resources.upgrade import UpgradeResource
from alembic_provider.review import (
    ModelDiff,
    ModelDifference,
    Operation,
    Review,
    RevisionOperations,
    TableSize,
)
from alembic_provider.schema import empty_object
from tests.alembic_projects import (
    Revision,
    add_revision,
    make_project,
    sqlite_url,
    tables,
    version_rows,
)
from tests.fakes import FakeExecutor

Values = dict[str, Any]
_RUN = RunOptions()


@dataclass
class World(FakeExecutor):
    """A database history that can also be unreachable, stop short, or fail a downgrade."""

    unreachable: bool = False
    #: How an unreachable database fails: no server answers, no such database, a refused login.
    refusal: tuple[str, str] = ("host_unreachable", "Database Host Not Answering")
    stop_short: bool = False
    failing_downgrade: bool = False
    #: The scripts have a branch ``z9`` unrelated to every target, which another resource owns.
    other_branch: bool = False
    #: That resource applied ``z9`` since the plan: reads and runs see it.
    other_branch_moved: bool = False
    ran: list[tuple[str, tuple[str, ...]]] = field(default_factory=list)

    def _heads(self) -> tuple[str, ...]:
        heads = super()._heads()
        return tuple(sorted((*heads, "z9"))) if self.other_branch_moved else heads

    def _refuse(self) -> None:
        if self.unreachable:
            kind, summary = self.refusal
            raise errors.MigrationError(
                "env.py could not use the database.", kind=kind, summary=summary
            )

    def _resolve(self, target: str) -> int:
        if target not in ("head", "heads", "base", *self.history):
            raise errors.TargetError(f"Can't locate revision identified by '{target}'.")
        return super()._resolve(target)

    def current(self, project: Project, **options: object) -> tuple[str, ...]:
        self._refuse()
        return super().current(project, **options)

    def inspect(self, project: Project, target: str, **options: object) -> Inspection:
        if not options.get("offline"):
            self._refuse()
            return self._inspect(project, target)
        position, self.position = self.position, 0
        try:
            return self._inspect(project, target)
        finally:
            self.position = position

    def _inspect(self, project: Project, target: str) -> Inspection:
        """Inspect, listing what a downgrade undoes, newest first."""
        inspection = dataclasses.replace(
            super().inspect(project, target),
            others_branches=self.other_branch,
            others_moved=self.other_branch_moved,
        )
        if inspection.direction != "downgrade":
            return inspection
        end = self._resolve(target)
        undone = reversed(self.history[end : self.position])
        return dataclasses.replace(inspection, steps=tuple(Step(r, f"message {r}") for r in undone))

    def upgrade(self, project: Project, target: str, **options: Any) -> RunResult:
        self.ran.append(("upgrade", tuple(options.get("exact", ()))))
        if self.stop_short:
            self.position += 1
            return RunResult(heads=self._heads())
        result = super().upgrade(project, target, **options)
        return dataclasses.replace(result, others_moved=self.other_branch_moved)

    def downgrade(self, project: Project, target: str, **options: Any) -> RunResult:
        self.ran.append(("downgrade", tuple(options.get("exact", ()))))
        if self.failing_downgrade:
            self.position -= 1
            raise errors.MigrationError(
                "Revision 'b2' failed to downgrade.", revision="b2", heads_reached=self._heads()
            )
        return super().downgrade(project, target, **options)


class Terraform:
    """Terraform's side of the protocol for one resource: its state and private state."""

    def __init__(self, type_name: str = "alembic_upgrade", world: World | None = None) -> None:
        self.world = world or World()
        self.type_name = type_name
        self.provider = Provider(
            PROVIDER_SCHEMA,
            resources=(UpgradeResource(), StampResource()),
            data_sources=(),
            log=Logger(level="error", stream=io.StringIO()),
            redactor=Redactor(),
            executor=self.world,
        )
        self.block = self.provider.resource_schema(type_name).block
        self.state: Values | None = None
        self.private = b""
        self.configure()

    def configure(self, **settings: Any) -> None:
        config = empty_object(PROVIDER_SCHEMA.block) | {"project_root": "."} | settings
        self.provider.configure("1.11.4", config)

    def config(self, **values: Any) -> Values:
        config = empty_object(self.block) | {"url": "sqlite:///app.db"}
        if self.type_name == "alembic_stamp":
            config["target"] = "heads"
        return config | values

    def proposed(self, config: Values) -> Values:
        proposed = dict(config)
        for attribute in self.block.attributes:
            if attribute.computed and config.get(attribute.name) is None:
                proposed[attribute.name] = (self.state or {}).get(attribute.name)
        return proposed

    def plan(self, config: Values | None) -> tuple[Any, list[str]]:
        proposed = None if config is None else self.proposed(config)
        planned, diagnostics = self.provider.plan_resource_change(
            self.type_name, self.state, proposed, config, self.private
        )
        return planned, said(diagnostics)

    def apply(self, planned: Any, config: Values | None) -> list[str]:
        applied, diagnostics = self.provider.apply_resource_change(
            self.type_name, self.state, planned.state, config, planned.private
        )
        if applied is not None:
            self.state, self.private = applied.state, applied.private
        return said(diagnostics)

    def run(self, config: Values | None) -> list[str]:
        """Plan and, when the plan holds and changes something, apply it, as Terraform does."""
        planned, notes = self.plan(config)
        if planned is None or any(n.startswith("error ") for n in notes):
            return notes
        if config is not None and planned.state == self.state:
            return notes
        return notes + self.apply(planned, config)

    def refresh(self) -> list[str]:
        assert self.state is not None
        read, diagnostics = self.provider.read_resource(self.type_name, self.state, self.private)
        if read is not None:
            self.state, self.private = read.state, read.private
        return said(diagnostics)


def said(diagnostics: Diagnostics) -> list[str]:
    """Each diagnostic as ``severity summary``."""
    return [f"{d.severity.name.lower()} {d.summary}" for d in diagnostics]


def created(tf: Terraform, **config: Any) -> Terraform:
    assert tf.run(tf.config(**config)) == []
    assert tf.state is not None
    return tf


# Refresh.


def test_a_refresh_with_an_unknown_provider_setting_keeps_the_state() -> None:
    tf = created(Terraform())
    tf.configure(project_root=UNKNOWN)
    tf.world.position = 1
    assert tf.refresh() == []
    assert tf.state is not None and tf.state["revisions"] == ["c3"]
    assert "current" not in tf.world.calls[-1:], "nothing was read"


def test_a_refresh_that_cannot_reach_the_database_of_a_resource_in_state_is_an_error() -> None:
    tf = created(Terraform())
    tf.world.unreachable = True
    assert tf.refresh() == ["error Database Host Not Answering"]
    assert tf.state is not None and tf.state["revision"] == "c3"


def test_an_upgrade_moved_by_hand_is_explained_by_the_refresh_and_brought_back() -> None:
    tf = created(Terraform())
    tf.world.position = 1
    assert tf.refresh() == ["warning Database Moved Outside Terraform"]
    assert tf.state is not None and tf.state["revisions"] == ["a1"]
    assert tf.run(tf.config()) == []
    assert tf.state is not None and tf.state["revisions"] == ["c3"]
    assert tf.refresh() == []


def test_a_stamp_behind_its_target_after_a_move_by_hand_warns_on_refresh() -> None:
    tf = created(Terraform("alembic_stamp"), target="b2")
    tf.world.position = 1
    assert tf.refresh() == ["warning Database Not At Target"]
    assert tf.state is not None and tf.state["revisions"] == ["a1"]
    assert tf.state["target_revisions"] == ["b2"], "a stamp keeps what it stamped"


def test_a_stamp_whose_target_moves_on_with_new_revisions_warns_and_stays() -> None:
    tf = created(Terraform("alembic_stamp"))
    tf.world.history.append("d4")
    assert tf.refresh() == ["warning Database Not At Target"]
    assert tf.state is not None and tf.state["revisions"] == ["c3"]
    assert tf.run(tf.config()) == [], "a stamp never stamps again for new revisions"
    assert tf.world.position == 3


# Import.


def test_an_import_records_the_heads_it_read() -> None:
    tf = Terraform(world=World(position=2))
    imported, diagnostics = tf.provider.import_resource_state("alembic_upgrade", "heads")
    assert said(diagnostics) == []
    (item,) = imported
    assert (item.state["revisions"], item.state["target_revisions"]) == (["b2"], ["c3"])
    tf.state, tf.private = item.state, item.private
    assert tf.run(tf.config()) == []
    assert tf.state is not None and tf.state["revisions"] == ["c3"]


# Plans of a create.


def test_a_stamp_whose_database_cannot_be_reached_yet_stamps_in_the_apply() -> None:
    tf = Terraform("alembic_stamp", World(unreachable=True))
    planned, notes = tf.plan(tf.config())
    assert notes == ["warning Database Host Not Answering"]
    assert planned.state["revisions"] == ["c3"]
    tf.world.unreachable = False
    assert tf.apply(planned, tf.config()) == []
    assert tf.world.calls[-2:] == ["inspect", "stamp"]


def test_creates_whose_databases_cannot_be_reached_plan_from_base_then_unknown() -> None:
    tf = Terraform(world=World(unreachable=True))
    planned, notes = tf.plan(tf.config())
    assert notes == ["warning Database Host Not Answering"]
    assert planned.state["revisions"] == ["c3"]
    assert [p["revision"] for p in planned.state["pending"]] == ["a1", "b2", "c3"]
    planned, notes = tf.plan(tf.config(url="sqlite:///other.db"))
    assert notes == ["warning Database Host Not Answering"]
    assert planned.state["revisions"] is UNKNOWN


def test_a_create_whose_database_does_not_exist_yet_plans_from_base() -> None:
    world = World(unreachable=True, refusal=("database_missing", "Database Not Found"))
    tf = Terraform(world=world)
    planned, notes = tf.plan(tf.config())
    assert notes == ["warning Database Not Found"]
    assert planned.state["revisions"] == ["c3"]


@pytest.mark.parametrize(
    "refusal",
    [
        ("login_refused", "Database Login Refused"),
        ("tls", "Database TLS Failed"),
        ("driver_missing", "Database Driver Missing"),
        ("database", "Database Error"),
    ],
)
def test_a_create_whose_settings_can_never_reach_the_database_is_an_error_at_plan(
    refusal: tuple[str, str],
) -> None:
    """Only a server that does not answer yet or a database not created yet plan a create."""
    tf = Terraform(world=World(unreachable=True, refusal=refusal))
    planned, notes = tf.plan(tf.config())
    assert (planned.state, notes) == (None, [f"error {refusal[1]}"])
    assert tf.world.writes == 0


def test_a_create_whose_target_names_no_revision_is_an_error_on_the_target() -> None:
    tf = Terraform()
    planned, notes = tf.plan(tf.config(target="zzz"))
    assert (planned.state, notes) == (None, ["error Invalid Target Revision"])
    assert tf.world.writes == 0


def test_a_create_behind_the_database_downgrades_only_when_allowed() -> None:
    tf = Terraform(world=World(position=3))
    planned, notes = tf.plan(tf.config(target="a1"))
    assert (planned.state, notes) == (None, ["error Downgrade Not Allowed"])
    assert tf.run(tf.config(target="a1", allow_downgrade=True)) == []
    assert tf.world.ran == [("downgrade", ("a1",))]
    assert tf.state is not None and tf.state["revisions"] == ["a1"]


# Plans of an update.


def test_lowering_the_target_downgrades_only_when_allowed() -> None:
    tf = created(Terraform())
    planned, notes = tf.plan(tf.config(target="b2"))
    assert (planned.state, notes) == (None, ["error Downgrade Not Allowed"])
    assert tf.run(tf.config(target="b2", allow_downgrade=True)) == []
    assert tf.state is not None and tf.state["revisions"] == ["b2"]


def test_a_stamp_refuses_to_plan_when_the_database_moved_since_its_refresh() -> None:
    tf = created(Terraform("alembic_stamp"), target="b2")
    assert tf.refresh() == []
    tf.world.position = 1
    tf.configure()  # the next command: terraform plan -refresh=false
    planned, notes = tf.plan(tf.config(target="b2"))
    assert (planned.state, notes) == (None, ["error Database Moved"])


# Applies that find the plan no longer holds.


def test_a_create_whose_database_cannot_be_read_at_apply_creates_nothing() -> None:
    tf = Terraform()
    planned, _ = tf.plan(tf.config())
    tf.world.unreachable = True
    assert tf.apply(planned, tf.config()) == ["error Database Host Not Answering"]
    assert tf.state is None and tf.world.writes == 0


def test_an_update_whose_database_cannot_be_read_at_apply_keeps_what_it_recorded() -> None:
    tf = created(Terraform(), target="b2")
    planned, _ = tf.plan(tf.config())
    tf.world.unreachable = True
    assert tf.apply(planned, tf.config()) == ["error Database Host Not Answering"]
    assert tf.state is not None and tf.state["revisions"] == ["b2"]


def undecided(tf: Terraform) -> Planned:
    """A known plan carrying the private state of a plan made while the URL was unknown."""
    unknown, _ = tf.plan(tf.config(url=UNKNOWN))
    known, _ = tf.plan(tf.config())
    return Planned(known.state, unknown.private)


def test_a_create_from_a_plan_that_decided_nothing_is_refused() -> None:
    tf = Terraform()
    assert tf.apply(undecided(tf), tf.config()) == ["error Migration Not Applied As Planned"]
    assert tf.state is None and tf.world.writes == 0


def test_an_update_from_a_plan_that_decided_nothing_is_refused() -> None:
    tf = created(Terraform(), target="b2")
    assert tf.apply(undecided(tf), tf.config()) == ["error Migration Not Applied As Planned"]
    assert tf.world.writes == 1


def test_a_create_is_refused_when_the_database_moved_after_the_plan() -> None:
    tf = Terraform()
    planned, _ = tf.plan(tf.config())
    tf.world.position = 1
    assert tf.apply(planned, tf.config()) == ["error Migration Not Applied As Planned"]
    assert tf.state is None and tf.world.writes == 0


def test_an_update_is_refused_when_the_database_moved_after_the_plan() -> None:
    tf = created(Terraform(), target="a1")
    planned, _ = tf.plan(tf.config())
    tf.world.position = 0
    assert tf.apply(planned, tf.config()) == ["error Migration Not Applied As Planned"]
    assert tf.state is not None and tf.state["revisions"] == []


def test_a_branch_owner_plans_the_heads_after_apply_as_unknown() -> None:
    tf = Terraform(world=World(other_branch=True))
    planned, notes = tf.plan(tf.config())
    assert notes == []
    assert planned.state["revisions"] is UNKNOWN and planned.state["revision"] is UNKNOWN
    assert [p["revision"] for p in planned.state["pending"]] == ["a1", "b2", "c3"]


def test_a_create_applies_while_another_resource_moves_another_branch() -> None:
    tf = Terraform(world=World(other_branch=True))
    planned, _ = tf.plan(tf.config())
    tf.world.other_branch_moved = True
    assert tf.apply(planned, tf.config()) == []
    assert tf.state is not None and tf.state["revisions"] == ["c3", "z9"]
    assert tf.world.ran == [("upgrade", ("c3",))]


def test_an_update_applies_while_another_resource_moves_another_branch() -> None:
    tf = created(Terraform(world=World(other_branch=True)), target="b2")
    planned, _ = tf.plan(tf.config())
    tf.world.other_branch_moved = True
    assert tf.apply(planned, tf.config()) == []
    assert tf.state is not None and tf.state["revisions"] == ["c3", "z9"]
    assert tf.state["pending"] == [{"revision": "c3", "message": "message c3"}]


def test_an_apply_that_stops_short_of_the_plan_records_where_it_stopped() -> None:
    tf = Terraform(world=World(stop_short=True))
    assert tf.run(tf.config()) == ["error Migration Not Applied As Planned"]
    assert tf.state is not None and tf.state["revisions"] == ["a1"]
    assert tf.world.ran == [("upgrade", ("c3",))], "the exact heads the plan resolved"


def test_a_partial_stamp_refreshes_and_stamps_again() -> None:
    tf = created(Terraform("alembic_stamp"), target="a1")
    planned, _ = tf.plan(tf.config(target="c3"))
    tf.world.position = 0
    assert tf.apply(planned, tf.config(target="c3")) == ["error Migration Not Applied As Planned"]
    assert tf.refresh() == []
    assert tf.state is not None and tf.state["revisions"] == []
    assert tf.run(tf.config(target="c3")) == []
    assert tf.state is not None and tf.state["revisions"] == ["c3"]


# Destroy.


def test_a_destroy_with_an_unknown_provider_setting_keeps_the_database() -> None:
    tf = created(Terraform(), on_destroy="base")
    tf.configure(project_root=UNKNOWN)
    assert tf.run(None) == []
    assert tf.state is None and tf.world.position == 3


def test_an_on_destroy_typo_is_an_error_when_it_is_planned() -> None:
    tf = Terraform()
    planned, notes = tf.plan(tf.config(on_destroy="zzz"))
    assert (planned.state, notes) == (None, ["error Invalid On Destroy Revision"])
    tf = created(Terraform())
    planned, notes = tf.plan(tf.config(on_destroy="zzz"))
    assert (planned.state, notes) == (None, ["error Invalid On Destroy Revision"])
    assert tf.world.writes == 1


def test_an_on_destroy_typo_is_an_error_at_plan_for_a_database_not_there_yet() -> None:
    tf = Terraform(world=World(unreachable=True))
    planned, notes = tf.plan(tf.config(on_destroy="zzz"))
    assert (planned.state, notes) == (None, ["error Invalid On Destroy Revision"])


def with_on_destroy(tf: Terraform, on_destroy: str) -> Terraform:
    """A state whose ``on_destroy`` no longer resolves (its revision file was removed since)."""
    assert tf.state is not None
    tf.state = {**tf.state, "on_destroy": on_destroy}
    return tf


def test_an_on_destroy_target_that_does_not_resolve_is_an_error_at_plan() -> None:
    tf = with_on_destroy(created(Terraform(), on_destroy="a1"), "zzz")
    planned, notes = tf.plan(None)
    assert notes == ["error Invalid Target Revision"]
    assert tf.apply(planned, None) == ["error Invalid Target Revision"]
    assert tf.state is not None and tf.world.position == 3


def test_a_destroy_that_cannot_reach_the_database_is_an_error() -> None:
    tf = created(Terraform(), on_destroy="a1")
    tf.world.unreachable = True
    planned, notes = tf.plan(None)
    assert notes == ["error Database Host Not Answering"]
    assert tf.apply(planned, None) == ["error Database Host Not Answering"]
    assert tf.state is not None and tf.world.writes == 1


def test_a_destroy_downgrades_to_on_destroy_and_says_so_in_the_plan() -> None:
    tf = created(Terraform(), on_destroy="a1")
    _, notes = tf.plan(None)
    assert notes == ["warning Destroy Downgrades The Database"]
    tf.run(None)
    assert tf.state is None and tf.world.position == 1
    assert tf.world.ran[-1] == ("downgrade", ("a1",))


def test_a_failed_on_destroy_downgrade_keeps_the_resource_where_it_stopped() -> None:
    tf = created(Terraform(world=World(failing_downgrade=True)), on_destroy="a1")
    assert tf.run(None) == [
        "warning Destroy Downgrades The Database",
        "warning Destroy Downgrades The Database",
        "error Migration Failed",
    ]
    assert tf.state is not None and tf.state["revisions"] == ["b2"]
    _, notes = tf.plan(None)
    assert notes == ["warning Database Kept"], "a partial database is never downgraded further"


# The plan's exact revisions, with the real worker.


def test_an_apply_runs_the_exact_heads_its_plan_resolved(tmp_path: Path) -> None:
    """Two heads planned; a revision file added on one branch after the plan does not run."""
    url = sqlite_url(tmp_path / "db.sqlite")
    root = make_project(
        tmp_path / "project",
        url,
        [
            Revision("r0", None, "base"),
            Revision("a1", "r0", "branch a", branch_labels=["a"]),
            Revision("b1", "r0", "branch b", branch_labels=["b"]),
        ],
    )
    provider = new_provider(log=Logger(level="error", stream=io.StringIO()))
    try:
        provider.configure(
            "1.11.4", empty_object(PROVIDER_SCHEMA.block) | {"project_root": str(root)}
        )
        config = empty_object(provider.resource_schema("alembic_upgrade").block)
        planned, diagnostics = provider.plan_resource_change(
            "alembic_upgrade", None, config, config, b""
        )
        assert said(diagnostics) == [] and planned is not None
        assert planned.state is not None and planned.state["revisions"] == ["a1", "b1"]
        add_revision(root, "a2", "a1", "added after the plan")

        applied, diagnostics = provider.apply_resource_change(
            "alembic_upgrade", None, planned.state, config, planned.private
        )

        assert said(diagnostics) == [] and applied is not None and applied.state is not None
        assert applied.state["revisions"] == ["a1", "b1"]
        assert version_rows(url) == {"a1", "b1"}
        assert "t_a2" not in tables(url)
    finally:
        provider.close()


# The rest of each kind's table, one decision each.


def test_an_update_whose_database_cannot_be_reached_is_an_error_at_plan() -> None:
    tf = created(Terraform())
    tf.world.unreachable = True
    planned, notes = tf.plan(tf.config())
    assert (planned.state, notes) == (None, ["error Database Host Not Answering"])


def test_an_apply_without_this_providers_plan_is_refused_and_keeps_the_state() -> None:
    tf = created(Terraform())
    assert tf.state is not None
    applied, diagnostics = tf.provider.apply_resource_change(
        "alembic_upgrade", tf.state, tf.state, tf.config(), b""
    )
    assert said(diagnostics) == ["error Invalid Request"]
    assert applied is not None and applied.state is not None
    assert applied.state["revisions"] == ["c3"] and tf.world.writes == 1


def test_an_import_whose_target_names_no_revision_imports_nothing() -> None:
    tf = Terraform()
    imported, diagnostics = tf.provider.import_resource_state("alembic_upgrade", "zzz")
    assert (imported, said(diagnostics)) == ([], ["error Invalid Target Revision"])


def test_a_stamp_whose_database_moved_past_its_target_refreshes_quietly() -> None:
    tf = created(Terraform("alembic_stamp"), target="b2")
    tf.world.position = 3
    assert tf.refresh() == []
    assert tf.state is not None and tf.state["revisions"] == ["c3"]
    assert tf.state["target_revisions"] == ["b2"]


def test_a_stamp_created_on_a_database_past_its_target_stamps_nothing() -> None:
    tf = Terraform("alembic_stamp", World(position=3))
    assert tf.run(tf.config(target="a1")) == []
    assert tf.world.writes == 0
    assert tf.state is not None and tf.state["revisions"] == ["c3"]


def test_a_destroy_without_on_destroy_says_the_database_is_kept() -> None:
    tf = created(Terraform())
    _, notes = tf.plan(None)
    assert notes == ["warning Database Kept"]
    tf.run(None)
    assert tf.state is None and tf.world.position == 3


def test_a_destroy_whose_database_is_already_at_on_destroy_writes_nothing() -> None:
    tf = created(Terraform(), on_destroy="c3")
    assert tf.run(None) == []
    assert tf.state is None and tf.world.position == 3 and tf.world.writes == 1


def test_destroying_a_stamp_keeps_the_database() -> None:
    tf = created(Terraform("alembic_stamp"), target="b2")
    assert tf.run(None) == ["warning Database Kept", "warning Database Kept"]
    assert tf.state is None and tf.world.position == 2 and tf.world.writes == 1


def test_an_on_destroy_target_that_does_not_resolve_points_at_on_destroy() -> None:
    tf = with_on_destroy(created(Terraform(), on_destroy="a1"), "zzz")
    _, diagnostics = tf.provider.plan_resource_change(
        "alembic_upgrade", tf.state, None, None, tf.private
    )
    assert [d.attribute for d in diagnostics] == [("on_destroy",)]


# Review of the pending revisions.

_DROPS = Review(
    revisions=(
        RevisionOperations(
            "b2",
            "drop legacy",
            (Operation("drop_column", table="accounts", column="legacy", line=14),),
        ),
        RevisionOperations("c3", "add audit", (Operation("create_table", table="audit"),)),
    ),
    sizes={"accounts": TableSize(rows=20_000, bytes=3 * 1024 * 1024)},
)


def _plan_details(tf: Terraform) -> list[tuple[str, str]]:
    config = tf.config()
    _, diagnostics = tf.provider.plan_resource_change(
        tf.type_name, tf.state, tf.proposed(config), config, tf.private
    )
    return [(d.summary, d.detail) for d in diagnostics]


def test_an_upgrade_plan_warns_once_per_revision_the_review_found_something_in() -> None:
    tf = Terraform(world=World(position=1, review_answer=_DROPS))
    assert _plan_details(tf) == [
        (
            "Migration Review Of Revision 'b2'",
            "Revision 'b2' (drop legacy) was reviewed before it runs:\n"
            "- destructive drop-column (line 14): drop_column: drops column 'legacy' of table "
            "'accounts' [~20,000 rows, 3.0 MB]. Risk: the column's data is lost, and running "
            "code that still selects or writes it fails. Safer: stop reading and writing the "
            "column in a release first, then drop it in a later migration.",
        )
    ]
    assert tf.world.reviews == [(("a1",), None)]


def test_sizes_the_review_could_not_read_are_said_once() -> None:
    unsized = dataclasses.replace(_DROPS, sizes={}, sizes_error="permission denied for pg_class.")
    tf = Terraform(world=World(position=1, review_answer=unsized))
    notes = [summary for summary, _ in _plan_details(tf)]
    assert notes == ["Migration Review Of Revision 'b2'", "Table Sizes Unavailable"]


def test_a_plan_with_nothing_pending_reviews_nothing() -> None:
    tf = created(Terraform())
    assert tf.world.reviews == [((), None)]  # the create's plan reviewed what it ran
    tf.world.reviews.clear()
    tf.world.review_answer = _DROPS
    assert _plan_details(tf) == []
    assert tf.world.reviews == []


def test_a_stamp_runs_no_migration_and_reviews_none() -> None:
    tf = Terraform("alembic_stamp", world=World(review_answer=_DROPS))
    assert _plan_details(tf) == []
    assert tf.world.reviews == []


@dataclass
class _ReviewFails(World):
    def review(self, project: Project, target: str, **options: Any) -> Review:
        raise errors.MigrationError("The Alembic worker failed: boom.", kind="internal")


def test_a_review_that_fails_is_a_warning_and_the_plan_goes_on() -> None:
    tf = Terraform(world=_ReviewFails())
    planned, _ = tf.plan(tf.config())
    assert planned is not None and planned.state is not None
    assert _plan_details(tf) == [
        (
            "Migration Review",
            "The pending revisions could not be reviewed: The Alembic worker failed: boom. The "
            "plan is still valid; read the pending revisions before applying.",
        )
    ]


def test_a_waived_finding_is_counted_in_one_warning_not_hidden() -> None:
    waived = Review(
        revisions=(
            RevisionOperations(
                "b2",
                "drop legacy",
                (Operation("drop_column", table="accounts", column="legacy", line=14),),
                waivers=(
                    (14, "op.drop_column(...)  # alembic-review: ignore drop-column -- empty"),
                ),
            ),
        )
    )
    tf = Terraform(world=World(position=1, review_answer=waived))
    assert _plan_details(tf) == [
        (
            "Migration Review Waivers",
            "1 finding of the review is waived by alembic-review comments in the revision "
            "files: 'b2' drop-column (empty).",
        )
    ]


def test_a_finding_the_provider_policy_blocks_fails_the_plan_of_a_create() -> None:
    tf = Terraform(world=World(position=1, review_answer=_DROPS))
    tf.configure(project_root=".", review={"block": ["destructive"], "ignore": None})
    planned, notes = tf.plan(tf.config())
    assert (planned.state, notes) == (None, ["error Migration Blocked By Review"])
    ((summary, detail),) = _plan_details(tf)
    assert summary == "Migration Blocked By Review"
    assert detail.startswith(
        "The review policy (review.block) blocks these findings of the pending migrations:\n"
        "Revision 'b2' (drop legacy):\n- destructive drop-column (line 14): "
    )
    assert detail.endswith(
        "Change the migration the safer way, waive the finding with '# alembic-review: ignore "
        "CODE -- reason' on its line of the revision file, or remove it from review.block."
    )


def test_a_resources_policy_replaces_the_providers_and_may_ignore_a_finding() -> None:
    tf = created(Terraform())
    tf.configure(project_root=".", review={"block": ["drop-column"], "ignore": None})
    tf.world.history.append("d4")
    tf.world.review_answer = dataclasses.replace(
        _DROPS,
        revisions=(dataclasses.replace(_DROPS.revisions[0], revision="d4"),),
    )
    planned, notes = tf.plan(tf.config())
    assert (planned.state, notes) == (None, ["error Migration Blocked By Review"])
    planned, notes = tf.plan(tf.config(review={"block": [], "ignore": None}))
    assert notes == ["warning Migration Review Of Revision 'd4'"]
    # The provider's block still holds, but an ignored finding is gone before it applies.
    planned, notes = tf.plan(tf.config(review={"block": None, "ignore": ["destructive"]}))
    assert notes == [] and planned.state is not None


def test_a_blocked_finding_fails_a_create_planned_from_an_empty_version_table_too() -> None:
    tf = Terraform(world=World(unreachable=True, review_answer=_DROPS))
    tf.configure(project_root=".", review={"block": ["drop-column"], "ignore": None})
    planned, notes = tf.plan(tf.config())
    assert (planned.state, notes) == (None, ["error Migration Blocked By Review"])
    assert tf.world.reviews == [((), None)]


_DIFFERS = ModelDiff(
    metadata=True,
    differences=(
        ModelDifference(
            "add_column",
            "column 'email' of table 'accounts' (VARCHAR(200)) is only in the models",
            table="accounts",
            column="email",
        ),
    ),
)


def test_compare_models_at_the_target_warns_of_each_difference() -> None:
    tf = created(Terraform())
    tf.world.model_diff_answer = _DIFFERS
    assert _plan_details(tf) == []  # off by default
    assert tf.world.model_diffs == 0
    ((summary, detail),) = _plan_details_with(tf, compare_models=True)
    assert summary == "Models Differ From Database"
    assert "- column 'email' of table 'accounts' (VARCHAR(200)) is only in the models" in detail
    assert "Server defaults were not compared" in detail
    assert tf.world.model_diffs == 1


def test_the_provider_turns_compare_models_on_and_a_resource_off() -> None:
    tf = created(Terraform())
    tf.world.model_diff_answer = _DIFFERS
    tf.configure(project_root=".", compare_models=True)
    assert [s for s, _ in _plan_details(tf)] == ["Models Differ From Database"]
    assert _plan_details_with(tf, compare_models=False) == []


def test_models_that_agree_with_the_database_say_nothing() -> None:
    tf = created(Terraform())
    assert _plan_details_with(tf, compare_models=True) == []
    assert tf.world.model_diffs == 1


def test_env_py_without_target_metadata_warns_once_how_to_set_it() -> None:
    tf = created(Terraform())
    tf.world.model_diff_answer = ModelDiff(metadata=False)
    ((summary, detail),) = _plan_details_with(tf, compare_models=True)
    assert summary == "Models Not Compared"
    assert "target_metadata=Base.metadata" in detail


def test_before_the_target_the_comparison_waits_for_the_apply() -> None:
    tf = Terraform(world=World(position=1, model_diff_answer=_DIFFERS))
    assert [s for s, _ in _plan_details_with(tf, compare_models=True)] == [
        "Models Not Compared Yet"
    ]
    assert tf.world.model_diffs == 0


@dataclass
class _CompareFails(World):
    def model_diff(self, project: Project, **options: Any) -> ModelDiff:
        raise errors.MigrationError("env.py failed: boom.", kind="env")


def test_a_comparison_that_fails_is_a_warning_and_the_plan_goes_on() -> None:
    tf = created(Terraform(world=_CompareFails()))
    assert _plan_details_with(tf, compare_models=True) == [
        (
            "Models Not Compared",
            "The models could not be compared with the database: env.py failed: boom.",
        )
    ]


def _plan_details_with(tf: Terraform, **values: Any) -> list[tuple[str, str]]:
    config = tf.config(**values)
    _, diagnostics = tf.provider.plan_resource_change(
        tf.type_name, tf.state, tf.proposed(config), config, tf.private
    )
    return [(d.summary, d.detail) for d in diagnostics]
