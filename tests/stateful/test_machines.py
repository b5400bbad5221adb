"""Hypothesis rule-based tests of the lifecycle machines against plain-Python reference models.

Three machines: the proxy lifecycle driven by every event in every state (legal or not) beside a
reference with an int user count, with and without a keep-alive; the resource lifecycle driven
by a simulated world (a revision chain, a database position, Terraform's saved state) beside a
reference planner written as plain ``if``s; and the resource lifecycle hit by random triggers
with random facts, checking that a trigger either takes an edge or raises and that writes only
appear when apply starts.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)
from transitions import MachineError

from statemachine import proxy as px
from statemachine import resource as rs

# Proxy lifecycle.

TIMEOUT, GRACE, LINGER = 10.0, 3.0, 2.0


@dataclass
class ProxyReference:
    """The proxy rules restated with plain ints, bools and strings."""

    linger: float = 0.0
    phase: str = "idle"
    users: int = 0
    alive: bool = False
    ready_deadline: float = 0.0
    kill_deadline: float = 0.0
    linger_deadline: float | None = None
    failing: bool = False
    killed: bool = False
    closing: bool = False
    spawn: bool = False
    signal: str | None = None

    def step(self) -> None:
        self.spawn, self.signal = False, None

    def term(self, now: float) -> None:
        self.phase, self.signal, self.killed = "stopping", "TERM", False
        self.kill_deadline = now + GRACE
        self.linger_deadline = None


_PHASES = {
    "idle": px.State.IDLE,
    "starting": px.State.STARTING,
    "waiting": px.State.WAITING_READY,
    "ready": px.State.READY,
    "lingering": px.State.LINGERING,
    "stopping": px.State.STOPPING,
    "stopped": px.State.STOPPED,
    "failed": px.State.FAILED,
}


class ProxyMachine(RuleBasedStateMachine):
    """Fire any proxy event at any time; legal ones must match the reference, others raise."""

    def __init__(self) -> None:
        super().__init__()
        self.model = px.ProxyLifecycle(ready_timeout=TIMEOUT, grace_period=GRACE)
        self.ref = ProxyReference()
        self.now = 0.0
        self.pids = iter(range(100, 10_000))

    @initialize(linger=st.sampled_from([0.0, LINGER]))
    def configure(self, linger: float) -> None:
        self.model = px.ProxyLifecycle(ready_timeout=TIMEOUT, grace_period=GRACE, linger=linger)
        self.ref = ProxyReference(linger=linger)

    def fire(self, legal: bool, trigger: str, **facts: object) -> bool:
        """Fire trigger; when illegal, check it raised and changed nothing."""
        assert self.model.may_trigger(trigger, **facts) is legal, (trigger, self.ref)
        if legal:
            assert self.model.trigger(trigger, **facts) is True
            self.ref.step()
            return True
        before = dataclasses.asdict(self.model)
        try:
            self.model.trigger(trigger, **facts)
        except MachineError:
            pass
        else:
            raise AssertionError(f"{trigger} did not raise from {self.model.state}")
        assert dataclasses.asdict(self.model) == before
        return False

    @rule(seconds=st.integers(min_value=0, max_value=6))
    def time_passes(self, seconds: int) -> None:
        self.now += seconds

    @rule()
    def acquire(self) -> None:
        ref = self.ref
        legal = ref.phase in ("idle", "stopped", "waiting", "ready", "lingering", "failed")
        if self.fire(legal, "acquired"):
            ref.users += 1
            if ref.phase in ("idle", "stopped") and not ref.closing:
                ref.phase, ref.spawn, ref.failing = "starting", True, False
            elif ref.phase == "lingering":
                ref.phase, ref.linger_deadline = "ready", None

    @rule(ok=st.booleans())
    def spawn_result(self, ok: bool) -> None:
        ref = self.ref
        legal = ref.phase == "starting"
        if ok and self.fire(legal, "spawned", pid=next(self.pids), now=self.now):
            ref.phase, ref.alive, ref.ready_deadline = "waiting", True, self.now + TIMEOUT
        elif not ok and self.fire(legal, "spawn_failed", message="not found"):
            ref.phase = "failed"

    @rule(ok=st.booleans())
    def probe(self, ok: bool) -> None:
        ref = self.ref
        # A probe answer that arrives once the stop was decided changes nothing.
        legal, waiting = ref.phase in ("waiting", "stopping"), ref.phase == "waiting"
        if ok and self.fire(legal, "probe_succeeded") and waiting:
            ref.phase = "ready"
        elif (
            not ok
            and self.fire(legal, "probe_failed", now=self.now)
            and waiting
            and self.now >= ref.ready_deadline
        ):
            ref.term(self.now)
            ref.failing = True

    @rule(status=st.integers(min_value=-9, max_value=3))
    def process_exits(self, status: int) -> None:
        ref = self.ref
        if self.fire(ref.alive, "exited", status=status, output=f"exit {status}"):
            ref.alive = False
            if ref.phase == "lingering":
                ref.phase, ref.linger_deadline = "stopped", None
            else:
                ref.phase = "stopped" if ref.phase == "stopping" and not ref.failing else "failed"

    @rule()
    def release(self) -> None:
        ref = self.ref
        legal = ref.phase in ("waiting", "ready") or (
            ref.phase in ("stopping", "stopped", "failed") and ref.users > 0
        )
        if self.fire(legal, "released", now=self.now):
            ref.users -= 1
            if ref.phase == "ready" and ref.users == 0 and ref.linger > 0:
                ref.phase, ref.linger_deadline = "lingering", self.now + ref.linger
            elif ref.phase in ("waiting", "ready") and ref.users == 0:
                ref.term(self.now)

    @rule()
    def keep_alive_wait_ends(self) -> None:
        ref = self.ref
        if (
            self.fire(ref.phase == "lingering", "linger_expired", now=self.now)
            and ref.linger_deadline is not None
            and self.now >= ref.linger_deadline
        ):
            ref.term(self.now)

    @rule()
    def shutdown(self) -> None:
        ref = self.ref
        if not self.fire(ref.phase != "starting", "stop_requested", now=self.now):
            return
        ref.closing = True
        if ref.phase in ("waiting", "ready", "lingering"):
            ref.term(self.now)
        elif ref.phase == "idle":
            ref.phase = "stopped"

    @rule()
    def wait_for_exit_ends(self) -> None:
        ref = self.ref
        if (
            self.fire(ref.phase == "stopping", "grace_expired", now=self.now)
            and self.now >= ref.kill_deadline
            and not ref.killed
        ):
            ref.signal, ref.killed = "KILL", True

    @invariant()
    def agrees_with_the_reference(self) -> None:
        model, ref = self.model, self.ref
        assert model.state is _PHASES[ref.phase]
        assert (model.users, model.spawn, model.send_signal) == (ref.users, ref.spawn, ref.signal)
        assert (model.pid is not None) is ref.alive
        assert model.linger_deadline == ref.linger_deadline
        # A timer always names a trigger the current state accepts at its time.
        assert model.timer is None or model.may_trigger(model.timer.trigger, now=model.timer.at)

    @invariant()
    def user_count_never_below_zero(self) -> None:
        assert self.model.users >= 0

    @invariant()
    def no_process_unless_started(self) -> None:
        if self.model.state in (
            px.State.IDLE,
            px.State.STARTING,
            px.State.STOPPED,
            px.State.FAILED,
        ):
            assert self.model.pid is None

    @invariant()
    def a_running_proxy_has_users(self) -> None:
        if self.model.state in (px.State.WAITING_READY, px.State.READY):
            assert self.model.users >= 1

    @invariant()
    def a_lingering_proxy_runs_for_nobody_until_its_deadline(self) -> None:
        if self.model.state is px.State.LINGERING:
            assert self.model.users == 0
            assert self.model.pid is not None
            assert self.model.linger_deadline is not None
            assert self.model.linger > 0
        else:
            assert self.model.linger_deadline is None

    @invariant()
    def failed_says_why(self) -> None:
        assert (self.model.state is px.State.FAILED) <= (self.model.failure is not None)


ProxyMachine.TestCase.settings = settings(stateful_step_count=60)
TestProxy = ProxyMachine.TestCase


# Resource lifecycle in a simulated world.


@dataclass(frozen=True)
class Observed:
    db_heads: tuple[str, ...]
    target_heads: tuple[str, ...]
    downgrades: tuple[str, ...]


@dataclass
class Saved:
    """What Terraform keeps for the resource: the provider's snapshot and the config applied."""

    snapshot: rs.ResourceSnapshot
    target: int | None
    extra: int


