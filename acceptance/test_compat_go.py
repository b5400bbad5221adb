"""Acceptance tests that configurations and states written for the Go provider keep working.

The Go provider's example configuration (provider ``project_root``; a resource with an
``alembic`` command of a local virtualenv, ``target = "head"`` and ``DATABASE_URL`` in
``environment`` for env.py) must work unchanged, with every Terraform version found. A state the
Go provider wrote (schema version 2, a UUID ``id``, ``proxy_sleep = "5s"``, and sometimes a
``target`` its Read rewrote to a revision id) must upgrade with no diff beyond the new computed
attributes, and none at all after a refresh; a new revision afterwards is run by
``alembic_upgrade`` and only warned about by ``alembic_stamp``. Never edits the provider.
"""

from __future__ import annotations

import json
import os
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from acceptance.databases import Database, sqlite_database
from acceptance.harness import Harness, Step
from acceptance.providers import PROVIDER_SOURCE
from acceptance.state import Plan, State
from acceptance.terraform_bin import TerraformBinary
from acceptance.test_upgrade_semantics import (
    PROVIDER,
    database_at,
    hcl,
    newest_terraform,
    provider_block,
    run_alembic,
)
from tests.alembic_projects import Revision, add_revision, make_project, table_name

pytestmark = pytest.mark.acceptance

#: Attributes the Go provider did not have, which a plan may fill in without a refresh.
NEW_COMPUTED = frozenset({"revisions", "target_revisions", "pending", "sql"})


def alembic_command() -> str:
    """Return the ``alembic`` script of a local virtualenv, the oldest supported one if set up."""
    legacy = os.environ.get("ALEMBIC_TEST_LEGACY_PYTHON")
    if legacy:
        script = Path(legacy).parent / "alembic"
        if script.is_file():
            return str(script)
    return str(Path(sys.executable).parent / "alembic")


def go_config(
    project: Path, database: Database, type_name: str = "alembic_upgrade", record: str = ""
) -> str:
    """Return the Go provider's documented configuration shape, unchanged.

    :param record: a file env.py appends a line about each run to (interpreter, ``-x`` values).
    """
    record_line = f"    ALEMBIC_TEST_RECORD = {hcl(record)}\n" if record else ""
    return (
        provider_block(project)
        + f"""
resource "{type_name}" "db" {{
  alembic = [{hcl(alembic_command())}]
  target  = "head"
  extra = {{
    tenant = "acme"
  }}
  environment = {{
    DATABASE_URL = {hcl(database.url)}
{record_line}  }}
}}
"""
    )


def test_go_example_configuration(harness: Harness, tmp_path: Path) -> None:
    """Runs with every Terraform version found."""
    database = sqlite_database(tmp_path)
    project = make_project(
        tmp_path / "alembic", revisions=[Revision("r1", None), Revision("r2", "r1")]
    )
    record = tmp_path / "runs.jsonl"
    config = go_config(project, database, record=str(record))
    harness.test(
        [
            Step(config=config, check=database_at(database, ["r2"], "alembic_upgrade.db")),
            Step(
                config=config,
                pre_config=lambda: add_revision(project, "r3", "r2"),
                check=database_at(database, ["r3"], "alembic_upgrade.db"),
            ),
        ],
        provider=PROVIDER,
    )
    assert {table_name(r) for r in ("r1", "r2", "r3")} <= database.table_names()
    runs = [json.loads(line) for line in record.read_text().splitlines()]
    venv = str(Path(alembic_command()).parent.parent)
    assert runs, "env.py never ran"
    for run in runs:
        assert any(entry.startswith(venv) for entry in run["sys_path"]), run["sys_path"]
        assert run["x"] == {"tenant": "acme"}
        assert run["cwd"] == str(project)


def go_state(
    terraform: TerraformBinary, type_name: str, attributes: dict[str, Any]
) -> dict[str, Any]:
    """Return a version 4 state file holding one instance the Go provider wrote."""
    return {
        "version": 4,
        "terraform_version": terraform.version,
        "serial": 7,
        "lineage": str(uuid.uuid4()),
        "outputs": {},
        "resources": [
            {
                "mode": "managed",
                "type": type_name,
                "name": "db",
                "provider": f'provider["{PROVIDER_SOURCE}"]',
                "instances": [
                    {
                        "schema_version": 2,
                        "attributes": attributes,
                        "sensitive_attributes": [],
                    }
                ],
            }
        ],
    }


