"""Cancellation reaches the database, and no worker outlives the provider that started it.

A migration writes a marker file and then runs a statement that sleeps on the database server
(``pg_sleep`` / ``SLEEP``), so the test knows the statement is running and can look for it in
the server's process list. After a cancel, or after the process that asked for the migration is
killed with SIGKILL, the server must no longer run the statement, no advisory lock may be held,
and the interrupted migration must not be recorded.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from alembic_provider.errors import CancelledError, OperationTimeoutError
from alembic_provider.executor import RunOptions, WorkerExecutor
from tests.alembic_projects import Revision as Rev
from tests.alembic_projects import version_rows
from tests.executor.conftest import ProjectFactory
from tests.server_activity import held_locks, sleeping_statements
from tests.support import wait_for

ROOT = Path(__file__).resolve().parents[2]
SERVERS = pytest.mark.parametrize("server_backend", ["postgresql", "mariadb"], indirect=True)
SLEEP = """\
open(os.path.join(os.environ["ALEMBIC_TEST_GATE"], "sleeping"), "w").close()
postgres = op.get_bind().dialect.name == "postgresql"
op.execute("SELECT pg_sleep(600)" if postgres else "SELECT SLEEP(600)")
"""
#: Bounds for a loaded machine: how long to wait for what must happen. Never a speed claim.
HANG = 60.0


def _revisions() -> list[Rev]:
    return [
        Rev("aaaa0001", None, "first"),
        Rev("aaaa0002", "aaaa0001", "sleeps", upgrade_code=SLEEP),
    ]


def _settled(url: str) -> bool:
    return sleeping_statements(url) == 0 and held_locks(url) == 0


@pytest.fixture
def gate(tmp_path: Path) -> Path:
    path = tmp_path / "gate"
    path.mkdir()
    return path


@SERVERS
@pytest.mark.parametrize("stop", ["cancel", "timeout"])
def test_cancel_stops_the_statement_on_the_server(
    executor: WorkerExecutor,
    project_factory: ProjectFactory,
    server_url_db: str,
    gate: Path,
    stop: str,
) -> None:
    project = project_factory(
        _revisions(), database=server_url_db, environment={"ALEMBIC_TEST_GATE": str(gate)}
    )
    if stop == "timeout":
        executor.upgrade(project, "aaaa0001")
    cancel = threading.Event()
    options = RunOptions(cancel=cancel, timeout=3 if stop == "timeout" else None)
    with ThreadPoolExecutor(1) as pool:
        run = pool.submit(executor.upgrade, project, "heads", options=options)
        if stop == "cancel":
            wait_for(lambda: sleeping_statements(server_url_db) == 1, "the statement to run")
            cancel.set()
        with pytest.raises(CancelledError) as raised:
            run.result()
    assert isinstance(raised.value, OperationTimeoutError) == (stop == "timeout")
    # The worker answered for itself: the statement was cancelled, not just abandoned.
    assert "A cancel for its running statement was sent to the database server." in (
        raised.value.message
    )
    assert "The migration lock is released." in raised.value.message
    assert raised.value.revision == "aaaa0002"
    assert _settled(server_url_db)
    if server_url_db.startswith("postgresql") and stop == "cancel":
        # One transaction for the whole run: the first migration rolled back with the second.
        assert raised.value.heads_reached == ()
        assert "its transaction rolled back" in raised.value.message
    else:
        assert raised.value.heads_reached == ("aaaa0001",)
    assert version_rows(server_url_db) == (
        set(raised.value.heads_reached) if raised.value.heads_reached else None
    )


PROVIDER = """\
import sys
from alembic_provider.executor import Project, WorkerExecutor
root, warm = sys.argv[1], sys.argv[2] == "warm"
with WorkerExecutor(warm=warm) as executor:
    executor.upgrade(Project(root, environment={"ALEMBIC_TEST_GATE": sys.argv[3]}), "heads")
"""


@SERVERS
@pytest.mark.parametrize("warm", ["warm", "cold"])
def test_a_killed_provider_leaves_no_worker_statement_or_lock(
    project_factory: ProjectFactory, server_url_db: str, gate: Path, warm: str
) -> None:
    project = project_factory(_revisions(), database=server_url_db)
    provider = subprocess.Popen(
        [sys.executable, "-c", PROVIDER, project.project_root, warm, str(gate)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for((gate / "sleeping").exists, "the migration to start sleeping")
        wait_for(lambda: sleeping_statements(server_url_db) == 1, "the statement to run")
        os.kill(provider.pid, signal.SIGKILL)
        provider.wait()
        wait_for(lambda: _settled(server_url_db), "the statement and lock to go")
    finally:
        if provider.poll() is None:
            provider.kill()
            provider.wait()
    rows = version_rows(server_url_db)
    if server_url_db.startswith("postgresql"):
        assert rows is None or rows == set()
    else:
        # DDL commits implicitly on MariaDB; the version table keeps the last finished step.
        assert rows == {"aaaa0001"}
