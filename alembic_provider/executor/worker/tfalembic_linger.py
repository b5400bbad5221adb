"""A worker stays for the next request of its own Terraform command, with the same environment.

Terraform runs one command as several provider processes: ``terraform apply`` refreshes in
one and applies in the next, and each asks a worker to run env.py, which imports the
application's models each time; and each of the apply's two plans reviews the pending
revisions. A worker whose request succeeded after importing what the server had not imported,
or that remembers reviews, stays, idle, for the next request with the same key. The provider
computes the key: the same Terraform process (pid and start time), interpreter, directory,
configuration, umask and whole environment (but the plugin handshake's variables, which
differ in each provider process). So a command imports its application once, and no process ever
serves two commands: the worker leaves as soon as its Terraform process has ended, or when the
server closes its channel (the server exits, finds it idle for ``IDLE_SECONDS``, or keeps a
newer worker for that key). Before it serves again it checks the files of every module it has
loaded; if one changed, the request runs in a fresh interpreter (``worker run``) instead.

The server's side (:class:`Lingering`) keeps the channels of such workers by key and hands a
request's two descriptors to an idle one; the worker's side (:class:`Stay`) promises to come
back and waits on its channel. Standard library only; never imports the provider package.
"""

from __future__ import annotations

import array
import os
import select
import socket
import sys
import time
from typing import TYPE_CHECKING, Any

from tfalembic_files import identity, recent
from tfalembic_wire import RENDEZVOUS_PROCESSES, load_by_path, read_line

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable
    from typing import NoReturn

__all__ = ["IDLE_SECONDS", "IMPORTS", "LINGERING", "Lingering", "Stay"]

#: A request that imported fewer modules than this (everything env.py needed was in the
#: server already) gains nothing by staying: the next request is forked afresh.
IMPORTS = 1
#: How long the server keeps an idle worker for its command.
IDLE_SECONDS = 600.0
#: Idle workers a server keeps at once; the one idle longest leaves first.
MOST_IDLE = 4
# How often an idle worker looks whether its Terraform process still runs.
_LOOK_SECONDS = 0.5
_WORKER_DIRECTORY = os.path.dirname(os.path.abspath(__file__))

_processes = load_by_path(RENDEZVOUS_PROCESSES, "tfalembic_rendezvous_processes")


class Lingering:
    """The server's workers that may stay for their command: channel, key, pid, idle since."""

    def __init__(self) -> None:
        self._keys: dict[socket.socket, str] = {}
        self._pids: dict[socket.socket, int] = {}
        self._idle: dict[str, tuple[socket.socket, float]] = {}

    def channel(self) -> tuple[socket.socket, socket.socket]:
        """A channel for a worker about to be forked: (the server's end, the worker's end)."""
        return socket.socketpair()

    def adopt(self, sock: socket.socket, key: str, pid: int) -> None:
        """Remember the server's end of a forked worker's channel; it says when it is idle."""
        self._keys[sock] = key
        self._pids[sock] = pid

    def fds(self) -> list[socket.socket]:
        return list(self._keys)

    def timeout(self, default: float | None) -> float | None:
        """How long the server may wait in select: while workers are idle, it wakes to let go
        those idle too long."""
        if not self._idle:
            return default
        return _LOOK_SECONDS * 2 if default is None else min(default, _LOOK_SECONDS * 2)

    def collect(self, readable: Iterable[Any]) -> None:
        """Take what idle workers said (or their exit), and let go those idle too long."""
        for sock in readable:
            if sock not in self._keys:
                continue
            try:
                data = sock.recv(4096)
            except OSError:
                data = b""
            if not data:
                self._drop(sock)
            elif b"idle" in data:
                self._now_idle(sock)
        now = time.monotonic()
        for sock, since in list(self._idle.values()):
            if now - since > IDLE_SECONDS:
                self._drop(sock)

    def take(self, key: str | None, fds: list[int]) -> int | None:
        """Hand ``fds`` to the idle worker for ``key``; its pid, or None to fork instead."""
        sock = None if key is None else self._idle.pop(key, (None, 0.0))[0]
        if sock is None:
            return None
        try:
            sock.sendmsg(
                [b"serve\n"], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", fds))]
            )
        except OSError:
            self._drop(sock)
            return None
        return self._pids[sock]

    def status(self) -> dict[str, Any]:
        return {"lingering_workers": len(self._idle)}

    def _now_idle(self, sock: socket.socket) -> None:
        key = self._keys[sock]
        older = self._idle.pop(key, None)
        if older is not None and older[0] is not sock:
            self._drop(older[0])
        self._idle[key] = (sock, time.monotonic())
        while len(self._idle) > MOST_IDLE:
            self._drop(next(iter(self._idle.values()))[0])

    def _drop(self, sock: socket.socket) -> None:
        """Close a worker's channel: an idle worker leaves when it reads the end of file."""
        key = self._keys.pop(sock, None)
        self._pids.pop(sock, None)
        if key is not None and self._idle.get(key, (None, 0.0))[0] is sock:
            del self._idle[key]
        sock.close()


