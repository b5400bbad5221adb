"""Run one proxy command and make sure it never outlives the provider that started it.

The provider runs this file with its own interpreter (``-I -S``: standard library only, nothing
imported from the provider) as ``_supervisor.py GRACE COMMAND...``. It starts the command in a
new session, so the command and anything it starts form one process group, and then:

- stdin is the lifeline: ``TERM`` or ``KILL`` lines signal the group; end of file means the
  provider is gone (it closed the pipe or was killed), and so does a changed parent pid. The
  proxy then keeps running for :data:`_LINGER` seconds more, because the provider's workers
  stop at the same moment and cancel their running statements on the database server through
  it; a SIGTERM/SIGHUP to this process stops it without that wait. Then the group gets
  SIGTERM, and SIGKILL after GRACE seconds.
- stdout carries status lines: ``pid N`` once started, ``error TEXT`` when it could not start,
  ``exit STATUS`` when the command ended (negative: killed by that signal).
- the command's stdout and stderr are this process's stderr, a pipe the provider reads.

When the command ends, whatever it left in its group is killed before it is reaped (a zombie
leader keeps the group id from being reused), then this process exits. Never hands its own
stdin or stdout to the proxy, and never exits leaving the group running.
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import sys
import time

_LIFELINE = 0
_PARENT_CHECK = 1.0
#: How long a proxy outlives a vanished provider, so workers can cancel their statements.
_LINGER = 2.0


class _StopError(Exception):
    """Stop the group: this process was told to (SIGTERM or SIGHUP)."""


class _VanishedError(_StopError):
    """The provider is gone without a word: stop the group after the linger."""


def _report(line: str) -> None:
    with contextlib.suppress(OSError):
        os.write(1, (line.replace("\n", " ") + "\n").encode("utf-8", "replace"))


def _signal_group(pgid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signum)


def _exited(pid: int) -> bool:
    """Whether the leader has ended, leaving it a zombie (so its group id stays reserved)."""
    waitid = getattr(os, "waitid", None)
    if waitid is None:
        return False
    try:
        result = waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
    except ChildProcessError:
        return True
    return result is not None


def _reap_if_exited(pid: int) -> int | None:
    """Return the leader's exit status once it has ended (reaping it), else ``None``.

    Whatever is left in the group is killed first, while the leader is still a zombie where
    ``waitid`` can look without reaping, so the group id cannot have been reused yet.
    """
    if hasattr(os, "waitid"):
        return _reap(pid) if _exited(pid) else None
    done, status = os.waitpid(pid, os.WNOHANG)
    if done == 0:
        return None
    _signal_group(pid, signal.SIGKILL)
    return os.waitstatus_to_exitcode(status)


def _reap(pid: int) -> int:
    """Kill the whole group, wait for the leader and return its exit status."""
    _signal_group(pid, signal.SIGKILL)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status)


def _spawn(command: list[str]) -> int:
    actions = [
        (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
        (os.POSIX_SPAWN_DUP2, 2, 1),
    ]
    try:
        return os.posix_spawnp(command[0], command, os.environ, file_actions=actions, setsid=True)
    except NotImplementedError:
        return os.posix_spawnp(command[0], command, os.environ, file_actions=actions, setpgroup=0)


def _wait(wakeup: int, lifeline: bool, timeout: float) -> bool:
    """Sleep until a signal, a lifeline line or the timeout; True when the lifeline is readable."""
    watched = [wakeup, _LIFELINE] if lifeline else [wakeup]
    try:
        readable, _, _ = select.select(watched, [], [], max(timeout, 0.0))
    except InterruptedError:
        return False
    if wakeup in readable:
        with contextlib.suppress(BlockingIOError):
            os.read(wakeup, 4096)
    return _LIFELINE in readable


def _stop(pid: int, grace: float, wakeup: int) -> int:
    _signal_group(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while True:
        status = _reap_if_exited(pid)
        if status is not None:
            return status
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return _reap(pid)
        _wait(wakeup, False, min(remaining, 0.05))


def _linger(pid: int, wakeup: int, stopping: list[int]) -> int | None:
    """Keep the proxy for :data:`_LINGER` seconds; its exit status if it ended meanwhile."""
    deadline = time.monotonic() + _LINGER
    while not stopping:
        status = _reap_if_exited(pid)
        if status is not None:
            return status
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            break
        _wait(wakeup, False, min(remaining, 0.05))
    return None


def main(argv: list[str]) -> int:
    grace = float(argv[1])
    command = argv[2:]
    parent = os.getppid()
    wakeup_read, wakeup_write = os.pipe()
    os.set_blocking(wakeup_read, False)
    os.set_blocking(wakeup_write, False)
    signal.set_wakeup_fd(wakeup_write)
    stopping: list[int] = []

    def on_stop(signum: int, frame: object) -> None:
        stopping.append(signum)

    signal.signal(signal.SIGCHLD, lambda signum, frame: None)
    signal.signal(signal.SIGTERM, on_stop)
    signal.signal(signal.SIGHUP, on_stop)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        pid = _spawn(command)
    except OSError as exc:
        _report(f"error {exc}")
        return 127
    _report(f"pid {pid}")
    pending = b""
    try:
        while True:
            status = _reap_if_exited(pid)
            if status is not None:
                break
            if stopping:
                raise _StopError
            if os.getppid() != parent:
                raise _VanishedError
            if _wait(wakeup_read, True, _PARENT_CHECK):
                chunk = os.read(_LIFELINE, 4096)
                if not chunk:
                    raise _VanishedError
                *lines, pending = (pending + chunk).split(b"\n")
                for line in lines:
                    if line.strip() == b"TERM":
                        _signal_group(pid, signal.SIGTERM)
                    elif line.strip() == b"KILL":
                        _signal_group(pid, signal.SIGKILL)
    except _VanishedError:
        status = _linger(pid, wakeup_read, stopping)
        if status is None:
            status = _stop(pid, grace, wakeup_read)
    except _StopError:
        status = _stop(pid, grace, wakeup_read)
    _report(f"exit {status}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
