"""Attribute definitions that several resource and data source types share.

One definition per meaning keeps descriptions, flags and docs identical wherever an attribute
appears. Never does I/O.
"""

from __future__ import annotations

from alembic_provider.durations import duration_validator
from alembic_provider.provider_config import statement_lock_timeout_attribute
from alembic_provider.proxy import command_validator, ready_validator
from alembic_provider.schema import Attribute, Block, NestedBlock, Schema

__all__ = [
    "PENDING_TYPE",
    "connection_attributes",
    "id_attribute",
    "migration_schema",
    "pending_attribute",
    "proxy_attributes",
    "revision_attribute",
    "revisions_attribute",
    "run_attributes",
    "target_revisions_attribute",
    "timeouts_block",
    "write_only_attributes",
]

PENDING_TYPE = ["list", ["object", {"revision": "string", "message": "string"}]]


def connection_attributes() -> tuple[Attribute, ...]:
    """How to reach the database and run Alembic: per-type overrides of the provider block."""
    return (
        Attribute(
            "environment",
            ["map", "string"],
            "Environment variables added to the Alembic run, such as `DATABASE_URL` for an "
            "`env.py` that reads it (the one `alembic init` writes reads none: set `url`). The "
            "run inherits the provider's environment otherwise. Values are secret: they never "
            "appear in plans, diagnostics or logs.",
            optional=True,
            sensitive=True,
        ),
        Attribute(
            "url",
            "string",
            "Database URL given to `env.py` as `sqlalchemy.url` (what the `env.py` that "
            "`alembic init` writes connects with), overriding the provider's `url`.",
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


def write_only_attributes() -> tuple[Attribute, ...]:
    """``url`` and ``environment`` as write-only arguments (Terraform 1.11+), each with the
    version a user changes to say the value changed, since the value itself is never stored."""
    return (
        Attribute(
            "url_wo",
            "string",
            "Write-only `url`: the database URL given to `env.py` as `sqlalchemy.url`, never "
            "stored in state, private state or plan files. Needs Terraform 1.11 or newer and "
            "`url_wo_version`; conflicts with `url`. Refresh cannot read the database without "
            "it, so the plan reads it instead (see *Secrets and state*).",
            optional=True,
            sensitive=True,
            write_only=True,
        ),
        Attribute(
            "url_wo_version",
            "number",
            "Version of `url_wo`, required with it. Terraform keeps no trace of a write-only "
            "value, so change this number when the URL points at another database; the plan "
            "then reads the database again as a changed connection.",
            optional=True,
        ),
        Attribute(
            "environment_wo",
            ["map", "string"],
            "Write-only `environment`: variables added to the Alembic run, never stored in "
            "state, private state or plan files. Needs Terraform 1.11 or newer and "
            "`environment_wo_version`; conflicts with `environment`.",
            optional=True,
            sensitive=True,
            write_only=True,
        ),
        Attribute(
            "environment_wo_version",
            "number",
            "Version of `environment_wo`, required with it; change it when the variables name "
            "another database.",
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


def run_attributes() -> tuple[Attribute, ...]:
    """How migrations run: the migration lock and the bound on waiting for locks."""
    return (
        Attribute(
            "lock",
            "bool",
            "Serialise migration runs on the database with an advisory lock (PostgreSQL "
            "`pg_advisory_lock`, MySQL and MariaDB `GET_LOCK`), so two applies against one "
            "database run each migration once. Defaults to `true`; other databases run unlocked.",
            optional=True,
            computed=True,
            default=True,
        ),
        Attribute(
            "lock_timeout",
            "string",
            "How long to wait for the migration lock, as a duration such as `30s` or `5m`. "
            "Defaults to `5m`; when it expires the apply fails and changes nothing.",
            optional=True,
            computed=True,
            default="5m",
            validators=(duration_validator,),
        ),
        statement_lock_timeout_attribute("Overrides the provider's `statement_lock_timeout`."),
    )


def proxy_attributes() -> tuple[Attribute, ...]:
    """The proxy or tunnel started around database work (names kept from the Go provider)."""
    return (
        Attribute(
            "proxy_command",
            ["list", "string"],
            "Command (an argument list) that opens the way to the database, such as "
            "`cloud-sql-proxy` or an `ssh -L` tunnel. It runs while this resource reads or "
            "migrates the database; resources with identical proxy settings share one running "
            "proxy, which stops 2 seconds after the last of them is done, and always when the "
            "provider exits (also when Terraform kills it).",
            optional=True,
            validators=(command_validator,),
        ),
        Attribute(
            "proxy_ready",
            "string",
            "Where the proxy accepts connections once it is ready: `host:port` (polled with TCP "
            "connects) or the path of a unix socket. With it, work starts as soon as the proxy "
            "is ready instead of after `proxy_sleep`.",
            optional=True,
            validators=(ready_validator,),
        ),
        Attribute(
            "proxy_sleep",
            "string",
            "Without `proxy_ready`: how long to wait after starting the proxy, as a duration "
            "(`5s`, `1m30s`, or ISO-8601 `PT5S`). Defaults to `5s`.",
            optional=True,
            validators=(duration_validator,),
        ),
        Attribute(
            "proxy_timeout",
            "string",
            "How long the proxy may take to become ready at `proxy_ready`, as a duration. "
            "Defaults to `30s`.",
            optional=True,
            validators=(duration_validator,),
        ),
    )


def timeouts_block(delete: str | None = None) -> NestedBlock:
    """Return the ``timeouts`` block; ``delete`` replaces the delete limit's description."""
    operations = {
        "create": "the first apply",
        "update": "later applies",
        "read": "reading the database during plan and refresh",
        "delete": "destroy (only with `on_destroy`)",
    }
    descriptions = {
        name: f"Limit for {what}, as a duration such as `10m`. No limit by default."
        for name, what in operations.items()
    }
    if delete is not None:
        descriptions["delete"] = delete
    return NestedBlock(
        "timeouts",
        Block(
            description="Time limits; when one expires the running Alembic process is stopped.",
            attributes=tuple(
                Attribute(
                    name,
                    "string",
                    description,
                    optional=True,
                    validators=(duration_validator,),
                )
                for name, description in descriptions.items()
            ),
        ),
    )


_ID = (
    "The target the resource was created with (or imported by); it never changes afterwards "
    "and holds no secret."
)


def migration_schema(
    version: int,
    description: str,
    settings: tuple[Attribute, ...],
    *,
    outputs: tuple[Attribute, ...] = (),
    timeouts: NestedBlock | None = None,
    blocks: tuple[NestedBlock, ...] = (),
) -> Schema:
    """The schema both migration resources share, around what each sets and reports of its own.

    :param settings: the resource's own arguments, before the shared run, connection and proxy
        arguments.
    :param outputs: computed attributes after the shared revision attributes.
    :param blocks: the resource's own nested blocks, after ``timeouts``.
    """
    return Schema(
        version=version,
        block=Block(
            description=description,
            attributes=(
                *settings,
                *run_attributes(),
                *connection_attributes(),
                *write_only_attributes(),
                *proxy_attributes(),
                revision_attribute(),
                revisions_attribute(),
                target_revisions_attribute(),
                *outputs,
                id_attribute(_ID),
            ),
            block_types=(timeouts or timeouts_block(), *blocks),
        ),
    )