#: The one registry of a worker server.
LINGERING = Lingering()


class Stay:
    """A worker's promise to its server that it serves its command's next request.

    The promise is made just before an answer goes out (:meth:`offer`), so that the server
    knows the worker is coming back before the provider can ask again: the next request of
    an apply often follows its answer within a millisecond.
    """

    def __init__(self, channel: socket.socket, command: str) -> None:
        self.channel = channel
        self.command = command
        self.promised = False
        # The modules themselves, not their names: a request may drop a kept module and import
        # it afresh under the same name (``tfalembic_keep.settle``).
        self._before: dict[str, Any] | None = dict(sys.modules)
        self._served = False
        self._started = time.time_ns()

    def offer(self, response: dict[str, Any], *, holds: bool = False) -> None:
        """Promise the next request if this one succeeded and is worth staying for.

        :param holds: the process remembers work a fresh one would do again (the reviews of
            pending revisions); else it stays only when it imported enough.
        """
        before, self._before = self._before, None
        worth = self._served or holds or (before is not None and _imported(before) >= IMPORTS)
        self.promised = bool(response.get("ok")) and worth
        if self.promised:
            try:
                self.channel.sendall(b"idle\n")
            except OSError:
                self.promised = False

    def keep(self, serve: Callable[[list[int]], object]) -> NoReturn:
        """Serve requests as promised until the command or the server is gone; then exit.

        :param serve: answers the request on its two descriptors, calling :meth:`offer`.
        """
        while self.promised:
            files = _module_files(self._started)
            fds = _next_request(self.channel, self.command)
            if fds is None:
                os._exit(0)
            if _changed(files):
                _serve_fresh(fds)
            self.promised = False
            self._served = True
            self._started = time.time_ns()
            serve(fds)
        os._exit(0)


def _imported(before: dict[str, Any]) -> int:
    """How many modules are new since ``before``, or imported afresh under an old name."""
    return sum(1 for name, module in list(sys.modules.items()) if before.get(name) is not module)


def _next_request(channel: socket.socket, command: str) -> list[int] | None:
    """The two descriptors of the next request; None once the command or the server is gone."""
    pending = bytearray()
    while True:
        ready, _, _ = select.select([channel], [], [], _LOOK_SECONDS)
        if not ready:
            if not _processes.alive(command):
                return None
            continue
        fds: list[int] = []
        try:
            line = read_line(channel, pending, fds)
        except (OSError, ValueError):
            line = None
        if line is None or len(fds) != 2:
            for extra in fds:
                os.close(extra)
            return None
        return fds


def _module_files(since_ns: int) -> dict[str, tuple[int, ...] | None]:
    """The size, times and inode of every loaded module's file.

    A file changed after the request that may have imported it began (``since_ns``, less the
    quiet time of ``tfalembic_files``) may have changed after its import: it is recorded as
    unknown, which counts as changed.
    """
    files: dict[str, tuple[int, ...] | None] = {}
    for module in list(sys.modules.values()):
        path = getattr(module, "__file__", None)
        if isinstance(path, str) and path not in files:
            seen = identity(path)
            files[path] = None if seen is None or recent(seen, since_ns) else seen
    return files


def _changed(files: dict[str, tuple[int, ...] | None]) -> bool:
    return any(seen is None or identity(path) != seen for path, seen in files.items())


def _serve_fresh(fds: list[int]) -> NoReturn:
    """A module file changed: answer this request in a new interpreter, as ``worker run``."""
    os.dup2(fds[1], 1)
    os.dup2(fds[1], 2)
    os.close(fds[1])
    os.set_inheritable(fds[0], True)
    argv = [sys.executable, "-B", _WORKER_DIRECTORY, "run", str(fds[0])]
    try:
        os.execv(sys.executable, argv)
    finally:
        os._exit(70)
