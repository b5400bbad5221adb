"""The worker's side of the socket protocol: JSON lines, with descriptors passed alongside.

Requests and answers travel on a private socket, never on stdout, which env.py and the
migrations own. Standard library only; never imports the provider package. The per-user socket
primitives a shared server needs (binding in the private directory, serving only this user,
noticing that its socket was taken over) are the provider's own ``rendezvous/sockets.py``,
loaded here by its path: it ships beside this directory in the package, and imports nothing
but the standard library.
"""

from __future__ import annotations

import array
import importlib.util
import json
import os
import socket
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable
    from types import ModuleType

    Result = dict[str, Any]

__all__ = [
    "PROTOCOL_VERSION",
    "RENDEZVOUS_PROCESSES",
    "RENDEZVOUS_SOCKETS",
    "line_buffered",
    "listen_unix",
    "load_by_path",
    "read_line",
    "same_user",
    "send",
    "still_ours",
]

PROTOCOL_VERSION = 5
_MAX_MESSAGE = 1024 * 1024
# alembic_provider/executor/worker/ -> alembic_provider/rendezvous/sockets.py
_PACKAGE = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
RENDEZVOUS_SOCKETS = os.path.join(_PACKAGE, "rendezvous", "sockets.py")
RENDEZVOUS_PROCESSES = os.path.join(_PACKAGE, "rendezvous", "processes.py")


def load_by_path(path: str, name: str) -> ModuleType:
    """Load the standard-library-only module at ``path`` under ``name`` (no bytecode written)."""
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None or not os.path.isfile(path):
        raise ImportError(
            f"The provider file '{path}' the worker needs is missing; reinstall the provider."
        )
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


_sockets = load_by_path(RENDEZVOUS_SOCKETS, "tfalembic_rendezvous_sockets")
listen_unix: Callable[[socket.socket, str], int] = _sockets.listen
same_user: Callable[[socket.socket], bool] = _sockets.same_user
still_ours: Callable[[str, int], bool] = _sockets.still_ours


def line_buffered() -> None:
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(line_buffering=True)


def read_line(sock: socket.socket, pending: bytearray, fds: list[int]) -> bytes | None:
    """Read one JSON line, collecting any descriptors sent along with it."""
    numbers = array.array("i")
    while b"\n" not in pending:
        data, ancillary, _flags, _address = sock.recvmsg(
            65536, socket.CMSG_SPACE(4 * numbers.itemsize)
        )
        for level, kind, payload in ancillary:
            if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                numbers.frombytes(payload[: len(payload) - len(payload) % numbers.itemsize])
        fds.extend(numbers)
        del numbers[:]
        if not data:
            return None
        pending.extend(data)
        if len(pending) > _MAX_MESSAGE:
            raise ValueError("request line too long")
    line, _, rest = bytes(pending).partition(b"\n")
    pending[:] = rest
    return line


def send(sock: socket.socket, message: Result) -> None:
    sock.sendall(json.dumps(message).encode("utf-8") + b"\n")
