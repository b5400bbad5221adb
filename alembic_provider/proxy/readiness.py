"""Where a proxy says it is ready, and the one connection attempt that checks it.

``proxy_ready`` is either ``host:port`` (a TCP listener, IPv6 hosts in brackets) or a path to a
unix socket (anything containing ``/``). A probe connects once and hangs up at once; it never
sends a byte, never retries and never sleeps: ``statemachine.proxy`` decides when to probe
again.
"""

from __future__ import annotations

import contextlib
import socket
from dataclasses import dataclass

from alembic_provider.errors import ConfigError

__all__ = ["ReadyTarget", "TcpAddress", "UnixSocket", "parse_ready", "probe", "ready_validator"]

_EXAMPLES = "'127.0.0.1:5432', 'localhost:3306', '[::1]:5432' or '/cloudsql/app/.s.PGSQL.5432'"


@dataclass(frozen=True)
class TcpAddress:
    """A TCP listener; ``host`` may be a name, an IPv4 or an IPv6 address (no brackets)."""

    host: str
    port: int

    def __str__(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"


@dataclass(frozen=True)
class UnixSocket:
    """A unix domain socket file."""

    path: str

    def __str__(self) -> str:
        return self.path


ReadyTarget = TcpAddress | UnixSocket


def parse_ready(text: str) -> ReadyTarget:
    """Return the target ``text`` names.

    :raises ConfigError: when ``text`` is neither ``host:port`` nor a unix socket path.
    """
    if "/" in text:
        return UnixSocket(text)
    host, colon, port = text.rpartition(":")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    elif ":" in host:
        host = ""
    if colon and host and port.isascii() and port.isdigit() and 0 < int(port) < 65536:
        return TcpAddress(host, int(port))
    raise ConfigError(
        f"The readiness address '{text}' is neither 'host:port' nor a unix socket path; "
        f"use a form such as {_EXAMPLES}.",
        attribute=("proxy_ready",),
    )


def ready_validator(value: object) -> str | None:
    """Schema validator: the error message for a value that names no target, else ``None``."""
    try:
        parse_ready(value if isinstance(value, str) else repr(value))
    except ConfigError as err:
        return err.message
    return None


def probe(target: ReadyTarget, timeout: float) -> bool:
    """Connect to ``target`` once and hang up; True when something accepted the connection."""
    try:
        if isinstance(target, TcpAddress):
            connection = socket.create_connection((target.host, target.port), timeout=timeout)
        else:
            connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                connection.settimeout(timeout)
                connection.connect(target.path)
            except BaseException:
                connection.close()
                raise
    except OSError:
        return False
    with contextlib.suppress(OSError):
        connection.close()
    return True
