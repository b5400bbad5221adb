"""Control requests to this user's servers: one JSON line each way (``status``, ``stop``).

Both servers that listen in the private directory answer them: the warm server of a
provider installation and the shared worker servers. Standard library only; the launcher's
fast start never needs it (``json`` would cost it its start-up time).
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
from collections.abc import Mapping, Sequence
from typing import Any

from alembic_provider.rendezvous import sockets, wire
from alembic_provider.rendezvous.settings import Settings

__all__ = ["connect", "query", "read_message", "send_message", "stop_all"]


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
    """Send a control request (``status``, ``stop``) to the server at ``path``; return its reply."""
    with connect(path) as connection:
        send_message(connection, {"op": op})
        return read_message(connection, wire.REPLY_SECONDS)


def stop_all(config: Settings) -> list[str]:
    """Stop every server of this user (any version); return what was done, one line each."""
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
            reply = query(path, "stop")
            done.append(f"Stopped the warm server {reply.get('pid')} ({path}).")
        except (OSError, ValueError, sockets.ServerUnavailableError):
            with contextlib.suppress(OSError):
                os.unlink(path)
            done.append(f"Removed the stale socket {path}.")
    return done
