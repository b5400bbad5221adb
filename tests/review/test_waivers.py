"""Waivers in revision files lift findings, per operation line or per file, and say why."""

from __future__ import annotations

from alembic_provider.review import Operation, Review, RevisionOperations, findings_of, waive


def _review(*waivers: tuple[int, str]) -> Review:
    return Review(
        revisions=(
            RevisionOperations(
                "a1",
                "drop and index",
                (
                    Operation("drop_column", table="accounts", column="legacy", line=20),
                    Operation("create_index", table="accounts", name="ix", line=21),
                ),
                waivers=waivers,
            ),
        )
    )


def _split(review: Review) -> tuple[list[str], list[tuple[str, str]]]:
    kept, waived = waive(findings_of(review, "postgresql"), review)
    return [f.code for f in kept], [(w.finding.code, w.reason) for w in waived]


def test_a_waiver_at_the_end_of_an_operations_line_lifts_that_operation_only() -> None:
    review = _review(
        (20, '    op.drop_column("accounts", "legacy")  # alembic-review: ignore drop-column')
    )
    assert _split(review) == (["index-without-concurrently"], [("drop-column", "")])


def test_a_waiver_on_a_line_of_its_own_lifts_the_whole_revision_by_category_or_code() -> None:
    review = _review(
        (3, "# alembic-review: ignore destructive, index-without-concurrently -- table is empty")
    )
    assert _split(review) == (
        [],
        [("drop-column", "table is empty"), ("index-without-concurrently", "table is empty")],
    )


def test_a_waiver_for_another_code_or_line_lifts_nothing() -> None:
    review = _review(
        (21, '    op.create_index("ix", "accounts", ["a"])  # alembic-review: ignore drop-column'),
        (5, "# alembic-review: ignore breaking"),
        (6, "# alembic-review: please ignore drop-column"),
    )
    assert _split(review) == (["drop-column", "index-without-concurrently"], [])
