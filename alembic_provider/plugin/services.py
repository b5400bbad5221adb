"""go-plugin's side services: controller (Shutdown), stdio and health.

Terraform calls ``GRPCController.Shutdown`` when it is done with a provider process and kills it
two seconds later, so Shutdown only signals the serving loop, which exits at once. The stdio
stream stays open and quiet (the provider never writes to stdout after the handshake); health
answers SERVING for the ``plugin`` service.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

from alembic_provider.plugin.proto import (
    grpc_controller_pb2,
    grpc_controller_pb2_grpc,
    grpc_stdio_pb2_grpc,
    health_pb2,
    health_pb2_grpc,
)

__all__ = ["ControllerService", "HealthService", "StdioService", "add_side_services"]

_HEALTHY = ("", "plugin")


class ControllerService(grpc_controller_pb2_grpc.GRPCControllerServicer):
    def __init__(self, shutdown: threading.Event) -> None:
        self._shutdown = shutdown

    def Shutdown(self, request: Any, context: Any) -> Any:  # noqa: N802 (gRPC method name)
        self._shutdown.set()
        return grpc_controller_pb2.Empty()


class StdioService(grpc_stdio_pb2_grpc.GRPCStdioServicer):
    def __init__(self, shutdown: threading.Event) -> None:
        self._shutdown = shutdown

    def StreamStdio(self, request: Any, context: Any) -> Iterator[Any]:  # noqa: N802
        while context.is_active() and not self._shutdown.wait(0.5):
            pass
        yield from ()


class HealthService(health_pb2_grpc.HealthServicer):
    def __init__(self, shutdown: threading.Event) -> None:
        self._shutdown = shutdown

    def _status(self, service: str) -> Any:
        status = health_pb2.HealthCheckResponse
        return status.SERVING if service in _HEALTHY else status.SERVICE_UNKNOWN

    def Check(self, request: Any, context: Any) -> Any:  # noqa: N802
        return health_pb2.HealthCheckResponse(status=self._status(request.service))

    def Watch(self, request: Any, context: Any) -> Iterator[Any]:  # noqa: N802
        yield health_pb2.HealthCheckResponse(status=self._status(request.service))
        while context.is_active() and not self._shutdown.wait(0.5):
            pass


def add_side_services(server: Any, shutdown: threading.Event) -> None:
    grpc_controller_pb2_grpc.add_GRPCControllerServicer_to_server(
        ControllerService(shutdown), server
    )
    grpc_stdio_pb2_grpc.add_GRPCStdioServicer_to_server(StdioService(shutdown), server)
    health_pb2_grpc.add_HealthServicer_to_server(HealthService(shutdown), server)
