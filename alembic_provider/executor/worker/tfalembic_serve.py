"""How the worker process runs: one request (``run``) or a warm server forking per request.

A warm server is private to one provider process (``serve``, on a socket pair) or shared by
this user's provider processes with the same interpreter and start-up environment
(``listen``, on a unix socket in the provider's private warm server directory).

``run`` answers one request on the socket it is given; ``serve`` imports Alembic once, then
forks a fresh child per request so that env.py still runs in a clean process each time.
Never imports the provider package, and never lets SIGINT interrupt a migration.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import signal
import socket
import sys
import time
from typing import TYPE_CHECKING, Any, NoReturn

from tfalembic_config import alembic_parser
from tfalembic_errors import import_failure
from tfalembic_keep import KEEPER, begin_request, report, request_summary
from tfalembic_lifeline import LIFELINE
from tfalembic_linger import LINGERING, Stay
from tfalembic_review import remembered
from tfalembic_verbs import dispatch
from tfalembic_wire import (
    PROTOCOL_VERSION,
    line_buffered,
    listen_unix,
    read_line,
    same_user,
    send,
    still_ours,
)

if TYPE_CHECKING:
    Result = dict[str, Any]

__all__ = ["listen", "prepare_process", "run", "serve"]


def prepare_process() -> None:
    """Ignore SIGINT, write no bytecode, keep this file's directory off ``sys.path``, and load
    Mako plainly."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    sys.dont_write_bytecode = True
    here = os.path.dirname(os.path.abspath(__file__))
    sys.path[:] = [path for path in sys.path if os.path.abspath(path or ".") != here]
    _load_mako_plainly()


def _load_mako_plainly() -> None:
    """Load Mako's exceptions module, which Alembic imports, without Pygments.

    With Pygments installed, Mako loads it to highlight the HTML pages of template errors:
    about 40 ms and 8 MiB per interpreter, for pages a worker never renders. Its plug-in is
    hidden only while that module loads, so Mako falls back to plain text; importing the
    plug-in later works as usual.
    """
    plugin = "mako.ext.pygmentplugin"
    if plugin in sys.modules:
        return
    sys.modules[plugin] = None  # type: ignore[assignment]  # import of it: ImportError
    try:
        __import__("mako.exceptions")
    except ImportError:
        pass  # no Mako: Alembic will say so
    finally:
        if plugin in sys.modules and sys.modules[plugin] is None:
            del sys.modules[plugin]


def _answer_one(sock: socket.socket, stay: Stay | None = None) -> int:
    """Read one request from ``sock``, run it, answer, and return the exit status.

    :param stay: offered the response just before it goes out (``tfalembic_linger``).
    """
    line = read_line(sock, bytearray(), [])
    if line is None:
        return 2
    LIFELINE.watch(sock)
    response = dispatch(json.loads(line.decode("utf-8")))
    kept = request_summary()
    if kept is not None:
        response["kept"] = kept
    sys.stdout.flush()
    sys.stderr.flush()
    LIFELINE.finish()
    if stay is not None:
        stay.offer(response, holds=remembered() > 0)
    send(sock, response)
    return 0 if response["ok"] else 1


def run(fd: int) -> int:
    """Answer one request on the socket ``fd``; stdout and stderr are the caller's pipe."""
    line_buffered()
    return _answer_one(socket.socket(fileno=fd))


def _preload() -> Result:
    import logging.config

    import alembic
    import alembic.command
    import alembic.config
    import alembic.runtime.environment
    import alembic.runtime.migration
    import alembic.script
    import sqlalchemy
    import sqlalchemy.pool

    for dialect in ("sqlite", "postgresql", "mysql"):
        with contextlib.suppress(ImportError):
            __import__("sqlalchemy.dialects." + dialect)
    alembic_parser()
    return {
        "python": ".".join(str(part) for part in sys.version_info[:3]),
        "alembic": getattr(alembic, "__version__", "unknown"),
        "sqlalchemy": getattr(sqlalchemy, "__version__", "unknown"),
        "logging": logging.config.__name__,
    }


