"""Real proxy processes: readiness, failures, escalation, sharing, and nothing left behind.

The proxy is ``fake_proxy.py`` run by the provider's interpreter. Ports are picked by binding
port 0; waits are generous upper bounds that only catch hangs. Managers stop a released proxy
at once (``linger=0``) unless a test is about the keep-alive.
"""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from alembic_provider.errors import ProxyError
from alembic_provider.proxy import ProxyManager, ProxySpec
from tests.support import (
    StillUntil,
    fake_proxy_command,
    free_port,
    is_alive,
    recorded_pids,
    wait_for,
    wait_gone,
)

ROOT = Path(__file__).resolve().parents[2]
HANG = 30.0


def fake(*args: str) -> tuple[str, ...]:
    return tuple(fake_proxy_command(*args))


def wait_for_starts(record: Path, count: int = 1) -> list[int]:
    """Wait until ``count`` proxies recorded their start; return their pids."""
    wait_for(lambda: len(recorded_pids(record)) >= count, f"{record} to list {count} pid(s)")
    return recorded_pids(record)


@pytest.fixture
def echo_server() -> Iterator[int]:
    """A TCP echo server the forwarding proxy connects to; yields its port."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                connection, _ = server.accept()
            except OSError:
                return
            with connection:
                while data := connection.recv(65536):
                    connection.sendall(data)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield server.getsockname()[1]
    stop.set()
    server.close()


@pytest.fixture
def manager() -> Iterator[ProxyManager]:
    with ProxyManager(grace_period=1.0, linger=0) as manager:
        yield manager


def test_a_forwarder_is_used_once_it_listens(
    manager: ProxyManager, echo_server: int, tmp_path: Path
) -> None:
    port, record = free_port(), tmp_path / "starts"
    command = fake(
        "--listen", f"127.0.0.1:{port}", "--forward", f"127.0.0.1:{echo_server}",
        "--delay", "0.3", "--record", str(record),
    )  # fmt: skip
    spec = ProxySpec(command, ready=f"127.0.0.1:{port}")
    with manager.use(spec), socket.create_connection(("127.0.0.1", port), HANG) as client:
        client.sendall(b"SELECT 1")
        assert client.recv(64) == b"SELECT 1"
    (pid,) = recorded_pids(record)
    wait_gone(pid)


def test_readiness_on_a_unix_socket(manager: ProxyManager, tmp_path: Path) -> None:
    path, record = tmp_path / "db.sock", tmp_path / "starts"
    command = fake("--unix", str(path), "--delay", "0.2", "--record", str(record))
    with manager.use(ProxySpec(command, ready=str(path))), socket.socket(socket.AF_UNIX) as client:
        client.connect(str(path))
    (pid,) = recorded_pids(record)
    wait_gone(pid)


def test_without_ready_the_proxy_gets_its_sleep(manager: ProxyManager, tmp_path: Path) -> None:
    record = tmp_path / "starts"
    with manager.use(ProxySpec(fake("--record", str(record)), sleep=0.2)):
        (pid,) = wait_for_starts(record)
        assert is_alive(pid)
    wait_gone(pid)


def test_a_missing_executable_cannot_be_started(manager: ProxyManager) -> None:
    spec = ProxySpec(("no-such-proxy-7f3e", "--port", "5432"), ready="127.0.0.1:5432")
    with pytest.raises(ProxyError) as caught, manager.use(spec):
        pass
    assert caught.value.message == (
        "The proxy command ['no-such-proxy-7f3e', '--port', '5432'] could not be started: "
        "[Errno 2] No such file or directory: 'no-such-proxy-7f3e'. Check 'proxy_command': its "
        "first element must name an executable, by full path or on PATH."
    )


def test_an_early_exit_gives_status_and_output(manager: ProxyManager, tmp_path: Path) -> None:
    command = fake("--say", "starting", "--say", "error: instance not found", "--exit-after", "0",
                   "--status", "3")  # fmt: skip
    spec = ProxySpec(command, ready=str(tmp_path / "p.sock"))
    with pytest.raises(ProxyError) as caught, manager.use(spec):
        pass
    assert caught.value.message == (
        f"The proxy command {list(command)!r} exited before it was ready (exit status 3).\n\n"
        "Last output of the proxy:\nstarting\nerror: instance not found"
    )


def set_up(record: Path) -> StillUntil:
    """A clock for the manager that starts once a fake proxy recorded itself (it is set up)."""
    return StillUntil(lambda: bool(recorded_pids(record)))


def test_a_proxy_that_never_listens_times_out(tmp_path: Path) -> None:
    path, record = tmp_path / "p.sock", tmp_path / "starts"
    command = fake("--say", "waiting for credentials", "--record", str(record))
    spec = ProxySpec(command, ready=str(path), timeout=0.5)
    manager = ProxyManager(grace_period=1.0, linger=0, clock=set_up(record))
    with manager, pytest.raises(ProxyError) as caught, manager.use(spec):
        pass
    assert caught.value.message == (
        f"The proxy command {list(command)!r} did not become ready in time: nothing accepted a "
        f"connection on '{path}' within 0.5 seconds, so it was stopped (killed by "
        "SIGTERM). Check that 'proxy_ready' names the address the proxy listens on, or raise "
        "'proxy_timeout'.\n\nLast output of the proxy:\nwaiting for credentials"
    )
    (pid,) = recorded_pids(record)
    assert not is_alive(pid)


def test_a_proxy_ignoring_term_is_killed_after_the_grace_period(tmp_path: Path) -> None:
    path, record = tmp_path / "p.sock", tmp_path / "starts"
    command = fake("--unix", str(path), "--ignore-term", "--record", str(record))
    with ProxyManager(grace_period=0.3, linger=0) as manager:
        with manager.use(ProxySpec(command, ready=str(path))):
            (pid,) = recorded_pids(record)
        wait_gone(pid)
    waiting = tmp_path / "waiting"
    never = ProxySpec(
        fake("--ignore-term", "--record", str(waiting)), ready=str(tmp_path / "q.sock"), timeout=0.3
    )
    killed = r"so it was stopped \(killed by SIGKILL\)"
    manager = ProxyManager(grace_period=0.3, linger=0, clock=set_up(waiting))
    with manager, pytest.raises(ProxyError, match=killed), manager.use(never):
        pass
    (pid,) = recorded_pids(waiting)
    wait_gone(pid)


def test_threads_share_one_process(manager: ProxyManager, tmp_path: Path) -> None:
    port, record, users = free_port(), tmp_path / "starts", 8
    command = fake("--listen", f"127.0.0.1:{port}", "--delay", "0.2", "--record", str(record))
    inside = threading.Barrier(users, timeout=HANG)
    errors: list[BaseException] = []

    def work() -> None:
        try:
            with manager.use(ProxySpec(command, ready=f"127.0.0.1:{port}")):
                inside.wait()
        except BaseException as err:
            errors.append(err)

    threads = [threading.Thread(target=work) for _ in range(users)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(HANG)
    assert errors == []
    (pid,) = recorded_pids(record)
    wait_gone(pid)


def test_a_proxy_dying_in_use_cancels_the_operation(manager: ProxyManager, tmp_path: Path) -> None:
    path, trigger = tmp_path / "p.sock", tmp_path / "exit-now"
    command = fake("--unix", str(path), "--exit-on", str(trigger), "--status", "0",
                   "--say", "lost connection to instance")  # fmt: skip
    with manager.use(ProxySpec(command, ready=str(path))) as handle:
        assert not handle.cancel.is_set()
        trigger.touch()
        assert handle.cancel.wait(HANG)
        with pytest.raises(ProxyError) as caught:
            handle.check()
    assert caught.value.message == (
        f"The proxy command {list(command)!r} exited while in use (exit status 0); the operation "
        "that needed it was stopped.\n\nLast output of the proxy:\nlost connection to instance"
    )


def test_secrets_in_the_proxy_output_are_masked(manager: ProxyManager, tmp_path: Path) -> None:
    secret = "tok-5d1e0b93c2"
    command = fake("--say-env", "PROXY_TOKEN", "--exit-after", "0", "--status", "1")
    spec = ProxySpec(command, ready=str(tmp_path / "p.sock"), environment={"PROXY_TOKEN": secret})
    with pytest.raises(ProxyError) as caught, manager.use(spec):
        pass
    assert secret not in caught.value.message
    assert caught.value.message.endswith("Last output of the proxy:\nPROXY_TOKEN=***")


def test_proxy_output_never_reaches_the_providers_stdout(
    manager: ProxyManager, capfd: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    record = tmp_path / "starts"
    with manager.use(ProxySpec(fake("--say", "marker-c41b", "--record", str(record)), sleep=0.2)):
        wait_for_starts(record)  # it has printed its line
    captured = capfd.readouterr()
    assert "marker-c41b" not in captured.out
    assert "marker-c41b" not in captured.err


_PROVIDER = """
import sys, threading, time
sys.path.insert(0, {root!r})
from alembic_provider.proxy import ProxyManager, ProxySpec

