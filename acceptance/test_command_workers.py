"""Acceptance test of a command's worker: one Terraform command imports its application once.

env.py imports a module from a directory on ``PYTHONPATH`` that imports much of the standard
library and reads an environment variable at import, so the warm server never keeps it. Two
resources with different values of that variable share a project. Within one ``terraform
apply`` every run of env.py for a resource happens in one process (its plan's and its apply's),
each resource's runs see their own value, and that process is gone once Terraform exits. The
next command gets new processes; a module edited while ``terraform apply`` waits for its
approval is imported afresh by the apply.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from acceptance.providers import PROVIDER_SOURCE
from acceptance.terraform_bin import find_binaries
from tests.alembic_projects import Revision, make_project
from tests.support import required_providers, terraform_world, wait_gone

pytestmark = pytest.mark.acceptance

_NEWEST = find_binaries()[-1:]
_HEAVY = (
    "import asyncio, decimal, email.mime.multipart, http.client, os, unittest, xml.dom.minidom\n"
    "VALUE = os.environ.get('ALEMBIC_TEST_WARM_VALUE')\n"
    "EDITION = 'first'\n"
)
_RECORDED = '"cwd": os.getcwd(),'


def _config(root: Path) -> str:
    resources = "".join(
        f"""
resource "alembic_upgrade" "{name}" {{
  target = "heads"
  environment = {{
    DATABASE_URL            = "sqlite:///${{path.cwd}}/{name}.sqlite"
    ALEMBIC_TEST_WARM_VALUE = "${{var.value}}-{name}"
  }}
}}
"""
        for name in ("a", "b")
    )
    return (
        required_providers(PROVIDER_SOURCE, "0.1.0")
        + f'provider "alembic" {{\n  project_root = "{root}"\n}}\n\n'
        + 'variable "value" {\n  type = string\n}\n'
        + resources
    )


def _project(tmp_path: Path) -> Path:
    revisions = [Revision("w1", None, "first"), Revision("w2", "w1", "second")]
    root = make_project(tmp_path / "alembic", revisions=revisions)
    env = root / "migrations" / "env.py"
    seen = '"site": [__import__("warm_heavy").VALUE, __import__("warm_heavy").EDITION],'
    env.write_text(env.read_text().replace(_RECORDED, f"{_RECORDED} {seen}"))
    return root


def _terraform(terraform: str, work: Path, env: dict[str, str], *command: str) -> str:
    done = subprocess.run(
        [terraform, *command, "-input=false", "-no-color"],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def _stop_servers(env: dict[str, str]) -> None:
    subprocess.run(
        [sys.executable, "-m", "alembic_provider", "daemon", "stop"],
        env=env,
        capture_output=True,
        check=False,
        timeout=120,
    )


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Not applicable here: Linux only")
@pytest.mark.skipif(not _NEWEST, reason="no Terraform binary found")
def test_a_command_runs_each_resource_in_one_process_and_the_next_command_in_a_new_one(
    tmp_path: Path,
) -> None:
    terraform = str(_NEWEST[0].path)
    env, site, record = terraform_world(tmp_path, {"warm_heavy": _HEAVY})
    work = tmp_path / "work"
    work.mkdir()
    (work / "main.tf").write_text(_config(_project(tmp_path)))
    # A file changed moments before a run of env.py may have changed after its import: its
    # worker would not stay. Let the files just written settle.
    time.sleep(2.5)

    def terraform_run(*command: str) -> None:
        _terraform(terraform, work, env, *command)

    def runs_since(mark: int) -> dict[str, list[dict[str, Any]]]:
        """Each resource's runs of env.py since ``mark``; each saw its own value."""
        runs: dict[str, list[dict[str, Any]]] = {}
        for line in record.read_text().splitlines()[mark:]:
            run = json.loads(line)
            value = run["environment"]["ALEMBIC_TEST_WARM_VALUE"]
            assert run["site"][0] == value, run
            runs.setdefault(value.rpartition("-")[2], []).append(run)
        return runs

    try:
        terraform_run("init")
        terraform_run("apply", "-auto-approve", "-var", "value=first")
        first = runs_since(0)
        assert sorted(first) == ["a", "b"]
        for name, runs in first.items():
            # The plan reads the database and the apply reads it and upgrades: three runs of
            # env.py, one process, one import of the application.
            assert len(runs) >= 2, runs
            assert len({run["pid"] for run in runs}) == 1, (name, runs)
        pids = {run["pid"] for runs in first.values() for run in runs}
        assert len(pids) == 2, "the two environments never share a process"
        for pid in pids:
            wait_gone(pid, timeout=10)  # the command's workers end with it

        mark = len(record.read_text().splitlines())
        terraform_run("plan", "-var", "value=second")
        second = runs_since(mark)
        assert not pids & {run["pid"] for runs in second.values() for run in runs}

        # An apply waits for approval; meanwhile the application's module is edited.
        mark = len(record.read_text().splitlines())
        with subprocess.Popen(
            [terraform, "apply", "-no-color", "-var", "value=third"],
            cwd=work,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        ) as apply:
            assert apply.stdin is not None and apply.stdout is not None
            shown = ""
            while "Enter a value:" not in shown:  # the prompt ends no line
                chunk = apply.stdout.read(1)
                assert chunk, shown
                shown += chunk
            (site / "warm_heavy.py").write_text(_HEAVY.replace("'first'", "'edited'"))
            apply.stdin.write("yes\n")
            apply.stdin.close()
            rest = apply.stdout.read()
            assert apply.wait(timeout=300) == 0, shown + rest
        third = runs_since(mark)
        for runs in third.values():
            planned, applied = runs[0], runs[-1]
            assert planned["site"][1] == "first"
            assert applied["site"][1] == "edited", runs
    finally:
        _stop_servers(env)


