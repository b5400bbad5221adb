"""Per-user sockets: reached whatever their path's length, bound privately, locked, standalone."""

from __future__ import annotations

import os
import socket
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from alembic_provider.rendezvous import sockets

SOCKETS_FILE = Path(sockets.__file__)


def _long_directory(tmp_path: Path) -> Path:
    """A directory whose socket paths pass the kernel's 108-byte limit."""
    directory = tmp_path / ("d" * 60) / ("e" * 60)
    directory.mkdir(parents=True)
    return directory


def test_a_long_path_is_bound_privately_and_reached(tmp_path: Path) -> None:
    path = str(_long_directory(tmp_path) / "server.sock")
    assert len(os.fsencode(path)) > 108
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as listener:
        identity = sockets.listen(listener, path)
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
        connection = sockets.connect(path)
        try:
            accepted, _ = listener.accept()
            with accepted:
                assert sockets.peer_uid(accepted) == os.getuid()
                assert sockets.same_user(accepted)
        finally:
            connection.close()
        assert sockets.still_ours(path, identity)


def test_a_socket_removed_or_taken_over_is_no_longer_ours(tmp_path: Path) -> None:
    path = str(tmp_path / "server.sock")
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as first:
        identity = sockets.listen(first, path)
        os.unlink(path)
        assert not sockets.still_ours(path, identity)
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as second:
            assert sockets.still_ours(path, sockets.listen(second, path))


def test_nobody_listening_is_a_refused_connection(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        sockets.connect(str(tmp_path / "missing.sock"))


def test_a_held_lock_keeps_others_out_and_says_which(tmp_path: Path) -> None:
    path = str(tmp_path / "server.lock")
    with (
        sockets.locked(path, 1.0),
        pytest.raises(sockets.ServerUnavailableError) as raised,
        sockets.locked(path, 0.0),
    ):
        pass
    assert str(raised.value) == (
        f"another process kept the lock '{path}' for more than 0 s while starting its server"
    )
    with sockets.locked(path, 0.0):  # released: taken at once
        pass


def test_the_file_loads_by_path_without_the_package_or_site(tmp_path: Path) -> None:
    """As the worker loads it, in an interpreter that cannot import the provider package."""
    code = (
        "import importlib.util, sys\n"
        "spec = importlib.util.spec_from_file_location('loaded', sys.argv[1])\n"
        "module = importlib.util.module_from_spec(spec)\n"
        "spec.loader.exec_module(module)\n"
        "import socket\n"
        "a, b = socket.socketpair()\n"
        "print(module.same_user(a), sorted(m for m in sys.modules if 'alembic' in m))\n"
    )
    run = subprocess.run(
        [sys.executable, "-I", "-S", "-B", "-c", code, str(SOCKETS_FILE)],
        capture_output=True,
        text=True,
        check=True,
        cwd=tmp_path,
    )
    assert run.stdout == "True []\n"
