"""Edges and guards of the resource lifecycle, one rule per test, with exact outcomes."""

from __future__ import annotations

import logging
import re
from typing import Any

import pytest
from transitions import MachineError

from statemachine.resource import (
    MACHINES,
    TABLES,
    Action,
    Decision,
    Note,
    Outcome,
    ResourceLifecycle,
    ResourceSnapshot,
    State,
)


def at(state: State, kind: str = "upgrade", **fields: Any) -> ResourceLifecycle:
    """Return a lifecycle restored in state, as a handler would from private state."""
    fields.setdefault("heads", ("a1",))
    return ResourceLifecycle(kind, state, **fields)  # type: ignore[arg-type]


def planned_at(state: State, decision: Decision | None, **fields: Any) -> ResourceLifecycle:
    fields.setdefault("planned_from", ("a1",))
    fields.setdefault("target_heads", ("a2",))
    return at(state, decision=decision, **fields)


def error(summary: str, detail: str, attribute: tuple[str, ...] = ()) -> Note:
    return Note("error", summary, detail, attribute)


def warning(summary: str, detail: str) -> Note:
    return Note("warning", summary, detail)


NOT_AS_PLANNED = "Migration Not Applied As Planned"


def refused_downgrade(target: str, database: str) -> Note:
    return error(
        "Downgrade Not Allowed",
        f"The target {target} is behind the database at {database}, and allow_downgrade is "
        "false. Set allow_downgrade = true to downgrade the database, or choose a target at or "
        "after its revision.",
        ("target",),
    )


def stamp_behind(database: str, target: str) -> Note:
    return warning(
        "Database Not At Target",
        f"The database is at {database} but the target resolves to {target}, which it has not "
        "reached. alembic_stamp does not stamp again when revisions are added or the database "
        "moves; run new migrations with alembic_upgrade, or change target to stamp again.",
    )


def not_reachable(message: str) -> Note:
    return error(
        "Database Not Reachable",
        f"The database of this resource could not be read: {message}\n\n"
        "Terraform's state says the resource exists, so its database must be reachable to "
        "refresh it. Check the connection (url, environment, the proxy settings, whether the "
        "server is running). If the database was removed on purpose, remove the resource "
        "from the state with 'terraform state rm ADDRESS'.",
    )


# Planning a create.


def test_unknown_inputs_plan_unknown_values_without_reading_the_database() -> None:
    life = ResourceLifecycle("upgrade")
    assert life.planned(known=False)
    assert (life.state, life.decision) == (State.PLANNED_CREATE, Decision.UNKNOWN)
    assert (life.planned_from, life.target_heads) == (None, None)
    assert life.outcome == Outcome(unknown=True)


def test_a_target_that_does_not_resolve_keeps_the_resource_absent_and_says_why() -> None:
    life = ResourceLifecycle("upgrade")
    life.planned(
        error="Multiple head revisions are present for given argument 'head'.",
        error_kind="target",
    )
    assert (life.state, life.decision) == (State.ABSENT, Decision.ERROR)
    assert life.outcome == Outcome(
        notes=(
            error(
                "Invalid Target Revision",
                "Multiple head revisions are present for given argument 'head'.",
                ("target",),
            ),
        ),
        exists=False,
    )


def test_a_target_error_keeps_the_handlers_heading_and_detail() -> None:
    life = ResourceLifecycle("stamp")
    life.planned(
        error="Can't locate revision 'zz'.",
        error_summary="Unknown Target Revision",
        error_detail="Can't locate revision 'zz'.\n\nCheck the target.",
        error_kind="target",
    )
    assert life.outcome.notes == (
        error(
            "Unknown Target Revision",
            "Can't locate revision 'zz'.\n\nCheck the target.",
            ("target",),
        ),
    )


def test_any_other_failure_is_reported_as_the_handler_gave_it() -> None:
    life = ResourceLifecycle("upgrade")
    life.planned(
        error="env.py raised KeyError.",
        error_summary="Environment Script Failed",
        error_detail="env.py raised KeyError.\n\nTraceback ...",
        error_kind="env",
        error_attribute=("alembic",),
    )
    assert (life.state, life.decision) == (State.ABSENT, None)
    assert life.outcome == Outcome(
        notes=(
            error(
                "Environment Script Failed",
                "env.py raised KeyError.\n\nTraceback ...",
                ("alembic",),
            ),
        ),
        exists=False,
    )


def test_a_failure_without_a_heading_is_a_provider_error() -> None:
    life = ResourceLifecycle("upgrade")
    life.planned(error="boom")
    assert life.outcome.notes == (error("Provider Error", "boom"),)


@pytest.mark.parametrize(
    ("kind", "facts", "decision", "steps"),
    [
        ("upgrade", {"db_heads": [], "target_heads": ["a2"]}, Decision.UPGRADE, True),
        ("upgrade", {"db_heads": ["a2"], "target_heads": ["a2"]}, Decision.NOOP, False),
        ("stamp", {"db_heads": [], "target_heads": ["a2"]}, Decision.STAMP, False),
        (
            "stamp",
            {"db_heads": ["a2"], "target_heads": ["a2"], "reached": True},
            Decision.NOOP,
            False,
        ),
        (
            "upgrade",
            {
                "db_heads": ["a3"],
                "target_heads": ["a2"],
                "downgrades": ["a3"],
                "allow_downgrade": True,
            },
            Decision.DOWNGRADE,
            True,
        ),
        (
            "stamp",
            {"db_heads": ["a3"], "target_heads": ["a2"], "downgrades": ["a3"]},
            Decision.STAMP,
            False,
        ),
    ],
)
def test_create_plans(kind: str, facts: dict[str, Any], decision: Decision, steps: bool) -> None:
    life = ResourceLifecycle(kind)  # type: ignore[arg-type]
    assert life.planned(target_revisions=["a2"], **facts)
    target, start = tuple(facts["target_heads"]), tuple(facts["db_heads"])
    assert (life.state, life.decision) == (State.PLANNED_CREATE, decision)
    assert (life.target_heads, life.planned_from) == (target, start)
    writes = decision is not Decision.NOOP
    assert life.outcome == Outcome(
        revisions=target if writes else start,
        target_revisions=("a2",),
        steps=steps,
        moves_to=target if writes else None,
        starts_from=start,
    )


def test_a_stamp_writes_its_own_heads_when_they_differ_from_the_upgrade_heads() -> None:
    life = ResourceLifecycle("stamp")
    life.planned(db_heads=["b1"], target_heads=["a2", "b1"], stamp_heads=["a2"])
    assert (life.decision, life.target_heads) == (Decision.STAMP, ("a2",))
    assert (life.outcome.revisions, life.outcome.moves_to) == (("a2",), ("a2",))
    life.values_planned(equal_to_prior=False)
    life.apply_started(db_heads=["b1"])
    assert life.outcome.actions == (Action("stamp", ("a2",)),)


