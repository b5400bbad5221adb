"""The launcher's fast start: used when it can hand over at once, the regular start otherwise.

The launcher is the real ``/bin/sh`` script ``install`` writes, run with the environment
Terraform gives a plugin. Which start served is read from the running process's command line
(``-I -S .../fast_start.py`` or ``-m alembic_provider``) and from the server's count of fast
starts.
"""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from alembic_provider import __version__
from alembic_provider.install import FAST_START, install
from alembic_provider.rendezvous import settings as rendezvous_settings
from tests.entry.test_warm_server import _cli, _server_pid
from tests.started import StartedProvider
from tests.support import is_alive, listening_pids, plugin_env, wait_for

_WAIT = 60.0
_FAST = ["-I", "-S", FAST_START]
_REGULAR = ["-m", "alembic_provider"]


class World:
    """A home with the provider installed and a private warm server directory."""

    def __init__(self, base: Path) -> None:
        self.home = base / "home"
        self.daemon_dir = base / "warm"
        self.launcher = install(
            base / "plugins", python=sys.executable, environ={"HOME": str(self.home)}
        ).path

    def env(self, **extra: str) -> dict[str, str]:
        env = plugin_env(self.daemon_dir, HOME=str(self.home), **extra)
        env.pop("TERRAFORM_PROVIDER_ALEMBIC_PYTHON", None)
        env.pop("XDG_CONFIG_HOME", None)
        return env

    def start(self, **extra: str) -> Started:
        return Started([str(self.launcher)], self.env(**extra))

    def status(self) -> str:
        return _cli(self.daemon_dir, "status").stdout


class Started(StartedProvider):
    """A provider started through the launcher, as Terraform starts it."""

    def __init__(self, argv: list[str], env: dict[str, str]) -> None:
        super().__init__(argv, env)
        # The process that relays (or serves): the launcher exec'd the interpreter in place.
        self.cmdline = Path(f"/proc/{self.process.pid}/cmdline").read_bytes().split(b"\0")[1:-1]

    @property
    def flags(self) -> list[str]:
        return [part.decode() for part in self.cmdline]


@pytest.fixture
def world() -> Iterator[World]:
    base = Path(tempfile.mkdtemp(prefix="tfa-"))
    made = World(base)
    yield made
    _cli(made.daemon_dir, "stop")
    subprocess.run(["rm", "-rf", str(base)], check=False)


def _running_server(world: World) -> int:
    world.start().stop()
    pid = _server_pid(world.daemon_dir)
    assert pid is not None
    return pid


def test_with_a_server_running_the_launcher_hands_over_through_the_fast_start(
    world: World,
) -> None:
    first = world.start()
    try:
        # No server yet: the regular start starts one.
        assert first.flags == _REGULAR, first.flags
    finally:
        first.stop()
    server = _server_pid(world.daemon_dir)
    second = world.start()
    try:
        assert second.flags == _FAST, second.flags
        sessions = listening_pids(second.socket_path)
        assert len(sessions) == 1 and sessions[0] not in (server, second.process.pid)
    finally:
        second.stop()
    assert "sessions: 2 served (1 through the launcher's fast start)" in world.status()
    assert _server_pid(world.daemon_dir) == server


def test_the_fast_start_imports_only_lean_modules(world: World) -> None:
    _running_server(world)
    run = Started([sys.executable, "-I", "-S", "-X", "importtime", FAST_START], world.env())
    try:
        assert run.line.startswith("1|6|unix|")
    finally:
        stderr = run.stop()
    imported = {
        line.rsplit("|", 1)[1].strip()
        for line in stderr.splitlines()
        if line.startswith("import time:") and "imported package" not in line
    }
    lean = {"alembic_provider.rendezvous.settings", "alembic_provider.rendezvous.sockets"}
    assert lean | {"alembic_provider.rendezvous.wire"} <= imported
    ours = {name for name in imported if name.startswith("alembic_provider")}
    assert ours <= lean | {
        "alembic_provider",
        "alembic_provider.rendezvous",
        "alembic_provider.rendezvous.wire",
    }
    heavy = {"socket", "json", "signal", "enum", "re", "typing", "contextlib", "hashlib", "site"}
    assert imported & heavy == set()


def test_a_session_through_the_fast_start_has_its_own_environment_and_exit_status(
    world: World,
) -> None:
    _running_server(world)
    run = subprocess.run(
        [str(world.launcher)],
        env=world.env(PLUGIN_PROTOCOL_VERSIONS="4,5"),
        capture_output=True,
        text=True,
        check=False,
        timeout=_WAIT,
    )
    assert (run.returncode, run.stdout) == (1, "")
    assert "offered '4,5'" in run.stderr
    assert "(1 through the launcher's fast start)" in world.status()


