"""``alembic_revisions``: what the script directory holds, without touching any database.

Lets a configuration read the heads, branch labels and every revision with its message, for
example to pin a target or to show what a release contains.
"""

from __future__ import annotations

from alembic_provider.data_sources.base import ProjectDataSource
from alembic_provider.executor import CallOptions, Project
from alembic_provider.resources.base import Context, Values
from alembic_provider.schema import Attribute

__all__ = ["RevisionsDataSource"]

TYPE_NAME = "alembic_revisions"

_REVISION_TYPE = [
    "object",
    {
        "revision": "string",
        "down_revisions": ["list", "string"],
        "branch_labels": ["list", "string"],
        "depends_on": ["list", "string"],
        "message": "string",
        "is_head": "bool",
        "is_base": "bool",
        "is_branch_point": "bool",
        "is_merge_point": "bool",
    },
]


class RevisionsDataSource(ProjectDataSource):
    TYPE_NAME = TYPE_NAME
    DESCRIPTION = (
        "Reads the Alembic script directory of the provider's project: its heads, branch "
        "labels and every revision with its message. It never connects to a database."
    )
    ID_DESCRIPTION = "The project directory and configuration file read."

    def attributes(self) -> tuple[Attribute, ...]:
        return (
            Attribute(
                "python",
                ["list", "string"],
                "Interpreter command, overriding the provider's `python`.",
                optional=True,
            ),
            Attribute(
                "alembic",
                ["list", "string"],
                "Alembic command, overriding the provider's `alembic`.",
                optional=True,
            ),
            Attribute(
                "heads",
                ["list", "string"],
                "Head revisions of the script directory, sorted.",
                computed=True,
            ),
            Attribute(
                "bases",
                ["list", "string"],
                "Base revisions (those with no parent), sorted.",
                computed=True,
            ),
            Attribute(
                "branches",
                ["map", "string"],
                "Each branch label mapped to the revision that declares it.",
                computed=True,
            ),
            Attribute(
                "revisions",
                ["list", _REVISION_TYPE],
                "Every revision, from the bases to the heads, with its parents "
                "(`down_revisions`), `branch_labels`, `depends_on`, `message`, and whether it "
                "is a head, a base, a branch point or a merge point.",
                computed=True,
            ),
        )

    def observe(self, ctx: Context, project: Project, config: Values) -> Values:
        info = ctx.executor.describe(project, options=CallOptions(cancel=ctx.cancel))
        return {
            "heads": sorted(info.heads),
            "bases": sorted(info.bases),
            "branches": dict(info.branch_labels),
            "revisions": [
                {
                    "revision": r.revision,
                    "down_revisions": list(r.down_revisions),
                    "branch_labels": list(r.branch_labels),
                    "depends_on": list(r.depends_on),
                    "message": r.message,
                    "is_head": r.is_head,
                    "is_base": r.is_base,
                    "is_branch_point": r.is_branch_point,
                    "is_merge_point": r.is_merge_point,
                }
                for r in info.revisions
            ],
            "id": f"{project.project_root}:{project.config}",
        }