_COUNTED = (
    "import os\n"
    "how = 'reviewed' if op.get_context().as_sql else 'ran'\n"
    "with open(os.environ['ALEMBIC_TEST_RUNS'], 'a') as runs:\n"
    "    runs.write(how + '\\n')\n"
    "op.execute('CREATE TABLE counted (id INTEGER)')\n"
)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Not applicable here: Linux only")
@pytest.mark.skipif(not _NEWEST, reason="no Terraform binary found")
def test_an_apply_reviews_each_pending_revision_once(tmp_path: Path) -> None:
    """``terraform apply`` plans twice (before asking, then again to apply); the second plan's
    review comes from the worker that made the first, so a pending ``upgrade()`` runs once
    under review and once for real. The next command reviews afresh."""
    terraform = str(_NEWEST[0].path)
    env, _, _ = terraform_world(tmp_path, {})
    runs = tmp_path / "runs.txt"
    revisions = [Revision("c1", None, "counted", upgrade_sql=[], upgrade_code=_COUNTED)]
    root = make_project(tmp_path / "alembic", revisions=revisions)
    work = tmp_path / "work"
    work.mkdir()
    (work / "main.tf").write_text(
        required_providers(PROVIDER_SOURCE, "0.1.0")
        + f'provider "alembic" {{\n  project_root = "{root}"\n}}\n\n'
        + 'resource "alembic_upgrade" "db" {\n  target = "heads"\n  environment = {\n'
        + '    DATABASE_URL      = "sqlite:///${path.cwd}/db.sqlite"\n'
        + f'    ALEMBIC_TEST_RUNS = "{runs}"\n  }}\n}}\n'
    )
    time.sleep(2.5)  # a file changed moments before its review may change again unseen

    def terraform_run(*command: str) -> str:
        return _terraform(terraform, work, env, *command)

    try:
        terraform_run("init")
        terraform_run("plan")
        assert runs.read_text().split() == ["reviewed"]
        shown = terraform_run("apply", "-auto-approve")
        assert "counted" in shown
        assert runs.read_text().split() == ["reviewed", "reviewed", "ran"]
    finally:
        _stop_servers(env)
