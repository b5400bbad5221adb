"""Acceptance tests of ``compare_models``: env.py's models checked against the live schema.

Through the newest Terraform, reading the plan's plain text, on PostgreSQL, MariaDB and SQLite:
a model column no migration creates is named by table and column once the database is at its
target, agreeing models say nothing, the plan before the apply says the comparison waits, an
env.py without ``target_metadata`` warns once, and ``alembic_model_diff`` lists the same.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from acceptance.databases import Database
from acceptance.harness import Harness, Step, normalise_output
from acceptance.state import Plan, State
from acceptance.test_upgrade_semantics import (
    PROVIDER,
    database_at,
    hcl,
    provider_block,
    upgrade_config,
)
from tests.alembic_projects import Revision, make_project

pytestmark = [pytest.mark.acceptance, pytest.mark.newest_terraform]

CREATE = """\
import sqlalchemy as sa
op.create_table("accounts", sa.Column("id", sa.Integer, primary_key=True),
                sa.Column("name", sa.String(100), nullable=True))
"""
AGREEING = """\
import sqlalchemy as sa

target_metadata = sa.MetaData()
sa.Table("accounts", target_metadata, sa.Column("id", sa.Integer, primary_key=True),
         sa.Column("name", sa.String(100), nullable=True))
"""
WITH_EMAIL = AGREEING.replace(
    "nullable=True))", 'nullable=True),\n         sa.Column("email", sa.String(200)))'
)
ALL = pytest.mark.parametrize("database", ["postgresql", "mariadb", "sqlite"], indirect=True)


def _project(tmp_path: Path, models: str | None) -> Path:
    return make_project(
        tmp_path / "alembic",
        revisions=[Revision("r1", None, "create accounts", upgrade_sql=[], upgrade_code=CREATE)],
        models=models,
    )


def _text(plan: Plan) -> str:
    return " ".join(normalise_output(plan.output).replace("│", " ").split())


def _says(*wanted: str, never: tuple[str, ...] = ()) -> Callable[[Plan], None]:
    def check(plan: Plan) -> None:
        text = _text(plan)
        for part in wanted:
            assert part in text, text
        for part in never:
            assert part not in text, text

    return check


@ALL
def test_a_model_column_no_migration_creates_is_named_and_agreeing_models_are_quiet(
    harness: Harness, database: Database, tmp_path: Path
) -> None:
    project = _project(tmp_path, AGREEING)
    config = upgrade_config(project, database, compare_models=True)
    models = project / "models.py"
    harness.test(
        [
            Step(
                config=config,
                plan_check=_says(
                    "Warning: Models Not Compared Yet",
                    "compared with env.py's target_metadata by the first plan after the apply",
                    never=("Models Differ From Database",),
                ),
                check=database_at(database, ["r1"]),
            ),
            Step(config=config, plan_only=True, plan_check=_says(never=("Models",))),
            Step(
                config=config,
                pre_config=lambda: models.write_text(WITH_EMAIL),
                plan_only=True,
                plan_check=_says(
                    "Warning: Models Differ From Database",
                    "- column 'email' of table 'accounts' (VARCHAR(200)) is only in the models",
                    "Server defaults were not compared",
                ),
            ),
        ],
        provider=PROVIDER,
    )


@pytest.mark.parametrize("database", ["sqlite"], indirect=True)
def test_env_py_without_target_metadata_warns_once_how_to_set_it(
    harness: Harness, database: Database, tmp_path: Path
) -> None:
    project = _project(tmp_path, None)
    provider = provider_block(project).rstrip().removesuffix("}") + "  compare_models = true\n}\n"
    config = provider + upgrade_config(project, database).split("}\n", 1)[1]

    def once(plan: Plan) -> None:
        text = _text(plan)
        assert text.count("Warning: Models Not Compared ") == 1, text
        assert "env.py passes no target_metadata to context.configure()" in text
        assert "target_metadata=Base.metadata" in text

    harness.test(
        [
            Step(config=config, check=database_at(database, ["r1"])),
            Step(config=config, plan_only=True, plan_check=once),
        ],
        provider=PROVIDER,
    )


@pytest.mark.parametrize("database", ["postgresql"], indirect=True)
def test_the_model_diff_data_source_lists_the_differences_for_a_check(
    harness: Harness, database: Database, tmp_path: Path
) -> None:
    project = _project(tmp_path, WITH_EMAIL)
    config = upgrade_config(project, database) + (
        f'\ndata "alembic_model_diff" "models" {{\n  url = {hcl(database.url)}\n'
        "  depends_on = [alembic_upgrade.db]\n}\n"
    )

    def check(state: State) -> None:
        values = dict(state.resource("data.alembic_model_diff.models").values)
        assert values["has_metadata"] is True
        assert values["server_defaults_compared"] is False
        assert values["pending"] == []
        assert values["differences"] == [
            {
                "kind": "add_column",
                "table": "accounts",
                "column": "email",
                "text": "column 'email' of table 'accounts' (VARCHAR(200)) is only in the models",
            }
        ]

    harness.test(
        [Step(config=config, check=check), Step(config=config, plan_only=True)],
        provider=PROVIDER,
    )
