"""The warm server: import once, then fork a fresh session process per provider start.

The server imports gRPC, the protocol buffers, cryptography and every module a session needs
before its handshake, then waits on its socket. It never reads a session's data: on a
``session`` request (``rendezvous/wire.py``) it forks at once, and the child alone receives
the standard streams, environment, working directory and arguments, takes them over as its
own, and serves Terraform exactly as a provider started directly would (``session.py``). The
connection to the starting process is the session's lifeline: when it closes, the session
shuts down as if Terraform had gone away.

The server answers only its own user (``SO_PEERCRED``), exits after its idle time without a
request, when asked to stop, or when its socket is removed or taken over, and leaves no
session behind on purpose: each session lives exactly as long as its starting process.
"""

from __future__ import annotations

import contextlib
import gc
import json
import os
import resource
import select
import signal
import socket
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Callable
from typing import Any, NamedTuple

from alembic_provider import __version__, provider_config
from alembic_provider.data_sources import current, revisions
from alembic_provider.entry.session import Ahead, prepare_ahead, serve_managed
from alembic_provider.plugin import services
from alembic_provider.plugin.tls import make_server_certificate
from alembic_provider.rendezvous import control, processes, sockets, wire
from alembic_provider.resources import common, stamp, upgrade

__all__ = ["run_server"]

# Everything a session imports before its handshake, so that a forked session imports
# nothing: the provider (``session`` above), the modules it imports only when it is built or
# serves (here), and the parts of the libraries that load on the first server or certificate.
_PRELOADED = (provider_config, current, revisions, services, common, stamp, upgrade)
_LIBRARIES = (
    "grpc._server",
    "grpc._interceptor",
    "concurrent.futures.thread",
    "queue",
    "cryptography.x509",
    "cryptography.hazmat.primitives.asymmetric.ec",
    "cryptography.hazmat.primitives.hashes",
    "cryptography.hazmat.primitives.serialization",
    "cryptography.hazmat.backends.openssl.backend",
)
# The installed package this server runs: what tells two installations' servers apart.
_INSTALLATION = os.path.dirname(os.path.dirname(os.path.realpath(__file__)))
_CHECK_SECONDS = 1.0
_REQUEST_SECONDS = 10.0
_SESSION_SECONDS = 30.0


def run_server(socket_path: str, idle_seconds: float) -> int:
    """Serve sessions on ``socket_path`` until idle, stopped or replaced; return the status."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    for name in _LIBRARIES:
        __import__(name)
    _warm_up()
    # What is imported now lasts as long as the server: the collector leaves it alone, so a
    # forked process does not copy every page of it by marking its objects. (No collection
    # first: it would cost the cold start's first session about 10 ms.)
    gc.freeze()
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    with contextlib.suppress(FileNotFoundError):
        os.unlink(socket_path)
    identity = sockets.listen(listener, socket_path)
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    # Sessions are not waited for: the kernel reaps them.
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)
    started = time.time()
    last = time.monotonic()
    served = fast = 0
    spare = _Spare()
    try:
        while not stopping.is_set():
            remaining = idle_seconds - (time.monotonic() - last)
            if remaining <= 0 or not sockets.still_ours(socket_path, identity):
                return 0
            spare.when_idle(listener)
            watched = [listener, *spare.channels()]
            ready, _, _ = select.select(watched, [], [], min(remaining, _CHECK_SECONDS))
            spare.collect(ready)
            if listener not in ready:
                continue
            connection, _ = listener.accept()
            with connection:
                if not sockets.same_user(connection):
                    continue
                op = _request(connection)
                if op in ("session", "session fast"):
                    # Only a session counts as use: asking for the status keeps nothing alive.
                    last = time.monotonic()
                    if not spare.take(connection):
                        _fork_session(connection, listener, spare.channels())
                    served += 1
                    fast += op == "session fast"
                elif op == "status":
                    usage = _Usage(started, last, served, fast)
                    control.send_message(connection, _status(socket_path, idle_seconds, usage))
                elif op == "stop":
                    control.send_message(connection, {"pid": os.getpid(), "stopping": True})
                    return 0
        return 0
    finally:
        spare.close()
        listener.close()
        if sockets.still_ours(socket_path, identity):
            with contextlib.suppress(OSError):
                os.unlink(socket_path)


def _warm_up() -> None:
    """Make one certificate and throw it away: the libraries' lazy set-up then happens once.

    The key made here is never used or kept; each session makes its own.
    """
    make_server_certificate()


def _request(connection: socket.socket) -> str | None:
    """Read the request: a ``session`` line (``wire.py``) or a JSON control request."""
    try:
        line = wire.read_line(connection, _REQUEST_SECONDS)
        if line.startswith(b"session"):
            return line.decode("ascii")
        op = json.loads(line).get("op")
    except Exception:  # a peer that speaks nonsense gets no answer
        return None
    return op if isinstance(op, str) else None


class _Usage(NamedTuple):
    """When the server started (wall clock), its last session (monotonic), sessions served."""

    started: float
    last: float
    served: int
    fast: int


def _status(path: str, idle: float, usage: _Usage) -> dict[str, Any]:
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    try:
        with open("/proc/self/statm") as statm:
            rss_kib = int(statm.read().split()[1]) * (os.sysconf("SC_PAGE_SIZE") // 1024)
    except (OSError, ValueError, IndexError):
        rss_kib = peak_kib
    return {
        "kind": "provider",
        "pid": os.getpid(),
        "version": __version__,
        "installation": _INSTALLATION,
        "interpreter": sys.executable,
        "socket": path,
        "idle_seconds": idle,
        "idle_for_seconds": round(time.monotonic() - usage.last, 1),
        "uptime_seconds": round(time.time() - usage.started, 1),
        "sessions": usage.served,
        "fast_starts": usage.fast,
        "rss_kib": rss_kib,
        "peak_rss_kib": peak_kib,
    }


class _Spare:
    """The next session's process, forked while the server is idle and prepared ahead.

    It starts its gRPC server (socket, certificate, threads: what needs nothing of a session,
    ``session.prepare_ahead``) and waits on its channel for the connection of the session it
    is to serve, so a provider start waits only for the session's own part. A spare leaves
    when its channel closes: the server exits, stops, or is killed.
    """

    def __init__(self) -> None:
        self._channel: socket.socket | None = None
        # A spare that ended untaken (it could not prepare) is not replaced until a session
        # comes: a server must not fork in a loop.
        self._resting = False

    def channels(self) -> list[socket.socket]:
        return [] if self._channel is None else [self._channel]

    def when_idle(self, listener: socket.socket) -> None:
        """Fork a spare unless there is one or a provider is already knocking."""
        if self._channel is not None or self._resting:
            return
        knocking, _, _ = select.select([listener], [], [], 0)
        if knocking:
            return
        ours, theirs = socket.socketpair()
        _fork(lambda: _wait_as_spare(theirs), listener, ours)
        theirs.close()
        self._channel = ours

    def collect(self, readable: list[Any]) -> None:
        """A spare says nothing while it waits: its channel is readable only once it has gone."""
        if self._channel is not None and self._channel in readable:
            self.close()
            self._resting = True

    def take(self, connection: socket.socket) -> bool:
        """Hand ``connection`` to the spare; False when there is none to take it."""
        channel, self._channel = self._channel, None
        self._resting = False
        if channel is None:
            return False
        with channel:
            try:
                socket.send_fds(channel, [b"s"], [connection.fileno()])
            except OSError:
                return False
        return True

    def close(self) -> None:
        if self._channel is not None:
            self._channel.close()
            self._channel = None


def _wait_as_spare(channel: socket.socket) -> int:
    """Be the spare: prepare ahead, then serve the session whose connection comes, if one does."""
    _lead_session()
    ahead = prepare_ahead()
    try:
        _, fds, _, _ = socket.recv_fds(channel, 1, 1)
    except OSError:
        fds = []
    channel.close()
    if not fds:
        ahead.prepared.discard()
        return 0
    connection = socket.socket(fileno=fds[0])
    with connection:
        try:
            return _session(connection, ahead)
        finally:
            ahead.prepared.listener.remove()


def _lead_session() -> None:
    """Leave the server's signal handling and process group: lead a session of its own."""
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    os.setsid()