def test_an_upgrade_ignores_the_stamp_heads() -> None:
    life = ResourceLifecycle("upgrade")
    life.planned(db_heads=["b1"], target_heads=["a2", "b1"], stamp_heads=["a2"])
    assert (life.decision, life.target_heads) == (Decision.UPGRADE, ("a2", "b1"))


def test_a_plan_from_where_other_resources_leave_the_database_starts_there() -> None:
    life = ResourceLifecycle("upgrade")
    life.planned(db_heads=[], start_heads=["a1"], target_heads=["a2"])
    assert (life.decision, life.planned_from, life.target_heads) == (
        Decision.UPGRADE,
        ("a1",),
        ("a2",),
    )
    life.values_planned(equal_to_prior=False)
    life.apply_started(db_heads=["a1"])
    assert (life.state, life.outcome.actions) == (State.CREATING, (Action("upgrade", ("a2",)),))


def test_a_plan_at_the_target_where_other_resources_leave_the_database_writes_nothing() -> None:
    life = ResourceLifecycle("upgrade")
    life.planned(db_heads=[], start_heads=["a1"], target_heads=["a1"])
    assert (life.decision, life.outcome.revisions) == (Decision.NOOP, ("a1",))


def test_a_downgrade_without_allow_downgrade_is_a_plan_error() -> None:
    life = ResourceLifecycle("upgrade")
    life.planned(db_heads=["b2", "a3"], target_heads=["a2"], downgrades=["a3"])
    assert (life.state, life.decision) == (State.ABSENT, Decision.ERROR)
    assert life.outcome == Outcome(notes=(refused_downgrade("'a2'", "'a3', 'b2'"),), exists=False)


def test_known_plans_need_both_head_sets() -> None:
    life = ResourceLifecycle("upgrade")
    missing: list[tuple[str, dict[str, Any]]] = [
        ("db_heads", {"target_heads": ["a2"]}),
        ("target_heads", {"db_heads": ["a2"]}),
    ]
    for name, facts in missing:
        with pytest.raises(
            TypeError, match=re.escape(f"The fact '{name}' is required here but was not given.")
        ):
            life.planned(**facts)
        assert (life.state, life.decision) == (State.ABSENT, None)


def test_an_unreachable_database_plans_a_create_from_an_empty_version_table() -> None:
    life = ResourceLifecycle("upgrade")
    life.planned(
        error="connection refused", error_kind="host_unreachable", db_heads=[], target_heads=["a2"]
    )
    assert (life.state, life.decision, life.planned_from) == (
        State.PLANNED_CREATE,
        Decision.UPGRADE,
        (),
    )
    assert life.outcome == Outcome(
        notes=(
            warning(
                "Database Not Reachable",
                "The database could not be read: connection refused\n\nThe plan assumes the "
                "database is created in this apply (for example by another resource) and starts "
                "from an empty version table, so it runs every migration up to the target. If "
                "the database should exist already, fix the connection before applying.",
            ),
        ),
        revisions=("a2",),
        steps=True,
        moves_to=("a2",),
        starts_from=(),
    )


def test_an_unreachable_database_stamps_a_create() -> None:
    life = ResourceLifecycle("stamp")
    life.planned(
        error="connection refused", error_kind="host_unreachable", db_heads=[], target_heads=["a2"]
    )
    assert (life.state, life.decision) == (State.PLANNED_CREATE, Decision.STAMP)
    assert [n.summary for n in life.outcome.notes] == ["Database Not Reachable"]


@pytest.mark.parametrize("kind", ["upgrade", "stamp"])
def test_an_unreachable_database_another_resource_cannot_reach_either_plans_unknown(
    kind: str,
) -> None:
    life = ResourceLifecycle(kind)  # type: ignore[arg-type]
    life.planned(
        error="connection refused",
        error_kind="host_unreachable",
        others_unreachable=True,
        db_heads=[],
        target_heads=["a2"],
    )
    assert (life.state, life.decision) == (State.PLANNED_CREATE, Decision.UNKNOWN)
    assert life.outcome == Outcome(
        notes=(
            warning(
                "Database Not Reachable",
                "The database could not be read: connection refused\n\nAnother resource of "
                "this plan acts on a database that cannot be reached either, and whether it is "
                "the same one cannot be told yet, so this plan's revisions are known only after "
                "apply.",
            ),
        ),
        unknown=True,
    )


@pytest.mark.parametrize("kind", ["upgrade", "stamp"])
def test_a_project_without_revisions_warns(kind: str) -> None:
    life = ResourceLifecycle(kind)  # type: ignore[arg-type]
    life.planned(
        db_heads=[], target_heads=[], reached=True, has_migrations=False, project_root="/srv/app"
    )
    assert life.decision is Decision.NOOP
    assert life.outcome.notes == (
        warning(
            "No Migrations Yet",
            "The Alembic project in '/srv/app' has no revision files, so there is no migration "
            "to run and the database is left as it is. Create the first one with 'alembic "
            'revision -m "..."\' in that directory; the next plan shows it.',
        ),
    )


# Planning an update.


@pytest.mark.parametrize("state", [State.PRESENT, State.DRIFTED, State.PARTIAL])
def test_at_target_an_unchanged_plan_rests_at_present_with_nothing_to_do(state: State) -> None:
    life = at(state, heads=("a1",))
    life.planned(db_heads=["a1"], target_heads=["a1"], target_revisions=["a1"])
    assert (life.state, life.decision) == (State.PLANNED_UPDATE, Decision.NOOP)
    assert life.outcome == Outcome(revisions=("a1",), target_revisions=("a1",), starts_from=("a1",))
    life.values_planned(equal_to_prior=True)
    assert (life.state, life.decision, life.outcome) == (State.PRESENT, Decision.NOOP, Outcome())


def test_a_config_change_at_target_plans_an_update_that_writes_nothing() -> None:
    life = at(State.PRESENT)
    life.planned(db_heads=["a1"], target_heads=["a1"])
    life.values_planned(equal_to_prior=False)
    assert (life.state, life.decision, life.outcome) == (
        State.PLANNED_UPDATE,
        Decision.NOOP,
        Outcome(starts_from=("a1",)),
    )
    life.apply_started(db_heads=["a1"])
    assert (life.state, life.outcome) == (State.UPDATING, Outcome())
    life.apply_succeeded()
    assert (life.state, life.heads, life.outcome) == (State.PRESENT, ("a1",), Outcome())


@pytest.mark.parametrize("state", [State.PRESENT, State.DRIFTED, State.PARTIAL])
def test_behind_target_plans_an_upgrade(state: State) -> None:
    life = at(state)
    life.planned(db_heads=["a1"], target_heads=["a3"], target_revisions=["a3"])
    assert (life.state, life.decision) == (State.PLANNED_UPDATE, Decision.UPGRADE)
    assert (life.planned_from, life.target_heads) == (("a1",), ("a3",))
    assert life.outcome == Outcome(
        revisions=("a3",),
        target_revisions=("a3",),
        steps=True,
        moves_to=("a3",),
        starts_from=("a1",),
    )


