"""The worker's side of the socket protocol: JSON lines, with descriptors passed alongside.

Requests and answers travel on a private socket, never on stdout, which env.py and the
migrations own. Standard library only; never imports the provider package.
"""

from __future__ import annotations

import array
import json
import socket
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    Result = dict[str, Any]

__all__ = ["PROTOCOL_VERSION", "line_buffered", "read_line", "send"]

PROTOCOL_VERSION = 3
_MAX_MESSAGE = 1024 * 1024


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
