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
from typing import Literal

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

NOT_AS_PLANNED = "Migration Not Applied As Planned"
VERBS: dict[rs.Decision, Literal["upgrade", "downgrade", "stamp"]] = {
    rs.Decision.UPGRADE: "upgrade",
    rs.Decision.DOWNGRADE: "downgrade",
    rs.Decision.STAMP: "stamp",
}


@dataclass(frozen=True)
class Observed:
    db_heads: tuple[str, ...]
    target_heads: tuple[str, ...]
    downgrades: tuple[str, ...]
    reached: bool


@dataclass
class Saved:
    """What Terraform keeps for the resource: the provider's snapshot, the config applied and the
    ``revisions`` value in the state (None when it records nothing usable)."""

    snapshot: rs.ResourceSnapshot
    target: int | None
    extra: int
    revisions: tuple[str, ...] | None

    def values(self) -> tuple[int | None, int, tuple[str, ...] | None, bool]:
        """The values a plan is compared with; the stored ``pending`` is always empty by then
        (upgrading the stored state empties it before every plan)."""
        return self.target, self.extra, self.revisions, False


def expected_plan(
    kind: str,
    snapshot: rs.ResourceSnapshot | None,
    seen: Observed,
    *,
    allow: bool,
    retarget: bool,
) -> tuple[rs.Decision, rs.State]:
    """The planning rules restated as plain ifs (snapshot is None for a create)."""
    at_target = seen.db_heads == seen.target_heads
    if snapshot is None:
        if kind == "stamp":
            return (
                rs.Decision.NOOP if seen.reached else rs.Decision.STAMP
            ), rs.State.PLANNED_CREATE
        if at_target:
            return rs.Decision.NOOP, rs.State.PLANNED_CREATE
        if seen.downgrades and not allow:
            return rs.Decision.ERROR, rs.State.ABSENT
        write = rs.Decision.DOWNGRADE if seen.downgrades else rs.Decision.UPGRADE
        return write, rs.State.PLANNED_CREATE
    rest = snapshot.state
    # A refresh recorded the heads and the database left them by hand since.
    moved = snapshot.from_refresh and snapshot.heads != seen.db_heads
    if kind == "stamp":
        if moved and not seen.reached:
            return rs.Decision.ERROR, rest
        if retarget and not seen.reached:
            return rs.Decision.STAMP, rs.State.PLANNED_UPDATE
        if rest is rs.State.PARTIAL and not seen.reached:
            return rs.Decision.STAMP, rs.State.PLANNED_UPDATE
        return rs.Decision.NOOP, rs.State.PLANNED_UPDATE
    if moved:
        return rs.Decision.ERROR, rest
    if at_target:
        return rs.Decision.NOOP, rs.State.PLANNED_UPDATE
    if seen.downgrades and not allow:
        return rs.Decision.ERROR, rest
    write = rs.Decision.DOWNGRADE if seen.downgrades else rs.Decision.UPGRADE
    return write, rs.State.PLANNED_UPDATE


