"""The starting process's side: hand this session to the warm server and relay its exit status.

Runs in the process Terraform starts, before anything heavy is imported: standard library and
``rendezvous`` only. :func:`handoff` connects to this installation's server (starting it when
there is none), checks that the server runs as this user, passes the standard streams with
``SCM_RIGHTS`` together with the environment, working directory, umask and arguments (the
exchange in ``rendezvous/wire.py``, which the launcher's fast start shares), then waits. The
forked session watches this connection as its lifeline: when this process dies, the session
stops. Until the session confirms it has taken over, any failure returns ``None`` and the
caller serves in this process as if there were no server, so a broken or killed server never
breaks a command.
"""

from __future__ import annotations

import contextlib
import os
import socket
import sys
import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from alembic_provider.bundle import provider_command
from alembic_provider.rendezvous import control, sockets, wire
from alembic_provider.rendezvous.settings import (
    Settings,
    UnsafeDirectoryError,
    private_directory,
    settings,
)

if TYPE_CHECKING:
    import subprocess

__all__ = ["handoff"]

_START_SECONDS = 30.0
_POLL_SECONDS = 0.01
# What the server itself needs from the first session's environment; nothing else of it (no
# secret) is kept by a process that outlives the session.
_SERVER_VARIABLES = ("PATH", "HOME", "LANG", "TMPDIR", "XDG_RUNTIME_DIR", "VIRTUAL_ENV")
_SERVER_PREFIXES = ("LC_", "PYTHON")


def handoff(argv: Sequence[str], environ: Mapping[str, str]) -> int | None:
    """Let the warm server serve this session; return its exit status, or None to serve here."""
    config = settings(environ)
    if not config.enabled:
        return None
    try:
        private_directory(config.directory)
        connection = _connect_or_start(config, environ)
        try:
            lines = wire.start_session(connection, argv, environ)
        except BaseException:
            connection.close()
            raise
    except (OSError, ValueError, UnsafeDirectoryError, sockets.ServerUnavailableError) as exc:
        sys.stderr.write(f"The warm server is not used for this session: {exc}\n")
        return None
    return wire.relay(lines)


def _connect_or_start(config: Settings, environ: Mapping[str, str]) -> socket.socket:
    with contextlib.suppress(FileNotFoundError, ConnectionRefusedError):
        return control.connect(config.socket_path)
    with sockets.locked(config.lock_path, _START_SECONDS):
        # Another starting process may have started the server while we waited for the lock.
        with contextlib.suppress(FileNotFoundError, ConnectionRefusedError):
            return control.connect(config.socket_path)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(config.socket_path)
        server = _spawn(config, environ)
        _prestart_worker()
        deadline = time.monotonic() + _START_SECONDS
        while True:
            with contextlib.suppress(FileNotFoundError, ConnectionRefusedError):
                return control.connect(config.socket_path)
            if server.poll() is not None:
                raise sockets.ServerUnavailableError(
                    f"the warm server exited at start ({server.returncode}); see {config.log_path}"
                )
            if time.monotonic() > deadline:
                raise sockets.ServerUnavailableError(
                    f"the warm server did not start within {_START_SECONDS:g} s"
                )
            time.sleep(_POLL_SECONDS)


def _prestart_worker() -> None:
    """Start the worker server of the provider's own interpreter beside the provider's server.

    A cold command imports the provider (in its server) and Alembic with SQLAlchemy (in the
    worker server its first database read needs) at the same time instead of one after the
    other. The provider's own interpreter is what ``python`` means when it is not set; a
    configuration that names another starts that one when it is validated, and this one then
    leaves once idle.
    """
    from alembic_provider.bundle import helper_python
    from alembic_provider.executor.process import Launch, WorkerProcesses, chooses_by_directory

    with contextlib.suppress(Exception):  # a worker server that cannot start here starts later
        command = (helper_python(),)
        if chooses_by_directory(command):
            return  # a wrapper picks its Python in the project's directory, not known yet
        WorkerProcesses().prestart(Launch(command, os.getcwd(), {}))


def _spawn(config: Settings, environ: Mapping[str, str]) -> subprocess.Popen[bytes]:
    import subprocess  # only the first session of a server needs it

    env = {
        key: value
        for key, value in environ.items()
        if key in _SERVER_VARIABLES or key.startswith(_SERVER_PREFIXES)
    }
    argv = [*provider_command(), "daemon", "serve"]
    argv += ["--socket", config.socket_path, "--idle", repr(config.idle_seconds)]
    with open(config.log_path, "wb") as log:
        return subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            cwd="/",
            env=env,
            start_new_session=True,
            close_fds=True,
        )
