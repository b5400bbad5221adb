"""Record what each pending revision's ``upgrade()`` would do, without touching the database.

Each revision's ``upgrade()`` runs with Alembic's ``op`` proxy installed on an offline
``MigrationContext`` of the database's dialect, whose ``invoke`` records instead of executing:
every ``op.*`` call arrives there as Alembic's public operation object, which is recorded (its
table, column, type, options and the line of the revision file that called it), so no SQL is
emitted or run. A migration using what an operation returns (``op.create_table``'s table) gets
None. A revision taking longer than two seconds is stopped and read from its source.
``op.get_context()`` answers like Alembic's, except that ``autocommit_block()`` only marks the
operations inside it. A revision that asks for ``op.get_bind()`` (it reads data) or fails under
recording is read from its source instead, and its review says it is partial and why.

Public Alembic API only. Part of the worker: standard library at import time, Python 3.8
syntax, never imports the provider package.
"""

from __future__ import annotations

import ast
import contextlib
import re
import signal
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from tfalembic_errors import error_text
from tfalembic_files import identity, recent

__all__ = ["describe_operation", "remembered", "review_steps", "sql_tables", "waiver_lines"]

if TYPE_CHECKING:
    Record = dict[str, Any]


#: How long one ``upgrade()`` may run under recording; one that waits on something (a file,
#: a sleep) is read from its source instead of holding up the plan.
_SECONDS_PER_REVISION = 2.0


class _NeedsDataError(Exception):
    """``upgrade()`` asked for a connection: it reads data, so recording cannot follow it."""


class _TooSlowError(Exception):
    def __str__(self) -> str:
        return f"it ran longer than {_SECONDS_PER_REVISION:g} seconds"


@contextlib.contextmanager
def _time_bound(seconds: float) -> Iterator[None]:
    """Interrupt the block after ``seconds`` (main thread only; elsewhere it is unbounded)."""
    if threading.current_thread() is not threading.main_thread() or not hasattr(
        signal, "setitimer"
    ):
        yield
        return

    def expire(signum: int, frame: Any) -> None:
        raise _TooSlowError()

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


#: Reviews this process made, by dialect and revision file (its path, size, times and inode).
#: A fresh worker has none; one that stays for its Terraform command's next request
#: (``tfalembic_linger``) answers the second plan of ``terraform apply`` from here instead of
#: running every pending ``upgrade()`` again. An edited file has other times: it is reviewed
#: afresh; one changed moments ago is not remembered (``tfalembic_files``).
_MADE: dict[tuple[str | None, str, tuple[int, ...]], Record] = {}


def remembered() -> int:
    """How many reviews this process could answer again without running a migration."""
    return len(_MADE)


def review_steps(steps: Sequence[Any], dialect: str | None) -> list[Record]:
    """Return one review per upgrade step, in order: its revision and recorded operations."""
    from alembic.runtime.migration import MigrationContext

    context = MigrationContext.configure(
        dialect_name=dialect or "sqlite", opts={"as_sql": True, "output_buffer": _Discard()}
    )
    return [_remembered_review(step.revision, context, dialect) for step in steps]


def _remembered_review(script: Any, context: Any, dialect: str | None) -> Record:
    path = getattr(script, "path", None) or ""
    seen = identity(path)
    if seen is None:
        return _review(script, context)
    key = (dialect, path, seen)
    made = _MADE.get(key)
    if made is None:
        made = _review(script, context)
        if not recent(seen, time.time_ns()):
            _MADE[key] = made
    return made


class _Discard:
    """An output buffer that keeps nothing: nothing is rendered, but Alembic wants one."""

    def write(self, text: str) -> None:
        return None

    def flush(self) -> None:
        return None


def _review(script: Any, context: Any) -> Record:
    path = getattr(script, "path", None) or ""
    review: Record = {
        "revision": script.revision,
        "message": (script.doc or "").strip().splitlines()[0] if script.doc else "",
        "path": path,
        "operations": [],
        "partial": None,
    }
    records: list[Record] = []
    failure: BaseException | None = None
    try:
        module = script.module
    except Exception as exc:  # a module that does not load is read as source
        failure = exc
    else:
        # Caught inside the block, so Alembic's proxy is removed whatever upgrade() does.
        with _recording(context, path, records):
            try:
                with _time_bound(_SECONDS_PER_REVISION):
                    module.upgrade()
            except BaseException as exc:
                failure = exc
    if isinstance(failure, (KeyboardInterrupt, SystemExit)):
        raise failure
    if isinstance(failure, _NeedsDataError):
        review["partial"] = (
            "upgrade() reads the database through op.get_bind(), so its operations were read "
            "from the source of the revision file and data-dependent ones may be missing"
        )
    elif failure is not None:
        review["partial"] = (
            f"upgrade() could not be followed without a database ({error_text(failure)}), so "
            "its operations were read from the source of the revision file"
        )
    review["operations"] = records if review["partial"] is None else _from_source(path)
    review["waivers"] = waiver_lines(path)
    return review


