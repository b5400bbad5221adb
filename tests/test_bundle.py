"""The self-contained build runs its scripts with ``python3`` from ``PATH``; a package its own."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from alembic_provider.bundle import frozen, helper_python, provider_command
from alembic_provider.executor.interpreter import python_command
from alembic_provider.executor.messages import Project
from alembic_provider.proxy.process import SupervisedLauncher


def test_a_python_package_uses_its_own_interpreter() -> None:
    assert not frozen()
    assert helper_python() == sys.executable
    assert provider_command() == [sys.executable, "-m", "alembic_provider"]


def test_the_frozen_build_runs_the_worker_and_the_supervisor_with_python3(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    assert frozen()
    assert provider_command() == [sys.executable]
    assert python_command(Project(str(tmp_path))) == ("python3",)
    assert SupervisedLauncher()._python == "python3"
    # An interpreter set in the provider block still wins.
    assert python_command(Project(str(tmp_path), python=("/srv/.venv/bin/python",))) == (
        "/srv/.venv/bin/python",
    )
