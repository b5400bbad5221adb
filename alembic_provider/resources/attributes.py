"""Attribute definitions that several resource and data source types share.

One definition per meaning keeps descriptions, flags and docs identical wherever an attribute
appears. Never does I/O.
"""

from __future__ import annotations

from alembic_provider.schema import Attribute

__all__ = [
    "PENDING_TYPE",
    "connection_attributes",
    "id_attribute",
    "pending_attribute",
    "revision_attribute",
    "revisions_attribute",
    "target_revisions_attribute",
]

PENDING_TYPE = ["list", ["object", {"revision": "string", "message": "string"}]]


def connection_attributes() -> tuple[Attribute, ...]:
    """How to reach the database and run Alembic: per-type overrides of the provider block."""
    return (
        Attribute(
            "environment",
            ["map", "string"],
            "Environment variables added to the Alembic run, such as `DATABASE_URL` read by "
            "`env.py`. The run inherits the provider's environment otherwise. Values are secret: "
            "they never appear in plans, diagnostics or logs.",
            optional=True,
            sensitive=True,
        ),
        Attribute(
            "url",
            "string",
            "Database URL given to Alembic as `sqlalchemy.url`, overriding the provider's `url`.",
            optional=True,
            sensitive=True,
        ),
        Attribute(
            "extra",
            ["map", "string"],
            "Values passed to `env.py` as `-x key=value`; they win over the provider's `extra`.",
            optional=True,
        ),
        Attribute(
            "tag",
            "string",
            "Arbitrary string passed to `env.py` as Alembic's `--tag`.",
            optional=True,
        ),
        Attribute(
            "python",
            ["list", "string"],
            "Interpreter command for this resource, overriding the provider's `python`.",
            optional=True,
        ),
        Attribute(
            "alembic",
            ["list", "string"],
            "Alembic command for this resource, overriding the provider's `alembic` (kept for "
            "configurations written for the Go provider).",
            optional=True,
        ),
    )


def id_attribute(description: str) -> Attribute:
    return Attribute("id", "string", description, computed=True)


def revision_attribute() -> Attribute:
    return Attribute(
        "revision",
        "string",
        "The database's head revisions joined with `,` (sorted); empty when the database has "
        "no revision. Kept in the form the Go provider stored.",
        computed=True,
    )


def revisions_attribute() -> Attribute:
    return Attribute(
        "revisions",
        ["list", "string"],
        "The database's head revisions, sorted; empty when the database has no revision.",
        computed=True,
    )


def target_revisions_attribute() -> Attribute:
    return Attribute(
        "target_revisions",
        ["list", "string"],
        "The target resolved to revision ids from the script directory, sorted.",
        computed=True,
    )


def pending_attribute(description: str) -> Attribute:
    return Attribute("pending", PENDING_TYPE, description, computed=True)
