# ruff: noqa: E501
"""Lifecycle of one shared proxy process (``proxy_command``), counted by its users.

The machine decides; ``alembic_provider.proxy`` acts, holding its per-proxy lock around each
"fire a fact, execute the decision" step. It fires what it observed, reads the decision
(``spawn``, ``send_signal``) and executes it:

- ``acquired()`` counts a user; from IDLE or STOPPED it decides ``spawn``. The caller starts the
  process and fires ``spawned(pid=..., now=...)`` or ``spawn_failed(message=...)``.
- While WAITING_READY the caller probes readiness (or sleeps ``proxy_sleep``) and fires
  ``probe_succeeded()`` or ``probe_failed(now=...)``; past the readiness deadline the proxy is
  stopped and ends FAILED. Every user waits for READY or FAILED, then reads ``failure``,
  ``exit_status`` and ``output``.
- ``released(now=...)`` uncounts a user. When the last one leaves a READY proxy it LINGERS
  until ``now + linger``: Terraform reads every resource, then plans every resource, so the next
  user usually arrives within moments, and ``acquired()`` takes it back to READY without a new
  start. The caller fires ``linger_expired(now=...)`` when its wait ends; past the deadline that
  decides ``send_signal="TERM"``. With ``linger`` 0, or when the last user leaves before the
  proxy was ready (a cancelled wait), the release decides TERM at once.
  ``stop_requested(now=...)`` (provider shutdown) decides TERM regardless of users, lingering
  included.
- While STOPPING the caller waits for the exit and fires ``exited(status=..., output=...)``, or
  ``grace_expired(now=...)`` when its wait ends first: past the grace period that decides
  ``send_signal="KILL"``.
- A process that exits before it is ready, or while in use, is FAILED and keeps its output.
  One that exits while LINGERING harmed no operation: it ends STOPPED (keeping its exit status
  and output), and the next user starts it afresh, so a proxy that dies when idle costs one
  start instead of failing every later operation; if it keeps dying, that start shows it.

Time is a fact: every ``now`` is the caller's monotonic clock in seconds; the machine never
reads a clock. STOPPED can be acquired again (the proxy restarts); FAILED is terminal for the
provider process, so later users get the failure at once instead of waiting out another timeout.
Every trigger either takes an edge or raises ``MachineError`` (releasing a proxy nobody holds
included); ``may_<trigger>(...)`` asks first.

>>> proxy = ProxyLifecycle(ready_timeout=30.0, grace_period=5.0)
>>> proxy.acquired(), proxy.spawn
(True, True)
>>> proxy.spawned(pid=4242, now=100.0)
True
>>> proxy.probe_succeeded(), proxy.state, proxy.users
(True, <State.READY: 'ready'>, 1)
>>> proxy.released(now=160.0), proxy.state, proxy.send_signal
(True, <State.STOPPING: 'stopping'>, 'TERM')
>>> proxy.grace_expired(now=166.0), proxy.send_signal
(True, 'KILL')
>>> proxy.exited(status=-9, output=""), proxy.state, proxy.pid
(True, <State.STOPPED: 'stopped'>, None)

With a keep-alive the last release lingers, and only a wait that ends past the deadline stops:

>>> shared = ProxyLifecycle(ready_timeout=30.0, grace_period=5.0, linger=2.0)
>>> shared.acquired(), shared.spawned(pid=4343, now=0.0), shared.probe_succeeded()
(True, True, True)
>>> shared.released(now=10.0), shared.state, shared.linger_deadline, shared.send_signal
(True, <State.LINGERING: 'lingering'>, 12.0, None)
>>> shared.acquired(), shared.state, shared.spawn, shared.linger_deadline
(True, <State.READY: 'ready'>, False, None)
>>> shared.released(now=11.0), shared.linger_expired(now=12.5), shared.state
(True, True, <State.LINGERING: 'lingering'>)
>>> shared.linger_expired(now=13.0), shared.state, shared.send_signal
(True, <State.STOPPING: 'stopping'>, 'TERM')

See ``statemachine.resource`` for why this folder has no ``__init__.py``. Never does I/O, never
reads a clock, never imports ``alembic_provider``; standard library and ``transitions`` only.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from statemachine._strict import StrictMachine, edge, unbound

if TYPE_CHECKING:
    from transitions.core import EventData, TransitionConfigDict

__all__ = ["MACHINE", "TERMINAL", "TRANSITIONS", "Failure", "ProxyLifecycle", "Signal", "State"]


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
    edge("acquired", (S.IDLE, S.STOPPED), S.STARTING, do=("add_user", "decide_spawn")),
    edge("acquired", S.LINGERING, S.READY, do=("add_user", "end_linger")),
    edge("acquired", (S.WAITING_READY, S.READY, S.FAILED), "=", do="add_user"),
    edge("spawned", S.STARTING, S.WAITING_READY, do="record_process"),
    edge("spawn_failed", S.STARTING, S.FAILED, do="record_spawn_failure"),
    edge("probe_succeeded", S.WAITING_READY, S.READY),
    edge("probe_failed", S.WAITING_READY, S.STOPPING, when="is_past_ready_deadline", do=("record_timeout", "send_term")),
    edge("probe_failed", S.WAITING_READY, "="),
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
    edge("stop_requested", _RUNNING, S.STOPPING, do="send_term"),
    edge("stop_requested", S.LINGERING, S.STOPPING, do=("end_linger", "send_term")),
    edge("stop_requested", (S.IDLE, *_DOWN), "="),
    edge("grace_expired", S.STOPPING, "=", when="is_past_kill_deadline", unless="has_sent_kill", do="send_kill"),
    edge("grace_expired", S.STOPPING, "="),
]
# fmt: on

TERMINAL = frozenset({S.FAILED})
"""States that are never left (FAILED still counts users in and out)."""

Signal = Literal["TERM", "KILL"]


class Failure(enum.Enum):
    """Why a proxy is FAILED; the value is the wording used in messages."""

    SPAWN_FAILED = "could not be started"
    EXITED_BEFORE_READY = "exited before it was ready"
    READY_TIMEOUT = "did not become ready in time"
    EXITED_WHILE_READY = "exited while in use"


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


@dataclass(eq=False)
class ProxyLifecycle:
    """The model the proxy registry drives: typed fields plus the triggers the machine binds.

    :param ready_timeout: seconds from spawn until a proxy that is not ready has failed.
    :param grace_period: seconds between TERM and KILL while stopping.
    :param linger: seconds a READY proxy stays up after its last user left; 0 stops it at once.
    """

    ready_timeout: float
    grace_period: float
    linger: float = 0.0
    state: State = field(default=State.IDLE, init=False)
    users: int = field(default=0, init=False)
    pid: int | None = field(default=None, init=False)
    ready_deadline: float | None = field(default=None, init=False)
    kill_deadline: float | None = field(default=None, init=False)
    linger_deadline: float | None = field(default=None, init=False)
    signalled: Signal | None = field(default=None, init=False)
    failure: Failure | None = field(default=None, init=False)
    exit_status: int | None = field(default=None, init=False)
    output: str = field(default="", init=False)
    spawn: bool = field(default=False, init=False)
    send_signal: Signal | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        if min(self.ready_timeout, self.grace_period, self.linger) < 0:
            raise ValueError(
                f"Proxy timeouts must not be negative; got ready_timeout={self.ready_timeout}, "
                f"grace_period={self.grace_period} and linger={self.linger}."
            )
        MACHINE.bind(self, State.IDLE)

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

    def probe_succeeded(self) -> bool:
        """The readiness check connected (or the compatibility sleep ended)."""
        return unbound()

    def probe_failed(self, *, now: float) -> bool:
        """A readiness check did not connect."""
        return unbound()

    def exited(self, *, status: int | None, output: str) -> bool:
        """The process ended; ``output`` is the tail of what it printed."""
        return unbound()

    def released(self, *, now: float) -> bool:
        """A resource operation is done with the proxy, whatever its outcome."""
        return unbound()

    def linger_expired(self, *, now: float) -> bool:
        """The caller's wait for a new user of a lingering proxy ended."""
        return unbound()

    def stop_requested(self, *, now: float) -> bool:
        """The provider is shutting down."""
        return unbound()

    def grace_expired(self, *, now: float) -> bool:
        """The caller's wait for the exit ended before the process did."""
        return unbound()

    trigger = may_trigger = unbound
    may_acquired = may_spawned = may_spawn_failed = may_probe_succeeded = unbound
    may_probe_failed = may_exited = may_released = may_stop_requested = unbound
    may_grace_expired = may_linger_expired = unbound
    is_IDLE = is_STARTING = is_WAITING_READY = is_READY = is_STOPPING = unbound  # noqa: N815
    is_LINGERING = is_STOPPED = is_FAILED = unbound  # noqa: N815

    # Guards: read only the event's facts and the model's fields.

    def has_users(self, event: EventData) -> bool:
        """Someone still holds the proxy."""
        return self.users > 0

    def has_other_users(self, event: EventData) -> bool:
        """Someone besides the releasing user still holds the proxy."""
        return self.users > 1

    def is_past_ready_deadline(self, event: EventData) -> bool:
        """The readiness timeout has run out."""
        return self.ready_deadline is not None and _Facts.of(event).time >= self.ready_deadline

    def can_linger(self, event: EventData) -> bool:
        """A keep-alive period is configured, so the last release need not stop the proxy."""
        return self.linger > 0

    def is_past_linger_deadline(self, event: EventData) -> bool:
        """Nobody took the lingering proxy back before its keep-alive period ran out."""
        return self.linger_deadline is not None and _Facts.of(event).time >= self.linger_deadline

    def is_past_kill_deadline(self, event: EventData) -> bool:
        """The grace period after TERM has run out."""
        return self.kill_deadline is not None and _Facts.of(event).time >= self.kill_deadline

    def has_sent_kill(self, event: EventData) -> bool:
        """KILL was already sent; sending it again changes nothing."""
        return self.signalled == "KILL"

    def has_failure(self, event: EventData) -> bool:
        """The stop was caused by a failure, so the exit ends FAILED, not STOPPED."""
        return self.failure is not None

    # Callbacks: record decisions on the model, nothing else.

    def start_step(self, event: EventData) -> None:
        """Clear the previous step's decisions; runs before every transition."""
        self.spawn = False
        self.send_signal = None

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

    def record_spawn_failure(self, event: EventData) -> None:
        self.failure = Failure.SPAWN_FAILED
        self.output = _Facts.of(event).message

    def record_timeout(self, event: EventData) -> None:
        self.failure = Failure.READY_TIMEOUT

    def record_exit(self, event: EventData) -> None:
        facts = _Facts.of(event)
        self.pid = None
        self.exit_status = facts.status
        self.output = facts.output
        self.ready_deadline = None
        self.kill_deadline = None

    def record_early_exit(self, event: EventData) -> None:
        self.failure = Failure.EXITED_BEFORE_READY

    def record_crash(self, event: EventData) -> None:
        self.failure = Failure.EXITED_WHILE_READY

    def start_linger(self, event: EventData) -> None:
        self.linger_deadline = _Facts.of(event).time + self.linger

    def end_linger(self, event: EventData) -> None:
        self.linger_deadline = None

    def send_term(self, event: EventData) -> None:
        self.send_signal = self.signalled = "TERM"
        self.kill_deadline = _Facts.of(event).time + self.grace_period

    def send_kill(self, event: EventData) -> None:
        self.send_signal = self.signalled = "KILL"


MACHINE = StrictMachine(
    name="proxy",
    states=State,
    initial=State.IDLE,
    transitions=TRANSITIONS,
    before_state_change="start_step",
)
"""The one proxy machine definition; ``ProxyLifecycle`` binds to it on creation."""
