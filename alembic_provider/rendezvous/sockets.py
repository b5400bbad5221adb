"""Per-user unix sockets: bind and reach them, serve only this user, hold the start-up lock.

Imports nothing but the standard library's C modules (``_socket``, ``os``, ``sys``; ``fcntl``
and ``time`` only when locking), and nothing of this package, not even its siblings: the
launcher's fast start imports it without ``site``, and the worker, which runs by path in the
user's interpreter (Python 3.8 and later) and cannot import the package, loads this file by its
path. Keep it that way: no ``contextlib``, ``typing`` or ``socket`` module, no newer syntax.
"""

from __future__ import annotations

import _socket
import os
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = [
    "ServerUnavailableError",
    "connect",
    "listen",
    "locked",
    "peer_pid",
    "peer_uid",
    "reachable",
    "same_user",
    "still_ours",
]

_SOCKET_PATH_LIMIT = 100
_INT = 4  # bytes of a C int, as SO_PEERCRED carries pid, uid and gid
_LOCK_POLL_SECONDS = 0.01


class ServerUnavailableError(Exception):
    """The server behind a socket cannot take this request; do without it."""


class reachable:  # noqa: N801 (used as a function: ``with reachable(path) as address``)
    """Give an address for the unix socket ``path`` that fits the kernel's 108-byte limit.

    A long path is reached through a descriptor of its directory (``/proc/self/fd/N/name``),
    open for as long as the ``with`` block lasts.
    """

    __slots__ = ("_directory", "_path")

    def __init__(self, path: str) -> None:
        self._path = path
        self._directory: int | None = None

    def __enter__(self) -> str:
        if len(os.fsencode(self._path)) < _SOCKET_PATH_LIMIT:
            return self._path
        self._directory = os.open(os.path.dirname(self._path), os.O_RDONLY | os.O_DIRECTORY)
        return f"/proc/self/fd/{self._directory}/{os.path.basename(self._path)}"

    def __exit__(self, *_exc: object) -> None:
        if self._directory is not None:
            os.close(self._directory)
            self._directory = None


def peer_uid(connection: Any) -> int:
    """Return the user id of the process at the other end of the unix socket ``connection``."""
    credentials = connection.getsockopt(_socket.SOL_SOCKET, _socket.SO_PEERCRED, 3 * _INT)
    return int.from_bytes(credentials[_INT : 2 * _INT], sys.byteorder)


def peer_pid(connection: Any) -> int:
    """Return the process id of the process at the other end of the unix socket ``connection``."""
    credentials = connection.getsockopt(_socket.SOL_SOCKET, _socket.SO_PEERCRED, 3 * _INT)
    return int.from_bytes(credentials[:_INT], sys.byteorder)


def same_user(connection: Any) -> bool:
    """Return whether the peer of ``connection`` runs as this process's user."""
    return peer_uid(connection) == os.getuid()


def connect(path: str) -> _socket.socket:
    """Connect to the unix socket ``path`` and check it is served by this user.

    :raises ServerUnavailableError: when another user serves it.
    """
    connection = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
    try:
        with reachable(path) as address:
            connection.connect(address)
        uid = peer_uid(connection)
        if uid != os.getuid():
            raise ServerUnavailableError(
                f"the socket '{path}' is served by another user (uid {uid})"
            )
    except BaseException:
        connection.close()
        raise
    return connection


def listen(listener: Any, path: str, backlog: int = 64) -> int:
    """Bind the unix socket ``listener`` to ``path`` (mode 0600) and listen; return its identity.

    The identity (the socket file's inode) tells :func:`still_ours` whether the file at
    ``path`` is still this listener's, or was removed or taken over by another server.
    """
    previous = os.umask(0o177)
    try:
        with reachable(path) as address:
            listener.bind(address)
    finally:
        os.umask(previous)
    listener.listen(backlog)
    return os.stat(path).st_ino


def still_ours(path: str, identity: int) -> bool:
    """Return whether the socket file at ``path`` is still the one :func:`listen` bound."""
    try:
        return os.stat(path).st_ino == identity
    except OSError:
        return False


class locked:  # noqa: N801 (used as a function: ``with locked(path, timeout):``)
    """Hold the exclusive lock file ``path``, so that one process at a time starts a server.

    :raises ServerUnavailableError: when another process holds it past ``timeout`` seconds.
    """

    __slots__ = ("_descriptor", "_path", "_timeout")

    def __init__(self, path: str, timeout: float) -> None:
        self._path = path
        self._timeout = timeout
        self._descriptor = -1

    def __enter__(self) -> None:
        import fcntl  # only a process that starts a server locks
        import time

        self._descriptor = os.open(self._path, os.O_RDWR | os.O_CREAT, 0o600)
        deadline = time.monotonic() + self._timeout
        try:
            while True:
                try:
                    fcntl.flock(self._descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    return
                except BlockingIOError:
                    if time.monotonic() > deadline:
                        raise ServerUnavailableError(
                            f"another process kept the lock '{self._path}' for more than "
                            f"{self._timeout:g} s while starting its server"
                        ) from None
                    time.sleep(_LOCK_POLL_SECONDS)
        except BaseException:
            self.__exit__()
            raise

    def __exit__(self, *_exc: object) -> None:
        if self._descriptor >= 0:
            os.close(self._descriptor)
            self._descriptor = -1
