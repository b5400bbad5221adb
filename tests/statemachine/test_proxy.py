"""Edges and guards of the proxy lifecycle, one rule per test, with exact outcomes."""

from __future__ import annotations

import pytest
from transitions import MachineError

from statemachine.proxy import (
    ACCESS,
    FIRST_RETRY,
    LAST_RETRY,
    MACHINE,
    PROBE_LIMIT,
    Access,
    Failure,
    ProxyLifecycle,
    State,
    Timer,
)


def new(linger: float = 0.0) -> ProxyLifecycle:
    return ProxyLifecycle(ready_timeout=30.0, grace_period=5.0, linger=linger)


def waiting(users: int = 1, linger: float = 0.0) -> ProxyLifecycle:
    proxy = new(linger)
    proxy.acquired()
    proxy.spawned(pid=4242, now=100.0)
    for _ in range(users - 1):
        proxy.acquired()
    return proxy


def ready(users: int = 1, linger: float = 0.0) -> ProxyLifecycle:
    proxy = waiting(users, linger)
    proxy.probe_succeeded()
    return proxy


def lingering() -> ProxyLifecycle:
    """A ready proxy whose only user left at 150 with a 2-second keep-alive."""
    proxy = ready(linger=2.0)
    proxy.released(now=150.0)
    return proxy


def test_the_first_user_decides_a_spawn() -> None:
    proxy = new()
    assert proxy.acquired()
    assert (proxy.state, proxy.users, proxy.spawn, proxy.pid) == (State.STARTING, 1, True, None)


def test_spawned_waits_for_readiness_until_the_deadline() -> None:
    proxy = new()
    proxy.acquired()
    proxy.spawned(pid=4242, now=100.0)
    assert (proxy.state, proxy.pid, proxy.ready_deadline, proxy.spawn) == (
        State.WAITING_READY,
        4242,
        130.0,
        False,
    )


def test_a_spawn_failure_is_failed_with_the_reason() -> None:
    proxy = new()
    proxy.acquired()
    proxy.spawn_failed(message="No such file or directory: 'cloud_sql_proxy'")
    assert (proxy.state, proxy.failure, proxy.output, proxy.pid) == (
        State.FAILED,
        Failure.SPAWN_FAILED,
        "No such file or directory: 'cloud_sql_proxy'",
        None,
    )


def test_users_arriving_while_waiting_share_the_process() -> None:
    proxy = waiting(users=3)
    assert (proxy.state, proxy.users, proxy.spawn) == (State.WAITING_READY, 3, False)
    proxy.probe_succeeded()
    assert (proxy.state, proxy.users, proxy.pid) == (State.READY, 3, 4242)


def test_a_failed_probe_before_the_deadline_keeps_waiting() -> None:
    proxy = waiting()
    proxy.probe_failed(now=129.9)
    assert (proxy.state, proxy.send_signal, proxy.failure) == (State.WAITING_READY, None, None)


def test_the_readiness_timeout_stops_the_process_and_ends_failed() -> None:
    proxy = waiting()
    proxy.probe_failed(now=130.0)
    assert (proxy.state, proxy.send_signal, proxy.kill_deadline, proxy.failure) == (
        State.STOPPING,
        "TERM",
        135.0,
        Failure.READY_TIMEOUT,
    )
    proxy.exited(status=-15, output="listening soon")
    assert (proxy.state, proxy.failure, proxy.pid, proxy.output) == (
        State.FAILED,
        Failure.READY_TIMEOUT,
        None,
        "listening soon",
    )


def test_an_exit_before_ready_is_failed_and_keeps_the_output() -> None:
    proxy = waiting(users=2)
    proxy.exited(status=1, output="bind: address already in use")
    assert (proxy.state, proxy.failure, proxy.exit_status, proxy.output, proxy.pid) == (
        State.FAILED,
        Failure.EXITED_BEFORE_READY,
        1,
        "bind: address already in use",
        None,
    )
    assert proxy.users == 2


