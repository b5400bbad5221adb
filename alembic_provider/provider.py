"""The provider core: type registry and RPC dispatch, independent of gRPC.

The plugin layer decodes a request and calls one method here per protocol RPC; this module finds
the resource or data source, builds its :class:`Context`, runs the hook and checks the result
against Terraform's consistency contract before it leaves. It is the one place where exceptions
become diagnostics: a :class:`~alembic_provider.errors.ProviderError` becomes the diagnostic it
describes, anything else an internal error with the traceback. Never imports alembic.
"""

from __future__ import annotations

import json
import os
import threading
import traceback
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal

from alembic_provider import errors
from alembic_provider.cty import CtyError, Unknown, contains_unknown, encode_msgpack
from alembic_provider.diagnostics import AttributePath, Diagnostics
from alembic_provider.executor import Executor
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
from alembic_provider.schema import Block, Nesting, Schema, empty_object

__all__ = ["Imported", "Provider", "Schemas", "new_provider"]

_BUG = "This is a bug in the provider; please report it."


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


class _Operation:
    """One RPC's diagnostics and log, hiding the provider's secrets and the request's own.

    The request's secrets live in a redactor of the operation's own, dropped with it, so the
    memory they take is bounded by the requests in flight, not by every value ever seen.
    """

    def __init__(self, provider_redactor: Redactor, log: Logger) -> None:
        self.redactor = provider_redactor.extended()
        self.diagnostics = Diagnostics(self.redact)
        self.log = log.with_redactor(self.redact)

    def redact(self, text: str) -> str:
        return self.redactor.redact(text)

    def remember(self, block: Block, value: Values | None) -> None:
        """Register every sensitive value of ``value`` before the operation uses it."""
        _remember(self.redactor, block, value)


