"""``alembic_current``: a database's heads and what an upgrade toward a target would run.

Read-only: it reads the version table through ``env.py`` the way ``alembic current`` does,
without creating it. Read while Terraform plans, after resources it depends on (by reference
or ``depends_on``) that act on the same database, it reports the heads they will leave.
Useful to gate other resources on the schema, or to show pending migrations without managing
them.
"""

from __future__ import annotations

from alembic_provider import errors
from alembic_provider.executor import CallOptions
from alembic_provider.resources.attributes import (
    connection_attributes,
    id_attribute,
    pending_attribute,
    revision_attribute,
    revisions_attribute,
    target_revisions_attribute,
)
from alembic_provider.resources.base import Context, Values
from alembic_provider.resources.common import heads_text, project_for
from alembic_provider.schema import Attribute, Block, Schema

__all__ = ["CurrentDataSource"]

TYPE_NAME = "alembic_current"


def schema() -> Schema:
    return Schema(
        Block(
            description=(
                "Reads a database's current Alembic revisions and lists the migrations an upgrade "
                "(or downgrade) to `target` would run. It never writes to the database."
            ),
            attributes=(
                Attribute(
                    "target",
                    "string",
                    "Revision to compare with: `heads` (the default), `head`, a revision id, "
                    "a branch label or `branch@head`.",
                    optional=True,
                ),
                *connection_attributes(),
                revision_attribute(),
                revisions_attribute(),
                target_revisions_attribute(),
                pending_attribute(
                    "Migrations that moving the database to `target` would run, in order; empty "
                    "when it is there."
                ),
                Attribute(
                    "direction",
                    "string",
                    "`upgrade`, `downgrade`, or `none` when the database is at `target`.",
                    computed=True,
                ),
                id_attribute("The database's heads and the resolved target, for reference."),
            ),
        )
    )


class CurrentDataSource:
    TYPE_NAME = TYPE_NAME

    def schema(self) -> Schema:
        return schema()

    def validate(self, ctx: Context, config: Values) -> None:
        return None

    def read(self, ctx: Context, config: Values) -> Values:
        project = project_for(ctx.provider_config, config)
        if project is None:
            raise errors.InternalError("A configuration value was still unknown during read.")
        target = config.get("target") or "heads"
        # Read during a plan after resources it depends on were planned, it reports where they
        # leave the database, which is what it finds when read again after they applied.
        planned = ctx.databases.others()
        inspection = ctx.executor.inspect(
            project, target, options=CallOptions(cancel=ctx.cancel), planned=planned
        )
        heads = inspection.planned_from
        return {
            **config,
            "revision": heads_text(heads),
            "revisions": sorted(heads),
            "target_revisions": sorted(inspection.target),
            "pending": [{"revision": s.revision, "message": s.message} for s in inspection.steps],
            "direction": inspection.direction,
            "id": f"{heads_text(heads)}->{heads_text(inspection.target)}",
        }
