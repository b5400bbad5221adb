"""Acceptance tests of several resources acting on one database within one plan.

Each resource is planned from what the resources it depends on will leave, so one apply does
everything and the final plans agree with the first ones (never "Provider produced inconsistent
final plan"), and the plans after it are quiet. Runs with the newest Terraform against SQLite
through a provider started with ``--debug``; the user journeys run the adoption pattern on
PostgreSQL and MariaDB. Never edits the provider.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from acceptance.databases import Database, sqlite_database
from acceptance.harness import Harness, Step, normalise_output
from acceptance.state import Plan, State
from acceptance.test_upgrade_semantics import (
    PROVIDER,
    database_at,
    hcl,
    pending_ids,
    provider_block,
)
from tests.alembic_projects import Revision, add_revision, make_project

pytestmark = [pytest.mark.acceptance, pytest.mark.newest_terraform]


def block(type_name: str, name: str, body: str, depends_on: str = "") -> str:
    after = f"  depends_on = [{depends_on}]\n" if depends_on else ""
    return f'\n{type_name} "{name}" {{\n{body}{after}}}\n'


def quiet(plan: Plan) -> None:
    assert not plan.changed, plan.output
    assert "Warning" not in plan.output, plan.output


def test_stamp_baseline_then_upgrade_in_one_apply(harness: Harness, tmp_path: Path) -> None:
    """The adoption pattern of the alembic_stamp docs: one apply, quiet plans after."""
    database = sqlite_database(tmp_path)
    project = make_project(
        tmp_path / "alembic",
        revisions=[Revision("r1", None, "baseline"), Revision("r2", "r1", "add email")],
    )
    url = f"  url = {hcl(database.url)}\n"
    config = (
        provider_block(project)
        + block("resource", 'alembic_stamp" "baseline', f'  target = "r1"\n{url}')
        + block("resource", 'alembic_upgrade" "schema', url, "alembic_stamp.baseline")
    )

    def planned_from_the_stamp(plan: Plan) -> None:
        change = plan.change("alembic_upgrade.schema")
        assert pending_ids(change.after) == ["r2"], plan.output
        assert "Warning" not in plan.output, plan.output

    harness.test(
        [
            Step(
                config=config,
                plan_check=planned_from_the_stamp,
                check=database_at(database, ["r2"], "alembic_upgrade.schema"),
            ),
            Step(config=config, plan_only=True, plan_check=quiet),
            Step(
                config=config,
                pre_config=lambda: add_revision(project, "r3", "r2", "add orders"),
                check=database_at(database, ["r3"], "alembic_upgrade.schema"),
            ),
            Step(config=config, plan_only=True, plan_check=quiet),
        ],
        provider=PROVIDER,
    )
    assert "t_r1" not in database.table_names(), "the baseline is stamped, never run"


def test_two_upgrades_on_branches_of_one_database(harness: Harness, tmp_path: Path) -> None:
    database = sqlite_database(tmp_path)
    project = make_project(
        tmp_path / "alembic",
        revisions=[
            Revision("a1", None, "app", branch_labels=["app"]),
            Revision("a2", "a1", "app two"),
            Revision("b1", None, "audit", branch_labels=["audit"]),
        ],
    )
    env = f"  environment = {{ DATABASE_URL = {hcl(database.url)} }}\n"
    config = (
        provider_block(project)
        + block("resource", 'alembic_upgrade" "app', f'  target = "app@head"\n{env}')
        + block(
            "resource",
            'alembic_upgrade" "audit',
            f'  target = "audit@head"\n  url = {hcl(database.url)}\n',
            "alembic_upgrade.app",
        )
    )

    def second_after_first(plan: Plan) -> None:
        audit = plan.change("alembic_upgrade.audit")
        assert pending_ids(audit.after or {}) == ["b1"], plan.output
        # Each owns a branch: which heads the database holds after apply depends on the order
        # the two apply in, so both are known only after apply.
        for address in ("alembic_upgrade.app", "alembic_upgrade.audit"):
            assert plan.change(address).unknown("revisions"), plan.output

    harness.test(
        [
            Step(
                config=config,
                plan_check=second_after_first,
                check=database_at(database, ["a2", "b1"], "alembic_upgrade.audit"),
            ),
            Step(
                config=config,
                pre_config=lambda: (
                    add_revision(project, "a3", "a2", "app three"),
                    add_revision(project, "b2", "b1", "audit two"),
                ),
                check=database_at(database, ["a3", "b2"], "alembic_upgrade.audit"),
            ),
        ],
        provider=PROVIDER,
    )


def test_current_data_source_reports_the_planned_upgrade(harness: Harness, tmp_path: Path) -> None:
    database: Database = sqlite_database(tmp_path)
    project = make_project(
        tmp_path / "alembic", revisions=[Revision("r1", None), Revision("r2", "r1")]
    )
    url = f"  url = {hcl(database.url)}\n"
    config = (
        provider_block(project)
        + block("resource", 'alembic_upgrade" "schema', url)
        + block("data", 'alembic_current" "now', f"  target = alembic_upgrade.schema.target\n{url}")
        + '\noutput "revision" {\n  value = data.alembic_current.now.revision\n}\n'
    )

    def output_is(revision: str) -> Callable[[State], None]:
        def check(state: State) -> None:
            assert state.outputs["revision"] == revision, state.outputs

        return check

    harness.test(
        [
            Step(config=config, check=output_is("r2")),
            Step(
                config=config,
                pre_config=lambda: add_revision(project, "r3", "r2"),
                check=output_is("r3"),
            ),
        ],
        provider=PROVIDER,
    )


def test_import_block_with_settings_on_the_resource(harness: Harness, tmp_path: Path) -> None:
    """Terraform 1.5+ ``import {}``: the plan reads the database with the resource's url."""
    database = sqlite_database(tmp_path)
    project = make_project(
        tmp_path / "alembic", revisions=[Revision("r1", None), Revision("r2", "r1", "two")]
    )
    resource = block(
        "resource",
        'alembic_upgrade" "schema',
        f"  environment = {{ DATABASE_URL = {hcl(database.url)} }}\n",
    )
    created = provider_block(project) + resource
    adopted = created + '\nimport {\n  to = alembic_upgrade.schema\n  id = "heads"\n}\n'

    def forget(workdir: Path) -> None:
        (workdir / "terraform.tfstate").unlink()

    def imports_and_upgrades(plan: Plan) -> None:
        assert "1 to import" in plan.output, plan.output
        assert pending_ids(plan.change("alembic_upgrade.schema").after) == ["r3"], plan.output

    harness.test(
        [
            Step(config=created, check=database_at(database, ["r2"], "alembic_upgrade.schema")),
            Step(
                config=adopted,
                prepare_workdir=forget,
                pre_config=lambda: add_revision(project, "r3", "r2", "three"),
                plan_check=imports_and_upgrades,
                check=database_at(database, ["r3"], "alembic_upgrade.schema"),
            ),
            Step(config=adopted, plan_only=True, plan_check=quiet),
        ],
        provider=PROVIDER,
    )


