"""Acceptance test of the "Secrets and state" table: where a database password lands, per way.

Each way of passing a MariaDB URL with a real password (resource ``url`` or ``environment``,
the write-only arguments, the provider's ``url`` or ``environment`` from a plain or an
ephemeral variable or an ephemeral module output, ``DATABASE_URL`` in Terraform's own
environment, a proxy) migrates a database, plans twice more and is destroyed, while
:class:`~acceptance.secret_hunt.Hunt` reads everything the run leaves. The kinds of place the
password is found in (state, plan, command output, log, other) must be exactly the ones the
README's table lists for that way. Runs with the newest Terraform (ephemeral values need 1.10,
write-only arguments 1.11). Never edits the provider.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from acceptance import conftest
from acceptance.databases import Database, ServerPool, Unavailable
from acceptance.harness import Harness, Step
from acceptance.providers import Managed
from acceptance.secret_hunt import Hunt, short_temp_dir
from acceptance.state import State
from acceptance.tenants import Tenants, tenants_on
from acceptance.test_write_only import WRITE_ONLY
from tests.alembic_projects import Revision, make_project
from tests.support import fake_proxy_command, free_port, hcl

pytestmark = [
    pytest.mark.acceptance,
    pytest.mark.newest_terraform,
    pytest.mark.embedded_terraform,
]

ADDRESS = "alembic_upgrade.db"


@dataclass(frozen=True)
class Way:
    """One way of passing the URL: the configuration around it and where the password lands.

    ``provider`` and ``resource`` are HCL lines inside those blocks; ``url`` is the variable's
    value given a URL (a proxy rewrites it); ``files`` are written beside the configuration.
    """

    expected: frozenset[str]
    provider: str = ""
    resource: str = ""
    ephemeral: bool = False
    variable: bool = True
    database_url_env: bool = False
    proxy: bool = False
    files: dict[str, str] = field(default_factory=dict)


_MODULE = {
    "secret/main.tf": (
        'variable "url" {\n  type      = string\n  sensitive = true\n  ephemeral = true\n}\n'
        'output "url" {\n  value     = var.url\n  sensitive = true\n  ephemeral = true\n}\n'
    )
}

#: The README's "Secrets and state" table, row by row.
WAYS: dict[str, Way] = {
    "resource url": Way(frozenset({"state", "plan"}), resource="url = var.db_url"),
    "resource environment": Way(
        frozenset({"state", "plan"}), resource="environment = { DATABASE_URL = var.db_url }"
    ),
    "resource url_wo": Way(
        frozenset(), resource="url_wo = var.db_url\n  url_wo_version = 1", ephemeral=True
    ),
    "resource environment_wo": Way(
        frozenset(),
        resource="environment_wo = { DATABASE_URL = var.db_url }\n  environment_wo_version = 1",
        ephemeral=True,
    ),
    "provider url": Way(frozenset({"plan"}), provider="url = var.db_url"),
    "provider url, ephemeral variable": Way(
        frozenset(), provider="url = var.db_url", ephemeral=True
    ),
    "provider environment": Way(
        frozenset({"plan"}), provider="environment = { DATABASE_URL = var.db_url }"
    ),
    "provider environment, ephemeral variable": Way(
        frozenset(), provider="environment = { DATABASE_URL = var.db_url }", ephemeral=True
    ),
    "provider url, ephemeral output": Way(
        frozenset(), provider="url = module.secret.url", ephemeral=True, files=_MODULE
    ),
    "DATABASE_URL in Terraform's environment": Way(
        frozenset(), variable=False, database_url_env=True
    ),
    "proxy, resource url_wo": Way(
        frozenset(),
        resource="url_wo = var.db_url\n  url_wo_version = 1",
        ephemeral=True,
        proxy=True,
    ),
}


@pytest.fixture
def tenant(database_servers: ServerPool) -> Iterator[Tenants]:
    server = database_servers.server("mariadb")
    if isinstance(server, Unavailable):
        conftest.unavailable(server.reason)
        return
    with tenants_on(server, ("db",)) as made:
        yield made


@pytest.fixture
def temp() -> Iterator[Path]:
    """The run's ``TMPDIR``, searched too."""
    with short_temp_dir() as path:
        yield path


def _config(way: Way, project: Path, proxy: list[str] | None, port: int) -> str:
    variable = ""
    if way.variable:
        flag = "  ephemeral = true\n" if way.ephemeral else ""
        variable = f'variable "db_url" {{\n  type      = string\n  sensitive = true\n{flag}}}\n'
    module = ""
    if way.files:
        module = 'module "secret" {\n  source = "./secret"\n  url    = var.db_url\n}\n'
    proxy_lines = ""
    if proxy is not None:
        proxy_lines = f'  proxy_command = {hcl(proxy)}\n  proxy_ready = "127.0.0.1:{port}"\n'
    return (
        f"{variable}{module}"
        f'provider "alembic" {{\n  project_root = {hcl(str(project))}\n  {way.provider}\n}}\n'
        f'resource "alembic_upgrade" "db" {{\n  {way.resource}\n{proxy_lines}}}\n'
    )


def _write_files(files: dict[str, str]) -> Callable[[Path], None]:
    def write(workdir: Path) -> None:
        for name, text in files.items():
            (workdir / name).parent.mkdir(parents=True, exist_ok=True)
            (workdir / name).write_text(text)

    return write


def _at(database: Database, head: str) -> Callable[[State], None]:
    def check(state: State) -> None:
        assert state.resource(ADDRESS).values["revision"] == head
        assert database.heads() == (head,)

    return check


@pytest.mark.parametrize("name", list(WAYS))
def test_the_password_lands_only_where_the_table_says(
    harness: Harness, tenant: Tenants, tmp_path: Path, temp: Path, name: str
) -> None:
    if harness.terraform.version_tuple < WRITE_ONLY:
        pytest.skip("ephemeral values and write-only arguments need Terraform 1.11 or newer")
    way = WAYS[name]
    database = tenant.databases["db"]
    url = database.url
    port = free_port()
    proxy = None
    if way.proxy:
        upstream = make_url(url)
        proxy = fake_proxy_command(
            *("--listen", f"127.0.0.1:{port}"),
            *("--forward", f"{upstream.host}:{upstream.port or 3306}"),
        )
        url = upstream.set(host="127.0.0.1", port=port).render_as_string(hide_password=False)
    project = make_project(tmp_path / "alembic", revisions=[Revision("r1", None, "first")])
    hunt = Hunt((tenant.password,), extra_dirs=(temp,))
    env = {"TF_LOG": "TRACE", "TF_LOG_PATH": str(tmp_path / "trace.log"), "TMPDIR": str(temp)}
    env["DATABASE_URL" if way.database_url_env else "TF_VAR_db_url"] = url
    harness.test(
        [
            Step(
                config=_config(way, project, proxy, port),
                prepare_workdir=_write_files(way.files),
                plan_check=lambda plan: None,
                check=_at(database, "r1"),
            )
        ],
        provider=Managed(),
        env=env,
        on_command=hunt,
    )
    hunt.search_tree(tmp_path)
    hunt.search_tree(temp)
    assert hunt.searched_like("terraform.tfstate", "terraform.tfstate.backup", "trace.log")
    assert any("tfplan!" in place for place in hunt.searched), "no saved plan was searched"
    found = ", ".join(sorted(hunt.found))
    assert hunt.kinds == way.expected, f"the password was found in: {found or 'nothing'}"