def test_an_exit_while_in_use_is_failed() -> None:
    proxy = ready()
    proxy.exited(status=2, output="connection reset")
    assert (proxy.state, proxy.failure, proxy.pid) == (
        State.FAILED,
        Failure.EXITED_WHILE_READY,
        None,
    )


def test_release_keeps_running_while_others_hold_it() -> None:
    proxy = ready(users=2)
    proxy.released(now=150.0)
    assert (proxy.state, proxy.users, proxy.send_signal) == (State.READY, 1, None)


@pytest.mark.parametrize("make", [waiting, ready])
def test_the_last_release_stops_the_process(make: object) -> None:
    proxy = make()  # type: ignore[operator]
    proxy.released(now=150.0)
    assert (proxy.state, proxy.users, proxy.send_signal, proxy.kill_deadline) == (
        State.STOPPING,
        0,
        "TERM",
        155.0,
    )
    proxy.exited(status=0, output="")
    assert (proxy.state, proxy.pid, proxy.failure) == (State.STOPPED, None, None)


def test_stopping_escalates_to_kill_after_the_grace_period_once() -> None:
    proxy = ready()
    proxy.released(now=150.0)
    proxy.grace_expired(now=154.0)
    assert (proxy.state, proxy.send_signal) == (State.STOPPING, None)
    proxy.grace_expired(now=155.0)
    assert (proxy.state, proxy.send_signal, proxy.signalled) == (State.STOPPING, "KILL", "KILL")
    proxy.grace_expired(now=170.0)
    assert (proxy.state, proxy.send_signal, proxy.signalled) == (State.STOPPING, None, "KILL")


def test_shutdown_stops_a_proxy_in_use() -> None:
    proxy = ready(users=2)
    proxy.stop_requested(now=150.0)
    assert (proxy.state, proxy.users, proxy.send_signal) == (State.STOPPING, 2, "TERM")
    proxy.stop_requested(now=151.0)
    assert proxy.send_signal is None
    proxy.exited(status=-15, output="")
    proxy.released(now=152.0)
    proxy.released(now=152.0)
    assert (proxy.state, proxy.users) == (State.STOPPED, 0)


@pytest.mark.parametrize("state", [State.STOPPED, State.FAILED])
def test_shutdown_of_a_proxy_without_process_sends_nothing(state: State) -> None:
    proxy = new()
    if state is State.STOPPED:
        proxy = ready()
        proxy.released(now=1.0)
        proxy.exited(status=0, output="")
    else:
        proxy.acquired()
        proxy.spawn_failed(message="boom")
    proxy.stop_requested(now=200.0)
    assert (proxy.state, proxy.send_signal, proxy.shutting_down) == (state, None, True)


def test_shutdown_of_a_proxy_never_used_stops_it_for_good() -> None:
    proxy = new()
    proxy.stop_requested(now=200.0)
    assert (proxy.state, proxy.send_signal, proxy.access) == (State.STOPPED, None, Access.REFUSED)
    proxy.acquired()
    assert (proxy.state, proxy.users, proxy.spawn, proxy.access) == (
        State.STOPPED,
        1,
        False,
        Access.REFUSED,
    )
    proxy.released(now=201.0)
    assert proxy.users == 0


def test_after_shutdown_a_stopped_proxy_counts_users_without_a_start() -> None:
    proxy = ready()
    proxy.stop_requested(now=150.0)
    proxy.exited(status=-15, output="")
    proxy.released(now=151.0)
    proxy.acquired()
    assert (proxy.state, proxy.users, proxy.spawn, proxy.access, proxy.failure) == (
        State.STOPPED,
        1,
        False,
        Access.REFUSED,
        None,
    )


def test_a_stopped_proxy_starts_again_with_a_clean_record() -> None:
    proxy = ready()
    proxy.released(now=150.0)
    proxy.grace_expired(now=160.0)
    proxy.exited(status=-9, output="bye")
    proxy.acquired()
    assert (proxy.state, proxy.users, proxy.spawn, proxy.signalled, proxy.output) == (
        State.STARTING,
        1,
        True,
        None,
        "",
    )