# Drivers the dialects above load when env.py connects; whichever are installed.
_DRIVERS = ("sqlite3", "psycopg2", "psycopg", "pymysql", "MySQLdb")


class _Rehearsal:
    """Warm what forked requests would otherwise each build, once, while the server is idle.

    SQLAlchemy and Alembic build much of their machinery on first use (compiled patterns,
    dialect class caches), and env.py imports a database driver when it connects. A server that
    waits for requests does that work once, between requests, so that a request never waits
    for it: not even the first one, which arrives while a cold command is waiting.
    """

    def __init__(self) -> None:
        self.done = False

    def when_idle(self, *socks: socket.socket) -> None:
        if self.done:
            return
        readable, _, _ = select.select(list(socks), [], [], 0)
        if readable:
            return
        self.done = True
        _rehearse()


def _rehearse() -> None:
    """Import the drivers, read the version table of an empty in-memory database, compare a model.

    The comparison (``compare_models``) builds much of autogenerate's and reflection's
    machinery on first use; a table compared against an in-memory database builds it here.
    Nothing of it touches a user's database, and the engine is gone before the next fork.
    The standard library's ``platform`` asks ``uname -p`` once per process for the machine's
    processor: asked here, a request (or a module importing ``platform.platform()``) finds the
    answer it would get, without starting a process.
    """
    for driver in _DRIVERS:
        with contextlib.suppress(ImportError):
            __import__(driver)
    import platform

    with contextlib.suppress(Exception):
        platform.uname().processor  # noqa: B018  # cached for every later call
    import sqlalchemy
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    with contextlib.suppress(Exception):
        engine = sqlalchemy.create_engine("sqlite://")
        models = sqlalchemy.MetaData()
        sqlalchemy.Table(
            "rehearsal",
            models,
            sqlalchemy.Column("id", sqlalchemy.Integer, primary_key=True),
            sqlalchemy.Column("name", sqlalchemy.String(20), index=True),
        )
        try:
            with engine.connect() as connection:
                context = MigrationContext.configure(connection, opts={"target_metadata": models})
                context.get_current_heads()
                models.create_all(connection)
                compare_metadata(context, models)
        finally:
            engine.dispose()


def serve(fd: int) -> int:
    """Import Alembic once, then fork a child per request until the provider hangs up.

    Each request line arrives with two descriptors: the child's own request socket and the
    pipe for its stdout and stderr. The child leads a new session, so the provider can kill it
    and anything it started as one process group.
    """
    control = socket.socket(fileno=fd)
    try:
        versions = _preload()
    except ImportError as exc:
        send(control, {"ready": False, "error": import_failure(exc).payload("")})
        return 1
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)
    KEEPER.start()
    send(control, dict(versions, ready=True, protocol=PROTOCOL_VERSION))
    pending = bytearray()
    rehearsal = _Rehearsal()
    while True:
        fds: list[int] = []
        if b"\n" not in pending:
            rehearsal.when_idle(control)
            KEEPER.when_idle(control)
            watched: list[Any] = [control, *KEEPER.fds(), *LINGERING.fds()]
            timeout = LINGERING.timeout(KEEPER.timeout(None))
            readable, _, _ = select.select(watched, [], [], timeout)
            KEEPER.collect(readable)
            LINGERING.collect(readable)
            if KEEPER.stale:
                # A kept file changed: requests forked from here would import it fresh, so
                # leave; the provider starts a fresh server for its next request.
                _leave()
            if control not in readable:
                continue
        line = read_line(control, pending, fds)
        if line is None:
            # The provider hung up: leave at once. Tearing down an interpreter that has
            # imported Alembic and SQLAlchemy costs time the provider would wait for.
            _leave()
        _fork_request(control, fds, _linger_of(line))


def _leave() -> NoReturn:
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


def _linger_of(line: bytes) -> Result | None:
    """The fork request's ``linger`` (``key`` and ``command``), if it has a usable one."""
    try:
        linger = json.loads(line.decode("utf-8")).get("linger")
    except (ValueError, AttributeError):
        return None
    if not isinstance(linger, dict):
        return None
    if not isinstance(linger.get("key"), str) or not isinstance(linger.get("command"), str):
        return None
    return linger


