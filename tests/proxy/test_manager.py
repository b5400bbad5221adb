"""The proxy manager driven by its state machine, against an in-memory launcher.

Most tests pass ``linger=0`` so a released proxy stops at once; the keep-alive has its own
tests, timed by a clock the test moves. Waits are generous upper bounds that only catch hangs;
no test measures time.
"""

from __future__ import annotations

import io
import json
import threading
import time
from collections.abc import Callable, Iterator

import pytest

from alembic_provider.errors import CancelledError, MigrationError, ProxyError
from alembic_provider.log import Logger
from alembic_provider.proxy import ProxyManager, ProxySpec
from alembic_provider.redaction import Redactor
from statemachine.proxy import State
from tests.proxy.fakes import FakeLauncher, FakeProcess

HANG = 10.0
COMMAND = ("cloud-sql-proxy", "p:r:db")
READY = ProxySpec(COMMAND, ready="127.0.0.1:5432", timeout=HANG)


@pytest.fixture
def launcher() -> FakeLauncher:
    return FakeLauncher()


@pytest.fixture
def manager(launcher: FakeLauncher) -> Iterator[ProxyManager]:
    with ProxyManager(launcher=launcher, grace_period=HANG, linger=0) as manager:
        yield manager


def after_start(launcher: FakeLauncher, action: Callable[[], object]) -> None:
    """Run ``action`` in another thread once the launcher has started a process."""

    def run() -> None:
        deadline = time.monotonic() + HANG
        while not launcher.started and time.monotonic() < deadline:
            time.sleep(0.005)
        action()

    threading.Thread(target=run, daemon=True).start()


def wait_until_stopped(launcher: FakeLauncher) -> None:
    for process in launcher.started:
        assert process.wait(HANG), "the proxy process was not stopped"


def wait_for_state(manager: ProxyManager, spec: ProxySpec, state: State) -> None:
    deadline = time.monotonic() + HANG
    while manager.state(spec) is not state:
        assert time.monotonic() < deadline, f"the proxy never reached {state.name}"
        time.sleep(0.005)


def wait_until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + HANG
    while not condition():
        assert time.monotonic() < deadline, f"never: {what}"
        time.sleep(0.005)


class Clock:
    """The manager's clock, moved only by the test; counts how often it was read."""

    def __init__(self) -> None:
        self.now = 100.0
        self.reads = 0

    def __call__(self) -> float:
        self.reads += 1
        return self.now

    def advance(self, seconds: float) -> None:
        """Move the time on and return once a watcher has acted on the new time.

        A watcher reads the clock and fires the time under the proxy's lock, so a second read
        after the move means one whole report with the new time is done.
        """
        self.now += seconds
        reads = self.reads
        wait_until(lambda: self.reads >= reads + 2, "a watcher read the clock twice")


class PolledEvent(threading.Event):
    """A cancel event that tells the test once the manager has started looking at it."""

    def __init__(self) -> None:
        super().__init__()
        self.polled = threading.Event()

    def is_set(self) -> bool:
        self.polled.set()
        return super().is_set()


def test_one_user_starts_waits_for_readiness_and_stops(
    manager: ProxyManager, launcher: FakeLauncher
) -> None:
    launcher.ready_after = 3
    with manager.use(READY) as handle:
        (process,) = launcher.started
        assert process.alive
        assert launcher.probes == 4
        assert not handle.cancel.is_set()
        handle.check()
    wait_until_stopped(launcher)
    assert process.signals == ["TERM"]
    assert manager.starts(READY) == 1


