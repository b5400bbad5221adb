"""Acceptance test that no secret leaves the provider, even at ``TF_LOG=TRACE``.

A run with a password in the database URL (in ``url`` and in ``environment``), another secret
in ``environment`` and a migration whose error message quotes both is recorded in full:
every command's stdout and stderr and Terraform's trace log, which carries the provider's own
log lines. None of them may contain a secret. ``terraform show -json`` is left out: it prints the
state, which holds sensitive values by Terraform's design. Runs with the newest Terraform
starting the installed provider itself, against PostgreSQL (which accepts any password from
the local test client). Never edits the provider.
"""

from __future__ import annotations

import secrets
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from acceptance.databases import Database
from acceptance.harness import CommandResult, Harness, Step
from acceptance.providers import Managed
from acceptance.test_upgrade_semantics import (
    database_at,
    provider_block,
    resource_block,
)
from tests.alembic_projects import Revision, add_revision, make_project

pytestmark = [pytest.mark.acceptance, pytest.mark.newest_terraform]


def _leaking_revision(project: Path, *, fail: bool) -> None:
    # The error message quotes the URL and the token, as a careless env.py or migration might.
    code = (
        'raise RuntimeError("cannot migrate " + os.environ["DATABASE_URL"] + " with token "'
        ' + os.environ["API_TOKEN"])'
        if fail
        else ""
    )
    add_revision(project, "r2", "r1", "second", upgrade_code=code)


@pytest.mark.parametrize("database", ["postgresql"], indirect=True)
def test_no_secret_in_output_or_trace_log(
    harness: Harness, database: Database, tmp_path: Path
) -> None:
    password = f"pw-{secrets.token_hex(8)}"
    token = f"tok-{secrets.token_hex(8)}"
    url = make_url(database.url).set(password=password).render_as_string(hide_password=False)
    project = make_project(tmp_path / "alembic", revisions=[Revision("r1", None)])
    config = provider_block(project) + resource_block(
        "alembic_upgrade",
        "db",
        url=url,
        environment={"DATABASE_URL": url, "API_TOKEN": token},
    )
    trace_log = tmp_path / "terraform-trace.log"
    commands: list[CommandResult] = []
    harness.test(
        [
            Step(config=config, check=database_at(database, ["r1"])),
            Step(
                config=config,
                pre_config=lambda: _leaking_revision(project, fail=True),
                expect_error=r"cannot migrate",
            ),
            Step(
                config=config,
                pre_config=lambda: _leaking_revision(project, fail=False),
                check=database_at(database, ["r2"]),
            ),
        ],
        provider=Managed(),
        env={"TF_LOG": "TRACE", "TF_LOG_PATH": str(trace_log)},
        on_command=commands.append,
    )
    texts = {
        f"{' '.join(result.argv[1:3])} #{number} {stream}": text
        for number, result in enumerate(commands)
        if result.argv[1] != "show"
        for stream, text in (("stdout", result.stdout), ("stderr", result.stderr))
    }
    texts["trace log"] = trace_log.read_text(errors="replace")
    # The failure and the provider's own log lines were captured, so there was something to leak.
    assert "provider.terraform-provider-alembic" in texts["trace log"]
    assert "cannot migrate" in texts["trace log"]
    assert any("cannot migrate" in text for name, text in texts.items() if "apply" in name)
    for secret in (password, token, url):
        leaks = [name for name, text in texts.items() if secret in text]
        assert not leaks, f"a secret appears in: {', '.join(leaks)}"
