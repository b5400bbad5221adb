"""Acceptance test of kept imports: real Terraform commands through the shared warm server.

env.py imports three modules from a directory on ``PYTHONPATH`` (as it would import installed
packages): one reads an environment variable at import, one connects a socket at import, one
does neither. Each run of env.py sees its own command's value of the variable; the socket's
module is never kept, the variable's is never used by a command whose value differs from what
it read, the quiet module is used by every command (the provider's debug log and ``daemon
status`` say so); once edited, the next plan sees the edit.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from acceptance.providers import PROVIDER_SOURCE
from acceptance.terraform_bin import find_binaries
from tests.alembic_projects import Revision, make_project
from tests.support import required_providers, terraform_world

pytestmark = pytest.mark.acceptance

_NEWEST = find_binaries()[-1:]
_MODULES = {
    "warm_quiet": "import fractions\nVALUE = 'as installed'\n",
    "warm_env": "import os\nVALUE = os.environ.get('ALEMBIC_TEST_WARM_VALUE')\n",
    "warm_socket": (
        "import socket\nwith socket.socket() as s:\n    s.connect_ex(('127.0.0.1', 9))\n"
        "VALUE = 'socket'\n"
    ),
}
_RECORDED = '"cwd": os.getcwd(),'


def _config(root: Path) -> str:
    return (
        required_providers(PROVIDER_SOURCE, "0.1.0")
        + f"""provider "alembic" {{
  project_root = "{root}"
}}

variable "value" {{
  type = string
}}

resource "alembic_upgrade" "db" {{
  target = "heads"
  environment = {{
    DATABASE_URL            = "sqlite:///${{path.cwd}}/db.sqlite"
    ALEMBIC_TEST_WARM_VALUE = var.value
  }}
}}
"""
    )


def _project(tmp_path: Path) -> Path:
    root = make_project(tmp_path / "alembic", revisions=[Revision("k1", None, "first")])
    names = ", ".join(f'"{name}": __import__("{name}").VALUE' for name in _MODULES)
    env = root / "migrations" / "env.py"
    env.write_text(env.read_text().replace(_RECORDED, f'{_RECORDED} "site": {{{names}}},'))
    return root


def _daemon(env: dict[str, str], action: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "alembic_provider", "daemon", action],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    return done.stdout


def _kept_line(env: dict[str, str]) -> str:
    status = _daemon(env, "status")
    return next((line for line in status.splitlines() if "kept imports:" in line), "")


@pytest.mark.skipif(not _NEWEST, reason="no Terraform binary found")
def test_plans_see_their_own_environment_and_edits_and_only_repeatable_imports_are_used(
    tmp_path: Path,
) -> None:
    terraform = str(_NEWEST[0].path)
    env, site, record = terraform_world(tmp_path, _MODULES, age=True)
    work = tmp_path / "work"
    work.mkdir()
    (work / "main.tf").write_text(_config(_project(tmp_path)))

    def terraform_run(*command: str, log: Path | None = None) -> str:
        extra = {} if log is None else {"TF_LOG": "DEBUG", "TF_LOG_PATH": str(log)}
        done = subprocess.run(
            [terraform, *command, "-input=false", "-no-color"],
            cwd=work,
            env={**env, **extra},
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout

    def seen_since(mark: int) -> list[dict[str, str]]:
        """What each run of env.py since ``mark`` saw; each saw its own command's value.

        A refresh runs with the state's environment, a plan with the configuration's.
        """
        lines = [json.loads(line) for line in record.read_text().splitlines()[mark:]]
        assert lines, "env.py did not run"
        for line in lines:
            assert line["site"]["warm_env"] == line["environment"]["ALEMBIC_TEST_WARM_VALUE"]
        return [line["site"] for line in lines]

    try:
        terraform_run("init")
        terraform_run("apply", "-auto-approve", "-var", "value=first")
        assert {entry["warm_env"] for entry in seen_since(0)} == {"first"}
        deadline = time.monotonic() + 60
        while "warm_quiet" not in _kept_line(env):
            assert time.monotonic() < deadline, _daemon(env, "status")
            time.sleep(0.5)
        kept = _kept_line(env)
        assert "warm_socket" not in kept, kept

        mark = len(record.read_text().splitlines())
        log = tmp_path / "second.log"
        terraform_run("plan", "-var", "value=second", log=log)
        assert "second" in {entry["warm_env"] for entry in seen_since(mark)}
        assert {entry["warm_socket"] for entry in seen_since(mark)} == {"socket"}
        used = re.findall(r'kept_packages="([^"]*)"', log.read_text())
        assert used, "the debug log shows what each worker used of the kept imports"
        assert any("warm_quiet" in line for line in used), used
        assert not any("warm_socket" in line for line in used), used
        # The refresh runs with the state's value, the one warm_env was kept with; the plan
        # with its own, so it imported warm_env afresh (and each saw its own, checked above).
        assert any("warm_env" in line for line in used), used
        assert any("warm_env" not in line for line in used), used

        (site / "warm_quiet.py").write_text("import fractions\nVALUE = 'upgraded'\n")
        mark = len(record.read_text().splitlines())
        terraform_run("plan", "-var", "value=third")
        seen = seen_since(mark)
        assert {entry["warm_quiet"] for entry in seen} == {"upgraded"}
        assert "third" in {entry["warm_env"] for entry in seen}
    finally:
        _daemon(env, "stop")
