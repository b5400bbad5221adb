"""How the worker process runs: one request (``run``) or a warm server forking per request.

``run`` answers one request on the socket it is given; ``serve`` imports Alembic once, then
forks a fresh child per request so that env.py still runs in a clean process each time.
Never imports the provider package, and never lets SIGINT interrupt a migration.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import sys
from typing import TYPE_CHECKING, Any

from tfalembic_errors import import_failure
from tfalembic_lifeline import LIFELINE
from tfalembic_verbs import dispatch
from tfalembic_wire import PROTOCOL_VERSION, line_buffered, read_line, send

if TYPE_CHECKING:
    Result = dict[str, Any]

__all__ = ["prepare_process", "run", "serve"]


def prepare_process() -> None:
    """Ignore SIGINT, write no bytecode, and keep this file's directory off ``sys.path``."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    sys.dont_write_bytecode = True
    here = os.path.dirname(os.path.abspath(__file__))
    sys.path[:] = [path for path in sys.path if os.path.abspath(path or ".") != here]


def _answer_one(sock: socket.socket) -> int:
    """Read one request from ``sock``, run it, answer, and return the exit status."""
    line = read_line(sock, bytearray(), [])
    if line is None:
        return 2
    LIFELINE.watch(sock)
    response = dispatch(json.loads(line.decode("utf-8")))
    sys.stdout.flush()
    sys.stderr.flush()
    LIFELINE.finish()
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
    return {
        "python": ".".join(str(part) for part in sys.version_info[:3]),
        "alembic": getattr(alembic, "__version__", "unknown"),
        "sqlalchemy": getattr(sqlalchemy, "__version__", "unknown"),
        "logging": logging.config.__name__,
    }


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
    send(control, dict(versions, ready=True, protocol=PROTOCOL_VERSION))
    pending = bytearray()
    while True:
        fds: list[int] = []
        if read_line(control, pending, fds) is None:
            # The provider hung up: leave at once. Tearing down an interpreter that has
            # imported Alembic and SQLAlchemy costs time the provider would wait for.
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(0)
        if len(fds) != 2:
            for extra in fds:
                os.close(extra)
            send(control, {"error": f"expected two descriptors, got {len(fds)}"})
            continue
        pid = os.fork()
        if pid == 0:
            status = 70
            try:
                control.close()
                signal.signal(signal.SIGCHLD, signal.SIG_DFL)
                os.setsid()
                os.dup2(fds[1], 1)
                os.dup2(fds[1], 2)
                os.close(fds[1])
                line_buffered()
                status = _answer_one(socket.socket(fileno=fds[0]))
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(status)
        for descriptor in fds:
            os.close(descriptor)
        send(control, {"pid": pid})
