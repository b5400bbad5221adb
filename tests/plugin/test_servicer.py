"""The servicer's table: every RPC forwarded, its answer encoded, every failure a diagnostic."""

from __future__ import annotations

import io
from typing import Any

import pytest

from alembic_provider.cty import decode_msgpack, encode_msgpack
from alembic_provider.data_sources.current import CurrentDataSource
from alembic_provider.data_sources.revisions import RevisionsDataSource
from alembic_provider.log import Logger
from alembic_provider.plugin.proto import tfplugin6_pb2 as pb
from alembic_provider.plugin.proto import tfplugin6_pb2_grpc as pb_grpc
from alembic_provider.plugin.servicer import ProviderService
from alembic_provider.provider import Provider
from alembic_provider.provider_config import PROVIDER_SCHEMA
from alembic_provider.redaction import Redactor
from alembic_provider.resources.upgrade import UpgradeResource
from tests.fakes import FakeExecutor

REVISIONS = RevisionsDataSource().schema().cty_type()


def _service() -> ProviderService:
    provider = Provider(
        PROVIDER_SCHEMA,
        resources=(UpgradeResource(),),
        data_sources=(RevisionsDataSource(), CurrentDataSource()),
        log=Logger(level="error", stream=io.StringIO()),
        redactor=Redactor(),
        executor=FakeExecutor(),
    )
    return ProviderService(provider)


def _rpcs() -> list[str]:
    return sorted(n for n in vars(pb_grpc.ProviderServicer) if n[:1].isupper())


@pytest.mark.parametrize("rpc", _rpcs())
def test_every_rpc_of_the_service_is_forwarded(rpc: str) -> None:
    handler = getattr(ProviderService, rpc)
    assert handler is not getattr(pb_grpc.ProviderServicer, rpc)
    assert handler.__name__ == rpc


def test_metadata_and_schemas_name_every_type() -> None:
    service = _service()
    metadata = service.GetMetadata(pb.GetMetadata.Request(), None)
    assert [r.type_name for r in metadata.resources] == ["alembic_upgrade"]
    assert [d.type_name for d in metadata.data_sources] == ["alembic_revisions", "alembic_current"]
    assert metadata.server_capabilities.plan_destroy
    schemas = service.GetProviderSchema(pb.GetProviderSchema.Request(), None)
    assert sorted(schemas.resource_schemas) == ["alembic_upgrade"]
    assert sorted(schemas.data_source_schemas) == ["alembic_current", "alembic_revisions"]
    assert schemas.provider.block.attributes
    assert list(schemas.diagnostics) == []


def test_a_data_source_read_is_decoded_and_encoded_with_its_schema() -> None:
    service = _service()
    config = dict.fromkeys(REVISIONS[1])
    response = service.ReadDataSource(
        pb.ReadDataSource.Request(
            type_name="alembic_revisions",
            config=pb.DynamicValue(msgpack=encode_msgpack(config, REVISIONS)),
        ),
        None,
    )
    assert list(response.diagnostics) == []
    state = decode_msgpack(response.state.msgpack, REVISIONS)
    assert state["heads"] == ["c3"]
    assert state["bases"] == ["a1"]
    assert state["id"].endswith(":alembic.ini")


def test_a_failure_while_encoding_is_a_diagnostic_with_secrets_hidden() -> None:
    service = _service()
    service.provider.redactor.add("s3cret-token")

    def broken(*_: Any) -> Any:
        return {"heads": "s3cret-token"}, service.provider.begin().diagnostics

    service.provider.read_data_source = broken  # type: ignore[method-assign,assignment]
    response = service.ReadDataSource(
        pb.ReadDataSource.Request(
            type_name="alembic_revisions",
            config=pb.DynamicValue(msgpack=encode_msgpack(dict.fromkeys(REVISIONS[1]), REVISIONS)),
        ),
        None,
    )
    (diagnostic,) = response.diagnostics
    assert diagnostic.summary == "Unexpected Provider Error"
    assert "ReadDataSource failed unexpectedly" in diagnostic.detail
    assert "please report it" in diagnostic.detail
    assert "s3cret-token" not in diagnostic.detail
    assert not response.HasField("state")


def test_a_stop_cancels_and_a_failed_stop_answers_its_error_text() -> None:
    service = _service()
    cancel = service.provider.cancel
    assert service.StopProvider(pb.StopProvider.Request(), None).Error == ""
    assert cancel.is_set()

    def broken() -> None:
        raise RuntimeError("cannot stop")

    service.provider.stop = broken  # type: ignore[method-assign]
    error = service.StopProvider(pb.StopProvider.Request(), None).Error
    assert error.startswith("Unexpected Provider Error: StopProvider failed unexpectedly: cannot")


def test_the_current_data_source_reports_heads_and_pending_steps() -> None:
    current = CurrentDataSource().schema().cty_type()
    config = dict.fromkeys(current[1]) | {"target": "b2"}
    response = _service().ReadDataSource(
        pb.ReadDataSource.Request(
            type_name="alembic_current",
            config=pb.DynamicValue(msgpack=encode_msgpack(config, current)),
        ),
        None,
    )
    assert list(response.diagnostics) == []
    state = decode_msgpack(response.state.msgpack, current)
    assert (state["revision"], state["direction"], state["id"]) == ("", "upgrade", "->b2")
    assert [p["revision"] for p in state["pending"]] == ["a1", "b2"]
    assert state["target"] == "b2", "configured values come back as they were"