def test_a_killed_fast_start_ends_its_session(world: World) -> None:
    _running_server(world)
    started = world.start()
    assert started.flags == _FAST
    listener_dir = started.socket_path.parent
    sessions = listening_pids(started.socket_path)
    started.process.send_signal(signal.SIGKILL)
    started.stop()
    wait_for(lambda: not listener_dir.exists(), "the session to clean up after its launcher")
    wait_for(lambda: not any(is_alive(pid) for pid in sessions), "the session to exit")


def test_sigterm_reaches_the_session_and_its_status_comes_back(world: World) -> None:
    _running_server(world)
    started = world.start()
    assert started.flags == _FAST
    sessions = listening_pids(started.socket_path)
    started.process.send_signal(signal.SIGINT)  # ignored, as Terraform expects
    started.process.send_signal(signal.SIGTERM)
    assert started.process.wait(timeout=_WAIT) == 0
    wait_for(lambda: not any(is_alive(pid) for pid in sessions), "the session to exit")
    started.stop()


def test_a_launcher_of_another_version_falls_back_and_is_refused(
    world: World, tmp_path: Path
) -> None:
    _running_server(world)
    other = install(
        tmp_path / "plugins",
        python=sys.executable,
        version="9.9.9",
        environ={"HOME": str(world.home)},
    ).path
    started = Started([str(other)], world.env())
    status = started.process.wait(timeout=_WAIT)  # it refuses, and exits by itself
    stderr = started.stop()
    assert started.line.startswith(
        f"The terraform-provider-alembic 9.9.9 launcher found version {__version__} installed"
    )
    assert status == 1, stderr
    assert "(0 through the launcher's fast start)" in world.status()


def test_turned_off_the_fast_start_falls_back_to_serving_in_process(world: World) -> None:
    _running_server(world)
    started = world.start(**{rendezvous_settings.ENABLE_VARIABLE: "off"})
    try:
        assert started.flags == _REGULAR
        assert listening_pids(started.socket_path) == [started.process.pid]
    finally:
        started.stop()
    assert "sessions: 1 served (0 through" in world.status()


def test_a_stale_socket_falls_back_to_the_regular_start(world: World) -> None:
    path = rendezvous_settings.settings(world.env()).socket_path
    rendezvous_settings.private_directory(str(world.daemon_dir))
    stale = socket.socket(socket.AF_UNIX)
    stale.bind(path)
    stale.close()
    started = world.start()
    try:
        assert started.flags == _REGULAR
        assert started.line.startswith("1|6|unix|")
    finally:
        started.stop()
    assert _server_pid(world.daemon_dir) is not None


def test_a_server_of_another_installation_is_not_used(world: World) -> None:
    other = world.start(PYTHONPATH="/another/installation")
    other.stop()
    assert len(list(world.daemon_dir.glob("v*.sock"))) == 1
    started = world.start()
    try:
        assert started.flags == _REGULAR
        assert started.line.startswith("1|6|unix|")
    finally:
        started.stop()
    assert len(list(world.daemon_dir.glob("v*.sock"))) == 2


def test_a_server_that_hangs_up_leaves_the_session_to_the_launcher(world: World) -> None:
    path = rendezvous_settings.settings(world.env()).socket_path
    rendezvous_settings.private_directory(str(world.daemon_dir))
    impostor = socket.socket(socket.AF_UNIX)
    impostor.bind(path)
    impostor.listen(8)
    answered: list[bytes] = []

    def hang_up() -> None:
        while True:
            try:
                connection, _ = impostor.accept()
            except OSError:
                return
            with connection:
                answered.append(connection.recv(64))

    threading.Thread(target=hang_up, daemon=True).start()
    try:
        started = world.start()
        try:
            assert started.flags == _REGULAR
            assert listening_pids(started.socket_path) == [started.process.pid]
        finally:
            stderr = started.stop()
    finally:
        impostor.close()
    assert "The warm server is not used for this session: the warm server hung up" in stderr
    # The fast start asked first, then the regular start.
    assert answered[:2] == [b"session fast\n", b"session\n"]


def test_an_interpreter_file_of_one_line_still_hands_over(world: World) -> None:
    _running_server(world)
    python_file = world.home / ".config/terraform-provider-alembic" / __version__ / "python"
    assert python_file.read_text() == f"{sys.executable}\n{FAST_START}\n"
    python_file.write_text(f"{sys.executable}\n")
    started = world.start()
    try:
        assert started.flags == _REGULAR
        assert len(listening_pids(started.socket_path)) == 1
        assert listening_pids(started.socket_path) != [started.process.pid]
    finally:
        started.stop()
    assert "sessions: 2 served (0 through" in world.status()
