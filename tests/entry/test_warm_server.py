"""The warm server: sessions handed over by the process Terraform starts, and its lifecycle.

Each test runs its own server in a private directory of its own and stops it afterwards. The
processes are real: the launcher is ``python -m alembic_provider`` with the environment
Terraform gives a plugin, exactly as Terraform starts it.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest

from alembic_provider import __version__
from alembic_provider.plugin.proto import tfplugin6_pb2, tfplugin6_pb2_grpc
from alembic_provider.plugin.server import socket_parent
from alembic_provider.rendezvous import settings as rendezvous_settings
from tests.ci_skips import NOT_HERE
from tests.started import PROVIDER_COMMAND, StartedProvider
from tests.support import (
    another_user_is_refused,
    is_alive,
    listening_pids,
    plugin_env,
    wait_for,
    wait_gone,
)

_WAIT = 60.0


@pytest.fixture
def daemon_dir() -> Iterator[Path]:
    """A private directory of the test's own; a short path, like the default ones."""
    parent = Path(tempfile.mkdtemp(prefix="tfa-"))
    directory = parent / "warm"
    yield directory
    _cli(directory, "stop")
    shutil.rmtree(parent, ignore_errors=True)


def test_a_long_directory_path_still_works(tmp_path: Path) -> None:
    directory = tmp_path / ("d" * 60) / "warm"
    launcher = Launcher(plugin_env(directory))
    try:
        assert "alembic_upgrade" in launcher.schema().resource_schemas
        assert len(str(next(directory.glob("*.sock")))) > 108
        assert _server_pid(directory) is not None
    finally:
        launcher.stop()
        _cli(directory, "stop")


def _cli(directory: Path, action: str, **extra: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, **{rendezvous_settings.DIRECTORY_VARIABLE: str(directory)}, **extra)
    return subprocess.run(
        [sys.executable, "-B", "-m", "alembic_provider", "daemon", action],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=_WAIT,
    )


def _server_pid(directory: Path) -> int | None:
    status = _cli(directory, "status")
    if status.returncode != 0:
        return None
    return int(status.stdout.split()[2])


class Launcher(StartedProvider):
    """The process Terraform starts, up to its handshake line."""

    def __init__(self, env: dict[str, str], cwd: Path | None = None) -> None:
        super().__init__(PROVIDER_COMMAND, env, cwd)

    def schema(self) -> tfplugin6_pb2.GetProviderSchema.Response:
        with grpc.insecure_channel(f"unix:{self.socket_path}") as channel:
            stub = tfplugin6_pb2_grpc.ProviderStub(channel)
            response: tfplugin6_pb2.GetProviderSchema.Response = stub.GetProviderSchema(
                tfplugin6_pb2.GetProviderSchema.Request(), timeout=30
            )
            return response


def test_a_session_is_served_by_the_warm_server(daemon_dir: Path, tmp_path: Path) -> None:
    launcher = Launcher(plugin_env(daemon_dir), cwd=tmp_path)
    try:
        assert "alembic_upgrade" in launcher.schema().resource_schemas
        server = _server_pid(daemon_dir)
        assert server is not None and server != launcher.process.pid
        # The session is a process of its own, working where Terraform started the launcher.
        sessions = listening_pids(launcher.socket_path)
        assert len(sessions) == 1 and sessions[0] not in (server, launcher.process.pid)
        assert os.readlink(f"/proc/{sessions[0]}/cwd") == str(tmp_path)
    finally:
        launcher.stop()


def test_each_session_sees_its_own_environment_and_streams(daemon_dir: Path) -> None:
    """Terraform's offer is read from the session's own environment and answered on its stderr."""
    results = []
    for offered in ("4,5", "3"):
        run = subprocess.run(
            [sys.executable, "-B", "-m", "alembic_provider"],
            env=plugin_env(daemon_dir, PLUGIN_PROTOCOL_VERSIONS=offered),
            capture_output=True,
            text=True,
            check=False,
            timeout=_WAIT,
        )
        results.append((run.returncode, run.stdout, f"offered '{offered}'" in run.stderr))
    assert results == [(1, "", True), (1, "", True)]
    status = _cli(daemon_dir, "status")
    assert "sessions: 2 served" in status.stdout, status.stdout


