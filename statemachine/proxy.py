# ruff: noqa: E501
"""Lifecycle of one shared proxy process (``proxy_command``), counted by its users.

The machine decides every lifecycle rule; ``alembic_provider.proxy`` only observes and acts,
holding its per-proxy lock around each "fire a fact, execute the decision" step. Decisions are
read right after the fire that made them: ``spawn`` (start the process), ``send_signal`` (TERM
or KILL) and ``probe`` (connect to the readiness address now, for at most that many seconds).
One decision outlives its step: ``timer``, the time the machine next needs to hear about.

- ``acquired()`` counts a user; from IDLE or STOPPED it decides ``spawn``. The caller starts the
  process and fires ``spawned(pid=..., now=...)`` or ``spawn_failed(message=...)``. Users wait
  while ``access`` says WAIT, then use the proxy (USE) or read ``failure``, ``exit_status`` and
  ``output`` (REFUSED).
- Readiness follows the Go provider. With a readiness address the process is probed at once,
  then again after short, growing delays; ``probe_succeeded()`` makes it READY, and a
  ``probe_failed(now=...)`` past ``ready_timeout`` stops it and ends FAILED. Without one it is
  READY once ``sleep`` seconds have passed (``proxy_sleep``), however it behaves meanwhile.
- ``released(now=...)`` uncounts a user. When the last one leaves a READY proxy it LINGERS
  until ``now + linger``: Terraform reads every resource, then plans every resource, so the next
  user usually arrives within moments, and ``acquired()`` takes it back to READY without a new
  start. Past the deadline ``linger_expired`` decides TERM. With ``linger`` 0, or when the last
  user leaves before the proxy was ready (a cancelled wait), the release decides TERM at once.
- ``stop_requested(now=...)`` (the provider is closing) decides TERM regardless of users,
  lingering included, and for good: a later ``acquired()`` counts the user in without a start.
- While STOPPING, ``grace_expired`` past the grace period decides KILL; ``exited(status=...,
  output=...)`` ends it. A probe answer that arrives after the stop was decided changes nothing.
- A process that exits before it is ready, or while in use, is FAILED and keeps its output.
  One that exits while LINGERING harmed no operation: it ends STOPPED (keeping its exit status
  and output), and the next user starts it afresh, so a proxy that dies when idle costs one
  start instead of failing every later operation; if it keeps dying, that start shows it.

Time is a fact: every ``now`` is the caller's monotonic clock in seconds, and the machine never
reads a clock. The caller waits until ``timer.at`` (or less) and reports the time with
``time_passed(now=...)``, which fires the timer's trigger (``sleep_elapsed``, ``probe_due``,
``linger_expired`` or ``grace_expired``); the guards compare ``now`` with the deadlines, so a
report that comes early changes nothing. STOPPED can be acquired again (the proxy restarts,
unless the provider is closing); FAILED is terminal for the provider process, so later users get the failure at once instead of
waiting out another timeout. Every trigger either takes an edge or raises ``MachineError``
(releasing a proxy nobody holds included); ``may_<trigger>(...)`` asks first.

>>> proxy = ProxyLifecycle(ready_timeout=30.0, grace_period=5.0)
>>> proxy.acquired(), proxy.spawn
(True, True)
>>> proxy.spawned(pid=4242, now=100.0), proxy.timer
(True, Timer(at=100.0, trigger='probe_due'))
>>> proxy.time_passed(now=100.0), proxy.probe, proxy.timer
(True, 1.0, None)
>>> proxy.probe_succeeded(), proxy.state, proxy.users, proxy.access
(True, <State.READY: 'ready'>, 1, <Access.USE: 'use'>)
>>> proxy.released(now=160.0), proxy.state, proxy.send_signal, proxy.timer
(True, <State.STOPPING: 'stopping'>, 'TERM', Timer(at=165.0, trigger='grace_expired'))
>>> proxy.time_passed(now=166.0), proxy.send_signal, proxy.timer
(True, 'KILL', None)
>>> proxy.exited(status=-9, output=""), proxy.state, proxy.pid
(True, <State.STOPPED: 'stopped'>, None)

With a keep-alive the last release lingers, and only time past the deadline stops it:

>>> shared = ProxyLifecycle(ready_timeout=30.0, grace_period=5.0, linger=2.0, sleep=0.5)
>>> shared.acquired(), shared.spawned(pid=4343, now=0.0), shared.time_passed(now=0.5)
(True, True, True)
>>> shared.released(now=10.0), shared.state, shared.timer
(True, <State.LINGERING: 'lingering'>, Timer(at=12.0, trigger='linger_expired'))
>>> shared.acquired(), shared.state, shared.spawn, shared.timer
(True, <State.READY: 'ready'>, False, None)
>>> shared.released(now=11.0), shared.time_passed(now=12.5), shared.state
(True, True, <State.LINGERING: 'lingering'>)
>>> shared.time_passed(now=13.0), shared.state, shared.send_signal
(True, <State.STOPPING: 'stopping'>, 'TERM')

See ``statemachine.resource`` for why this folder has no ``__init__.py``. Never does I/O, never
reads a clock, never imports ``alembic_provider``; standard library and ``transitions`` only.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Literal

from statemachine._strict import StrictMachine, edge, unbound

if TYPE_CHECKING:
    from transitions.core import EventData, TransitionConfigDict

__all__ = [
    "ACCESS",
    "FIRST_RETRY",
    "LAST_RETRY",
    "MACHINE",
    "PROBE_LIMIT",
    "TERMINAL",
    "TRANSITIONS",
    "Access",
    "Failure",
    "ProxyLifecycle",
    "Signal",
    "State",
    "Timer",
    "TimerTrigger",
]


class State(enum.Enum):
    """Where one proxy process is in its lifecycle; the value is the name shown in logs."""

    IDLE = "idle"
    STARTING = "starting"
    WAITING_READY = "waiting-ready"
    READY = "ready"
    LINGERING = "lingering"
    STOPPING = "stopping"
    STOPPED = "stopped"
    FAILED = "failed"


S = State
_RUNNING = (S.WAITING_READY, S.READY)
_DOWN = (S.STOPPING, S.STOPPED, S.FAILED)

# fmt: off
TRANSITIONS: list[TransitionConfigDict] = [
    edge("acquired", S.IDLE, S.STARTING, do=("add_user", "decide_spawn")),
    edge("acquired", S.STOPPED, S.STARTING, unless="is_shutting_down", do=("add_user", "decide_spawn")),
    edge("acquired", S.LINGERING, S.READY, do=("add_user", "end_linger")),
    edge("acquired", (S.WAITING_READY, S.READY, S.STOPPED, S.FAILED), "=", do="add_user"),
    edge("spawned", S.STARTING, S.WAITING_READY, when="has_ready_address", do=("record_process", "schedule_probe")),
    edge("spawned", S.STARTING, S.WAITING_READY, do=("record_process", "start_sleep")),
    edge("spawn_failed", S.STARTING, S.FAILED, do="record_spawn_failure"),
    edge("sleep_elapsed", S.WAITING_READY, S.READY, when="is_past_sleep_deadline", do="stop_timer"),
    edge("sleep_elapsed", S.WAITING_READY, "="),
    edge("probe_due", S.WAITING_READY, "=", when="is_past_probe_time", do="decide_probe"),
    edge("probe_due", S.WAITING_READY, "="),
    edge("probe_succeeded", S.WAITING_READY, S.READY, do="stop_timer"),
    edge("probe_succeeded", S.STOPPING, "="),
    edge("probe_failed", S.WAITING_READY, S.STOPPING, when="is_past_ready_deadline", do=("record_timeout", "send_term")),
    edge("probe_failed", S.WAITING_READY, "=", do="schedule_probe"),
    edge("probe_failed", S.STOPPING, "="),
    edge("exited", S.WAITING_READY, S.FAILED, do=("record_exit", "record_early_exit")),
    edge("exited", S.READY, S.FAILED, do=("record_exit", "record_crash")),
    edge("exited", S.STOPPING, S.FAILED, when="has_failure", do="record_exit"),
    edge("exited", S.STOPPING, S.STOPPED, do="record_exit"),
    edge("exited", S.LINGERING, S.STOPPED, do=("record_exit", "end_linger")),
    edge("released", _RUNNING, "=", when="has_other_users", do="remove_user"),
    edge("released", S.READY, S.LINGERING, when="can_linger", do=("remove_user", "start_linger")),
    edge("released", _RUNNING, S.STOPPING, do=("remove_user", "send_term")),
    edge("released", _DOWN, "=", when="has_users", do="remove_user"),
    edge("linger_expired", S.LINGERING, S.STOPPING, when="is_past_linger_deadline", do=("end_linger", "send_term")),
    edge("linger_expired", S.LINGERING, "="),
    edge("stop_requested", _RUNNING, S.STOPPING, do=("record_shutdown", "send_term")),
    edge("stop_requested", S.LINGERING, S.STOPPING, do=("record_shutdown", "end_linger", "send_term")),
    edge("stop_requested", S.IDLE, S.STOPPED, do="record_shutdown"),
    edge("stop_requested", _DOWN, "=", do="record_shutdown"),
    edge("grace_expired", S.STOPPING, "=", when="is_past_kill_deadline", unless="has_sent_kill", do="send_kill"),
    edge("grace_expired", S.STOPPING, "="),
]
# fmt: on

TERMINAL = frozenset({S.FAILED})
"""States that are never left (FAILED still counts users in and out)."""

PROBE_LIMIT = 1.0
"""Seconds one readiness probe may take at most (less when the readiness timeout is closer)."""
FIRST_RETRY = 0.01
"""Seconds between the first failed readiness probe and the next; each failure doubles it."""
LAST_RETRY = 0.05
"""The longest pause between two readiness probes, in seconds."""

Signal = Literal["TERM", "KILL"]
TimerTrigger = Literal["sleep_elapsed", "probe_due", "linger_expired", "grace_expired"]


class Failure(enum.Enum):
    """Why a proxy is FAILED; the value is the wording used in messages."""

    SPAWN_FAILED = "could not be started"
    EXITED_BEFORE_READY = "exited before it was ready"
    READY_TIMEOUT = "did not become ready in time"
    EXITED_WHILE_READY = "exited while in use"


class Access(enum.Enum):
    """What a counted user gets from the proxy in its current state."""

    WAIT = "wait"
    USE = "use"
    REFUSED = "refused"


ACCESS: Mapping[State, Access] = MappingProxyType(
    {
        S.IDLE: Access.REFUSED,
        S.STARTING: Access.WAIT,
        S.WAITING_READY: Access.WAIT,
        S.READY: Access.USE,
        S.LINGERING: Access.USE,
        # Wait for the exit, so that a refusal can say how the process ended.
        S.STOPPING: Access.WAIT,
        S.STOPPED: Access.REFUSED,
        S.FAILED: Access.REFUSED,
    }
)
"""A user's answer per state: wait for a change, use the proxy, or report why it cannot."""


