"""Control calls never wait behind work, and a stop only cancels the work already running.

A real gRPC server on a unix socket serves a provider whose one data source blocks until the
operation is cancelled (the way a long migration waits for its worker). Many such reads are
started at once, more than any fixed thread pool of the old server held; StopProvider, health and
Shutdown must still be answered. The reads are released only by the stop, so a control call
that queued behind them would never be answered and the call's deadline would fail the test.
"""

from __future__ import annotations

import contextlib
import io
import threading
from collections.abc import Iterator
from concurrent import futures
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.protobuf import empty_pb2

from alembic_provider import errors
from alembic_provider.cty import encode_msgpack
from alembic_provider.log import Logger
from alembic_provider.plugin.proto import (
    grpc_controller_pb2,
    grpc_controller_pb2_grpc,
    grpc_stdio_pb2_grpc,
    health_pb2,
    health_pb2_grpc,
    tfplugin6_pb2,
    tfplugin6_pb2_grpc,
)
from alembic_provider.plugin.server import build_server
from alembic_provider.plugin.servicer import register
from alembic_provider.provider import Provider
from alembic_provider.provider_config import PROVIDER_SCHEMA
from alembic_provider.redaction import Redactor
from alembic_provider.resources.base import Context, Values
from alembic_provider.schema import Attribute, Block, Schema
from tests.fakes import FakeExecutor

# Far more than the 16 threads the server once had; Terraform's -parallelism can be anything.
CONCURRENT = 40
# Generous bounds for a loaded machine; a queued control call never returns at all.
ANSWER = 30.0

_SCHEMA = Schema(
    Block(
        description="Blocks until cancelled.",
        attributes=(Attribute("name", "string", "A name.", optional=True),),
    )
)


class BlockingSource:
    """Waits for the operation's cancel event, like a migration waiting on its worker."""

    TYPE_NAME = "alembic_blocking"

    def __init__(self) -> None:
        self.started = threading.Semaphore(0)
        self.released = threading.Event()

    def schema(self) -> Schema:
        return _SCHEMA

    def validate(self, ctx: Context, config: Values) -> None:
        return None

    def read(self, ctx: Context, config: Values) -> Values:
        if ctx.cancel.is_set():
            raise errors.MigrationError("cancelled before it started", kind="cancelled")
        self.started.release()
        while not ctx.cancel.wait(0.05):
            if self.released.is_set():
                raise errors.MigrationError("released by the test", kind="timeout")
        raise errors.MigrationError("cancelled while running", kind="cancelled")


class Served:
    def __init__(self, tmp_path: Path) -> None:
        self.source = BlockingSource()
        self.provider = Provider(
            PROVIDER_SCHEMA,
            resources=(),
            data_sources=(self.source,),
            log=Logger(level="error", stream=io.StringIO()),
            redactor=Redactor(),
            executor=FakeExecutor(),
        )
        self.server, self.shutdown = build_server(register(self.provider))
        self.address = f"unix:{tmp_path / 'plugin.sock'}"
        self.server.add_insecure_port(self.address)
        self.server.start()
        self.channel = grpc.insecure_channel(self.address)
        self.stub = tfplugin6_pb2_grpc.ProviderStub(self.channel)

    def read(self) -> Any:
        ty = _SCHEMA.cty_type()
        request = tfplugin6_pb2.ReadDataSource.Request(
            type_name=BlockingSource.TYPE_NAME,
            config=tfplugin6_pb2.DynamicValue(msgpack=encode_msgpack({"name": "x"}, ty)),
        )
        return self.stub.ReadDataSource(request, timeout=ANSWER * 4)

    def close(self) -> None:
        self.provider.stop()
        self.channel.close()
        self.server.stop(grace=None)


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    served = Served(tmp_path)
    yield served
    served.close()


@contextlib.contextmanager
def _released(served: Served) -> Iterator[None]:
    """Cancel whatever still blocks when the block ends, so a failure does not hang the test."""
    try:
        yield
    finally:
        served.source.released.set()


def _details(response: Any) -> str:
    return " ".join(d.detail for d in response.diagnostics)


def test_control_is_answered_while_every_operation_is_busy(served: Served) -> None:
    # Terraform holds the stdio stream open for the whole session.
    stdio = grpc_stdio_pb2_grpc.GRPCStdioStub(served.channel).StreamStdio(empty_pb2.Empty())
    with futures.ThreadPoolExecutor(CONCURRENT) as pool, _released(served):
        reads = [pool.submit(served.read) for _ in range(CONCURRENT)]
        for _ in range(CONCURRENT):
            assert served.source.started.acquire(timeout=ANSWER), "a read never started"
        health = health_pb2_grpc.HealthStub(served.channel).Check(
            health_pb2.HealthCheckRequest(service="plugin"), timeout=ANSWER
        )
        assert health.status == health_pb2.HealthCheckResponse.SERVING
        served.stub.StopProvider(tfplugin6_pb2.StopProvider.Request(), timeout=ANSWER)
        for read in reads:
            assert "cancelled while running" in _details(read.result(timeout=ANSWER))
    grpc_controller_pb2_grpc.GRPCControllerStub(served.channel).Shutdown(
        grpc_controller_pb2.Empty(), timeout=ANSWER
    )
    assert served.shutdown.is_set()
    stdio.cancel()


def test_a_stop_does_not_cancel_the_next_operation(served: Served) -> None:
    with futures.ThreadPoolExecutor(1) as pool, _released(served):
        first = pool.submit(served.read)
        assert served.source.started.acquire(timeout=ANSWER)
        served.stub.StopProvider(tfplugin6_pb2.StopProvider.Request(), timeout=ANSWER)
        assert "cancelled while running" in _details(first.result(timeout=ANSWER))
        second = pool.submit(served.read)
        # The next operation starts, rather than being refused as cancelled before it started.
        assert served.source.started.acquire(timeout=ANSWER)
        served.stub.StopProvider(tfplugin6_pb2.StopProvider.Request(), timeout=ANSWER)
        assert "cancelled while running" in _details(second.result(timeout=ANSWER))