@pytest.mark.parametrize("state", [State.PRESENT, State.DRIFTED, State.PARTIAL])
def test_a_refused_downgrade_stays_where_it_was(state: State) -> None:
    life = at(state, heads=("a3",))
    life.planned(db_heads=["a3"], target_heads=["a1"], downgrades=["a3", "a2"])
    assert (life.state, life.decision) == (state, Decision.ERROR)
    assert life.outcome == Outcome(notes=(refused_downgrade("'a1'", "'a3'"),))


def test_an_allowed_downgrade_is_planned() -> None:
    life = at(State.PRESENT, heads=("a3",))
    life.planned(db_heads=["a3"], target_heads=["a1"], downgrades=["a3"], allow_downgrade=True)
    assert (life.state, life.decision) == (State.PLANNED_UPDATE, Decision.DOWNGRADE)
    assert life.outcome == Outcome(
        revisions=("a1",), steps=True, moves_to=("a1",), starts_from=("a3",)
    )
    life.apply_started(db_heads=["a3"])
    assert life.outcome.actions == (Action("downgrade", ("a1",)),)


def test_unknown_inputs_on_update_plan_unknown_values() -> None:
    life = at(State.DRIFTED)
    life.planned(known=False)
    assert (life.state, life.decision, life.planned_from) == (
        State.PLANNED_UPDATE,
        Decision.UNKNOWN,
        None,
    )
    assert life.outcome == Outcome(unknown=True)


@pytest.mark.parametrize("kind", ["upgrade", "stamp"])
def test_a_recorded_resource_whose_database_cannot_be_reached_is_refused(kind: str) -> None:
    life = at(State.PRESENT, kind=kind)
    life.planned(error="connection refused", error_kind="host_unreachable")
    assert (life.state, life.decision) == (State.PRESENT, None)
    assert life.outcome == Outcome(notes=(not_reachable("connection refused"),))


@pytest.mark.parametrize("state", [State.PRESENT, State.DRIFTED, State.PARTIAL])
def test_an_update_target_that_does_not_resolve_stays(state: State) -> None:
    life = at(state)
    life.planned(error="Can't locate revision 'zz'.", error_kind="target")
    assert (life.state, life.decision) == (state, Decision.ERROR)
    assert life.outcome == Outcome(
        notes=(error("Invalid Target Revision", "Can't locate revision 'zz'.", ("target",)),)
    )


def test_a_database_moved_since_the_refresh_is_refused() -> None:
    life = at(State.DRIFTED, heads=("a1",), from_refresh=True)
    life.planned(db_heads=["a0"], target_heads=["a2"])
    assert (life.state, life.decision) == (State.DRIFTED, Decision.ERROR)
    assert life.outcome.notes == (
        error(
            "Database Moved",
            "The database moved from 'a1' to 'a0' after Terraform last read it (after the plan "
            "was made, or by hand since the last refresh), so nothing was planned or applied. "
            "Run terraform plan (or apply) again to plan from the database's current revision.",
        ),
    )


@pytest.mark.parametrize(
    ("fields", "facts"),
    [
        ({"from_refresh": False}, {}),
        ({"from_refresh": True}, {"same_connection": False}),
        ({"from_refresh": True}, {"explained": True}),
    ],
    ids=["left-by-apply", "other-connection", "explained-by-other-resources"],
)
def test_a_moved_database_is_planned_from_when_the_move_is_no_surprise(
    fields: dict[str, Any], facts: dict[str, Any]
) -> None:
    life = at(State.PRESENT, heads=("a1",), **fields)
    life.planned(db_heads=["a0"], target_heads=["a2"], **facts)
    assert (life.state, life.decision, life.planned_from) == (
        State.PLANNED_UPDATE,
        Decision.UPGRADE,
        ("a0",),
    )


def test_a_noop_keeps_the_recorded_heads_when_only_other_resources_moved_the_database() -> None:
    life = at(State.PRESENT, heads=("a1",))
    facts: dict[str, Any] = {
        "db_heads": ["a1", "b2"],
        "start_heads": ["a1", "b2"],
        "target_heads": ["a1", "b2"],
        "recorded_heads": ["a1", "b1"],
    }
    life.planned(others_moved=True, **facts)
    assert (life.decision, life.outcome.revisions) == (Decision.NOOP, ("a1", "b1"))
    life = at(State.PRESENT, heads=("a1",))
    life.planned(others_moved=False, **facts)
    assert (life.decision, life.outcome.revisions) == (Decision.NOOP, ("a1", "b2"))


# alembic_stamp never stamps again on its own.


def test_a_stamp_ignores_new_revisions_and_warns() -> None:
    life = at(State.PRESENT, kind="stamp", heads=("a1",), target_heads=("a1",))
    life.refreshed(db_heads=["a1"], target_heads=["a2"])
    assert life.state is State.PRESENT
    assert (life.heads, life.target_heads, life.from_refresh) == (("a1",), ("a2",), True)
    assert life.outcome == Outcome(
        notes=(stamp_behind("'a1'", "'a2'"),), revisions=("a1",), refreshed=True
    )
    life.planned(db_heads=["a1"], target_heads=["a2"])
    assert (life.state, life.decision) == (State.PLANNED_UPDATE, Decision.NOOP)
    assert life.outcome == Outcome(revisions=("a1",), starts_from=("a1",))
    life.values_planned(equal_to_prior=True)
    assert (life.state, life.outcome) == (State.PRESENT, Outcome())


def test_a_stamp_is_satisfied_once_the_database_is_past_its_target() -> None:
    """The adoption pattern: a baseline stamp, then upgrades past it; no warning, no stamp."""
    life = at(State.PRESENT, kind="stamp", heads=("a1",), target_heads=("a1",))
    life.refreshed(
        db_heads=["a6", "b1"],
        target_heads=["a1"],
        target_revisions=["a1"],
        recorded_target_revisions=["a1"],
        reached=True,
    )
    assert (life.state, life.heads) == (State.PRESENT, ("a6", "b1"))
    assert life.outcome == Outcome(revisions=("a6", "b1"), target_revisions=("a1",), refreshed=True)
    life.planned(
        db_heads=["a6", "b1"],
        target_heads=["a1"],
        downgrades=["a6"],
        recorded_heads=["a6", "b1"],
        reached=True,
    )
    assert (life.state, life.decision) == (State.PLANNED_UPDATE, Decision.NOOP)
    assert life.outcome == Outcome(revisions=("a6", "b1"), starts_from=("a6", "b1"))
    life.values_planned(equal_to_prior=True)
    assert life.state is State.PRESENT