@dataclass(frozen=True)
class Timer:
    """The next time the machine needs to hear about: report it at ``at`` as ``trigger``."""

    at: float
    trigger: TimerTrigger


@dataclass(frozen=True)
class _Facts:
    """Every fact a trigger may carry, with the defaults the trigger declarations use."""

    pid: int | None = None
    now: float | None = None
    status: int | None = None
    output: str = ""
    message: str = ""

    @classmethod
    def of(cls, event: EventData) -> _Facts:
        return cls(**event.kwargs)

    @property
    def time(self) -> float:
        if self.now is None:
            raise TypeError("The fact 'now' is required here but was not given.")
        return self.now


def _past(now: float, deadline: float | None) -> bool:
    return deadline is not None and now >= deadline


@dataclass(eq=False)
class ProxyLifecycle:
    """The model the proxy registry drives: typed fields plus the triggers the machine binds.

    :param ready_timeout: seconds from spawn until a proxy whose readiness address accepts no
        connection has failed.
    :param grace_period: seconds between TERM and KILL while stopping.
    :param linger: seconds a READY proxy stays up after its last user left; 0 stops it at once.
    :param sleep: seconds after spawn until a proxy without a readiness address counts as
        ready (``proxy_sleep``); ``None`` when readiness is probed at an address instead.
    """

    ready_timeout: float
    grace_period: float
    linger: float = 0.0
    sleep: float | None = None
    state: State = field(default=State.IDLE, init=False)
    users: int = field(default=0, init=False)
    pid: int | None = field(default=None, init=False)
    shutting_down: bool = field(default=False, init=False)
    ready_deadline: float | None = field(default=None, init=False)
    sleep_deadline: float | None = field(default=None, init=False)
    kill_deadline: float | None = field(default=None, init=False)
    linger_deadline: float | None = field(default=None, init=False)
    retry_delay: float = field(default=0.0, init=False)
    signalled: Signal | None = field(default=None, init=False)
    failure: Failure | None = field(default=None, init=False)
    exit_status: int | None = field(default=None, init=False)
    output: str = field(default="", init=False)
    timer: Timer | None = field(default=None, init=False)
    spawn: bool = field(default=False, init=False)
    send_signal: Signal | None = field(default=None, init=False)
    probe: float | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        if min(self.ready_timeout, self.grace_period, self.linger, self.sleep or 0.0) < 0:
            raise ValueError(
                f"Proxy timeouts must not be negative; got ready_timeout={self.ready_timeout}, "
                f"grace_period={self.grace_period}, linger={self.linger} and sleep={self.sleep}."
            )
        MACHINE.bind(self, State.IDLE)

    @property
    def access(self) -> Access:
        """What a user counted in now gets: wait, use the proxy, or the reason it cannot."""
        return ACCESS[self.state]

    def time_passed(self, *, now: float) -> bool:
        """Report the caller's clock: fire the trigger of the timer the machine set, if any.

        Clears the previous step's decisions either way, so that the caller executes only what
        this report decided. Returns False when no timer is set (nothing waits for time).
        """
        self.start_step(None)
        if self.timer is None:
            return False
        return self.trigger(self.timer.trigger, now=now)

    # Triggers: declarations only; the machine binds the real ones (model_override).

    def acquired(self) -> bool:
        """A resource operation wants the proxy."""
        return unbound()

    def spawned(self, *, pid: int, now: float) -> bool:
        """The caller started the process (in its own process group)."""
        return unbound()

    def spawn_failed(self, *, message: str) -> bool:
        """The process could not be started (missing executable, permissions ...)."""
        return unbound()

    def sleep_elapsed(self, *, now: float) -> bool:
        """Time passed while a proxy without a readiness address was given its ``sleep``."""
        return unbound()

    def probe_due(self, *, now: float) -> bool:
        """Time passed while the next readiness probe was scheduled."""
        return unbound()

    def probe_succeeded(self) -> bool:
        """The readiness address accepted a connection."""
        return unbound()

    def probe_failed(self, *, now: float) -> bool:
        """The readiness address accepted no connection."""
        return unbound()

    def exited(self, *, status: int | None, output: str) -> bool:
        """The process ended; ``output`` is the tail of what it printed."""
        return unbound()

    def released(self, *, now: float) -> bool:
        """A resource operation is done with the proxy, whatever its outcome."""
        return unbound()

    def linger_expired(self, *, now: float) -> bool:
        """Time passed while the proxy lingered without users."""
        return unbound()

    def stop_requested(self, *, now: float) -> bool:
        """The provider is shutting down."""
        return unbound()

    def grace_expired(self, *, now: float) -> bool:
        """Time passed while the process was asked to stop."""
        return unbound()

    trigger = may_trigger = unbound
    may_acquired = may_spawned = may_spawn_failed = may_probe_succeeded = unbound
    may_probe_failed = may_exited = may_released = may_stop_requested = unbound
    may_grace_expired = may_linger_expired = may_sleep_elapsed = may_probe_due = unbound
    is_IDLE = is_STARTING = is_WAITING_READY = is_READY = is_STOPPING = unbound  # noqa: N815
    is_LINGERING = is_STOPPED = is_FAILED = unbound  # noqa: N815

    # Guards: read only the event's facts and the model's fields.

    def has_users(self, event: EventData) -> bool:
        """Someone still holds the proxy."""
        return self.users > 0

    def has_other_users(self, event: EventData) -> bool:
        """Someone besides the releasing user still holds the proxy."""
        return self.users > 1

    def has_ready_address(self, event: EventData) -> bool:
        """Readiness is checked by connecting (``proxy_ready``), not by sleeping."""
        return self.sleep is None

    def is_past_sleep_deadline(self, event: EventData) -> bool:
        """The ``proxy_sleep`` after the start has passed."""
        return _past(_Facts.of(event).time, self.sleep_deadline)

    def is_past_probe_time(self, event: EventData) -> bool:
        """The pause before the next readiness probe has passed."""
        return self.timer is not None and _Facts.of(event).time >= self.timer.at

    def is_past_ready_deadline(self, event: EventData) -> bool:
        """The readiness timeout has run out."""
        return _past(_Facts.of(event).time, self.ready_deadline)

    def is_shutting_down(self, event: EventData) -> bool:
        """The provider asked every proxy to stop, so none starts again."""
        return self.shutting_down

    def can_linger(self, event: EventData) -> bool:
        """A keep-alive period is configured, so the last release need not stop the proxy."""
        return self.linger > 0

    def is_past_linger_deadline(self, event: EventData) -> bool:
        """Nobody took the lingering proxy back before its keep-alive period ran out."""
        return _past(_Facts.of(event).time, self.linger_deadline)

    def is_past_kill_deadline(self, event: EventData) -> bool:
        """The grace period after TERM has run out."""
        return _past(_Facts.of(event).time, self.kill_deadline)

    def has_sent_kill(self, event: EventData) -> bool:
        """KILL was already sent; sending it again changes nothing."""
        return self.signalled == "KILL"

    def has_failure(self, event: EventData) -> bool:
        """The stop was caused by a failure, so the exit ends FAILED, not STOPPED."""
        return self.failure is not None

    # Callbacks: record decisions on the model, nothing else.

    def start_step(self, event: EventData | None) -> None:
        """Clear the previous step's decisions; runs before every transition."""
        self.spawn = False
        self.send_signal = None
        self.probe = None

    def add_user(self, event: EventData) -> None:
        self.users += 1

    def remove_user(self, event: EventData) -> None:
        self.users -= 1

    def decide_spawn(self, event: EventData) -> None:
        self.spawn = True
        self.failure = None
        self.exit_status = None
        self.output = ""
        self.signalled = None
        self.kill_deadline = None

    def record_process(self, event: EventData) -> None:
        facts = _Facts.of(event)
        self.pid = facts.pid
        self.ready_deadline = facts.time + self.ready_timeout
        self.retry_delay = 0.0

    def schedule_probe(self, event: EventData) -> None:
        """Probe after the current pause (at once after the start), never past the timeout."""
        at = _Facts.of(event).time + self.retry_delay
        if self.ready_deadline is not None:
            at = min(at, self.ready_deadline)
        self.timer = Timer(at, "probe_due")
        self.retry_delay = min(max(self.retry_delay * 2, FIRST_RETRY), LAST_RETRY)

    def decide_probe(self, event: EventData) -> None:
        """Probe now, for no longer than the readiness timeout leaves (but never for nothing)."""
        left = PROBE_LIMIT
        if self.ready_deadline is not None:
            left = max(self.ready_deadline - _Facts.of(event).time, FIRST_RETRY)
        self.probe = min(PROBE_LIMIT, left)
        self.timer = None

    def start_sleep(self, event: EventData) -> None:
        self.sleep_deadline = _Facts.of(event).time + (self.sleep or 0.0)
        self.timer = Timer(self.sleep_deadline, "sleep_elapsed")

    def stop_timer(self, event: EventData) -> None:
        self.timer = None
        self.sleep_deadline = None

    def record_spawn_failure(self, event: EventData) -> None:
        self.failure = Failure.SPAWN_FAILED
        self.output = _Facts.of(event).message

    def record_timeout(self, event: EventData) -> None:
        self.failure = Failure.READY_TIMEOUT

    def record_shutdown(self, event: EventData) -> None:
        self.shutting_down = True

    def record_exit(self, event: EventData) -> None:
        facts = _Facts.of(event)
        self.pid = None
        self.exit_status = facts.status
        self.output = facts.output
        self.ready_deadline = None
        self.sleep_deadline = None
        self.kill_deadline = None
        self.timer = None

    def record_early_exit(self, event: EventData) -> None:
        self.failure = Failure.EXITED_BEFORE_READY

    def record_crash(self, event: EventData) -> None:
        self.failure = Failure.EXITED_WHILE_READY

    def start_linger(self, event: EventData) -> None:
        self.linger_deadline = _Facts.of(event).time + self.linger
        self.timer = Timer(self.linger_deadline, "linger_expired")

    def end_linger(self, event: EventData) -> None:
        self.linger_deadline = None
        self.timer = None

    def send_term(self, event: EventData) -> None:
        self.send_signal = self.signalled = "TERM"
        self.kill_deadline = _Facts.of(event).time + self.grace_period
        self.sleep_deadline = None
        self.timer = Timer(self.kill_deadline, "grace_expired")

    def send_kill(self, event: EventData) -> None:
        self.send_signal = self.signalled = "KILL"
        self.timer = None


MACHINE = StrictMachine(
    name="proxy",
    states=State,
    initial=State.IDLE,
    transitions=TRANSITIONS,
    before_state_change="start_step",
)
"""The one proxy machine definition; ``ProxyLifecycle`` binds to it on creation."""
