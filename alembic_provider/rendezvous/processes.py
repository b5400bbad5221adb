"""Which Terraform command a provider process serves: the Terraform process, by pid and start.

Terraform runs one command as several provider processes, one after another (``terraform
apply`` refreshes in one and applies in the next). The process that starts them names the
command: its pid, with its start time so that a recycled pid never names a later command.
Linux only (``/proc``); elsewhere no command is named, and nothing that depends on one is done.

Imports nothing, of the standard library or of this package, in Python 3.8 syntax: the worker,
which cannot import the package, loads this file by its path, as it does ``sockets.py``.
"""

from __future__ import annotations

__all__ = ["alive", "command", "identity", "parent", "serve_command"]

# The command this provider process serves, once the entry point has said (one element).
_COMMAND: list[str | None] = [None]


def _fields(pid: int) -> list[bytes] | None:
    """The fields of ``/proc/PID/stat`` after the command name, or None."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            data = stat.read()
    except (OSError, ValueError):
        return None
    # The name, in parentheses, may hold spaces and parentheses: the rest follows the last ')'.
    fields = data.rpartition(b")")[2].split()
    return fields if len(fields) > 19 else None


def identity(pid: int | None) -> str | None:
    """``"PID:START"`` of a running process (START in clock ticks since boot), or None."""
    fields = None if pid is None or pid <= 1 else _fields(pid)
    return None if fields is None else f"{pid}:{fields[19].decode('ascii')}"


def parent(pid: int | None) -> int | None:
    """The parent's pid of a running process, or None."""
    fields = None if pid is None else _fields(pid)
    return None if fields is None else int(fields[1])


def alive(token: str) -> bool:
    """Whether the process ``token`` (from :func:`identity`) still runs: same pid, same start."""
    pid, _, _ = token.partition(":")
    return pid.isdigit() and identity(int(pid)) == token


def serve_command(token: str | None) -> None:
    """Remember the Terraform process this provider process serves (None: not known)."""
    _COMMAND[0] = token


def command() -> str | None:
    """The Terraform process this provider process serves, if its entry point named it."""
    return _COMMAND[0]
