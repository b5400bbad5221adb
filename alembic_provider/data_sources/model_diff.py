"""``alembic_model_diff``: how env.py's ``target_metadata`` differs from the live schema.

Read-only: env.py runs online without creating the version table, and Alembic's autogenerate
comparison (``alembic check``'s) only reads the catalog. The differences are for ``check``
blocks and preconditions; ``alembic_upgrade`` with ``compare_models`` warns of the same.
"""

from __future__ import annotations

from alembic_provider.data_sources.base import ProjectDataSource
from alembic_provider.executor import CallOptions, Project
from alembic_provider.resources.attributes import connection_attributes, pending_attribute
from alembic_provider.resources.base import Context, Values
from alembic_provider.resources.common import heads_text
from alembic_provider.schema import Attribute

__all__ = ["ModelDiffDataSource"]

TYPE_NAME = "alembic_model_diff"

DIFFERENCE_TYPE = [
    "list",
    ["object", {"kind": "string", "table": "string", "column": "string", "text": "string"}],
]


class ModelDiffDataSource(ProjectDataSource):
    TYPE_NAME = TYPE_NAME
    DESCRIPTION = (
        "Compares the models env.py passes as `target_metadata` with the database's live "
        "schema, as `alembic check` does: a table or column only in the models or only in the "
        "database, a different type or nullability (and server defaults when env.py sets "
        "`compare_server_default`). It never writes to the database. See the model drift "
        "guide."
    )
    ID_DESCRIPTION = "The database's heads and the resolved target, for reference."

    def attributes(self) -> tuple[Attribute, ...]:
        return (
            Attribute(
                "target",
                "string",
                'Revision the database should be at for the comparison to mean "a migration '
                'is missing": `heads` (the default), `head`, a revision id, a branch label or '
                "`branch@head`.",
                optional=True,
            ),
            *connection_attributes(),
            pending_attribute(
                "Migrations an upgrade to `target` would run, in order; when any are pending, "
                "some differences may be theirs to make."
            ),
            Attribute(
                "has_metadata",
                "bool",
                "Whether env.py passes a `target_metadata` to `context.configure()`; without "
                "one nothing is compared and `differences` is empty.",
                computed=True,
            ),
            Attribute(
                "server_defaults_compared",
                "bool",
                "Whether env.py sets `compare_server_default`, so server defaults were compared.",
                computed=True,
            ),
            Attribute(
                "differences",
                DIFFERENCE_TYPE,
                "Each difference, in Alembic's order: its `kind` (Alembic's name, such as "
                "`add_column`: only in the models, `remove_column`: only in the database, "
                "`add_table`, `remove_table`, `modify_type`, `modify_nullable`, "
                "`modify_default`), the `table` and `column` it is about (null when none) and "
                "the `text` a plan warning shows.",
                computed=True,
            ),
        )

    def observe(self, ctx: Context, project: Project, config: Values) -> Values:
        target = config.get("target") or "heads"
        options = CallOptions(cancel=ctx.cancel)
        inspection = ctx.executor.inspect(
            project, target, options=options, planned=ctx.databases.others()
        )
        pending = inspection.steps if inspection.direction == "upgrade" else ()
        diff = ctx.executor.model_diff(project, options=options)
        heads = inspection.planned_from
        return {
            "pending": [{"revision": s.revision, "message": s.message} for s in pending],
            "has_metadata": diff.metadata,
            "server_defaults_compared": diff.server_defaults,
            "differences": [
                {"kind": d.kind, "table": d.table, "column": d.column, "text": d.text}
                for d in diff.differences
            ],
            "id": f"{heads_text(heads)}->{heads_text(inspection.target)}",
        }
