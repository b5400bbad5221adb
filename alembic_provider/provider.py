"""The provider core: type registry and RPC dispatch, independent of gRPC.

The plugin layer decodes a request and calls one method here per protocol RPC; this module finds
the resource or data source, builds its :class:`Context`, runs the hook and checks the result
against Terraform's consistency contract before it leaves. Each method is the body of one
operation (:mod:`alembic_provider.framework.dispatch`), so every RPC gets the same redaction, log
and exception guard; the checks themselves live in :mod:`alembic_provider.framework.contract`.
Never imports alembic.
"""

from __future__ import annotations

import dataclasses
import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass

from alembic_provider import errors
from alembic_provider.diagnostics import AttributePath
from alembic_provider.executor import Executor
from alembic_provider.framework import contract, routing, write_only
from alembic_provider.framework.dispatch import (
    Operation,
    diagnostics_rpc,
    remember_secrets,
    rpc,
)
from alembic_provider.framework.modifiers import modify_plan
from alembic_provider.log import Logger
from alembic_provider.redaction import Redactor
from alembic_provider.resources.base import (
    Applied,
    Context,
    DataSource,
    NoProxies,
    Planned,
    ProxySessions,
    Resource,
    Values,
)
from alembic_provider.resources.common import project_for
from alembic_provider.resources.databases import PlannedDatabases
from alembic_provider.schema import Block, Schema, empty_object

__all__ = ["Imported", "Provider", "Schemas", "new_provider"]


@dataclass(frozen=True)
class Schemas:
    provider: Schema
    resources: dict[str, Schema]
    data_sources: dict[str, Schema]


@dataclass(frozen=True)
class Imported:
    type_name: str
    state: Values
    private: bytes = b""


