"""Random sequences of use, release, passing time and proxy crashes against a plain reference.

The manager's clock is moved only by the machine, so the keep-alive ends exactly when the
reference says. Invariants: at most one process per spec; a process runs exactly while someone
holds a healthy proxy or it lingers; starts match the reference; a crash while in use fails
every holder and sticks, a crash while lingering fails nobody and the next user starts afresh.
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass, field

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from alembic_provider.errors import ProxyError
from alembic_provider.proxy import ProxyHandle, ProxyManager, ProxySpec
from statemachine.proxy import State
from tests.proxy.fakes import FakeLauncher

HANG = 10.0
LINGER = 5.0
SPECS = [
    ProxySpec(("proxy", str(n)), ready=f"127.0.0.1:{5432 + n}", timeout=HANG) for n in range(2)
]


@dataclass
class Reference:
    holders: int = 0
    starts: int = 0
    failed: bool = False
    linger_until: float | None = None

    @property
    def running(self) -> bool:
        return not self.failed and (self.holders > 0 or self.linger_until is not None)

    @property
    def state(self) -> State:
        if self.failed:
            return State.FAILED
        if self.holders:
            return State.READY
        if self.linger_until is not None:
            return State.LINGERING
        return State.STOPPED if self.starts else State.IDLE


@dataclass
class Held:
    spec: int
    handle: ProxyHandle
    stack: contextlib.ExitStack = field(repr=False)


class ManagerMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.now = 0.0
        self.launcher = FakeLauncher()
        self.manager = ProxyManager(
            launcher=self.launcher, grace_period=HANG, linger=LINGER, clock=lambda: self.now
        )
        self.ref = [Reference() for _ in SPECS]
        self.held: list[Held] = []

    def processes(self, index: int) -> list[object]:
        return [p for p in self.launcher.alive() if p.spec == SPECS[index]]

    def settle(self, index: int, state: State) -> None:
        """Wait until the manager has acted on what just happened to the process."""
        deadline = time.monotonic() + HANG
        while self.manager.state(SPECS[index]) is not state:
            assert time.monotonic() < deadline, f"{SPECS[index]} never reached {state.name}"
            time.sleep(0.002)

    @rule(index=st.sampled_from(range(len(SPECS))))
    def use(self, index: int) -> None:
        ref = self.ref[index]
        stack = contextlib.ExitStack()
        if ref.failed:
            with pytest.raises(ProxyError, match="exited while in use"):
                stack.enter_context(self.manager.use(SPECS[index]))
            return
        handle = stack.enter_context(self.manager.use(SPECS[index]))
        ref.starts += not ref.running
        ref.holders += 1
        ref.linger_until = None
        self.held.append(Held(index, handle, stack))

    @precondition(lambda self: self.held)
    @rule(data=st.data())
    def release(self, data: st.DataObject) -> None:
        held = self.held.pop(data.draw(st.integers(0, len(self.held) - 1)))
        ref = self.ref[held.spec]
        assert held.handle.lost is ref.failed
        held.stack.close()
        ref.holders -= 1
        if ref.holders == 0 and not ref.failed:
            ref.linger_until = self.now + LINGER

    @rule(seconds=st.sampled_from([0.0, 1.0, 4.9, 5.0, 7.0]))
    def time_passes(self, seconds: float) -> None:
        self.now += seconds
        for index, ref in enumerate(self.ref):
            if ref.linger_until is not None and self.now >= ref.linger_until:
                ref.linger_until = None
                self.settle(index, State.STOPPED)

    @rule(index=st.sampled_from(range(len(SPECS))))
    def crash(self, index: int) -> None:
        targets = self.processes(index)
        if not targets:
            return
        targets[0].exit(1)  # type: ignore[attr-defined]
        ref = self.ref[index]
        if ref.holders:
            ref.failed = True
            for held in self.held:
                if held.spec == index:
                    assert held.handle.cancel.wait(HANG)
        else:
            ref.linger_until = None
            self.settle(index, State.STOPPED)

    @invariant()
    def processes_run_exactly_while_held_or_lingering(self) -> None:
        for index, ref in enumerate(self.ref):
            assert len(self.processes(index)) == (1 if ref.running else 0)
            assert self.manager.starts(SPECS[index]) == ref.starts
            assert self.manager.users(SPECS[index]) == ref.holders
            assert self.manager.state(SPECS[index]) is ref.state

    def teardown(self) -> None:
        for held in self.held:
            held.stack.close()
        self.manager.close()
        assert self.launcher.alive() == []


ManagerMachine.TestCase.settings = settings(stateful_step_count=30)
TestManager = ManagerMachine.TestCase
