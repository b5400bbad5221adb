"""Make the provider under test reachable by Terraform, in one of two ways.

``Managed`` runs the provider's own installer into the test's ``HOME`` so that Terraform finds
the launcher in its implied local mirror and starts the provider itself, as a user's Terraform
does. ``Reattach`` starts ``python -m alembic_provider --debug`` once for the test and hands its
address to Terraform through ``TF_REATTACH_PROVIDERS``. Never touches the user's real ``HOME``
and never leaves a provider process running after the test.
"""

from __future__ import annotations

import json
import os
import re
import selectors
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Protocol

__all__ = [
    "PROVIDER_SOURCE",
    "Managed",
    "ProviderContext",
    "ProviderSession",
    "ProviderSetup",
    "ProviderStartError",
    "Reattach",
]

PROVIDER_SOURCE = "terraform.local/alembic/alembic"
"""Source address the installer uses by default, and the one test configurations declare."""

_START_TIMEOUT = 60.0
_STOP_TIMEOUT = 10.0
_REATTACH_LINE = re.compile(r"TF_REATTACH_PROVIDERS='(?P<json>.*)'")


class ProviderStartError(AssertionError):
    """Raised when the provider cannot be installed or started for a test."""


@dataclass(frozen=True)
class ProviderContext:
    """What a provider setup needs from the test: its environment and a place for logs."""

    env: Mapping[str, str]
    home: Path
    log_dir: Path


@dataclass(frozen=True)
class ProviderSession:
    """What Terraform commands need from a started provider."""

    env: Mapping[str, str] = field(default_factory=dict)
    log_path: Path | None = None


class ProviderSetup(Protocol):
    """A way of making the provider available to Terraform for the length of one test."""

    @property
    def source(self) -> str:
        """Return the provider source address configurations must declare."""
        ...

    def start(self, context: ProviderContext) -> AbstractContextManager[ProviderSession]:
        """Make the provider available until the context ends."""
        ...


def _tail(path: Path, lines: int = 40) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


@dataclass(frozen=True)
class Managed:
    """Install the launcher with ``python -m alembic_provider install`` into the test's ``HOME``."""

    source: str = PROVIDER_SOURCE
    python: str = sys.executable
    module: str = "alembic_provider"

    @contextmanager
    def start(self, context: ProviderContext) -> Iterator[ProviderSession]:
        """Run the installer with the test's environment; Terraform then spawns the provider."""
        argv = [self.python, "-m", self.module, "install"]
        if self.source != PROVIDER_SOURCE:
            argv += ["--source", self.source]
        result = subprocess.run(
            argv,
            env=dict(context.env),
            cwd=context.home,
            capture_output=True,
            text=True,
            timeout=_START_TIMEOUT,
            check=False,
        )
        if result.returncode != 0:
            raise ProviderStartError(
                f"Installing the provider failed.\ncommand: {' '.join(argv)}\n"
                f"exit code: {result.returncode}\n"
                f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}"
            )
        yield ProviderSession()


@dataclass(frozen=True)
class Reattach:
    """Start the provider in debug mode and point Terraform at it with ``TF_REATTACH_PROVIDERS``.

    The printed address is registered under :attr:`source` too, so configurations stay the same
    whichever key the provider announces itself under.
    """

    source: str = PROVIDER_SOURCE
    python: str = sys.executable
    module: str = "alembic_provider"

    @contextmanager
    def start(self, context: ProviderContext) -> Iterator[ProviderSession]:
        """Start the debug server, yield its reattach settings, and stop it afterwards."""
        log_path = context.log_dir / "provider-debug.stderr"
        argv = [self.python, "-m", self.module, "--debug"]
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                argv,
                env=dict(context.env),
                cwd=context.home,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=log,
                start_new_session=True,
            )
        assert process.stdout is not None
        drain = threading.Thread(target=_drain, args=(process.stdout,), daemon=True)
        try:
            line, rest = _read_reattach_line(process, process.stdout)
            if line is None:
                raise ProviderStartError(
                    f"The debug provider printed no TF_REATTACH_PROVIDERS line within "
                    f"{_START_TIMEOUT:.0f} s (exit code {process.returncode}).\n"
                    f"command: {' '.join(argv)}\nstdout:\n{rest}\nstderr:\n{_tail(log_path)}"
                )
            reattach = json.loads(line)
            if not isinstance(reattach, dict) or not reattach:
                raise ProviderStartError(f"Unexpected TF_REATTACH_PROVIDERS value: {line}")
            reattach.setdefault(self.source, next(iter(reattach.values())))
            drain.start()
            yield ProviderSession(
                env={"TF_REATTACH_PROVIDERS": json.dumps(reattach)}, log_path=log_path
            )
        finally:
            _stop(process, drain)


def _read_reattach_line(
    process: subprocess.Popen[bytes], stdout: IO[bytes]
) -> tuple[str | None, str]:
    """Wait for the ``TF_REATTACH_PROVIDERS='…'`` line; return its JSON and what was read."""
    buffer = b""
    deadline = time.monotonic() + _START_TIMEOUT
    with selectors.DefaultSelector() as selector:
        selector.register(stdout, selectors.EVENT_READ)
        while (remaining := deadline - time.monotonic()) > 0:
            if not selector.select(timeout=remaining):
                continue
            chunk = os.read(stdout.fileno(), 65536)
            if not chunk:
                process.wait(timeout=_STOP_TIMEOUT)
                break
            buffer += chunk
            for raw in buffer.split(b"\n")[:-1]:
                match = _REATTACH_LINE.search(raw.decode(errors="replace"))
                if match:
                    return match["json"], buffer.decode(errors="replace")
    return None, buffer.decode(errors="replace")


def _drain(stream: IO[bytes]) -> None:
    """Read and discard stdout so the provider can never block on a full pipe."""
    while stream.read(65536):
        pass


def _stop(process: subprocess.Popen[bytes], drain: threading.Thread) -> None:
    """End the provider: SIGTERM, then SIGKILL to its process group if anything lingers."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=_STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            _kill_group(process.pid)
            process.wait()
    if drain.is_alive():
        drain.join(timeout=_STOP_TIMEOUT)
    if drain.is_alive():
        _kill_group(process.pid)
        drain.join()
    if process.stdout is not None:
        process.stdout.close()


def _kill_group(pgid: int) -> None:
    """Kill the session the provider was started in (it holds only processes it spawned)."""
    with suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGKILL)
