"""How findings read in a plan."""

from __future__ import annotations

from alembic_provider.review import (
    Operation,
    Review,
    RevisionOperations,
    TableSize,
    describe_size,
    findings_of,
    revision_lines,
)


def test_sizes_read_as_rows_and_bytes() -> None:
    assert describe_size(TableSize(rows=20_000, bytes=3 * 1024 * 1024)) == "~20,000 rows, 3.0 MB"
    assert describe_size(TableSize(rows=None, bytes=8192)) == "8.0 kB"
    assert describe_size(TableSize(rows=3, bytes=None)) == "~3 rows"
    assert describe_size(TableSize()) == ""
    assert describe_size(None) == ""


def test_each_finding_is_one_line_grouped_by_revision() -> None:
    review = Review(
        revisions=(
            RevisionOperations(
                "a1",
                "drop legacy",
                (Operation("drop_column", table="accounts", column="legacy", line=14),),
            ),
        ),
        sizes={"accounts": TableSize(rows=20_000, bytes=3 * 1024 * 1024)},
    )
    assert revision_lines(findings_of(review, "postgresql")) == {
        "a1": (
            "- destructive drop-column (line 14): drop_column: drops column 'legacy' of table "
            "'accounts' [~20,000 rows, 3.0 MB]. Risk: the column's data is lost, and running "
            "code that still selects or writes it fails. Safer: stop reading and writing the "
            "column in a release first, then drop it in a later migration.",
        )
    }