def test_a_stamp_keeps_the_revisions_it_stamped_as_its_target_revisions() -> None:
    life = at(State.PRESENT, kind="stamp", heads=("a1",))
    life.refreshed(
        db_heads=["a1"],
        target_heads=["a1"],
        target_revisions=["a2"],
        recorded_target_revisions=["a1"],
    )
    assert life.outcome.target_revisions == ("a1",)
    life.planned(
        db_heads=["a1"],
        target_heads=["a1"],
        target_revisions=["a2"],
        recorded_target_revisions=["a1"],
    )
    assert life.outcome.target_revisions == ("a1",)


def test_an_upgrade_records_the_target_revisions_resolved_now() -> None:
    life = at(State.PRESENT, heads=("a1",))
    life.refreshed(
        db_heads=["a1"],
        target_heads=["a1"],
        target_revisions=["a2"],
        recorded_target_revisions=["a1"],
    )
    assert life.outcome.target_revisions == ("a2",)


def test_a_new_stamp_on_a_database_past_its_target_writes_nothing() -> None:
    life = ResourceLifecycle("stamp")
    life.planned(db_heads=["a6"], target_heads=["a1"], downgrades=["a6"], reached=True)
    assert (life.state, life.decision, life.planned_heads) == (
        State.PLANNED_CREATE,
        Decision.NOOP,
        ("a6",),
    )
    assert life.outcome == Outcome(revisions=("a6",), starts_from=("a6",))
    life.values_planned(equal_to_prior=False)
    life.apply_started(db_heads=["a6"])
    assert (life.state, life.outcome.actions) == (State.CREATING, ())
    life.apply_succeeded()
    assert (life.state, life.heads, life.outcome) == (State.PRESENT, ("a6",), Outcome())


def test_a_changed_stamp_target_the_database_passed_stamps_nothing() -> None:
    life = at(State.PRESENT, kind="stamp", heads=("a6",), target_heads=("a1",))
    life.planned(db_heads=["a6"], target_heads=["a2"], target_changed=True, reached=True)
    assert (life.state, life.decision) == (State.PLANNED_UPDATE, Decision.NOOP)


def test_a_stamp_warns_when_the_database_is_on_an_unrelated_branch() -> None:
    life = at(State.PRESENT, kind="stamp", heads=("a1",), target_heads=("a1",))
    life.refreshed(db_heads=["b1"], target_heads=["a1"], reached=False)
    assert life.state is State.DRIFTED
    assert life.outcome.notes == (stamp_behind("'b1'", "'a1'"),)


def test_a_stamp_whose_database_moved_by_hand_drifts_with_a_warning_and_does_not_restamp() -> None:
    life = at(State.PRESENT, kind="stamp", heads=("a1",))
    life.refreshed(db_heads=["a0"], target_heads=["a1"])
    assert (life.state, life.heads) == (State.DRIFTED, ("a0",))
    assert life.outcome.notes == (stamp_behind("'a0'", "'a1'"),)
    life.planned(db_heads=["a0"], target_heads=["a1"])
    assert (life.state, life.decision) == (State.PLANNED_UPDATE, Decision.NOOP)
    life.values_planned(equal_to_prior=True)
    assert life.state is State.PRESENT


def test_a_stamp_refresh_of_a_database_moved_since_is_refused_at_plan_unless_reached() -> None:
    life = at(State.PRESENT, kind="stamp", heads=("a1",), from_refresh=True)
    life.planned(db_heads=["a0"], target_heads=["a1"])
    assert (life.state, life.decision) == (State.PRESENT, Decision.ERROR)
    assert [n.summary for n in life.outcome.notes] == ["Database Moved"]
    life = at(State.PRESENT, kind="stamp", heads=("a1",), from_refresh=True)
    life.planned(db_heads=["a2"], target_heads=["a1"], reached=True)
    assert (life.state, life.decision, life.outcome.notes) == (
        State.PLANNED_UPDATE,
        Decision.NOOP,
        (),
    )


def test_a_stamp_with_a_changed_target_stamps_even_backwards() -> None:
    life = at(State.PRESENT, kind="stamp", heads=("a3",))
    life.planned(db_heads=["a3"], target_heads=["a1"], downgrades=["a3"], target_changed=True)
    assert (life.state, life.decision) == (State.PLANNED_UPDATE, Decision.STAMP)
    assert life.outcome == Outcome(revisions=("a1",), moves_to=("a1",), starts_from=("a3",))
    life.apply_started(db_heads=["a3"])
    assert life.outcome.actions == (Action("stamp", ("a1",)),)


def test_a_stamp_with_another_config_change_plans_an_update_that_writes_nothing() -> None:
    life = at(State.PRESENT, kind="stamp", heads=("a1",))
    life.planned(db_heads=["a1"], target_heads=["a2"])
    life.values_planned(equal_to_prior=False)
    assert (life.state, life.decision, life.planned_heads) == (
        State.PLANNED_UPDATE,
        Decision.NOOP,
        ("a1",),
    )
    life.apply_started(db_heads=["a1"])
    assert life.outcome == Outcome()
    life.apply_succeeded()
    assert (life.state, life.heads, life.outcome) == (State.PRESENT, ("a1",), Outcome())


@pytest.mark.parametrize(
    ("decision", "expected"),
    [
        (Decision.UPGRADE, ("a2",)),
        (Decision.DOWNGRADE, ("a2",)),
        (Decision.STAMP, ("a2",)),
        (Decision.NOOP, ("a1",)),
        (Decision.FORGET, ("a1",)),
        (Decision.UNKNOWN, None),
        (Decision.ERROR, None),
        (None, None),
    ],
)
def test_planned_heads_is_where_apply_leaves_the_database(
    decision: Decision | None, expected: tuple[str, ...] | None
) -> None:
    life = planned_at(State.PLANNED_UPDATE, decision)
    assert life.planned_heads == expected
    writes = decision in (Decision.UPGRADE, Decision.DOWNGRADE, Decision.STAMP)
    assert life.outcome.moves_to == (expected if writes else None)


def test_a_partial_stamp_is_retried() -> None:
    life = at(State.PARTIAL, kind="stamp", heads=())
    life.planned(db_heads=[], target_heads=["a1"])
    assert (life.state, life.decision) == (State.PLANNED_UPDATE, Decision.STAMP)


# Refresh.


def test_refresh_at_target_is_present() -> None:
    life = at(State.DRIFTED)
    life.refreshed(db_heads=["a2"], target_heads=["a2"], target_revisions=["a2"])
    assert (life.state, life.heads, life.from_refresh) == (State.PRESENT, ("a2",), True)
    assert life.outcome == Outcome(revisions=("a2",), target_revisions=("a2",), refreshed=True)


