"""The ``tfplugin6.Provider`` gRPC service: decode, call the provider core, encode.

Every RPC is one row of :data:`_RPCS`: the schema its DynamicValues decode with, the request
fields passed in order, the :class:`~alembic_provider.provider.Provider` method that answers and
how the answer fills the response. One forwarder runs every row inside the framework's exception
guard, so a failure while decoding or encoding still comes back as a diagnostic and no exception
leaves a handler. Holds no rules of its own.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from alembic_provider import errors
from alembic_provider.cty import CtyError, CtyType, Unknown
from alembic_provider.diagnostics import Diagnostics
from alembic_provider.framework.guard import guard
from alembic_provider.plugin import convert
from alembic_provider.plugin.proto import tfplugin6_pb2 as pb
from alembic_provider.plugin.proto import tfplugin6_pb2_grpc as pb_grpc
from alembic_provider.provider import Provider, Schemas
from alembic_provider.schema import Schema

__all__ = ["ProviderService", "register"]


#: Terraform 1.3 and newer then plan destroys with the provider too, so a destroy that
#: downgrades (``on_destroy``) says so in the plan; older versions ignore the field.
_CAPABILITIES = pb.ServerCapabilities(plan_destroy=True)


# -- what a row declares ----------------------------------------------------------------------


@dataclass(frozen=True)
class _Value:
    """A DynamicValue field of the request, decoded with the RPC's schema."""

    field: str
    #: False where Terraform always sends an object (configurations).
    nullable: bool = True


@dataclass(frozen=True)
class _Field:
    """A plain request field, passed as it is; dots reach into nested messages."""

    path: str


_Argument = _Value | _Field
_TYPE_NAME = _Field("type_name")


def _provider_schema(provider: Provider, request: Any) -> Schema:
    return provider.provider_schema


def _resource_schema(provider: Provider, request: Any) -> Schema:
    return provider.resource_schema(request.type_name)


def _data_source_schema(provider: Provider, request: Any) -> Schema:
    return provider.data_source_schema(request.type_name)


class _Exchange:
    """One request on its way through: the provider, the request and what was decoded."""

    def __init__(
        self,
        provider: Provider,
        rpc: str,
        request: Any,
        schema_of: Callable[[Provider, Any], Schema] | None,
    ) -> None:
        self.provider = provider
        self.rpc = rpc
        self.request = request
        self._schema_of = schema_of
        self.values: dict[str, Any] = {}

    @functools.cached_property
    def ty(self) -> CtyType:
        """The cty type of the RPC's schema, looked up on first use (it may name no type)."""
        if self._schema_of is None:
            raise errors.InternalError(f"The {self.rpc} forwarder declares no schema.")
        return self._schema_of(self.provider, self.request).cty_type()

    def argument(self, argument: _Argument) -> Any:
        if isinstance(argument, _Field):
            return functools.reduce(getattr, argument.path.split("."), self.request)
        value = self._decode(argument.field, nullable=argument.nullable)
        self.values[argument.field] = value
        return value

    def _decode(self, field: str, *, nullable: bool) -> Any:
        """Decode the DynamicValue ``field`` of the request, naming the field if it is wrong.

        :raises RequestError: the value does not fit the schema, is nested past any sensible
            depth, or is null where the protocol always sends an object.
        """
        rpc = self.rpc
        try:
            value = convert.decode(getattr(self.request, field), self.ty)
        except CtyError as exc:
            raise errors.RequestError(
                f"The '{field}' value of the {rpc} request does not fit the schema: {exc}"
            ) from None
        except RecursionError:
            raise errors.RequestError(
                f"The '{field}' value of the {rpc} request is nested too deeply to read."
            ) from None
        if isinstance(value, Unknown):
            raise errors.RequestError(
                f"The '{field}' value of the {rpc} request is unknown as a whole; Terraform "
                "always sends an object here, with unknown values inside it if need be."
            )
        if value is None and not nullable:
            raise errors.RequestError(
                f"The '{field}' value of the {rpc} request is null; Terraform always sends an "
                "object here."
            )
        return value


#: Fills a response from the provider's answer: (response, exchange, result, diagnostics).
_Encoder = Callable[[Any, _Exchange, Any, Diagnostics], None]


def _diagnostics_only(response: Any, exchange: _Exchange, result: Any, diags: Diagnostics) -> None:
    return None


@dataclass(frozen=True)
class _Rpc:
    """How one RPC forwards: its arguments, the provider method answering, the response."""

    response: Callable[[], Any]
    #: The name of the :class:`Provider` method that answers, called with ``args`` in order.
    answer: str
    schema: Callable[[Provider, Any], Schema] | None = None
    args: tuple[_Argument, ...] = ()
    encode: _Encoder = _diagnostics_only

    def __post_init__(self) -> None:
        if not callable(getattr(Provider, self.answer, None)):
            raise TypeError(f"The provider has no method '{self.answer}' to answer with.")