def test_failed_is_sticky_and_still_counts_users() -> None:
    proxy = waiting()
    proxy.exited(status=1, output="bad flag")
    proxy.acquired()
    assert (proxy.state, proxy.users, proxy.spawn) == (State.FAILED, 2, False)
    proxy.released(now=1.0)
    proxy.released(now=1.0)
    assert proxy.users == 0


@pytest.mark.parametrize("state", [State.STOPPED, State.FAILED])
def test_releasing_a_proxy_nobody_holds_raises(state: State) -> None:
    proxy = ready()
    proxy.released(now=1.0)
    proxy.exited(status=0, output="")
    if state is State.FAILED:
        proxy = new()
        proxy.acquired()
        proxy.spawn_failed(message="boom")
        proxy.released(now=1.0)
    assert proxy.state is state
    assert not proxy.may_released(now=2.0)
    with pytest.raises(MachineError, match="no guard allows it"):
        proxy.released(now=2.0)
    assert proxy.users == 0


def test_acquire_while_starting_or_stopping_is_refused() -> None:
    proxy = new()
    proxy.acquired()
    with pytest.raises(MachineError, match="Can't trigger event acquired from state STARTING!"):
        proxy.acquired()
    proxy.spawned(pid=1, now=0.0)
    proxy.released(now=1.0)
    assert not proxy.may_acquired()
    assert proxy.users == 0


def test_time_is_required_where_a_deadline_is_set() -> None:
    proxy = ready()
    with pytest.raises(TypeError, match="missing a required argument: 'now'"):
        proxy.trigger("released")
    assert proxy.users == 1


def test_models_are_not_retained() -> None:
    proxies = [new() for _ in range(10)]
    assert MACHINE.models == []
    proxies[0].acquired()
    assert (proxies[0].state, proxies[1].state) == (State.STARTING, State.IDLE)


@pytest.mark.parametrize(
    ("ready_timeout", "grace_period", "linger", "sleep"),
    [(-1.0, 5.0, 0.0, None), (30.0, 5.0, -0.5, None), (30.0, 5.0, 0.0, -2.0)],
)
def test_negative_timeouts_are_rejected(
    ready_timeout: float, grace_period: float, linger: float, sleep: float | None
) -> None:
    with pytest.raises(ValueError) as caught:
        ProxyLifecycle(
            ready_timeout=ready_timeout, grace_period=grace_period, linger=linger, sleep=sleep
        )
    assert str(caught.value) == (
        f"Proxy timeouts must not be negative; got ready_timeout={ready_timeout}, "
        f"grace_period={grace_period}, linger={linger} and sleep={sleep}."
    )


# The keep-alive.


def test_the_last_release_of_a_ready_proxy_lingers_until_the_deadline() -> None:
    proxy = lingering()
    assert (proxy.state, proxy.users, proxy.pid, proxy.linger_deadline) == (
        State.LINGERING,
        0,
        4242,
        152.0,
    )
    assert (proxy.send_signal, proxy.signalled, proxy.kill_deadline) == (None, None, None)


def test_release_with_other_users_does_not_linger() -> None:
    proxy = ready(users=2, linger=2.0)
    proxy.released(now=150.0)
    assert (proxy.state, proxy.users, proxy.linger_deadline) == (State.READY, 1, None)


def test_a_user_within_the_keep_alive_takes_the_proxy_back_without_a_start() -> None:
    proxy = lingering()
    proxy.acquired()
    assert (proxy.state, proxy.users, proxy.spawn, proxy.pid, proxy.linger_deadline) == (
        State.READY,
        1,
        False,
        4242,
        None,
    )


