"""No plan writes: whatever the pending migrations do, planning them changes nothing.

A Hypothesis test through the real provider (its protocol servicer in this process, the real
worker, a real database of each kind): generated revisions drop, rename, retype and index
columns, add NOT NULL columns, run raw SQL and write through ``op.get_bind()``; the database
starts empty or at the base revision. Planning ``alembic_upgrade`` (with and without a review
policy, with and without ``preview_sql``) and reading ``alembic_review`` must leave every
table's columns, indexes and rows, the version table included, exactly as they were. The
``ci`` profile runs a few examples per database; ``long`` runs many.
"""

from __future__ import annotations

import io
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from alembic_provider.cty import encode_msgpack
from alembic_provider.data_sources.review import ReviewDataSource
from alembic_provider.log import Logger
from alembic_provider.plugin.proto import tfplugin6_pb2 as pb
from alembic_provider.plugin.servicer import ProviderService
from alembic_provider.provider import new_provider
from alembic_provider.resources.upgrade import UpgradeResource
from alembic_provider.review.model import Category
from alembic_provider.schema import empty_object
from tests.alembic_projects import Revision, make_project, sqlite_url, throwaway_database
from tests.executor.conftest import require_backend
from tests.stateful.test_provider_model import Terraform

#: Operations on ``accounts (id, name, legacy)``, each the body of one line of ``upgrade()``.
OPERATIONS = (
    'op.drop_column("accounts", "legacy")',
    'op.add_column("accounts", sa.Column("flag", sa.Integer(), nullable=False))',
    'op.alter_column("accounts", "name", new_column_name="full_name")',
    'op.alter_column("accounts", "name", type_=sa.String(20), existing_type=sa.String(100))',
    'op.create_index("ix_accounts_name", "accounts", ["name"])',
    'op.execute("UPDATE accounts SET name = upper(name)")',
    'op.execute("DELETE FROM accounts")',
    'op.get_bind().execute(sa.text("DELETE FROM accounts"))',
    'op.get_bind().execute(sa.text("SELECT count(*) FROM accounts")).scalar()',
    'op.drop_table("accounts")',
    'op.rename_table("accounts", "customers")',
    'op.create_table("audit", sa.Column("id", sa.Integer, primary_key=True))',
    'with op.batch_alter_table("accounts") as batch:\n    batch.drop_column("legacy")',
)
ACCOUNTS = "CREATE TABLE accounts (id INTEGER PRIMARY KEY, name VARCHAR(100), legacy VARCHAR(200))"
CATEGORIES: tuple[Category, ...] = ("destructive", "breaking", "locking", "opaque")


@dataclass(frozen=True)
class Case:
    """One generated world: where the database starts, what is pending, how the plan asks."""

    at_base: bool
    revisions: tuple[tuple[str, ...], ...]
    policy: str
    preview_sql: bool


cases = st.builds(
    Case,
    at_base=st.booleans(),
    revisions=st.lists(
        st.lists(st.sampled_from(OPERATIONS), min_size=1, max_size=3).map(tuple),
        min_size=1,
        max_size=3,
    ).map(tuple),
    policy=st.sampled_from(["none", "block", "ignore"]),
    preview_sql=st.booleans(),
)


def dump(url: str) -> dict[str, Any]:
    """Every table's columns, indexes and rows (the version table's included)."""
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as connection:
            inspector = sa.inspect(connection)
            found: dict[str, Any] = {}
            for table in sorted(inspector.get_table_names()):
                columns = [
                    (c["name"], str(c["type"]), c["nullable"], str(c.get("default")))
                    for c in inspector.get_columns(table)
                ]
                indexes = sorted(
                    (str(i["name"]), tuple(map(str, i["column_names"])), bool(i["unique"]))
                    for i in inspector.get_indexes(table)
                )
                rows = sorted(
                    repr(tuple(r)) for r in connection.execute(sa.text(f"SELECT * FROM {table}"))
                )
                found[table] = (columns, indexes, rows)
            return found
    finally:
        engine.dispose()


