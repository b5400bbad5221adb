"""Guard the protocol definitions: generated modules in sync, wire numbers as Terraform expects.

The field numbers below were checked against Terraform's published tfplugin6 files (6.0 for the
baseline, 6.3 to 6.8 for later additions), go-plugin's controller and stdio protos and gRPC's
health proto. A failure here means Terraform and this provider would misread each other.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Iterator
from concurrent import futures
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.protobuf import descriptor_pool, empty_pb2
from google.protobuf.descriptor import FieldDescriptor, ServiceDescriptor

from alembic_provider.plugin.proto import (
    grpc_controller_pb2,
    grpc_controller_pb2_grpc,
    grpc_stdio_pb2,
    grpc_stdio_pb2_grpc,
    health_pb2,
    health_pb2_grpc,
    tfplugin6_pb2,
    tfplugin6_pb2_grpc,
)

REPO_ROOT = Path(__file__).resolve().parents[2]
PROTO_DIR = Path("alembic_provider", "plugin", "proto")
GENERATED_SUFFIXES = ("_pb2.py", "_pb2.pyi", "_pb2_grpc.py")


def _generated(root: Path) -> dict[str, bytes]:
    return {
        path.name: path.read_bytes()
        for path in sorted((root / PROTO_DIR).iterdir())
        if path.name.endswith(GENERATED_SUFFIXES)
    }


def test_committed_modules_match_fresh_generation(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, str(REPO_ROOT / "scripts" / "gen_proto.py"), "--out", str(tmp_path)],
        check=False,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    fresh = _generated(tmp_path)
    committed = _generated(REPO_ROOT)
    assert fresh, "the generator produced no modules"
    stale = sorted(
        name for name in fresh.keys() | committed.keys() if fresh.get(name) != committed.get(name)
    )
    assert not stale, (
        f"Generated protobuf modules are out of date: {', '.join(stale)}. Run `make proto`."
    )


@pytest.mark.parametrize(
    ("service", "full_name"),
    [
        (tfplugin6_pb2.DESCRIPTOR.services_by_name["Provider"], "tfplugin6.Provider"),
        (
            grpc_controller_pb2.DESCRIPTOR.services_by_name["GRPCController"],
            "plugin.GRPCController",
        ),
        (grpc_stdio_pb2.DESCRIPTOR.services_by_name["GRPCStdio"], "plugin.GRPCStdio"),
        (health_pb2.DESCRIPTOR.services_by_name["Health"], "grpc.health.v1.Health"),
    ],
)
def test_service_full_names(service: ServiceDescriptor, full_name: str) -> None:
    assert service.full_name == full_name


def test_provider_rpcs() -> None:
    service = tfplugin6_pb2.DESCRIPTOR.services_by_name["Provider"]
    assert sorted(method.name for method in service.methods) == sorted(
        [
            "GetMetadata",
            "GetProviderSchema",
            "ValidateProviderConfig",
            "ValidateResourceConfig",
            "ValidateDataResourceConfig",
            "UpgradeResourceState",
            "ConfigureProvider",
            "ReadResource",
            "PlanResourceChange",
            "ApplyResourceChange",
            "ImportResourceState",
            "ReadDataSource",
            "StopProvider",
        ]
    )
    for method in service.methods:
        assert method.input_type.full_name == f"tfplugin6.{method.name}.Request"
        assert method.output_type.full_name == f"tfplugin6.{method.name}.Response"
        assert not method.client_streaming
        assert not method.server_streaming


def test_side_service_methods() -> None:
    shutdown = grpc_controller_pb2.DESCRIPTOR.services_by_name["GRPCController"].methods_by_name[
        "Shutdown"
    ]
    assert shutdown.input_type.full_name == "plugin.Empty"
    assert shutdown.output_type.full_name == "plugin.Empty"
    stdio = grpc_stdio_pb2.DESCRIPTOR.services_by_name["GRPCStdio"].methods_by_name["StreamStdio"]
    assert stdio.input_type.full_name == "google.protobuf.Empty"
    assert stdio.output_type.full_name == "plugin.StdioData"
    assert stdio.server_streaming
    health = health_pb2.DESCRIPTOR.services_by_name["Health"]
    assert [method.name for method in health.methods] == ["Check", "Watch"]
    assert not health.methods_by_name["Check"].server_streaming
    assert health.methods_by_name["Watch"].server_streaming


# (message, field, number, type). Types catch a right number on the wrong kind of field.
_B, _S, _I64, _BOOL, _MSG, _ENUM = (
    FieldDescriptor.TYPE_BYTES,
    FieldDescriptor.TYPE_STRING,
    FieldDescriptor.TYPE_INT64,
    FieldDescriptor.TYPE_BOOL,
    FieldDescriptor.TYPE_MESSAGE,
    FieldDescriptor.TYPE_ENUM,
)
WIRE_FIELDS = [
    ("tfplugin6.DynamicValue", "msgpack", 1, _B),
    ("tfplugin6.DynamicValue", "json", 2, _B),
    ("tfplugin6.Diagnostic", "severity", 1, _ENUM),
    ("tfplugin6.Diagnostic", "summary", 2, _S),
    ("tfplugin6.Diagnostic", "detail", 3, _S),
    ("tfplugin6.Diagnostic", "attribute", 4, _MSG),
    ("tfplugin6.AttributePath.Step", "attribute_name", 1, _S),
    ("tfplugin6.AttributePath.Step", "element_key_string", 2, _S),
    ("tfplugin6.AttributePath.Step", "element_key_int", 3, _I64),
    ("tfplugin6.StopProvider.Response", "Error", 1, _S),
    ("tfplugin6.RawState", "json", 1, _B),
    ("tfplugin6.RawState", "flatmap", 2, _MSG),
    ("tfplugin6.Schema", "version", 1, _I64),
    ("tfplugin6.Schema", "block", 2, _MSG),
    ("tfplugin6.Schema.Block", "description_kind", 5, _ENUM),
    ("tfplugin6.Schema.Block", "deprecated", 6, _BOOL),
    ("tfplugin6.Schema.Attribute", "type", 2, _B),
    ("tfplugin6.Schema.Attribute", "nested_type", 10, _MSG),
    ("tfplugin6.Schema.Attribute", "sensitive", 7, _BOOL),
    ("tfplugin6.Schema.Attribute", "deprecated", 9, _BOOL),
    ("tfplugin6.Schema.Attribute", "write_only", 11, _BOOL),
    ("tfplugin6.Schema.NestedBlock", "nesting", 3, _ENUM),
    ("tfplugin6.Schema.Object", "nesting", 3, _ENUM),
    ("tfplugin6.ServerCapabilities", "plan_destroy", 1, _BOOL),
    ("tfplugin6.ServerCapabilities", "get_provider_schema_optional", 2, _BOOL),
    ("tfplugin6.ServerCapabilities", "move_resource_state", 3, _BOOL),
    ("tfplugin6.ClientCapabilities", "deferral_allowed", 1, _BOOL),
    ("tfplugin6.Deferred", "reason", 1, _ENUM),
    ("tfplugin6.GetMetadata.Response", "server_capabilities", 1, _MSG),
    ("tfplugin6.GetMetadata.Response", "resources", 4, _MSG),
    ("tfplugin6.GetProviderSchema.Response", "provider", 1, _MSG),
    ("tfplugin6.GetProviderSchema.Response", "resource_schemas", 2, _MSG),
    ("tfplugin6.GetProviderSchema.Response", "data_source_schemas", 3, _MSG),
    ("tfplugin6.GetProviderSchema.Response", "diagnostics", 4, _MSG),
    ("tfplugin6.GetProviderSchema.Response", "provider_meta", 5, _MSG),
    ("tfplugin6.GetProviderSchema.Response", "server_capabilities", 6, _MSG),
    ("tfplugin6.ValidateProviderConfig.Response", "diagnostics", 2, _MSG),
    ("tfplugin6.ValidateResourceConfig.Request", "client_capabilities", 3, _MSG),
    ("tfplugin6.ConfigureProvider.Request", "terraform_version", 1, _S),
    ("tfplugin6.ConfigureProvider.Request", "client_capabilities", 3, _MSG),
    ("tfplugin6.UpgradeResourceState.Request", "version", 2, _I64),
    ("tfplugin6.UpgradeResourceState.Request", "raw_state", 3, _MSG),
    ("tfplugin6.UpgradeResourceState.Response", "upgraded_state", 1, _MSG),
    ("tfplugin6.ReadResource.Request", "private", 3, _B),
    ("tfplugin6.ReadResource.Request", "provider_meta", 4, _MSG),
    ("tfplugin6.ReadResource.Request", "client_capabilities", 5, _MSG),
    ("tfplugin6.ReadResource.Response", "private", 3, _B),
    ("tfplugin6.ReadResource.Response", "deferred", 4, _MSG),
    ("tfplugin6.PlanResourceChange.Request", "prior_state", 2, _MSG),
    ("tfplugin6.PlanResourceChange.Request", "proposed_new_state", 3, _MSG),
    ("tfplugin6.PlanResourceChange.Request", "config", 4, _MSG),
    ("tfplugin6.PlanResourceChange.Request", "prior_private", 5, _B),
    ("tfplugin6.PlanResourceChange.Request", "provider_meta", 6, _MSG),
    ("tfplugin6.PlanResourceChange.Request", "client_capabilities", 7, _MSG),
    ("tfplugin6.PlanResourceChange.Response", "planned_state", 1, _MSG),
    ("tfplugin6.PlanResourceChange.Response", "requires_replace", 2, _MSG),
    ("tfplugin6.PlanResourceChange.Response", "planned_private", 3, _B),
    ("tfplugin6.PlanResourceChange.Response", "diagnostics", 4, _MSG),
    ("tfplugin6.PlanResourceChange.Response", "deferred", 6, _MSG),
    ("tfplugin6.ApplyResourceChange.Request", "planned_state", 3, _MSG),
    ("tfplugin6.ApplyResourceChange.Request", "planned_private", 5, _B),
    ("tfplugin6.ApplyResourceChange.Request", "provider_meta", 6, _MSG),
    ("tfplugin6.ApplyResourceChange.Response", "new_state", 1, _MSG),
    ("tfplugin6.ApplyResourceChange.Response", "private", 2, _B),
    ("tfplugin6.ApplyResourceChange.Response", "diagnostics", 3, _MSG),
    ("tfplugin6.ImportResourceState.Request", "id", 2, _S),
    ("tfplugin6.ImportResourceState.Request", "client_capabilities", 3, _MSG),
    ("tfplugin6.ImportResourceState.ImportedResource", "private", 3, _B),
    ("tfplugin6.ImportResourceState.Response", "imported_resources", 1, _MSG),
    ("tfplugin6.ImportResourceState.Response", "deferred", 3, _MSG),
    ("tfplugin6.ReadDataSource.Request", "provider_meta", 3, _MSG),
    ("tfplugin6.ReadDataSource.Request", "client_capabilities", 4, _MSG),
    ("tfplugin6.ReadDataSource.Response", "state", 1, _MSG),
    ("tfplugin6.ReadDataSource.Response", "deferred", 3, _MSG),
    ("plugin.StdioData", "channel", 1, _ENUM),
    ("plugin.StdioData", "data", 2, _B),
    ("grpc.health.v1.HealthCheckRequest", "service", 1, _S),
    ("grpc.health.v1.HealthCheckResponse", "status", 1, _ENUM),
]


@pytest.mark.parametrize(("message", "field", "number", "field_type"), WIRE_FIELDS)
def test_wire_field_numbers(message: str, field: str, number: int, field_type: int) -> None:
    descriptor = descriptor_pool.Default().FindMessageTypeByName(message)
    assert descriptor.fields_by_name[field].number == number
    assert descriptor.fields_by_name[field].type == field_type


def test_fields_reserved_for_features_left_out() -> None:
    """Numbers the published protocol uses elsewhere must stay free of other meanings."""
    pool = descriptor_pool.Default()
    for message, numbers in [
        ("tfplugin6.GetProviderSchema.Response", {7, 8}),
        ("tfplugin6.GetMetadata.Response", {5, 6}),
        ("tfplugin6.PlanResourceChange.Response", {5}),
        ("tfplugin6.ApplyResourceChange.Response", {4}),
    ]:
        assert numbers.isdisjoint(pool.FindMessageTypeByName(message).fields_by_number)


@pytest.mark.parametrize(
    ("enum", "values"),
    [
        ("tfplugin6.Diagnostic.Severity", {"INVALID": 0, "ERROR": 1, "WARNING": 2}),
        ("tfplugin6.StringKind", {"PLAIN": 0, "MARKDOWN": 1}),
        (
            "tfplugin6.Schema.NestedBlock.NestingMode",
            {"INVALID": 0, "SINGLE": 1, "LIST": 2, "SET": 3, "MAP": 4, "GROUP": 5},
        ),
        (
            "tfplugin6.Schema.Object.NestingMode",
            {"INVALID": 0, "SINGLE": 1, "LIST": 2, "SET": 3, "MAP": 4},
        ),
        (
            "tfplugin6.Deferred.Reason",
            {
                "UNKNOWN": 0,
                "RESOURCE_CONFIG_UNKNOWN": 1,
                "PROVIDER_CONFIG_UNKNOWN": 2,
                "ABSENT_PREREQ": 3,
            },
        ),
        ("plugin.StdioData.Channel", {"INVALID": 0, "STDOUT": 1, "STDERR": 2}),
        (
            "grpc.health.v1.HealthCheckResponse.ServingStatus",
            {"UNKNOWN": 0, "SERVING": 1, "NOT_SERVING": 2, "SERVICE_UNKNOWN": 3},
        ),
    ],
)
def test_enum_values(enum: str, values: dict[str, int]) -> None:
    descriptor = descriptor_pool.Default().FindEnumTypeByName(enum)
    assert {value.name: value.number for value in descriptor.values} == values


def test_dynamic_value_wire_bytes() -> None:
    """Field 1 (msgpack) is bytes tag 0x0a; a decoder disagreeing on this reads nothing right."""
    encoded = tfplugin6_pb2.DynamicValue(msgpack=b"\xc0").SerializeToString()
    assert encoded == b"\x0a\x01\xc0"
    assert tfplugin6_pb2.DynamicValue.FromString(b"\x12\x02{}").json == b"{}"


class _SchemaOnlyProvider(tfplugin6_pb2_grpc.ProviderServicer):
    def GetProviderSchema(  # noqa: N802 (gRPC method name)
        self,
        request: tfplugin6_pb2.GetProviderSchema.Request,
        context: grpc.ServicerContext,
    ) -> tfplugin6_pb2.GetProviderSchema.Response:
        attribute = tfplugin6_pb2.Schema.Attribute(name="revision", type=b'"string"', required=True)
        resource = tfplugin6_pb2.Schema(
            version=1, block=tfplugin6_pb2.Schema.Block(attributes=[attribute])
        )
        return tfplugin6_pb2.GetProviderSchema.Response(
            provider=tfplugin6_pb2.Schema(block=tfplugin6_pb2.Schema.Block()),
            resource_schemas={"alembic_upgrade": resource},
            server_capabilities=tfplugin6_pb2.ServerCapabilities(plan_destroy=True),
        )


class _Controller(grpc_controller_pb2_grpc.GRPCControllerServicer):
    def __init__(self) -> None:
        self.shutdowns = 0

    def Shutdown(  # noqa: N802 (gRPC method name)
        self, request: grpc_controller_pb2.Empty, context: grpc.ServicerContext
    ) -> grpc_controller_pb2.Empty:
        self.shutdowns += 1
        return grpc_controller_pb2.Empty()


class _Stdio(grpc_stdio_pb2_grpc.GRPCStdioServicer):
    def StreamStdio(  # noqa: N802 (gRPC method name)
        self, request: empty_pb2.Empty, context: grpc.ServicerContext
    ) -> Iterator[grpc_stdio_pb2.StdioData]:
        yield grpc_stdio_pb2.StdioData(channel=grpc_stdio_pb2.StdioData.STDERR, data=b"hello\n")


class _Health(health_pb2_grpc.HealthServicer):
    def Check(  # noqa: N802 (gRPC method name)
        self, request: health_pb2.HealthCheckRequest, context: grpc.ServicerContext
    ) -> health_pb2.HealthCheckResponse:
        return health_pb2.HealthCheckResponse(status=health_pb2.HealthCheckResponse.SERVING)


# The generated *_pb2_grpc modules carry no type hints; these names give the calls below a
# signature.
_AddServicer = Callable[[Any, grpc.Server], None]
_add_provider: _AddServicer = tfplugin6_pb2_grpc.add_ProviderServicer_to_server
_add_controller: _AddServicer = grpc_controller_pb2_grpc.add_GRPCControllerServicer_to_server
_add_stdio: _AddServicer = grpc_stdio_pb2_grpc.add_GRPCStdioServicer_to_server
_add_health: _AddServicer = health_pb2_grpc.add_HealthServicer_to_server
_provider_stub: Callable[[grpc.Channel], Any] = tfplugin6_pb2_grpc.ProviderStub
_controller_stub: Callable[[grpc.Channel], Any] = grpc_controller_pb2_grpc.GRPCControllerStub
_stdio_stub: Callable[[grpc.Channel], Any] = grpc_stdio_pb2_grpc.GRPCStdioStub
_health_stub: Callable[[grpc.Channel], Any] = health_pb2_grpc.HealthStub


@pytest.fixture
def channel(tmp_path: Path) -> Iterator[tuple[grpc.Channel, _Controller]]:
    """Serve every generated service on a unix socket in ``tmp_path`` and connect to it."""
    address = f"unix:{tmp_path / 'plugin.sock'}"
    controller = _Controller()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    _add_provider(_SchemaOnlyProvider(), server)
    _add_controller(controller, server)
    _add_stdio(_Stdio(), server)
    _add_health(_Health(), server)
    assert server.add_insecure_port(address) != 0
    server.start()
    client = grpc.insecure_channel(address)
    try:
        yield client, controller
    finally:
        client.close()
        server.stop(grace=None).wait()


def test_get_provider_schema_over_unix_socket(channel: tuple[grpc.Channel, _Controller]) -> None:
    client, _ = channel
    stub = _provider_stub(client)
    response = stub.GetProviderSchema(tfplugin6_pb2.GetProviderSchema.Request(), timeout=10)
    schema = response.resource_schemas["alembic_upgrade"]
    assert schema.version == 1
    assert schema.block.attributes[0].name == "revision"
    assert schema.block.attributes[0].type == b'"string"'
    assert response.server_capabilities.plan_destroy
    assert not response.server_capabilities.get_provider_schema_optional
    assert response.HasField("provider")


def test_rpc_not_overridden_answers_unimplemented(
    channel: tuple[grpc.Channel, _Controller],
) -> None:
    """Terraform falls back from GetMetadata to GetProviderSchema only on UNIMPLEMENTED."""
    client, _ = channel
    stub = _provider_stub(client)
    with pytest.raises(grpc.RpcError) as caught:
        stub.GetMetadata(tfplugin6_pb2.GetMetadata.Request(), timeout=10)
    assert caught.value.code() == grpc.StatusCode.UNIMPLEMENTED


def test_side_services_over_unix_socket(channel: tuple[grpc.Channel, _Controller]) -> None:
    client, controller = channel
    _controller_stub(client).Shutdown(grpc_controller_pb2.Empty(), timeout=10)
    assert controller.shutdowns == 1
    chunks = list(_stdio_stub(client).StreamStdio(empty_pb2.Empty(), timeout=10))
    assert [(chunk.channel, chunk.data) for chunk in chunks] == [
        (grpc_stdio_pb2.StdioData.STDERR, b"hello\n")
    ]
    health = _health_stub(client).Check(health_pb2.HealthCheckRequest(service="plugin"), timeout=10)
    assert health.status == health_pb2.HealthCheckResponse.SERVING
