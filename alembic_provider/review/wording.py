"""Word findings for people: one line each, grouped by revision, plain text.

Never imports alembic.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic_provider.review.model import Finding, TableSize

__all__ = ["describe_size", "finding_line", "revision_lines"]

_UNITS = ("bytes", "kB", "MB", "GB", "TB")


def describe_size(size: TableSize | None) -> str:
    """Say how big a table is, as ``~20,000 rows, 3.1 MB``; empty when nothing is known."""
    if size is None:
        return ""
    parts = []
    if size.rows is not None:
        parts.append(f"~{size.rows:,} rows")
    if size.bytes is not None:
        amount, unit = float(size.bytes), 0
        while amount >= 1024 and unit < len(_UNITS) - 1:
            amount, unit = amount / 1024, unit + 1
        parts.append(f"{size.bytes} bytes" if unit == 0 else f"{amount:.1f} {_UNITS[unit]}")
    return ", ".join(parts)


def finding_line(finding: Finding) -> str:
    """One finding as one line: category and code, where, what, how big, why, the safer way."""
    where = f" (line {finding.line})" if finding.line is not None else ""
    size = describe_size(finding.size)
    sized = f" [{size}]" if size else ""
    return (
        f"- {finding.category} {finding.code}{where}: {finding.operation}{sized}. "
        f"Risk: {finding.why}. Safer: {finding.safer}."
    )


def revision_lines(findings: Sequence[Finding]) -> dict[str, tuple[str, ...]]:
    """Group finding lines by revision id, in the order the revisions come."""
    grouped: dict[str, list[str]] = {}
    for finding in findings:
        grouped.setdefault(finding.revision, []).append(finding_line(finding))
    return {revision: tuple(lines) for revision, lines in grouped.items()}