def expected_revisions(
    kind: str, decision: rs.Decision, seen: Observed, recorded: tuple[str, ...] | None
) -> tuple[str, ...] | None:
    """The revisions a plan that decided a write or a no-op puts in the planned values."""
    if decision is not rs.Decision.NOOP:
        return seen.target_heads
    # A stamp keeps the revisions it stamped while the database is at or past them.
    keep = kind == "stamp" and seen.reached and recorded is not None
    return recorded if keep else seen.db_heads


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
        return len(self.revisions) if target is None else min(target, len(self.revisions))

    def observe(self, target: int | None) -> Observed:
        goal = self.target_index(target)
        undo = tuple(reversed(self.revisions[goal : self.db])) if goal < self.db else ()
        return Observed(self.heads_at(self.db), self.heads_at(goal), undo, goal <= self.db)

    def fire(self, life: rs.ResourceLifecycle, trigger: str, **facts: object) -> rs.Outcome:
        """Fire one trigger; writes appear only when apply starts, and only in a step that
        reports no error."""
        self.model = life
        assert life.trigger(trigger, **facts) is True
        outcome = life.outcome
        if outcome.actions:
            assert trigger in ("apply_started", "destroy_started")
            assert life.state in (rs.State.CREATING, rs.State.UPDATING, rs.State.DELETING)
            assert not outcome.failed
        return outcome

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
        before = self.saved.snapshot
        life = rs.ResourceLifecycle.restore(before)
        db_before = self.db
        if before.unread:
            # Import had no configuration, so a refresh reads with the provider's settings only.
            outcome = self.fire(
                life, "refreshed", error="env.py needs a database URL.", error_kind="env"
            )
            assert (life.snapshot(), outcome) == (before, rs.Outcome())
            return
        seen = self.observe(self.saved.target)
        outcome = self.fire(
            life,
            "refreshed",
            db_heads=seen.db_heads,
            target_heads=seen.target_heads,
            reached=seen.reached,
        )
        assert (life.heads, life.from_refresh, self.db) == (seen.db_heads, True, db_before)
        assert (outcome.actions, outcome.revisions, outcome.refreshed) == (
            (),
            seen.db_heads,
            True,
        )
        notes = [note.summary for note in outcome.notes]
        if seen.db_heads == seen.target_heads:
            assert (life.state, notes) == (rs.State.PRESENT, [])
        elif before.state is rs.State.PARTIAL:
            assert (life.state, life.revision_reached, notes) == (
                rs.State.PARTIAL,
                seen.db_heads,
                [],
            )
        elif self.kind == "stamp" and seen.reached:
            assert (life.state, notes) == (rs.State.PRESENT, [])
        elif self.kind == "stamp":
            moved = before.heads != seen.db_heads
            kept = rs.State.DRIFTED if moved else before.state
            assert (life.state, notes) == (kept, ["Database Not At Target"])
        else:
            # A database that left the recorded heads was moved outside Terraform: said so.
            moved = before.heads != seen.db_heads
            warned = ["Database Moved Outside Terraform"] if moved else []
            assert (life.state, notes) == (rs.State.DRIFTED, warned)
        self.saved.snapshot = life.snapshot()
        self.saved.revisions = outcome.revisions

    @rule(
        unknown_first=st.booleans(),
        race=st.booleans(),
        fail_after=st.one_of(st.none(), st.integers(0, 3)),
    )
    def plan_and_apply(self, unknown_first: bool, race: bool, fail_after: int | None) -> None:
        saved = self.saved
        snapshot = None if saved is None else saved.snapshot
        retarget = saved is not None and saved.target != self.target

        def restored() -> rs.ResourceLifecycle:
            if snapshot is None:
                return rs.ResourceLifecycle(self.kind)
            return rs.ResourceLifecycle.restore(snapshot)

        if unknown_first:
            first = restored()
            outcome = self.fire(first, "planned", known=False)
            assert (first.decision, first.planned_from) == (rs.Decision.UNKNOWN, None)
            assert outcome == rs.Outcome(unknown=True)
        seen = self.observe(self.target)
        recorded = None if saved is None else saved.revisions
        life = restored()
        db_before = self.db
        outcome = self.fire(
            life,
            "planned",
            db_heads=seen.db_heads,
            target_heads=seen.target_heads,
            downgrades=seen.downgrades,
            allow_downgrade=self.allow,
            target_changed=retarget,
            recorded_heads=recorded,
            reached=seen.reached,
        )
        decision, state = expected_plan(
            self.kind, snapshot, seen, allow=self.allow, retarget=retarget
        )
        assert (life.decision, life.state, outcome.actions, self.db) == (
            decision,
            state,
            (),
            db_before,
        )
        if decision is rs.Decision.STAMP:
            assert snapshot is None or snapshot.state is rs.State.PARTIAL or retarget
        if decision is rs.Decision.ERROR:
            assert outcome.failed
            return
        planned_revisions = expected_revisions(self.kind, decision, seen, recorded)
        assert (outcome.failed, outcome.revisions) == (False, planned_revisions)
        writes = decision in VERBS
        assert outcome.moves_to == (seen.target_heads if writes else None)

        # Terraform fills the planned values (``pending`` lists the migrations a step runs) and
        # calls apply only when they differ from the prior state.
        values = (self.target, self.extra, planned_revisions, outcome.steps)
        equal = saved is not None and values == saved.values()
        outcome = self.fire(life, "values_planned", equal_to_prior=equal)
        if equal:
            # Terraform sees no change and calls no apply, a write planned or not.
            moves = seen.target_heads if writes else None
            # ``starts_from`` only matters to an apply, which Terraform does not call here.
            resting = dataclasses.replace(outcome, starts_from=None)
            assert (life.state, resting) == (rs.State.PRESENT, rs.Outcome(moves_to=moves))
            return
        assert (life.state, outcome.notes) == (state, ())

        life = rs.ResourceLifecycle.restore(life.snapshot())
        if race:
            self.db = (self.db + 1) % (len(self.revisions) + 1)
        outcome = self.fire(life, "apply_started", db_heads=self.heads_at(self.db))
        if race:
            assert outcome.actions == ()
            assert [note.summary for note in outcome.notes] == [NOT_AS_PLANNED]
            assert outcome.notes[0].detail.startswith("The database moved")
            refused = rs.State.ABSENT if snapshot is None else rs.State.PARTIAL
            assert (life.state, outcome.revisions) == (refused, life.heads)
        else:
            assert life.state is (rs.State.CREATING if snapshot is None else rs.State.UPDATING)
            assert outcome.actions == (
                (rs.Action(VERBS[decision], seen.target_heads),) if writes else ()
            )
            outcome = self.run_pending(life, outcome.actions, fail_after)
        self.store_after_apply(life, outcome, planned_revisions)

    def run_pending(
        self, life: rs.ResourceLifecycle, actions: tuple[rs.Action, ...], fail_after: int | None
    ) -> rs.Outcome:
        """Execute the decided actions on the world, failing after some steps if asked."""
        failed = False
        for action in actions:
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
            outcome = self.fire(
                life, "apply_failed", heads_reached=reached, message="injected failure"
            )
            assert (life.state, life.revision_reached, outcome.revisions) == (
                rs.State.PARTIAL,
                reached,
                reached,
            )
            assert [(n.summary, n.detail) for n in outcome.notes] == [
                ("Migration Failed", "injected failure")
            ]
            return outcome
        if not actions:
            # Nothing ran: the plan's values already hold what to record.
            outcome = self.fire(life, "apply_succeeded")
            assert (life.state, life.heads, outcome) == (rs.State.PRESENT, reached, rs.Outcome())
            return outcome
        outcome = self.fire(life, "apply_succeeded", heads_reached=reached)
        assert (life.state, life.heads, outcome.revisions, outcome.notes) == (
            rs.State.PRESENT,
            reached,
            reached,
            (),
        )
        return outcome

    def store_after_apply(
        self,
        life: rs.ResourceLifecycle,
        outcome: rs.Outcome,
        planned_revisions: tuple[str, ...] | None,
    ) -> None:
        """Keep what Terraform keeps: nothing for a create that never started, else the state.

        The lifecycle's heads always equal the database's, after a failure too; so does the
        state's ``revisions`` for an upgrade (a stamp keeps the revisions it stamped).
        """
        if life.state is rs.State.ABSENT:
            assert not outcome.exists
            return
        assert outcome.exists
        assert life.state in (rs.State.PRESENT, rs.State.PARTIAL)
        assert life.heads == self.heads_at(self.db)
        revisions = planned_revisions if outcome.revisions is None else outcome.revisions
        if self.kind == "upgrade":
            assert revisions == self.heads_at(self.db)
        self.saved = Saved(life.snapshot(), self.target, self.extra, revisions)

    @precondition(lambda self: self.saved is not None)
    @rule(on_destroy=st.one_of(st.none(), st.integers(0, 3)), fail=st.booleans())
    def destroy(self, on_destroy: int | None, fail: bool) -> None:
        assert self.saved is not None
        goal = None if on_destroy is None else min(on_destroy, len(self.revisions))
        # A database a failed apply left part-way is never downgraded further on destroy.
        partial = self.saved.snapshot.state is rs.State.PARTIAL
        downgrade = goal is not None and self.kind == "upgrade" and self.db > goal and not partial
        # Only an on_destroy that finds the database already there destroys without a word.
        kept = goal is None or self.kind == "stamp" or (self.kind == "upgrade" and partial)
        expected = rs.Decision.DOWNGRADE if downgrade else rs.Decision.FORGET

        def planned() -> rs.ResourceLifecycle:
            assert self.saved is not None
            life = rs.ResourceLifecycle.restore(self.saved.snapshot)
            if goal is None:
                outcome = self.fire(life, "destroy_planned")
            else:
                seen = self.observe(goal)
                outcome = self.fire(
                    life,
                    "destroy_planned",
                    destroy_target=self.revisions[goal - 1] if goal else "base",
                    target_heads=seen.target_heads,
                    db_heads=seen.db_heads,
                    downgrades=seen.downgrades,
                    undone=[f"'{revision}'" for revision in seen.downgrades],
                )
            assert (life.state, life.decision, outcome.actions) == (
                rs.State.PLANNED_DELETE,
                expected,
                (),
            )
            notes = [note.summary for note in outcome.notes]
            if downgrade:
                assert notes == ["Destroy Downgrades The Database"]
            else:
                assert notes == (["Database Kept"] if kept else [])
            return life

        # Terraform 1.3+ plans the destroy; the apply plans it again from the prior state.
        planned()
        life = planned()
        outcome = self.fire(life, "destroy_started")
        assert life.state is rs.State.DELETING
        if goal is not None and downgrade:
            assert outcome.actions == (rs.Action("downgrade", self.heads_at(goal)),)
        else:
            assert outcome.actions == ()
        if downgrade and fail:
            reached = self.heads_at(self.db)
            outcome = self.fire(
                life, "destroy_failed", heads_reached=reached, message="injected failure"
            )
            assert (life.state, life.revision_reached, outcome.revisions) == (
                rs.State.PARTIAL,
                reached,
                reached,
            )
            self.saved = Saved(life.snapshot(), self.saved.target, self.saved.extra, reached)
            return
        if goal is not None and downgrade:
            self.db = goal
        outcome = self.fire(life, "destroyed")
        assert (life.state, outcome.exists) == (rs.State.GONE, False)
        self.saved = None

    @precondition(lambda self: self.saved is None)
    @rule(readable=st.booleans())
    def import_existing(self, readable: bool) -> None:
        life = rs.ResourceLifecycle(self.kind)
        self.fire(life, "import_started")
        assert life.state is rs.State.IMPORTING
        if readable:
            heads = self.heads_at(self.db)
            outcome = self.fire(life, "imported", db_heads=heads, target_revisions=heads)
            assert (life.state, life.heads, life.unread) == (rs.State.PRESENT, heads, False)
            assert outcome == rs.Outcome(revisions=heads, target_revisions=heads)
            self.saved = Saved(life.snapshot(), self.target, self.extra, heads)
            return
        # Terraform gives import no configuration: the resource's own settings come later.
        outcome = self.fire(life, "imported", error="no database URL", error_kind="env")
        assert (life.state, life.heads, life.unread, outcome) == (
            rs.State.PRESENT,
            (),
            True,
            rs.Outcome(),
        )
        self.saved = Saved(life.snapshot(), self.target, self.extra, None)

    @invariant()
    def partial_always_carries_a_revision(self) -> None:
        if self.model is not None and self.model.state is rs.State.PARTIAL:
            assert self.model.revision_reached is not None
        if self.saved is not None and self.saved.snapshot.state is rs.State.PARTIAL:
            assert self.saved.snapshot.heads is not None

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
ERROR_KIND = st.sampled_from(["target", "database", "env", "placeholder_url", "internal"])
FAILURE = {
    "error": MESSAGE,
    "error_kind": ERROR_KIND,
}
FAILURE_WORDING = {
    "error_summary": st.sampled_from(["Migration Script Failed", "Provider Error"]),
    "error_detail": MESSAGE,
}

