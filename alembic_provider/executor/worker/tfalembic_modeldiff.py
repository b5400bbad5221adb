"""Compare env.py's ``target_metadata`` with the live schema, the way autogenerate does.

env.py runs online with ``dont_mutate`` and an ``fn`` that hands the context env.py configured
(its ``target_metadata``, ``compare_type``, ``compare_server_default``, ``include_object`` ...)
to Alembic's public ``compare_metadata``, then leaves env.py by raising, so the transaction
env.py began is rolled back: no migration runs, no version table is created, and the
comparison only reads the catalog. An env.py that calls ``run_migrations()`` for several
databases is compared on the first. Each difference is worded here,
where the SQLAlchemy objects are. Part of the worker: standard library at import time, Python
3.8 syntax, never imports the provider package.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, NoReturn

from tfalembic_alembic import read_sequence_owners_at_once
from tfalembic_runtime import env_failure, run_env

if TYPE_CHECKING:
    Record = dict[str, Any]

__all__ = ["compare_on", "model_diff", "word_difference"]


class _Compared(BaseException):
    """Raised out of ``fn`` once compared, so env.py's transaction is rolled back, not committed.

    A ``BaseException``, so an env.py that catches ``Exception`` around its migrations lets it
    through.
    """


def model_diff(config: Any, script: Any, tag: str | None) -> Record:
    """Return ``{"metadata": bool, "differences": [...], "server_defaults": bool}``.

    ``metadata`` is false when env.py configured no ``target_metadata`` (nothing to compare).
    """
    answers: list[Record] = []

    def fn(heads: Sequence[str], context: Any) -> NoReturn:
        answers.append(compare_on(context))
        raise _Compared()

    try:
        run_env(config, script, fn, dont_mutate=True, tag=tag)
    except _Compared:
        pass
    except BaseException as exc:
        raise env_failure(exc, config=config) from exc
    if not answers:
        return {"metadata": False, "differences": [], "server_defaults": False}
    return answers[0]


def compare_on(context: Any) -> Record:
    """Compare the ``target_metadata`` env.py gave ``context`` with its connection's schema.

    The answer :func:`model_diff` returns; reads the catalog only.
    """
    from alembic.autogenerate import compare_metadata

    metadata = context.opts.get("target_metadata")
    answer: Record = {"metadata": metadata is not None, "differences": [], "server_defaults": False}
    if metadata is None:
        return answer
    answer["server_defaults"] = bool(context.opts.get("compare_server_default"))
    read_sequence_owners_at_once(context)
    for diff in compare_metadata(context, metadata):
        for one in diff if isinstance(diff, list) else [diff]:
            answer["differences"].append(word_difference(one, context.dialect))
    return answer


def _qualified(schema: str | None, name: Any) -> str:
    return f"{schema}.{name}" if schema else str(name)


def _type_text(value: Any, dialect: Any) -> str:
    if value is None:
        return "no type"
    try:
        return str(value.compile(dialect=dialect))
    except Exception:
        return repr(value)


def _default_text(value: Any) -> str:
    if value is None:
        return "no server default"
    arg = getattr(value, "arg", value)
    text = getattr(arg, "text", arg)
    return f"server default {text if isinstance(text, str) else str(text)!r}"


def _where(holder: str) -> str:
    return "only in the models" if holder == "add" else "only in the database"


def word_difference(diff: Any, dialect: Any) -> Record:
    """One difference from ``compare_metadata`` as ``{kind, table, column, text}``."""
    kind = str(diff[0])
    action, _, what = kind.partition("_")
    record: Record = {"kind": kind, "table": None, "column": None, "text": ""}
    if what == "table" and action in ("add", "remove"):
        table = diff[1]
        record["table"] = _qualified(table.schema, table.name)
        record["text"] = f"table '{record['table']}' is {_where(action)}"
    elif what == "column" and action in ("add", "remove"):
        _, schema, table, column = diff[:4]
        record["table"], record["column"] = _qualified(schema, table), column.name
        record["text"] = (
            f"column '{column.name}' of table '{record['table']}' "
            f"({_type_text(column.type, dialect)}) is {_where(action)}"
        )
    elif action in ("add", "remove") and what in ("index", "constraint", "fk"):
        item = diff[1]
        table = getattr(item, "table", None)
        name = getattr(item, "name", None)
        label = {"index": "index", "fk": "foreign key", "constraint": "constraint"}[what]
        columns = [str(c.name) for c in getattr(item, "columns", ())]
        if table is not None:
            record["table"] = _qualified(getattr(table, "schema", None), table.name)
        named = f" '{name}'" if name else ""
        on = f" ({', '.join(columns)})" if columns else ""
        record["text"] = f"{label}{named} on table '{record['table']}'{on} is {_where(action)}"
    elif action == "modify" and len(diff) >= 7:
        _, schema, table, column, _kw, existing, new = diff[:7]
        record["table"], record["column"] = _qualified(schema, table), column
        subject = f"column '{column}' of table '{record['table']}'"
        if what == "type":
            before, after = _type_text(existing, dialect), _type_text(new, dialect)
        elif what == "nullable":
            before = "nullable" if existing else "NOT NULL"
            after = "nullable" if new else "NOT NULL"
        elif what == "default":
            before, after = _default_text(existing), _default_text(new)
        else:
            before, after = repr(existing), repr(new)
            subject = f"the {what} of {subject}"
        record["text"] = f"{subject} is {before} in the database and {after} in the models"
    else:
        record["text"] = f"{kind.replace('_', ' ')}: {' '.join(str(p) for p in diff[1:])}"
    return record