def reset(url: str, at_base: bool) -> None:
    """Drop every table, then create ``accounts`` with rows, and the version table at r0."""
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        metadata = sa.MetaData()
        metadata.reflect(engine)
        metadata.drop_all(engine)
        with engine.begin() as connection:
            connection.execute(sa.text(ACCOUNTS))
            connection.execute(
                sa.text("INSERT INTO accounts VALUES (:id, :name, :legacy)"),
                [{"id": n, "name": f"n{n}", "legacy": "x" * 20} for n in range(20)],
            )
            if at_base:
                connection.execute(
                    sa.text("CREATE TABLE alembic_version (version_num VARCHAR(32) PRIMARY KEY)")
                )
                connection.execute(sa.text("INSERT INTO alembic_version VALUES ('r0')"))
    finally:
        engine.dispose()


def project_for(root: Path, url: str, case: Case) -> Path:
    revisions = [Revision("r0", None, "accounts", upgrade_sql=[ACCOUNTS])]
    for number, operations in enumerate(case.revisions, start=1):
        code = "import sqlalchemy as sa\n" + "\n".join(operations)
        revisions.append(
            Revision(
                f"r{number}", f"r{number - 1}", f"step {number}", upgrade_sql=[], upgrade_code=code
            )
        )
    return make_project(root, url=url, revisions=revisions)


def policy(case: Case) -> dict[str, Any] | None:
    if case.policy == "none":
        return None
    return {"block": None, "ignore": None, case.policy: list(CATEGORIES)}


def read_review(service: ProviderService, url: str) -> None:
    """ReadDataSource of ``alembic_review``, as a ``data`` block's refresh sends it."""
    schema = ReviewDataSource().schema()
    config = empty_object(schema.block)
    config.update(target="heads", url=url)
    response = service.ReadDataSource(
        pb.ReadDataSource.Request(
            type_name="alembic_review",
            config=pb.DynamicValue(msgpack=encode_msgpack(config, schema.cty_type())),
        ),
        None,
    )
    bugs = [d.detail for d in response.diagnostics if "provider developers" in d.detail]
    assert not bugs, bugs


@contextmanager
def database(backend: str, directory: Path) -> Iterator[str]:
    if backend == "sqlite":
        yield sqlite_url(directory / "db.sqlite")
        return
    with throwaway_database(backend) as url:
        yield url


@pytest.mark.parametrize("backend", ["sqlite", "postgresql", "mariadb"])
def test_no_plan_changes_the_schema_or_the_version_table(backend: str, tmp_path: Path) -> None:
    require_backend(backend)
    provider = new_provider(log=Logger("provider", level="info", stream=io.StringIO()))
    service = ProviderService(provider)
    examples = max(4, settings().max_examples // 25)
    try:
        with database(backend, tmp_path) as url:

            @settings(max_examples=examples, suppress_health_check=[HealthCheck.too_slow])
            @given(case=cases)
            def plans_write_nothing(case: Case) -> None:
                reset(url, case.at_base)
                root = Path(tempfile.mkdtemp(dir=tmp_path))
                try:
                    project = project_for(root, url, case)
                    before = dump(url)
                    terraform = Terraform(service, "alembic_upgrade", UpgradeResource().schema())
                    terraform.project_root = project
                    config = empty_object(terraform.block)
                    config.update(
                        target="heads", url=url, preview_sql=case.preview_sql, review=policy(case)
                    )
                    saved, _, errors = terraform.plan(config, refresh=True)
                    if case.policy == "block" and errors:
                        assert errors == ["Migration Blocked By Review"], errors
                    else:
                        assert errors == [] and saved is not None, errors
                        assert saved.planned["pending"], "the plan saw nothing pending"
                    read_review(service, url)
                    assert dump(url) == before
                finally:
                    shutil.rmtree(root, ignore_errors=True)

            plans_write_nothing()
    finally:
        provider.close()
