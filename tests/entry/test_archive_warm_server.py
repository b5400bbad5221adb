"""The release archive's program uses the warm server exactly as the Python package does.

The program is the one ``make release`` wrote (``ALEMBIC_TEST_DIST``), unpacked once for this
module, and started as Terraform starts a provider: through its launcher, which hands a session
to a running server with the system Python and otherwise runs the frozen program. The isolation
the warm server promises holds for it too: each session its own process, environment and
streams; a killed Terraform leaves nothing running; another user is refused; the off switch
makes the program serve by itself."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from alembic_provider import __version__
from alembic_provider.rendezvous import settings as rendezvous_settings
from tests.ci_skips import NOT_HERE
from tests.started import StartedProvider
from tests.support import (
    another_user_is_refused,
    is_alive,
    listening_pids,
    plugin_env,
    wait_for,
)

_WAIT = 60.0
_PROGRAM = f"terraform-provider-alembic_v{__version__}"
_PACKAGE = Path(rendezvous_settings.__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def program() -> Iterator[Path]:
    """The archive's program, unpacked as Terraform unpacks it."""
    dist = Path(os.environ.get("ALEMBIC_TEST_DIST") or Path(__file__).parents[2] / "dist")
    archives = sorted(dist.glob(f"terraform-provider-alembic_{__version__}_*.zip"))
    if not archives:
        pytest.skip(f"No release archive in {dist}: run `make release` first.")
    target = Path(tempfile.mkdtemp(prefix="tfa-archive-"))
    with zipfile.ZipFile(archives[0]) as archive:
        for info in archive.infolist():
            path = Path(archive.extract(info, target))
            path.chmod((info.external_attr >> 16) & 0o777 or 0o644)
    yield target / _PROGRAM
    shutil.rmtree(target, ignore_errors=True)


@pytest.fixture
def daemon_dir(program: Path) -> Iterator[Path]:
    parent = Path(tempfile.mkdtemp(prefix="tfa-"))
    directory = parent / "warm"
    yield directory
    _cli(program, directory, "stop")
    shutil.rmtree(parent, ignore_errors=True)


def _cli(program: Path, directory: Path, action: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, **{rendezvous_settings.DIRECTORY_VARIABLE: str(directory)})
    return subprocess.run(
        [str(program), "daemon", action],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=_WAIT,
    )


def test_the_program_hands_each_session_to_one_warm_server(
    program: Path, daemon_dir: Path, tmp_path: Path
) -> None:
    first = StartedProvider([str(program)], plugin_env(daemon_dir), cwd=tmp_path)
    try:
        (session,) = listening_pids(first.socket_path)
        assert session != first.process.pid, "the session is served by a forked process"
        assert os.readlink(f"/proc/{session}/cwd") == str(tmp_path)
    finally:
        first.stop()
    second = StartedProvider([str(program)], plugin_env(daemon_dir), cwd=tmp_path)
    second.stop()
    status = _cli(program, daemon_dir, "status")
    assert status.returncode == 0, status.stdout + status.stderr
    # Terraform runs the launcher; the server is the frozen program beside it.
    assert f"  interpreter: {program.parent / 'program'}\n" in status.stdout, status.stdout
    # The first start found no server and started one; the second went straight to it.
    assert "  sessions: 2 served (1 through the launcher's fast start)" in status.stdout


def test_each_session_reads_its_own_environment_and_answers_on_its_own_streams(
    program: Path, daemon_dir: Path
) -> None:
    results = []
    for offered in ("4,5", "3"):
        run = subprocess.run(
            [str(program)],
            env=plugin_env(daemon_dir, PLUGIN_PROTOCOL_VERSIONS=offered),
            capture_output=True,
            text=True,
            check=False,
            timeout=_WAIT,
        )
        results.append((run.returncode, run.stdout, f"offered '{offered}'" in run.stderr))
    assert results == [(1, "", True), (1, "", True)]
    assert "sessions: 2 served" in _cli(program, daemon_dir, "status").stdout


_TERRAFORM_STAND_IN = """
import subprocess, sys, time
launcher = subprocess.Popen([sys.argv[1]], stdout=subprocess.PIPE, text=True)
print(launcher.pid, launcher.stdout.readline().strip(), flush=True)
time.sleep(600)
"""


def test_a_killed_terraform_leaves_nothing_running(program: Path, daemon_dir: Path) -> None:
    stand_in = subprocess.Popen(
        [sys.executable, "-c", _TERRAFORM_STAND_IN, str(program)],
        env=plugin_env(daemon_dir),
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    assert stand_in.stdout is not None
    pid_text, line = stand_in.stdout.readline().split(" ", 1)
    launcher = int(pid_text)
    socket_path = Path(line.split("|")[3])
    sessions = listening_pids(socket_path)
    assert sessions and launcher not in sessions
    stand_in.send_signal(signal.SIGKILL)
    stand_in.communicate(timeout=_WAIT)
    wait_for(lambda: not is_alive(launcher), "the program to leave with Terraform")
    wait_for(lambda: not socket_path.parent.exists(), "the session to clean up")
    wait_for(lambda: not any(is_alive(pid) for pid in sessions), "the session to exit")


@pytest.mark.skipif(os.getuid() != 0, reason=f"{NOT_HERE}needs root to act as another user")
def test_another_user_cannot_reach_the_server(program: Path, daemon_dir: Path) -> None:
    StartedProvider([str(program)], plugin_env(daemon_dir)).stop()
    (socket_path,) = daemon_dir.glob("*.sock")
    assert another_user_is_refused(socket_path)


def test_turned_off_the_program_serves_by_itself(program: Path, daemon_dir: Path) -> None:
    started = StartedProvider(
        [str(program)], plugin_env(daemon_dir, **{rendezvous_settings.ENABLE_VARIABLE: "off"})
    )
    try:
        assert listening_pids(started.socket_path) == [started.process.pid]
        assert not daemon_dir.exists()
    finally:
        started.stop()


def test_the_launcher_runs_the_program_when_the_system_python_cannot_read_the_package(
    tmp_path: Path,
) -> None:
    """An interpreter too old for the package (a syntax error here) falls back to the program."""
    package = tmp_path / "_internal" / "alembic_provider"
    (package / "entry").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "entry" / "__init__.py").write_text("")
    (package / "entry" / "fast_start.py").write_text("def exit_if_served(argv, program) ->:\n")
    launch = package / "entry" / "archive_launch.py"
    launch.write_text((_PACKAGE / "entry" / "archive_launch.py").read_text())
    program = tmp_path / "program"
    program.write_text('#!/bin/sh\necho "program ran with $# arguments: $*"\n')
    program.chmod(0o755)
    env = plugin_env(tmp_path / "warm")
    run = subprocess.run(
        [sys.executable, "-I", "-S", "-B", str(launch), str(program), "daemon", "status"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=_WAIT,
    )
    assert run.stdout == "program ran with 2 arguments: daemon status\n", run.stderr
    assert not list(tmp_path.rglob("__pycache__")), "nothing is written beside the package"
