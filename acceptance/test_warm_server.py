"""Acceptance test of the warm server: real Terraform commands, one session each, nothing shared.

Two applies run one after the other through the same warm server with different environments,
as two people or two CI jobs would. env.py records what it sees: each apply's migrations see
that apply's own variables (a secret included) and working directory, never the other's.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from acceptance.providers import PROVIDER_SOURCE
from acceptance.terraform_bin import find_binaries
from tests.alembic_projects import Revision, make_project
from tests.support import required_providers

pytestmark = pytest.mark.acceptance

_NEWEST = find_binaries()[-1:]
_DIRECTORY_VARIABLE = "TERRAFORM_PROVIDER_ALEMBIC_DAEMON_DIR"
PACKAGE = Path(__file__).resolve().parent.parent / "alembic_provider"


def _config(root: Path) -> str:
    return (
        required_providers(PROVIDER_SOURCE, "0.1.0")
        + f"""provider "alembic" {{
  project_root = "{root}"
}}

resource "alembic_upgrade" "db" {{
  target = "heads"
  environment = {{
    DATABASE_URL = "sqlite:///${{path.cwd}}/db.sqlite"
  }}
}}
"""
    )


@pytest.mark.skipif(not _NEWEST, reason="no Terraform binary found")
def test_sessions_see_only_their_own_environment(tmp_path: Path) -> None:
    terraform = str(_NEWEST[0].path)
    home = tmp_path / "home"
    home.mkdir()
    cli_config = tmp_path / "terraformrc"
    cli_config.write_text("")
    warm = tmp_path / "warm"
    base = {
        "PATH": os.environ.get("PATH", os.defpath),
        "HOME": str(home),
        "TF_CLI_CONFIG_FILE": str(cli_config),
        "CHECKPOINT_DISABLE": "1",
        _DIRECTORY_VARIABLE: str(warm),
    }
    subprocess.run(
        [sys.executable, "-m", "alembic_provider", "install"],
        env=base,
        check=True,
        capture_output=True,
    )
    root = make_project(tmp_path / "alembic", revisions=[Revision("w1", None, "first")])
    try:
        seen = {}
        for name in ("first", "second"):
            work = tmp_path / name
            work.mkdir()
            (work / "main.tf").write_text(_config(root))
            record = tmp_path / f"{name}.jsonl"
            env = dict(
                base,
                ALEMBIC_TEST_RECORD=str(record),
                ALEMBIC_TEST_SECRET=f"secret-of-{name}",
            )
            for command in (["init"], ["apply", "-auto-approve"]):
                subprocess.run(
                    [terraform, *command, "-input=false", "-no-color"],
                    cwd=work,
                    env=env,
                    check=True,
                    capture_output=True,
                )
            seen[name] = [json.loads(line) for line in record.read_text().splitlines()]
        for name, other in (("first", "second"), ("second", "first")):
            assert seen[name], f"env.py never ran for the {name} apply"
            for entry in seen[name]:
                assert entry["environment"]["ALEMBIC_TEST_SECRET"] == f"secret-of-{name}"
                assert f"secret-of-{other}" not in json.dumps(entry)
                assert entry["environment"]["ALEMBIC_TEST_RECORD"].endswith(f"{name}.jsonl")
        assert (tmp_path / "first" / "db.sqlite").exists()
        assert (tmp_path / "second" / "db.sqlite").exists()
        served, fast = _sessions(base)
        assert served >= 6
        # With the server running, every start of a plan comes through the launcher's fast start.
        plan = subprocess.run(
            [terraform, "plan", "-detailed-exitcode", "-input=false", "-no-color"],
            cwd=tmp_path / "second",
            env=dict(base, ALEMBIC_TEST_RECORD=str(tmp_path / "plan.jsonl")),
            capture_output=True,
            text=True,
            check=False,
        )
        assert plan.returncode == 0, plan.stdout + plan.stderr
        assert "No changes." in plan.stdout
        served_after, fast_after = _sessions(base)
        assert served_after > served
        assert fast_after - fast == served_after - served
    finally:
        subprocess.run(
            [sys.executable, "-m", "alembic_provider", "daemon", "stop"],
            env=base,
            capture_output=True,
            check=False,
        )


def _sessions(env: dict[str, str]) -> tuple[int, int]:
    """Return the sessions the warm server has served, and how many came by the fast start."""
    status = subprocess.run(
        [sys.executable, "-m", "alembic_provider", "daemon", "status"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert status.returncode == 0, status.stdout
    served, _, fast = status.stdout.split("sessions: ")[1].split()[:3]
    return int(served), int(fast.lstrip("("))


@pytest.mark.skipif(not _NEWEST, reason="no Terraform binary found")
def test_status_shows_the_servers_a_plan_used_and_stop_leaves_nothing(tmp_path: Path) -> None:
    terraform = str(_NEWEST[0].path)
    home = tmp_path / "home"
    home.mkdir()
    cli_config = tmp_path / "terraformrc"
    cli_config.write_text("")
    warm = tmp_path / "warm"
    env = {
        "PATH": os.environ.get("PATH", os.defpath),
        "HOME": str(home),
        "TF_CLI_CONFIG_FILE": str(cli_config),
        "CHECKPOINT_DISABLE": "1",
        _DIRECTORY_VARIABLE: str(warm),
    }
    subprocess.run(
        [sys.executable, "-m", "alembic_provider", "install"],
        env=env,
        check=True,
        capture_output=True,
    )
    root = make_project(tmp_path / "alembic", revisions=[Revision("s1", None, "first")])
    work = tmp_path / "work"
    work.mkdir()
    (work / "main.tf").write_text(_config(root))
    try:
        for command in (["init"], ["plan"]):
            subprocess.run(
                [terraform, *command, "-input=false", "-no-color"],
                cwd=work,
                env=env,
                check=True,
                capture_output=True,
            )
        status = _daemon(env, "status")
        assert status.returncode == 0, status.stdout + status.stderr
        provider, worker = status.stdout.split("\n\n")
        assert provider.startswith("Warm server "), status.stdout
        assert "for terraform-provider-alembic 0.1.0\n" in provider
        assert worker.startswith("Worker server "), status.stdout
        assert "for terraform-provider-alembic 0.1.0 (Alembic " in worker
        for text in (provider, worker):
            assert f"  installation: {Path(PACKAGE).resolve()}\n" in text
            assert f"  interpreter: {sys.executable}\n" in text
            assert "  memory: " in text and "  idle: " in text
            assert f"  socket: {warm}/" in text
        assert "  sessions: 0 served" not in provider
        assert "  sessions: 0 operations" not in worker
    finally:
        stopped = _daemon(env, "stop")
    assert stopped.stdout.count("Stopped the ") == 2, stopped.stdout
    assert list(warm.iterdir()) == []
    assert _daemon(env, "status").returncode == 1


def _daemon(env: dict[str, str], action: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "alembic_provider", "daemon", action],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