# -- how answers fill responses ---------------------------------------------------------------


def _metadata(response: Any, exchange: _Exchange, schemas: Schemas, diags: Diagnostics) -> None:
    response.server_capabilities.CopyFrom(_CAPABILITIES)
    response.resources.extend(
        pb.GetMetadata.ResourceMetadata(type_name=n) for n in schemas.resources
    )
    response.data_sources.extend(
        pb.GetMetadata.DataSourceMetadata(type_name=n) for n in schemas.data_sources
    )


def _schemas(response: Any, exchange: _Exchange, schemas: Schemas, diags: Diagnostics) -> None:
    response.provider.CopyFrom(convert.schema(schemas.provider))
    for name, schema in schemas.resources.items():
        response.resource_schemas[name].CopyFrom(convert.schema(schema))
    for name, schema in schemas.data_sources.items():
        response.data_source_schemas[name].CopyFrom(convert.schema(schema))
    response.server_capabilities.CopyFrom(_CAPABILITIES)


def _upgraded(response: Any, exchange: _Exchange, state: Any, diags: Diagnostics) -> None:
    if state is not None and not diags.has_errors:
        response.upgraded_state.CopyFrom(convert.dynamic_value(state, exchange.ty))


def _read(response: Any, exchange: _Exchange, result: Any, diags: Diagnostics) -> None:
    request = exchange.request
    if result is not None:
        response.new_state.CopyFrom(convert.dynamic_value(result.state, exchange.ty))
        response.private = result.private
    elif diags.has_errors:
        # Nothing was read: hand back what Terraform sent so it loses nothing.
        response.new_state.CopyFrom(request.current_state)
        response.private = request.private
    else:
        response.new_state.CopyFrom(convert.dynamic_value(None, exchange.ty))


def _planned(response: Any, exchange: _Exchange, result: Any, diags: Diagnostics) -> None:
    if result is None:
        return
    response.planned_state.CopyFrom(convert.dynamic_value(result.state, exchange.ty))
    response.planned_private = result.private
    response.requires_replace.extend(convert.attribute_path(p) for p in result.requires_replace)


def _applied(response: Any, exchange: _Exchange, result: Any, diags: Diagnostics) -> None:
    if result is None:
        # Nothing new is known: keep the prior object so Terraform does not lose it.
        prior = exchange.values["prior_state"]
        response.new_state.CopyFrom(convert.dynamic_value(prior, exchange.ty))
        return
    response.new_state.CopyFrom(convert.dynamic_value(result.state, exchange.ty))
    response.private = result.private


def _imported(response: Any, exchange: _Exchange, imported: Any, diags: Diagnostics) -> None:
    for item in imported:
        ty = exchange.provider.resource_schema(item.type_name).cty_type()
        response.imported_resources.append(
            pb.ImportResourceState.ImportedResource(
                type_name=item.type_name,
                state=convert.dynamic_value(item.state, ty),
                private=item.private,
            )
        )


def _data(response: Any, exchange: _Exchange, state: Any, diags: Diagnostics) -> None:
    if state is not None:
        response.state.CopyFrom(convert.dynamic_value(state, exchange.ty))


# -- the table --------------------------------------------------------------------------------

_RPCS: dict[str, _Rpc] = {
    "GetMetadata": _Rpc(pb.GetMetadata.Response, "schemas", encode=_metadata),
    "GetProviderSchema": _Rpc(pb.GetProviderSchema.Response, "schemas", encode=_schemas),
    "ValidateProviderConfig": _Rpc(
        pb.ValidateProviderConfig.Response,
        "validate_provider_config",
        _provider_schema,
        (_Value("config", nullable=False),),
    ),
    "ConfigureProvider": _Rpc(
        pb.ConfigureProvider.Response,
        "configure",
        _provider_schema,
        (_Field("terraform_version"), _Value("config", nullable=False)),
    ),
    "StopProvider": _Rpc(pb.StopProvider.Response, "stop"),
    "ValidateResourceConfig": _Rpc(
        pb.ValidateResourceConfig.Response,
        "validate_resource_config",
        _resource_schema,
        (
            _TYPE_NAME,
            _Value("config", nullable=False),
            _Field("client_capabilities.write_only_attributes_allowed"),
        ),
    ),
    "UpgradeResourceState": _Rpc(
        pb.UpgradeResourceState.Response,
        "upgrade_resource_state",
        _resource_schema,
        (_TYPE_NAME, _Field("version"), _Field("raw_state.json")),
        _upgraded,
    ),
    "ReadResource": _Rpc(
        pb.ReadResource.Response,
        "read_resource",
        _resource_schema,
        (_TYPE_NAME, _Value("current_state"), _Field("private")),
        _read,
    ),
    "PlanResourceChange": _Rpc(
        pb.PlanResourceChange.Response,
        "plan_resource_change",
        _resource_schema,
        (
            _TYPE_NAME,
            _Value("prior_state"),
            _Value("proposed_new_state"),
            _Value("config"),
            _Field("prior_private"),
        ),
        _planned,
    ),
    "ApplyResourceChange": _Rpc(
        pb.ApplyResourceChange.Response,
        "apply_resource_change",
        _resource_schema,
        (
            _TYPE_NAME,
            _Value("prior_state"),
            _Value("planned_state"),
            _Value("config"),
            _Field("planned_private"),
        ),
        _applied,
    ),
    "ImportResourceState": _Rpc(
        pb.ImportResourceState.Response,
        "import_resource_state",
        args=(_TYPE_NAME, _Field("id")),
        encode=_imported,
    ),
    "ValidateDataResourceConfig": _Rpc(
        pb.ValidateDataResourceConfig.Response,
        "validate_data_source_config",
        _data_source_schema,
        (_TYPE_NAME, _Value("config", nullable=False)),
    ),
    "ReadDataSource": _Rpc(
        pb.ReadDataSource.Response,
        "read_data_source",
        _data_source_schema,
        (_TYPE_NAME, _Value("config", nullable=False)),
        _data,
    ),
}


