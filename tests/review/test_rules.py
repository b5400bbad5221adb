"""Every review code, each from the smallest operation that earns it, and what stays quiet."""

from __future__ import annotations

import pytest

from alembic_provider.review import (
    CODES,
    ColumnType,
    Finding,
    Operation,
    Review,
    RevisionOperations,
    TableSize,
    findings_of,
)

PG = "postgresql"
VARCHAR_200 = ColumnType("string", length=200)
VARCHAR_50 = ColumnType("string", length=50)


def _review(*operations: Operation, partial: str | None = None) -> Review:
    return Review(
        revisions=(RevisionOperations("a1", "change things", operations, partial=partial),),
        sizes={"accounts": TableSize(rows=20_000, bytes=3 * 1024 * 1024)},
    )


def _codes(dialect: str | None, *operations: Operation) -> list[str]:
    return [f.code for f in findings_of(_review(*operations), dialect)]


CASES: list[tuple[str, str | None, Operation]] = [
    ("drop-table", None, Operation("drop_table", table="accounts")),
    ("drop-table", None, Operation("execute", sql="DROP TABLE IF EXISTS accounts")),
    ("drop-column", None, Operation("drop_column", table="accounts", column="legacy")),
    ("drop-column", None, Operation("execute", sql="ALTER TABLE accounts DROP COLUMN legacy")),
    ("drop-schema", PG, Operation("execute", sql="DROP SCHEMA archive CASCADE")),
    ("truncate", None, Operation("execute", sql="TRUNCATE TABLE accounts")),
    ("truncate", "sqlite", Operation("execute", sql="DELETE FROM accounts")),
    ("rename-table", None, Operation("rename_table", table="accounts", new_name="users")),
    ("rename-table", None, Operation("execute", sql="ALTER TABLE accounts RENAME TO users")),
    (
        "rename-column",
        None,
        Operation("alter_column", table="accounts", column="name", new_name="full_name"),
    ),
    (
        "rename-column",
        None,
        Operation("execute", sql="ALTER TABLE accounts RENAME COLUMN name TO full_name"),
    ),
    (
        "add-required-column",
        None,
        Operation("add_column", table="accounts", column="email", nullable=False),
    ),
    (
        "narrow-type",
        "sqlite",
        Operation(
            "alter_column",
            table="accounts",
            column="name",
            type=VARCHAR_50,
            existing_type=VARCHAR_200,
        ),
    ),
    (
        "index-without-concurrently",
        PG,
        Operation("create_index", table="accounts", name="ix_accounts_name"),
    ),
    (
        "index-without-concurrently",
        PG,
        Operation("execute", sql="CREATE INDEX ix_name ON accounts (name)"),
    ),
    (
        "drop-index-without-concurrently",
        PG,
        Operation("drop_index", table="accounts", name="ix_accounts_name"),
    ),
    (
        "concurrently-in-transaction",
        PG,
        Operation("create_index", table="accounts", name="ix", concurrently=True),
    ),
    ("foreign-key-validates", PG, Operation("create_foreign_key", table="accounts", name="fk")),
    ("check-validates", PG, Operation("create_check_constraint", table="accounts", name="ck")),
    (
        "set-not-null",
        PG,
        Operation("alter_column", table="accounts", column="name", nullable=False),
    ),
    (
        "type-rewrite",
        PG,
        Operation(
            "alter_column",
            table="accounts",
            column="id",
            type=ColumnType("biginteger"),
            existing_type=ColumnType("integer"),
        ),
    ),
    (
        "volatile-default",
        PG,
        Operation("add_column", table="accounts", column="token", server_default="random()"),
    ),
    (
        "table-copy",
        "mysql",
        Operation(
            "alter_column",
            table="accounts",
            column="id",
            type=ColumnType("biginteger"),
            existing_type=ColumnType("integer"),
        ),
    ),
    ("table-copy", "mariadb", Operation("create_primary_key", table="accounts", name="pk")),
    ("raw-sql", None, Operation("execute", sql="DO $$ BEGIN PERFORM 1; END $$")),
    ("raw-sql", None, Operation("execute", sql=None, source=True)),
]


@pytest.mark.parametrize(("code", "dialect", "operation"), CASES, ids=[c[0] for c in CASES])
def test_each_code_is_found(code: str, dialect: str | None, operation: Operation) -> None:
    assert code in _codes(dialect, operation)


def test_every_code_has_a_case_and_says_why_and_the_safer_way() -> None:
    assert {c[0] for c in CASES} | {"partial-review"} == set(CODES)
    for spec in CODES.values():
        assert (
            spec.why
            and spec.safer
            and spec.category
            in (
                "destructive",
                "breaking",
                "locking",
                "opaque",
            )
        )