def test_refresh_of_an_upgrade_away_from_target_drifts_without_warning() -> None:
    life = at(State.PRESENT)
    life.refreshed(db_heads=["a1"], target_heads=["a2"])
    assert (life.state, life.heads, life.target_heads) == (State.DRIFTED, ("a1",), ("a2",))
    assert life.outcome == Outcome(revisions=("a1",), refreshed=True)


def test_refresh_of_a_partial_resource_records_the_database() -> None:
    life = at(State.PARTIAL, heads=("a1",))
    life.refreshed(db_heads=["a2"], target_heads=["a3"])
    assert (life.state, life.revision_reached) == (State.PARTIAL, ("a2",))
    assert life.outcome == Outcome(revisions=("a2",), refreshed=True)


@pytest.mark.parametrize("kind", ["upgrade", "stamp"])
@pytest.mark.parametrize("state", [State.PRESENT, State.DRIFTED, State.PARTIAL])
def test_a_refresh_with_unknown_inputs_keeps_everything(kind: str, state: State) -> None:
    life = at(state, kind=kind, target_heads=("a2",))
    before = life.snapshot()
    life.refreshed(known=False)
    assert life.snapshot() == before
    assert life.outcome == Outcome()


@pytest.mark.parametrize("error_kind", ["database", "env", "unknown_database_revision"])
def test_a_refresh_of_an_unread_import_keeps_it_whatever_failed(error_kind: str) -> None:
    life = at(State.PRESENT, heads=(), unread=True)
    before = life.snapshot()
    life.refreshed(error="no url", error_kind=error_kind, db_heads=["a1"])
    assert life.snapshot() == before
    assert life.outcome == Outcome()


def test_an_unread_import_whose_refresh_reads_the_database_records_its_heads() -> None:
    """The database was reached; only the target did not resolve, which the plan reports."""
    life = at(State.PRESENT, heads=(), unread=True)
    life.refreshed(error="Multiple heads.", error_kind="target", db_heads=["a1"])
    assert (life.heads, life.unread, life.from_refresh) == (("a1",), False, True)
    assert life.outcome == Outcome(revisions=("a1",), refreshed=True)


def test_a_refresh_whose_target_does_not_resolve_records_the_database_heads_it_read() -> None:
    """The plan reports the target; the heads count as read by a refresh, as any others."""
    life = at(State.PRESENT, heads=("a1",), target_heads=("a1",))
    life.refreshed(error="Can't locate revision 'zz'.", error_kind="target", db_heads=["a2"])
    assert (life.state, life.heads, life.target_heads, life.from_refresh) == (
        State.PRESENT,
        ("a2",),
        ("a1",),
        True,
    )
    assert life.outcome == Outcome(revisions=("a2",), refreshed=True)


@pytest.mark.parametrize("kind", ["upgrade", "stamp"])
def test_a_refresh_of_an_unreachable_database_is_refused(kind: str) -> None:
    life = at(State.DRIFTED, kind=kind)
    life.refreshed(error="connection refused", error_kind="host_unreachable")
    assert (life.state, life.heads) == (State.DRIFTED, ("a1",))
    assert life.outcome == Outcome(notes=(not_reachable("connection refused"),))


def test_any_other_refresh_failure_is_reported_as_given() -> None:
    life = at(State.PRESENT)
    life.refreshed(
        error="No module named 'psycopg2'.",
        error_summary="Driver Not Installed",
        error_detail="No module named 'psycopg2'.\n\nInstall it.",
        error_kind="environment",
        error_attribute=("python",),
    )
    assert (life.state, life.heads) == (State.PRESENT, ("a1",))
    assert life.outcome == Outcome(
        notes=(
            error(
                "Driver Not Installed", "No module named 'psycopg2'.\n\nInstall it.", ("python",)
            ),
        )
    )


# Planned values.


@pytest.mark.parametrize("kind", ["upgrade", "stamp"])
def test_a_write_plan_equal_to_the_prior_state_rests_at_present(kind: str) -> None:
    """Terraform calls apply only when the planned values differ from the prior state."""
    life = at(State.PARTIAL, kind=kind, heads=("a1",))
    life.planned(db_heads=[], target_heads=["a1"])
    assert (life.state, life.outcome.moves_to) == (State.PLANNED_UPDATE, ("a1",))
    life.values_planned(equal_to_prior=True)
    assert (life.state, life.outcome) == (State.PRESENT, Outcome(moves_to=("a1",), starts_from=()))


def test_a_write_plan_that_differs_from_the_prior_state_stays_planned() -> None:
    life = at(State.PRESENT, heads=("a1",))
    life.planned(db_heads=[], target_heads=["a1"])
    assert life.decision is Decision.UPGRADE
    life.values_planned(equal_to_prior=False)
    assert (life.state, life.outcome) == (
        State.PLANNED_UPDATE,
        Outcome(moves_to=("a1",), starts_from=()),
    )


def test_a_create_plan_stays_planned_whatever_the_values() -> None:
    life = ResourceLifecycle("upgrade")
    life.planned(db_heads=["a1"], target_heads=["a1"])
    life.values_planned(equal_to_prior=True)
    assert (life.state, life.decision) == (State.PLANNED_CREATE, Decision.NOOP)


# Apply.


def test_apply_runs_exactly_the_planned_step() -> None:
    life = planned_at(State.PLANNED_UPDATE, Decision.UPGRADE)
    assert life.outcome.actions == ()
    life.apply_started(db_heads=["a1"])
    assert (life.state, life.outcome) == (
        State.UPDATING,
        Outcome(actions=(Action("upgrade", ("a2",)),), moves_to=("a2",), starts_from=("a1",)),
    )
    life.apply_succeeded(heads_reached=["a2"])
    assert (life.state, life.heads) == (State.PRESENT, ("a2",))
    assert life.outcome == Outcome(revisions=("a2",), moves_to=("a2",), starts_from=("a1",))


def test_apply_stops_when_the_database_moved_after_the_plan() -> None:
    life = planned_at(State.PLANNED_UPDATE, Decision.UPGRADE)
    life.apply_started(db_heads=["a0"])
    assert (life.state, life.revision_reached) == (State.PARTIAL, ("a0",))
    assert life.outcome == Outcome(
        notes=(
            error(
                NOT_AS_PLANNED,
                "The database moved from 'a1' to 'a0' after the plan was made, on the branch of "
                "this resource's target, so nothing was applied. Run terraform apply again to "
                "plan from the database's current revision. If another resource acts on the "
                "same branch of this database, order the two with depends_on: Terraform applies "
                "resources without it in parallel.",
            ),
        ),
        revisions=("a0",),
        moves_to=("a2",),
        starts_from=("a1",),
    )


