"""Plain data of a review: recorded operations, table sizes, and the findings made of them.

The worker writes the same shapes as JSON (``executor/worker/tfalembic_review.py``); the
executor's client parses them into these. Never imports alembic.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

__all__ = [
    "Category",
    "ColumnType",
    "Finding",
    "Operation",
    "Review",
    "RevisionOperations",
    "TableSize",
]

Category = Literal["destructive", "breaking", "locking", "opaque"]


@dataclass(frozen=True)
class ColumnType:
    """A column type as the migration spelled it: SQLAlchemy's class name, lower case."""

    name: str
    length: int | None = None
    precision: int | None = None
    scale: int | None = None


@dataclass(frozen=True)
class Operation:
    """One ``op.*`` call of a revision's ``upgrade()``, as recorded (or read from source).

    :param op: Alembic's operation name (``add_column``, ``create_index``, ``execute`` ...).
    :param nullable: for ``add_column`` the column's nullability; for ``alter_column`` the
        nullability it sets (None: unchanged).
    :param server_default: the default's SQL text; None when there is none.
    :param concurrently: ``postgresql_concurrently=True`` was given.
    :param not_valid: ``postgresql_not_valid=True`` was given.
    :param autocommit: the call ran inside ``autocommit_block()``.
    :param line: the line of the revision file that made the call, when known.
    :param source: read from the file's source, not recorded: arguments may be missing.
    """

    op: str
    table: str | None = None
    schema: str | None = None
    column: str | None = None
    name: str | None = None
    new_name: str | None = None
    nullable: bool | None = None
    existing_nullable: bool | None = None
    server_default: str | None = None
    type: ColumnType | None = None
    existing_type: ColumnType | None = None
    unique: bool = False
    concurrently: bool = False
    not_valid: bool = False
    constraint: str | None = None
    sql: str | None = None
    autocommit: bool = False
    line: int | None = None
    source: bool = False


@dataclass(frozen=True)
class RevisionOperations:
    """What one pending revision's ``upgrade()`` does.

    :param partial: why the operations were read from source instead of recorded; None when
        every operation was recorded.
    :param waivers: the file's lines carrying ``alembic-review:`` comments, by line number.
    """

    revision: str
    message: str
    operations: tuple[Operation, ...]
    partial: str | None = None
    path: str = ""
    waivers: tuple[tuple[int, str], ...] = ()


@dataclass(frozen=True)
class TableSize:
    """The database's own estimate of a table's rows and bytes; None when it has none."""

    rows: int | None = None
    bytes: int | None = None


@dataclass(frozen=True)
class Review:
    """The worker's answer: each pending revision in order, and the sizes of existing tables.

    :param sizes_error: why the sizes could not be read, when they could not.
    """

    revisions: tuple[RevisionOperations, ...] = ()
    sizes: Mapping[str, TableSize] = field(default_factory=dict)
    sizes_error: str | None = None


@dataclass(frozen=True)
class Finding:
    """One risk of one operation, with what makes it risky here and the safer way."""

    code: str
    category: Category
    revision: str
    revision_message: str
    operation: str
    table: str | None
    column: str | None
    why: str
    safer: str
    size: TableSize | None = None
    line: int | None = None
