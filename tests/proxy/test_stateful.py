"""Random sequences of use, release and proxy crashes against a reference with plain ints.

Invariants: at most one process per spec; a process runs exactly while someone holds a healthy
proxy; starts match the reference; a crash fails every holder and sticks.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from alembic_provider.errors import ProxyError
from alembic_provider.proxy import ProxyHandle, ProxyManager, ProxySpec
from tests.proxy.fakes import FakeLauncher

HANG = 10.0
SPECS = [
    ProxySpec(("proxy", str(n)), ready=f"127.0.0.1:{5432 + n}", timeout=HANG) for n in range(2)
]


@dataclass
class Reference:
    holders: int = 0
    starts: int = 0
    failed: bool = False


@dataclass
class Held:
    spec: int
    handle: ProxyHandle
    stack: contextlib.ExitStack = field(repr=False)


class ManagerMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.launcher = FakeLauncher()
        self.manager = ProxyManager(launcher=self.launcher, grace_period=HANG)
        self.ref = [Reference() for _ in SPECS]
        self.held: list[Held] = []

    def processes(self, index: int) -> list[object]:
        return [p for p in self.launcher.alive() if p.spec == SPECS[index]]

    @rule(index=st.sampled_from(range(len(SPECS))))
    def use(self, index: int) -> None:
        ref = self.ref[index]
        stack = contextlib.ExitStack()
        if ref.failed:
            with pytest.raises(ProxyError, match="exited while in use"):
                stack.enter_context(self.manager.use(SPECS[index]))
            return
        handle = stack.enter_context(self.manager.use(SPECS[index]))
        ref.starts += ref.holders == 0
        ref.holders += 1
        self.held.append(Held(index, handle, stack))

    @precondition(lambda self: self.held)
    @rule(data=st.data())
    def release(self, data: st.DataObject) -> None:
        held = self.held.pop(data.draw(st.integers(0, len(self.held) - 1)))
        ref = self.ref[held.spec]
        assert held.handle.lost is ref.failed
        held.stack.close()
        ref.holders -= 1

    @rule(index=st.sampled_from(range(len(SPECS))))
    def crash(self, index: int) -> None:
        processes = self.launcher.alive()
        targets = [p for p in processes if p.spec == SPECS[index]]
        if not targets:
            return
        targets[0].exit(1)
        self.ref[index].failed = True
        for held in self.held:
            if held.spec == index:
                assert held.handle.cancel.wait(HANG)

    @invariant()
    def processes_run_exactly_while_held(self) -> None:
        for index, ref in enumerate(self.ref):
            running = len(self.processes(index))
            assert running == (1 if ref.holders and not ref.failed else 0)
            assert self.manager.starts(SPECS[index]) == ref.starts

    def teardown(self) -> None:
        for held in self.held:
            held.stack.close()
        self.manager.close()
        assert self.launcher.alive() == []


ManagerMachine.TestCase.settings = settings(stateful_step_count=30)
TestManager = ManagerMachine.TestCase