def _remember(redactor: Redactor, block: Block, value: Values | None) -> None:
    if not isinstance(value, dict):
        return
    for name in block.sensitive_names:
        redactor.add_value(value.get(name))
    for attribute in block.attributes:
        item = value.get(attribute.name)
        if isinstance(item, str) and "://" in item:
            redactor.add_url(item)


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
        _remember(self.redactor, block, value)

    # -- provider --------------------------------------------------------------------------

    def validate_provider_config(self, config: Values) -> Diagnostics:
        op = self._begin()
        diagnostics = op.diagnostics
        with self._guard(op, "ValidateProviderConfig"):
            _check_validators(self.provider_schema.block, config, diagnostics)
            project = None if diagnostics.has_errors else project_for(config, {})
            if project is not None and os.path.isdir(project.project_root):
                self.executor.warm_up(project)
        return diagnostics

    def configure(self, terraform_version: str, config: Values) -> Diagnostics:
        op = self._begin()
        diagnostics = op.diagnostics
        with self._guard(op, "ConfigureProvider"):
            self.log.info("configuring provider", terraform_version=terraform_version)
            self._config = config
            # Terraform configures the provider at the start of every walk (plan, apply):
            # moves planned by an earlier walk are no story of this one.
            self.databases.clear()
        return diagnostics

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

    def validate_resource_config(self, type_name: str, config: Values) -> Diagnostics:
        op = self._begin()
        diagnostics = op.diagnostics
        with self._guard(op, "ValidateResourceConfig", type_name):
            resource = self._resource(type_name)
            _check_validators(self.resource_schema(type_name).block, config, diagnostics)
            if not diagnostics.has_errors:
                resource.validate(self._context(op, type_name), config)
        return diagnostics

    def upgrade_resource_state(
        self, type_name: str, version: int, raw_json: bytes
    ) -> tuple[Values | None, Diagnostics]:
        op = self._begin()
        diagnostics = op.diagnostics
        result: Values | None = None
        with self._guard(op, "UpgradeResourceState", type_name):
            resource = self._resource(type_name)
            raw = _load_raw_state(type_name, raw_json)
            ctx = self._context(op, type_name)
            result = resource.upgrade_state(ctx, version, raw)
            schema = self.resource_schema(type_name)
            _check_complete(schema.block, result, "upgraded state")
            _check_fits(type_name, schema, result)
        return result, diagnostics

    def read_resource(
        self, type_name: str, state: Values | None, private: bytes
    ) -> tuple[Applied | None, Diagnostics]:
        op = self._begin()
        diagnostics = op.diagnostics
        result: Applied | None = None
        with self._guard(op, "ReadResource", type_name):
            resource = self._resource(type_name)
            op.remember(self.resource_schema(type_name).block, state)
            if state is None:
                return None, diagnostics
            result = resource.read(self._context(op, type_name), state, private)
        return result, diagnostics

    def plan_resource_change(
        self,
        type_name: str,
        prior: Values | None,
        proposed: Values | None,
        config: Values | None,
        prior_private: bytes,
    ) -> tuple[Planned | None, Diagnostics]:
        op = self._begin()
        diagnostics = op.diagnostics
        result: Planned | None = None
        with self._guard(op, "PlanResourceChange", type_name):
            resource = self._resource(type_name)
            block = self.resource_schema(type_name).block
            op.remember(block, config)
            ctx = self._context(op, type_name)
            result = resource.plan(ctx, prior, proposed, config, prior_private)
            if result.state is not None and config is not None:
                _check_plan(block, config, result.state, prior)
        return result, diagnostics

    def apply_resource_change(
        self,
        type_name: str,
        prior: Values | None,
        planned: Values | None,
        config: Values | None,
        planned_private: bytes,
    ) -> tuple[Applied | None, Diagnostics]:
        op = self._begin()
        diagnostics = op.diagnostics
        result: Applied | None = None
        with self._guard(op, "ApplyResourceChange", type_name):
            resource = self._resource(type_name)
            if prior is None and planned is None:
                raise errors.RequestError(
                    "The ApplyResourceChange request has a null 'prior_state' and a null "
                    "'planned_state': there is nothing to create and nothing to destroy."
                )
            op.remember(self.resource_schema(type_name).block, config)
            ctx = self._context(op, type_name)
            result = resource.apply(ctx, prior, planned, config, planned_private)
            if result.state is not None and contains_unknown(result.state):
                raise errors.InternalError(
                    f"The provider returned an unknown value in the new state of '{type_name}'."
                )
        return result, diagnostics

    def import_resource_state(
        self, type_name: str, import_id: str
    ) -> tuple[list[Imported], Diagnostics]:
        op = self._begin()
        diagnostics = op.diagnostics
        imported: list[Imported] = []
        with self._guard(op, "ImportResourceState", type_name):
            resource = self._resource(type_name)
            result = resource.import_state(self._context(op, type_name), import_id)
            if result.state is not None:
                imported.append(Imported(resource.TYPE_NAME, result.state, result.private))
        return imported, diagnostics

    # -- data sources ----------------------------------------------------------------------

    def validate_data_source_config(self, type_name: str, config: Values) -> Diagnostics:
        op = self._begin()
        diagnostics = op.diagnostics
        with self._guard(op, "ValidateDataResourceConfig", type_name):
            data_source = self._data_source(type_name)
            _check_validators(self.data_source_schema(type_name).block, config, diagnostics)
            if not diagnostics.has_errors:
                data_source.validate(self._context(op, type_name), config)
        return diagnostics

    def read_data_source(self, type_name: str, config: Values) -> tuple[Values | None, Diagnostics]:
        op = self._begin()
        diagnostics = op.diagnostics
        result: Values | None = None
        with self._guard(op, "ReadDataSource", type_name):
            data_source = self._data_source(type_name)
            op.remember(self.data_source_schema(type_name).block, config)
            result = data_source.read(self._context(op, type_name), config)
            if contains_unknown(result):
                raise errors.InternalError(
                    f"The data source '{type_name}' returned an unknown value."
                )
        return result, diagnostics

    # -- internals -------------------------------------------------------------------------

    def _begin(self) -> _Operation:
        return _Operation(self.redactor, self._raw_log)

    def _context(self, op: _Operation, type_name: str) -> Context:
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

    @contextmanager
    def _guard(self, op: _Operation, rpc: str, type_name: str = "") -> Iterator[None]:
        """Turn any exception raised by a hook into a diagnostic; the server never dies of one."""
        diagnostics = op.diagnostics
        log = op.log.child(tf_rpc=rpc, tf_resource_type=type_name) if type_name else op.log
        log.trace("rpc started", tf_rpc=rpc)
        try:
            yield
        except errors.ProviderError as exc:
            log.debug("rpc failed", error=str(exc))
            diagnostics.add(exc.diagnostic())
        except Exception as exc:  # the one place every other failure becomes a diagnostic
            log.error("rpc crashed", error=repr(exc))
            diagnostics.error(
                "Unexpected Provider Error",
                f"{rpc} failed unexpectedly: {exc}\n\n{_BUG}\n\n{traceback.format_exc()}",
            )
        else:
            log.trace("rpc finished", tf_rpc=rpc)


