"""Control requests to this user's servers: one JSON line each way (``status``, ``stop``).

Both kinds of server that listen in the private directory answer them: the warm server of a
provider installation (``v….sock``) and the shared Alembic worker servers (``worker-….sock``),
which greet every connection with their ready line first. Standard library only; the
launcher's fast start never needs it (``json`` would cost it its start-up time).
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import time
from collections.abc import Mapping, Sequence
from typing import Any

from alembic_provider.rendezvous import sockets, wire
from alembic_provider.rendezvous.settings import Settings

__all__ = [
    "Server",
    "connect",
    "query",
    "read_message",
    "send_message",
    "servers",
    "stop_all",
]

WORKER_PREFIX = "worker-"
# What the servers and their starters leave in the directory: sockets, start-up locks, the
# provider server's log, and the marker of a worker server that could not import Alembic.
_LEFTOVERS = (".sock", ".lock", ".log", ".sock.failed")
_EXIT_SECONDS = 10.0
_POLL_SECONDS = 0.02


class Server:
    """One socket in the directory and what its server said (``None``: nothing answers)."""

    __slots__ = ("path", "status")

    def __init__(self, path: str, status: dict[str, Any] | None) -> None:
        self.path = path
        self.status = status

    @property
    def worker(self) -> bool:
        return os.path.basename(self.path).startswith(WORKER_PREFIX)


def connect(path: str) -> socket.socket:
    """Connect to the unix socket ``path`` and check it is served by this user.

    :raises ServerUnavailableError: when another user serves it.
    """
    return socket.socket(fileno=sockets.connect(path).detach())


def send_message(
    connection: socket.socket, message: Mapping[str, Any], fds: Sequence[int] = ()
) -> None:
    """Send ``message`` as one JSON line, with the descriptors ``fds`` alongside."""
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
        raise sockets.ServerUnavailableError("the warm server hung up") from exc
    message = json.loads(line)
    if not isinstance(message, dict):
        raise ValueError("the warm server sent something other than an object")
    return message


def query(path: str, op: str) -> dict[str, Any]:
    """Send a control request (``status``, ``stop``) to the server at ``path``; return its reply.

    A worker server's ready line, which comes first on every connection, is skipped.
    """
    with connect(path) as connection:
        send_message(connection, {"op": op})
        while True:
            reply = read_message(connection, wire.REPLY_SECONDS)
            if "ready" not in reply:
                return reply


def servers(config: Settings) -> list[Server]:
    """Ask every server of this user (any version or installation) for its status.

    Provider warm servers come first, this installation's before the others, then the worker
    servers; each group by socket name.
    """
    found = []
    for name in _names(config.directory):
        if not name.endswith(".sock"):
            continue
        path = os.path.join(config.directory, name)
        try:
            status: dict[str, Any] | None = query(path, "status")
        except (OSError, ValueError, sockets.ServerUnavailableError):
            status = None
        found.append(Server(path, status))
    found.sort(key=lambda server: (server.worker, server.path != config.socket_path, server.path))
    return found


def stop_all(config: Settings) -> list[str]:
    """Stop every server of this user and remove what they leave; return what was done.

    Returns once the stopped servers have exited (or ``_EXIT_SECONDS`` passed), so that their
    files can go too: nothing is left in the directory but what a server still running, or
    one being started right now, uses.
    """
    done: list[str] = []
    stopped: list[int] = []
    for name in _names(config.directory):
        if not name.endswith(".sock"):
            continue
        path = os.path.join(config.directory, name)
        kind = "worker server" if name.startswith(WORKER_PREFIX) else "warm server"
        try:
            reply = query(path, "stop")
        except (OSError, ValueError, sockets.ServerUnavailableError):
            continue  # nothing answers: removed below as left behind
        pid = reply.get("pid")
        if isinstance(pid, int):
            stopped.append(pid)
        done.append(f"Stopped the {kind} {pid} ({path}).")
    deadline = time.monotonic() + _EXIT_SECONDS
    while any(map(_running, stopped)) and time.monotonic() < deadline:
        time.sleep(_POLL_SECONDS)
    removed = [name for name in _names(config.directory) if _remove_leftover(config, name)]
    if removed:
        done.append(f"Removed what was left behind in {config.directory}: {', '.join(removed)}.")
    return done


def _names(directory: str) -> list[str]:
    try:
        return sorted(os.listdir(directory))
    except FileNotFoundError:
        return []


def _remove_leftover(config: Settings, name: str) -> bool:
    """Remove the file ``name`` if it is ours and nothing uses it; return whether it went."""
    if not name.endswith(_LEFTOVERS):
        return False
    path = os.path.join(config.directory, name)
    if name.endswith(".sock"):
        try:
            connect(path).close()
            return False  # a server answers there (one started meanwhile)
        except (OSError, sockets.ServerUnavailableError):
            pass
    if name.endswith(".lock"):
        return _remove_lock(path)
    try:
        os.unlink(path)
    except OSError:
        return False
    return True


def _remove_lock(path: str) -> bool:
    """Remove a start-up lock that nobody holds (a server being started keeps its lock)."""
    try:
        descriptor = os.open(path, os.O_RDWR)
    except OSError:
        return False
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        os.unlink(path)
    except OSError:
        return False
    finally:
        os.close(descriptor)
    return True


def _running(pid: int) -> bool:
    """Whether ``pid`` runs; a zombie waiting for its parent counts as gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            # The command name in parentheses may hold any byte: the state follows the last ')'.
            return stat.read().rpartition(b")")[2].split()[0] != b"Z"
    except OSError:  # gone, or reaped while being read
        return False
