"""The review policy: ``review { block = [...], ignore = [...] }`` on the provider and a resource.

Each list takes codes or categories. ``ignore`` drops matching findings; ``block`` makes
matching findings plan errors. A resource's list, when set, replaces the provider's. Without a
policy every finding is a warning. Pure; never imports alembic.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, get_args

from alembic_provider.review.model import Category, Finding
from alembic_provider.review.rules import CODES

__all__ = ["NAMES", "Policy", "names_validator", "policy_of"]

#: Every name a policy list or a waiver may use: each code and each category.
NAMES = frozenset(CODES) | frozenset(get_args(Category))


@dataclass(frozen=True)
class Policy:
    """Which findings fail the plan and which are left out."""

    block: frozenset[str] = frozenset()
    ignore: frozenset[str] = frozenset()

    def ignores(self, finding: Finding) -> bool:
        return _matches(finding, self.ignore)

    def blocks(self, finding: Finding) -> bool:
        return _matches(finding, self.block)


def _matches(finding: Finding, names: frozenset[str]) -> bool:
    return finding.code in names or finding.category in names


def policy_of(provider: Mapping[str, Any] | None, resource: Mapping[str, Any] | None) -> Policy:
    """The policy in force: the resource's ``review`` lists, else the provider's."""

    def names(key: str) -> frozenset[str]:
        for block in (resource, provider):
            value = (block or {}).get(key)
            if isinstance(value, list):
                return frozenset(v for v in value if isinstance(v, str))
        return frozenset()

    return Policy(block=names("block"), ignore=names("ignore"))


def names_validator(value: object) -> str | None:
    """Schema validator: the error for a list naming something that is no code or category."""
    if not isinstance(value, Sequence) or isinstance(value, str):
        return "Expected a list of review codes or categories."
    unknown = sorted({v for v in value if isinstance(v, str) and v not in NAMES})
    if not unknown:
        return None
    listed = ", ".join(f"'{name}'" for name in unknown)
    return (
        f"{listed} {'is' if len(unknown) == 1 else 'are'} not a review code or category. Use a "
        f"category ({', '.join(get_args(Category))}) or one of the codes in "
        "docs/guides/review.md."
    )