class Provider:
    """Dispatch Terraform's RPCs to the registered resource and data source types."""

    def __init__(
        self,
        provider_schema: Schema,
        resources: Sequence[Resource],
        data_sources: Sequence[DataSource],
        *,
        log: Logger,
        redactor: Redactor,
        executor: Executor,
        proxies: ProxySessions | None = None,
    ) -> None:
        self.provider_schema = provider_schema
        self.resources = {r.TYPE_NAME: r for r in resources}
        self.data_sources = {d.TYPE_NAME: d for d in data_sources}
        self.redactor = redactor
        self._raw_log = log
        self.log = log.with_redactor(redactor.redact)
        self.executor = executor
        self.proxies = proxies or NoProxies()
        self.databases = PlannedDatabases()
        self._cancel = threading.Event()
        self._cancel_lock = threading.Lock()
        self._config: Values = empty_object(provider_schema.block)
        self._schemas = Schemas(
            provider=provider_schema,
            resources={name: r.schema() for name, r in self.resources.items()},
            data_sources={name: d.schema() for name, d in self.data_sources.items()},
        )

    # -- schemas ---------------------------------------------------------------------------

    def schemas(self) -> Schemas:
        return self._schemas

    def resource_schema(self, type_name: str) -> Schema:
        return self._schemas.resources[self._resource(type_name).TYPE_NAME]

    def data_source_schema(self, type_name: str) -> Schema:
        return self._schemas.data_sources[self._data_source(type_name).TYPE_NAME]

    def remember_secrets(self, block: Block, value: Values | None) -> None:
        """Register the provider configuration's secrets for the rest of the session.

        Only the provider's own configuration is kept this way (Terraform configures a provider
        process once); a resource's secrets are known to the one operation that carries them.
        """
        remember_secrets(self.redactor, block, value)

    # -- provider --------------------------------------------------------------------------

    @diagnostics_rpc("ValidateProviderConfig", typed=False)
    def validate_provider_config(self, op: Operation, config: Values) -> None:
        contract.check_validators(self.provider_schema.block, config, op.diagnostics)
        project = None if op.diagnostics.has_errors else project_for(config, {})
        if project is not None and os.path.isdir(project.project_root):
            self.executor.warm_up(project)

    @diagnostics_rpc("ConfigureProvider", typed=False)
    def configure(self, op: Operation, terraform_version: str, config: Values) -> None:
        op.remember(self.provider_schema.block, config)
        self.remember_secrets(self.provider_schema.block, config)
        self.log.info("configuring provider", terraform_version=terraform_version)
        self._config = config
        # Terraform configures the provider at the start of every walk (plan, apply):
        # moves planned by an earlier walk are no story of this one.
        self.databases.clear()

    def close(self) -> None:
        """Release what the provider holds (warm workers, proxies) before the process exits."""
        self._swap_cancel()
        self.executor.close()
        self.proxies.close()

    def stop(self) -> None:
        """Cancel the operations running now; the server keeps serving.

        Operations started after the stop are not cancelled by it: each operation takes the
        cancel event current when it starts, and a stop sets that event and puts a fresh one in
        its place, as Terraform's own provider servers do. A debug session that outlives one
        Ctrl-C keeps working.
        """
        self.log.info("stop requested: cancelling in-flight operations")
        self._swap_cancel()

    @property
    def cancel(self) -> threading.Event:
        """The event that a stop sets for the operations running now."""
        with self._cancel_lock:
            return self._cancel

    def _swap_cancel(self) -> None:
        with self._cancel_lock:
            stopped, self._cancel = self._cancel, threading.Event()
        stopped.set()

    # -- managed resources -----------------------------------------------------------------

    @diagnostics_rpc("ValidateResourceConfig")
    def validate_resource_config(
        self, op: Operation, type_name: str, config: Values, write_only_allowed: bool = False
    ) -> None:
        resource = self._resource(type_name)
        block = self.resource_schema(type_name).block
        op.remember(block, config)
        write_only.check_allowed(block, config, write_only_allowed, op.diagnostics)
        contract.check_validators(block, config, op.diagnostics)
        if not op.diagnostics.has_errors:
            resource.validate(self._context(op, type_name), config)

    @rpc("UpgradeResourceState")
    def upgrade_resource_state(
        self, op: Operation, type_name: str, version: int, raw_json: bytes
    ) -> Values:
        resource = self._resource(type_name)
        raw = contract.load_raw_state(type_name, raw_json)
        schema = self.resource_schema(type_name)
        result = write_only.nulled(
            schema.block, resource.upgrade_state(self._context(op, type_name), version, raw)
        )
        contract.check_complete(schema.block, result, "upgraded state")
        contract.check_fits(type_name, schema, result)
        return result

    @rpc("ReadResource")
    def read_resource(
        self, op: Operation, type_name: str, state: Values | None, private: bytes
    ) -> Applied | None:
        resource = self._resource(type_name)
        block = self.resource_schema(type_name).block
        op.remember(block, state)
        if state is None:
            return None
        result = resource.read(self._context(op, type_name), state, private)
        return dataclasses.replace(result, state=write_only.nulled(block, result.state))

    @rpc("PlanResourceChange")
    def plan_resource_change(  # noqa: PLR0917 - the operation, then the request's fields
        self,
        op: Operation,
        type_name: str,
        prior: Values | None,
        proposed: Values | None,
        config: Values | None,
        prior_private: bytes,
    ) -> Planned:
        resource = self._resource(type_name)
        block = self.resource_schema(type_name).block
        op.remember(block, config)
        replaced: tuple[AttributePath, ...] = ()
        if proposed is not None and config is not None:
            modified = modify_plan(block, prior, config, proposed)
            proposed, replaced = modified.values, modified.requires_replace
        # Write-only values reach the resource through the configuration alone.
        proposed = write_only.nulled(block, proposed)
        ctx = self._context(op, type_name)
        result = routing.plan(resource, ctx, prior, proposed, config, prior_private)
        result = dataclasses.replace(result, state=write_only.nulled(block, result.state))
        if replaced:
            paths = tuple(dict.fromkeys((*result.requires_replace, *replaced)))
            result = dataclasses.replace(result, requires_replace=paths)
        if result.state is not None and config is not None:
            contract.check_plan(block, config, result.state, prior)
        return result

    @rpc("ApplyResourceChange")
    def apply_resource_change(  # noqa: PLR0917 - the operation, then the request's fields
        self,
        op: Operation,
        type_name: str,
        prior: Values | None,
        planned: Values | None,
        config: Values | None,
        planned_private: bytes,
    ) -> Applied:
        resource = self._resource(type_name)
        block = self.resource_schema(type_name).block
        op.remember(block, config)
        ctx = self._context(op, type_name)
        planned = write_only.nulled(block, planned)
        result = routing.apply(resource, ctx, prior, planned, config, planned_private)
        result = dataclasses.replace(result, state=write_only.nulled(block, result.state))
        contract.check_new_state_known(type_name, result.state)
        return result

    @rpc("ImportResourceState", fallback=list[Imported])
    def import_resource_state(
        self, op: Operation, type_name: str, import_id: str
    ) -> list[Imported]:
        resource = self._resource(type_name)
        result = resource.import_state(self._context(op, type_name), import_id)
        state = write_only.nulled(self.resource_schema(type_name).block, result.state)
        if state is None:
            return []
        return [Imported(resource.TYPE_NAME, state, result.private)]

    # -- data sources ----------------------------------------------------------------------

    @diagnostics_rpc("ValidateDataResourceConfig")
    def validate_data_source_config(self, op: Operation, type_name: str, config: Values) -> None:
        data_source = self._data_source(type_name)
        block = self.data_source_schema(type_name).block
        contract.check_validators(block, config, op.diagnostics)
        if not op.diagnostics.has_errors:
            data_source.validate(self._context(op, type_name), config)

    @rpc("ReadDataSource")
    def read_data_source(self, op: Operation, type_name: str, config: Values) -> Values:
        data_source = self._data_source(type_name)
        op.remember(self.data_source_schema(type_name).block, config)
        result = data_source.read(self._context(op, type_name), config)
        contract.check_data_source_known(type_name, result)
        return result

    # -- internals -------------------------------------------------------------------------

    def begin(self) -> Operation:
        """Start one RPC's operation: its own redactor over the provider's, diagnostics, log."""
        return Operation(self.redactor, self._raw_log)

    def _context(self, op: Operation, type_name: str) -> Context:
        return Context(
            provider_config=self._config,
            diagnostics=op.diagnostics,
            log=op.log.child(tf_resource_type=type_name),
            executor=self.executor,
            cancel=self.cancel,
            proxies=self.proxies,
            databases=self.databases,
        )

    def _resource(self, type_name: str) -> Resource:
        try:
            return self.resources[type_name]
        except KeyError:
            raise errors.RequestError(
                f"The request names the unknown resource type '{type_name}'; this provider has "
                f"{', '.join(sorted(self.resources)) or 'none'}."
            ) from None

    def _data_source(self, type_name: str) -> DataSource:
        try:
            return self.data_sources[type_name]
        except KeyError:
            raise errors.RequestError(
                f"The request names the unknown data source '{type_name}'; this provider has "
                f"{', '.join(sorted(self.data_sources)) or 'none'}."
            ) from None


