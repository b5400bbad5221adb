"""The session exchange between the process Terraform starts and the warm server, both ends.

Standard library modules written in C only (``_socket``, ``select``, ``_signal``, ``os``): the
launcher's fast start imports this without ``site``, and ``entry/handoff.py`` and the warm
server use it too, so there is one implementation of the exchange. One session, line by line::

    starting process                        warm server, then the forked session
    session | session fast          ->
                                    <-      pid N           (the forked session's pid)
    header, fields; fds 0 1 2       ->                      (SCM_RIGHTS)
                                    <-      started         (the session has taken over)
                                    <-      status N        (its exit status, at the end)

The header is ``UMASK ARGC ENVC SIZE`` (decimal) and a newline, then ``SIZE`` bytes of
NUL-terminated fields: the working directory, ``ARGC`` arguments and ``ENVC`` environment
entries ``NAME=value``. The operating system keeps NUL out of all of them, so no escaping is
needed. Both ends check that the peer runs as the same user (``sockets.py``).
"""

from __future__ import annotations

import _signal  # type: ignore[import-not-found]  # the signal module would import enum
import _socket
import os
import select
import sys

from alembic_provider.rendezvous.sockets import ServerUnavailableError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from types import FrameType

__all__ = [
    "REPLY_SECONDS",
    "Lines",
    "Session",
    "read_line",
    "receive_session",
    "relay",
    "send_line",
    "start_session",
]

REPLY_SECONDS = 30.0
"""How long the starting process waits for each of the server's replies before giving up."""
_PARENT_POLL_SECONDS = 1.0
_MAX_LINE = 4096
_MAX_SESSION = 64 * 1024 * 1024
_INT = 4  # bytes of a C int, as SCM_RIGHTS carries descriptors
_FORWARDED = (_signal.SIGTERM, _signal.SIGHUP, _signal.SIGQUIT)


class Session:
    """What the starting process handed over: become exactly this, then serve."""

    __slots__ = ("argv", "cwd", "environ", "fds", "umask")

    def __init__(
        self, argv: list[str], environ: dict[str, str], cwd: str, umask: int, fds: list[int]
    ) -> None:
        self.argv = argv
        self.environ = environ
        self.cwd = cwd
        self.umask = umask
        self.fds = fds


class Lines:
    """Read the server's reply lines from ``connection``, keeping what arrived early."""

    __slots__ = ("connection", "pending")

    def __init__(self, connection: _socket.socket) -> None:
        self.connection = connection
        self.pending = b""

    def line(self, timeout: float | None) -> bytes:
        """Return the next line without its newline; raise when the peer hangs up or is silent."""
        self.connection.settimeout(timeout)
        while b"\n" not in self.pending:
            chunk = self.connection.recv(256)
            if not chunk:
                raise ServerUnavailableError("the warm server hung up")
            self.pending += chunk
            if len(self.pending) > _MAX_LINE:
                raise ValueError("the warm server sent an overlong line")
        line, _, self.pending = self.pending.partition(b"\n")
        return line


def send_line(connection: _socket.socket, text: str) -> None:
    connection.sendall(text.encode("ascii") + b"\n")


def read_line(connection: _socket.socket, timeout: float | None) -> bytes:
    """Read one request line byte by byte (nothing after it is consumed); without the newline."""
    connection.settimeout(timeout)
    pending = b""
    while not pending.endswith(b"\n"):
        chunk = connection.recv(1)
        if not chunk:
            raise ConnectionError("the peer hung up before the end of its line")
        pending += chunk
        if len(pending) > _MAX_LINE:
            raise ValueError("the peer sent an overlong line")
    return pending[:-1]


def start_session(
    connection: _socket.socket,
    argv: Sequence[str],
    environ: Mapping[str, str],
    *,
    fast: bool = False,
) -> Lines:
    """Hand this process's session over; once it has taken over, return its connection's lines
    (its exit status comes there, :func:`relay`) with its signals forwarded to it.

    :param fast: say that the launcher's fast start asks (the server counts those).
    :raises ServerUnavailableError: when the server does not fork or the session does not start.
    """
    lines = Lines(connection)
    connection.settimeout(REPLY_SECONDS)
    connection.sendall(b"session fast\n" if fast else b"session\n")
    word, _, number = lines.line(REPLY_SECONDS).partition(b" ")
    if word != b"pid" or not number.isdigit():
        raise ServerUnavailableError("the warm server did not fork a session")
    umask = os.umask(0o022)
    os.umask(umask)
    fields = [os.fsencode(os.getcwd())]
    fields += [os.fsencode(arg) for arg in argv]
    fields += [os.fsencode(name) + b"=" + os.fsencode(value) for name, value in environ.items()]
    body = b"\0".join(fields) + b"\0"
    if body.count(b"\0") != len(fields):
        raise ValueError("an argument or environment entry holds a NUL character")
    header = b"%d %d %d %d\n" % (umask, len(argv), len(environ), len(body))
    # Once it has the streams, the session may answer Terraform at any moment, and Terraform
    # may signal at once: from here on, signals are the session's.
    _forward_signals(int(number))
    try:
        _send_with_fds(connection, header + body, (0, 1, 2))
        if lines.line(REPLY_SECONDS) != b"started":
            raise ServerUnavailableError("the forked session did not start")
    except BaseException:
        _default_signals()
        raise
    return lines