def _load_raw_state(type_name: str, raw_json: bytes) -> dict[str, object]:
    """Read the stored state's JSON (``raw_state``), refusing anything but a readable object."""
    try:
        raw = json.loads(raw_json or b"{}", parse_float=Decimal)
    except RecursionError:
        problem = "is nested too deeply to read"
    except ValueError as exc:  # invalid JSON or UTF-8
        problem = f"is not valid JSON ({exc})"
    else:
        if isinstance(raw, dict):
            return raw
        problem = "is not a JSON object"
    raise errors.StateError(
        f"The stored state of '{type_name}' (the request's 'raw_state') {problem}. Restore the "
        "state from a backup, or remove the resource from state and import it again."
    )


def _check_fits(type_name: str, schema: Schema, state: Values) -> None:
    """Refuse stored state whose values have the wrong types (a hand-edited state file)."""
    try:
        encode_msgpack(state, schema.cty_type())
    except CtyError as exc:
        raise errors.StateError(
            f"The stored state of '{type_name}' (the request's 'raw_state') does not fit the "
            f"schema: {exc} Restore the state from a backup, or remove the resource from state "
            "and import it again."
        ) from None


def _check_validators(
    block: Block, config: Values, diagnostics: Diagnostics, path: AttributePath = ()
) -> None:
    """Run every attribute's validators on known values, nested single blocks included."""
    for attribute in block.attributes:
        value = config.get(attribute.name)
        if value is None or isinstance(value, Unknown) or contains_unknown(value):
            continue
        for validator in attribute.validators:
            message = validator(value)
            if message:
                diagnostics.error(
                    f"Invalid {_title(attribute.name)}", message, (*path, attribute.name)
                )
    for nested in block.block_types:
        inner = config.get(nested.type_name)
        if nested.nesting in (Nesting.SINGLE, Nesting.GROUP) and isinstance(inner, dict):
            _check_validators(nested.block, inner, diagnostics, (*path, nested.type_name))


def _title(name: str) -> str:
    return " ".join(part.capitalize() for part in name.split("_"))


def _check_complete(block: Block, value: Values | None, what: str) -> None:
    if value is None:
        return
    expected = set(empty_object(block))
    missing = sorted(expected - set(value))
    extra = sorted(set(value) - expected)
    if missing or extra:
        raise errors.InternalError(
            f"The {what} does not match the schema: missing {missing or 'nothing'}, "
            f"unexpected {extra or 'nothing'}."
        )


def _check_plan(block: Block, config: Values, planned: Values, prior: Values | None) -> None:
    """Refuse a plan Terraform would reject, with a message that names the attribute."""
    _check_complete(block, planned, "planned state")
    for attribute in block.attributes:
        name = attribute.name
        if attribute.computed and config.get(name) is None:
            continue
        want, got = config.get(name), planned.get(name)
        if got == want and type(got) is type(want):
            continue
        if prior is not None and got == prior.get(name) and got is not None:
            continue
        raise errors.InternalError(
            f"The planned value of '{name}' does not match its configuration value."
        )


def new_provider(log: Logger | None = None) -> Provider:
    """Build the provider with every resource and data source this package offers."""
    from alembic_provider.data_sources.current import CurrentDataSource
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
        data_sources=(RevisionsDataSource(), CurrentDataSource()),
        log=log,
        redactor=redactor,
        executor=WorkerExecutor(log=log.child("provider.executor"), redactor=redactor),
        proxies=ManagedProxies(ProxyManager(redactor=redactor, logger=log.child("provider.proxy"))),
    )
