"""The registry of planned moves: what later plans in one walk start from."""

from __future__ import annotations

from alembic_provider.executor import Inspection, PlannedMove, Project, Step
from alembic_provider.resources.databases import PlannedDatabases, Reading, owner_of, reading_of


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


def _reading(target: str = "heads", current: tuple[str, ...] = ("a1",)) -> Reading:
    inspection = Inspection(
        current=current,
        target=("a2",),
        direction="upgrade",
        steps=(Step("a2", "second"),),
        script_heads=("a2",),
        dialect="sqlite",
        start=current,
        database="db",
    )
    return Reading(target, inspection)


def test_a_refresh_read_serves_one_plan_of_the_same_connection_in_the_same_walk() -> None:
    plans = PlannedDatabases()
    read = _reading()
    first = reading_of(Project("/p", url="sqlite:///one.db"))
    # Two URLs that differ only in a secret are two connections; the names hold no secret.
    assert reading_of(Project("/p", url="postgresql://u:one@h/db")) != reading_of(
        Project("/p", url="postgresql://u:two@h/db")
    )
    assert "one" not in reading_of(Project("/p", url="postgresql://u:one@h/db"))
    plans.keep_read(first, read)
    assert plans.take_read(reading_of(Project("/p", url="sqlite:///two.db"))) is None
    assert plans.take_read(first) == read
    assert plans.take_read(first) is None, "a read serves one plan"
    plans.keep_read(first, read)
    plans.forget_reads()
    assert plans.take_read(first) is None, "a write makes every read stale"
    plans.keep_read(first, read)
    plans.clear()
    assert plans.take_read(first) is None, "a new walk reads again"


def test_a_refresh_answers_a_plan_that_asks_the_same_question() -> None:
    read = _reading()
    assert read.answers("heads", ("a1",), ())
    assert read.answers("heads", ("a1",), (PlannedMove("elsewhere", ("a1",), ("a2",)),))
    assert not read.answers("a2", ("a1",), ()), "another target"
    assert not read.answers("heads", ("a0",), ()), "the state records other heads"
    assert not read.answers("heads", ("a1",), (PlannedMove("db", ("a1",), ("a2",)),)), (
        "another resource moves the database first"
    )