def test_each_last_release_sets_a_new_deadline() -> None:
    proxy = lingering()
    proxy.acquired()
    proxy.released(now=151.5)
    assert proxy.linger_deadline == 153.5
    proxy.linger_expired(now=152.0)
    assert (proxy.state, proxy.send_signal) == (State.LINGERING, None)


def test_a_wait_ending_before_the_deadline_keeps_lingering() -> None:
    proxy = lingering()
    assert proxy.linger_expired(now=151.9)
    assert (proxy.state, proxy.send_signal, proxy.linger_deadline) == (
        State.LINGERING,
        None,
        152.0,
    )


def test_the_keep_alive_running_out_stops_the_process() -> None:
    proxy = lingering()
    proxy.linger_expired(now=152.0)
    assert (proxy.state, proxy.send_signal, proxy.kill_deadline, proxy.linger_deadline) == (
        State.STOPPING,
        "TERM",
        157.0,
        None,
    )
    proxy.grace_expired(now=157.0)
    assert proxy.send_signal == "KILL"
    proxy.exited(status=-9, output="")
    assert (proxy.state, proxy.failure) == (State.STOPPED, None)
    proxy.acquired()
    assert (proxy.state, proxy.spawn) == (State.STARTING, True)


def test_shutdown_stops_a_lingering_proxy_at_once() -> None:
    proxy = lingering()
    proxy.stop_requested(now=150.5)
    assert (proxy.state, proxy.send_signal, proxy.kill_deadline, proxy.linger_deadline) == (
        State.STOPPING,
        "TERM",
        155.5,
        None,
    )


def test_an_exit_while_lingering_fails_nobody_and_allows_a_fresh_start() -> None:
    proxy = lingering()
    proxy.exited(status=1, output="connection to instance lost")
    assert (proxy.state, proxy.failure, proxy.pid, proxy.linger_deadline) == (
        State.STOPPED,
        None,
        None,
        None,
    )
    assert (proxy.exit_status, proxy.output) == (1, "connection to instance lost")
    proxy.acquired()
    assert (proxy.state, proxy.spawn, proxy.exit_status, proxy.output) == (
        State.STARTING,
        True,
        None,
        "",
    )


def test_a_release_before_readiness_stops_despite_the_keep_alive() -> None:
    proxy = waiting(linger=2.0)
    proxy.released(now=110.0)
    assert (proxy.state, proxy.send_signal, proxy.linger_deadline) == (
        State.STOPPING,
        "TERM",
        None,
    )


def test_without_a_keep_alive_nothing_lingers() -> None:
    proxy = ready(linger=0.0)
    proxy.released(now=150.0)
    assert (proxy.state, proxy.send_signal) == (State.STOPPING, "TERM")


def test_a_lingering_proxy_has_nobody_to_release() -> None:
    proxy = lingering()
    assert not proxy.may_released(now=151.0)
    with pytest.raises(MachineError, match="Can't trigger event released from state LINGERING"):
        proxy.released(now=151.0)


@pytest.mark.parametrize("make", [new, waiting, ready])
def test_only_a_lingering_proxy_can_have_its_keep_alive_expire(make: object) -> None:
    proxy = make()  # type: ignore[operator]
    assert not proxy.may_linger_expired(now=1000.0)
    with pytest.raises(MachineError, match="Can't trigger event linger_expired"):
        proxy.linger_expired(now=1000.0)


# Readiness and time reports.


def test_a_started_proxy_with_an_address_is_probed_at_once() -> None:
    proxy = waiting()
    assert (proxy.timer, proxy.probe) == (Timer(100.0, "probe_due"), None)
    assert proxy.time_passed(now=100.0)
    assert (proxy.state, proxy.probe, proxy.timer) == (State.WAITING_READY, PROBE_LIMIT, None)
    proxy.probe_succeeded()
    assert (proxy.state, proxy.probe, proxy.timer, proxy.access) == (
        State.READY,
        None,
        None,
        Access.USE,
    )


