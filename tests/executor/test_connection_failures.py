"""A database that cannot be used is told apart: refused login, missing database, no server.

The lifecycle machine plans a create from the script directory alone when the database may be
created in the same apply (no server answering, or no database of that name yet), but a login
the server refused, a TLS handshake that failed or a driver the interpreter lacks is an error
at once. The worker tells them apart from the driver's own codes, on PostgreSQL and MariaDB.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from alembic_provider.errors import ProviderError
from alembic_provider.executor import WorkerExecutor
from tests.alembic_projects import Revision, server_url
from tests.executor.conftest import ProjectFactory, require_backend

REVISIONS = [Revision("a1", None, "first")]


def _with(backend: str, **parts: object) -> str:
    url = sa.make_url(server_url(backend)).set(**parts)  # type: ignore[arg-type]
    return url.render_as_string(hide_password=False)


def _failure(executor: WorkerExecutor, project_factory: ProjectFactory, url: str) -> ProviderError:
    project = project_factory(REVISIONS, database=url)
    with pytest.raises(ProviderError) as caught:
        executor.inspect(project, "heads")
    return caught.value


@pytest.mark.parametrize("backend", ["postgresql", "mariadb"])
def test_a_database_that_does_not_exist_is_told_apart(
    executor: WorkerExecutor, project_factory: ProjectFactory, backend: str
) -> None:
    require_backend(backend)
    failure = _failure(executor, project_factory, _with(backend, database="no_such_database_x"))
    assert (failure.kind, failure.summary) == ("database_missing", "Database Not Found")
    assert "no_such_database_x" in failure.message


def test_a_sqlite_file_whose_directory_does_not_exist_yet_is_a_missing_database(
    executor: WorkerExecutor, project_factory: ProjectFactory, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'not-yet' / 'db.sqlite'}"
    failure = _failure(executor, project_factory, url)
    assert (failure.kind, failure.summary) == ("database_missing", "Database Not Found")


def test_a_login_the_server_refuses_is_told_apart(
    executor: WorkerExecutor, project_factory: ProjectFactory
) -> None:
    require_backend("mariadb")
    url = _with("mariadb", username="no_such_user_x", password="wrong")
    failure = _failure(executor, project_factory, url)
    assert (failure.kind, failure.summary) == ("login_refused", "Database Login Refused")
    assert "password in the database URL" in failure.detail()


@pytest.mark.parametrize("backend", ["postgresql", "mariadb"])
def test_a_server_that_does_not_answer_is_told_apart(
    executor: WorkerExecutor, project_factory: ProjectFactory, backend: str
) -> None:
    require_backend(backend)
    failure = _failure(executor, project_factory, _with(backend, port=1))
    assert (failure.kind, failure.summary) == ("host_unreachable", "Database Host Not Answering")
    assert "Check the host and port in the database URL" in failure.detail()


def test_a_tls_failure_is_told_apart(
    executor: WorkerExecutor, project_factory: ProjectFactory
) -> None:
    """The local PostgreSQL server offers no TLS; a URL that requires it fails the handshake."""
    require_backend("postgresql")
    url = _with("postgresql", query={"sslmode": "require"})
    failure = _failure(executor, project_factory, url)
    assert (failure.kind, failure.summary) == ("tls", "Database TLS Failed")
    assert "SSL" in failure.message
    assert "Check the TLS settings of the database URL" in failure.detail()


def test_a_missing_driver_is_told_apart(
    executor: WorkerExecutor, project_factory: ProjectFactory
) -> None:
    url = "postgresql+pg8000://u@127.0.0.1:1/db"
    failure = _failure(executor, project_factory, url)
    assert (failure.kind, failure.summary) == ("driver_missing", "Database Driver Missing")
    assert "does not have the database driver 'pg8000'" in failure.message
    assert "Install the driver in that interpreter" in failure.detail()
