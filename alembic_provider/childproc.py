"""What every child process of the provider shares: its output and how it ended.

Workers (``executor/``) and proxies (``proxy/``) write their stdout and stderr into one pipe,
never into the provider's stdout, which is Terraform's handshake pipe. :class:`OutputReader`
reads that pipe to its end on a thread of its own, passes each line on (to the debug log) and
keeps a bounded tail for error messages; :func:`ended` words an exit status the way messages
show it, and :func:`tail` cuts the last lines. Redaction is the caller's: the text kept here is
what the child printed. Never imports anything of the provider.
"""

from __future__ import annotations

import collections
import os
import signal
import threading
from collections.abc import Callable

__all__ = ["LineSink", "OutputReader", "ended", "tail"]

LineSink = Callable[[str], None]


class OutputReader(threading.Thread):
    """Read a pipe to its end, passing each line on and keeping the last ``limit`` characters.

    :param fd: the read end of the pipe; closed once read to its end.
    :param on_line: called with each line (without its end of line) as it arrives.
    :param limit: how much of the output to keep, in characters, from the end.
    :param line_limit: split longer lines into pieces of this many bytes (a child printing
        without newlines must not grow one line without bound); ``None`` keeps lines whole.
    """

    def __init__(
        self,
        fd: int,
        on_line: LineSink | None = None,
        *,
        limit: int = 64 * 1024,
        line_limit: int | None = None,
        name: str = "alembic-child-output",
    ) -> None:
        super().__init__(daemon=True, name=name)
        self._fd = fd
        self._on_line = on_line
        self._limit = limit
        self._line_limit = line_limit
        self._lines: collections.deque[str] = collections.deque()
        self._size = 0
        self._partial = b""
        self._lock = threading.Lock()

    def run(self) -> None:
        try:
            while data := os.read(self._fd, 65536):
                *lines, partial = (self._partial + data).split(b"\n")
                for line in lines:
                    self._line(line)
                while self._line_limit is not None and len(partial) > self._line_limit:
                    self._line(partial[: self._line_limit])
                    partial = partial[self._line_limit :]
                self._partial = partial
        except OSError:
            pass
        finally:
            if self._partial:
                self._line(self._partial)
            os.close(self._fd)

    def _line(self, raw: bytes) -> None:
        line = raw.decode("utf-8", errors="replace").rstrip("\r")
        with self._lock:
            self._lines.append(line)
            self._size += len(line) + 1
            while self._size > self._limit and len(self._lines) > 1:
                self._size -= len(self._lines.popleft()) + 1
        if self._on_line is not None:
            self._on_line(line)

    def text(self) -> str:
        """Return the output kept so far, lines joined with newlines."""
        with self._lock:
            return "\n".join(self._lines)


def ended(status: int | None) -> str:
    """Return how a process ended: ``exit status 1``, or ``killed by SIGKILL``.

    :param status: the return code as :mod:`subprocess` reports it (negative: the signal).
    """
    if status is None:
        return "exit status unknown"
    if status < 0:
        try:
            return f"killed by {signal.Signals(-status).name}"
        except ValueError:
            return f"killed by signal {-status}"
    return f"exit status {status}"


def tail(text: str, lines: int = 40) -> str:
    """Return the last ``lines`` lines of ``text``, enough to show why a process failed."""
    return "\n".join(text.rstrip("\n").splitlines()[-lines:])