def _split(answer: Any) -> tuple[Any, Diagnostics]:
    """Read a provider method's answer: diagnostics, ``(result, diagnostics)``, or a result."""
    if isinstance(answer, Diagnostics):
        return None, answer
    if isinstance(answer, tuple):
        result, diagnostics = answer
        return result, diagnostics
    return answer, Diagnostics()


def _response(make: Callable[[], Any], diagnostics: Diagnostics) -> Any:
    """Start a response carrying ``diagnostics`` (StopProvider's carries its errors as text)."""
    response = make()
    if "diagnostics" in response.DESCRIPTOR.fields_by_name:
        response.diagnostics.extend(convert.diagnostics(diagnostics))
    elif diagnostics.has_errors:
        response.Error = "\n\n".join(f"{d.summary}: {d.detail}" for d in diagnostics)
    return response


def _forwarder(name: str) -> Callable[[ProviderService, Any, Any], Any]:
    """The gRPC handler of the RPC ``name``: its row of :data:`_RPCS`, run by the service."""

    def handle(self: ProviderService, request: Any, context: Any) -> Any:
        return self.forward(name, request)

    handle.__name__ = handle.__qualname__ = name
    return handle


class ProviderService(pb_grpc.ProviderServicer):
    """Terraform's provider service, every RPC forwarded by its row of :data:`_RPCS`."""

    def __init__(self, provider: Provider | None = None) -> None:
        self._provider = provider
        self._missing: BaseException | None = None
        self._given = threading.Event()
        if provider is not None:
            self._given.set()

    @property
    def provider(self) -> Provider:
        """The provider, once given: a session makes it while Terraform connects."""
        self._given.wait()
        if self._provider is None:
            raise RuntimeError(f"the provider could not be made: {self._missing}")
        return self._provider

    @provider.setter
    def provider(self, provider: Provider) -> None:
        self._provider = provider
        self._given.set()

    def missing(self, error: BaseException) -> None:
        """The provider could not be made: every call fails with ``error``."""
        self._missing = error
        self._given.set()

    def forward(self, rpc: str, request: Any) -> Any:
        """Decode ``request``, ask the provider, encode its answer; failures become diagnostics."""
        row = _RPCS[rpc]
        diagnostics = Diagnostics(self.provider.redactor.redact)
        with guard(diagnostics, self.provider.log, rpc):
            exchange = _Exchange(self.provider, rpc, request, row.schema)
            arguments = [exchange.argument(argument) for argument in row.args]
            result, answered = _split(getattr(self.provider, row.answer)(*arguments))
            response = _response(row.response, answered)
            row.encode(response, exchange, result, answered)
            return response
        return _response(row.response, diagnostics)

    GetMetadata = _forwarder("GetMetadata")
    GetProviderSchema = _forwarder("GetProviderSchema")
    ValidateProviderConfig = _forwarder("ValidateProviderConfig")
    ConfigureProvider = _forwarder("ConfigureProvider")
    StopProvider = _forwarder("StopProvider")
    ValidateResourceConfig = _forwarder("ValidateResourceConfig")
    UpgradeResourceState = _forwarder("UpgradeResourceState")
    ReadResource = _forwarder("ReadResource")
    PlanResourceChange = _forwarder("PlanResourceChange")
    ApplyResourceChange = _forwarder("ApplyResourceChange")
    ImportResourceState = _forwarder("ImportResourceState")
    ValidateDataResourceConfig = _forwarder("ValidateDataResourceConfig")
    ReadDataSource = _forwarder("ReadDataSource")


def register(provider: Provider | ProviderService) -> Callable[[Any, Any], None]:
    """Return the callback the server uses to add this service (or this provider's)."""
    service = provider if isinstance(provider, ProviderService) else ProviderService(provider)

    def add(server: Any, shutdown: Any) -> None:
        pb_grpc.add_ProviderServicer_to_server(service, server)

    return add