def _fork_request(
    control: socket.socket, fds: list[int], linger: Result | None, *others: socket.socket
) -> None:
    """Fork a child for one request: ``fds`` are its request socket and its output pipe.

    With ``linger``, an idle worker of the same command and key serves it instead, if there is
    one; else the child may stay for the next such request (``tfalembic_linger``).
    """
    if len(fds) != 2:
        for extra in fds:
            os.close(extra)
        send(control, {"error": f"expected two descriptors, got {len(fds)}"})
        return
    key = None if linger is None else linger["key"]
    pid = LINGERING.take(key, fds)
    if pid is not None:
        for descriptor in fds:
            os.close(descriptor)
        send(control, {"pid": pid})
        return
    report_read, report_write = os.pipe()
    ours, theirs = LINGERING.channel() if linger is not None else (None, None)
    pid = os.fork()
    if pid == 0:
        status = 70
        stay: Stay | None = None
        try:
            # The child keeps nothing of the server: no listener, no other provider's channel.
            for sock in (control, *others, *LINGERING.fds(), ours):
                if sock is not None:
                    sock.close()
            os.close(report_read)
            begin_request(report_write)
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            os.setsid()
            if theirs is not None and linger is not None:
                stay = Stay(theirs, linger["command"])
            status = _serve_request(fds, stay)
        finally:
            # The provider has its answer; the server hears what this request loaded.
            report()
            if stay is not None and stay.promised:
                stay.keep(lambda more: _serve_request(more, stay))
            os._exit(status)
    os.close(report_write)
    KEEPER.watch(report_read)
    for descriptor in fds:
        os.close(descriptor)
    if ours is not None and theirs is not None and key is not None:
        theirs.close()
        LINGERING.adopt(ours, key, pid)
    send(control, {"pid": pid})


def _serve_request(fds: list[int], stay: Stay | None = None) -> int:
    """Answer the request on ``fds`` (its socket, its output pipe); return the exit status."""
    status = 70
    try:
        os.dup2(fds[1], 1)
        os.dup2(fds[1], 2)
        os.close(fds[1])
        line_buffered()
        status = _answer_one(socket.socket(fileno=fds[0]), stay)
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        # Let the provider see the end of the output; wait outside the project's directory.
        with contextlib.suppress(OSError), open(os.devnull, "w") as null:
            os.chdir("/")
            os.dup2(null.fileno(), 1)
            os.dup2(null.fileno(), 2)
    return status


def listen(path: str, idle_seconds: float, provider_version: str = "") -> int:
    """Serve as a shared warm server on the unix socket ``path`` until idle or stopped.

    Each provider process that connects (same user only) gets the ready line, then sends fork
    requests on its connection exactly as on a private control socket. The request itself
    goes to the forked child only, with the provider's whole environment: the server keeps
    nothing of any provider's session. It exits once no provider has been connected for
    ``idle_seconds``, on a ``stop`` request, or when its socket is removed or replaced. A
    ``status`` request (``daemon status``) is answered and its connection closed: it counts
    as no use. ``provider_version`` is the version of the provider that started it, for that
    answer.

    The socket is bound before Alembic is imported: a provider process that comes while the
    server is still importing waits for its ready line instead of starting a second server.
    """
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    identity = listen_unix(listener, path)
    try:
        versions = _preload()
    except ImportError as exc:
        # Nobody reads this server's output: the marker tells the starter to use a private
        # server, which reports the failure with the interpreter's own words; whoever already
        # connected sees the connection close.
        with open(path + ".failed", "w") as marker:
            marker.write(json.dumps(import_failure(exc).payload("")) + "\n")
        listener.close()
        if still_ours(path, identity):
            os.unlink(path)
        return 1
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)
    KEEPER.start()
    ready = dict(versions, ready=True, protocol=PROTOCOL_VERSION, pid=os.getpid())
    use = _Use(path, idle_seconds, dict(versions, version=provider_version))
    rehearsal = _Rehearsal()
    try:
        while use.channels or time.monotonic() - use.last < idle_seconds:
            if not still_ours(path, identity):
                return 0
            rehearsal.when_idle(listener, *use.channels)
            KEEPER.when_idle(listener, *use.channels)
            watched: list[Any] = [listener, *use.channels, *KEEPER.fds(), *LINGERING.fds()]
            readable, _, _ = select.select(watched, [], [], KEEPER.timeout(1.0))
            KEEPER.collect(readable)
            LINGERING.collect(readable)
            if KEEPER.stale:
                return 0  # a kept file changed: the next command starts a fresh server
            for sock in readable:
                if sock is listener:
                    _welcome(listener, use.channels, ready)
                    continue
                if sock not in use.channels:
                    continue  # a report, the probe or a staying worker: collected above
                try:
                    if not _answer_channel(sock, use, listener):
                        return 0
                except OSError:  # that provider is gone
                    use.drop(sock)
                    use.last = time.monotonic()
        return 0
    finally:
        if still_ours(path, identity):
            with contextlib.suppress(OSError):
                os.unlink(path)


