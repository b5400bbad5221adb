"""What keeps configurations and states of the Go provider (and of earlier versions) working.

The Go provider stored no private state and replaced a configured ``head`` with the revision id
it resolved. Such a state is taken as present at the revision it recorded, and plans echo the
stored id (no diff, no re-stamp) while the configured symbol is what gets resolved. Never imports
alembic.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from alembic_provider.framework.private import PrivateKey, PrivateState, flag, text
from alembic_provider.resources.base import Values
from statemachine.resource import Kind, ResourceLifecycle, ResourceSnapshot, State

__all__ = ["decode_private", "echoed_target", "encode_private", "heads_of", "restore"]

_SYMBOLS = ("head", "heads")


def _snapshot(value: Any) -> ResourceSnapshot:
    return ResourceSnapshot.from_json(json.dumps(value))


#: The lifecycle snapshot: everything the machine keeps between RPCs.
LIFECYCLE: PrivateKey[ResourceSnapshot | None] = PrivateKey(
    "lifecycle",
    None,
    lambda snapshot: None if snapshot is None else json.loads(snapshot.to_json()),
    _snapshot,
)
#: Flags that private state kept beside the snapshot before they moved into it.
_EARLIER_FLAGS: tuple[tuple[PrivateKey[Any], str], ...] = (
    (flag("refreshed"), "from_refresh"),
    (flag("unread"), "unread"),
    (text("configured_target"), "configured_target"),
)


def decode_private(raw: bytes) -> ResourceSnapshot | None:
    """Return the snapshot kept in private state; None when there is none (Go state)."""
    private = PrivateState.decode(raw)
    snapshot = private.get(LIFECYCLE)
    if snapshot is None:
        return None
    earlier = {name: private.get(key) for key, name in _EARLIER_FLAGS if key in private}
    return dataclasses.replace(snapshot, **earlier) if earlier else snapshot


def encode_private(life: ResourceLifecycle) -> bytes:
    """Return the private state that restores ``life`` in the next RPC."""
    private = PrivateState()
    private.set(LIFECYCLE, life.snapshot())
    return private.encode()


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