@dataclass(frozen=True)
class GoCase:
    """A database the Go provider migrated (or stamped) to r2, and the state it wrote."""

    terraform: TerraformBinary
    database: Database
    project: Path
    type_name: str
    stored_target: str
    go_id: str

    @property
    def address(self) -> str:
        return f"{self.type_name}.db"

    @property
    def config(self) -> str:
        return go_config(self.project, self.database, self.type_name)

    def write_state(self, workdir: Path) -> None:
        """Put the Go provider's state into the working directory, before ``terraform init``."""
        attributes = {
            "id": self.go_id,
            "target": self.stored_target,
            "tag": None,
            "environment": {"DATABASE_URL": self.database.url},
            "alembic": [alembic_command()],
            "extra": {"tenant": "acme"},
            "proxy_command": None,
            "proxy_sleep": "5s",
            "revision": "r2",
        }
        state = go_state(self.terraform, self.type_name, attributes)
        (workdir / "terraform.tfstate").write_text(json.dumps(state, indent=2))

    def test(self, steps: list[Step]) -> None:
        Harness(terraform=self.terraform, base_dir=self.project.parent).test(
            steps, provider=PROVIDER
        )


def go_case(tmp_path: Path, type_name: str, stored_target: str) -> GoCase:
    """Build the project and database the Go provider left; the newest Terraform runs it."""
    database = sqlite_database(tmp_path)
    project = make_project(
        tmp_path / "alembic", revisions=[Revision("r1", None), Revision("r2", "r1")]
    )
    run_alembic(project, database, "upgrade" if type_name == "alembic_upgrade" else "stamp", "r2")
    return GoCase(
        newest_terraform(), database, project, type_name, stored_target, str(uuid.uuid4())
    )


CASES = [
    pytest.param(type_name, target, id=f"{type_name}-{target}")
    for type_name in ("alembic_upgrade", "alembic_stamp")
    for target in ("head", "r2")
]


@pytest.mark.parametrize(("type_name", "stored_target"), CASES)
def test_go_state_upgrades_without_diff(tmp_path: Path, type_name: str, stored_target: str) -> None:
    """``stored_target = "r2"``: the Go provider's Read rewrote ``head`` to the head's id.

    Runs with the newest Terraform only: the upgrade is the provider's work.
    """
    case = go_case(tmp_path, type_name, stored_target)

    def only_new_attributes(plan: Plan) -> None:
        change = plan.change(case.address)
        if plan.refresh:
            assert not change.changed, f"a refreshed plan must be empty: {change}"
        else:
            unexpected = change.changed_keys() - NEW_COMPUTED
            assert not unexpected, f"attributes changed beyond the new computed ones: {change}"
        assert (change.after or {})["id"] == case.go_id
        assert (change.after or {})["target"] == stored_target

    def kept(state: State) -> None:
        database_at(case.database, ["r2"], case.address)(state)
        assert state.attr(case.address, "id") == case.go_id
        assert state.attr(case.address, "proxy_sleep") is None
        assert state.resource(case.address).schema_version == 3

    case.test(
        [
            Step(
                config=case.config,
                prepare_workdir=case.write_state,
                plan_only=True,
                allow_non_empty_plan=True,
                plan_check=only_new_attributes,
            ),
            Step(config=case.config, check=kept),
        ]
    )


@pytest.mark.parametrize(("type_name", "stored_target"), CASES)
def test_go_state_then_new_revision(tmp_path: Path, type_name: str, stored_target: str) -> None:
    """After the switch, a new revision runs (upgrade) or is only warned about (stamp)."""
    case = go_case(tmp_path, type_name, stored_target)
    reached = "r3" if type_name == "alembic_upgrade" else "r2"
    case.test(
        [
            Step(config=case.config, prepare_workdir=case.write_state),
            Step(
                config=case.config,
                pre_config=lambda: add_revision(case.project, "r3", "r2"),
                check=database_at(case.database, [reached], case.address),
            ),
        ]
    )
