"""A worker stays for its Terraform command's next request, and for no other command's.

Two ``sleep`` processes stand in for two Terraform commands (``rendezvous/processes.py`` names
a command by its process). env.py imports a module from ``PYTHONPATH`` that reads an
environment variable at import, so the warm server never keeps it, and records the process it
ran in and what the module read.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from alembic_provider.executor.process import Launch, WorkerProcesses
from alembic_provider.rendezvous import processes
from tests.alembic_projects import Revision, make_project, sqlite_url
from tests.support import current_request, wait_gone

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="Not applicable here: Linux only (/proc)"
)

_MODULE = (
    "import os, decimal, fractions\nVALUE = os.environ.get('ALEMBIC_TEST_VALUE')\nEDITION = 1\n"
)
_ENV_PY_LINE = '"cwd": os.getcwd(),'


@pytest.fixture
def commands() -> Iterator[list[subprocess.Popen[bytes]]]:
    started = [subprocess.Popen(["sleep", "120"]) for _ in range(2)]
    try:
        yield started
    finally:
        processes.serve_command(None)
        for command in started:
            command.kill()
            command.wait()


def _request(root: Path, record: Path, value: str, **extra: str) -> dict[str, Any]:
    environment = {"ALEMBIC_TEST_RECORD": str(record), "ALEMBIC_TEST_VALUE": value}
    return current_request(root, {**environment, **extra})


_LEGACY = os.environ.get("ALEMBIC_TEST_LEGACY_PYTHON", "")


def _world(tmp_path: Path, python: str, module: str = _MODULE) -> tuple[Path, Path, Path, Launch]:
    """The modules' directory, a project whose env.py records what it saw, the record, how
    to launch its workers."""
    site = tmp_path / "site"
    site.mkdir()
    (site / "heavy_mod.py").write_text(module)
    root = make_project(tmp_path, sqlite_url(tmp_path / "db.sqlite"), [Revision("c1", None)])
    env_py = root / "migrations" / "env.py"
    seen = '"site": [__import__("heavy_mod").VALUE, __import__("heavy_mod").EDITION],'
    env_py.write_text(env_py.read_text().replace(_ENV_PY_LINE, f"{_ENV_PY_LINE} {seen}"))
    time.sleep(2.5)  # a file changed moments before a run may have changed after its import
    launch = Launch((python,), str(root), {"PYTHONPATH": str(site)})
    return site, root, tmp_path / "record.jsonl", launch


@pytest.mark.parametrize("legacy", [False, True], ids=["current", "legacy"])
def test_a_worker_serves_its_own_command_and_environment_only(
    tmp_path: Path, commands: list[subprocess.Popen[bytes]], legacy: bool
) -> None:
    if legacy and not _LEGACY:
        pytest.skip("ALEMBIC_TEST_LEGACY_PYTHON is not set")
    site, root, record, launch = _world(tmp_path, _LEGACY if legacy else sys.executable)
    workers = WorkerProcesses(warm=True, shared=False)

    def run(command: subprocess.Popen[bytes] | None, value: str) -> tuple[int, int]:
        processes.serve_command(None if command is None else processes.identity(command.pid))
        exchange = workers.exchange(launch, _request(root, record, value))
        assert exchange.response is not None and exchange.response["ok"], exchange
        last = json.loads(record.read_text().splitlines()[-1])
        assert last["site"][0] == value, "each run reads its own environment"
        return int(last["pid"]), int(last["site"][1])

    first, second = commands
    try:
        one, _ = run(first, "a")
        assert run(first, "a")[0] == one, "the same command and environment: the same worker"
        assert run(first, "b")[0] != one, "another environment: another worker"
        assert run(second, "a")[0] != one, "another command: another worker"
        assert run(None, "a")[0] != one, "no command named: a fresh worker"
        # An edited module is seen: the worker serves that request in a fresh interpreter.
        assert run(first, "a") == (one, 1)
        (site / "heavy_mod.py").write_text(_MODULE.replace("EDITION = 1", "EDITION = 2"))
        assert run(first, "a") == (one, 2), "the same process, started afresh"
        two, edition = run(first, "a")
        assert edition == 2
        # The other command's worker sees the edit too (it starts afresh, then leaves).
        assert run(second, "a")[1] == 2
        # A command ends: its workers leave, and only its own.
        other, _ = run(second, "a")
        first.kill()
        first.wait()
        wait_gone(two, timeout=10)
        assert run(second, "a")[0] == other
        second.kill()
        second.wait()
        wait_gone(other, timeout=10)
    finally:
        workers.close()


def test_a_worker_stays_after_importing_afresh_what_the_server_kept_for_others(
    tmp_path: Path, commands: list[subprocess.Popen[bytes]]
) -> None:
    """A module kept because other operations name it (the probe refuses it: it lists the
    environment) is dropped and imported afresh by an operation that does not: that operation
    imported it, and its worker stays."""
    refused = _MODULE + "SIZE = len(os.environ)\n"
    _, root, record, launch = _world(tmp_path, sys.executable, refused)
    workers = WorkerProcesses(warm=True, shared=False)
    naming = {"TERRAFORM_PROVIDER_ALEMBIC_KEEP_MODULES": "heavy_mod"}
    try:
        deadline = time.monotonic() + 30
        while True:  # no command named: each operation forked afresh, until it is kept
            exchange = workers.exchange(launch, _request(root, record, "a", **naming))
            assert exchange.response is not None and exchange.response["ok"], exchange
            if "heavy_mod" in exchange.response.get("kept", {}).get("packages", []):
                break
            assert time.monotonic() < deadline, exchange.response
            time.sleep(0.2)
        processes.serve_command(processes.identity(commands[0].pid))
        pids = set()
        for _ in range(3):
            exchange = workers.exchange(launch, _request(root, record, "a"))
            assert exchange.response is not None and exchange.response["ok"], exchange
            pids.add(json.loads(record.read_text().splitlines()[-1])["pid"])
        assert len(pids) == 1, pids
    finally:
        workers.close()


_COUNTED = (
    "import os\n"
    "with open(os.environ['ALEMBIC_TEST_RUNS'], 'a') as runs:\n"
    "    runs.write('{label}\\n')\n"
    "op.drop_column('accounts', '{column}')\n"
)


def test_a_command_reviews_each_revision_once(
    tmp_path: Path, commands: list[subprocess.Popen[bytes]]
) -> None:
    """``terraform apply`` plans twice: the worker that reviewed the first plan's pending
    revisions stays and answers the second from what it recorded, without running them
    again. An edited revision, another environment or another command is reviewed afresh."""
    runs = tmp_path / "runs.txt"
    code = _COUNTED.format(label="r1", column="legacy")
    revisions = [Revision("r0", None), Revision("r1", "r0", upgrade_sql=[], upgrade_code=code)]
    root = make_project(tmp_path, sqlite_url(tmp_path / "db.sqlite"), revisions)
    time.sleep(2.5)  # a file changed moments before a run may have changed after its import
    launch = Launch((sys.executable,), str(root), {})
    workers = WorkerProcesses(warm=True, shared=False)

    def review(command: subprocess.Popen[bytes], value: str = "a") -> list[str]:
        processes.serve_command(processes.identity(command.pid))
        environment = {"ALEMBIC_TEST_RUNS": str(runs), "ALEMBIC_TEST_VALUE": value}
        request = {
            **current_request(root, environment),
            "op": "review",
            "target": "r1",
            "current": [],
            "dialect": "sqlite",
            "sizes": False,
        }
        exchange = workers.exchange(launch, request)
        assert exchange.response is not None and exchange.response["ok"], exchange
        revisions = exchange.response["result"]["revisions"]
        return [o["column"] for r in revisions for o in r["operations"] if o["op"] == "drop_column"]

    first, second = commands
    try:
        assert review(first) == ["legacy"]
        assert review(first) == ["legacy"], "the same answer"
        assert runs.read_text().split() == ["r1"], "the second review ran nothing"
        assert review(first, "b") == ["legacy"]
        assert review(second) == ["legacy"]
        assert runs.read_text().split() == ["r1"] * 3, "another environment, another command"
        path = next((root / "migrations" / "versions").glob("r1*.py"))
        path.write_text(path.read_text().replace("'legacy'", "'retired'"))
        assert review(first) == ["retired"], "an edited revision is reviewed afresh"
        assert runs.read_text().split() == ["r1"] * 4
    finally:
        workers.close()
