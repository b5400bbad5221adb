"""Share proxy processes between resource operations, counted by their users.

One :class:`ProxyManager` lives in each provider process. Operations whose :class:`ProxySpec`
is equal share one process: the first user starts it, later users wait for the same readiness,
and when the last one leaves the proxy lingers for ``linger`` seconds, so that the next phase
of the same Terraform command (every read, then every plan; dependent applies one after
another) reuses it instead of starting it again. When nobody comes in time it stops, and
:meth:`ProxyManager.close` stops every proxy at shutdown, lingering ones at once. Each spec has
a ``ProxyLifecycle`` model (``statemachine.proxy``) and a lock: every step fires the fact it
observed, reads the decision (``spawn``, ``send_signal``) and executes it while holding that
lock. A watcher thread per running process probes readiness (or waits out ``proxy_sleep``),
times the keep-alive, notices the exit, and escalates a stop to SIGKILL when the machine says
so. Time reaches the machine as ``now`` from the manager's clock. A lingering proxy that exits
fails nobody and the next user starts it again; one that exits in the instant a user takes it
back fails that user, as any exit while in use does. Never decides a lifecycle rule itself, and
never lets the proxy write to the provider's stdout.
"""

from __future__ import annotations

import contextlib
import math
import threading
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from alembic_provider.errors import CancelledError, ProviderError, ProxyError
from alembic_provider.proxy._messages import command_text, ended, proxy_error, tail
from alembic_provider.proxy.process import ProxyLauncher, ProxyProcess, SpawnError
from alembic_provider.proxy.spec import ProxySpec
from alembic_provider.redaction import Redactor
from statemachine.proxy import ProxyLifecycle, State

if TYPE_CHECKING:
    from alembic_provider.log import Logger

__all__ = ["DEFAULT_GRACE_PERIOD", "DEFAULT_LINGER", "ProxyHandle", "ProxyManager"]

DEFAULT_GRACE_PERIOD = 5.0
"""Seconds between SIGTERM and SIGKILL when a proxy is stopped."""
DEFAULT_LINGER = 2.0
"""Seconds a ready proxy stays up after its last user left, waiting for the next one."""

_TICK = 0.05
_FIRST_PROBE = 0.01
_PROBE_TIMEOUT = 1.0
_JOIN_MARGIN = 5.0


class ProxyHandle:
    """One operation's hold on a proxy: an event that cancels the work, and a health check.

    ``cancel`` is set when the caller's own cancel event is set or when the proxy stops being
    usable (it died, or the provider is shutting down); pass it to the executor so the running
    operation is stopped instead of hanging on a dead connection.
    """

    def __init__(
        self, spec: ProxySpec | None, cancel: threading.Event, outer: threading.Event | None
    ) -> None:
        self.spec = spec
        self.cancel = cancel
        self._outer = outer
        self._error: ProxyError | None = None

    @property
    def lost(self) -> bool:
        """Whether the proxy stopped being usable while this handle held it."""
        return self._error is not None

    def check(self) -> None:
        """Raise the proxy's failure if it stopped being usable while held.

        :raises ProxyError: with the exit status and the last lines the proxy printed.
        """
        if self._error is not None:
            raise self._copy(self._error)

    def error(self, cause: ProviderError | None = None) -> ProxyError | None:
        """Return the proxy's failure, keeping what ``cause`` knew about the database."""
        if self._error is None:
            return None
        return self._copy(self._error, cause)

    @staticmethod
    def _copy(error: ProxyError, cause: ProviderError | None = None) -> ProxyError:
        return ProxyError(
            error.message,
            attribute=error.attribute,
            kind=error.kind,
            revision=cause.revision if cause else None,
            heads_reached=cause.heads_reached if cause else None,
        )

    def _forward(self) -> None:
        if self._outer is not None and self._outer.is_set():
            self.cancel.set()

    def _lose(self, error: ProxyError) -> None:
        self._error = error
        self.cancel.set()


