"""Share proxy processes between resource operations, counted by their users.

One :class:`ProxyManager` lives in each provider process. Operations whose :class:`ProxySpec`
is equal share one process: the first user starts it, later users wait for the same readiness,
and when the last one leaves the proxy lingers for ``linger`` seconds, so that the next phase
of the same Terraform command (every read, then every plan; dependent applies one after
another) reuses it instead of starting it again. When nobody comes in time it stops, and
:meth:`ProxyManager.close` stops every proxy at shutdown, lingering ones at once.

Each spec has a ``ProxyLifecycle`` model (``statemachine.proxy``) and a lock: every step fires
the fact it observed and executes what the machine decided (start, signal, probe) while holding
that lock. A watcher thread per running process only observes and reports: the time, when the
machine's timer is due or a short tick has passed (the machine's guards decide whether a
deadline was reached); a readiness probe's answer, when the machine asked for a probe; and the
exit. Time reaches the machine as ``now`` from the manager's clock. Never decides a lifecycle
rule itself, and never lets the proxy write to the provider's stdout.
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
from statemachine.proxy import Access, ProxyLifecycle, State, Timer

if TYPE_CHECKING:
    from alembic_provider.log import Logger

__all__ = ["DEFAULT_GRACE_PERIOD", "DEFAULT_LINGER", "ProxyHandle", "ProxyManager"]

DEFAULT_GRACE_PERIOD = 5.0
"""Seconds between SIGTERM and SIGKILL when a proxy is stopped."""
DEFAULT_LINGER = 2.0
"""Seconds a ready proxy stays up after its last user left, waiting for the next one."""

_TICK = 0.05
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
    """One spec's process across its lifetime: the model, its lock, and the watcher thread.

    Every step holds the lock: fire what was observed, then execute what the machine decided
    (start the process, send a signal), then wake whoever waits on the lock's condition. The
    watcher thread reports what it sees (the time, a probe's answer, the exit) and executes the
    probe and the waits the machine asked for; it never decides anything itself.
    """

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
            ready_timeout=spec.timeout,
            grace_period=grace_period,
            linger=linger,
            sleep=spec.sleep if spec.ready is None else None,
        )
        self.starts = 0
        self._target = spec.ready_target
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

    # Users.

    def acquire(self, outer: threading.Event | None) -> ProxyHandle:
        """Count a user in and wait until the proxy is ready; raise when it cannot be."""
        with self._cond:
            while True:
                self._check_cancel(outer, counted=False)
                if self.model.may_acquired():
                    break
                self._cond.wait(_TICK)
            try:
                self._step(self.model.acquired)
            except BaseException:
                self._release()
                raise
            while self.model.access is Access.WAIT:
                self._check_cancel(outer, counted=True)
                self._cond.wait(_TICK)
            if self.model.access is Access.REFUSED:
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

    def users(self) -> int:
        with self._cond:
            return self.model.users

    def stop(self) -> threading.Thread | None:
        """Stop the process for provider shutdown; return the watcher to join."""
        with self._cond:
            self._step(self.model.stop_requested, now=self._clock())
            return self._watcher

    def _error(self) -> ProxyError:
        """Describe why the proxy is not usable, from what the machine recorded."""
        return proxy_error(self.spec, self.model, self._redactor)

    def _release(self) -> None:
        self._step(self.model.released, now=self._clock())

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

    def _step(self, trigger: Callable[..., bool], **facts: object) -> None:
        """Fire ``trigger`` with ``facts`` and execute its decision; the lock is held."""
        before = self.model.state
        trigger(**facts)
        if self._log is not None and self.model.state is not before:
            self._log.debug(f"proxy {self.model.state.value}")
        self._act()
        self._cond.notify_all()

    def _act(self) -> None:
        """Execute what the last trigger decided; the lock is held."""
        if self.model.spawn:
            self._spawn()
        if self.model.send_signal is not None and self._process is not None:
            if self._log is not None:
                self._log.debug("signalled proxy", signal=self.model.send_signal)
            self._process.send_signal(self.model.send_signal)

    def _spawn(self) -> None:
        self.starts += 1
        try:
            process = self._launcher.start(
                self.spec, grace_period=self._grace, on_line=self._on_line
            )
        except SpawnError as err:
            self._step(self.model.spawn_failed, message=self._redactor.redact(str(err)))
            return
        except BaseException:
            # A launcher bug must not leave users waiting on STARTING forever.
            self._step(self.model.spawn_failed, message="the launcher failed unexpectedly")
            raise
        self._process = process
        if self._log is not None:
            self._log.debug("started proxy", pid=process.pid)
        self._step(self.model.spawned, pid=process.pid, now=self._clock())
        self._watcher = threading.Thread(
            target=self._watch, args=(process,), name="alembic-proxy-watch", daemon=True
        )
        self._watcher.start()

    # The watcher.

    def _watch(self, process: ProxyProcess) -> None:
        """Report time, probe answers and the exit until the process has ended."""
        while True:
            with self._cond:
                for handle in self._handles:
                    handle._forward()
                now = self._clock()
                self._step(self.model.time_passed, now=now)
                probe, timer = self.model.probe, self.model.timer
            if probe is not None:
                self._report_probe(probe)
            elif process.wait(_until(timer, now)):
                break
        self._exited(process)

    def _report_probe(self, seconds: float) -> None:
        # The machine decides a probe only for a spec with a readiness address.
        accepted = self._target is not None and self._launcher.probe(self._target, seconds)
        with self._cond:
            if accepted:
                self._step(self.model.probe_succeeded)
            else:
                self._step(self.model.probe_failed, now=self._clock())

    def _exited(self, process: ProxyProcess) -> None:
        output = self._redactor.redact(tail(process.output()))
        with self._cond:
            self._process = None
            if self._log is not None:
                self._log.debug("proxy exited", status=ended(process.exit_status))
            self._step(self.model.exited, status=process.exit_status, output=output)
            if self._handles:
                error = self._error()
                for handle in self._handles:
                    handle._lose(error)

    def _on_line(self, line: str) -> None:
        if self._log is not None:
            self._log.trace(self._redactor.redact(line))


def _until(timer: Timer | None, now: float) -> float:
    """Seconds to wait for the exit before reporting the time again (never long, for cancels)."""
    if timer is None:
        return _TICK
    return min(max(timer.at - now, 0.0), _TICK)


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

    def users(self, spec: ProxySpec) -> int:
        """How many operations hold the proxy for ``spec`` or wait for it to become ready."""
        with self._lock:
            proxy = self._proxies.get(spec)
        return 0 if proxy is None else proxy.users()

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
