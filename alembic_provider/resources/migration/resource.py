"""The hooks ``alembic_upgrade`` and ``alembic_stamp`` share, in Terraform's verb order.

Never imports alembic.
"""

from __future__ import annotations

from typing import Any

from alembic_provider.proxy import check_executable
from alembic_provider.resources.base import Applied, Context, Planned, Values
from alembic_provider.resources.common import upgrade_state_values
from alembic_provider.resources.migration import write_only
from alembic_provider.resources.migration.effects import forget_pending
from alembic_provider.resources.migration.flow import Flow
from alembic_provider.schema import Schema, empty_object
from statemachine.resource import Kind

__all__ = ["MigrationResource"]


class MigrationResource:
    """A subclass names its type, kind and schema, and may add configuration checks in
    ``validate``; everything else runs through one :class:`Flow`."""

    TYPE_NAME: str
    SCHEMA_VERSION: int
    KIND: Kind
    #: Plans review the migrations this type runs (see ``review/``); a type that runs none
    #: leaves its pending revisions' code alone.
    REVIEWS: bool = False

    def __init__(self) -> None:
        self._flow = Flow(self.KIND, self.schema().block, reviews=self.REVIEWS)

    def schema(self) -> Schema:
        raise NotImplementedError

    def validate(self, ctx: Context, config: Values) -> None:
        write_only.check(config, ctx.diagnostics)

    def plan(
        self, ctx: Context, prior: Values | None, config: Values, proposed: Values, private: bytes
    ) -> Planned:
        # Checked when planned rather than validated: 'terraform validate' may run where the
        # proxy is not installed, and the plan may not start it (a URL known only after apply).
        command = proposed.get("proxy_command")
        if isinstance(command, list):
            check_executable(command)
        return self._flow.plan(ctx, prior, config, proposed, private)

    def plan_destroy(self, ctx: Context, prior: Values, private: bytes) -> Planned:
        return self._flow.plan_destroy(ctx, prior, private)

    def create(
        self, ctx: Context, planned: Values, config: Values | None, private: bytes
    ) -> Applied:
        return self._flow.apply(ctx, None, planned, config, private)

    def update(
        self, ctx: Context, prior: Values, planned: Values, config: Values | None, private: bytes
    ) -> Applied:
        return self._flow.apply(ctx, prior, planned, config, private)

    def delete(self, ctx: Context, prior: Values, private: bytes) -> Applied:
        return self._flow.delete(ctx, prior, private)

    def read(self, ctx: Context, state: Values, private: bytes) -> Applied:
        return self._flow.read(ctx, state, private)

    def import_state(self, ctx: Context, import_id: str) -> Applied:
        block = self._flow.block
        defaults = empty_object(block)
        defaults.update({a.name: a.default for a in block.attributes if a.default is not None})
        return self._flow.import_state(ctx, import_id, defaults)

    def upgrade_state(self, ctx: Context, version: int, raw: dict[str, Any]) -> Values:
        """Map any earlier schema (the Go provider wrote version 2) straight to this one.

        Terraform sends every stored object through here before each refresh and plan, also
        with ``-refresh=false``. ``pending`` and ``sql`` describe the step a plan runs: once
        stored (the apply must return what its plan said) they are spent, and the next plan
        shows what it runs as additions, never the migrations that already ran as removals.
        """
        values = upgrade_state_values(self._flow.block, raw)
        forget_pending(values)
        return values