@pytest.mark.embedded_terraform
def test_database_created_in_the_same_apply(harness: Harness, tmp_path: Path) -> None:
    """A database that cannot be reached while planning a create is planned from empty."""
    directory = tmp_path / "created-by-terraform"
    database = Database("sqlite", f"sqlite:///{directory / 'db.sqlite'}")
    project = make_project(
        tmp_path / "alembic", revisions=[Revision("r1", None, "one"), Revision("r2", "r1", "two")]
    )
    config = (
        provider_block(project)
        + block(
            "resource",
            'terraform_data" "directory',
            f"  input = {hcl(str(directory))}\n"
            '  provisioner "local-exec" {\n    command = "mkdir -p ${self.input}"\n  }\n',
        )
        + block(
            "resource",
            'alembic_upgrade" "schema',
            f"  url = {hcl(database.url)}\n",
            "terraform_data.directory",
        )
    )

    def planned_from_empty(plan: Plan) -> None:
        assert pending_ids(plan.change("alembic_upgrade.schema").after) == ["r1", "r2"]
        assert "Warning: Database Not Found" in plan.output, plan.output
        assert "starts from an empty version table" in normalise_output(plan.output)

    def remove_directory() -> None:
        for path in directory.iterdir():
            path.unlink()
        directory.rmdir()

    harness.test(
        [
            Step(
                config=config,
                plan_check=planned_from_empty,
                check=database_at(database, ["r2"], "alembic_upgrade.schema"),
            ),
            Step(
                config=config,
                pre_config=remove_directory,
                expect_error=r"Database Not Found.*terraform state rm",
            ),
        ],
        provider=PROVIDER,
    )
