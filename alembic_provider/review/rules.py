"""The review's rules: recorded operations and the dialect in, findings with stable codes out.

Every code is listed once in :data:`CODES` with its category, what it flags, why it is risky
and the safer way; ``docs/guides/review.md`` lists the same codes. A table created by an
earlier pending revision is new: what only hurts an existing table (locks, required columns)
is not flagged on it. Pure; never imports alembic.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from alembic_provider.review.model import (
    Category,
    ColumnType,
    Finding,
    Operation,
    Review,
    RevisionOperations,
    TableSize,
)

__all__ = ["CODES", "Code", "findings_of"]

_POSTGRES = ("postgresql",)
_MYSQL = ("mysql", "mariadb")
#: SQLite has no schemas to drop (an attached database is detached, not dropped).
_SCHEMAS = (*_POSTGRES, *_MYSQL)


@dataclass(frozen=True)
class Code:
    """One kind of finding.

    :param what: what the operation does, with ``{table}``, ``{column}``, ``{name}`` filled in
        (``{on_table}``: `` on table 'name'`` when the table is known, else nothing).
    :param dialects: the dialects it applies to; empty for all.
    """

    code: str
    category: Category
    what: str
    why: str
    safer: str
    dialects: tuple[str, ...] = ()


CODES: dict[str, Code] = {
    c.code: c
    for c in (
        Code(
            "drop-table",
            "destructive",
            "drops table {table}",
            "every row of the table is lost, and code still reading it fails",
            "stop using the table in a release first, keep a backup, then drop it in a later "
            "migration",
        ),
        Code(
            "drop-column",
            "destructive",
            "drops column {column} of table {table}",
            "the column's data is lost, and running code that still selects or writes it fails",
            "stop reading and writing the column in a release first, then drop it in a later "
            "migration",
        ),
        Code(
            "drop-schema",
            "destructive",
            "drops schema {name}",
            "every table in the schema and its data is lost",
            "move or back up what the schema holds and drop it by hand once it is empty",
            _SCHEMAS,
        ),
        Code(
            "truncate",
            "destructive",
            "empties table {table}",
            "every row of the table is deleted",
            "delete the rows you mean to, in batches, or keep a copy first",
        ),
        Code(
            "rename-table",
            "breaking",
            "renames table {table} to {name}",
            "running code that uses the old name fails from the moment the migration commits",
            "create the new table (or a view under the new name), move readers and writers over, "
            "then drop the old one",
        ),
        Code(
            "rename-column",
            "breaking",
            "renames column {column} of table {table} to {name}",
            "running code that uses the old name fails from the moment the migration commits",
            "add the new column, write both, backfill, move readers, then drop the old column",
        ),
        Code(
            "add-required-column",
            "breaking",
            "adds NOT NULL column {column} without a server default to table {table}",
            "the statement fails on a table that has rows, and inserts from running code that "
            "does not set the column fail",
            "add the column nullable or with a server_default, backfill, then make it NOT NULL",
        ),
        Code(
            "narrow-type",
            "breaking",
            "narrows the type of column {column} of table {table}",
            "values that do not fit the narrower type make the migration fail or are cut",
            "check that every value fits first, or add a new column of the new type and backfill",
        ),
        Code(
            "index-without-concurrently",
            "locking",
            "creates index {name} on table {table} without CONCURRENTLY",
            "PostgreSQL blocks every write to the table while it builds the index",
            "create it with postgresql_concurrently=True inside "
            "op.get_context().autocommit_block()",
            _POSTGRES,
        ),
        Code(
            "drop-index-without-concurrently",
            "locking",
            "drops index {name} without CONCURRENTLY",
            "PostgreSQL takes an ACCESS EXCLUSIVE lock on the table, blocking reads and writes",
            "drop it with postgresql_concurrently=True inside op.get_context().autocommit_block()",
            _POSTGRES,
        ),
        Code(
            "concurrently-in-transaction",
            "locking",
            "uses CONCURRENTLY on table {table} inside the migration's transaction",
            "PostgreSQL refuses CREATE/DROP INDEX CONCURRENTLY in a transaction block, so the "
            "migration fails",
            "run the operation inside op.get_context().autocommit_block()",
            _POSTGRES,
        ),
        Code(
            "foreign-key-validates",
            "locking",
            "adds foreign key {name} to table {table} and validates it at once",
            "PostgreSQL scans the table while blocking writes to it and to the referenced table",
            "add it with postgresql_not_valid=True, then VALIDATE CONSTRAINT in a later migration",
            _POSTGRES,
        ),
        Code(
            "check-validates",
            "locking",
            "adds check constraint {name} to table {table} and validates it at once",
            "PostgreSQL scans the whole table while blocking writes to it",
            "add it with postgresql_not_valid=True, then VALIDATE CONSTRAINT in a later migration",
            _POSTGRES,
        ),
        Code(
            "set-not-null",
            "locking",
            "sets column {column} of table {table} NOT NULL",
            "PostgreSQL scans the whole table under an ACCESS EXCLUSIVE lock",
            "add a CHECK (column IS NOT NULL) NOT VALID constraint, validate it, then set NOT "
            "NULL (PostgreSQL 12+ then skips the scan)",
            _POSTGRES,
        ),
        Code(
            "type-rewrite",
            "locking",
            "changes the type of column {column} of table {table}",
            "PostgreSQL rewrites the table and its indexes under an ACCESS EXCLUSIVE lock",
            "add a new column of the new type, backfill in batches, then switch over",
            _POSTGRES,
        ),
        Code(
            "volatile-default",
            "locking",
            "adds column {column} to table {table} with a volatile default",
            "PostgreSQL rewrites the whole table under an ACCESS EXCLUSIVE lock to fill it",
            "add the column without a default (or with a constant one), then backfill in batches",
            _POSTGRES,
        ),
        Code(
            "table-copy",
            "locking",
            "changes column {column} of table {table} in a way that copies the table",
            "MySQL and MariaDB rebuild the table with ALGORITHM=COPY, blocking writes meanwhile",
            "use an online schema change tool (pt-online-schema-change, gh-ost), or run it in a "
            "quiet window",
            _MYSQL,
        ),
        Code(
            "raw-sql",
            "opaque",
            "runs SQL the review cannot analyse{on_table}",
            "what it does to which table is unknown to the review",
            "express it with Alembic's operations where you can, or review the SQL by hand",
        ),
        Code(
            "partial-review",
            "opaque",
            "could only be read from its source",
            "operations decided at run time may be missing from this review",
            "keep data reads out of schema migrations, or review this revision by hand",
        ),
    )
}

#: PostgreSQL functions whose default makes ADD COLUMN rewrite the table.
_VOLATILE = re.compile(
    r"\b(random|clock_timestamp|timeofday|gen_random_uuid|uuid_generate_v[14]|nextval)\s*\(",
    re.IGNORECASE,
)
#: Integer widths, narrowest first; moving left narrows.
_INTEGERS = ("smallinteger", "integer", "biginteger")
_UNBOUNDED_TEXT = ("text", "unicodetext")


def findings_of(review: Review, dialect: str | None) -> tuple[Finding, ...]:
    """Return every finding of every pending revision, in revision and operation order."""
    created: set[str] = set()
    found: list[Finding] = []
    for revision in review.revisions:
        if revision.partial is not None:
            found.append(_finding("partial-review", revision, None, partial=revision.partial))
        for operation in revision.operations:
            for code, table, column, name in _codes(operation, dialect, created):
                if CODES[code].dialects and dialect not in CODES[code].dialects:
                    continue
                size = review.sizes.get(table) if table and table not in created else None
                found.append(
                    _finding(
                        code,
                        revision,
                        operation,
                        table=table,
                        column=column,
                        name=name,
                        size=size,
                    )
                )
            if operation.op == "create_table" and operation.table:
                created.add(operation.table)
    return tuple(found)


def _finding(
    code: str,
    revision: RevisionOperations,
    operation: Operation | None,
    *,
    table: str | None = None,
    column: str | None = None,
    name: str | None = None,
    size: TableSize | None = None,
    partial: str | None = None,
) -> Finding:
    spec = CODES[code]
    what = spec.what.format(
        table=f"'{table}'" if table else "(unknown)",
        column=f"'{column}'" if column else "(unknown)",
        name=f"'{name}'" if name else "(unnamed)",
        on_table=f" on table '{table}'" if table else "",
    )
    why = spec.why if partial is None else f"{partial}; {spec.why}"
    return Finding(
        code=code,
        category=spec.category,
        revision=revision.revision,
        revision_message=revision.message,
        operation=what if operation is None else f"{operation.op}: {what}",
        table=table,
        column=column,
        why=why,
        safer=spec.safer,
        size=size,
        line=None if operation is None else operation.line,
    )


_Hit = tuple[str, str | None, str | None, str | None]


def _codes(operation: Operation, dialect: str | None, created: set[str]) -> Iterator[_Hit]:
    """Yield ``(code, table, column, name)`` for each risk of one operation."""
    op, table, column = operation.op, operation.table, operation.column
    existing = table is not None and table not in created
    if op == "drop_table":
        yield "drop-table", table, None, None
    elif op == "drop_column":
        yield "drop-column", table, column, None
    elif op == "rename_table":
        yield "rename-table", table, None, operation.new_name
    elif op == "add_column":
        if existing and operation.nullable is False and operation.server_default is None:
            yield "add-required-column", table, column, None
        if existing and operation.server_default and _VOLATILE.search(operation.server_default):
            yield "volatile-default", table, column, None
    elif op == "alter_column":
        yield from _alter(operation, dialect, existing)
    elif op in ("create_index", "drop_index"):
        yield from _index(operation, existing)
    elif op == "create_foreign_key" and existing and not operation.not_valid:
        yield "foreign-key-validates", table, None, operation.name
    elif op == "create_check_constraint" and existing and not operation.not_valid:
        yield "check-validates", table, None, operation.name
    elif op == "create_primary_key" and existing and dialect in _MYSQL:
        yield "table-copy", table, None, None
    elif op == "execute":
        yield from _raw(operation, dialect)


def _alter(operation: Operation, dialect: str | None, existing: bool) -> Iterator[_Hit]:
    table, column = operation.table, operation.column
    if operation.new_name:
        yield "rename-column", table, column, operation.new_name
    if not existing:
        return
    changes_type = operation.type is not None
    old, new = operation.existing_type, operation.type
    if old is not None and new is not None and _narrows(old, new):
        yield "narrow-type", table, column, None
    if operation.nullable is False and operation.existing_nullable is not False:
        yield "set-not-null", table, column, None
    if new is not None and _rewrites(old, new):
        yield "type-rewrite", table, column, None
    if changes_type or operation.nullable is not None:
        yield "table-copy", table, column, None


def _index(operation: Operation, existing: bool) -> Iterator[_Hit]:
    table, name = operation.table, operation.name
    if operation.concurrently:
        if not operation.autocommit:
            yield "concurrently-in-transaction", table, None, name
    elif operation.op == "drop_index":
        if existing or table is None:
            yield "drop-index-without-concurrently", table, None, name
    elif existing:
        yield "index-without-concurrently", table, None, name


def _narrows(old: ColumnType, new: ColumnType) -> bool:
    if old.name in _INTEGERS and new.name in _INTEGERS:
        return _INTEGERS.index(new.name) < _INTEGERS.index(old.name)
    if old.name in _UNBOUNDED_TEXT and new.length is not None:
        return True
    if old.name == new.name:
        if old.length is not None and new.length is not None and new.length < old.length:
            return True
        old_digits, new_digits = old.precision, new.precision
        return old_digits is not None and new_digits is not None and new_digits < old_digits
    return False


def _rewrites(old: ColumnType | None, new: ColumnType) -> bool:
    """Whether PostgreSQL rewrites the table: all but widening a varchar or making it text."""
    if old is None:
        return True
    texts = ("string", "unicode", "varchar", *_UNBOUNDED_TEXT)
    if old.name in texts and new.name in _UNBOUNDED_TEXT:
        return False
    if old.name == new.name and old.name in texts:
        return new.length is not None and old.length is not None and new.length < old.length
    return True


_HARMLESS = re.compile(
    r"^(create\s+(table|schema|sequence|type|view|or\s+replace|extension|function)|insert|"
    r"select|set|comment\s+on|grant|analyze|update|delete)\b",
    re.IGNORECASE,
)
_DROP_TABLE = re.compile(r"^drop\s+table\s+(?:if\s+exists\s+)?([\w.\"`]+)", re.IGNORECASE)
_DROP_SCHEMA = re.compile(
    r"^drop\s+(?:schema|database)\s+(?:if\s+exists\s+)?([\w\"`]+)", re.IGNORECASE
)
_TRUNCATE = re.compile(r"^truncate\b(?:\s+table)?\s*([\w.\"`]+)?", re.IGNORECASE)
#: A DELETE without WHERE empties the table: SQLite's TRUNCATE.
_DELETE_ALL = re.compile(r"^delete\s+from\s+([\w.\"`]+)\s*$", re.IGNORECASE)
_CREATE_INDEX = re.compile(
    r"^create\s+(?:unique\s+)?index\s+(concurrently\s+)?(?:if\s+not\s+exists\s+)?"
    r"([\w\"`]+)?\s*on\s+(?:only\s+)?([\w.\"`]+)",
    re.IGNORECASE,
)
_ALTER_TABLE = re.compile(
    r"^alter\s+table\s+(?:if\s+exists\s+)?(?:only\s+)?([\w.\"`]+)\s+(.*)$",
    re.IGNORECASE | re.DOTALL,
)
_RENAME_TO = re.compile(r"^rename\s+to\s+([\w.\"`]+)", re.IGNORECASE)
_RENAME_COLUMN = re.compile(r"^rename\s+(?:column\s+)?([\w\"`]+)\s+to\s+([\w\"`]+)", re.IGNORECASE)
_DROP_COLUMN = re.compile(r"^drop\s+(?:column\s+)?(?:if\s+exists\s+)?([\w\"`]+)\s*$", re.IGNORECASE)
_COMMENTS = re.compile(r"--[^\n]*|/\*.*?\*/", re.DOTALL)


def _raw(operation: Operation, dialect: str | None) -> Iterator[_Hit]:
    """Read the simple statements of raw SQL; anything else is opaque, said plainly."""
    if operation.sql is None:
        yield "raw-sql", None, None, None
        return
    for statement in _COMMENTS.sub(" ", operation.sql).split(";"):
        text = " ".join(statement.split())
        if text:
            yield from _statement(text, dialect)


def _unquote(name: str | None) -> str | None:
    return None if name is None else name.strip('"`').split(".")[-1].strip('"`')


def _statement(text: str, dialect: str | None) -> Iterator[_Hit]:
    if match := _DROP_TABLE.match(text):
        yield "drop-table", _unquote(match.group(1)), None, None
    elif match := _DROP_SCHEMA.match(text):
        yield "drop-schema", None, None, _unquote(match.group(1))
    elif match := _TRUNCATE.match(text) or _DELETE_ALL.match(text):
        yield "truncate", _unquote(match.group(1)), None, None
    elif match := _CREATE_INDEX.match(text):
        if not match.group(1):
            yield (
                "index-without-concurrently",
                _unquote(match.group(3)),
                None,
                _unquote(match.group(2)),
            )
    elif match := _ALTER_TABLE.match(text):
        table, rest = _unquote(match.group(1)), match.group(2).strip()
        if renamed := _RENAME_TO.match(rest):
            yield "rename-table", table, None, _unquote(renamed.group(1))
        elif renamed := _RENAME_COLUMN.match(rest):
            yield "rename-column", table, _unquote(renamed.group(1)), _unquote(renamed.group(2))
        elif dropped := _DROP_COLUMN.match(rest):
            yield "drop-column", table, _unquote(dropped.group(1)), None
        else:
            yield "raw-sql", table, None, None
    elif not _HARMLESS.match(text):
        yield "raw-sql", None, None, None