FACTS = {
    "planned": st.one_of(
        st.fixed_dictionaries({"known": st.just(False)}),
        # The target and heads come from the script directory alone when the database fails.
        st.fixed_dictionaries(
            {**FAILURE, "db_heads": HEADS, "target_heads": HEADS},
            optional={**FAILURE_WORDING, "others_unreachable": st.booleans()},
        ),
        st.fixed_dictionaries(
            {"db_heads": HEADS, "target_heads": HEADS},
            optional={
                "start_heads": HEADS,
                "stamp_heads": HEADS,
                "target_revisions": HEADS,
                "recorded_heads": HEADS,
                "recorded_target_revisions": HEADS,
                "downgrades": HEADS,
                "allow_downgrade": st.booleans(),
                "target_changed": st.booleans(),
                "same_connection": st.booleans(),
                "explained": st.booleans(),
                "others_moved": st.booleans(),
                "reached": st.booleans(),
                "has_migrations": st.booleans(),
            },
        ),
    ),
    "values_planned": st.fixed_dictionaries({"equal_to_prior": st.booleans()}),
    "refreshed": st.one_of(
        st.fixed_dictionaries({"known": st.just(False)}),
        st.fixed_dictionaries(FAILURE, optional={**FAILURE_WORDING, "db_heads": HEADS}),
        st.fixed_dictionaries(
            {"db_heads": HEADS, "target_heads": HEADS},
            optional={
                "stamp_heads": HEADS,
                "target_revisions": HEADS,
                "recorded_target_revisions": HEADS,
                "reached": st.booleans(),
            },
        ),
    ),
    "apply_started": st.fixed_dictionaries(
        {"db_heads": st.one_of(st.none(), HEADS)}, optional={**FAILURE, **FAILURE_WORDING}
    ),
    "apply_succeeded": st.fixed_dictionaries({}, optional={"heads_reached": HEADS}),
    "apply_failed": st.fixed_dictionaries(
        {"heads_reached": HEADS, "message": MESSAGE}, optional=FAILURE_WORDING
    ),
    "destroy_planned": st.one_of(
        st.fixed_dictionaries({}, optional={"known": st.booleans(), **FAILURE}),
        st.fixed_dictionaries(
            {"destroy_target": st.sampled_from(["base", "a1"]), "target_heads": HEADS},
            optional={"db_heads": HEADS, "downgrades": HEADS, "undone": HEADS, **FAILURE},
        ).filter(lambda facts: "db_heads" in facts or not facts.get("downgrades")),
    ),
    "destroy_started": st.just({}),
    "destroyed": st.just({}),
    "destroy_failed": st.fixed_dictionaries(
        {"heads_reached": HEADS, "message": MESSAGE}, optional=FAILURE_WORDING
    ),
    "import_started": st.just({}),
    "imported": st.one_of(
        st.fixed_dictionaries({"db_heads": HEADS}, optional={"target_revisions": HEADS}),
        st.fixed_dictionaries(FAILURE, optional=FAILURE_WORDING),
    ),
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
        outcome = self.model.outcome
        if outcome.actions:
            assert self.last in ("apply_started", "destroy_started")
            assert self.model.state in (rs.State.CREATING, rs.State.UPDATING, rs.State.DELETING)
            assert not outcome.failed

    @invariant()
    def an_object_exists_exactly_outside_absent_and_gone(self) -> None:
        absent = self.model.state in (rs.State.ABSENT, rs.State.GONE)
        assert self.model.outcome.exists is not absent

    @invariant()
    def some_trigger_is_always_possible_until_gone(self) -> None:
        if self.model.state not in rs.TERMINAL:
            assert rs.MACHINES[self.model.kind].get_triggers(self.model.state.name)


ResourceEvents.TestCase.settings = settings(stateful_step_count=50)
TestResourceEvents = ResourceEvents.TestCase
