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

from alembic_provider.plugin import server
from alembic_provider.plugin.servicer import register
from alembic_provider.provider import new_provider
from alembic_provider.rendezvous import processes

__all__ = ["serve_debug", "serve_managed"]


def serve_managed(
    watch: Callable[[threading.Event], None] | None = None, terraform: int | None = None
) -> int:
    """Serve the Terraform that started this process (or handed its session over).

    :param watch: tells when Terraform is gone (default: the parent process exits).
    :param terraform: the Terraform process's pid (default: the parent process); it names the
        command this session serves, whose operations may share a worker.
    """
    processes.serve_command(processes.identity(terraform or os.getppid()))
    try:
        server.check_handshake_environment(os.environ)
    except server.HandshakeError as exc:
        sys.stderr.write(f"{exc}\n")
        return 1
    provider = new_provider()
    return server.serve(
        register(provider),
        environ=os.environ,
        stdout=sys.stdout,
        on_exit=provider.close,
        watch=watch,
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
