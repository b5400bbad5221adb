"""What keeps configurations and states of the Go provider (and of earlier versions) working.

The Go provider stored no private state and replaced a configured ``head`` with the revision id
it resolved. Such a state is taken as present at the revision it recorded, and plans echo the
stored id (no diff, no re-stamp) while the configured symbol is what gets resolved. Never imports
alembic.
"""

from __future__ import annotations

import json
from typing import Any

from alembic_provider.resources.base import Values
from statemachine.resource import Kind, ResourceLifecycle, ResourceSnapshot, State

__all__ = ["decode_private", "echoed_target", "encode_private", "heads_of", "restore"]

_SYMBOLS = ("head", "heads")
#: The private-state key of the lifecycle snapshot.
_LIFECYCLE = "lifecycle"


def decode_private(raw: bytes) -> ResourceSnapshot | None:
    """Return the snapshot kept in private state; None when there is none (Go state).

    Private state written before the lifecycle flags moved into the snapshot kept them beside
    it; they are read from there too.
    """
    if not raw:
        return None
    try:
        data = json.loads(raw)
        lifecycle: dict[str, Any] = dict(data[_LIFECYCLE])
        for old, new in (("refreshed", "from_refresh"), ("unread", "unread")):
            if old in data and new not in lifecycle:
                lifecycle[new] = data[old]
        if "configured_target" in data and "configured_target" not in lifecycle:
            lifecycle["configured_target"] = data["configured_target"]
        return ResourceSnapshot.from_json(json.dumps(lifecycle))
    except (ValueError, KeyError, TypeError):
        return None


def encode_private(life: ResourceLifecycle) -> bytes:
    """Return the private state that restores ``life`` in the next RPC."""
    data = {_LIFECYCLE: json.loads(life.snapshot().to_json())}
    return json.dumps(data, separators=(",", ":"), sort_keys=True).encode()


def restore(
    kind: Kind, prior: Values | None, snapshot: ResourceSnapshot | None
) -> ResourceLifecycle:
    """Rebuild the lifecycle from private state, or from the stored values alone.

    A state without a snapshot of this kind (written by the Go provider) is taken as present at
    the revision it recorded; no state at all is a resource still to create.
    """
    if snapshot is not None and snapshot.kind == kind:
        return ResourceLifecycle.restore(snapshot)
    if prior is None:
        return ResourceLifecycle(kind)
    return ResourceLifecycle(kind, State.PRESENT, heads=heads_of(prior))


def echoed_target(
    prior: Values | None, config_target: Any, snapshot: ResourceSnapshot | None
) -> str | None:
    """Return the stored target to keep when it only stands in for the configured one."""
    if prior is None or not isinstance(config_target, str) or config_target not in _SYMBOLS:
        return None
    stored = prior.get("target")
    if not isinstance(stored, str) or stored in _SYMBOLS or stored == config_target:
        return None
    if snapshot is None or snapshot.configured_target == config_target:
        return stored
    return None


def heads_of(values: Values) -> tuple[str, ...]:
    """The heads a stored object records: ``revisions``, or the Go provider's ``revision``."""
    revisions = values.get("revisions")
    if isinstance(revisions, list) and all(isinstance(r, str) for r in revisions):
        return tuple(revisions)
    revision = values.get("revision")
    if isinstance(revision, str) and revision:
        return tuple(r for r in revision.replace(" ", ",").split(",") if r)
    return ()
