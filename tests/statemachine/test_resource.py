"""Edges and guards of the resource lifecycle, one rule per test, with exact outcomes."""

from __future__ import annotations

import logging
import re
from typing import Any

import pytest
from transitions import MachineError

from statemachine.resource import (
    MACHINE,
    Action,
    Decision,
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


# Planning a create.


def test_unknown_inputs_plan_unknown_values_without_reading_the_database() -> None:
    life = ResourceLifecycle("upgrade")
    assert life.planned(known=False)
    assert (life.state, life.decision) == (State.PLANNED_CREATE, Decision.UNKNOWN)
    assert (life.planned_from, life.target_heads, life.pending) == (None, None, ())


def test_a_plan_error_keeps_the_resource_absent_and_says_why() -> None:
    life = ResourceLifecycle("upgrade")
    life.planned(error="Multiple head revisions are present for given argument 'head'.")
    assert (life.state, life.decision) == (State.ABSENT, Decision.ERROR)
    assert life.error == "Multiple head revisions are present for given argument 'head'."


@pytest.mark.parametrize(
    ("kind", "facts", "decision"),
    [
        ("upgrade", {"db_heads": [], "target_heads": ["a2"]}, Decision.UPGRADE),
        ("upgrade", {"db_heads": ["a2"], "target_heads": ["a2"]}, Decision.NOOP),
        ("stamp", {"db_heads": [], "target_heads": ["a2"]}, Decision.STAMP),
        ("stamp", {"db_heads": ["a2"], "target_heads": ["a2"]}, Decision.NOOP),
        (
            "upgrade",
            {
                "db_heads": ["a3"],
                "target_heads": ["a2"],
                "downgrades": ["a3"],
                "allow_downgrade": True,
            },
            Decision.DOWNGRADE,
        ),
        (
            "stamp",
            {"db_heads": ["a3"], "target_heads": ["a2"], "downgrades": ["a3"]},
            Decision.STAMP,
        ),
    ],
)
def test_create_plans(kind: str, facts: dict[str, object], decision: Decision) -> None:
    life = ResourceLifecycle(kind)  # type: ignore[arg-type]
    assert life.planned(**facts)  # type: ignore[arg-type]
    assert (life.state, life.decision, life.error) == (State.PLANNED_CREATE, decision, None)
    assert life.target_heads == tuple(facts["target_heads"])  # type: ignore[arg-type]
    assert life.planned_from == tuple(facts["db_heads"])  # type: ignore[arg-type]


def test_a_downgrade_without_allow_downgrade_is_a_plan_error() -> None:
    life = ResourceLifecycle("upgrade")
    life.planned(db_heads=["b2", "a3"], target_heads=["a2"], downgrades=["a3"])
    assert (life.state, life.decision) == (State.ABSENT, Decision.ERROR)
    assert life.error == (
        "The target 'a2' is behind the database at 'a3', 'b2', and allow_downgrade is false. "
        "Set allow_downgrade = true to downgrade the database, or choose a target at or after "
        "its revision."
    )


def test_known_plans_need_both_head_sets() -> None:
    life = ResourceLifecycle("upgrade")
    with pytest.raises(
        TypeError, match=re.escape("The fact 'db_heads' is required here but was not given.")
    ):
        life.planned(target_heads=["a2"])
    assert life.state is State.ABSENT


# Planning an update.


@pytest.mark.parametrize("state", [State.PRESENT, State.DRIFTED, State.PARTIAL])
def test_at_target_without_config_change_is_present_with_nothing_to_do(state: State) -> None:
    life = at(state, heads=("a1",))
    life.planned(db_heads=["a1"], target_heads=["a1"])
    assert (life.state, life.decision, life.pending) == (State.PRESENT, Decision.NOOP, ())


def test_a_config_change_at_target_plans_an_update_that_writes_nothing() -> None:
    life = at(State.PRESENT)
    life.planned(db_heads=["a1"], target_heads=["a1"], config_changed=True)
    assert (life.state, life.decision) == (State.PLANNED_UPDATE, Decision.NOOP)
    life.apply_started(db_heads=["a1"])
    assert (life.state, life.pending) == (State.UPDATING, ())


@pytest.mark.parametrize("state", [State.PRESENT, State.DRIFTED, State.PARTIAL])
def test_behind_target_plans_an_upgrade(state: State) -> None:
    life = at(state)
    life.planned(db_heads=["a1"], target_heads=["a3"])
    assert (life.state, life.decision) == (State.PLANNED_UPDATE, Decision.UPGRADE)
    assert (life.planned_from, life.target_heads) == (("a1",), ("a3",))


@pytest.mark.parametrize("state", [State.PRESENT, State.DRIFTED, State.PARTIAL])
def test_a_refused_downgrade_stays_where_it_was(state: State) -> None:
    life = at(state, heads=("a3",))
    life.planned(db_heads=["a3"], target_heads=["a1"], downgrades=["a3", "a2"])
    assert (life.state, life.decision) == (state, Decision.ERROR)
    assert life.error is not None and life.error.startswith("The target 'a1' is behind")


def test_an_allowed_downgrade_is_planned() -> None:
    life = at(State.PRESENT, heads=("a3",))
    life.planned(db_heads=["a3"], target_heads=["a1"], downgrades=["a3"], allow_downgrade=True)
    assert (life.state, life.decision) == (State.PLANNED_UPDATE, Decision.DOWNGRADE)
    life.apply_started(db_heads=["a3"])
    assert life.pending == (Action("downgrade", ("a1",)),)


def test_unknown_inputs_on_update_plan_unknown_values() -> None:
    life = at(State.DRIFTED)
    life.planned(known=False)
    assert (life.state, life.decision, life.planned_from) == (
        State.PLANNED_UPDATE,
        Decision.UNKNOWN,
        None,
    )


# alembic_stamp never stamps again on its own.


def test_a_stamp_ignores_new_revisions_and_warns() -> None:
    life = at(State.PRESENT, kind="stamp", heads=("a1",), target_heads=("a1",))
    life.refreshed(db_heads=["a1"], target_heads=["a2"])
    assert life.state is State.PRESENT
    assert (life.heads, life.target_heads) == (("a1",), ("a2",))
    assert life.warnings == [
        "The database is at 'a1' but the target resolves to 'a2', which it has not reached. "
        "alembic_stamp does not stamp again when revisions are added or the database moves; run "
        "new migrations with alembic_upgrade, or change target to stamp again."
    ]
    life.planned(db_heads=["a1"], target_heads=["a2"])
    assert (life.state, life.decision, life.pending) == (State.PRESENT, Decision.NOOP, ())


def test_a_stamp_is_satisfied_once_the_database_is_past_its_target() -> None:
    """The adoption pattern: a baseline stamp, then upgrades past it; no warning, no stamp."""
    life = at(State.PRESENT, kind="stamp", heads=("a1",), target_heads=("a1",))
    life.refreshed(db_heads=["a6", "b1"], target_heads=["a1"], reached=True)
    assert (life.state, life.heads, life.warnings) == (State.PRESENT, ("a6", "b1"), [])
    life.planned(db_heads=["a6", "b1"], target_heads=["a1"], downgrades=["a6"], reached=True)
    assert (life.state, life.decision) == (State.PRESENT, Decision.NOOP)


def test_a_new_stamp_on_a_database_past_its_target_writes_nothing() -> None:
    life = ResourceLifecycle("stamp")
    life.planned(db_heads=["a6"], target_heads=["a1"], downgrades=["a6"], reached=True)
    assert (life.state, life.decision, life.planned_heads) == (
        State.PLANNED_CREATE,
        Decision.NOOP,
        ("a6",),
    )
    life.apply_started(db_heads=["a6"])
    assert life.pending == ()


def test_a_changed_stamp_target_the_database_passed_stamps_nothing() -> None:
    life = at(State.PRESENT, kind="stamp", heads=("a6",), target_heads=("a1",))
    life.planned(db_heads=["a6"], target_heads=["a2"], target_changed=True, reached=True)
    assert (life.state, life.decision) == (State.PLANNED_UPDATE, Decision.NOOP)


def test_a_stamp_warns_when_the_database_is_on_an_unrelated_branch() -> None:
    life = at(State.PRESENT, kind="stamp", heads=("a1",), target_heads=("a1",))
    life.refreshed(db_heads=["b1"], target_heads=["a1"], reached=False)
    assert (life.state, len(life.warnings)) == (State.DRIFTED, 1)
    assert "which it has not reached" in life.warnings[0]


def test_a_stamp_whose_database_moved_by_hand_drifts_with_a_warning_and_does_not_restamp() -> None:
    life = at(State.PRESENT, kind="stamp", heads=("a1",))
    life.refreshed(db_heads=["a0"], target_heads=["a1"])
    assert (life.state, life.heads, len(life.warnings)) == (State.DRIFTED, ("a0",), 1)
    life.planned(db_heads=["a0"], target_heads=["a1"])
    assert (life.state, life.decision) == (State.PRESENT, Decision.NOOP)


def test_a_stamp_with_a_changed_target_stamps_even_backwards() -> None:
    life = at(State.PRESENT, kind="stamp", heads=("a3",))
    life.planned(db_heads=["a3"], target_heads=["a1"], downgrades=["a3"], target_changed=True)
    assert (life.state, life.decision) == (State.PLANNED_UPDATE, Decision.STAMP)
    life.apply_started(db_heads=["a3"])
    assert life.pending == (Action("stamp", ("a1",)),)


def test_a_stamp_with_another_config_change_plans_an_update_that_writes_nothing() -> None:
    life = at(State.PRESENT, kind="stamp", heads=("a1",))
    life.planned(db_heads=["a1"], target_heads=["a2"], config_changed=True)
    assert (life.state, life.decision, life.planned_heads) == (
        State.PLANNED_UPDATE,
        Decision.NOOP,
        ("a1",),
    )
    life.apply_started(db_heads=["a1"])
    assert life.pending == ()
    life.apply_succeeded(heads_reached=["a1"])
    assert (life.state, life.heads, life.error) == (State.PRESENT, ("a1",), None)


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
    assert planned_at(State.PLANNED_UPDATE, decision).planned_heads == expected


def test_a_partial_stamp_is_retried() -> None:
    life = at(State.PARTIAL, kind="stamp", heads=())
    life.planned(db_heads=[], target_heads=["a1"])
    assert (life.state, life.decision) == (State.PLANNED_UPDATE, Decision.STAMP)


# Refresh.


def test_refresh_at_target_is_present() -> None:
    life = at(State.DRIFTED)
    life.refreshed(db_heads=["a2"], target_heads=["a2"])
    assert (life.state, life.heads, life.warnings) == (State.PRESENT, ("a2",), [])


def test_refresh_of_an_upgrade_away_from_target_drifts_without_warning() -> None:
    life = at(State.PRESENT)
    life.refreshed(db_heads=["a1"], target_heads=["a2"])
    assert (life.state, life.heads, life.target_heads, life.warnings) == (
        State.DRIFTED,
        ("a1",),
        ("a2",),
        [],
    )


def test_refresh_of_a_partial_resource_records_the_database() -> None:
    life = at(State.PARTIAL, heads=("a1",))
    life.refreshed(db_heads=["a2"], target_heads=["a3"])
    assert (life.state, life.revision_reached) == (State.PARTIAL, ("a2",))


# Apply.


def test_apply_runs_exactly_the_planned_step() -> None:
    life = planned_at(State.PLANNED_UPDATE, Decision.UPGRADE)
    assert not life.pending
    life.apply_started(db_heads=["a1"])
    assert (life.state, life.pending) == (State.UPDATING, (Action("upgrade", ("a2",)),))
    life.apply_succeeded(heads_reached=["a2"])
    assert (life.state, life.heads, life.pending, life.error) == (
        State.PRESENT,
        ("a2",),
        (),
        None,
    )


def test_apply_stops_when_the_database_moved_after_the_plan() -> None:
    life = planned_at(State.PLANNED_UPDATE, Decision.UPGRADE)
    life.apply_started(db_heads=["a0"])
    assert (life.state, life.pending, life.revision_reached) == (State.PARTIAL, (), ("a0",))
    assert life.error == (
        "The database moved from 'a1' to 'a0' after the plan was made, so nothing was applied. "
        "Run terraform apply again to plan from the database's current revision."
    )


def test_a_create_that_cannot_start_stays_absent() -> None:
    life = planned_at(State.PLANNED_CREATE, Decision.UPGRADE)
    life.apply_started(db_heads=None, error="The database could not be reached.")
    assert (life.state, life.pending, life.error) == (
        State.ABSENT,
        (),
        "The database could not be reached.",
    )


@pytest.mark.parametrize("decision", [None, Decision.UNKNOWN, Decision.ERROR])
def test_apply_refuses_a_plan_that_decided_nothing(decision: Decision | None) -> None:
    life = planned_at(State.PLANNED_CREATE, decision)
    life.apply_started(db_heads=["a1"])
    assert (life.state, life.pending) == (State.ABSENT, ())
    name = "none" if decision is None else decision.value
    assert life.error == (
        f"Apply started from a plan whose decision is '{name}', so nothing was applied. "
        "This is a bug in the provider; please report it."
    )


def test_a_failed_apply_is_partial_and_carries_the_revision_reached() -> None:
    life = planned_at(State.PLANNED_CREATE, Decision.UPGRADE, planned_from=())
    life.apply_started(db_heads=[])
    life.apply_failed(heads_reached=["a1"], message="Migration 'a2' failed: syntax error.")
    assert (life.state, life.revision_reached, life.pending) == (State.PARTIAL, ("a1",), ())
    assert life.error == "Migration 'a2' failed: syntax error."


def test_an_apply_that_stops_short_is_partial() -> None:
    life = planned_at(State.PLANNED_UPDATE, Decision.UPGRADE)
    life.apply_started(db_heads=["a1"])
    life.apply_succeeded(heads_reached=["a1"])
    assert (life.state, life.revision_reached) == (State.PARTIAL, ("a1",))
    assert life.error == (
        "The apply finished at 'a1', but the plan expected 'a2'; the state records the "
        "revision the database reached."
    )


def test_the_next_plan_continues_from_partial() -> None:
    life = at(State.PARTIAL, heads=("a1",), target_heads=("a2",))
    life.planned(db_heads=["a1"], target_heads=["a2"])
    assert (life.state, life.decision, life.planned_from) == (
        State.PLANNED_UPDATE,
        Decision.UPGRADE,
        ("a1",),
    )


# Destroy.


def test_destroy_keeps_the_database_by_default_and_needs_no_database() -> None:
    life = at(State.PRESENT)
    life.destroy_planned()
    assert (life.state, life.decision) == (State.PLANNED_DELETE, Decision.FORGET)
    life.destroy_started()
    assert (life.state, life.pending) == (State.DELETING, ())
    life.destroyed()
    assert life.state is State.GONE


def test_destroy_downgrades_when_on_destroy_asks() -> None:
    life = at(State.PRESENT, heads=("a2",))
    life.destroy_planned(target_heads=[], db_heads=["a2"], downgrades=["a2", "a1"])
    assert (life.state, life.decision) == (State.PLANNED_DELETE, Decision.DOWNGRADE)
    life.destroy_started(db_heads=["a2"])
    assert life.pending == (Action("downgrade", ()),)


def test_destroy_forgets_when_nothing_is_above_the_on_destroy_target() -> None:
    life = at(State.PRESENT, heads=())
    life.destroy_planned(target_heads=[], db_heads=[])
    assert life.decision is Decision.FORGET


def test_a_stamp_destroy_never_touches_the_database() -> None:
    life = at(State.PRESENT, kind="stamp", heads=("a2",))
    life.destroy_planned(target_heads=[], db_heads=["a2"], downgrades=["a2"])
    assert life.decision is Decision.FORGET


def test_a_destroy_downgrade_stops_when_the_database_was_not_read() -> None:
    life = at(
        State.PLANNED_DELETE, heads=("a2",), decision=Decision.DOWNGRADE, planned_from=("a2",)
    )
    life.destroy_started()
    assert (life.state, life.pending, life.revision_reached) == (State.PARTIAL, (), ("a2",))
    assert life.error is not None and life.error.startswith(
        "The database moved from 'a2' to 'unknown'"
    )


def test_a_failed_destroy_downgrade_is_partial() -> None:
    life = at(State.DELETING, heads=("a2",))
    life.destroy_failed(heads_reached=["a1"], message="Downgrade of 'a1' failed.")
    assert (life.state, life.revision_reached, life.error) == (
        State.PARTIAL,
        ("a1",),
        "Downgrade of 'a1' failed.",
    )


# Import.


def test_import_adopts_the_database_heads() -> None:
    life = ResourceLifecycle("upgrade")
    life.import_started()
    assert life.state is State.IMPORTING
    life.imported(db_heads=["b1", "a1"])
    assert (life.state, life.heads) == (State.PRESENT, ("a1", "b1"))


def test_a_failed_import_stays_absent() -> None:
    life = ResourceLifecycle("upgrade")
    life.import_started()
    life.import_failed(message="The import ID 'x' has no database URL.")
    assert (life.state, life.error) == (State.ABSENT, "The import ID 'x' has no database URL.")


# Strictness, facts and binding.


def test_a_trigger_with_no_edge_raises_and_may_says_no() -> None:
    life = ResourceLifecycle("upgrade")
    assert not life.may_refreshed(db_heads=[], target_heads=[])
    with pytest.raises(MachineError, match="Can't trigger event refreshed from state ABSENT!"):
        life.refreshed(db_heads=[], target_heads=[])
    assert life.state is State.ABSENT


def test_gone_is_terminal() -> None:
    life = at(State.GONE)
    for trigger in ("planned", "refreshed", "destroy_planned", "import_started"):
        assert not life.may_trigger(trigger, known=False)
        with pytest.raises(MachineError):
            life.trigger(trigger)


def test_may_asks_without_changing_anything() -> None:
    life = at(State.PRESENT)
    assert life.may_planned(db_heads=["a1"], target_heads=["a2"])
    assert (life.state, life.decision, life.warnings) == (State.PRESENT, None, [])


@pytest.mark.parametrize(
    ("trigger", "facts", "message"),
    [
        (
            "apply_succeeded",
            {"heads_reached": ["a2"], "db_head": ["a1"]},
            "got an unexpected keyword argument 'db_head'",
        ),
        ("apply_failed", {"heads_reached": "a1", "message": ""}, "not the string 'a1'"),
        ("apply_failed", {"message": ""}, "missing a required argument: 'heads_reached'"),
    ],
)
def test_facts_are_checked_against_the_declaration(
    trigger: str, facts: dict[str, object], message: str
) -> None:
    life = at(State.UPDATING)
    with pytest.raises(TypeError, match=message):
        life.trigger(trigger, **facts)
    assert (life.state, life.heads) == (State.UPDATING, ("a1",))


def test_models_are_not_retained_and_bind_without_log_noise(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="transitions")
    lives = [ResourceLifecycle("stamp") for _ in range(20)]
    assert MACHINE.models == []
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
    life = planned_at(State.PLANNED_UPDATE, Decision.DOWNGRADE, heads=("b1", "a1"))
    text = life.snapshot().to_json()
    assert text == (
        '{"decision":"DOWNGRADE","heads":["a1","b1"],"kind":"upgrade","planned_from":["a1"],'
        '"state":"PLANNED_UPDATE","target_heads":["a2"]}'
    )
    again = ResourceLifecycle.restore(ResourceSnapshot.from_json(text))
    assert again.snapshot() == life.snapshot()
    again.apply_started(db_heads=["a1"])
    assert again.pending == (Action("downgrade", ("a2",)),)


@pytest.mark.parametrize("text", ["", "[]", '{"kind":"upgrade","state":"NOWHERE"}'])
def test_a_foreign_snapshot_is_rejected(text: str) -> None:
    with pytest.raises(
        ValueError, match=re.escape("expected the JSON written by ResourceSnapshot.to_json")
    ):
        ResourceSnapshot.from_json(text)


def test_a_write_plan_equal_to_the_stale_state_says_a_refresh_is_needed() -> None:
    life = at(State.PRESENT, heads=("a1",))
    life.planned(db_heads=[], target_heads=["a1"])
    assert life.decision is Decision.UPGRADE
    life.values_planned(equal_to_prior=True, db_heads=[])
    assert life.state is State.PLANNED_UPDATE
    assert len(life.warnings) == 1
    assert life.warnings[0].startswith("The database is at 'base', but Terraform's state still ")


def test_a_write_plan_that_differs_from_the_state_needs_no_refresh() -> None:
    life = at(State.PRESENT, heads=("a1",))
    life.planned(db_heads=[], target_heads=["a1"])
    life.values_planned(equal_to_prior=False, db_heads=[])
    assert (life.state, life.warnings) == (State.PLANNED_UPDATE, [])