def test_a_create_that_cannot_start_stays_absent() -> None:
    life = planned_at(State.PLANNED_CREATE, Decision.UPGRADE)
    life.apply_started(
        db_heads=None,
        error="The database could not be reached.",
        error_summary="Database Not Reachable",
        error_detail="The database could not be reached.\n\nCheck the url.",
        error_kind="host_unreachable",
        error_attribute=("url",),
    )
    assert (life.state, life.heads) == (State.ABSENT, ("a1",))
    assert life.outcome == Outcome(
        notes=(
            error(
                "Database Not Reachable",
                "The database could not be reached.\n\nCheck the url.",
                ("url",),
            ),
        ),
        exists=False,
        revisions=("a1",),
        moves_to=("a2",),
        starts_from=("a1",),
    )


def test_a_failure_to_start_without_a_heading_is_not_applied_as_planned() -> None:
    life = planned_at(State.PLANNED_UPDATE, Decision.UPGRADE)
    life.apply_started(db_heads=["a1"], error="lock timeout")
    assert (life.state, life.revision_reached) == (State.PARTIAL, ("a1",))
    assert life.outcome.notes == (error(NOT_AS_PLANNED, "lock timeout"),)


@pytest.mark.parametrize("decision", [None, Decision.UNKNOWN, Decision.ERROR])
def test_apply_refuses_a_plan_that_decided_nothing(decision: Decision | None) -> None:
    life = planned_at(State.PLANNED_CREATE, decision)
    life.apply_started(db_heads=["a1"])
    assert (life.state, life.outcome.actions, life.outcome.exists) == (State.ABSENT, (), False)
    name = "none" if decision is None else decision.value
    assert life.outcome.notes == (
        error(
            NOT_AS_PLANNED,
            f"Apply started from a plan whose decision is '{name}', so nothing was applied. "
            "This is a bug in the provider; please report it.",
        ),
    )


@pytest.mark.parametrize("kind", ["upgrade", "stamp"])
@pytest.mark.parametrize("state", [State.ABSENT, State.PRESENT, State.DRIFTED, State.PARTIAL])
def test_apply_without_a_plan_is_an_invalid_request_and_stays(kind: str, state: State) -> None:
    life = at(state, kind=kind)
    assert life.apply_started(db_heads=["a2"])
    assert (life.state, life.heads) == (state, ("a1",))
    assert life.outcome == Outcome(
        notes=(
            error(
                "Invalid Request",
                f"The ApplyResourceChange request for an 'alembic_{kind}' carries no plan of "
                "this provider in its 'planned_private' value, so what was planned is unknown. "
                "Run 'terraform plan' again and apply the new plan.",
            ),
        ),
        exists=state is not State.ABSENT,
        revisions=("a1",),
    )


def test_a_failed_apply_is_partial_and_carries_the_revision_reached() -> None:
    life = planned_at(State.PLANNED_CREATE, Decision.UPGRADE, planned_from=())
    life.apply_started(db_heads=[])
    life.apply_failed(heads_reached=["a1"], message="Migration 'a2' failed: syntax error.")
    assert (life.state, life.revision_reached) == (State.PARTIAL, ("a1",))
    assert life.outcome == Outcome(
        notes=(error("Migration Failed", "Migration 'a2' failed: syntax error."),),
        revisions=("a1",),
        moves_to=("a2",),
        starts_from=(),
    )


def test_a_failed_apply_reports_the_handlers_heading_and_detail() -> None:
    life = planned_at(State.UPDATING, Decision.UPGRADE)
    life.apply_failed(
        heads_reached=["a1"],
        message="syntax error",
        error_summary="Migration Script Failed",
        error_detail="Migration 'a2' failed: syntax error.\n\nTraceback ...",
    )
    assert life.outcome.notes == (
        error("Migration Script Failed", "Migration 'a2' failed: syntax error.\n\nTraceback ..."),
    )


def test_an_apply_that_stops_short_is_partial() -> None:
    life = planned_at(State.PLANNED_UPDATE, Decision.UPGRADE)
    life.apply_started(db_heads=["a1"])
    life.apply_succeeded(heads_reached=["a1"])
    assert (life.state, life.revision_reached) == (State.PARTIAL, ("a1",))
    assert life.outcome.notes == (
        error(
            NOT_AS_PLANNED,
            "The apply finished at 'a1', but the plan expected 'a2'; the state records the "
            "revision the database reached.",
        ),
    )
    assert life.outcome.revisions == ("a1",)


def test_a_write_plan_whose_actions_did_not_run_is_partial_at_the_start_heads() -> None:
    life = planned_at(State.UPDATING, Decision.UPGRADE)
    life.apply_succeeded()
    assert (life.state, life.revision_reached, life.outcome.revisions) == (
        State.PARTIAL,
        ("a1",),
        ("a1",),
    )


@pytest.mark.parametrize("state", [State.CREATING, State.UPDATING])
def test_a_noop_apply_records_nothing_new(state: State) -> None:
    life = planned_at(state, Decision.NOOP, target_heads=("a1",))
    life.apply_succeeded()
    assert (life.state, life.heads, life.outcome) == (State.PRESENT, ("a1",), Outcome())


def test_the_next_plan_continues_from_partial() -> None:
    life = at(State.PARTIAL, heads=("a1",), target_heads=("a2",))
    life.planned(db_heads=["a1"], target_heads=["a2"])
    assert (life.state, life.decision, life.planned_from) == (
        State.PLANNED_UPDATE,
        Decision.UPGRADE,
        ("a1",),
    )


# Destroy.


KEPT = (
    "Destroying this resource only removes it from Terraform's state: on_destroy is not set (set "
    "it to a revision id or 'base' to downgrade the database on destroy), so the database stays "
    "at 'a1'."
)


def test_destroy_keeps_the_database_by_default_and_needs_no_database() -> None:
    life = at(State.PRESENT)
    life.destroy_planned()
    assert (life.state, life.decision, life.outcome) == (
        State.PLANNED_DELETE,
        Decision.FORGET,
        Outcome(notes=(Note("warning", "Database Kept", KEPT),)),
    )
    life.destroy_started()
    assert (life.state, life.outcome) == (State.DELETING, Outcome())
    life.destroyed()
    assert (life.state, life.outcome) == (State.GONE, Outcome(exists=False))


def test_destroy_downgrades_when_on_destroy_asks() -> None:
    life = at(State.PRESENT, heads=("a2",))
    life.destroy_planned(
        destroy_target="base",
        target_heads=[],
        db_heads=["a2"],
        downgrades=["a2", "a1"],
        undone=["'a2' (add users)", "'a1'"],
    )
    assert (life.state, life.decision) == (State.PLANNED_DELETE, Decision.DOWNGRADE)
    assert life.outcome == Outcome(
        notes=(
            warning(
                "Destroy Downgrades The Database",
                "Destroying this resource downgrades the database from 'a2' to 'base' "
                "(on_destroy), undoing 'a2' (add users), 'a1'.",
            ),
        ),
        moves_to=(),
        starts_from=("a2",),
    )
    life.destroy_started()
    assert (life.state, life.outcome.actions) == (State.DELETING, (Action("downgrade", ()),))
    life.destroyed()
    assert life.state is State.GONE


