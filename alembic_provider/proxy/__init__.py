"""Proxy processes (``proxy_command``) shared by the resource operations that need them.

``spec.py`` says what identifies a proxy, ``readiness.py`` how its readiness is checked,
``process.py`` starts and watches processes (through ``_supervisor.py``, which kills the
proxy's group when the provider disappears), and ``manager.py`` shares them by refcount and
keeps each one briefly after its last user left, driven by ``statemachine.proxy``;
``_messages.py`` words its failures. Never imports alembic.
"""

from __future__ import annotations

from alembic_provider.proxy.manager import (
    DEFAULT_GRACE_PERIOD,
    DEFAULT_LINGER,
    ProxyHandle,
    ProxyManager,
)
from alembic_provider.proxy.process import (
    ProxyLauncher,
    ProxyProcess,
    SpawnError,
    SupervisedLauncher,
)
from alembic_provider.proxy.readiness import (
    ReadyTarget,
    TcpAddress,
    UnixSocket,
    parse_ready,
    ready_validator,
)
from alembic_provider.proxy.spec import (
    DEFAULT_SLEEP,
    DEFAULT_TIMEOUT,
    ProxySpec,
    check_executable,
    command_validator,
    spec_from_config,
)

__all__ = [
    "DEFAULT_GRACE_PERIOD",
    "DEFAULT_LINGER",
    "DEFAULT_SLEEP",
    "DEFAULT_TIMEOUT",
    "ProxyHandle",
    "ProxyLauncher",
    "ProxyManager",
    "ProxyProcess",
    "ProxySpec",
    "ReadyTarget",
    "SpawnError",
    "SupervisedLauncher",
    "TcpAddress",
    "UnixSocket",
    "check_executable",
    "command_validator",
    "parse_ready",
    "ready_validator",
    "spec_from_config",
]
