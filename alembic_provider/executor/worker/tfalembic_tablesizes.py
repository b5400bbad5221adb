"""Estimate the rows and bytes of existing tables from the database's own statistics.

One read-only query on the connection env.py opens (``dont_mutate``): PostgreSQL's
``pg_class`` (``reltuples``, ``pg_total_relation_size``), MySQL's and MariaDB's
``information_schema.tables``; SQLite's ``dbstat`` when the library has it (bytes only). A
table the statistics do not know is left out; a failed query is said, never raised. Part of
the worker: standard library at import time, Python 3.8 syntax, never imports the provider
package.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tfalembic_errors import error_text
from tfalembic_runtime import run_env

__all__ = ["table_sizes"]

_QUERIES = {
    "postgresql": (
        "SELECT c.relname, c.reltuples, pg_total_relation_size(c.oid) FROM pg_class c "
        "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind IN ('r', 'p') "
        "AND n.nspname = ANY(current_schemas(false)) AND c.relname IN :names"
    ),
    "mysql": (
        "SELECT table_name, table_rows, data_length + index_length "
        "FROM information_schema.tables WHERE table_schema = DATABASE() "
        "AND table_name IN :names"
    ),
    "sqlite": ("SELECT name, NULL, SUM(pgsize) FROM dbstat WHERE name IN :names GROUP BY name"),
}
_QUERIES["mariadb"] = _QUERIES["mysql"]


def table_sizes(config: Any, script: Any, tag: str | None, tables: Sequence[str]) -> dict[str, Any]:
    """Return ``{"tables": {name: {"rows", "bytes"}}, "error": text or None}``.

    ``rows`` is None when the statistics have no estimate (PostgreSQL before the first
    ``ANALYZE``, SQLite).
    """
    answer: dict[str, Any] = {"tables": {}, "error": None}
    names = sorted({t for t in tables if t})
    if not names:
        return answer

    def fn(heads: Sequence[str], context: Any) -> list[Any]:
        query = _QUERIES.get(context.dialect.name)
        if query is None or context.connection is None:
            return []
        from sqlalchemy import bindparam, text

        statement = text(query).bindparams(bindparam("names", expanding=True))
        try:
            rows = context.connection.execute(statement, {"names": names}).fetchall()
        except Exception as exc:  # statistics are a courtesy, never a failure
            answer["error"] = error_text(exc)
            return []
        for name, estimate, size in rows:
            rows_known = estimate is not None and float(estimate) >= 0
            answer["tables"][str(name)] = {
                "rows": int(float(estimate)) if rows_known else None,
                "bytes": None if size is None else int(size),
            }
        return []

    try:
        run_env(config, script, fn, dont_mutate=True, tag=tag)
    except Exception as exc:  # said in the review, the plan goes on
        answer["error"] = error_text(exc)
    return answer