def _fork_session(
    connection: socket.socket, listener: socket.socket, others: list[socket.socket]
) -> None:
    _fork(lambda: _session(connection), listener, *others)


def _fork(child: Callable[[], int], *closed: socket.socket) -> None:
    """Fork a process that closes ``closed`` (the server's own sockets), runs ``child`` and
    exits with its status; the server returns at once."""
    sys.stdout.flush()
    sys.stderr.flush()
    if os.fork() != 0:
        return
    status = 70
    try:
        for sock in closed:
            sock.close()
        status = child()
    except BaseException:
        with contextlib.suppress(Exception):
            traceback.print_exc()
    finally:
        with contextlib.suppress(Exception):
            sys.stdout.flush()
            sys.stderr.flush()
        os._exit(status)


def _session(connection: socket.socket, ahead: Ahead | None = None) -> int:
    """Become the session the starting process describes, serve it, report the exit status.

    :param ahead: the gRPC server a spare started for it (``_Spare``), already its own
        session leader.
    """
    if ahead is None:
        _lead_session()
    wire.send_line(connection, f"pid {os.getpid()}")
    session = wire.receive_session(connection, _SESSION_SECONDS)
    for target, descriptor in enumerate(session.fds):
        os.dup2(descriptor, target)
        if descriptor > 2:
            os.close(descriptor)
    os.umask(session.umask)
    os.chdir(session.cwd)
    os.environ.clear()
    os.environ.update(session.environ)
    sys.argv = session.argv
    tempfile.tempdir = None  # chosen again from this session's TMPDIR
    time.tzset()  # this session's TZ
    wire.send_line(connection, "started")
    # The starting process is the one Terraform started (the launcher execs it): its parent is
    # the Terraform command this session serves.
    terraform = processes.parent(sockets.peer_pid(connection))
    status = serve_managed(watch=_lifeline(connection), terraform=terraform or -1, ahead=ahead)
    with contextlib.suppress(OSError):
        wire.send_line(connection, f"status {status}")
    return status


def _lifeline(connection: socket.socket) -> Callable[[threading.Event], None]:
    """Watch the starting process: once its end of the connection closes, shut down."""

    def watch(shutdown: threading.Event) -> None:
        with contextlib.suppress(OSError):
            while connection.recv(64):
                pass
        shutdown.set()

    return watch