manager = ProxyManager(grace_period=0.5)
spec = ProxySpec({command!r}, ready={ready!r})
held = threading.Event()
holders = []

def hold():
    # The proxy is started from a thread that ends while the proxy stays in use.
    context = manager.use(spec)
    context.__enter__()
    holders.append(context)
    held.set()

thread = threading.Thread(target=hold)
thread.start()
thread.join()
held.wait()
print("ready", flush=True)
time.sleep(3600)
"""


@pytest.mark.parametrize("ignore_term", [False, True], ids=["polite", "ignores-term"])
def test_no_proxy_outlives_a_provider_killed_with_sigkill(
    tmp_path: Path, ignore_term: bool
) -> None:
    path, record, errors = tmp_path / "p.sock", tmp_path / "starts", tmp_path / "stderr"
    args = ["--unix", str(path), "--record", str(record)]
    command = fake(*args, *(["--ignore-term"] if ignore_term else []))
    script = _PROVIDER.format(root=str(ROOT), command=command, ready=str(path))
    with errors.open("w") as stderr:
        provider = subprocess.Popen(
            [sys.executable, "-c", textwrap.dedent(script)],
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
        )
    try:
        assert provider.stdout is not None
        assert provider.stdout.readline() == "ready\n", errors.read_text()
        (pid,) = recorded_pids(record)
        assert is_alive(pid), "the proxy died with the thread that started it"
    finally:
        provider.send_signal(signal.SIGKILL)
        provider.wait(HANG)
        if provider.stdout is not None:
            provider.stdout.close()
    wait_gone(pid)


def test_close_stops_a_proxy_in_use(tmp_path: Path) -> None:
    path, record = tmp_path / "p.sock", tmp_path / "starts"
    manager = ProxyManager(grace_period=0.3)
    command = fake("--unix", str(path), "--ignore-term", "--record", str(record))
    with manager.use(ProxySpec(command, ready=str(path))) as handle:
        (pid,) = recorded_pids(record)
        manager.close()
        assert handle.lost
        assert not is_alive(pid)


def test_a_lingering_proxy_serves_the_next_phase_and_stops_at_close(tmp_path: Path) -> None:
    path, record = tmp_path / "p.sock", tmp_path / "starts"
    spec = ProxySpec(fake("--unix", str(path), "--record", str(record)), ready=str(path))
    manager = ProxyManager(grace_period=0.3, linger=HANG)
    for _phase in ("read", "plan", "apply"):
        with manager.use(spec), socket.socket(socket.AF_UNIX) as client:
            client.connect(str(path))
    (pid,) = recorded_pids(record)
    assert is_alive(pid)
    manager.close()
    assert not is_alive(pid)
    assert manager.starts(spec) == 1


def test_a_lingering_proxy_stops_by_itself_when_nobody_comes(tmp_path: Path) -> None:
    port, record = free_port(), tmp_path / "starts"
    command = fake("--listen", f"127.0.0.1:{port}", "--record", str(record))
    spec = ProxySpec(command, ready=f"127.0.0.1:{port}")
    with ProxyManager(grace_period=0.3, linger=0.2) as manager:
        with manager.use(spec):
            (pid,) = recorded_pids(record)
        wait_gone(pid)
        with manager.use(spec):
            pass
        assert manager.starts(spec) == 2