def expected_plan(
    kind: str, rest: rs.State | None, seen: Observed, *, allow: bool, changed: bool, retarget: bool
) -> tuple[rs.Decision, rs.State]:
    """The planning rules restated as plain ifs (rest is None for a create)."""
    planned = rs.State.PLANNED_CREATE if rest is None else rs.State.PLANNED_UPDATE
    if seen.db_heads == seen.target_heads:
        if rest is None or changed or retarget:
            return rs.Decision.NOOP, planned
        return rs.Decision.NOOP, rs.State.PRESENT
    if kind == "stamp":
        if rest in (None, rs.State.PARTIAL) or retarget:
            return rs.Decision.STAMP, planned
        return rs.Decision.NOOP, planned if changed else rs.State.PRESENT
    if seen.downgrades and not allow:
        return rs.Decision.ERROR, rest or rs.State.ABSENT
    return (rs.Decision.DOWNGRADE if seen.downgrades else rs.Decision.UPGRADE), planned


class ResourceWorld(RuleBasedStateMachine):
    """A linear revision chain, a database position and Terraform's saved state."""

    def __init__(self) -> None:
        super().__init__()
        self.kind: rs.Kind = "upgrade"
        self.revisions = ["r1", "r2"]
        self.db = 0
        self.target: int | None = None
        self.extra = 0
        self.allow = False
        self.saved: Saved | None = None
        self.model: rs.ResourceLifecycle | None = None

    @initialize(kind=st.sampled_from(["upgrade", "stamp"]), db=st.integers(0, 2))
    def choose(self, kind: rs.Kind, db: int) -> None:
        self.kind, self.db = kind, db

    def heads_at(self, position: int) -> tuple[str, ...]:
        return (self.revisions[position - 1],) if position else ()

    def target_index(self, target: int | None) -> int:
        return len(self.revisions) if target is None else target

    def observe(self, target: int | None) -> Observed:
        goal = self.target_index(target)
        undo = tuple(reversed(self.revisions[goal : self.db])) if goal < self.db else ()
        return Observed(self.heads_at(self.db), self.heads_at(goal), undo)

    # The world changes outside Terraform.

    @rule()
    def add_revision(self) -> None:
        self.revisions.append(f"r{len(self.revisions) + 1}")

    @rule(data=st.data())
    def move_database_by_hand(self, data: st.DataObject) -> None:
        self.db = data.draw(st.integers(0, len(self.revisions)))

    @rule(data=st.data())
    def change_config(self, data: st.DataObject) -> None:
        self.target = data.draw(st.one_of(st.none(), st.integers(0, len(self.revisions))))
        self.allow = data.draw(st.booleans())
        self.extra = data.draw(st.integers(0, 1))

    # Terraform's calls.

    @precondition(lambda self: self.saved is not None)
    @rule()
    def refresh(self) -> None:
        assert self.saved is not None
        life = rs.ResourceLifecycle.restore(self.saved.snapshot)
        seen = self.observe(self.saved.target)
        db_before = self.db
        life.refreshed(db_heads=seen.db_heads, target_heads=seen.target_heads)
        assert (life.heads, life.pending, self.db) == (seen.db_heads, (), db_before)
        if seen.db_heads == seen.target_heads:
            assert (life.state, life.warnings) == (rs.State.PRESENT, [])
        elif self.saved.snapshot.state is rs.State.PARTIAL:
            assert (life.state, life.revision_reached) == (rs.State.PARTIAL, seen.db_heads)
        elif self.kind == "stamp":
            moved = self.saved.snapshot.heads != seen.db_heads
            kept = rs.State.DRIFTED if moved else self.saved.snapshot.state
            assert (life.state, len(life.warnings)) == (kept, 1)
        else:
            assert (life.state, life.warnings) == (rs.State.DRIFTED, [])
        self.model = life
        self.saved.snapshot = life.snapshot()

    @rule(
        unknown_first=st.booleans(),
        race=st.booleans(),
        fail_after=st.one_of(st.none(), st.integers(0, 3)),
    )
    def plan_and_apply(self, unknown_first: bool, race: bool, fail_after: int | None) -> None:
        saved = self.saved
        rest = None if saved is None else saved.snapshot.state
        retarget = saved is not None and saved.target != self.target
        changed = saved is not None and (retarget or saved.extra != self.extra)

        def restored() -> rs.ResourceLifecycle:
            if saved is None:
                return rs.ResourceLifecycle(self.kind)
            return rs.ResourceLifecycle.restore(saved.snapshot)

        if unknown_first:
            first = restored()
            first.planned(known=False)
            assert (first.decision, first.planned_from, first.pending) == (
                rs.Decision.UNKNOWN,
                None,
                (),
            )
        seen = self.observe(self.target)
        life = restored()
        db_before = self.db
        life.planned(
            db_heads=seen.db_heads,
            target_heads=seen.target_heads,
            downgrades=seen.downgrades,
            allow_downgrade=self.allow,
            config_changed=changed,
            target_changed=retarget,
        )
        self.model = life
        decision, state = expected_plan(
            self.kind, rest, seen, allow=self.allow, changed=changed, retarget=retarget
        )
        assert (life.decision, life.state, life.pending, self.db) == (
            decision,
            state,
            (),
            db_before,
        )
        if decision is rs.Decision.STAMP:
            assert rest in (None, rs.State.PARTIAL) or retarget
        if state not in (rs.State.PLANNED_CREATE, rs.State.PLANNED_UPDATE):
            return

        life = rs.ResourceLifecycle.restore(life.snapshot())
        self.model = life
        if race:
            self.db = (self.db + 1) % (len(self.revisions) + 1)
        life.apply_started(db_heads=self.heads_at(self.db))
        if race:
            assert life.pending == ()
            assert life.error is not None and life.error.startswith("The database moved")
        else:
            assert life.state in (rs.State.CREATING, rs.State.UPDATING)
            self.run_pending(life, fail_after)
        self.store_after_apply(life)

    def run_pending(self, life: rs.ResourceLifecycle, fail_after: int | None) -> None:
        """Execute the decided actions on the world, failing after some steps if asked."""
        failed = False
        for action in life.pending:
            goal = self.revisions.index(action.target[0]) + 1 if action.target else 0
            if action.verb == "stamp":
                if fail_after is not None:
                    failed = True
                    break
                self.db = goal
                continue
            step = 1 if goal > self.db else -1
            assert (action.verb == "upgrade") is (step == 1)
            done = 0
            while self.db != goal:
                if fail_after is not None and done == fail_after:
                    failed = True
                    break
                self.db += step
                done += 1
        reached = self.heads_at(self.db)
        if failed:
            life.apply_failed(heads_reached=reached, message="injected failure")
            assert (life.state, life.revision_reached, life.error) == (
                rs.State.PARTIAL,
                reached,
                "injected failure",
            )
        else:
            life.apply_succeeded(heads_reached=reached)
            assert (life.state, life.heads) == (rs.State.PRESENT, reached)

    def store_after_apply(self, life: rs.ResourceLifecycle) -> None:
        """Keep what Terraform keeps: nothing for a create that never started, else the state.

        The state's revision always equals the database's, after a failure too.
        """
        if life.state is rs.State.ABSENT:
            return
        assert life.state in (rs.State.PRESENT, rs.State.PARTIAL)
        assert life.heads == self.heads_at(self.db)
        self.saved = Saved(life.snapshot(), self.target, self.extra)

    @precondition(lambda self: self.saved is not None)
    @rule(on_destroy=st.one_of(st.none(), st.integers(0, 3)), fail=st.booleans())
    def destroy(self, on_destroy: int | None, fail: bool) -> None:
        assert self.saved is not None
        life = rs.ResourceLifecycle.restore(self.saved.snapshot)
        self.model = life
        goal = None if on_destroy is None else min(on_destroy, len(self.revisions))
        if goal is None:
            life.destroy_planned()
        else:
            seen = self.observe(goal)
            life.destroy_planned(
                target_heads=seen.target_heads, db_heads=seen.db_heads, downgrades=seen.downgrades
            )
        # A database a failed apply left part-way is never downgraded further on destroy.
        partial = self.saved.snapshot.state is rs.State.PARTIAL
        downgrade = goal is not None and self.kind == "upgrade" and self.db > goal and not partial
        expected = rs.Decision.DOWNGRADE if downgrade else rs.Decision.FORGET
        assert (life.state, life.decision, life.pending) == (rs.State.PLANNED_DELETE, expected, ())
        life = rs.ResourceLifecycle.restore(life.snapshot())
        self.model = life
        life.destroy_started(db_heads=self.heads_at(self.db))
        if goal is not None and downgrade:
            assert life.pending == (rs.Action("downgrade", self.heads_at(goal)),)
        else:
            assert life.pending == ()
        if downgrade and fail:
            life.destroy_failed(heads_reached=self.heads_at(self.db), message="injected failure")
            assert life.revision_reached == self.heads_at(self.db)
            self.saved = Saved(life.snapshot(), self.saved.target, self.saved.extra)
            return
        if goal is not None and downgrade:
            self.db = goal
        life.destroyed()
        assert life.state is rs.State.GONE
        self.saved = None

    @precondition(lambda self: self.saved is None)
    @rule()
    def import_existing(self) -> None:
        life = rs.ResourceLifecycle(self.kind)
        self.model = life
        life.import_started()
        life.imported(db_heads=self.heads_at(self.db))
        assert (life.state, life.heads, life.pending) == (
            rs.State.PRESENT,
            self.heads_at(self.db),
            (),
        )
        self.saved = Saved(life.snapshot(), self.target, self.extra)

    @invariant()
    def partial_always_carries_a_revision(self) -> None:
        if self.model is not None and self.model.state is rs.State.PARTIAL:
            assert self.model.revision_reached is not None
        if self.saved is not None and self.saved.snapshot.state is rs.State.PARTIAL:
            assert self.saved.snapshot.heads is not None

    @invariant()
    def writes_only_while_applying(self) -> None:
        if self.model is not None and self.model.pending:
            assert self.model.state in (rs.State.CREATING, rs.State.UPDATING, rs.State.DELETING)

    @invariant()
    def saved_state_is_at_rest(self) -> None:
        if self.saved is not None:
            assert self.saved.snapshot.state in (
                rs.State.PRESENT,
                rs.State.DRIFTED,
                rs.State.PARTIAL,
            )


