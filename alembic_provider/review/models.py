"""What comparing env.py's ``target_metadata`` with the live schema found.

Plain data the worker's ``model_diff`` answer becomes; each difference is already worded.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["ModelDiff", "ModelDifference"]


@dataclass(frozen=True)
class ModelDifference:
    """One difference autogenerate found, and the table and column it is about (if any).

    :param kind: Alembic's name for it (``add_column``, ``remove_table``, ``modify_type`` ...).
    """

    kind: str
    text: str
    table: str | None = None
    column: str | None = None


@dataclass(frozen=True)
class ModelDiff:
    """The comparison's answer.

    :param metadata: env.py configured a ``target_metadata``; without one nothing is compared.
    :param server_defaults: env.py asked to compare server defaults (``compare_server_default``).
    """

    metadata: bool
    differences: tuple[ModelDifference, ...] = ()
    server_defaults: bool = False
