"""Which hook answers a plan or an apply: create, update, delete, or the plan of a destroy.

Terraform sends one PlanResourceChange and one ApplyResourceChange for every kind of change and
tells them apart by null objects: a null prior state is a create, a null proposed (or planned)
state a destroy. That reading lives here once, so a resource implements each change as its own
hook and never asks which one it is in. A replace is a delete then a create; the delete receives
the private state of the create's plan. Never imports the layers above it.
"""

from __future__ import annotations

from typing import Protocol, TypeVar

from alembic_provider import errors
from alembic_provider.framework.results import Applied, Planned, Values

__all__ = ["Routed", "apply", "plan"]

C_contra = TypeVar("C_contra", contravariant=True)
C = TypeVar("C")


class Routed(Protocol[C_contra]):
    """The change hooks of a managed resource, given the context it runs with."""

    def plan(
        self, ctx: C_contra, prior: Values | None, config: Values, proposed: Values, private: bytes
    ) -> Planned:
        """Plan a create (``prior`` is None) or an update."""
        ...

    def plan_destroy(self, ctx: C_contra, prior: Values, private: bytes) -> Planned:
        """Say what destroying the object will do (Terraform 1.3 and newer ask)."""
        ...

    def create(
        self, ctx: C_contra, planned: Values, config: Values | None, private: bytes
    ) -> Applied:
        """Create the object as planned."""
        ...

    def update(
        self, ctx: C_contra, prior: Values, planned: Values, config: Values | None, private: bytes
    ) -> Applied:
        """Change the object as planned."""
        ...

    def delete(self, ctx: C_contra, prior: Values, private: bytes) -> Applied:
        """Destroy the object."""
        ...


def plan(  # noqa: PLR0917 - the request's fields, in the protocol's order
    resource: Routed[C],
    ctx: C,
    prior: Values | None,
    proposed: Values | None,
    config: Values | None,
    private: bytes,
) -> Planned:
    """Route PlanResourceChange: a destroy when nothing is proposed, else a create or update."""
    if proposed is None or config is None:
        if prior is None:
            return Planned(None, private)
        return resource.plan_destroy(ctx, prior, private)
    return resource.plan(ctx, prior, config, proposed, private)


def apply(  # noqa: PLR0917 - the request's fields, in the protocol's order
    resource: Routed[C],
    ctx: C,
    prior: Values | None,
    planned: Values | None,
    config: Values | None,
    private: bytes,
) -> Applied:
    """Route ApplyResourceChange to delete, create or update.

    :raises RequestError: when both objects are null: nothing to create or destroy.
    """
    if planned is None:
        if prior is None:
            raise errors.RequestError(
                "The ApplyResourceChange request has a null 'prior_state' and a null "
                "'planned_state': there is nothing to create and nothing to destroy."
            )
        return resource.delete(ctx, prior, private)
    if prior is None:
        return resource.create(ctx, planned, config, private)
    return resource.update(ctx, prior, planned, config, private)
