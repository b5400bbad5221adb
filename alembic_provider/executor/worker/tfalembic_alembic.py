"""Every private Alembic name the worker relies on, each behind one function that says why.

The rest of the worker speaks Alembic's public API only. What is here has no public
equivalent: planning a stamp without running it, replaying a revision map in the order its
files loaded, Alembic's own head bookkeeping without SQL, and whether env.py began a
transaction before Alembic did. An Alembic release that renames one of these breaks this
module alone, and ``tests/executor/test_alembic_adapter.py`` exercises every function on each
supported release (1.7.7 with SQLAlchemy 1.4, and the current one).

Part of the worker (see ``__main__.py``): standard library only at import time, Python 3.8
syntax, never imports the provider package.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

__all__ = [
    "began_before_alembic",
    "heads_after_steps",
    "read_sequence_owners_at_once",
    "revisions_in_load_order",
    "stamp_steps",
]

# Every sequence a column owns (SERIAL, or OWNED BY), named as PostgreSQL writes it in the
# column's default (``nextval('name'::regclass)``), with the owning column.
_OWNED_SEQUENCES = (
    "select c.oid::regclass::text, a.attname from pg_class c "
    "join pg_depend d on d.objid = c.oid and d.classid = 'pg_class'::regclass "
    "and d.refclassid = 'pg_class'::regclass "
    "join pg_attribute a on a.attrelid = d.refobjid and a.attnum = d.refobjsubid "
    "where c.relkind = 'S'"
)
_NEXTVAL = re.compile(r"nextval\('(.+?)'::regclass\)")


def stamp_steps(script: Any, revision: str | tuple[str, ...], heads: Sequence[str]) -> list[Any]:
    """Return the steps ``alembic stamp`` takes from ``heads`` to ``revision``, running none.

    Private: ``ScriptDirectory._stamp_revs`` (since Alembic 0.7, when branches arrived). It
    decides which current heads each target revision replaces and which branches it leaves
    alone; ``command.stamp`` calls it inside its ``fn``, and no public call returns those steps.
    The worker needs them as steps so that its own ``fn`` runs them under env.py's transaction
    and the migration lock.
    """
    return list(script._stamp_revs(revision, tuple(heads)))


def heads_after_steps(current: Sequence[str], steps: Iterable[Any]) -> list[str]:
    """Return the heads the version table holds once ``steps`` ran from ``current``, sorted.

    Private: the ``_insert_version``, ``_delete_version`` and ``_update_version`` hooks of
    ``alembic.runtime.migration.HeadMaintainer`` (since Alembic 0.7). ``update_to_step`` is
    Alembic's own rule for branches, merges and ``depends_on``; replacing the three hooks that
    write the version table lets a plan follow it exactly without a database.
    """
    from alembic.runtime.migration import HeadMaintainer

    class _Bookkeeping(HeadMaintainer):
        def _insert_version(self, version: str) -> None:
            self.heads.add(version)

        def _delete_version(self, version: str) -> None:
            self.heads.discard(version)

        def _update_version(self, from_: str, to_: str) -> None:
            self.heads.discard(from_)
            self.heads.add(to_)

    maintainer = _Bookkeeping(None, list(current))  # type: ignore[arg-type]  # no SQL is run
    for step in steps:
        maintainer.update_to_step(step)
    return sorted(maintainer.heads)


def revisions_in_load_order(script: Any) -> list[Any]:
    """Return every revision of ``script``'s map once, in the order its files were loaded.

    Private: ``RevisionMap._revision_map`` (since Alembic 0.7), the dict the public map is
    built from. The public walks sort the graph, but the order revisions are fed to a
    ``RevisionMap`` decides the order of independent branches' steps: a map rebuilt from the
    script graph cache must be fed in load order, or a cached plan and an uncached apply
    would list the same migrations in different orders.
    """
    revisions: dict[str, Any] = {}
    # The dict also maps branch labels (and None) to revisions: keep each revision once.
    for revision in script.revision_map._revision_map.values():
        if revision is not None:
            revisions.setdefault(revision.revision, revision)
    return list(revisions.values())


def began_before_alembic(context: Any) -> bool:
    """Tell whether env.py's connection was already in a transaction when it configured Alembic.

    Private: ``MigrationContext._in_external_transaction``, present in 1.7.7, the oldest
    release the worker supports (an older one without it reads as False). Alembic records it
    in ``configure()`` and then commits nothing itself; by the time ``fn`` runs, Alembic's own
    transaction has begun, so asking the connection then cannot tell the two apart.
    """
    return bool(getattr(context, "_in_external_transaction", False))


def read_sequence_owners_at_once(context: Any) -> None:
    """Let a comparison learn in one query which sequences integer columns own (PostgreSQL).

    Private: ``autogen_column_reflect`` of ``context.impl``, the hook autogenerate attaches to
    every reflected column. Alembic's PostgreSQL hook leaves out the default of a SERIAL column
    (an integer column whose default is the sequence it owns) and asks the catalog once per
    such column: a query per table of a typical schema, a third of a comparison's time. The
    hook is replaced on this context's impl alone by one that reads every owned sequence in a
    single query and decides the same way, and that leaves any sequence the query did not
    list to Alembic's own hook.
    """
    if context.dialect.name != "postgresql":
        return
    from sqlalchemy import text
    from sqlalchemy.types import BIGINT, INTEGER

    alembic_hook = context.impl.autogen_column_reflect
    owners: dict[str, str] = {}
    read: list[bool] = []

    def hook(inspector: Any, table: Any, column_info: dict[str, Any]) -> None:
        default = column_info.get("default")
        found = _NEXTVAL.match(default) if isinstance(default, str) else None
        if found is None or not isinstance(column_info["type"], (INTEGER, BIGINT)):
            alembic_hook(inspector, table, column_info)
            return
        if not read:
            owners.update(context.connection.execute(text(_OWNED_SEQUENCES)).fetchall())
            read.append(True)
        owner = owners.get(found.group(1))
        if owner is None:
            alembic_hook(inspector, table, column_info)
        elif owner == column_info["name"]:
            del column_info["default"]

    context.impl.autogen_column_reflect = hook
