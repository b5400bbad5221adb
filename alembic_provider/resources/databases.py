"""What the resources planned so far will do to each database: one story per database per plan.

Terraform plans a resource only after the resources it depends on, all in one provider process
per walk, and each plan reads the database as it is now. An ``alembic_upgrade`` that depends on
an ``alembic_stamp`` of the same database must instead start where the stamp will leave it, or
the final plan (made after the stamp ran) disagrees with the first one. This registry keeps,
per resource, the move its plan decided (database fingerprint, heads before, heads after); a
later plan hands the other resources' moves to the worker, which follows those that start
where the database is (see ``Inspection.start``). A move that already happened (the final plan
of a dependent resource runs after its dependency applied) no longer starts where the database
is and is ignored.

"Same database" means the same fingerprint, which the worker derives from the connection
env.py really opened (backend, host, port, database name, version table schema and name; no
user or password). Where it cannot be told, nothing is recorded; resources on databases that
cannot be reached yet are tracked apart, so a second one plans its values as unknown instead of
assuming an order.

A resource is named by its type and a hash of its configuration: the protocol gives no address.

The registry also keeps what each refresh of this walk read (:meth:`PlannedDatabases.keep_read`),
for the plan Terraform makes of the same resource right after: nothing writes to a database
between a refresh and a plan of one walk. When the plan asks what the refresh already answered
(same target, no other resource's move starts where the database is) it uses that answer;
otherwise it starts from the facts the refresh read, without running env.py again. A reading
serves one plan, and every reading is dropped when something writes.

Holds no secret (only hashes) and never does I/O.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import threading
from typing import Any

from alembic_provider.executor import Inspection, PlannedMove, Project

__all__ = ["PlannedDatabases", "Reading", "owner_of", "reading_of"]


def owner_of(kind: str, config: dict[str, Any]) -> str:
    """Name one resource by its kind and configuration (hashed: it may hold secrets)."""
    text = json.dumps(config, sort_keys=True, default=repr, separators=(",", ":"))
    return kind + ":" + hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclasses.dataclass(frozen=True)
class Reading:
    """What one refresh asked (its target) and what the worker answered."""

    target: str
    inspection: Inspection

    def answers(
        self, target: str, recorded: tuple[str, ...], moves: tuple[PlannedMove, ...]
    ) -> bool:
        """Whether a plan of ``target`` from ``recorded`` heads would get the same answer.

        It does when the refresh resolved the same target, the resource's state holds the heads
        the refresh read, and no other resource's planned move starts where the database is.
        """
        current = self.inspection.current
        database = self.inspection.database
        return (
            target == self.target
            and tuple(sorted(recorded)) == current
            and not any(m.database == database and m.start == current for m in moves)
        )


def reading_of(project: Project) -> str:
    """Name what one resource reads: everything env.py sees (hashed: it holds secrets)."""
    fields = dataclasses.asdict(project)
    text = json.dumps(fields, sort_keys=True, default=repr, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class PlannedDatabases:
    """The moves planned in this provider process, by resource; safe across RPC threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._moves: dict[str, PlannedMove] = {}
        self._unreachable: set[str] = set()
        self._reads: dict[str, Reading] = {}

    def clear(self) -> None:
        """Forget every planned move and read: a new walk begins."""
        with self._lock:
            self._moves.clear()
            self._unreachable.clear()
            self._reads.clear()

    def keep_read(self, reading: str, read: Reading) -> None:
        """Keep what a refresh read, for the plan of the same resource (see :func:`reading_of`)."""
        with self._lock:
            self._reads[reading] = read

    def take_read(self, reading: str) -> Reading | None:
        """Hand over, once, what a refresh of this walk read for ``reading``; None if nothing."""
        with self._lock:
            return self._reads.pop(reading, None)

    def forget_reads(self) -> None:
        """Something writes to a database: what the refreshes read may no longer hold."""
        with self._lock:
            self._reads.clear()

    def others(self, owner: str | None = None) -> tuple[PlannedMove, ...]:
        """Return the moves every other resource planned (all of them for ``None``)."""
        with self._lock:
            return tuple(move for key, move in self._moves.items() if key != owner)

    def explains(
        self, database: str | None, before: tuple[str, ...], now: tuple[str, ...], owner: str
    ) -> bool:
        """Whether other resources' planned moves take ``database`` from ``before`` to ``now``.

        The final plan of a resource runs after the resources it depends on applied, so the
        database has left the heads a refresh recorded, as planned.
        """
        if database is None or before == now:
            return False
        heads = before
        moves = [m for m in self.others(owner) if m.database == database]
        while True:
            move = next((m for m in moves if m.start == heads), None)
            if move is None:
                return False
            moves.remove(move)
            heads = move.end
            if heads == now:
                return True

    def record(self, owner: str, move: PlannedMove | None) -> None:
        """Keep the move ``owner``'s latest plan decided; ``None`` when it writes nothing."""
        with self._lock:
            self._unreachable.discard(owner)
            if move is None or move.start == move.end:
                self._moves.pop(owner, None)
            else:
                self._moves[owner] = move

    def record_unreachable(self, owner: str) -> bool:
        """Note that ``owner`` planned against a database it could not reach.

        :returns: whether another resource already did, in which case the order in which they
            will act on what may be one database is unknown.
        """
        with self._lock:
            others = bool(self._unreachable - {owner})
            self._unreachable.add(owner)
            self._moves.pop(owner, None)
            return others
