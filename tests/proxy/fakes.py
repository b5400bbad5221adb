"""An in-memory proxy launcher, so manager tests (and resource tests) never spawn a process.

``ProxyManager(launcher=FakeLauncher())`` behaves like the real thing: processes "start",
readiness is whatever ``accepting`` says, TERM ends a process unless it ignores TERM, KILL always
does, and a test can end a process at any time with :meth:`FakeProcess.exit`.
"""

from __future__ import annotations

import itertools
import threading
from dataclasses import dataclass, field

from alembic_provider.proxy import ProxySpec, ReadyTarget, SpawnError
from alembic_provider.proxy.process import LineSink
from statemachine.proxy import Signal

_SIGNAL_STATUS = {"TERM": -15, "KILL": -9}


class FakeProcess:
    """A process that ends when told to, or when the test says so."""

    def __init__(self, pid: int, spec: ProxySpec, *, ignores_term: bool, lines: list[str]) -> None:
        self.spec = spec
        self.signals: list[Signal] = []
        self.lines = list(lines)
        self._pid = pid
        self._ignores_term = ignores_term
        self._status: int | None = None
        self._ended = threading.Event()

    @property
    def pid(self) -> int:
        return self._pid

    @property
    def exit_status(self) -> int | None:
        return self._status

    @property
    def alive(self) -> bool:
        return not self._ended.is_set()

    def send_signal(self, name: Signal) -> None:
        if not self.alive:
            return
        self.signals.append(name)
        if name == "KILL" or not self._ignores_term:
            self.exit(_SIGNAL_STATUS[name])

    def exit(self, status: int) -> None:
        if self.alive:
            self._status = status
            self._ended.set()

    def wait(self, timeout: float) -> bool:
        return self._ended.wait(timeout)

    def output(self) -> str:
        return "\n".join(self.lines)


@dataclass
class FakeLauncher:
    """Starts :class:`FakeProcess` objects; readiness follows ``accepting``.

    :param spawn_error: when set, every start fails with this message.
    :param ready_after: probes that fail before ``accepting`` turns on by itself (-1: never).
    :param ignores_term: processes only end on KILL (or :meth:`FakeProcess.exit`).
    :param lines: what every process "printed".
    :param gate: when given, every probe answers only once this event is set; ``probing`` is
        set as soon as a probe waits for it.
    """

    spawn_error: str | None = None
    ready_after: int = 0
    ignores_term: bool = False
    lines: list[str] = field(default_factory=list)
    started: list[FakeProcess] = field(default_factory=list)
    start_calls: int = 0
    probes: int = 0
    accepting: threading.Event = field(default_factory=threading.Event)
    gate: threading.Event | None = None
    probing: threading.Event = field(default_factory=threading.Event)
    _pids: itertools.count[int] = field(default_factory=lambda: itertools.count(4000))
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def start(
        self, spec: ProxySpec, *, grace_period: float, on_line: LineSink | None = None
    ) -> FakeProcess:
        with self._lock:
            self.start_calls += 1
            if self.spawn_error is not None:
                raise SpawnError(self.spawn_error)
            process = FakeProcess(
                next(self._pids), spec, ignores_term=self.ignores_term, lines=self.lines
            )
            self.started.append(process)
        if on_line is not None:
            for line in self.lines:
                on_line(line)
        return process

    def probe(self, target: ReadyTarget, timeout: float) -> bool:
        if self.gate is not None:
            self.probing.set()
            self.gate.wait()
        with self._lock:
            self.probes += 1
            if self.ready_after >= 0 and self.probes > self.ready_after:
                self.accepting.set()
        return self.accepting.is_set()

    def alive(self) -> list[FakeProcess]:
        with self._lock:
            return [process for process in self.started if process.alive]