def test_a_killed_launcher_ends_its_session(daemon_dir: Path) -> None:
    launcher = Launcher(plugin_env(daemon_dir))
    listener_dir = launcher.socket_path.parent
    assert listener_dir.exists()
    sessions = listening_pids(launcher.socket_path)
    launcher.process.send_signal(signal.SIGKILL)
    launcher.stop()
    wait_for(lambda: not listener_dir.exists(), "the session to clean up after its launcher")
    wait_for(lambda: not any(is_alive(pid) for pid in sessions), "the session to exit")


_TERRAFORM_STAND_IN = """
import subprocess, sys, time
launcher = subprocess.Popen(
    [sys.executable, "-B", "-m", "alembic_provider"], stdout=subprocess.PIPE, text=True
)
print(launcher.pid, launcher.stdout.readline().strip(), flush=True)
time.sleep(600)
"""


def test_a_killed_terraform_leaves_nothing_behind(daemon_dir: Path) -> None:
    stand_in = subprocess.Popen(
        [sys.executable, "-c", _TERRAFORM_STAND_IN],
        env=plugin_env(daemon_dir),
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    assert stand_in.stdout is not None
    pid_text, line = stand_in.stdout.readline().split(" ", 1)
    launcher_pid = int(pid_text)
    listener_dir = Path(line.split("|")[3]).parent
    sessions = listening_pids(Path(line.split("|")[3]))
    assert sessions and launcher_pid not in sessions
    stand_in.kill()
    stand_in.communicate(timeout=_WAIT)
    wait_for(lambda: not is_alive(launcher_pid), "the launcher to leave with Terraform")
    wait_for(lambda: not listener_dir.exists(), "the session to clean up")
    wait_for(lambda: not any(is_alive(pid) for pid in sessions), "the session to exit")


def test_a_killed_server_is_replaced_and_its_sessions_keep_serving(daemon_dir: Path) -> None:
    first = Launcher(plugin_env(daemon_dir))
    try:
        old = _server_pid(daemon_dir)
        assert old is not None
        os.kill(old, signal.SIGKILL)
        wait_for(lambda: not is_alive(old), "the killed server to go")
        second = Launcher(plugin_env(daemon_dir))
        try:
            assert "alembic_stamp" in second.schema().resource_schemas
            assert "alembic_stamp" in first.schema().resource_schemas
            new = _server_pid(daemon_dir)
            assert new is not None and new != old
        finally:
            second.stop()
    finally:
        first.stop()


_CLIENT_CERT = "-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n"


def _children(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_bytes()
            except OSError:
                continue
            if int(stat.rpartition(b")")[2].split()[1]) == pid:
                found.append(int(entry))
    return found


def _waiting(server: int) -> set[int]:
    """The server's children whose plugin socket's directory exists: sessions, and the next."""
    parent = Path(socket_parent())
    return {c for c in _children(server) if is_alive(c) and any(parent.glob(f"tf-alembic-{c}-*"))}


def test_the_next_session_waits_ready_and_leaves_with_its_server(daemon_dir: Path) -> None:
    """While the server is idle, the next session's process already listens, with its own
    certificate: the next provider start Terraform makes is answered by it, and another takes
    its place. Once its server is gone it leaves, and removes its socket's directory."""
    env = plugin_env(daemon_dir, PLUGIN_CLIENT_CERT=_CLIENT_CERT)
    Launcher(env).stop()
    server = _server_pid(daemon_dir)
    assert server is not None
    wait_for(lambda: len(_waiting(server)) == 1, "the next session to be prepared")
    (ready,) = _waiting(server)
    launcher = Launcher(env)
    try:
        assert launcher.socket_path.parent.name.startswith(f"tf-alembic-{ready}-"), launcher.line
        assert launcher.handshake[5], "the session has its certificate"
        wait_for(lambda: len(_waiting(server) - {ready}) == 1, "another to take its place")
    finally:
        launcher.stop()
    (following,) = _waiting(server) - {ready}
    directory = next(Path(socket_parent()).glob(f"tf-alembic-{following}-*"))
    os.kill(server, signal.SIGKILL)
    wait_gone(following, timeout=_WAIT)
    assert not directory.exists()


def test_status_and_stop(daemon_dir: Path) -> None:
    missing = _cli(daemon_dir, "status")
    assert missing.returncode == 1
    assert missing.stdout == f"No warm server of this user is running ({daemon_dir}).\n"
    launcher = Launcher(plugin_env(daemon_dir))
    launcher.stop()
    running = _cli(daemon_dir, "status")
    assert running.returncode == 0, running.stdout + running.stderr
    expected = rendezvous_settings.settings(
        dict(os.environ, **{rendezvous_settings.DIRECTORY_VARIABLE: str(daemon_dir)})
    )
    assert f"socket: {expected.socket_path}\n" in running.stdout, running.stdout
    named = re.escape(f"{daemon_dir}/v{__version__}-")
    assert re.fullmatch(f"{named}[0-9a-f]{{20}}\\.sock", expected.socket_path), "version and digest"
    pid = _server_pid(daemon_dir)
    assert pid is not None
    stopped = _cli(daemon_dir, "stop")
    assert stopped.stdout.startswith(f"Stopped the warm server {pid} ("), stopped.stdout
    wait_for(lambda: not is_alive(pid), "the stopped server to exit")
    assert _cli(daemon_dir, "status").returncode == 1
    assert not list(daemon_dir.glob("*.sock"))


def test_the_server_exits_when_idle(daemon_dir: Path) -> None:
    launcher = Launcher(plugin_env(daemon_dir, **{rendezvous_settings.IDLE_VARIABLE: "0.5"}))
    try:
        pid = _server_pid(daemon_dir)
        assert pid is not None, "a warm server serves the launcher's session"
        assert list(daemon_dir.glob("v*.sock")), "the serving server listens"
    finally:
        launcher.stop()
    wait_for(lambda: not is_alive(pid), "the idle server to exit")
    assert not list(daemon_dir.glob("v*.sock")), "the idle server removed its socket"


def test_turned_off_the_launcher_serves_itself(daemon_dir: Path) -> None:
    launcher = Launcher(plugin_env(daemon_dir, **{rendezvous_settings.ENABLE_VARIABLE: "off"}))
    try:
        assert "alembic_upgrade" in launcher.schema().resource_schemas
        assert listening_pids(launcher.socket_path) == [launcher.process.pid]
        assert not daemon_dir.exists()
    finally:
        launcher.stop()


def test_a_directory_others_may_enter_is_not_used(daemon_dir: Path) -> None:
    daemon_dir.mkdir(mode=0o755)
    daemon_dir.chmod(0o755)
    launcher = Launcher(plugin_env(daemon_dir))
    try:
        assert listening_pids(launcher.socket_path) == [launcher.process.pid]
    finally:
        stderr = launcher.stop()
    assert "may be entered by other users" in stderr
    assert not list(daemon_dir.glob("*.sock"))


@pytest.mark.skipif(os.getuid() != 0, reason=f"{NOT_HERE}needs root to act as another user")
def test_another_user_cannot_reach_the_socket(daemon_dir: Path) -> None:
    Launcher(plugin_env(daemon_dir)).stop()
    (socket_path,) = daemon_dir.glob("v*.sock")
    assert another_user_is_refused(socket_path)


def _worker_server(directory: Path) -> int:
    """The pid of the Alembic worker server a cold start started beside the provider's."""
    found: list[int] = []

    def listed() -> bool:
        found[:] = [
            int(n)
            for n in re.findall(r"^Worker server (\d+) ", _cli(directory, "status").stdout, re.M)
        ]
        return bool(found)

    wait_for(listed, "the worker server to start")
    return found[0]


def test_status_lists_every_server_of_this_user(daemon_dir: Path) -> None:
    launcher = Launcher(plugin_env(daemon_dir))
    launcher.stop()
    provider = _server_pid(daemon_dir)
    worker = _worker_server(daemon_dir)
    status = _cli(daemon_dir, "status")
    assert status.returncode == 0, status.stdout + status.stderr
    text = status.stdout
    assert f"Warm server {provider} for terraform-provider-alembic 0.1.0\n" in text
    assert f"Worker server {worker} for terraform-provider-alembic 0.1.0 (Alembic " in text
    package = Path(rendezvous_settings.__file__).resolve().parent.parent
    assert text.count(f"  installation: {package}\n") == 2, text
    assert text.count(f"  interpreter: {sys.executable}\n") == 2, text
    assert text.count("  memory: ") == 2, text
    assert "  sessions: 1 served (0 through the launcher's fast start)" in text
    assert "  sessions: 0 operations; 0 provider processes connected" in text
    assert text.count("  idle: ") == 2, text
    assert text.count(f"  socket: {daemon_dir}/") == 2, text


def test_a_cold_start_starts_the_worker_server_of_its_own_interpreter_at_once(
    daemon_dir: Path,
) -> None:
    """The first provider start of a cold command starts the provider's server and, beside
    it, the Alembic worker server of the provider's own interpreter (what ``python`` means
    when unset), so the command's first database read finds Alembic imported."""
    Launcher(plugin_env(daemon_dir)).stop()

    def worker_listed() -> bool:
        return "Worker server " in _cli(daemon_dir, "status").stdout

    wait_for(worker_listed, "the worker server to start without any operation")
    text = _cli(daemon_dir, "status").stdout
    assert text.count(f"  interpreter: {sys.executable}\n") == 2, text
    assert "  sessions: 0 operations; 0 provider processes connected" in text


def test_a_cold_start_leaves_a_wrappers_worker_server_to_its_project(
    daemon_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A wrapper (a pyenv shim, ``#!`` script) may pick its Python by the project's directory,
    which a cold start does not know yet: no worker server is started for it in advance."""
    from alembic_provider import bundle
    from alembic_provider.entry import handoff

    wrapper = tmp_path / "python3"
    wrapper.write_text(f'#!/bin/sh\nexec {sys.executable} "$@"\n')
    wrapper.chmod(0o755)
    monkeypatch.setattr(bundle, "helper_python", lambda: str(wrapper))
    monkeypatch.setenv(rendezvous_settings.DIRECTORY_VARIABLE, str(daemon_dir))
    handoff._prestart_worker()
    time.sleep(1.0)  # a server started binds its socket within milliseconds
    assert not list(daemon_dir.glob("worker-*.sock"))
    monkeypatch.setattr(bundle, "helper_python", lambda: sys.executable)
    handoff._prestart_worker()
    wait_for(lambda: len(list(daemon_dir.glob("worker-*.sock"))) == 1, "the binary's server")
    assert "  interpreter: " + sys.executable in _cli(daemon_dir, "status").stdout


def test_asking_for_the_status_does_not_keep_a_server_alive(daemon_dir: Path) -> None:
    idle = {rendezvous_settings.IDLE_VARIABLE: "3"}
    launcher = Launcher(plugin_env(daemon_dir, **idle))
    launcher.stop()
    provider = _server_pid(daemon_dir)
    assert provider is not None
    # Asked every half second, the server still exits once three seconds pass without a session.
    wait_for(
        lambda: _cli(daemon_dir, "status", **idle).returncode == 1,
        "the idle server to exit although its status was asked for",
        timeout=20,
    )
    wait_gone(provider)


def test_stop_stops_every_server_and_leaves_no_file_behind(daemon_dir: Path) -> None:
    launcher = Launcher(plugin_env(daemon_dir))
    launcher.stop()
    provider = _server_pid(daemon_dir)
    assert provider is not None
    worker = _worker_server(daemon_dir)
    # What a worker server that failed to import Alembic leaves for its starter to read.
    (daemon_dir / "worker-0123456789abcdef01234567.sock.failed").write_text("{}\n")
    assert {path.suffix for path in daemon_dir.iterdir()} >= {".sock", ".lock", ".log"}
    stopped = _cli(daemon_dir, "stop")
    assert stopped.returncode == 0, stopped.stdout + stopped.stderr
    assert f"Stopped the warm server {provider} (" in stopped.stdout
    assert f"Stopped the worker server {worker} (" in stopped.stdout
    assert not is_alive(provider) and not is_alive(worker), "stop returns once they exited"
    assert list(daemon_dir.iterdir()) == []
    missing = _cli(daemon_dir, "status")
    assert missing.returncode == 1
    assert missing.stdout == f"No warm server of this user is running ({daemon_dir}).\n"