def test_destroy_forgets_when_nothing_is_above_the_on_destroy_target() -> None:
    life = at(State.PRESENT, heads=())
    life.destroy_planned(destroy_target="base", target_heads=[], db_heads=[])
    assert (life.decision, life.outcome) == (Decision.FORGET, Outcome())


def test_destroy_of_a_partial_resource_never_downgrades() -> None:
    life = at(State.PARTIAL, heads=("a1",))
    life.destroy_planned(destroy_target="base", target_heads=[], db_heads=["a1"], downgrades=["a1"])
    assert (life.state, life.decision) == (State.PLANNED_DELETE, Decision.FORGET)
    assert life.outcome.notes == (
        warning(
            "Database Kept",
            "The database is at 'a1' after a failed apply, so on_destroy does not downgrade it; "
            "the resource is only removed from Terraform's state.",
        ),
    )
    life.destroy_started()
    assert life.outcome.actions == ()


@pytest.mark.parametrize("state", [State.PRESENT, State.DRIFTED, State.PARTIAL])
def test_a_stamp_destroy_never_touches_the_database(state: State) -> None:
    life = at(state, kind="stamp", heads=("a2",))
    life.destroy_planned(destroy_target="base", target_heads=[], db_heads=["a2"], downgrades=["a2"])
    kept = (
        "Destroying this resource only removes it from Terraform's state: alembic_stamp never "
        "changes the version table on destroy, so the database stays at 'a2'."
    )
    assert (life.state, life.decision, life.outcome) == (
        State.PLANNED_DELETE,
        Decision.FORGET,
        Outcome(notes=(Note("warning", "Database Kept", kept),)),
    )
    life.destroy_started()
    assert life.outcome.actions == ()


@pytest.mark.parametrize("kind", ["upgrade", "stamp"])
def test_the_destroy_half_of_a_replace_forgets(kind: str) -> None:
    """A replace restores the create plan that follows it; its destroy keeps the database."""
    life = planned_at(State.PLANNED_CREATE, Decision.UPGRADE, kind=kind, heads=("a2",))
    life.destroy_planned(destroy_target="base", target_heads=[], db_heads=["a2"], downgrades=["a2"])
    assert (life.state, life.decision, life.outcome) == (
        State.PLANNED_DELETE,
        Decision.FORGET,
        Outcome(),
    )
    life.destroy_started()
    assert life.outcome.actions == ()


def test_a_destroy_with_unknown_inputs_forgets() -> None:
    life = at(State.DRIFTED)
    life.destroy_planned(known=False)
    assert (life.state, life.decision, life.outcome) == (
        State.PLANNED_DELETE,
        Decision.FORGET,
        Outcome(),
    )


def test_an_on_destroy_that_does_not_resolve_stops_the_destroy() -> None:
    life = at(State.PRESENT)
    life.destroy_planned(
        destroy_target="zz", error="Can't locate revision 'zz'.", error_kind="target"
    )
    assert (life.state, life.decision) == (State.PRESENT, Decision.ERROR)
    assert life.outcome.notes == (
        error("Invalid On Destroy Revision", "Can't locate revision 'zz'.", ("on_destroy",)),
    )


def test_any_other_destroy_failure_is_reported_as_given() -> None:
    """Nothing is destroyed; what the state keeps is returned by an apply, not a refresh."""
    life = at(State.PRESENT, from_refresh=True)
    life.destroy_planned(
        destroy_target="base",
        error="connection refused",
        error_summary="Database Not Reachable",
        error_kind="host_unreachable",
    )
    assert (life.state, life.decision, life.from_refresh) == (State.PRESENT, Decision.ERROR, False)
    assert life.outcome.notes == (error("Database Not Reachable", "connection refused"),)


def test_a_failed_destroy_downgrade_is_partial() -> None:
    life = at(State.DELETING, heads=("a2",))
    life.destroy_failed(heads_reached=["a1"], message="Downgrade of 'a1' failed.")
    assert (life.state, life.revision_reached) == (State.PARTIAL, ("a1",))
    assert life.outcome == Outcome(
        notes=(error("Migration Failed", "Downgrade of 'a1' failed."),), revisions=("a1",)
    )


# Import.


def test_import_adopts_the_database_heads() -> None:
    life = ResourceLifecycle("upgrade")
    life.import_started()
    assert life.state is State.IMPORTING
    life.imported(db_heads=["b1", "a1"], target_revisions=["a1", "b1"])
    assert (life.state, life.heads, life.unread) == (State.PRESENT, ("a1", "b1"), False)
    assert life.outcome == Outcome(revisions=("a1", "b1"), target_revisions=("a1", "b1"))


def test_a_failed_import_stays_absent() -> None:
    life = ResourceLifecycle("upgrade")
    life.import_started()
    life.imported(
        error="Can't locate revision 'zz'.",
        error_summary="Invalid Target Revision",
        error_kind="target",
    )
    assert life.state is State.ABSENT
    assert life.outcome == Outcome(
        notes=(error("Invalid Target Revision", "Can't locate revision 'zz'."),), exists=False
    )


@pytest.mark.parametrize("error_kind", ["env", "database", "environment", "placeholder_url"])
def test_an_import_whose_settings_do_not_reach_the_database_imports_unread(
    error_kind: str,
) -> None:
    life = ResourceLifecycle("stamp")
    life.import_started()
    life.imported(error="no url", error_kind=error_kind)
    assert (life.state, life.heads, life.unread) == (State.PRESENT, (), True)
    assert life.outcome == Outcome()
    assert ResourceLifecycle.restore(life.snapshot()).unread


def test_the_first_plan_after_an_unread_import_reads_with_the_configuration() -> None:
    life = at(State.PRESENT, heads=(), unread=True)
    life.planned(db_heads=["a1"], target_heads=["a2"])
    assert (life.state, life.decision, life.unread) == (
        State.PLANNED_UPDATE,
        Decision.UPGRADE,
        False,
    )


# Strictness, facts and binding.


def test_a_trigger_with_no_edge_raises_and_may_says_no() -> None:
    life = ResourceLifecycle("upgrade")
    assert not life.may_refreshed(db_heads=[], target_heads=[])
    with pytest.raises(MachineError, match="Can't trigger event refreshed from state ABSENT!"):
        life.refreshed(db_heads=[], target_heads=[])
    assert life.state is State.ABSENT


@pytest.mark.parametrize("kind", ["upgrade", "stamp"])
def test_gone_is_terminal(kind: str) -> None:
    life = at(State.GONE, kind=kind)
    for trigger in ("planned", "refreshed", "destroy_planned", "apply_started", "import_started"):
        assert not life.may_trigger(trigger)
        with pytest.raises(MachineError, match=f"Can't trigger event {trigger} from state GONE!"):
            life.trigger(trigger)