@contextlib.contextmanager
def _recording(context: Any, path: str, records: list[Record]) -> Iterator[None]:
    """Install Alembic's ``op`` proxy on ``context``, answering every operation by recording it.

    ``Operations.context()`` installs the proxy the way ``env.py`` runs do; the instance's own
    ``invoke``, ``get_bind``, ``get_context`` and ``batch_alter_table`` then replace the
    class's for that instance alone, so nothing process-wide changes.
    """
    from alembic.operations import BatchOperations, Operations

    state = {"autocommit": False}

    class _Context:
        """Alembic's context, with an ``autocommit_block`` that only marks what is inside."""

        def __getattr__(self, name: str) -> Any:
            return getattr(context, name)

        @contextlib.contextmanager
        def autocommit_block(self) -> Iterator[None]:
            state["autocommit"] = True
            try:
                yield
            finally:
                state["autocommit"] = False

    wrapped = _Context()

    def record(operation: Any) -> None:
        entry = describe_operation(operation)
        entry["autocommit"] = state["autocommit"]
        entry["line"] = _caller_line(path)
        records.append(entry)

    def needs_data() -> Any:
        raise _NeedsDataError()

    class _Batch:
        """What ``batch_alter_table`` hands its block: the table's name, as Alembic's does."""

        def __init__(self, table_name: str, schema: str | None) -> None:
            self.table_name = table_name
            self.schema = schema

    def hook(operations: Any) -> Any:
        operations.invoke = record
        operations.get_bind = needs_data
        operations.get_context = lambda: wrapped
        return operations

    @contextlib.contextmanager
    def batch_alter_table(
        table_name: str, schema: str | None = None, *args: Any, **kw: Any
    ) -> Iterator[Any]:
        names: Any = _Batch(table_name, schema)  # the batch operations read only the names
        yield hook(BatchOperations(context, impl=names))

    with Operations.context(context) as operations:
        hook(operations).batch_alter_table = batch_alter_table
        yield


def _caller_line(path: str) -> int | None:
    frame = sys._getframe(2)
    while frame is not None:
        if path and frame.f_code.co_filename == path:
            return frame.f_lineno
        frame = frame.f_back  # type: ignore[assignment]
    return None


def describe_operation(operation: Any) -> Record:
    """Describe one Alembic operation object as plain data: what it does and to what."""
    name = type(operation).__name__
    bare = name[:-2] if name.endswith("Op") else name
    entry: Record = {"op": _OP_NAMES.get(name) or _snake(bare)}

    def get(attr: str) -> Any:
        return getattr(operation, attr, None)

    entry["schema"] = get("schema")
    entry["table"] = get("table_name") or get("source_table")
    kw = get("kw") or {}
    if name == "AddColumnOp":
        column = operation.column
        entry.update(
            column=column.name,
            nullable=bool(column.nullable),
            server_default=_default_text(column.server_default),
            type=_type(column.type),
        )
    elif name == "DropColumnOp":
        entry["column"] = operation.column_name
    elif name == "AlterColumnOp":
        entry.update(
            column=operation.column_name,
            nullable=operation.modify_nullable,
            type=_type(operation.modify_type),
            existing_type=_type(operation.existing_type),
            existing_nullable=operation.existing_nullable,
            new_name=operation.modify_name,
        )
        if operation.modify_server_default is not False:
            entry["server_default"] = _default_text(operation.modify_server_default)
    elif name in ("CreateIndexOp", "DropIndexOp"):
        entry["name"] = get("index_name")
        entry["unique"] = bool(get("unique"))
        entry["concurrently"] = bool(kw.get("postgresql_concurrently"))
    elif name == "RenameTableOp":
        entry["new_name"] = operation.new_table_name
    elif name in (
        "CreateForeignKeyOp",
        "CreateCheckConstraintOp",
        "CreateUniqueConstraintOp",
        "CreatePrimaryKeyOp",
        "DropConstraintOp",
    ):
        entry["name"] = get("constraint_name")
        entry["not_valid"] = bool(kw.get("postgresql_not_valid"))
        entry["constraint"] = get("constraint_type")
    elif name == "ExecuteSQLOp":
        entry["sql"] = _sql_text(operation.sqltext)
    elif name == "BulkInsertOp":
        entry["table"] = getattr(operation.table, "name", None)
    return entry


def _snake(name: str) -> str:
    return "".join("_" + c.lower() if c.isupper() else c for c in name).lstrip("_")


def _type(value: Any) -> Record | None:
    if value is None:
        return None
    if isinstance(value, type):
        value = value()
    return {
        "name": type(value).__name__.lower(),
        "length": getattr(value, "length", None),
        "precision": getattr(value, "precision", None),
        "scale": getattr(value, "scale", None),
    }


def _default_text(default: Any) -> str | None:
    if default is None:
        return None
    arg = getattr(default, "arg", default)
    text = getattr(arg, "text", None)
    return str(text if text is not None else arg)


def _sql_text(sqltext: Any) -> str:
    text = getattr(sqltext, "text", None)
    if isinstance(text, str):
        return text
    try:
        return str(sqltext)
    except Exception:  # a construct that cannot be shown is still raw SQL
        return type(sqltext).__name__


