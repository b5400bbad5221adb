"""Finding the user's interpreter, including from Go-provider ``alembic`` commands."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from alembic_provider.errors import ConfigError
from alembic_provider.executor import Project, WorkerExecutor
from alembic_provider.executor.interpreter import python_command
from tests.alembic_projects import Revision as Rev
from tests.alembic_projects import make_project, sqlite_url

_SET_PYTHON = "set 'python' to the project's interpreter, e.g. [\"/srv/app/.venv/bin/python\"]."


def _script(directory: Path, name: str, text: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_text(text)
    path.chmod(0o755)
    return path


def test_python_wins_and_defaults_to_the_provider_interpreter(tmp_path: Path) -> None:
    assert python_command(Project(str(tmp_path))) == (sys.executable,)
    project = Project(str(tmp_path), python=("/srv/app/.venv/bin/python", "-X", "utf8"))
    assert python_command(project) == ("/srv/app/.venv/bin/python", "-X", "utf8")
    relative = Project(str(tmp_path), python=(".venv/bin/python",), alembic=("poetry",))
    assert python_command(relative) == (str(tmp_path / ".venv/bin/python"),)


@pytest.mark.parametrize(
    ("alembic", "expected"),
    [
        (("poetry", "run", "alembic"), ("poetry", "run", "python")),
        (("pipenv", "run", "alembic", "-c", "x.ini"), ("pipenv", "run", "python")),
        (("/venv/bin/python3", "/venv/bin/alembic"), ("/venv/bin/python3",)),
        (("python3.11", "-m", "alembic"), ("python3.11",)),
        (("uv", "run", "python", "-m", "alembic"), ("uv", "run", "python")),
    ],
)
def test_wrapped_alembic_commands(
    tmp_path: Path, alembic: tuple[str, ...], expected: tuple[str, ...]
) -> None:
    assert python_command(Project(str(tmp_path), alembic=alembic)) == expected


def test_alembic_script_shebangs(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    _script(bin_dir, "python3.11", "")
    direct = _script(bin_dir, "alembic", "#!/opt/venv/bin/python3.11\nimport sys\n")
    env = {"PATH": str(bin_dir)}
    assert python_command(Project(str(tmp_path), alembic=("alembic",)), env) == (
        "/opt/venv/bin/python3.11",
    )
    assert python_command(Project(str(tmp_path), alembic=(str(direct),)), env) == (
        "/opt/venv/bin/python3.11",
    )

    _script(tmp_path / "env", "alembic", "#!/usr/bin/env python3.11\n")
    via_env = Project(str(tmp_path), alembic=("env/alembic",))
    assert python_command(via_env, env) == (str(bin_dir / "python3.11"),)

    long_path = "/very long/path with spaces/bin/python"
    _script(
        tmp_path / "sh",
        "alembic",
        f"#!/bin/sh\n'''exec' \"{long_path}\" \"$0\" \"$@\"\n' '''\nimport sys\n",
    )
    assert python_command(Project(str(tmp_path), alembic=("sh/alembic",)), env) == (long_path,)


def test_alembic_errors(tmp_path: Path) -> None:
    env = {"PATH": str(tmp_path / "empty")}
    with pytest.raises(ConfigError) as raised:
        python_command(Project(str(tmp_path), alembic=("alembic",)), env)
    assert raised.value.message == (
        f"The alembic command 'alembic' was not found (searched PATH from '{tmp_path}'); "
        + _SET_PYTHON
    )
    assert raised.value.attribute == ("alembic",)

    binary = _script(tmp_path / "bin", "alembic", "\x7fELF")
    with pytest.raises(ConfigError) as raised:
        python_command(Project(str(tmp_path), alembic=(str(binary),)), env)
    assert raised.value.message == (
        f"The alembic command ['{binary}'] resolves to '{binary}', which does not say which "
        "Python runs it (no Python shebang); " + _SET_PYTHON
    )

    with pytest.raises(ConfigError) as raised:
        python_command(Project(str(tmp_path), alembic=("make", "migrate")), env)
    assert raised.value.message == (
        "The alembic command ['make', 'migrate'] does not name an 'alembic' executable, so the "
        "provider cannot tell which Python it uses; " + _SET_PYTHON
    )


def test_go_provider_style_project_runs_end_to_end(
    executor: WorkerExecutor, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``alembic = ["alembic"]`` with DATABASE_URL in ``environment``, as Go configs had it."""
    venv_bin = Path(sys.executable).parent
    assert (venv_bin / "alembic").exists()
    monkeypatch.setenv("PATH", f"{venv_bin}{os.pathsep}{os.environ.get('PATH', '')}")
    url = sqlite_url(tmp_path / "app.sqlite")
    root = make_project(tmp_path, "sqlite:////nonexistent-dir/x.db", [Rev("aaaa0001", None)])
    project = Project(str(root), alembic=("alembic",), environment={"DATABASE_URL": url})

    assert executor.upgrade(project, "head").heads == ("aaaa0001",)
    assert executor.current(project) == ("aaaa0001",)
