"""``alembic_upgrade``: keep a database at a target revision by running its migrations.

The plan shows the revision the database will reach and every migration that runs; apply runs
exactly that step; a refresh reads the database's heads, so a database moved by hand shows up as
a change. Destroy leaves the database as it is unless ``on_destroy`` names a revision. The rules
(downgrade guard, plan-versus-apply checks, partial failure) live in
:mod:`statemachine.resource`; :mod:`alembic_provider.resources.migration` moves the facts.
"""

from __future__ import annotations

from alembic_provider import errors
from alembic_provider.provider_config import review_block
from alembic_provider.resources.attributes import migration_schema, pending_attribute
from alembic_provider.resources.base import Context, Values
from alembic_provider.resources.migration.resource import MigrationResource
from alembic_provider.schema import Attribute, Schema

__all__ = ["UpgradeResource"]

TYPE_NAME = "alembic_upgrade"
#: The Go provider wrote version 2; every earlier version is upgraded straight to this one.
SCHEMA_VERSION = 3


_SETTINGS = (
    Attribute(
        "target",
        "string",
        "Revision to keep the database at: `heads` (the default: the newest revision "
        "of every branch), `head` (when there is one branch), a revision id, a branch "
        "label or `branch@head`. Relative targets such as `+1` are refused because "
        "every apply would move the database again.",
        optional=True,
        computed=True,
        default="heads",
    ),
    Attribute(
        "allow_downgrade",
        "bool",
        "Allow a plan that moves the database back to an earlier revision, for "
        "example after `target` was lowered. Defaults to `false`: such a plan is an "
        "error.",
        optional=True,
        computed=True,
        default=False,
    ),
    Attribute(
        "on_destroy",
        "string",
        "What destroying this resource does to the database. Unset (the default): "
        "nothing, the database keeps its schema and data. A revision id or `base`: "
        "downgrade the database to it; it must name a revision of the script directory "
        "whenever the resource is planned. A database left part-way by a failed apply is "
        "never downgraded.",
        optional=True,
    ),
    Attribute(
        "preview_sql",
        "bool",
        "Fill `sql` with the offline (`alembic upgrade --sql`) script of the planned "
        "step, so the plan shows the SQL that will run. Defaults to `false`. "
        "Migrations that need a live connection cannot be previewed (a warning says "
        "so).",
        optional=True,
        computed=True,
        default=False,
    ),
    Attribute(
        "compare_models",
        "bool",
        "When the database is at its target, compare env.py's `target_metadata` with the "
        "live schema (Alembic's autogenerate comparison, read-only) and warn \"Models Differ "
        "From Database\" with each difference. Unset: the provider's `compare_models` "
        "(default `false`). See the model drift guide.",
        optional=True,
    ),
)

_OUTPUTS = (
    pending_attribute(
        "The migrations the planned step runs, in order, each with its `revision` and "
        "`message`; the plan shows each as an addition. The state keeps nothing "
        "pending: a refresh does not record it, what an apply ran is cleared "
        "before the next plan, with or without refresh, and a failed apply keeps none."
    ),
    Attribute(
        "sql",
        "string",
        "Offline SQL of the planned step when `preview_sql` is true (the plan's diff "
        "is exactly the SQL that will run); otherwise empty. Cleared like `pending`.",
        computed=True,
    ),
)


def schema() -> Schema:
    return migration_schema(
        SCHEMA_VERSION,
        "Upgrades a database to a target Alembic revision and keeps it there. The plan shows the "
        "revision the database will reach and every migration that will run; a database moved "
        "by hand shows up as a change. Destroying the resource leaves the database as it is "
        "unless `on_destroy` names a revision.",
        _SETTINGS,
        outputs=_OUTPUTS,
        blocks=(review_block("for this resource; a list set here replaces the provider's"),),
    )


class UpgradeResource(MigrationResource):
    TYPE_NAME = TYPE_NAME
    SCHEMA_VERSION = SCHEMA_VERSION
    KIND = "upgrade"
    REVIEWS = True

    def schema(self) -> Schema:
        return schema()

    def validate(self, ctx: Context, config: Values) -> None:
        super().validate(ctx, config)
        on_destroy = config.get("on_destroy")
        if isinstance(on_destroy, str) and not on_destroy.strip():
            raise errors.ConfigError(
                "on_destroy is empty; remove it to keep the database on destroy, or name a "
                "revision id or 'base' to downgrade to.",
                attribute=("on_destroy",),
                summary="Invalid On Destroy Revision",
            )