def test_a_partial_review_is_a_finding_that_says_why() -> None:
    (finding,) = findings_of(_review(partial="upgrade() reads the database"), PG)
    assert finding.code == "partial-review"
    assert finding.why.startswith("upgrade() reads the database; ")


def test_a_finding_names_revision_operation_table_column_and_size() -> None:
    (finding,) = findings_of(
        _review(Operation("drop_column", table="accounts", column="legacy", line=12)), PG
    )
    assert finding == Finding(
        code="drop-column",
        category="destructive",
        revision="a1",
        revision_message="change things",
        operation="drop_column: drops column 'legacy' of table 'accounts'",
        table="accounts",
        column="legacy",
        why=CODES["drop-column"].why,
        safer=CODES["drop-column"].safer,
        size=TableSize(rows=20_000, bytes=3 * 1024 * 1024),
        line=12,
    )


@pytest.mark.parametrize(
    "operation",
    [
        Operation("create_index", table="accounts", name="ix", concurrently=True, autocommit=True),
        Operation("create_foreign_key", table="accounts", name="fk", not_valid=True),
        Operation("add_column", table="accounts", column="note", nullable=True),
        Operation(
            "add_column", table="accounts", column="flag", nullable=False, server_default="0"
        ),
        Operation("add_column", table="accounts", column="at", server_default="now()"),
        Operation(
            "alter_column",
            table="accounts",
            column="name",
            type=ColumnType("text"),
            existing_type=VARCHAR_200,
        ),
        Operation("execute", sql="CREATE TABLE audit (id INTEGER PRIMARY KEY)"),
        Operation("execute", sql="INSERT INTO audit VALUES (1); SELECT 1"),
    ],
)
def test_safe_operations_on_postgresql_find_nothing(operation: Operation) -> None:
    assert _codes(PG, operation) == []


def test_locking_codes_are_dialect_aware() -> None:
    index = Operation("create_index", table="accounts", name="ix")
    assert _codes("sqlite", index) == []
    assert _codes("mysql", index) == []
    assert _codes(None, index) == []


def test_a_table_created_by_a_pending_revision_is_new() -> None:
    review = _review(
        Operation("create_table", table="audit"),
        Operation("create_index", table="audit", name="ix_audit"),
        Operation("add_column", table="audit", column="at", nullable=False),
        Operation("create_foreign_key", table="audit", name="fk_audit"),
    )
    assert findings_of(review, PG) == ()


def test_a_new_table_is_never_sized_but_an_existing_one_is() -> None:
    review = Review(
        revisions=(
            RevisionOperations(
                "a1",
                "",
                (Operation("create_table", table="accounts"), Operation("drop_table", "accounts")),
            ),
        ),
        sizes={"accounts": TableSize(rows=1, bytes=1)},
    )
    (finding,) = findings_of(review, PG)
    assert finding.size is None


@pytest.mark.parametrize(
    ("sql", "dialect", "operation"),
    [
        ("DROP SCHEMA IF EXISTS archive CASCADE", PG, "execute: drops schema 'archive'"),
        ("TRUNCATE TABLE accounts", PG, "execute: empties table 'accounts'"),
        ("TRUNCATE accounts, orders", "mysql", "execute: empties table 'accounts'"),
        ("DELETE FROM accounts", "sqlite", "execute: empties table 'accounts'"),
        (
            "ALTER TABLE accounts ADD COLUMN note VARCHAR(20)",
            PG,
            "execute: runs SQL the review cannot analyse on table 'accounts'",
        ),
        ("VACUUM", "sqlite", "execute: runs SQL the review cannot analyse"),
    ],
)
def test_raw_sql_findings_name_the_schema_or_table_they_read(
    sql: str, dialect: str, operation: str
) -> None:
    (finding,) = findings_of(_review(Operation("execute", sql=sql)), dialect)
    assert finding.operation == operation
    if "table" in operation:
        assert finding.table == "accounts"
        assert finding.size == TableSize(rows=20_000, bytes=3 * 1024 * 1024)


def test_a_delete_with_a_where_clause_is_quiet() -> None:
    assert _codes("sqlite", Operation("execute", sql="DELETE FROM accounts WHERE id < 10")) == []


def test_sqlite_has_no_schemas_to_drop() -> None:
    assert "sqlite" not in CODES["drop-schema"].dialects
    assert _codes("sqlite", Operation("execute", sql="DROP SCHEMA archive")) == []
    assert _codes("mariadb", Operation("execute", sql="DROP SCHEMA archive")) == ["drop-schema"]