def test_may_asks_without_changing_anything() -> None:
    life = at(State.PRESENT)
    assert life.may_planned(db_heads=["a1"], target_heads=["a2"])
    assert (life.state, life.decision, life.outcome) == (State.PRESENT, None, Outcome())


@pytest.mark.parametrize(
    ("state", "trigger", "facts", "message"),
    [
        (
            State.UPDATING,
            "apply_succeeded",
            {"heads_reached": ["a2"], "db_head": ["a1"]},
            "got an unexpected keyword argument 'db_head'",
        ),
        (
            State.UPDATING,
            "apply_failed",
            {"heads_reached": "a1", "message": ""},
            "not the string 'a1'",
        ),
        (
            State.UPDATING,
            "apply_failed",
            {"message": ""},
            "missing a required argument: 'heads_reached'",
        ),
        (
            State.PLANNED_DELETE,
            "destroy_started",
            {"db_heads": ["a1"]},
            "got an unexpected keyword argument 'db_heads'",
        ),
        (
            State.PRESENT,
            "planned",
            {"config_changed": True},
            "got an unexpected keyword argument 'config_changed'",
        ),
        (
            State.PRESENT,
            "destroy_planned",
            {"replacing": True},
            "got an unexpected keyword argument 'replacing'",
        ),
    ],
)
def test_facts_are_checked_against_the_declaration(
    state: State, trigger: str, facts: dict[str, object], message: str
) -> None:
    life = at(state)
    with pytest.raises(TypeError, match=message):
        life.trigger(trigger, **facts)
    assert (life.state, life.heads) == (state, ("a1",))


def test_each_kind_binds_its_own_machine() -> None:
    for kind in ("upgrade", "stamp"):
        with pytest.raises(
            MachineError,
            match=f"alembic_{kind}: Can't trigger event destroyed from state ABSENT!",
        ):
            ResourceLifecycle(kind).destroyed()
    upgrade, stamp = ResourceLifecycle("upgrade"), ResourceLifecycle("stamp")
    upgrade.planned(db_heads=["a1"], target_heads=["a2"])
    stamp.planned(db_heads=["a1"], target_heads=["a2"])
    assert (upgrade.decision, stamp.decision) == (Decision.UPGRADE, Decision.STAMP)


def test_rows_both_kinds_share_are_the_same_objects() -> None:
    shared = {id(row) for row in TABLES["upgrade"]} & {id(row) for row in TABLES["stamp"]}
    for trigger in ("values_planned", "apply_started", "apply_succeeded", "apply_failed"):
        rows = [row for row in TABLES["stamp"] if row["trigger"] == trigger]
        assert rows and all(id(row) in shared for row in rows), trigger
    for trigger in ("destroy_started", "destroyed", "destroy_failed", "import_started"):
        assert all(id(row) in shared for row in TABLES["stamp"] if row["trigger"] == trigger)
    stamp_plans = [row for row in TABLES["stamp"] if row["trigger"] == "planned"]
    assert any(id(row) not in shared for row in stamp_plans)


def test_models_are_not_retained_and_bind_without_log_noise(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="transitions")
    lives = [ResourceLifecycle(kind) for kind in ("stamp", "upgrade") for _ in range(10)]
    assert (MACHINES["upgrade"].models, MACHINES["stamp"].models) == ([], [])
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == []
    lives[0].planned(known=False)
    assert (lives[0].state, lives[1].state) == (State.PLANNED_CREATE, State.ABSENT)


def test_construction_is_validated() -> None:
    with pytest.raises(ValueError, match="The kind 'migrate' is not one of"):
        ResourceLifecycle("migrate")  # type: ignore[arg-type]
    for state in (State.PARTIAL, State.PLANNED_UPDATE, State.DELETING):
        with pytest.raises(
            ValueError, match=f"A lifecycle restored in {state.name} needs the heads"
        ):
            ResourceLifecycle("upgrade", state)
    assert ResourceLifecycle("upgrade", State.PARTIAL, heads=()).revision_reached == ()


def test_snapshot_round_trips_through_json() -> None:
    life = planned_at(
        State.PLANNED_UPDATE,
        Decision.DOWNGRADE,
        heads=("b1", "a1"),
        from_refresh=True,
        configured_target="head",
    )
    text = life.snapshot().to_json()
    assert text == (
        '{"configured_target":"head","decision":"DOWNGRADE","from_refresh":true,'
        '"heads":["a1","b1"],"kind":"upgrade","planned_from":["a1"],'
        '"state":"PLANNED_UPDATE","target_heads":["a2"],"unread":false}'
    )
    again = ResourceLifecycle.restore(ResourceSnapshot.from_json(text))
    assert again.snapshot() == life.snapshot()
    again.apply_started(db_heads=["a1"])
    assert again.outcome.actions == (Action("downgrade", ("a2",)),)


def test_a_snapshot_without_the_new_fields_reads_with_their_defaults() -> None:
    snapshot = ResourceSnapshot.from_json(
        '{"decision":null,"heads":["a1"],"kind":"stamp","planned_from":null,'
        '"state":"PRESENT","target_heads":["a1"]}'
    )
    assert (snapshot.from_refresh, snapshot.unread, snapshot.configured_target) == (
        False,
        False,
        None,
    )
    assert ResourceLifecycle.restore(snapshot).state is State.PRESENT


@pytest.mark.parametrize("text", ["", "[]", '{"kind":"upgrade","state":"NOWHERE"}'])
def test_a_foreign_snapshot_is_rejected(text: str) -> None:
    with pytest.raises(
        ValueError, match=re.escape("expected the JSON written by ResourceSnapshot.to_json")
    ):
        ResourceSnapshot.from_json(text)


def test_a_database_moved_by_hand_is_explained_by_the_refresh() -> None:
    life = at(State.PRESENT, heads=("a2",))
    life.refreshed(db_heads=["a1"], target_heads=["a2"], target_revisions=["a2"])
    assert (life.state, life.outcome.notes) == (
        State.DRIFTED,
        (
            Note(
                "warning",
                "Database Moved Outside Terraform",
                "The database is at 'a1', but the state recorded 'a2': it was moved outside "
                "Terraform since the last apply (for example by 'alembic downgrade' or 'alembic "
                "upgrade' run by hand). The plan moves it back to the target 'a2'; to keep it "
                "where it is, change target.",
            ),
        ),
    )
    assert life.heads == ("a1",)


def test_new_revision_files_are_not_a_database_moved_by_hand() -> None:
    life = at(State.PRESENT, heads=("a2",))
    life.refreshed(db_heads=["a2"], target_heads=["a3"], target_revisions=["a3"])
    assert (life.state, life.outcome.notes) == (State.DRIFTED, ())
