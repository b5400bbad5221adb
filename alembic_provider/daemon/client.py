"""The starting process's side: hand this session to the warm server and relay its exit status.

Runs in the process Terraform starts, before anything heavy is imported: standard library only.
:func:`handoff` connects to this installation's server (starting it when there is none), checks
that the server runs as this user, passes the standard streams with ``SCM_RIGHTS`` together
with the environment, working directory, umask and arguments (the exchange in ``wire.py``, which
the launcher's fast start shares), then waits. The forked session watches this connection as
its lifeline: when this process dies, the session stops. Until the session confirms it has
taken over, any failure returns ``None`` and the caller serves in this process as if there were
no server, so a broken or killed server never breaks a command. Control requests (``status``,
``stop``) are JSON lines.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import socket
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import subprocess

from alembic_provider.daemon import wire
from alembic_provider.daemon.settings import (
    ENABLE_VARIABLE,
    Settings,
    UnsafeDirectoryError,
    private_directory,
    settings,
)

__all__ = [
    "ENABLE_VARIABLE",
    "ServerUnavailableError",
    "connect",
    "handoff",
    "locked",
    "query",
    "read_message",
    "send_message",
    "stop_all",
]

_START_SECONDS = 30.0
_REPLY_SECONDS = wire.REPLY_SECONDS
_POLL_SECONDS = 0.01
# What the server itself needs from the first session's environment; nothing else of it (no
# secret) is kept by a process that outlives the session.
_SERVER_VARIABLES = ("PATH", "HOME", "LANG", "TMPDIR", "XDG_RUNTIME_DIR", "VIRTUAL_ENV")
_SERVER_PREFIXES = ("LC_", "PYTHON")

ServerUnavailableError = wire.ServerUnavailableError


def handoff(argv: Sequence[str], environ: Mapping[str, str]) -> int | None:
    """Let the warm server serve this session; return its exit status, or None to serve here."""
    config = settings(environ)
    if not config.enabled:
        return None
    try:
        private_directory(config.directory)
        connection = _connect_or_start(config, environ)
        try:
            pid, lines = wire.start_session(connection, argv, environ)
        except BaseException:
            connection.close()
            raise
    except (OSError, ValueError, UnsafeDirectoryError, ServerUnavailableError) as exc:
        sys.stderr.write(f"The warm server is not used for this session: {exc}\n")
        return None
    return wire.relay(lines, pid)


def query(config: Settings, path: str, op: str) -> dict[str, Any]:
    """Send a control request (``status``, ``stop``) to the server at ``path``; return its reply."""
    with _connect(path) as connection:
        send_message(connection, {"op": op})
        return read_message(connection, _REPLY_SECONDS)


def stop_all(config: Settings) -> list[str]:
    """Stop every warm server of this user (any version); return what was done, one line each."""
    done: list[str] = []
    try:
        names = sorted(os.listdir(config.directory))
    except FileNotFoundError:
        return done
    for name in names:
        if not name.endswith(".sock"):
            continue
        path = os.path.join(config.directory, name)
        try:
            reply = query(config, path, "stop")
            done.append(f"Stopped the warm server {reply.get('pid')} ({path}).")
        except (OSError, ValueError, ServerUnavailableError):
            with contextlib.suppress(OSError):
                os.unlink(path)
            done.append(f"Removed the stale socket {path}.")
    return done


def send_message(
    connection: socket.socket, message: Mapping[str, Any], fds: Sequence[int] = ()
) -> None:
    data = json.dumps(dict(message)).encode("utf-8") + b"\n"
    if fds:
        socket.send_fds(connection, [data], list(fds))
    else:
        connection.sendall(data)


def read_message(connection: socket.socket, timeout: float | None) -> dict[str, Any]:
    """Read one JSON line; raise when the peer hangs up or stays silent past ``timeout``."""
    try:
        line = wire.read_line(connection, timeout)
    except ConnectionError as exc:
        raise ServerUnavailableError("the warm server hung up") from exc
    message = json.loads(line)
    if not isinstance(message, dict):
        raise ValueError("the warm server sent something other than an object")
    return message


def connect(path: str) -> socket.socket:
    """Connect to the unix socket ``path`` and check it is served by this user.

    :raises ServerUnavailableError: when another user serves it.
    """
    return _connect(path)


@contextlib.contextmanager
def locked(path: str) -> Iterator[None]:
    """Hold the exclusive lock file ``path`` (starting a server happens once at a time)."""
    with _locked(path):
        yield


def _connect(path: str) -> socket.socket:
    return socket.socket(fileno=wire.connect(path).detach())


def _connect_or_start(config: Settings, environ: Mapping[str, str]) -> socket.socket:
    with contextlib.suppress(FileNotFoundError, ConnectionRefusedError):
        return _connect(config.socket_path)
    with _locked(config.lock_path):
        # Another starting process may have started the server while we waited for the lock.
        with contextlib.suppress(FileNotFoundError, ConnectionRefusedError):
            return _connect(config.socket_path)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(config.socket_path)
        server = _spawn(config, environ)
        deadline = time.monotonic() + _START_SECONDS
        while True:
            with contextlib.suppress(FileNotFoundError, ConnectionRefusedError):
                return _connect(config.socket_path)
            if server.poll() is not None:
                raise ServerUnavailableError(
                    f"the warm server exited at start ({server.returncode}); see {config.log_path}"
                )
            if time.monotonic() > deadline:
                raise ServerUnavailableError(
                    f"the warm server did not start within {_START_SECONDS:g} s"
                )
            time.sleep(_POLL_SECONDS)


@contextlib.contextmanager
def _locked(path: str) -> Iterator[None]:
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        deadline = time.monotonic() + _START_SECONDS
        while True:
            try:
                fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise ServerUnavailableError(
                        "another process keeps starting the warm server"
                    ) from None
                time.sleep(_POLL_SECONDS)
        yield
    finally:
        os.close(descriptor)


def _spawn(config: Settings, environ: Mapping[str, str]) -> subprocess.Popen[bytes]:
    import subprocess  # only the first session of a server needs it

    env = {
        key: value
        for key, value in environ.items()
        if key in _SERVER_VARIABLES or key.startswith(_SERVER_PREFIXES)
    }
    argv = [sys.executable, "-m", "alembic_provider", "daemon", "serve"]
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
