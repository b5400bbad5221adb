"""What differs when the provider runs as the self-contained build of the release archive.

The archive holds a frozen program (PyInstaller, one-directory mode): ``sys.executable`` is that
program, not a Python that can run scripts. The worker and the proxy supervisor run as files in
another interpreter, so here they default to ``python3`` from ``PATH`` (the worker's can be set
with ``python`` in the provider block). Never imports anything heavy and never writes anywhere:
Terraform checks the archive's unpacked directory against the lock file on every command.
"""

from __future__ import annotations

import sys

__all__ = ["FROZEN_PYTHON", "frozen", "helper_python", "provider_command"]

FROZEN_PYTHON = "python3"
"""The interpreter a self-contained build runs its helper scripts with, found on ``PATH``."""


def frozen() -> bool:
    """Return whether this process is the self-contained build rather than a Python package."""
    return bool(getattr(sys, "frozen", False))


def helper_python() -> str:
    """Return the interpreter that runs the provider's own scripts when nothing else is set."""
    return FROZEN_PYTHON if frozen() else sys.executable


def provider_command() -> list[str]:
    """Return the command that starts this provider again, for a process it hands work to.

    The self-contained build is started as itself; it understands no interpreter options.
    """
    return [sys.executable] if frozen() else [sys.executable, "-m", "alembic_provider"]
