"""``alembic_upgrade``: keep a database upgraded to a target revision.

Plan resolves the target from the script directory and shows the revision the database will
reach; apply runs ``alembic upgrade`` through the executor and records the heads the database
really reached; read reports the database's current heads, so a database moved by hand shows up
as a diff. Destroy leaves the database as it is. Plan and read never write to the database.
"""

from __future__ import annotations

import uuid
from typing import Any

from alembic_provider import errors
from alembic_provider.cty import UNKNOWN
from alembic_provider.executor import RunOptions
from alembic_provider.resources.base import Applied, Context, Planned, Values
from alembic_provider.resources.common import fill_defaults, heads_text, project_for
from alembic_provider.schema import Attribute, Block, Schema

__all__ = ["UpgradeResource"]

TYPE_NAME = "alembic_upgrade"
SCHEMA_VERSION = 3


def schema() -> Schema:
    return Schema(
        version=SCHEMA_VERSION,
        block=Block(
            description=(
                "Upgrades a database to a target Alembic revision and keeps it there. The plan "
                "shows the revision the database will reach; a database moved by hand shows up "
                "as a change. Destroying the resource leaves the database as it is."
            ),
            attributes=(
                Attribute(
                    "target",
                    "string",
                    "Revision to upgrade to: `heads` (every head, the default), `head`, a "
                    "revision id, or `branch@head`.",
                    optional=True,
                    computed=True,
                    default="heads",
                ),
                Attribute(
                    "tag",
                    "string",
                    "Arbitrary tag passed to `env.py` as Alembic's `--tag`.",
                    optional=True,
                ),
                Attribute(
                    "environment",
                    ["map", "string"],
                    "Environment variables added to the migration run, such as `DATABASE_URL` "
                    "read by `env.py`. Values are secret: they never appear in output or logs.",
                    optional=True,
                    sensitive=True,
                ),
                Attribute(
                    "extra",
                    ["map", "string"],
                    "Values passed to `env.py` as `-x key=value`; they win over the provider's.",
                    optional=True,
                ),
                Attribute(
                    "alembic",
                    ["list", "string"],
                    "Per-resource override of the provider's `alembic` command.",
                    optional=True,
                ),
                Attribute(
                    "python",
                    ["list", "string"],
                    "Per-resource override of the provider's `python` command.",
                    optional=True,
                ),
                Attribute(
                    "url",
                    "string",
                    "Database URL for this resource, overriding the provider's `url`.",
                    optional=True,
                    sensitive=True,
                ),
                Attribute(
                    "revision",
                    "string",
                    "The database's current head revisions, comma-separated; empty at base.",
                    computed=True,
                ),
                Attribute(
                    "id",
                    "string",
                    "Identifier of this resource, chosen at creation and stable afterwards.",
                    computed=True,
                ),
            ),
        ),
    )


class UpgradeResource:
    TYPE_NAME = TYPE_NAME
    SCHEMA_VERSION = SCHEMA_VERSION

    def schema(self) -> Schema:
        return schema()

    def validate(self, ctx: Context, config: Values) -> None:
        target = config.get("target")
        if isinstance(target, str) and not target.strip():
            raise errors.ConfigError(
                "The target is empty; use 'heads', 'head', a revision id or 'branch@head'.",
                attribute=("target",),
                summary="Invalid Target Revision",
            )

    def plan(
        self,
        ctx: Context,
        prior: Values | None,
        proposed: Values | None,
        config: Values | None,
        prior_private: bytes,
    ) -> Planned:
        if proposed is None or config is None:
            return Planned(None)
        planned = fill_defaults(schema().block, config, proposed)
        planned["id"] = prior["id"] if prior is not None and prior.get("id") else UNKNOWN
        project = project_for(ctx.provider_config, planned)
        if project is None or not isinstance(planned["target"], str):
            planned["revision"] = UNKNOWN
            return Planned(planned)
        inspection = ctx.executor.inspect(project, planned["target"])
        planned["revision"] = heads_text(inspection.target_heads)
        return Planned(planned)

    def apply(
        self,
        ctx: Context,
        prior: Values | None,
        planned: Values | None,
        config: Values | None,
        planned_private: bytes,
    ) -> Applied:
        if planned is None:
            ctx.log.info("destroy leaves the database as it is")
            return Applied(None)
        state = dict(planned)
        state["id"] = prior["id"] if prior is not None and prior.get("id") else _new_id()
        project = project_for(ctx.provider_config, state)
        if project is None:
            raise errors.InternalError("A configuration value was still unknown during apply.")
        try:
            result = ctx.executor.upgrade(
                project, state["target"], options=RunOptions(cancel=ctx.cancel)
            )
        except errors.MigrationError as exc:
            if exc.heads_reached is None:
                raise
            ctx.diagnostics.add(exc.diagnostic())
            state["revision"] = heads_text(exc.heads_reached)
            return Applied(state)
        state["revision"] = heads_text(result.heads)
        expected = planned.get("revision")
        if isinstance(expected, str) and expected != state["revision"]:
            ctx.diagnostics.error(
                "Unexpected Revision After Upgrade",
                f"The plan expected the database to reach '{expected}', but it is at "
                f"'{state['revision']}'. The migration files or the database changed between "
                "plan and apply; run 'terraform plan' again to see what is pending.",
            )
        return Applied(state)

    def read(self, ctx: Context, state: Values, private: bytes) -> Applied:
        project = project_for(ctx.provider_config, state)
        if project is None:
            return Applied(state, private)
        refreshed = dict(state)
        refreshed["revision"] = heads_text(ctx.executor.current(project))
        return Applied(refreshed, private)

    def import_state(self, ctx: Context, import_id: str) -> Values:
        raise errors.ConfigError(
            "Importing alembic_upgrade is not supported yet.", summary="Import Not Supported"
        )

    def upgrade_state(self, ctx: Context, version: int, raw: dict[str, Any]) -> Values:
        """Map any earlier schema (the Go provider wrote version 2) straight to this one."""
        block = schema().block
        state: Values = {a.name: raw.get(a.name) for a in block.attributes}
        if state.get("target") is None:
            state["target"] = "heads"
        for name in ("environment", "extra"):
            if isinstance(state[name], dict):
                state[name] = {str(k): str(v) for k, v in state[name].items()}
        return state


def _new_id() -> str:
    return str(uuid.uuid4())
