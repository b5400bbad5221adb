"""``alembic_stamp``: mark a database as being at a revision without running migrations.

For adopting a database whose schema already exists (a baseline). It stamps on create and when
``target`` changes, and never because new revisions appeared or the database moved: the Go
provider re-stamped ``head`` then and so silently skipped migrations. Such drift is reported as
a warning. Destroy leaves the database as it is. The rules live in
:mod:`statemachine.resource`; :mod:`alembic_provider.resources.migration` moves the facts.
"""

from __future__ import annotations

from alembic_provider.resources.attributes import migration_schema, timeouts_block
from alembic_provider.resources.migration.resource import MigrationResource
from alembic_provider.schema import Attribute, Schema

__all__ = ["StampResource"]

TYPE_NAME = "alembic_stamp"
#: The Go provider wrote version 2; every earlier version is upgraded straight to this one.
SCHEMA_VERSION = 3


_SETTINGS = (
    Attribute(
        "target",
        "string",
        "Revision to stamp: a revision id, `head`, `heads`, a branch label, `branch@head` or "
        "`base`. Changing it stamps again.",
        required=True,
    ),
)


def schema() -> Schema:
    return migration_schema(
        SCHEMA_VERSION,
        "Marks a database as being at an Alembic revision without running migrations, for "
        "adopting a database whose schema already exists. It stamps when created and when "
        "`target` changes, never because new revisions appeared: run those with "
        "`alembic_upgrade`. Destroying it leaves the database as it is.",
        _SETTINGS,
        timeouts=timeouts_block(
            delete="Has no effect: destroying a stamp never touches the database. "
            "Accepted so that both resource types take the same block."
        ),
    )


class StampResource(MigrationResource):
    TYPE_NAME = TYPE_NAME
    SCHEMA_VERSION = SCHEMA_VERSION
    KIND = "stamp"

    def schema(self) -> Schema:
        return schema()
