"""Declarative schemas: attributes and blocks that carry their own documentation.

Each resource, data source and the provider itself describe their configuration with these
frozen dataclasses. The plugin layer turns them into protobuf, the codec takes their cty type, and
the docs generator renders them, so a description is mandatory. Plan-time behaviour that is the
same for many attributes (a default for an optional attribute, keeping a prior computed value)
lives here as small named helpers. Never does I/O.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from alembic_provider.cty import CtyType

__all__ = [
    "Attribute",
    "Block",
    "NestedBlock",
    "Nesting",
    "Schema",
    "Validator",
    "empty_object",
]

#: A per-attribute validator: returns an error message, or None when the value is fine. It is
#: only called with known, non-null values.
Validator = Callable[[Any], "str | None"]


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
    #: Planned when the configuration leaves an optional+computed attribute null.
    default: Any = None
    validators: tuple[Validator, ...] = ()

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