def test_failed_probes_are_retried_after_growing_pauses() -> None:
    proxy = waiting()
    now, pauses = 100.0, []
    for _ in range(5):
        proxy.time_passed(now=now)
        assert proxy.probe == PROBE_LIMIT
        proxy.probe_failed(now=now)
        assert proxy.timer is not None and proxy.timer.trigger == "probe_due"
        pauses.append(proxy.timer.at - now)
        now = proxy.timer.at
    assert pauses == pytest.approx([FIRST_RETRY, 0.02, 0.04, LAST_RETRY, LAST_RETRY])


def test_a_time_report_before_the_pause_ends_decides_no_probe() -> None:
    proxy = waiting()
    proxy.time_passed(now=100.0)
    proxy.probe_failed(now=100.0)
    timer = proxy.timer
    assert proxy.time_passed(now=100.005)
    assert (proxy.state, proxy.probe, proxy.timer) == (State.WAITING_READY, None, timer)


def test_the_last_probe_comes_at_the_readiness_deadline_and_is_short() -> None:
    proxy = waiting()
    proxy.time_passed(now=129.5)
    assert proxy.probe == pytest.approx(0.5)
    proxy.probe_failed(now=129.99)
    assert proxy.timer == Timer(130.0, "probe_due")
    proxy.time_passed(now=130.0)
    assert proxy.probe == FIRST_RETRY
    proxy.probe_failed(now=130.0)
    assert (proxy.state, proxy.failure, proxy.send_signal, proxy.timer) == (
        State.STOPPING,
        Failure.READY_TIMEOUT,
        "TERM",
        Timer(135.0, "grace_expired"),
    )


def test_a_proxy_without_an_address_is_ready_once_its_sleep_has_passed() -> None:
    proxy = ProxyLifecycle(ready_timeout=1.0, grace_period=5.0, sleep=5.0)
    proxy.acquired()
    proxy.spawned(pid=4242, now=100.0)
    assert (proxy.timer, proxy.sleep_deadline) == (Timer(105.0, "sleep_elapsed"), 105.0)
    proxy.time_passed(now=104.9)
    assert (proxy.state, proxy.probe, proxy.access) == (State.WAITING_READY, None, Access.WAIT)
    proxy.time_passed(now=105.0)
    assert (proxy.state, proxy.timer, proxy.sleep_deadline, proxy.failure) == (
        State.READY,
        None,
        None,
        None,
    )


def test_a_time_report_without_a_timer_clears_the_last_decision() -> None:
    proxy = new()
    proxy.acquired()
    assert proxy.spawn
    assert not proxy.time_passed(now=1.0)
    assert (proxy.state, proxy.spawn, proxy.timer) == (State.STARTING, False, None)


@pytest.mark.parametrize("answer", ["probe_succeeded", "probe_failed"])
def test_a_probe_answer_after_the_stop_was_decided_changes_nothing(answer: str) -> None:
    proxy = waiting()
    proxy.time_passed(now=100.0)
    proxy.released(now=101.0)
    facts = {"now": 101.5} if answer == "probe_failed" else {}
    assert proxy.trigger(answer, **facts)
    assert (proxy.state, proxy.send_signal, proxy.failure, proxy.timer) == (
        State.STOPPING,
        None,
        None,
        Timer(106.0, "grace_expired"),
    )


def test_a_kill_ends_the_timer() -> None:
    proxy = ready()
    proxy.released(now=150.0)
    proxy.time_passed(now=155.0)
    assert (proxy.send_signal, proxy.timer) == ("KILL", None)
    assert not proxy.time_passed(now=200.0)
    assert proxy.send_signal is None


def test_every_state_tells_users_what_they_get() -> None:
    assert set(ACCESS) == set(State)
    assert [ACCESS[s] for s in (State.WAITING_READY, State.STOPPING)] == [Access.WAIT] * 2
    assert [ACCESS[s] for s in (State.READY, State.LINGERING)] == [Access.USE] * 2
    assert [ACCESS[s] for s in (State.STOPPED, State.FAILED)] == [Access.REFUSED] * 2
