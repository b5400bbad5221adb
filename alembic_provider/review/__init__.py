"""The review of pending migrations: what they do, what is risky about it, and how to say so.

Pure: plain data in (the operations the worker recorded, the dialect, table sizes), findings
out. Never imports alembic, never does I/O.
"""

from __future__ import annotations

from alembic_provider.review.model import (
    ColumnType,
    Finding,
    Operation,
    Review,
    RevisionOperations,
    TableSize,
)
from alembic_provider.review.models import ModelDiff, ModelDifference
from alembic_provider.review.policy import NAMES, Policy, policy_of
from alembic_provider.review.rules import CODES, Code, findings_of
from alembic_provider.review.waivers import Waived, waive
from alembic_provider.review.wording import describe_size, finding_line, revision_lines

__all__ = [
    "CODES",
    "NAMES",
    "Code",
    "ColumnType",
    "Finding",
    "ModelDiff",
    "ModelDifference",
    "Operation",
    "Policy",
    "Review",
    "RevisionOperations",
    "TableSize",
    "Waived",
    "describe_size",
    "finding_line",
    "findings_of",
    "policy_of",
    "revision_lines",
    "waive",
]
