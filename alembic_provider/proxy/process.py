"""Start proxy processes under a supervisor and watch them; the launcher boundary lives here.

:class:`ProxyLauncher` is what the manager needs from the world: start a process for a spec,
and probe a readiness target. :class:`SupervisedLauncher` is the real one. It runs each proxy
through ``_supervisor.py`` (the provider's interpreter, standard library only), which puts the
proxy in its own session and kills its whole group when told to, when the proxy ends, and when
the provider disappears, even after SIGKILL, since the provider's end of the supervisor's stdin
then closes. The proxy's output goes to a pipe read into a bounded buffer, never to the
provider's stdout (Terraform's handshake pipe). Never decides anything: ``statemachine.proxy``
does.
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import subprocess
import threading
import time
from pathlib import Path
from typing import IO, Protocol

from alembic_provider.bundle import helper_python
from alembic_provider.childproc import LineSink, OutputReader
from alembic_provider.proxy.readiness import ReadyTarget, probe
from alembic_provider.proxy.spec import ProxySpec
from statemachine.proxy import Signal

__all__ = [
    "SUPERVISOR_PATH",
    "LineSink",
    "ProxyLauncher",
    "ProxyProcess",
    "SpawnError",
    "SupervisedLauncher",
    "SupervisedProcess",
]

SUPERVISOR_PATH = Path(__file__).with_name("_supervisor.py")
_OUTPUT_LIMIT = 64 * 1024
_LINE_LIMIT = 4096
_START_TIMEOUT = 30.0
_DRAIN = 2.0


class SpawnError(Exception):
    """The proxy process could not be started; the message says why, for users."""


class ProxyProcess(Protocol):
    """A started proxy, as the manager sees it."""

    @property
    def pid(self) -> int:
        """The proxy's process id, which is also its process group id."""
        ...

    @property
    def exit_status(self) -> int | None:
        """How it ended once :meth:`wait` returned True (negative: killed by that signal)."""
        ...

    def send_signal(self, name: Signal) -> None:
        """Send SIGTERM or SIGKILL to the proxy's process group; nothing once it has ended."""
        ...

    def wait(self, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds for the proxy to end; True once it has."""
        ...

    def output(self) -> str:
        """Return the last lines the proxy printed (stdout and stderr together), unredacted."""
        ...


class ProxyLauncher(Protocol):
    """The effects the proxy manager needs: starting processes and probing readiness."""

    def start(
        self, spec: ProxySpec, *, grace_period: float, on_line: LineSink | None = None
    ) -> ProxyProcess:
        """Start the proxy for ``spec``; ``grace_period`` applies if the provider vanishes.

        :raises SpawnError: when the command cannot be started.
        """
        ...

    def probe(self, target: ReadyTarget, timeout: float) -> bool:
        """Connect to ``target`` once; True when it accepted the connection."""
        ...


class _StatusLines:
    """The supervisor's status pipe, read one line at a time with a timeout."""

    def __init__(self, pipe: IO[bytes]) -> None:
        self._pipe = pipe
        self._fd = pipe.fileno()
        self._pending = b""
        self.closed = False

    def read(self, timeout: float) -> str | None:
        """Return the next line, or ``None`` on timeout or at end of file (then ``closed``)."""
        deadline = time.monotonic() + timeout
        while b"\n" not in self._pending:
            if self.closed:
                return None
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            readable, _, _ = select.select([self._fd], [], [], remaining)
            if not readable:
                return None
            chunk = os.read(self._fd, 4096)
            if not chunk:
                self.closed = True
                continue
            self._pending += chunk
        line, _, self._pending = self._pending.partition(b"\n")
        return line.decode("utf-8", errors="replace")

    def close(self) -> None:
        self.closed = True
        with contextlib.suppress(OSError):
            self._pipe.close()


class SupervisedProcess:
    """A proxy started by ``_supervisor.py``: signals go through it, exits come back from it."""

    def __init__(
        self, popen: subprocess.Popen[bytes], status: _StatusLines, output: OutputReader, pid: int
    ) -> None:
        self._popen = popen
        self._status = status
        self._output = output
        self._pid = pid
        self._exit_status: int | None = None
        self._ended = False
        self._lock = threading.Lock()

    @property
    def pid(self) -> int:
        return self._pid

    @property
    def exit_status(self) -> int | None:
        return self._exit_status

    def send_signal(self, name: Signal) -> None:
        stdin = self._popen.stdin
        if stdin is None or self._ended:
            return
        with self._lock, contextlib.suppress(OSError, ValueError):
            stdin.write(f"{name}\n".encode())
            stdin.flush()

    def wait(self, timeout: float) -> bool:
        if self._ended:
            return True
        deadline = time.monotonic() + timeout
        while True:
            line = self._status.read(max(0.0, deadline - time.monotonic()))
            if line is not None and line.startswith("exit "):
                self._exit_status = int(line.split()[1])
                break
            if self._status.closed:
                # The supervisor ended without a word (it was killed): make sure of the group.
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(self._pid, signal.SIGKILL)
                break
            if line is None:
                return False
        self._finish()
        return True

    def _finish(self) -> None:
        self._ended = True
        if self._popen.stdin is not None:
            with self._lock, contextlib.suppress(OSError):
                self._popen.stdin.close()
        self._status.close()
        try:
            self._popen.wait(timeout=_DRAIN)
        except subprocess.TimeoutExpired:
            self._popen.kill()
            self._popen.wait()
        self._output.join(_DRAIN)

    def output(self) -> str:
        return self._output.text()


class SupervisedLauncher:
    """Start proxies through the supervisor script and probe readiness with real sockets.

    :param python: the interpreter that runs the supervisor; the provider's own by default.
    """

    def __init__(self, python: str | None = None) -> None:
        self._python = python or helper_python()

    def start(
        self, spec: ProxySpec, *, grace_period: float, on_line: LineSink | None = None
    ) -> SupervisedProcess:
        argv = [
            self._python,
            "-I",
            "-S",
            "-B",
            str(SUPERVISOR_PATH),
            repr(float(grace_period)),
            *spec.command,
        ]
        output_read, output_write = os.pipe()
        try:
            popen = subprocess.Popen(
                argv,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=output_write,
                env={**os.environ, **spec.environment},
                start_new_session=True,
            )
        except OSError as exc:
            os.close(output_read)
            raise SpawnError(f"the supervisor could not be started: {exc}") from exc
        finally:
            os.close(output_write)
        output = OutputReader(
            output_read,
            on_line,
            limit=_OUTPUT_LIMIT,
            line_limit=_LINE_LIMIT,
            name="alembic-proxy-output",
        )
        output.start()
        assert popen.stdout is not None and popen.stdin is not None
        status = _StatusLines(popen.stdout)
        line = status.read(_START_TIMEOUT)
        if line is not None and line.startswith("pid "):
            return SupervisedProcess(popen, status, output, int(line.split()[1]))
        status.close()
        with contextlib.suppress(OSError):
            popen.stdin.close()
        with contextlib.suppress(OSError):
            popen.kill()
        popen.wait()
        output.join(_DRAIN)
        if line is not None and line.startswith("error "):
            raise SpawnError(line.removeprefix("error "))
        printed = output.text().strip()
        raise SpawnError(
            "the supervisor did not report a start"
            + (f"; it printed: {printed}" if printed else "")
        )

    def probe(self, target: ReadyTarget, timeout: float) -> bool:
        return probe(target, timeout)