class _Proxy:
    """One spec's process across its lifetime: the model, its lock, and the watcher thread."""

    def __init__(
        self,
        spec: ProxySpec,
        *,
        launcher: ProxyLauncher,
        grace_period: float,
        linger: float,
        clock: Callable[[], float],
        redactor: Redactor,
        logger: Logger | None,
    ) -> None:
        self.spec = spec
        self.model = ProxyLifecycle(
            ready_timeout=spec.timeout, grace_period=grace_period, linger=linger
        )
        self.starts = 0
        self._launcher = launcher
        self._grace = grace_period
        self._clock = clock
        self._redactor = redactor
        self._log = (
            logger.with_redactor(redactor.redact).child(proxy=" ".join(spec.command))
            if logger is not None
            else None
        )
        self._cond = threading.Condition()
        self._process: ProxyProcess | None = None
        self._watcher: threading.Thread | None = None
        self._handles: set[ProxyHandle] = set()
        self._closing = False

    # Users.

    def acquire(self, outer: threading.Event | None) -> ProxyHandle:
        """Count a user in and wait until the proxy is ready; raise when it cannot be."""
        with self._cond:
            while True:
                if self._closing:
                    raise self._error()
                self._check_cancel(outer, counted=False)
                if self.model.may_acquired():
                    break
                self._cond.wait(_TICK)
            self.model.acquired()
            try:
                self._act()
            except BaseException:
                self._release()
                raise
            # The machine's outcome for a user is READY, or a process that has ended.
            while not (self.model.is_READY() or self.model.is_FAILED() or self.model.is_STOPPED()):
                self._check_cancel(outer, counted=True)
                self._cond.wait(_TICK)
            if not self.model.is_READY():
                error = self._error()
                self._release()
                raise error
            handle = ProxyHandle(self.spec, threading.Event(), outer)
            handle._forward()
            self._handles.add(handle)
            return handle

    def release(self, handle: ProxyHandle) -> None:
        with self._cond:
            self._handles.discard(handle)
            self._release()

    def stop(self) -> threading.Thread | None:
        """Stop the process for provider shutdown; return the watcher to join."""
        with self._cond:
            self._closing = True
            self.model.stop_requested(now=self._clock())
            self._act()
            self._cond.notify_all()
            return self._watcher

    def _error(self) -> ProxyError:
        """Describe why the proxy is not usable, from what the machine recorded."""
        return proxy_error(self.spec, self.model, self._redactor)

    def _release(self) -> None:
        self.model.released(now=self._clock())
        if self.model.is_LINGERING() and self._log is not None:
            self._log.debug("proxy idle, kept running", seconds=self.model.linger)
        self._act()
        self._cond.notify_all()

    def _check_cancel(self, outer: threading.Event | None, *, counted: bool) -> None:
        if outer is not None and outer.is_set():
            if counted:
                self._release()
            raise CancelledError(
                f"The operation was cancelled while waiting for the proxy command "
                f"{command_text(self.spec)} to become ready.",
                kind="cancelled",
            )

    # Decisions.

    def _act(self) -> None:
        """Execute what the last trigger decided; the lock is held."""
        if self.model.spawn:
            self._spawn()
        elif self.model.send_signal is not None and self._process is not None:
            if self._log is not None:
                self._log.debug("stopping proxy", signal=self.model.send_signal)
            self._process.send_signal(self.model.send_signal)

    def _spawn(self) -> None:
        self.starts += 1
        try:
            process = self._launcher.start(
                self.spec, grace_period=self._grace, on_line=self._on_line
            )
        except SpawnError as err:
            self.model.spawn_failed(message=self._redactor.redact(str(err)))
            return
        except BaseException:
            # A launcher bug must not leave users waiting on STARTING forever.
            self.model.spawn_failed(message="the launcher failed unexpectedly")
            self._cond.notify_all()
            raise
        self._process = process
        self.model.spawned(pid=process.pid, now=self._clock())
        if self._log is not None:
            self._log.debug("started proxy", pid=process.pid)
        self._watcher = threading.Thread(
            target=self._watch, args=(process,), name="alembic-proxy-watch", daemon=True
        )
        self._watcher.start()

    # The watcher.

    def _watch(self, process: ProxyProcess) -> None:
        """Probe readiness, escalate stops and report the exit; ends when the process has."""
        target = self.spec.ready_target
        sleep_until = self._clock() + self.spec.sleep
        interval = _FIRST_PROBE
        while True:
            with self._cond:
                for handle in self._handles:
                    handle._forward()
                waiting = self.model.is_WAITING_READY()
                stopping = self.model.is_STOPPING()
                lingering = self.model.is_LINGERING()
                ready_deadline = self.model.ready_deadline
                kill_deadline = self.model.kill_deadline
                linger_deadline = self.model.linger_deadline
            wait = _TICK
            if waiting and target is None:
                wait = sleep_until - self._clock()
                if wait <= 0:
                    self._fire_ready()
                    continue
            elif waiting and target is not None:
                remaining = (ready_deadline or 0.0) - self._clock()
                timeout = min(_PROBE_TIMEOUT, max(remaining, _FIRST_PROBE))
                if self._probe(self._launcher.probe(target, timeout)):
                    continue
                wait, interval = interval, min(interval * 2, _TICK)
            elif stopping and kill_deadline is not None:
                # Sleep through the grace period, but never spin once it has run out.
                wait = max(kill_deadline - self._clock(), _TICK)
            elif lingering and linger_deadline is not None:
                wait = linger_deadline - self._clock()
                if wait <= 0:
                    self._fire_linger_expired()
                    continue
            if process.wait(wait if stopping else min(max(wait, 0.0), _TICK)):
                break
            if stopping:
                with self._cond:
                    now = self._clock()
                    if self.model.may_grace_expired(now=now):
                        self.model.grace_expired(now=now)
                        self._act()
        self._exited(process)

    def _fire_linger_expired(self) -> None:
        """Tell the machine the keep-alive wait ended; a user may have taken the proxy back."""
        with self._cond:
            now = self._clock()
            if self.model.may_linger_expired(now=now):
                self.model.linger_expired(now=now)
                self._act()
                self._cond.notify_all()

    def _fire_ready(self) -> None:
        with self._cond:
            if self.model.may_probe_succeeded():
                self.model.probe_succeeded()
                self._ready_logged()
                self._cond.notify_all()

    def _probe(self, accepted: bool) -> bool:
        """Fire the probe's outcome; True when the proxy is now ready."""
        with self._cond:
            if accepted and self.model.may_probe_succeeded():
                self.model.probe_succeeded()
                self._ready_logged()
            elif not accepted:
                now = self._clock()
                if self.model.may_probe_failed(now=now):
                    self.model.probe_failed(now=now)
                    self._act()
            self._cond.notify_all()
            return self.model.is_READY()

    def _ready_logged(self) -> None:
        if self._log is not None:
            self._log.debug("proxy ready")

    def _exited(self, process: ProxyProcess) -> None:
        output = self._redactor.redact(tail(process.output()))
        with self._cond:
            idle = self.model.is_LINGERING()
            self.model.exited(status=process.exit_status, output=output)
            self._process = None
            if self._log is not None and idle:
                self._log.debug(
                    "idle proxy exited; the next user starts it again",
                    status=ended(process.exit_status),
                )
            elif self._log is not None:
                self._log.debug("proxy exited", status=ended(process.exit_status))
            if self._handles:
                error = self._error()
                for handle in self._handles:
                    handle._lose(error)
            self._cond.notify_all()

    def _on_line(self, line: str) -> None:
        if self._log is not None:
            self._log.trace(self._redactor.redact(line))


