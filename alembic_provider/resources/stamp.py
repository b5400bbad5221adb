"""``alembic_stamp``: mark a database as being at a revision without running migrations.

For adopting a database whose schema already exists (a baseline). It stamps on create and when
``target`` changes, and never because new revisions appeared or the database moved: the Go
provider re-stamped ``head`` then and so silently skipped migrations. Such drift is reported as
a warning. Destroy leaves the database as it is. The rules live in
:mod:`statemachine.resource`; :mod:`alembic_provider.resources.migration` moves the facts.
"""

from __future__ import annotations

from typing import Any

from alembic_provider.resources.attributes import (
    connection_attributes,
    id_attribute,
    proxy_attributes,
    revision_attribute,
    revisions_attribute,
    run_attributes,
    target_revisions_attribute,
    timeouts_block,
)
from alembic_provider.resources.base import Applied, Context, Planned, Values
from alembic_provider.resources.common import upgrade_state_values
from alembic_provider.resources.migration import Flow
from alembic_provider.schema import Attribute, Block, Schema, empty_object

__all__ = ["StampResource"]

TYPE_NAME = "alembic_stamp"
#: The Go provider wrote version 2; every earlier version is upgraded straight to this one.
SCHEMA_VERSION = 3


def schema() -> Schema:
    return Schema(
        version=SCHEMA_VERSION,
        block=Block(
            description=(
                "Marks a database as being at an Alembic revision without running migrations, "
                "for adopting a database whose schema already exists. It stamps when created and "
                "when `target` changes, never because new revisions appeared: run those with "
                "`alembic_upgrade`. Destroying it leaves the database as it is."
            ),
            attributes=(
                Attribute(
                    "target",
                    "string",
                    "Revision to stamp: a revision id, `head`, `heads`, a branch label, "
                    "`branch@head` or `base`. Changing it stamps again.",
                    required=True,
                ),
                *run_attributes(),
                *connection_attributes(),
                *proxy_attributes(),
                revision_attribute(),
                revisions_attribute(),
                target_revisions_attribute(),
                id_attribute(
                    "The target the resource was created with (or imported by); it never changes "
                    "afterwards and holds no secret."
                ),
            ),
            block_types=(timeouts_block(),),
        ),
    )


_FLOW = Flow("stamp", schema().block)


class StampResource:
    TYPE_NAME = TYPE_NAME
    SCHEMA_VERSION = SCHEMA_VERSION

    def schema(self) -> Schema:
        return schema()

    def validate(self, ctx: Context, config: Values) -> None:
        return None

    def plan(
        self,
        ctx: Context,
        prior: Values | None,
        proposed: Values | None,
        config: Values | None,
        prior_private: bytes,
    ) -> Planned:
        return _FLOW.plan(ctx, prior, proposed, config, prior_private)

    def apply(
        self,
        ctx: Context,
        prior: Values | None,
        planned: Values | None,
        config: Values | None,
        planned_private: bytes,
    ) -> Applied:
        return _FLOW.apply(ctx, prior, planned, config, planned_private)

    def read(self, ctx: Context, state: Values, private: bytes) -> Applied:
        return _FLOW.read(ctx, state, private)

    def import_state(self, ctx: Context, import_id: str) -> Applied:
        block = schema().block
        defaults = empty_object(block)
        defaults.update({a.name: a.default for a in block.attributes if a.default is not None})
        return _FLOW.import_state(ctx, import_id, defaults)

    def upgrade_state(self, ctx: Context, version: int, raw: dict[str, Any]) -> Values:
        """Map any earlier schema (the Go provider wrote version 2) straight to this one."""
        return upgrade_state_values(schema().block, raw)