ResourceWorld.TestCase.settings = settings(stateful_step_count=40)
TestResourceWorld = ResourceWorld.TestCase


# Resource lifecycle under random triggers with random facts.

HEADS = st.lists(st.sampled_from(["a1", "a2", "b1"]), max_size=2, unique=True)
MESSAGE = st.sampled_from(["boom", "Multiple head revisions are present."])

FACTS = {
    "planned": st.one_of(
        st.fixed_dictionaries({"known": st.just(False)}),
        st.fixed_dictionaries({"error": MESSAGE}),
        st.fixed_dictionaries(
            {"db_heads": HEADS, "target_heads": HEADS},
            optional={
                "downgrades": HEADS,
                "allow_downgrade": st.booleans(),
                "config_changed": st.booleans(),
                "target_changed": st.booleans(),
            },
        ),
    ),
    "refreshed": st.fixed_dictionaries({"db_heads": HEADS, "target_heads": HEADS}),
    "apply_started": st.fixed_dictionaries(
        {"db_heads": st.one_of(st.none(), HEADS)}, optional={"error": MESSAGE}
    ),
    "apply_succeeded": st.fixed_dictionaries({"heads_reached": HEADS}),
    "apply_failed": st.fixed_dictionaries({"heads_reached": HEADS, "message": MESSAGE}),
    "destroy_planned": st.fixed_dictionaries(
        {},
        optional={
            "target_heads": HEADS,
            "db_heads": HEADS,
            "downgrades": HEADS,
            "error": MESSAGE,
        },
    ),
    "destroy_started": st.fixed_dictionaries({}, optional={"db_heads": HEADS, "error": MESSAGE}),
    "destroyed": st.just({}),
    "destroy_failed": st.fixed_dictionaries({"heads_reached": HEADS, "message": MESSAGE}),
    "import_started": st.just({}),
    "imported": st.fixed_dictionaries({"db_heads": HEADS}),
    "import_failed": st.fixed_dictionaries({"message": MESSAGE}),
}


