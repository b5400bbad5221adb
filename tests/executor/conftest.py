"""Fixtures for the executor tests: executors, backends and throwaway databases.

``database_url`` runs a test once per backend: SQLite always, PostgreSQL and MariaDB on the
servers named by ``ALEMBIC_TEST_POSTGRES_URL`` / ``ALEMBIC_TEST_MARIADB_URL``, each test in a
database of its own. A backend whose server is unreachable is skipped, except under ``CI``,
where every backend must run.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from alembic_provider.executor import Project, WorkerExecutor
from tests.alembic_projects import (
    Revision,
    database_reachable,
    make_project,
    sqlite_url,
    throwaway_database,
)

BACKENDS = ("sqlite", "postgresql", "mariadb")

ProjectFactory = Callable[..., Project]


@functools.cache
def _reachable(backend: str) -> bool:
    return database_reachable(backend)


def require_backend(backend: str) -> None:
    """Skip when ``backend``'s server is down, unless CI demands every backend."""
    if backend == "sqlite" or _reachable(backend):
        return
    if os.environ.get("CI"):
        pytest.fail(f"The {backend} test server is not reachable, and CI must run every backend.")
    pytest.skip(f"{backend} test server not reachable")


@pytest.fixture(scope="session")
def executor() -> Iterator[WorkerExecutor]:
    """A warm executor shared by the session: the normal way the provider runs."""
    with WorkerExecutor(warm=True) as warm:
        yield warm


@pytest.fixture(scope="session")
def cold_executor() -> Iterator[WorkerExecutor]:
    """An executor that starts a fresh interpreter per request (the fallback path)."""
    with WorkerExecutor(warm=False) as cold:
        yield cold


@pytest.fixture(params=[True, False], ids=["warm", "cold"])
def any_executor(
    request: pytest.FixtureRequest, executor: WorkerExecutor, cold_executor: WorkerExecutor
) -> WorkerExecutor:
    return executor if request.param else cold_executor


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    require_backend(request.param)
    return str(request.param)


@pytest.fixture
def server_backend(request: pytest.FixtureRequest) -> str:
    """Parametrize indirectly with ``postgresql`` or ``mariadb``."""
    require_backend(request.param)
    return str(request.param)


@pytest.fixture
def database_url(backend: str, tmp_path: Path) -> Iterator[str]:
    if backend == "sqlite":
        yield sqlite_url(tmp_path / "db.sqlite")
        return
    with throwaway_database(backend) as url:
        yield url


@pytest.fixture
def server_url_db(server_backend: str) -> Iterator[str]:
    with throwaway_database(server_backend) as url:
        yield url


@pytest.fixture
def project_factory(tmp_path: Path) -> ProjectFactory:
    """Build a project in ``tmp_path`` and return the executor's view of it.

    Keyword arguments go to :func:`make_project`, except ``project`` ones (``url``,
    ``environment``, ``extra``, ``tag``, ``python``, ``alembic``) which shape the Project.
    """

    def build(
        revisions: Sequence[Revision],
        *,
        database: str,
        project_url: str | None = None,
        **options: Any,
    ) -> Project:
        fields = {
            key: options.pop(key)
            for key in ("environment", "extra", "tag", "python", "alembic", "section", "config")
            if key in options
        }
        make_kwargs = dict(options)
        if "config" in fields:
            make_kwargs["config_name"] = fields["config"]
        if "section" in fields:
            make_kwargs["section"] = fields["section"]
        root = make_project(tmp_path, database, revisions, **make_kwargs)
        return Project(str(root), url=project_url, **fields)

    return build