def new_provider(log: Logger | None = None) -> Provider:
    """Build the provider with every resource and data source this package offers."""
    from alembic_provider.data_sources.current import CurrentDataSource
    from alembic_provider.data_sources.model_diff import ModelDiffDataSource
    from alembic_provider.data_sources.review import ReviewDataSource
    from alembic_provider.data_sources.revisions import RevisionsDataSource
    from alembic_provider.executor import WorkerExecutor
    from alembic_provider.log import level_from_environment
    from alembic_provider.provider_config import PROVIDER_SCHEMA
    from alembic_provider.proxy import ProxyManager
    from alembic_provider.resources.common import ManagedProxies
    from alembic_provider.resources.stamp import StampResource
    from alembic_provider.resources.upgrade import UpgradeResource

    redactor = Redactor()
    log = log or Logger("provider", level=level_from_environment())
    return Provider(
        PROVIDER_SCHEMA,
        resources=(UpgradeResource(), StampResource()),
        data_sources=(
            RevisionsDataSource(),
            CurrentDataSource(),
            ReviewDataSource(),
            ModelDiffDataSource(),
        ),
        log=log,
        redactor=redactor,
        executor=WorkerExecutor(log=log.child("provider.executor"), redactor=redactor),
        proxies=ManagedProxies(ProxyManager(redactor=redactor, logger=log.child("provider.proxy"))),
    )
