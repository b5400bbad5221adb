"""What every data source shares: the project it reads, the ``id`` attribute, the read itself.

Both data sources read the Alembic project that the provider block names, with their own
attributes (``python``, ``alembic``, a connection) taking precedence. A subclass states its
type name, its description and its own attributes, and answers :meth:`ProjectDataSource.observe`
with the computed values; the base builds the schema, finds the project and returns the
configuration with those values filled in. Read-only: never writes to a database.
"""

from __future__ import annotations

from alembic_provider import errors
from alembic_provider.executor import Project
from alembic_provider.resources.attributes import id_attribute
from alembic_provider.resources.base import Context, Values
from alembic_provider.resources.common import project_for
from alembic_provider.schema import Attribute, Block, Schema

__all__ = ["ProjectDataSource"]


class ProjectDataSource:
    """A data source that reads one Alembic project and reports what it found."""

    TYPE_NAME: str
    #: The data source's documentation: what it reads, and that it never writes.
    DESCRIPTION: str
    #: What the computed ``id`` is made of.
    ID_DESCRIPTION: str

    def attributes(self) -> tuple[Attribute, ...]:
        """The data source's own attributes, in documentation order; ``id`` comes last."""
        raise NotImplementedError

    def observe(self, ctx: Context, project: Project, config: Values) -> Values:
        """Read ``project`` and return every computed attribute, ``id`` included."""
        raise NotImplementedError

    def schema(self) -> Schema:
        attributes = (*self.attributes(), id_attribute(self.ID_DESCRIPTION))
        return Schema(Block(description=self.DESCRIPTION, attributes=attributes))

    def validate(self, ctx: Context, config: Values) -> None:
        return None

    def read(self, ctx: Context, config: Values) -> Values:
        project = project_for(ctx.provider_config, config)
        if project is None:
            raise errors.InternalError("A configuration value was still unknown during read.")
        return {**config, **self.observe(ctx, project, config)}