class ProxyManager:
    """Every proxy of one provider process, shared by equal specs and stopped at close.

    :param launcher: how processes start and readiness is probed; supervised processes and
        real sockets by default.
    :param grace_period: seconds between SIGTERM and SIGKILL when a proxy is stopped.
    :param linger: seconds a ready proxy keeps running after its last user left, so the next
        user (the next phase of the same Terraform command) reuses it; 0 stops it at once.
    :param redactor: secrets to hide in proxy output and messages, besides each spec's
        environment values.
    :param logger: receives start, readiness and exit events (debug) and proxy output (trace).
    :param clock: monotonic seconds; the state machine's deadlines are measured with it.
    """

    def __init__(
        self,
        *,
        launcher: ProxyLauncher | None = None,
        grace_period: float = DEFAULT_GRACE_PERIOD,
        linger: float = DEFAULT_LINGER,
        redactor: Redactor | None = None,
        logger: Logger | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not math.isfinite(linger) or linger < 0:
            raise ValueError(
                f"The proxy keep-alive '{linger}' is not a non-negative number of seconds; "
                "use 0 to stop each proxy as soon as its last user leaves."
            )
        if launcher is None:
            from alembic_provider.proxy.process import SupervisedLauncher

            launcher = SupervisedLauncher()
        self._launcher = launcher
        self._grace = grace_period
        self._linger = linger
        self._redactor = redactor or Redactor()
        self._logger = logger
        self._clock = clock
        self._proxies: dict[ProxySpec, _Proxy] = {}
        self._lock = threading.Lock()
        self._closed = False

    @contextlib.contextmanager
    def use(
        self, spec: ProxySpec | None, cancel: threading.Event | None = None
    ) -> Iterator[ProxyHandle]:
        """Hold the proxy for ``spec`` while the block runs, starting it if needed.

        With ``spec`` None there is no proxy: the handle's ``cancel`` is ``cancel`` itself. A
        :class:`~alembic_provider.errors.ProviderError` leaving the block while the proxy has
        died becomes the proxy's :class:`ProxyError`, keeping the database's reached heads.

        :raises ProxyError: when the proxy cannot start, exits before it is ready, or does not
            become ready within its timeout; the message has its exit status and last output.
        :raises CancelledError: when ``cancel`` is set while waiting for the proxy.
        """
        if spec is None:
            yield ProxyHandle(None, cancel if cancel is not None else threading.Event(), None)
            return
        proxy = self._proxy(spec)
        handle = proxy.acquire(cancel)
        try:
            yield handle
        except ProviderError as err:
            replacement = handle.error(err)
            if replacement is None:
                raise
            raise replacement from err
        finally:
            proxy.release(handle)

    def starts(self, spec: ProxySpec) -> int:
        """How many times the proxy for ``spec`` has been started by this manager."""
        with self._lock:
            proxy = self._proxies.get(spec)
        return 0 if proxy is None else proxy.starts

    def state(self, spec: ProxySpec) -> State:
        """Where the proxy for ``spec`` is in its lifecycle (``IDLE`` when never used)."""
        with self._lock:
            proxy = self._proxies.get(spec)
        if proxy is None:
            return State.IDLE
        with proxy._cond:
            return proxy.model.state

    def close(self, timeout: float | None = None) -> None:
        """Stop every proxy (SIGTERM, then SIGKILL after the grace period) and wait for them.

        Lingering proxies are stopped at once, without waiting out their keep-alive.

        Later :meth:`use` calls fail with :class:`ProxyError`. Safe to call more than once.

        :param timeout: seconds to wait for the processes to end; by default the grace period
            plus a margin. Proxies still running when it passes are finished by their
            supervisors once the provider exits.
        """
        with self._lock:
            self._closed = True
            proxies = list(self._proxies.values())
        watchers = [proxy.stop() for proxy in proxies]
        wait = self._grace + _JOIN_MARGIN if timeout is None else timeout
        deadline = time.monotonic() + wait
        for watcher in watchers:
            if watcher is not None:
                watcher.join(max(0.0, deadline - time.monotonic()))

    def __enter__(self) -> ProxyManager:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _proxy(self, spec: ProxySpec) -> _Proxy:
        with self._lock:
            if self._closed:
                raise ProxyError(
                    f"The proxy command {list(spec.command)!r} was not started because the "
                    "provider is shutting down.",
                    kind="proxy",
                )
            proxy = self._proxies.get(spec)
            if proxy is None:
                redactor = self._redactor.extended(secrets=spec.secrets())
                proxy = _Proxy(
                    spec,
                    launcher=self._launcher,
                    grace_period=self._grace,
                    linger=self._linger,
                    clock=self._clock,
                    redactor=redactor,
                    logger=self._logger,
                )
                self._proxies[spec] = proxy
            return proxy