class ResourceEvents(RuleBasedStateMachine):
    """Any trigger, any well-formed facts: an edge is taken exactly when may_<trigger> says so."""

    def __init__(self) -> None:
        super().__init__()
        self.model = rs.ResourceLifecycle("upgrade")
        self.last = ""

    @initialize(kind=st.sampled_from(["upgrade", "stamp"]))
    def choose(self, kind: rs.Kind) -> None:
        self.model = rs.ResourceLifecycle(kind)

    @rule(data=st.data(), trigger=st.sampled_from(sorted(FACTS)))
    def fire(self, data: st.DataObject, trigger: str) -> None:
        facts = data.draw(FACTS[trigger], label="facts")
        allowed = self.model.may_trigger(trigger, **facts)
        before = dataclasses.asdict(self.model)
        try:
            taken = self.model.trigger(trigger, **facts)
        except MachineError:
            assert not allowed
            assert dataclasses.asdict(self.model) == before
        else:
            assert allowed and taken
            self.last = trigger

    @precondition(lambda self: self.model.state in rs.TERMINAL)
    @rule()
    def start_over(self) -> None:
        self.model = rs.ResourceLifecycle(self.model.kind)

    @invariant()
    def partial_always_carries_a_revision(self) -> None:
        assert (self.model.state is rs.State.PARTIAL) <= (self.model.revision_reached is not None)

    @invariant()
    def no_write_decision_outside_apply(self) -> None:
        if self.model.pending:
            assert self.last in ("apply_started", "destroy_started")
            assert self.model.state in (rs.State.CREATING, rs.State.UPDATING, rs.State.DELETING)

    @invariant()
    def some_trigger_is_always_possible_until_gone(self) -> None:
        if self.model.state not in rs.TERMINAL:
            assert rs.MACHINE.get_triggers(self.model.state.name)


ResourceEvents.TestCase.settings = settings(stateful_step_count=50)
TestResourceEvents = ResourceEvents.TestCase
