"""The registry of planned moves: what later plans in one walk start from."""

from __future__ import annotations

from alembic_provider.executor import PlannedMove
from alembic_provider.resources.databases import PlannedDatabases, owner_of


def test_a_resource_sees_the_moves_of_the_others_only() -> None:
    plans = PlannedDatabases()
    stamp, upgrade = owner_of("stamp", {"target": "a1"}), owner_of("upgrade", {"target": "heads"})
    plans.record(stamp, PlannedMove("db", (), ("a1",)))
    assert plans.others(upgrade) == (PlannedMove("db", (), ("a1",)),)
    assert plans.others(stamp) == ()
    # A plan that writes nothing takes its move back; so does a new walk.
    plans.record(stamp, PlannedMove("db", ("a1",), ("a1",)))
    assert plans.others(upgrade) == ()
    plans.record(stamp, PlannedMove("db", (), ("a1",)))
    plans.clear()
    assert plans.others() == ()


def test_moves_explain_a_database_that_moved_as_planned() -> None:
    plans = PlannedDatabases()
    plans.record("first", PlannedMove("db", ("a1",), ("a2",)))
    plans.record("second", PlannedMove("db", ("a2",), ("a3",)))
    assert plans.explains("db", ("a1",), ("a3",), owner="third")
    assert not plans.explains("db", ("a1",), ("a3",), owner="second")
    assert not plans.explains("other", ("a1",), ("a2",), owner="third")
    assert not plans.explains(None, ("a1",), ("a2",), owner="third")


def test_a_second_unreachable_database_is_reported() -> None:
    plans = PlannedDatabases()
    assert not plans.record_unreachable("first")
    assert not plans.record_unreachable("first")
    assert plans.record_unreachable("second")


def test_owner_names_hold_no_secret() -> None:
    owner = owner_of("upgrade", {"url": "postgresql://u:hunter2@db/x"})
    assert "hunter2" not in owner and owner.startswith("upgrade:")
