"""Acceptance tests of ``proxy_command``: two resources reach PostgreSQL through one proxy.

The proxy is the forwarding stand-in from ``tests/proxy/fake_proxy.py``: it starts listening
0.3 s after it starts, forwards to the real server and records each start. Both resources use
identical proxy settings, so each provider process that touches the databases starts the proxy
once and shares it; when Terraform is done, no proxy process is left. A proxy executable that
does not exist is an error of the plan, even when nothing is started while planning.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from acceptance.conftest import unavailable
from acceptance.databases import (
    Database,
    ServerPool,
    Unavailable,
    fresh_database,
    sqlite_database,
)
from acceptance.harness import Harness, Step
from acceptance.providers import Managed
from acceptance.state import State
from acceptance.terraform_bin import TerraformBinary, find_binaries
from tests.alembic_projects import Revision, make_project
from tests.support import fake_proxy_command, free_port, hcl, is_alive, recorded_pids

pytestmark = pytest.mark.acceptance

_NEWEST = find_binaries()[-1:]


@pytest.fixture
def two_databases(database_servers: ServerPool) -> Iterator[tuple[Database, Database]]:
    server = database_servers.server("postgresql")
    if isinstance(server, Unavailable):
        unavailable(server.reason)
    assert not isinstance(server, Unavailable)
    with ExitStack() as stack:
        first = stack.enter_context(fresh_database("postgresql", server))
        second = stack.enter_context(fresh_database("postgresql", server))
        yield first, second


def _through(url: str, port: int) -> str:
    return make_url(url).set(host="127.0.0.1", port=port).render_as_string(hide_password=False)


@pytest.mark.parametrize("terraform", _NEWEST, ids=[b.id for b in _NEWEST], indirect=False)
def test_two_resources_share_one_proxy_to_postgresql(
    terraform: TerraformBinary, two_databases: tuple[Database, Database], tmp_path: Path
) -> None:
    first, second = two_databases
    upstream = make_url(first.url)
    port = free_port()
    record = tmp_path / "proxy-starts"
    project = make_project(
        tmp_path / "alembic", revisions=[Revision("r1", None, "first"), Revision("r2", "r1")]
    )
    command = fake_proxy_command(
        *("--listen", f"127.0.0.1:{port}"),
        *("--forward", f"{upstream.host}:{upstream.port or 5432}"),
        *("--delay", "0.3"),
        *("--record", str(record)),
    )
    resources = "\n".join(
        f"""
resource "alembic_upgrade" "{name}" {{
  target        = "heads"
  proxy_command = {hcl(command)}
  proxy_ready   = "127.0.0.1:{port}"
  environment = {{
    DATABASE_URL = {hcl(_through(db.url, port))}
  }}
}}
"""
        for name, db in (("first", first), ("second", second))
    )
    config = f'provider "alembic" {{\n  project_root = {hcl(str(project))}\n}}\n{resources}'

    def both_migrated_one_start_per_process(state: State) -> None:
        assert state.attr("alembic_upgrade.first", "revision") == "r2"
        assert state.attr("alembic_upgrade.second", "revision") == "r2"
        assert first.heads() == ("r2",)
        assert second.heads() == ("r2",)
        # The create plan and the apply each ran in one provider process that touched both
        # databases: one proxy start each, shared by the two resources.
        starts = recorded_pids(record)
        assert len(starts) == 2, f"proxy started {len(starts)} times: {starts}"

    def no_proxy_left(state: State) -> None:
        alive = [pid for pid in recorded_pids(record) if is_alive(pid)]
        assert not alive, f"proxy processes still running: {alive}"
        assert first.heads() == ("r2",), "destroy leaves the database as it is"

    Harness(terraform=terraform, base_dir=tmp_path).test(
        [Step(config=config, check=both_migrated_one_start_per_process)],
        check_destroy=no_proxy_left,
        provider=Managed(),
    )


@pytest.mark.newest_terraform  # terraform_data: Terraform 1.4
def test_a_proxy_executable_that_does_not_exist_is_an_error_at_plan(
    terraform: TerraformBinary, tmp_path: Path
) -> None:
    """Checked when planned, even while the URL is known only after apply (nothing starts)."""
    project = make_project(tmp_path / "alembic", revisions=[Revision("r1", None, "first")])
    url = sqlite_database(tmp_path).url
    config = f"""
provider "alembic" {{
  project_root = {hcl(str(project))}
}}

resource "terraform_data" "database" {{
  input = {hcl(url)}
}}

resource "alembic_upgrade" "db" {{
  proxy_command = ["no-such-proxy-x", "--port", "1"]
  environment = {{
    DATABASE_URL = terraform_data.database.output
  }}
}}
"""
    Harness(terraform=terraform, base_dir=tmp_path).test(
        [
            Step(
                config=config,
                plan_only=True,
                expect_error=r"Error: Proxy Command Not Found with alembic_upgrade\.db.*"
                r"proxy_command.*"
                + re.escape("The proxy command's executable 'no-such-proxy-x' is not on PATH"),
            ),
        ],
        provider=Managed(),
    )
    assert url.removeprefix("sqlite:///") and not Path(url.removeprefix("sqlite:///")).exists()
