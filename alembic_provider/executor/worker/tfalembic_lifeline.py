"""The worker's lifeline to the provider, and cancellation that reaches the database.

Once the request has arrived, the provider keeps its end of the request socket open until it
has the answer. The line ``cancel`` (a Ctrl-C, StopProvider or a timeout) and the end of file
(the provider closed it, or died: the kernel closes a killed process's descriptors, SIGKILL
included) start the same sequence:

1. every statement the worker has running on PostgreSQL, MySQL or MariaDB is cancelled from a
   second connection (``pg_cancel_backend``; ``KILL QUERY``), because killing the worker alone
   leaves the server running the statement, holding its locks, until it next talks to the
   client;
2. no further migration starts and no transaction of the migration connection commits, so
   the running migration's transaction rolls back where the database can roll DDL back;
3. the main thread unwinds as for any failure: the migration lock is released and the answer
   says what happened;
4. if the main thread has not finished within a few seconds (a migration busy in Python, say),
   the worker kills its own process group; the server then drops the connection.

SQLAlchemy is imported inside the functions. Never imports the provider package.
"""

from __future__ import annotations

import os
import signal
import socket
import sys
import threading
import traceback
from typing import Any

from tfalembic_errors import ReportedError

__all__ = ["LIFELINE", "Lifeline"]

#: How long the main thread gets to unwind after a cancel before the group is killed.
GRACE_SECONDS = 3.0
_BACKEND_ID = {
    "postgresql": "SELECT pg_backend_pid()",
    "mysql": "SELECT CONNECTION_ID()",
    "mariadb": "SELECT CONNECTION_ID()",
}


class _Session:
    """A database connection of the worker that may be running a statement."""

    def __init__(self, dialect: str, backend: int, engine: Any) -> None:
        self.dialect = dialect
        self.backend = backend
        self.engine = engine

    def cancel(self) -> bool:
        """Cancel this session's running statement from a second connection; True if sent."""
        from sqlalchemy import text

        try:
            with self.engine.connect() as other:
                if self.dialect == "postgresql":
                    statement = text("SELECT pg_cancel_backend(:pid)")
                    other.execute(statement, {"pid": self.backend})
                else:
                    other.execute(text(f"KILL QUERY {int(self.backend)}"))
        except Exception:
            _say(
                "Cancelling the running statement on the server failed:\n" + traceback.format_exc()
            )
            return False
        return True


class Lifeline:
    """Watch the request socket; on ``cancel`` or end of file, stop the database work.

    :ivar reason: ``None`` while the provider waits, then ``"cancel"`` or ``"provider_gone"``.
    """

    def __init__(self) -> None:
        self.reason: str | None = None
        self.cancel_sent = False
        self._sessions: list[_Session] = []
        self._lock = threading.Lock()
        self._finished = threading.Event()

    def watch(self, sock: socket.socket) -> None:
        """Start watching ``sock``, the request socket, after the request has been read.

        Each request starts afresh: a worker that stays for its command's next request
        (``tfalembic_linger``) serves it with nothing of the last one's lifeline.
        """
        self.reason = None
        self.cancel_sent = False
        with self._lock:
            self._sessions = []
        self._finished = threading.Event()
        threading.Thread(target=self._watch, args=(sock, self._finished), daemon=True).start()

    def finish(self) -> None:
        """The answer is about to go out: the provider hanging up is no longer a reason."""
        self._finished.set()

    def track(self, connection: Any, *, guard_commits: bool = True) -> None:
        """Remember ``connection`` so a cancel reaches its statement; refuse its commits.

        A connection on a database without server-side cancellation (SQLite) is only guarded
        against commits; killing the worker is enough there. The lock's connection commits
        nothing of the migration's, so its release is left alone.
        """
        if guard_commits:
            from sqlalchemy import event

            event.listen(connection, "commit", self._refuse_commit)
        dialect = connection.dialect.name
        query = _BACKEND_ID.get(dialect)
        if query is None:
            return
        from sqlalchemy import text

        began = connection.in_transaction()
        try:
            backend = int(connection.execute(text(query)).scalar())
            if not began and connection.in_transaction():
                # Leave a connection that was idle as idle (SQLAlchemy 2 began a transaction).
                connection.rollback()
        except Exception:
            _say("Reading the connection's server process id failed:\n" + traceback.format_exc())
            return
        with self._lock:
            self._sessions.append(_Session(dialect, backend, connection.engine))

    def check(self) -> None:
        """Raise when the operation was cancelled; called before each migration starts."""
        if self.reason is not None:
            raise self.stopped()

    def stopped(self) -> ReportedError:
        """The failure that says the operation was stopped, and what the database was told."""
        what = "cancelled" if self.reason == "cancel" else "stopped because the provider is gone"
        if self.cancel_sent:
            done = "A cancel for its running statement was sent to the database server."
        else:
            done = "It had no statement running on a database server to cancel."
        return ReportedError("cancelled", f"The operation was {what}. {done}")

    def _refuse_commit(self, connection: Any) -> None:
        if self.reason is not None:
            raise self.stopped()

    def _watch(self, sock: socket.socket, finished: threading.Event) -> None:
        pending = b""
        while b"\n" not in pending:
            try:
                chunk = sock.recv(4096)
            except OSError:
                chunk = b""
            if not chunk:
                break
            pending += chunk
        if finished.is_set():
            return
        with self._lock:
            sessions = list(self._sessions)
        # Said before the reason is set, so the main thread's message never lags behind.
        self.cancel_sent = bool(sessions)
        self.reason = "cancel" if pending.startswith(b"cancel") else "provider_gone"
        self._cancel_statements(sessions)
        _say(f"Stopping: {self.reason}.")
        if not finished.wait(GRACE_SECONDS):
            _say("The operation did not stop in time; ending the worker.")
            os.killpg(os.getpgrp(), signal.SIGKILL)

    def _cancel_statements(self, sessions: list[_Session]) -> None:
        threads = [threading.Thread(target=s.cancel, daemon=True) for s in sessions]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(GRACE_SECONDS / 2)


def _say(text: str) -> None:
    """Write to stderr, which is a pipe to the provider: once the provider is gone, nowhere."""
    try:
        sys.stderr.write(text.rstrip("\n") + "\n")
        sys.stderr.flush()
    except (OSError, ValueError):
        pass


#: The one lifeline of this worker process (one request at a time).
LIFELINE = Lifeline()
