"""Mutating runs under pressure: lock contention, cancellation, timeouts and killed workers.

A gated revision writes ``started-<pid>`` into a directory and waits for a ``release`` file
there, so a test knows exactly when a worker is inside a migration and which process it is.
"""

from __future__ import annotations

import os
import signal
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import pytest

from alembic_provider.errors import (
    CancelledError,
    LockTimeoutError,
    MigrationError,
    OperationTimeoutError,
)
from alembic_provider.executor import RunOptions, RunResult, WorkerExecutor
from tests.alembic_projects import Revision as Rev
from tests.alembic_projects import sqlite_url, tables, version_rows
from tests.executor.conftest import ProjectFactory
from tests.server_activity import waiting_for_lock
from tests.support import is_alive, wait_for

GATE = """\
import time
gate = os.environ["ALEMBIC_TEST_GATE"]
open(os.path.join(gate, "started-%d" % os.getpid()), "w").close()
for _ in range(1200):
    if os.path.exists(os.path.join(gate, "release")):
        break
    time.sleep(0.05)
"""


def _gated(first_gated: bool) -> list[Rev]:
    return [
        Rev("aaaa0001", None, "first", upgrade_code=GATE if first_gated else ""),
        Rev("aaaa0002", "aaaa0001", "second", upgrade_code="" if first_gated else GATE),
    ]


def _started(gate: Path) -> list[int]:
    return [int(p.name.split("-")[1]) for p in gate.glob("started-*")]


@pytest.fixture
def gate(tmp_path: Path) -> Path:
    path = tmp_path / "gate"
    path.mkdir()
    return path


@pytest.mark.parametrize("server_backend", ["postgresql", "mariadb"], indirect=True)
def test_lock_serialises_two_concurrent_upgrades(
    executor: WorkerExecutor, project_factory: ProjectFactory, server_url_db: str, gate: Path
) -> None:
    project = project_factory(
        _gated(first_gated=True),
        database=server_url_db,
        environment={"ALEMBIC_TEST_GATE": str(gate)},
    )
    with ThreadPoolExecutor(2) as pool:
        first = pool.submit(executor.upgrade, project, "heads")
        wait_for(lambda: bool(_started(gate)), "the first upgrade to start migrating")
        second = pool.submit(executor.upgrade, project, "heads")
        wait_for(lambda: waiting_for_lock(server_url_db), "the second upgrade to wait")
        (gate / "release").touch()
        results = [first.result(), second.result()]

    assert [r.heads for r in results] == [("aaaa0002",), ("aaaa0002",)]
    assert [len(r.steps) for r in results] == [2, 0], "every migration runs exactly once"
    assert len(_started(gate)) == 1
    assert version_rows(server_url_db) == {"aaaa0002"}


@pytest.mark.parametrize("server_backend", ["postgresql", "mariadb"], indirect=True)
def test_lock_timeout(
    executor: WorkerExecutor, project_factory: ProjectFactory, server_url_db: str, gate: Path
) -> None:
    project = project_factory(
        _gated(first_gated=True),
        database=server_url_db,
        environment={"ALEMBIC_TEST_GATE": str(gate)},
    )
    with ThreadPoolExecutor(1) as pool:
        holder: Future[RunResult] = pool.submit(executor.upgrade, project, "heads")
        wait_for(lambda: bool(_started(gate)), "the first upgrade to hold the lock")
        try:
            with pytest.raises(LockTimeoutError) as raised:
                executor.upgrade(project, "heads", options=RunOptions(lock_timeout=0.5))
        finally:
            (gate / "release").touch()
        assert holder.result().heads == ("aaaa0002",)
    assert raised.value.message == (
        "Another run held the migration lock on this database (version table "
        "'alembic_version') for more than 0.5 seconds. Let it finish and apply again, raise "
        "'lock_timeout', or set 'lock = false' if nothing else migrates this database."
    )
    assert raised.value.summary == "Migration Lock Timeout"
    assert raised.value.heads_reached == ()


