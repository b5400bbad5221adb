"""``alembic_current``: a database's heads and what an upgrade toward a target would run.

Read-only: it reads the version table through ``env.py`` the way ``alembic current`` does,
without creating it. Read while Terraform plans, after resources it depends on (by reference
or ``depends_on``) that act on the same database, it reports the heads they will leave.
Useful to gate other resources on the schema, or to show pending migrations without managing
them.
"""

from __future__ import annotations

from alembic_provider.data_sources.base import ProjectDataSource
from alembic_provider.executor import CallOptions, Project
from alembic_provider.resources.attributes import (
    connection_attributes,
    pending_attribute,
    revision_attribute,
    revisions_attribute,
    target_revisions_attribute,
)
from alembic_provider.resources.base import Context, Values
from alembic_provider.resources.common import heads_text
from alembic_provider.schema import Attribute

__all__ = ["CurrentDataSource"]

TYPE_NAME = "alembic_current"


class CurrentDataSource(ProjectDataSource):
    TYPE_NAME = TYPE_NAME
    DESCRIPTION = (
        "Reads a database's current Alembic revisions and lists the migrations an upgrade "
        "(or downgrade) to `target` would run. It never writes to the database."
    )
    ID_DESCRIPTION = "The database's heads and the resolved target, for reference."

    def attributes(self) -> tuple[Attribute, ...]:
        return (
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
        )

    def observe(self, ctx: Context, project: Project, config: Values) -> Values:
        target = config.get("target") or "heads"
        # Read during a plan after resources it depends on were planned, it reports where they
        # leave the database, which is what it finds when read again after they applied.
        planned = ctx.databases.others()
        inspection = ctx.executor.inspect(
            project, target, options=CallOptions(cancel=ctx.cancel), planned=planned
        )
        heads = inspection.planned_from
        return {
            "revision": heads_text(heads),
            "revisions": sorted(heads),
            "target_revisions": sorted(inspection.target),
            "pending": [{"revision": s.revision, "message": s.message} for s in inspection.steps],
            "direction": inspection.direction,
            "id": f"{heads_text(heads)}->{heads_text(inspection.target)}",
        }
