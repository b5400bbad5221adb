"""Declarative schemas: attributes and blocks that carry their own documentation.

Each resource, data source and the provider itself describe their configuration with these
frozen dataclasses. The plugin layer turns them into protobuf, the codec takes their cty type, and
the docs generator renders them, so a description is mandatory. An attribute declares its
plan-time behaviour here too (a ``default``, ``plan_modifiers``); the named modifiers themselves
and the code that runs them live in :mod:`alembic_provider.framework.modifiers`. Never does I/O.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from alembic_provider.cty import CtyType

__all__ = [
    "Attribute",
    "AttributePlan",
    "Block",
    "NestedBlock",
    "Nesting",
    "PlanModifier",
    "Schema",
    "Validator",
    "empty_object",
]

#: A per-attribute validator: returns an error message, or None when the value is fine. It is
#: only called with known, non-null values.
Validator = Callable[[Any], "str | None"]


@dataclass(frozen=True)
class AttributePlan:
    """One top-level attribute while a resource is planned: what a plan modifier sees and returns.

    ``prior`` is None when the resource is being created (``creating``) or the prior value is
    null; values are decoded cty values (``None`` for null, ``Unknown`` for unknown).
    """

    name: str
    config: Any
    prior: Any
    planned: Any
    creating: bool
    requires_replace: bool = False


class PlanModifier(Protocol):
    """A named plan-time behaviour of one attribute, from :mod:`alembic_provider.framework`."""

    @property
    def description(self) -> str:
        """One line saying what the modifier does, for people reading the schema."""
        ...

    def modify(self, plan: AttributePlan) -> AttributePlan:
        """Return ``plan`` with the planned value (or ``requires_replace``) this modifier wants."""
        ...


@dataclass(frozen=True)
class Attribute:
    """One attribute; exactly one of required / optional / computed-only shapes applies."""

    name: str
    type: CtyType
    description: str
    required: bool = False
    optional: bool = False
    computed: bool = False
    sensitive: bool = False
    deprecated: bool = False
    #: Accepted in configuration, never stored: null in every plan and state (Terraform 1.11+).
    write_only: bool = False
    #: Planned when the configuration leaves an optional+computed attribute null.
    default: Any = None
    validators: tuple[Validator, ...] = ()
    #: Run in order on the planned value after the default, before the resource's own plan.
    plan_modifiers: tuple[PlanModifier, ...] = ()

    def __post_init__(self) -> None:
        if not self.description:
            raise ValueError(f"attribute '{self.name}' needs a description")
        if self.required and (self.optional or self.computed):
            raise ValueError(f"attribute '{self.name}' cannot be required and optional/computed")
        if not (self.required or self.optional or self.computed):
            raise ValueError(f"attribute '{self.name}' must be required, optional or computed")
        if self.default is not None and not (self.optional and self.computed):
            raise ValueError(
                f"attribute '{self.name}' has a default, so it must be optional+computed"
            )
        if self.write_only and (self.computed or self.default is not None):
            raise ValueError(f"write-only attribute '{self.name}' cannot be computed")

    @property
    def computed_only(self) -> bool:
        return self.computed and not self.optional


class Nesting(enum.Enum):
    SINGLE = 1
    LIST = 2
    SET = 3
    MAP = 4
    GROUP = 5


@dataclass(frozen=True)
class NestedBlock:
    type_name: str
    block: Block
    nesting: Nesting = Nesting.SINGLE
    min_items: int = 0
    max_items: int = 0

    def cty_type(self) -> CtyType:
        inner = self.block.cty_type()
        if self.nesting in (Nesting.SINGLE, Nesting.GROUP):
            return inner
        kind = {Nesting.LIST: "list", Nesting.SET: "set", Nesting.MAP: "map"}[self.nesting]
        return [kind, inner]


@dataclass(frozen=True)
class Block:
    attributes: tuple[Attribute, ...]
    description: str = ""
    block_types: tuple[NestedBlock, ...] = ()
    deprecated: bool = False

    def __post_init__(self) -> None:
        names = [a.name for a in self.attributes] + [b.type_name for b in self.block_types]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"duplicate attribute names in block: {', '.join(duplicates)}")

    def cty_type(self) -> CtyType:
        members: dict[str, CtyType] = {a.name: a.type for a in self.attributes}
        members.update({b.type_name: b.cty_type() for b in self.block_types})
        return ["object", members]

    def attribute(self, name: str) -> Attribute:
        for attribute in self.attributes:
            if attribute.name == name:
                return attribute
        raise KeyError(name)

    @property
    def sensitive_names(self) -> frozenset[str]:
        return frozenset(a.name for a in self.attributes if a.sensitive)

    @property
    def write_only_names(self) -> tuple[str, ...]:
        return tuple(a.name for a in self.attributes if a.write_only)


@dataclass(frozen=True)
class Schema:
    block: Block
    version: int = 0

    def cty_type(self) -> CtyType:
        return self.block.cty_type()


def empty_object(block: Block) -> dict[str, Any]:
    """Return an object for ``block`` with every attribute null (blocks empty or null)."""
    value: dict[str, Any] = {a.name: None for a in block.attributes}
    for nested in block.block_types:
        value[nested.type_name] = (
            None
            if nested.nesting in (Nesting.SINGLE, Nesting.GROUP)
            else ({} if nested.nesting is Nesting.MAP else [])
        )
    return value
