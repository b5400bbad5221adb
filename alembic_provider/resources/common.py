"""Pieces every resource and data source shares: the project they act on and value helpers.

A resource's effective settings are the provider block's, overridden by its own attributes.
When any of them is still unknown at plan time there is no project to look at yet, and the
caller plans unknown computed values instead of touching the database.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from alembic_provider.cty import Unknown, contains_unknown
from alembic_provider.executor import Project
from alembic_provider.proxy import ProxyManager, spec_from_config
from alembic_provider.resources.base import Values
from alembic_provider.schema import Block, empty_object

__all__ = [
    "ManagedProxies",
    "heads_text",
    "project_for",
    "upgrade_state_values",
]

_DEFAULT_CONFIG = "alembic.ini"
_DEFAULT_SECTION = "alembic"


def heads_text(heads: Iterable[str]) -> str:
    """Join heads into the single ``revision`` string the Go provider stored."""
    return ",".join(sorted(heads))


def _first(*values: Any) -> Any:
    for value in values:
        if value is not None:
            return value
    return None


def project_for(provider: Values, resource: Values) -> Project | None:
    """Return the project a resource acts on, or None while an input is still unknown."""
    names = (
        "project_root",
        "config",
        "section",
        "alembic",
        "python",
        "url",
        "extra",
        "environment",
    )
    relevant = [provider.get(n) for n in names] + [
        resource.get(n) for n in ("alembic", "python", "url", "extra", "environment", "tag")
    ]
    if any(isinstance(v, Unknown) or contains_unknown(v) for v in relevant):
        return None
    extra: dict[str, str] = {**(provider.get("extra") or {}), **(resource.get("extra") or {})}
    environment: Mapping[str, str] = {
        **(provider.get("environment") or {}),
        **(resource.get("environment") or {}),
    }
    root = provider.get("project_root") or "."
    return Project(
        project_root=os.path.abspath(root),
        config=provider.get("config") or _DEFAULT_CONFIG,
        section=provider.get("section") or _DEFAULT_SECTION,
        python=tuple(_first(resource.get("python"), provider.get("python")) or ()),
        alembic=tuple(_first(resource.get("alembic"), provider.get("alembic")) or ()),
        extra=extra,
        tag=resource.get("tag"),
        url=_first(resource.get("url"), provider.get("url")),
        environment=dict(environment),
    )


def upgrade_state_values(block: Block, raw: Mapping[str, Any]) -> Values:
    """Turn stored JSON of any earlier schema into a complete object of ``block``.

    Attributes that no longer exist are dropped, new ones start null or at their default, map
    values become strings, and the Go provider's default proxy sleep (which it stored even
    without a proxy) is dropped, since an unset ``proxy_sleep`` means the same.
    """
    state = empty_object(block)
    for name in state:
        if name in raw:
            state[name] = raw[name]
    for attribute in block.attributes:
        if attribute.default is not None and state.get(attribute.name) is None:
            state[attribute.name] = attribute.default
        value = state.get(attribute.name)
        if attribute.type == ["map", "string"] and isinstance(value, dict):
            state[attribute.name] = {str(k): str(v) for k, v in value.items()}
    if "proxy_sleep" in state and (not state.get("proxy_command") or _is_five_seconds(state)):
        state["proxy_sleep"] = None
    return state


def _is_five_seconds(state: Values) -> bool:
    from alembic_provider.durations import parse_duration
    from alembic_provider.errors import ConfigError

    try:
        return parse_duration(str(state.get("proxy_sleep") or "")) == 5.0
    except ConfigError:
        return False


class ManagedProxies:
    """Run a resource's database work behind the proxy its ``proxy_*`` attributes describe.

    The proxy gets the provider's environment only: the resource's ``environment`` holds
    database secrets the proxy has no use for.
    """

    def __init__(self, manager: ProxyManager) -> None:
        self.manager = manager

    @contextmanager
    def use_for(self, values: Values, cancel: threading.Event) -> Iterator[threading.Event]:
        with self.manager.use(spec_from_config(values), cancel) as handle:
            yield handle.cancel

    def close(self) -> None:
        self.manager.close(timeout=0)