# The installed provider package this file belongs to (alembic_provider/executor/worker/).
_INSTALLATION = os.path.dirname(os.path.dirname(os.path.dirname(os.path.realpath(__file__))))


class _Use:
    """A listening server's connected providers and what it has done, for ``status``."""

    def __init__(self, path: str, idle_seconds: float, versions: Result) -> None:
        self.path = path
        self.idle_seconds = idle_seconds
        self.versions = versions
        self.channels: dict[socket.socket, bytearray] = {}
        self.started = time.time()
        self.last = time.monotonic()
        self.operations = 0

    def drop(self, sock: socket.socket) -> None:
        self.channels.pop(sock, None)
        sock.close()

    def status(self, asking: socket.socket) -> Result:
        providers = sum(1 for sock in self.channels if sock is not asking)
        idle_for = 0.0 if providers else time.monotonic() - self.last
        return dict(
            self.versions,
            kind="worker",
            pid=os.getpid(),
            installation=_INSTALLATION,
            interpreter=sys.executable,
            socket=self.path,
            idle_seconds=self.idle_seconds,
            idle_for_seconds=round(idle_for, 1),
            uptime_seconds=round(time.time() - self.started, 1),
            operations=self.operations,
            providers=providers,
            **KEEPER.status(),
            **LINGERING.status(),
            rss_kib=_resident_kib(),
        )


def _resident_kib() -> int | None:
    try:
        with open("/proc/self/statm") as statm:
            pages = int(statm.read().split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return pages * (os.sysconf("SC_PAGE_SIZE") // 1024)


def _welcome(
    listener: socket.socket, channels: dict[socket.socket, bytearray], ready: Result
) -> None:
    """Accept a provider of this user and send it the ready line.

    It may have left already (while this server was still importing, or after asking to stop
    without waiting for the answer): what it sent is read all the same, then it is dropped.
    """
    connection, _ = listener.accept()
    if not same_user(connection):
        connection.close()
        return
    with contextlib.suppress(OSError):
        send(connection, ready)
    channels[connection] = bytearray()


def _answer_channel(sock: socket.socket, use: _Use, listener: socket.socket) -> bool:
    """Handle one message of a provider's channel; return False when asked to stop."""
    fds: list[int] = []
    try:
        line = read_line(sock, use.channels[sock], fds)
    except (OSError, ValueError):
        line = None
    if line is None:
        for extra in fds:
            os.close(extra)
        use.drop(sock)
        use.last = time.monotonic()
        return True
    op = json.loads(line.decode("utf-8")).get("op")
    if op == "stop":
        with contextlib.suppress(OSError):  # whoever asked may not wait for the answer
            send(sock, {"pid": os.getpid(), "stopping": True})
        return False
    if op == "status":
        with contextlib.suppress(OSError):
            send(sock, use.status(sock))
        use.drop(sock)  # a question, not a provider: its leaving is no use of the server
        return True
    use.operations += 1
    channels = use.channels
    others = [listener, *(other for other in channels if other is not sock)]
    _fork_request(sock, fds, _linger_of(line), *others)
    return True
