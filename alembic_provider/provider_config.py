"""The ``provider "alembic"`` block: its schema and the settings resources inherit from it.

Keeps the Go provider's attributes (``project_root``, ``alembic``, ``config``, ``section``,
``extra``) so existing configurations work unchanged, and adds ``python``, ``url`` and
``environment`` as defaults for every resource. The block is never stored in state, so its
secrets are at rest nowhere when they come from ephemeral values. Never does I/O.
"""

from __future__ import annotations

from alembic_provider.durations import duration_validator
from alembic_provider.review.policy import names_validator
from alembic_provider.schema import Attribute, Block, NestedBlock, Schema

__all__ = ["PROVIDER_SCHEMA", "review_block", "statement_lock_timeout_attribute"]


def review_block(scope: str) -> NestedBlock:
    """The ``review`` policy block; ``scope`` says whom it applies to."""
    return NestedBlock(
        "review",
        Block(
            description=(
                f"What the review of pending migrations does with its findings, {scope}. "
                "Without it every finding is a plan warning. Each list takes codes "
                "(`drop-column`, `index-without-concurrently` ...) or categories "
                "(`destructive`, `breaking`, `locking`, `opaque`); see the review guide."
            ),
            attributes=(
                Attribute(
                    "block",
                    ["list", "string"],
                    "Findings that fail the plan with an error instead of warning. A waiver "
                    "comment in the revision file lifts a finding from this list.",
                    optional=True,
                    validators=(names_validator,),
                ),
                Attribute(
                    "ignore",
                    ["list", "string"],
                    "Findings left out of plans altogether.",
                    optional=True,
                    validators=(names_validator,),
                ),
            ),
        ),
    )


def statement_lock_timeout_attribute(scope: str) -> Attribute:
    """How long a migration's statements wait for table and row locks, then fail."""
    return Attribute(
        "statement_lock_timeout",
        "string",
        "How long each statement of a migration may wait for a lock on a table or row that "
        "another session holds, as a duration such as `5s`; past it the statement fails, the "
        "apply stops with an error naming the table, and applying again later continues. "
        "PostgreSQL `lock_timeout`, MySQL and MariaDB `lock_wait_timeout` and "
        "`innodb_lock_wait_timeout` (whole seconds, rounded up); no effect on SQLite, whose "
        "driver gives up on a locked file after its own busy timeout. Unset, statements wait "
        "as long as the server lets them. " + scope,
        optional=True,
        validators=(duration_validator,),
    )


PROVIDER_SCHEMA = Schema(
    Block(
        description=(
            "Runs Alembic database migrations as part of `terraform plan` and `apply`. The "
            "provider block names the Alembic project; resources inherit its settings."
        ),
        attributes=(
            Attribute(
                "project_root",
                "string",
                "Directory of the Alembic project: the directory that holds the Alembic "
                "configuration file. Relative paths are relative to Terraform's working directory.",
                required=True,
            ),
            Attribute(
                "config",
                "string",
                "Alembic configuration file, relative to `project_root`. Defaults to "
                "`alembic.ini`.",
                optional=True,
            ),
            Attribute(
                "section",
                "string",
                "Section of the configuration file to read. Defaults to `alembic`.",
                optional=True,
            ),
            Attribute(
                "alembic",
                ["list", "string"],
                "Command that runs Alembic in the project's environment, for example "
                '`["poetry", "run", "alembic"]` or `["/srv/app/.venv/bin/alembic"]`. Kept for '
                "configurations written for the Go provider: migrations run under the Python "
                "interpreter that command uses. Prefer `python`.",
                optional=True,
            ),
            Attribute(
                "python",
                ["list", "string"],
                "Command that starts the Python interpreter of the project's environment, for "
                'example `["/srv/app/.venv/bin/python"]` or `["poetry", "run", "python"]`. That '
                "environment needs Alembic and SQLAlchemy. Defaults to the provider's own "
                "interpreter; the self-contained build of the release archive has none, so "
                "there it defaults to `python3` from `PATH`.",
                optional=True,
            ),
            Attribute(
                "url",
                "string",
                "Database URL given to Alembic as `sqlalchemy.url`, for every resource that sets "
                "none. When unset, `env.py` decides, as it does for the `alembic` command.",
                optional=True,
                sensitive=True,
            ),
            Attribute(
                "environment",
                ["map", "string"],
                "Environment variables added to every Alembic run, such as `DATABASE_URL` for "
                "an `env.py` that reads it. A resource's own `environment` (or `environment_wo`) "
                "entries win. Values are secret: never shown in plans, diagnostics or logs, and, "
                "like the whole provider block, never stored in state.",
                optional=True,
                sensitive=True,
            ),
            Attribute(
                "extra",
                ["map", "string"],
                "Values passed to `env.py` as `-x key=value` arguments, for every resource. A "
                "resource's own `extra` entries win.",
                optional=True,
            ),
            Attribute(
                "compare_models",
                "bool",
                "Whether plans of `alembic_upgrade` compare env.py's `target_metadata` with the "
                "database once it is at its target, warning when they differ (read-only). "
                "Defaults to `false`; a resource's own `compare_models` wins.",
                optional=True,
            ),
            statement_lock_timeout_attribute(
                "The default for every `alembic_upgrade` and `alembic_stamp`; a resource's own "
                "`statement_lock_timeout` wins."
            ),
        ),
        block_types=(
            review_block(
                "for every `alembic_upgrade`; a resource's own `review` lists replace these"
            ),
        ),
    )
)
