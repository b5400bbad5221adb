"""Serve one Terraform session: build the provider and run the plugin server until it is done.

Used by the command line (a provider Terraform started directly, or ``--debug``) and by each
session the warm server forks. Importing this module imports the whole provider (gRPC, the
protocol buffers, every resource): the command line imports it only once it knows it serves,
and the warm server imports it before its first session, so that a forked session imports
nothing.
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Callable
from typing import NamedTuple

from alembic_provider.plugin import server
from alembic_provider.plugin.servicer import ProviderService, register
from alembic_provider.provider import Provider, new_provider
from alembic_provider.rendezvous import processes

__all__ = ["Ahead", "prepare_ahead", "serve_debug", "serve_managed"]


class Ahead(NamedTuple):
    """A session's gRPC server started before its session came, its service awaiting a provider."""

    service: ProviderService
    prepared: server.Prepared


def prepare_ahead() -> Ahead:
    """Start the gRPC server of a session still to come: the part that needs nothing of it.

    Its socket, certificate and threads are ready; the provider, which reads the session's
    environment, is made when the session comes (:func:`serve_managed`).
    """
    service = ProviderService()
    return Ahead(service, server.prepare(register(service), secure=True))


def serve_managed(
    watch: Callable[[threading.Event], None] | None = None,
    terraform: int | None = None,
    ahead: Ahead | None = None,
) -> int:
    """Serve the Terraform that started this process (or handed its session over).

    :param watch: tells when Terraform is gone (default: the parent process exits).
    :param terraform: the Terraform process's pid (default: the parent process); it names the
        command this session serves, whose operations may share a worker.
    :param ahead: the server :func:`prepare_ahead` started for this session, if any.
    """
    processes.serve_command(processes.identity(terraform or os.getppid()))
    try:
        server.check_handshake_environment(os.environ)
    except server.HandshakeError as exc:
        sys.stderr.write(f"{exc}\n")
        if ahead is not None:
            ahead.prepared.discard()
        return 1
    service = ProviderService() if ahead is None else ahead.service
    made: list[Provider] = []

    def make() -> None:
        # After the handshake line: Terraform connects meanwhile, and its first call waits.
        try:
            made.append(new_provider())
        except BaseException as exc:
            service.missing(exc)
            raise
        service.provider = made[0]

    def close() -> None:
        for provider in made:
            provider.close()

    return server.serve(
        register(service),
        environ=os.environ,
        stdout=sys.stdout,
        on_exit=close,
        watch=watch,
        prepared=None if ahead is None else ahead.prepared,
        after_handshake=make,
    )


def serve_debug(source: str) -> int:
    """Serve without Terraform, printing the ``TF_REATTACH_PROVIDERS`` value for ``source``."""
    provider = new_provider()
    return server.serve_debug(
        register(provider),
        source=source,
        stdout=sys.stdout,
        on_exit=provider.close,
    )
