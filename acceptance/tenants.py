"""Tenant databases on the MariaDB test server, reached by a user with a real password.

The password tests need a password the database checks (PostgreSQL's local test server trusts
any), so each test creates its own user and databases with random names, grants the user the
databases, and drops them all afterwards. Harness code only, never shipped.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import URL
from sqlalchemy.pool import NullPool

from acceptance.databases import Database
from tests.alembic_projects import database_on

__all__ = ["Tenants", "tenants_on"]


@dataclass(frozen=True)
class Tenants:
    """The user's password and one database per tenant name, each URL logging in as the user."""

    password: str
    databases: dict[str, Database]

    def urls(self) -> dict[str, str]:
        return {name: database.url for name, database in self.databases.items()}


def _admin(server: URL, statement: str) -> None:
    engine = sa.create_engine(server, poolclass=NullPool, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            connection.execute(sa.text(statement))
    finally:
        engine.dispose()


@contextmanager
def tenants_on(server: URL, names: tuple[str, ...]) -> Iterator[Tenants]:
    """Create a user with a random password and one database per name; drop them after."""
    user = f"acc_{secrets.token_hex(5)}"
    password = f"pw{secrets.token_hex(10)}"
    with ExitStack() as stack:
        _admin(server, f"CREATE USER '{user}'@'%' IDENTIFIED BY '{password}'")
        stack.callback(_admin, server, f"DROP USER IF EXISTS '{user}'@'%'")
        databases: dict[str, Database] = {}
        for name in names:
            admin_url = sa.make_url(stack.enter_context(database_on(server, prefix="acc_")))
            _admin(server, f"GRANT ALL PRIVILEGES ON {admin_url.database}.* TO '{user}'@'%'")
            url = admin_url.set(username=user, password=password)
            databases[name] = Database("mariadb", url.render_as_string(hide_password=False))
        yield Tenants(password, databases)
