"""What a resource hook returns: plain values, and the plan or the new state with its private.

Values are plain dicts of decoded cty values (``None`` for null, ``Unknown`` for unknown).
Never imports the layers above it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from alembic_provider.diagnostics import AttributePath

__all__ = ["Applied", "Planned", "Values"]

Values = dict[str, Any]


@dataclass(frozen=True)
class Planned:
    """A plan: the planned object (None for a destroy or a plan that failed) and its private."""

    state: Values | None
    private: bytes = b""
    requires_replace: tuple[AttributePath, ...] = ()


@dataclass(frozen=True)
class Applied:
    """The new state (None when there is no object any more) and its private."""

    state: Values | None
    private: bytes = b""