def test_parallel_users_of_equal_specs_share_one_process(
    manager: ProxyManager, launcher: FakeLauncher
) -> None:
    users = 10
    inside = threading.Barrier(users, timeout=HANG)
    errors: list[BaseException] = []
    launcher.ready_after = 5

    def work() -> None:
        spec = ProxySpec(list(COMMAND), ready="127.0.0.1:5432", timeout=HANG)  # type: ignore[arg-type]
        try:
            with manager.use(spec):
                inside.wait()
        except BaseException as err:
            errors.append(err)

    threads = [threading.Thread(target=work) for _ in range(users)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(HANG)
    assert errors == []
    assert launcher.start_calls == 1
    assert manager.starts(READY) == 1
    wait_until_stopped(launcher)


def test_different_specs_run_different_processes(
    manager: ProxyManager, launcher: FakeLauncher
) -> None:
    other = ProxySpec(COMMAND, ready="127.0.0.1:5433", timeout=HANG)
    with manager.use(READY), manager.use(other):
        assert [process.alive for process in launcher.started] == [True, True]
    assert [p.spec for p in launcher.started] == [READY, other]


def test_a_proxy_without_ready_waits_its_sleep_and_never_probes(
    manager: ProxyManager, launcher: FakeLauncher
) -> None:
    with manager.use(ProxySpec(COMMAND, sleep=0.01)):
        assert len(launcher.alive()) == 1
    assert launcher.probes == 0


def test_a_stopped_proxy_starts_again_for_the_next_user(
    manager: ProxyManager, launcher: FakeLauncher
) -> None:
    with manager.use(READY):
        pass
    with manager.use(READY):
        assert len(launcher.alive()) == 1
    assert manager.starts(READY) == 2


def test_a_spawn_failure_is_reported_and_sticks(
    manager: ProxyManager, launcher: FakeLauncher
) -> None:
    launcher.spawn_error = "[Errno 2] No such file or directory: 'cloud-sql-proxy'"
    for _ in range(2):
        with pytest.raises(ProxyError) as caught, manager.use(READY):
            pass
        assert caught.value.message == (
            "The proxy command ['cloud-sql-proxy', 'p:r:db'] could not be started: [Errno 2] No "
            "such file or directory: 'cloud-sql-proxy'. Check 'proxy_command': its first element "
            "must name an executable, by full path or on PATH."
        )
        assert caught.value.attribute == ("proxy_command",)
        assert caught.value.summary == "Proxy Failed"
    assert launcher.start_calls == 1


def test_an_exit_before_ready_reports_status_and_output(
    manager: ProxyManager, launcher: FakeLauncher
) -> None:
    launcher.ready_after = -1
    launcher.lines = [f"line {n}" for n in range(30)] + ["bind: address already in use"]

    after_start(launcher, lambda: launcher.started[0].exit(1))
    with pytest.raises(ProxyError) as caught, manager.use(READY):
        pass
    tail = "\n".join([f"line {n}" for n in range(11, 30)] + ["bind: address already in use"])
    assert caught.value.message == (
        "The proxy command ['cloud-sql-proxy', 'p:r:db'] exited before it was ready "
        f"(exit status 1).\n\nLast output of the proxy:\n{tail}"
    )


def test_an_exit_with_status_zero_hints_at_daemonising(
    manager: ProxyManager, launcher: FakeLauncher
) -> None:
    launcher.ready_after = -1
    after_start(launcher, lambda: launcher.started[0].exit(0))
    with pytest.raises(ProxyError) as caught, manager.use(READY):
        pass
    assert caught.value.message == (
        "The proxy command ['cloud-sql-proxy', 'p:r:db'] exited before it was ready "
        "(exit status 0). A proxy must keep running in the foreground while it serves "
        "connections (for ssh, leave out -f).\n\nThe proxy printed nothing."
    )


def test_never_ready_times_out_stops_the_process_and_says_where_it_looked(
    launcher: FakeLauncher,
) -> None:
    launcher.ready_after = -1
    spec = ProxySpec(COMMAND, ready="127.0.0.1:5432", timeout=0.05)
    with ProxyManager(launcher=launcher, grace_period=HANG) as manager:
        with pytest.raises(ProxyError) as caught, manager.use(spec):
            pass
        assert caught.value.message == (
            "The proxy command ['cloud-sql-proxy', 'p:r:db'] did not become ready in time: "
            "nothing accepted a connection on '127.0.0.1:5432' within 0.05 seconds, so it was "
            "stopped (killed by SIGTERM). Check that 'proxy_ready' names the address the proxy "
            "listens on, or raise 'proxy_timeout'.\n\nThe proxy printed nothing."
        )
        assert caught.value.attribute == ("proxy_ready",)
        assert launcher.started[0].signals == ["TERM"]


def test_a_proxy_that_ignores_term_is_killed_after_the_grace_period(
    launcher: FakeLauncher,
) -> None:
    launcher.ignores_term = True
    with ProxyManager(launcher=launcher, grace_period=0.05, linger=0) as manager:
        with manager.use(READY):
            pass
        wait_until_stopped(launcher)
        assert launcher.started[0].signals == ["TERM", "KILL"]
        assert launcher.started[0].exit_status == -9


def test_a_proxy_dying_in_use_cancels_the_work_and_fails_it(
    manager: ProxyManager, launcher: FakeLauncher
) -> None:
    with pytest.raises(ProxyError) as caught, manager.use(READY) as handle:
        launcher.started[0].exit(2)
        assert handle.cancel.wait(HANG)
        assert handle.lost
        with pytest.raises(ProxyError, match=r"exited while in use \(exit status 2\)"):
            handle.check()
        raise MigrationError("connection reset", heads_reached=("a1",), revision="b2")
    assert caught.value.message == (
        "The proxy command ['cloud-sql-proxy', 'p:r:db'] exited while in use (exit status 2); "
        "the operation that needed it was stopped.\n\nThe proxy printed nothing."
    )
    assert (caught.value.heads_reached, caught.value.revision) == (("a1",), "b2")
    assert isinstance(caught.value.__cause__, MigrationError)


def test_errors_while_the_proxy_is_healthy_pass_through(manager: ProxyManager) -> None:
    with pytest.raises(MigrationError, match="syntax error"), manager.use(READY):
        raise MigrationError("syntax error")


def test_the_callers_cancel_reaches_the_handle(manager: ProxyManager) -> None:
    outer = threading.Event()
    with manager.use(READY, outer) as handle:
        outer.set()
        assert handle.cancel.wait(HANG)
        assert not handle.lost
        handle.check()


def test_cancel_while_waiting_for_readiness_stops_the_proxy(launcher: FakeLauncher) -> None:
    launcher.ready_after = -1
    outer = threading.Event()
    with ProxyManager(launcher=launcher, grace_period=HANG) as manager:
        after_start(launcher, outer.set)
        with pytest.raises(CancelledError) as caught, manager.use(READY, outer):
            pass
        assert caught.value.message == (
            "The operation was cancelled while waiting for the proxy command "
            "['cloud-sql-proxy', 'p:r:db'] to become ready."
        )
        wait_until_stopped(launcher)
        assert launcher.started[0].signals == ["TERM"]


def test_close_stops_proxies_in_use_and_refuses_new_users(
    manager: ProxyManager, launcher: FakeLauncher
) -> None:
    with manager.use(READY) as handle:
        manager.close()
        assert not launcher.alive()
        assert handle.cancel.is_set()
        with pytest.raises(ProxyError) as caught:
            handle.check()
        assert caught.value.message == (
            "The proxy command ['cloud-sql-proxy', 'p:r:db'] was stopped because the provider "
            "is shutting down."
        )
    with pytest.raises(ProxyError) as caught, manager.use(READY):
        pass
    assert caught.value.message == (
        "The proxy command ['cloud-sql-proxy', 'p:r:db'] was not started because the provider "
        "is shutting down."
    )
    manager.close()


def test_close_releases_users_still_waiting_for_readiness(launcher: FakeLauncher) -> None:
    launcher.ready_after = -1
    manager = ProxyManager(launcher=launcher, grace_period=HANG)
    after_start(launcher, manager.close)
    stopped = "was stopped because the provider is shutting down"
    with pytest.raises(ProxyError, match=stopped), manager.use(READY):
        pass
    wait_until_stopped(launcher)


def test_no_spec_means_no_proxy_and_the_callers_cancel(
    manager: ProxyManager, launcher: FakeLauncher
) -> None:
    outer = threading.Event()
    with manager.use(None, outer) as handle:
        assert handle.cancel is outer
        handle.check()
    assert launcher.start_calls == 0


def test_secrets_never_reach_messages(launcher: FakeLauncher) -> None:
    launcher.ready_after = -1
    launcher.lines = ["token=tok-8f2a9c71 url=postgresql://app:pw-4471@db/app"]
    spec = ProxySpec(
        COMMAND, ready="127.0.0.1:5432", timeout=0.05, environment={"T": "tok-8f2a9c71"}
    )
    manager = ProxyManager(launcher=launcher, redactor=Redactor(), grace_period=HANG)
    with manager, pytest.raises(ProxyError) as caught, manager.use(spec):
        pass
    assert caught.value.message.endswith(
        "Last output of the proxy:\ntoken=*** url=postgresql://app:***@db/app"
    )


def test_a_cancelled_operation_does_not_start_a_proxy(
    manager: ProxyManager, launcher: FakeLauncher
) -> None:
    outer = threading.Event()
    outer.set()
    with pytest.raises(CancelledError), manager.use(READY, outer):
        pass
    assert launcher.start_calls == 0


class BrokenLauncher(FakeLauncher):
    def start(self, spec: ProxySpec, **kwargs: object) -> FakeProcess:
        self.start_calls += 1
        raise RuntimeError("launcher bug")


def test_a_launcher_bug_fails_the_proxy_instead_of_hanging_its_users() -> None:
    launcher = BrokenLauncher()
    with ProxyManager(launcher=launcher, grace_period=HANG) as manager:
        with pytest.raises(RuntimeError, match="launcher bug"), manager.use(READY):
            pass
        failed = "could not be started: the launcher failed"
        with pytest.raises(ProxyError, match=failed), manager.use(READY):
            pass
    assert launcher.start_calls == 1


def test_proxy_output_is_logged_redacted_at_trace(launcher: FakeLauncher) -> None:
    stream = io.StringIO()
    launcher.lines = ["listening; token tok-8f2a9c71"]
    spec = ProxySpec(COMMAND, ready="127.0.0.1:5432", environment={"T": "tok-8f2a9c71"})
    logger = Logger("provider", level="trace", stream=stream)
    manager = ProxyManager(launcher=launcher, logger=logger, grace_period=HANG)
    with manager, manager.use(spec):
        pass
    records = [json.loads(line) for line in stream.getvalue().splitlines()]
    messages = [record["@message"] for record in records]
    assert "listening; token ***" in messages
    lifecycle = [m for m in messages if m.startswith(("proxy ", "started ", "signalled "))]
    assert lifecycle == [
        "proxy starting",
        "started proxy",
        "proxy waiting-ready",
        "proxy ready",
        "proxy lingering",
        "proxy stopping",
        "signalled proxy",
        "proxy exited",
        "proxy stopped",
    ]
    assert "tok-8f2a9c71" not in stream.getvalue()


# The keep-alive.


def test_the_next_phase_within_the_keep_alive_reuses_the_proxy(launcher: FakeLauncher) -> None:
    with ProxyManager(launcher=launcher, grace_period=HANG, linger=5.0, clock=Clock()) as manager:
        for _phase in ("read", "plan"):
            for _resource in range(10):
                with manager.use(READY):
                    assert manager.state(READY) is State.READY
                assert manager.state(READY) is State.LINGERING
        (process,) = launcher.started
        assert process.alive
        assert process.signals == []
        assert manager.starts(READY) == 1


def test_a_lingering_proxy_stops_once_the_keep_alive_has_passed(launcher: FakeLauncher) -> None:
    clock = Clock()
    with ProxyManager(launcher=launcher, grace_period=HANG, linger=5.0, clock=clock) as manager:
        with manager.use(READY):
            pass
        clock.advance(4.9)
        assert (manager.state(READY), launcher.started[0].signals) == (State.LINGERING, [])
        with manager.use(READY):
            pass
        assert manager.starts(READY) == 1
        clock.now += 5.0
        wait_until_stopped(launcher)
        wait_for_state(manager, READY, State.STOPPED)
        assert launcher.started[0].signals == ["TERM"]
        with manager.use(READY):
            assert len(launcher.alive()) == 1
        assert manager.starts(READY) == 2


def test_the_keep_alive_runs_on_real_time_by_default(launcher: FakeLauncher) -> None:
    with ProxyManager(launcher=launcher, grace_period=HANG, linger=0.05) as manager:
        with manager.use(READY):
            pass
        wait_until_stopped(launcher)
        assert launcher.started[0].signals == ["TERM"]
        assert manager.starts(READY) == 1


def test_close_stops_a_lingering_proxy_at_once(launcher: FakeLauncher) -> None:
    manager = ProxyManager(launcher=launcher, grace_period=HANG, linger=HANG, clock=Clock())
    with manager.use(READY):
        pass
    assert manager.state(READY) is State.LINGERING
    manager.close()
    assert not launcher.alive()
    assert launcher.started[0].signals == ["TERM"]
    assert manager.state(READY) is State.STOPPED
    refused = "was not started because the provider is shutting down"
    with pytest.raises(ProxyError, match=refused), manager.use(READY):
        pass


def test_a_proxy_dying_while_lingering_fails_nobody_and_starts_afresh(
    launcher: FakeLauncher,
) -> None:
    with ProxyManager(launcher=launcher, grace_period=HANG, linger=HANG, clock=Clock()) as manager:
        with manager.use(READY) as first:
            pass
        launcher.started[0].exit(1)
        wait_for_state(manager, READY, State.STOPPED)
        assert not first.lost
        with manager.use(READY) as second:
            second.check()
            assert [process.alive for process in launcher.started] == [False, True]
        assert manager.starts(READY) == 2


def test_after_a_death_while_lingering_the_next_user_gets_the_restart_failure(
    launcher: FakeLauncher,
) -> None:
    with ProxyManager(launcher=launcher, grace_period=HANG, linger=HANG, clock=Clock()) as manager:
        with manager.use(READY):
            pass
        launcher.started[0].exit(1)
        wait_for_state(manager, READY, State.STOPPED)
        launcher.spawn_error = "[Errno 13] Permission denied: 'cloud-sql-proxy'"
        refused = r"could not be started: \[Errno 13\] Permission denied"
        with pytest.raises(ProxyError, match=refused), manager.use(READY):
            pass
        assert manager.state(READY) is State.FAILED


def test_a_user_cancelled_before_readiness_stops_the_proxy_despite_the_keep_alive(
    launcher: FakeLauncher,
) -> None:
    launcher.ready_after = -1
    outer = threading.Event()
    manager = ProxyManager(launcher=launcher, grace_period=HANG, linger=HANG, clock=Clock())
    with manager:
        after_start(launcher, outer.set)
        with pytest.raises(CancelledError), manager.use(READY, outer):
            pass
        wait_for_state(manager, READY, State.STOPPED)
        assert launcher.started[0].signals == ["TERM"]


def test_state_of_a_proxy_never_used_is_idle(manager: ProxyManager) -> None:
    assert manager.state(READY) is State.IDLE


@pytest.mark.parametrize("linger", [-1.0, float("inf"), float("nan")])
def test_a_keep_alive_must_be_a_finite_non_negative_number(linger: float) -> None:
    with pytest.raises(ValueError) as caught:
        ProxyManager(launcher=FakeLauncher(), linger=linger)
    assert str(caught.value) == (
        f"The proxy keep-alive '{linger}' is not a non-negative number of seconds; use 0 to "
        "stop each proxy as soon as its last user leaves."
    )


# Readiness, late answers and stops, timed by the manager's clock.


def test_a_proxy_without_ready_is_ready_once_its_sleep_has_passed_on_the_clock(
    launcher: FakeLauncher,
) -> None:
    clock = Clock()
    spec = ProxySpec(COMMAND, sleep=5.0)
    with ProxyManager(launcher=launcher, grace_period=HANG, linger=0, clock=clock) as manager:
        used = threading.Event()

        def work() -> None:
            with manager.use(spec):
                used.set()

        thread = threading.Thread(target=work)
        thread.start()
        wait_for_state(manager, spec, State.WAITING_READY)
        clock.advance(4.9)
        assert (manager.state(spec), used.is_set()) == (State.WAITING_READY, False)
        clock.advance(0.1)
        assert used.wait(HANG)
        thread.join(HANG)
    assert launcher.probes == 0


@pytest.mark.parametrize("accepted", [True, False], ids=["open", "closed"])
def test_a_probe_answering_after_the_last_user_left_changes_nothing(
    launcher: FakeLauncher, accepted: bool
) -> None:
    launcher.gate = threading.Event()
    launcher.ready_after = 0 if accepted else -1
    outer = threading.Event()
    errors: list[BaseException] = []

    def work(manager: ProxyManager) -> None:
        try:
            with manager.use(READY, outer):
                pass
        except CancelledError as err:
            errors.append(err)

    with ProxyManager(launcher=launcher, grace_period=HANG, linger=0) as manager:
        thread = threading.Thread(target=work, args=(manager,))
        thread.start()
        assert launcher.probing.wait(HANG)
        outer.set()
        thread.join(HANG)
        assert manager.state(READY) is State.STOPPING
        launcher.gate.set()
        wait_for_state(manager, READY, State.STOPPED)
    assert [type(err) for err in errors] == [CancelledError]
    assert (launcher.started[0].signals, manager.starts(READY)) == (["TERM"], 1)


def test_one_of_two_waiting_users_cancels_and_the_other_gets_the_proxy(
    manager: ProxyManager, launcher: FakeLauncher
) -> None:
    launcher.ready_after = -1
    outer = threading.Event()
    outcomes: list[str] = []

    def work(cancel: threading.Event | None) -> None:
        try:
            with manager.use(READY, cancel):
                outcomes.append("used")
        except CancelledError:
            outcomes.append("cancelled")

    first = threading.Thread(target=work, args=(None,))
    first.start()
    wait_until(lambda: manager.users(READY) == 1, "the first user waits")
    second = threading.Thread(target=work, args=(outer,))
    second.start()
    wait_until(lambda: manager.users(READY) == 2, "the second user waits")
    outer.set()
    second.join(HANG)
    assert (manager.users(READY), manager.state(READY)) == (1, State.WAITING_READY)
    assert launcher.started[0].signals == []
    launcher.accepting.set()
    first.join(HANG)
    assert outcomes == ["cancelled", "used"]
    wait_until_stopped(launcher)
    assert manager.starts(READY) == 1


def test_a_user_leaving_while_the_proxy_stops_for_shutdown_waits_for_nothing(
    launcher: FakeLauncher,
) -> None:
    launcher.ignores_term = True
    clock = Clock()
    with ProxyManager(launcher=launcher, grace_period=HANG, linger=0, clock=clock) as manager:
        with manager.use(READY):
            manager.close(timeout=0)
            assert manager.state(READY) is State.STOPPING
        assert (manager.users(READY), manager.state(READY)) == (0, State.STOPPING)
        clock.now += HANG
        wait_for_state(manager, READY, State.STOPPED)
        assert launcher.started[0].signals == ["TERM", "KILL"]


def test_a_user_waiting_for_a_stop_when_the_provider_closes_is_refused(
    launcher: FakeLauncher,
) -> None:
    launcher.ignores_term = True
    clock = Clock()
    outer = PolledEvent()
    errors: list[ProxyError] = []

    def work(manager: ProxyManager) -> None:
        try:
            with manager.use(READY, outer):
                pass
        except ProxyError as err:
            errors.append(err)

    with ProxyManager(launcher=launcher, grace_period=HANG, linger=0, clock=clock) as manager:
        with manager.use(READY):
            pass
        assert manager.state(READY) is State.STOPPING
        thread = threading.Thread(target=work, args=(manager,))
        thread.start()
        assert outer.polled.wait(HANG)
        manager.close(timeout=0)
        clock.now += HANG
        thread.join(HANG)
        assert [err.message for err in errors] == [
            "The proxy command ['cloud-sql-proxy', 'p:r:db'] was stopped because the provider "
            "is shutting down."
        ]
        assert (manager.state(READY), manager.users(READY), manager.starts(READY)) == (
            State.STOPPED,
            0,
            1,
        )


def test_a_close_that_overtakes_a_new_proxy_before_its_first_user_stops_it_unstarted(
    manager: ProxyManager, launcher: FakeLauncher, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The provider closes between creating a proxy for an operation and counting its user."""
    create = manager._proxy

    def overtaken(spec: ProxySpec) -> object:
        proxy = create(spec)
        manager.close(timeout=0)
        return proxy

    monkeypatch.setattr(manager, "_proxy", overtaken)
    with pytest.raises(ProxyError), manager.use(READY):
        pytest.fail("a proxy of a closed provider was used")
    assert manager.state(READY) is State.STOPPED
    assert launcher.started == []