@pytest.mark.parametrize(
    ("server_backend", "reached"),
    [("postgresql", ()), ("mariadb", ("aaaa0001",))],
    indirect=["server_backend"],
)
def test_cancel_kills_the_worker(
    executor: WorkerExecutor,
    project_factory: ProjectFactory,
    server_url_db: str,
    gate: Path,
    reached: tuple[str, ...],
) -> None:
    project = project_factory(
        _gated(first_gated=False),
        database=server_url_db,
        environment={"ALEMBIC_TEST_GATE": str(gate)},
    )
    cancel = threading.Event()
    with ThreadPoolExecutor(1) as pool:
        run = pool.submit(executor.upgrade, project, "heads", options=RunOptions(cancel=cancel))
        wait_for(lambda: bool(_started(gate)), "the gated migration to start")
        cancel.set()
        with pytest.raises(CancelledError) as raised:
            run.result()

    assert raised.value.heads_reached == reached
    # The gate waits in Python, not in a statement: the worker is killed after its grace.
    assert raised.value.message == (
        "The Alembic 'upgrade' operation was cancelled, and its worker did not stop by itself "
        "in time, so it was killed. The database server rolls back the running migration's "
        "transaction once it notices the connection is gone; a statement still running there "
        "may hold its locks until it ends."
    )
    (pid,) = _started(gate)
    wait_for(lambda: not is_alive(pid), "the killed worker to disappear")
    assert version_rows(server_url_db) == (None if reached == () else set(reached))


@pytest.mark.parametrize("server_backend", ["postgresql"], indirect=True)
def test_worker_killed_mid_run(
    any_executor: WorkerExecutor,
    project_factory: ProjectFactory,
    server_url_db: str,
    gate: Path,
) -> None:
    project = project_factory(
        _gated(first_gated=False),
        database=server_url_db,
        environment={"ALEMBIC_TEST_GATE": str(gate)},
    )
    with ThreadPoolExecutor(1) as pool:
        run = pool.submit(any_executor.upgrade, project, "heads")
        wait_for(lambda: bool(_started(gate)), "the gated migration to start")
        os.kill(_started(gate)[0], signal.SIGKILL)
        with pytest.raises(MigrationError) as raised:
            run.result()

    assert raised.value.kind == "worker_died"
    assert raised.value.summary == "Alembic Worker Died"
    assert raised.value.heads_reached == ()
    assert raised.value.message.startswith("The Alembic worker ended without answering 'upgrade'")
    assert tables(server_url_db) == set()


def test_timeout_kills_the_worker(
    executor: WorkerExecutor, tmp_path: Path, gate: Path, project_factory: ProjectFactory
) -> None:
    project = project_factory(
        _gated(first_gated=False),
        database=sqlite_url(tmp_path / "db.sqlite"),
        environment={"ALEMBIC_TEST_GATE": str(gate)},
    )
    # The first step is done before the timed run, so what the run reached does not depend on
    # how far a loaded machine got before the deadline: the gate is never released.
    executor.upgrade(project, "aaaa0001")
    with pytest.raises(OperationTimeoutError) as raised:
        executor.upgrade(project, "heads", options=RunOptions(timeout=1))
    assert raised.value.kind == "timeout"
    assert raised.value.summary == "Operation Timed Out"
    assert raised.value.heads_reached == ("aaaa0001",)
    wait_for(lambda: not any(is_alive(pid) for pid in _started(gate)), "the timed-out worker to go")


def test_sigint_does_not_interrupt_a_migration(
    any_executor: WorkerExecutor, tmp_path: Path, gate: Path, project_factory: ProjectFactory
) -> None:
    project = project_factory(
        _gated(first_gated=False),
        database=sqlite_url(tmp_path / "db.sqlite"),
        environment={"ALEMBIC_TEST_GATE": str(gate)},
    )
    with ThreadPoolExecutor(1) as pool:
        run = pool.submit(any_executor.upgrade, project, "heads")
        wait_for(lambda: bool(_started(gate)), "the gated migration to start")
        os.killpg(_started(gate)[0], signal.SIGINT)
        (gate / "release").touch()
        assert run.result().heads == ("aaaa0002",)


def test_unlocked_run(
    executor: WorkerExecutor, project_factory: ProjectFactory, database_url: str
) -> None:
    project = project_factory(
        [Rev("aaaa0001", None), Rev("aaaa0002", "aaaa0001")], database=database_url
    )

    result = executor.upgrade(project, "heads", options=RunOptions(lock=False))
    assert result.heads == ("aaaa0002",)
    assert executor.downgrade(project, "base", options=RunOptions(lock=False)).heads == ()
