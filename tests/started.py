"""A provider process started the way Terraform starts one, read up to its handshake line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

__all__ = ["PROVIDER_COMMAND", "StartedProvider"]

#: The provider run as a module, without the launcher in front of it.
PROVIDER_COMMAND = [sys.executable, "-B", "-m", "alembic_provider"]


class StartedProvider:
    """``argv`` run in a session of its own, its first stdout line read as the handshake."""

    def __init__(self, argv: list[str], env: dict[str, str], cwd: Path | None = None) -> None:
        self.process = subprocess.Popen(
            argv,
            env=env,
            cwd=cwd,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        assert self.process.stdout is not None
        self.line = self.process.stdout.readline().strip()

    @property
    def handshake(self) -> list[str]:
        """The handshake line's fields; fails the test when the line is no handshake."""
        parts = self.line.split("|")
        assert parts[:3] == ["1", "6", "unix"], self.line
        return parts

    @property
    def socket_path(self) -> Path:
        return Path(self.handshake[3])

    def stop(self, timeout: float = 30) -> str:
        """Kill the process (as Terraform may) and return what it wrote on stderr."""
        if self.process.poll() is None:
            self.process.kill()
        return self.process.communicate(timeout=timeout)[1]
