"""The contract every managed resource type and data source implements.

Modelled on the plugin framework's small core interface: a type name, a schema and one method per
Terraform verb, in the order every resource module follows (``validate``, ``plan``, ``apply``,
``read``, ``import_state``, ``upgrade_state``). Values are plain dicts of decoded cty values
(``None`` for null, :class:`~alembic_provider.cty.Unknown` for unknown). Hooks raise
:mod:`alembic_provider.errors` exceptions for failures; dispatch turns them into diagnostics.
Never imports alembic.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from alembic_provider.diagnostics import Diagnostics
from alembic_provider.framework.results import Applied, Planned, Values
from alembic_provider.framework.routing import Routed
from alembic_provider.log import Logger
from alembic_provider.resources.databases import PlannedDatabases

if TYPE_CHECKING:
    from alembic_provider.executor import Executor
    from alembic_provider.schema import Schema

__all__ = [
    "Applied",
    "Context",
    "DataSource",
    "NoProxies",
    "Planned",
    "ProxySessions",
    "Resource",
    "Values",
]


class ProxySessions(Protocol):
    """Runs database work behind the proxy a resource configures, if it configures one."""

    def use_for(
        self, values: Values, cancel: threading.Event
    ) -> contextlib.AbstractContextManager[threading.Event]:
        """Hold the proxy for ``values`` while the block runs; yield the event that cancels it."""
        ...

    def close(self) -> None:
        """Stop every proxy; the provider is exiting."""
        ...


class NoProxies:
    """For providers and tests without proxy support: work runs directly."""

    @contextlib.contextmanager
    def use_for(self, values: Values, cancel: threading.Event) -> Iterator[threading.Event]:
        yield cancel

    def close(self) -> None:
        return None


@dataclass
class Context:
    """What a hook may use besides its arguments: provider settings, diagnostics, effects."""

    provider_config: Values
    diagnostics: Diagnostics
    log: Logger
    executor: Executor
    cancel: threading.Event = field(default_factory=threading.Event)
    proxies: ProxySessions = field(default_factory=NoProxies)
    #: The moves other resources planned in this process, shared by every RPC.
    databases: PlannedDatabases = field(default_factory=PlannedDatabases)


class Resource(Routed[Context], Protocol):
    """A managed resource type: its schema and one hook per change, routed by the framework."""

    TYPE_NAME: str
    SCHEMA_VERSION: int

    def schema(self) -> Schema: ...

    def validate(self, ctx: Context, config: Values) -> None: ...

    def read(self, ctx: Context, state: Values, private: bytes) -> Applied: ...

    def import_state(self, ctx: Context, import_id: str) -> Applied: ...

    def upgrade_state(self, ctx: Context, version: int, raw: dict[str, Any]) -> Values: ...


class DataSource(Protocol):
    TYPE_NAME: str

    def schema(self) -> Schema: ...

    def validate(self, ctx: Context, config: Values) -> None: ...

    def read(self, ctx: Context, config: Values) -> Values: ...
