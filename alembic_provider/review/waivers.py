"""Waivers written in revision files: ``# alembic-review: ignore <code or category>[, ...]``.

A waiver on a line of its own waives for the whole revision; at the end of an operation's line,
for the operations called on that line. ``-- reason`` after the codes says why. Waived findings
are set apart, never dropped: the plan counts them. Pure; never imports alembic.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from alembic_provider.review.model import Finding, Review, RevisionOperations

__all__ = ["Waived", "waive"]

_WAIVER = re.compile(
    r"#\s*alembic-review:\s*ignore\s+(?P<codes>[\w\-]+(?:\s*,\s*[\w\-]+)*)"
    r"(?:\s*--\s*(?P<reason>.*?))?\s*$"
)


@dataclass(frozen=True)
class Waived:
    """A finding a comment in its revision file waives, and the reason given (may be empty)."""

    finding: Finding
    reason: str


@dataclass(frozen=True)
class _Waiver:
    line: int
    whole_file: bool
    names: frozenset[str]
    reason: str


def _waivers(revision: RevisionOperations) -> list[_Waiver]:
    found = []
    for number, text in revision.waivers:
        match = _WAIVER.search(text)
        if match is None:
            continue
        names = frozenset(n.strip() for n in match.group("codes").split(",") if n.strip())
        found.append(
            _Waiver(number, text.lstrip().startswith("#"), names, match.group("reason") or "")
        )
    return found


def waive(
    findings: Sequence[Finding], review: Review
) -> tuple[tuple[Finding, ...], tuple[Waived, ...]]:
    """Split ``findings`` into those that stand and those a waiver in their file lifts."""
    waivers = {r.revision: _waivers(r) for r in review.revisions}
    kept: list[Finding] = []
    waived: list[Waived] = []
    for finding in findings:
        match = next(
            (
                w
                for w in waivers.get(finding.revision, ())
                if (finding.code in w.names or finding.category in w.names)
                and (w.whole_file or w.line == finding.line)
            ),
            None,
        )
        if match is None:
            kept.append(finding)
        else:
            waived.append(Waived(finding, match.reason))
    return tuple(kept), tuple(waived)
