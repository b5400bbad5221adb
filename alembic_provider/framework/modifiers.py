"""Named plan modifiers, and the one place that runs them while a resource is planned.

In the manner of the plugin framework's ``UseStateForUnknown()``: each modifier is a small frozen
value with a one-line description and early returns for the cases it leaves alone. An attribute
lists its modifiers in :attr:`~alembic_provider.schema.Attribute.plan_modifiers`; its
``default`` runs first, as if it were the first modifier. Dispatch runs them on Terraform's
proposed new state before the resource's own ``plan`` sees it, and adds the paths they mark to
the plan's ``requires_replace``. Only top-level attributes are modified. Never does I/O.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any

from alembic_provider.cty import Unknown, contains_unknown
from alembic_provider.diagnostics import AttributePath
from alembic_provider.schema import Attribute, AttributePlan, Block, PlanModifier

__all__ = [
    "Default",
    "ModifiedPlan",
    "RequiresReplace",
    "UseStateForUnknown",
    "default",
    "fill_defaults",
    "modifiers_of",
    "modify_plan",
    "requires_replace",
    "use_state_for_unknown",
]

Values = dict[str, Any]


@dataclass(frozen=True)
class Default:
    """Plan a fixed value where the configuration leaves the attribute null."""

    value: Any

    @property
    def description(self) -> str:
        return f"When not set in the configuration, the value is {self.value!r}."

    def modify(self, plan: AttributePlan) -> AttributePlan:
        if plan.config is not None:
            return plan
        return replace(plan, planned=self.value)


@dataclass(frozen=True)
class UseStateForUnknown:
    """Keep the prior value of a computed attribute instead of planning it unknown."""

    @property
    def description(self) -> str:
        return "Once set, the value of this attribute in state will not change."

    def modify(self, plan: AttributePlan) -> AttributePlan:
        if plan.creating or plan.prior is None:
            return plan
        if not isinstance(plan.planned, Unknown):
            return plan
        # An unknown configuration value is the user's to resolve, not the prior state's.
        if isinstance(plan.config, Unknown):
            return plan
        return replace(plan, planned=plan.prior)


@dataclass(frozen=True)
class RequiresReplace:
    """Replace the resource (destroy, then create) when the attribute's value changes."""

    @property
    def description(self) -> str:
        return "If the value of this attribute changes, Terraform will destroy and recreate it."

    def modify(self, plan: AttributePlan) -> AttributePlan:
        if plan.creating:
            return plan
        # Equal values change nothing; an unknown planned value may differ, so it replaces.
        if plan.planned == plan.prior and not contains_unknown(plan.planned):
            return plan
        return replace(plan, requires_replace=True)


def default(value: Any) -> Default:
    """Plan ``value`` when the configuration leaves the attribute null."""
    return Default(value)


def use_state_for_unknown() -> UseStateForUnknown:
    """Keep a computed attribute's prior value in plans after the resource exists."""
    return UseStateForUnknown()


def requires_replace() -> RequiresReplace:
    """Make a change of the attribute's value replace the resource."""
    return RequiresReplace()


def modifiers_of(attribute: Attribute) -> Iterator[PlanModifier]:
    """The modifiers of ``attribute`` in the order they run: its default, then its own list."""
    if attribute.default is not None:
        yield Default(attribute.default)
    yield from attribute.plan_modifiers


@dataclass(frozen=True)
class ModifiedPlan:
    """A proposed new state after every attribute's modifiers, and the paths that replace."""

    values: Values
    requires_replace: tuple[AttributePath, ...] = ()


def modify_plan(
    block: Block, prior: Values | None, config: Values, proposed: Values
) -> ModifiedPlan:
    """Run every top-level attribute's modifiers on Terraform's proposed new state."""
    values = dict(proposed)
    replaced: list[AttributePath] = []
    for attribute in block.attributes:
        name = attribute.name
        plan = AttributePlan(
            name,
            config=config.get(name),
            prior=None if prior is None else prior.get(name),
            planned=values.get(name),
            creating=prior is None,
        )
        for modifier in modifiers_of(attribute):
            plan = modifier.modify(plan)
        values[name] = plan.planned
        if plan.requires_replace:
            replaced.append((name,))
    return ModifiedPlan(values, tuple(replaced))


def fill_defaults(block: Block, config: Values, planned: Values) -> Values:
    """Plan each attribute's ``default`` where the configuration leaves it null; nothing else."""
    result = dict(planned)
    for attribute in block.attributes:
        if attribute.default is None:
            continue
        plan = AttributePlan(
            attribute.name,
            config=config.get(attribute.name),
            prior=None,
            planned=result.get(attribute.name),
            creating=True,
        )
        result[attribute.name] = Default(attribute.default).modify(plan).planned
    return result