#: ``op.*`` calls the source reading understands: which positional arguments name what.
_SOURCE_ARGS: dict[str, tuple[str, ...]] = {
    "add_column": ("table",),
    "drop_column": ("table", "column"),
    "alter_column": ("table", "column"),
    "create_index": ("name", "table"),
    "drop_index": ("name",),
    "create_table": ("table",),
    "drop_table": ("table",),
    "rename_table": ("table", "new_name"),
    "create_foreign_key": ("name", "table"),
    "create_check_constraint": ("name", "table"),
    "create_unique_constraint": ("name", "table"),
    "create_primary_key": ("name", "table"),
    "drop_constraint": ("name", "table"),
    "execute": ("sql",),
    "bulk_insert": (),
}


def _from_source(path: str) -> list[Record]:
    """Read the ``op.*`` calls of ``upgrade()`` from the file, with literal arguments only."""
    try:
        with open(path, encoding="utf-8") as handle:
            tree = ast.parse(handle.read(), path)
    except (OSError, SyntaxError, ValueError):
        return []
    upgrade = next(
        (n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "upgrade"), None
    )
    if upgrade is None:
        return []
    batches = _batch_names(upgrade)
    records: list[Record] = []
    for node in ast.walk(upgrade):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        owner, name = node.func.value, node.func.attr
        if name not in _SOURCE_ARGS or not isinstance(owner, ast.Name):
            continue
        if owner.id != "op" and owner.id not in batches:
            continue
        entry: Record = {"op": name, "line": node.lineno, "source": True}
        fields = _SOURCE_ARGS[name]
        if owner.id in batches:
            entry["table"] = batches[owner.id]
            fields = tuple(f for f in fields if f != "table")
        for index, arg in enumerate(node.args[: len(fields)]):
            if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                entry[fields[index]] = arg.value
        for keyword in node.keywords:
            field = _SOURCE_KEYWORDS.get(keyword.arg or "")
            if field and isinstance(keyword.value, ast.Constant):
                entry[field] = keyword.value.value
        if name == "execute" and "sql" not in entry:
            entry["sql"] = None
        records.append(entry)
    records.sort(key=lambda r: r["line"])
    return records


#: Operation names that the class name does not spell.
_OP_NAMES = {"ExecuteSQLOp": "execute"}
#: Keyword arguments the source reading understands, and the field each fills.
_SOURCE_KEYWORDS = {
    "table_name": "table",
    "column_name": "column",
    "new_column_name": "new_name",
    "sqltext": "sql",
    "postgresql_concurrently": "concurrently",
    "postgresql_not_valid": "not_valid",
    "nullable": "nullable",
}


def _batch_names(function: ast.FunctionDef) -> dict[str, str]:
    """Map each ``with op.batch_alter_table("t") as name`` alias to its table."""
    names: dict[str, str] = {}
    for node in ast.walk(function):
        if not isinstance(node, ast.With):
            continue
        for item in node.items:
            call, alias = item.context_expr, item.optional_vars
            if (
                isinstance(call, ast.Call)
                and isinstance(call.func, ast.Attribute)
                and call.func.attr == "batch_alter_table"
                and isinstance(alias, ast.Name)
                and call.args
                and isinstance(call.args[0], ast.Constant)
            ):
                names[alias.id] = str(call.args[0].value)
    return names


#: A name after a word that introduces a table in SQL: loose on purpose, since a name that is
#: no table is simply not found by the size query.
_SQL_TABLE = re.compile(
    r"\b(?:table|truncate|from|into|update|on|join)\s+(?:if\s+(?:not\s+)?exists\s+)?(?:only\s+)?"
    r"([\w.\"`]+)",
    re.IGNORECASE,
)


#: A table the SQL itself creates: it has no size yet.
_SQL_CREATED = re.compile(
    r"\bcreate\s+(?:(?:global\s+|local\s+)?temp(?:orary)?\s+)?table\s+"
    r"(?:if\s+not\s+exists\s+)?([\w.\"`]+)",
    re.IGNORECASE,
)


def _unqualified(name: str) -> str:
    return name.rsplit(".", maxsplit=1)[-1].strip('"`')


def sql_tables(sql: str | None) -> list[str]:
    """The existing tables raw SQL may touch, unquoted and without schema, to read their size.

    A table the same SQL creates is left out: there is nothing to size, and asking would cost
    a plan a read of the database for nothing.
    """
    created = {_unqualified(match.group(1)) for match in _SQL_CREATED.finditer(sql or "")}
    names = []
    for match in _SQL_TABLE.finditer(sql or ""):
        name = _unqualified(match.group(1))
        if name and name not in names and name not in created:
            names.append(name)
    return names


def waiver_lines(path: str) -> list[list[Any]]:
    """The lines of the revision file that carry an ``alembic-review:`` comment, numbered."""
    try:
        with open(path, encoding="utf-8") as handle:
            lines = handle.read().splitlines()
    except (OSError, UnicodeDecodeError):
        return []
    return [[n, line] for n, line in enumerate(lines, 1) if "alembic-review:" in line]