def _forward_signals(pid: int) -> None:
    """Ignore Ctrl-C (Terraform stops its providers itself) and pass on what Terraform sends."""

    def forward(signum: int, _frame: FrameType | None) -> None:
        try:  # noqa: SIM105 (contextlib would cost the fast start its import)
            os.kill(pid, signum)
        except (ProcessLookupError, PermissionError):
            pass

    _signal.signal(_signal.SIGINT, _signal.SIG_IGN)
    for signum in _FORWARDED:
        _signal.signal(signum, forward)


def _default_signals() -> None:
    for signum in (_signal.SIGINT, *_FORWARDED):
        _signal.signal(signum, _signal.SIG_DFL)


def _send_with_fds(connection: _socket.socket, data: bytes, fds: Sequence[int]) -> None:
    rights = b"".join(fd.to_bytes(_INT, sys.byteorder, signed=True) for fd in fds)
    sent = connection.sendmsg([data], [(_socket.SOL_SOCKET, _socket.SCM_RIGHTS, rights)])
    if sent < len(data):
        connection.sendall(data[sent:])


def receive_session(connection: _socket.socket, timeout: float) -> Session:
    """Receive what :func:`start_session` sends: the session's description and streams.

    :raises ConnectionError: when the starting process hangs up or sends other than three
        standard streams.
    """
    connection.settimeout(timeout)
    pending = b""
    fds: list[int] = []
    size = -1
    try:
        while size < 0 or len(pending) < size:
            want = 65536 if size < 0 else size - len(pending)
            chunk, ancillary, flags, _ = connection.recvmsg(want, _socket.CMSG_SPACE(3 * _INT))
            for level, kind, data in ancillary:
                if level == _socket.SOL_SOCKET and kind == _socket.SCM_RIGHTS:
                    usable = len(data) - len(data) % _INT
                    fds += [
                        int.from_bytes(data[i : i + _INT], sys.byteorder, signed=True)
                        for i in range(0, usable, _INT)
                    ]
            if flags & _socket.MSG_CTRUNC:
                raise ConnectionError("more descriptors than the three standard streams arrived")
            if not chunk:
                raise ConnectionError("the starting process hung up before handing over")
            pending += chunk
            if size < 0 and b"\n" in pending:
                header, _, pending = pending.partition(b"\n")
                umask, argc, envc, length = (int(part) for part in header.split(b" "))
                if min(argc, envc, length) < 0 or length > _MAX_SESSION:
                    raise ValueError("the session header has impossible numbers")
                size = length
            elif size < 0 and len(pending) > _MAX_LINE:
                raise ValueError("the session header is overlong")
        if len(fds) != 3:
            raise ConnectionError(f"expected three standard streams, got {len(fds)}")
    except BaseException:
        for fd in fds:
            os.close(fd)
        raise
    connection.settimeout(None)
    fields = [os.fsdecode(field) for field in pending[:-1].split(b"\0")]
    if len(fields) != 1 + argc + envc or not pending.endswith(b"\0"):
        raise ValueError("the session description does not match its header")
    environ: dict[str, str] = {}
    for entry in fields[1 + argc :]:
        name, _, value = entry.partition("=")
        environ[name] = value
    return Session(fields[1 : 1 + argc], environ, fields[0], umask, fds)


def relay(lines: Lines) -> int:
    """Wait for the session's exit status, passing on the signals Terraform sends us (as
    :func:`start_session` arranged).

    When Terraform goes away without stopping us (killed), this process leaves too, and with it
    the session's lifeline: the session then shuts down exactly as a provider whose parent
    died does.
    """
    connection = lines.connection
    parent = os.getppid()
    connection.settimeout(None)
    while b"\n" not in lines.pending:
        ready, _, _ = select.select([connection], [], [], _PARENT_POLL_SECONDS)
        if not ready:
            if os.getppid() != parent:
                return 1
            continue
        try:
            chunk = connection.recv(4096)
        except OSError:
            chunk = b""
        if not chunk:
            sys.stderr.write("The provider session ended without reporting an exit status.\n")
            sys.stderr.flush()
            return 1
        lines.pending += chunk
    word, _, number = lines.pending.partition(b"\n")[0].partition(b" ")
    return int(number) if word == b"status" and number.isdigit() else 1
