"""The ``tfplugin6.Provider`` gRPC service: decode, call the provider core, encode.

Every method converts the request with :mod:`convert` and :mod:`alembic_provider.cty`, calls the
matching :class:`~alembic_provider.provider.Provider` method and wraps its result and
diagnostics. A failure while decoding or encoding still comes back as a diagnostic; no exception
leaves a handler.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable
from typing import Any, TypeVar

from alembic_provider import errors
from alembic_provider.cty import CtyError, Unknown
from alembic_provider.diagnostics import Diagnostic
from alembic_provider.plugin import convert
from alembic_provider.plugin.proto import tfplugin6_pb2 as pb
from alembic_provider.plugin.proto import tfplugin6_pb2_grpc as pb_grpc
from alembic_provider.provider import Provider

__all__ = ["ProviderService"]

_T = TypeVar("_T")


#: Terraform 1.3 and newer then plan destroys with the provider too, so a destroy that
#: downgrades (``on_destroy``) says so in the plan; older versions ignore the field.
_CAPABILITIES = pb.ServerCapabilities(plan_destroy=True)


class ProviderService(pb_grpc.ProviderServicer):
    def __init__(self, provider: Provider) -> None:
        self.provider = provider

    def _safely(self, response: Any, rpc: str, body: Callable[[], Any]) -> Any:
        """Run ``body``; on any failure answer ``response`` with an error diagnostic.

        A :class:`~alembic_provider.errors.ProviderError` (a malformed request, say) becomes
        its own plain diagnostic; anything else is the provider's bug and says so.
        """
        try:
            return body()
        except errors.ProviderError as exc:
            self.provider.log.debug("rpc refused", tf_rpc=rpc, error=exc.message)
            diagnostic = exc.diagnostic()
        except Exception as exc:  # a transport failure must never kill the server
            detail = f"{rpc} failed unexpectedly: {exc}\n\n{traceback.format_exc()}"
            self.provider.log.error("rpc failed in the transport layer", tf_rpc=rpc, error=detail)
            diagnostic = Diagnostic.error(
                "Unexpected Provider Error",
                detail + "\n\nThis is a bug in the provider; please report it.",
            )
        message = response()
        redacted = Diagnostic(
            diagnostic.severity,
            diagnostic.summary,
            self.provider.redactor.redact(diagnostic.detail),
            diagnostic.attribute,
        )
        message.diagnostics.extend(convert.diagnostics([redacted]))
        return message

    def _decode(self, request: Any, field: str, ty: Any, rpc: str, *, nullable: bool = True) -> Any:
        """Decode the DynamicValue ``field`` of ``request``, naming the field if it is wrong.

        :raises RequestError: the value does not fit ``ty``, is nested past any sensible
            depth, or is null where the protocol always sends an object.
        """
        try:
            value = convert.decode(getattr(request, field), ty)
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

    # -- provider --------------------------------------------------------------------------

    def GetMetadata(self, request: Any, context: Any) -> Any:  # noqa: N802
        def body() -> Any:
            schemas = self.provider.schemas()
            return pb.GetMetadata.Response(
                server_capabilities=_CAPABILITIES,
                resources=[pb.GetMetadata.ResourceMetadata(type_name=n) for n in schemas.resources],
                data_sources=[
                    pb.GetMetadata.DataSourceMetadata(type_name=n) for n in schemas.data_sources
                ],
            )

        return self._safely(pb.GetMetadata.Response, "GetMetadata", body)

    def GetProviderSchema(self, request: Any, context: Any) -> Any:  # noqa: N802
        def body() -> Any:
            schemas = self.provider.schemas()
            return pb.GetProviderSchema.Response(
                provider=convert.schema(schemas.provider),
                resource_schemas={n: convert.schema(s) for n, s in schemas.resources.items()},
                data_source_schemas={n: convert.schema(s) for n, s in schemas.data_sources.items()},
                server_capabilities=_CAPABILITIES,
            )

        return self._safely(pb.GetProviderSchema.Response, "GetProviderSchema", body)

    def ValidateProviderConfig(self, request: Any, context: Any) -> Any:  # noqa: N802
        def body() -> Any:
            ty = self.provider.provider_schema.cty_type()
            config = self._decode(request, "config", ty, "ValidateProviderConfig", nullable=False)
            diagnostics = self.provider.validate_provider_config(config)
            return pb.ValidateProviderConfig.Response(diagnostics=convert.diagnostics(diagnostics))

        return self._safely(pb.ValidateProviderConfig.Response, "ValidateProviderConfig", body)

    def ConfigureProvider(self, request: Any, context: Any) -> Any:  # noqa: N802
        def body() -> Any:
            ty = self.provider.provider_schema.cty_type()
            config = self._decode(request, "config", ty, "ConfigureProvider", nullable=False)
            self.provider.remember_secrets(self.provider.provider_schema.block, config)
            diagnostics = self.provider.configure(request.terraform_version, config)
            return pb.ConfigureProvider.Response(diagnostics=convert.diagnostics(diagnostics))

        return self._safely(pb.ConfigureProvider.Response, "ConfigureProvider", body)

    def StopProvider(self, request: Any, context: Any) -> Any:  # noqa: N802
        def body() -> Any:
            self.provider.stop()
            return pb.StopProvider.Response()

        return self._safely(pb.StopProvider.Response, "StopProvider", body)

    # -- managed resources -----------------------------------------------------------------

    def ValidateResourceConfig(self, request: Any, context: Any) -> Any:  # noqa: N802
        def body() -> Any:
            ty = self.provider.resource_schema(request.type_name).cty_type()
            config = self._decode(request, "config", ty, "ValidateResourceConfig", nullable=False)
            diagnostics = self.provider.validate_resource_config(request.type_name, config)
            return pb.ValidateResourceConfig.Response(diagnostics=convert.diagnostics(diagnostics))

        return self._safely(pb.ValidateResourceConfig.Response, "ValidateResourceConfig", body)

    def UpgradeResourceState(self, request: Any, context: Any) -> Any:  # noqa: N802
        def body() -> Any:
            name = request.type_name
            state, diagnostics = self.provider.upgrade_resource_state(
                name, request.version, request.raw_state.json
            )
            response = pb.UpgradeResourceState.Response(
                diagnostics=convert.diagnostics(diagnostics)
            )
            if state is not None and not diagnostics.has_errors:
                ty = self.provider.resource_schema(name).cty_type()
                response.upgraded_state.CopyFrom(convert.dynamic_value(state, ty))
            return response

        return self._safely(pb.UpgradeResourceState.Response, "UpgradeResourceState", body)

    def ReadResource(self, request: Any, context: Any) -> Any:  # noqa: N802
        def body() -> Any:
            name = request.type_name
            ty = self.provider.resource_schema(name).cty_type()
            state = self._decode(request, "current_state", ty, "ReadResource")
            result, diagnostics = self.provider.read_resource(name, state, request.private)
            response = pb.ReadResource.Response(diagnostics=convert.diagnostics(diagnostics))
            if result is None:
                if diagnostics.has_errors:
                    response.new_state.CopyFrom(request.current_state)
                    response.private = request.private
                else:
                    response.new_state.CopyFrom(convert.dynamic_value(None, ty))
                return response
            response.new_state.CopyFrom(convert.dynamic_value(result.state, ty))
            response.private = result.private
            return response

        return self._safely(pb.ReadResource.Response, "ReadResource", body)

    def PlanResourceChange(self, request: Any, context: Any) -> Any:  # noqa: N802
        def body() -> Any:
            name = request.type_name
            ty = self.provider.resource_schema(name).cty_type()
            rpc = "PlanResourceChange"
            result, diagnostics = self.provider.plan_resource_change(
                name,
                self._decode(request, "prior_state", ty, rpc),
                self._decode(request, "proposed_new_state", ty, rpc),
                self._decode(request, "config", ty, rpc),
                request.prior_private,
            )
            response = pb.PlanResourceChange.Response(diagnostics=convert.diagnostics(diagnostics))
            if result is not None:
                response.planned_state.CopyFrom(convert.dynamic_value(result.state, ty))
                response.planned_private = result.private
                response.requires_replace.extend(
                    convert.attribute_path(p) for p in result.requires_replace
                )
            return response

        return self._safely(pb.PlanResourceChange.Response, "PlanResourceChange", body)

    def ApplyResourceChange(self, request: Any, context: Any) -> Any:  # noqa: N802
        def body() -> Any:
            name = request.type_name
            ty = self.provider.resource_schema(name).cty_type()
            rpc = "ApplyResourceChange"
            prior = self._decode(request, "prior_state", ty, rpc)
            result, diagnostics = self.provider.apply_resource_change(
                name,
                prior,
                self._decode(request, "planned_state", ty, rpc),
                self._decode(request, "config", ty, rpc),
                request.planned_private,
            )
            response = pb.ApplyResourceChange.Response(diagnostics=convert.diagnostics(diagnostics))
            if result is None:
                # Nothing new is known: keep the prior object so Terraform does not lose it.
                response.new_state.CopyFrom(convert.dynamic_value(prior, ty))
            else:
                response.new_state.CopyFrom(convert.dynamic_value(result.state, ty))
                response.private = result.private
            return response

        return self._safely(pb.ApplyResourceChange.Response, "ApplyResourceChange", body)

    def ImportResourceState(self, request: Any, context: Any) -> Any:  # noqa: N802
        def body() -> Any:
            imported, diagnostics = self.provider.import_resource_state(
                request.type_name, request.id
            )
            response = pb.ImportResourceState.Response(diagnostics=convert.diagnostics(diagnostics))
            for item in imported:
                ty = self.provider.resource_schema(item.type_name).cty_type()
                response.imported_resources.append(
                    pb.ImportResourceState.ImportedResource(
                        type_name=item.type_name,
                        state=convert.dynamic_value(item.state, ty),
                        private=item.private,
                    )
                )
            return response

        return self._safely(pb.ImportResourceState.Response, "ImportResourceState", body)

    # -- data sources ----------------------------------------------------------------------

    def ValidateDataResourceConfig(self, request: Any, context: Any) -> Any:  # noqa: N802
        def body() -> Any:
            ty = self.provider.data_source_schema(request.type_name).cty_type()
            rpc = "ValidateDataResourceConfig"
            config = self._decode(request, "config", ty, rpc, nullable=False)
            diagnostics = self.provider.validate_data_source_config(request.type_name, config)
            return pb.ValidateDataResourceConfig.Response(
                diagnostics=convert.diagnostics(diagnostics)
            )

        return self._safely(
            pb.ValidateDataResourceConfig.Response, "ValidateDataResourceConfig", body
        )

    def ReadDataSource(self, request: Any, context: Any) -> Any:  # noqa: N802
        def body() -> Any:
            name = request.type_name
            ty = self.provider.data_source_schema(name).cty_type()
            config = self._decode(request, "config", ty, "ReadDataSource", nullable=False)
            state, diagnostics = self.provider.read_data_source(name, config)
            response = pb.ReadDataSource.Response(diagnostics=convert.diagnostics(diagnostics))
            if state is not None:
                response.state.CopyFrom(convert.dynamic_value(state, ty))
            return response

        return self._safely(pb.ReadDataSource.Response, "ReadDataSource", body)


def register(provider: Provider) -> Callable[[Any, Any], None]:
    """Return the callback the server uses to add this service."""

    def add(server: Any, shutdown: Any) -> None:
        pb_grpc.add_ProviderServicer_to_server(ProviderService(provider), server)

    return add
