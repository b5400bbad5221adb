"""Secrets never leave the executor: not in errors, output, diagnostics or log lines."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from alembic_provider.errors import MigrationError
from alembic_provider.executor import Project, WorkerExecutor
from tests.alembic_projects import Revision as Rev
from tests.alembic_projects import make_project, sqlite_url

LEAK_URL = """\
url = op.get_bind().engine.url.render_as_string(hide_password=False)
print("connected to", url, "with", os.environ["ALEMBIC_TEST_TOKEN"])
raise RuntimeError("cannot migrate " + url + " token " + os.environ["ALEMBIC_TEST_TOKEN"])
"""


class _Lines:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def debug(self, message: str, **fields: object) -> None:
        self.lines.append(f"{message} {fields}")

    def trace(self, message: str, **fields: object) -> None:
        self.lines.append(f"{message} {fields}")


def _everything(error: MigrationError) -> str:
    return "\n".join([error.message, error.stderr_tail, error.diagnostic().detail, str(error)])


@pytest.mark.parametrize("server_backend", ["postgresql"], indirect=True)
def test_password_in_an_error_is_redacted(
    server_url_db: str, tmp_path: Path, server_backend: str
) -> None:
    password = "Sup3r@Secret/pw"  # trust authentication accepts any password
    url = sa.make_url(server_url_db).set(password=password).render_as_string(hide_password=False)
    root = make_project(
        tmp_path, "sqlite:////nonexistent-dir/x.db", [Rev("aaaa0001", None, upgrade_code=LEAK_URL)]
    )
    token = "tok-4f9a-very-secret"
    project = Project(str(root), url=url, environment={"ALEMBIC_TEST_TOKEN": token})
    log = _Lines()

    with WorkerExecutor(log=log) as executor, pytest.raises(MigrationError) as raised:
        executor.upgrade(project, "heads")

    text = _everything(raised.value) + "\n".join(log.lines)
    assert "cannot migrate" in raised.value.message
    assert ":***@" in raised.value.message
    for secret in (password, "Sup3r%40Secret", "Sup3r", token):
        assert secret not in text, secret
    assert raised.value.revision == "aaaa0001"


def test_environment_values_are_redacted_from_output(tmp_path: Path) -> None:
    code = 'print("the token is", os.environ["ALEMBIC_TEST_TOKEN"])'
    root = make_project(
        tmp_path, sqlite_url(tmp_path / "db.sqlite"), [Rev("aaaa0001", None, upgrade_code=code)]
    )
    token = "tok-0123-secret"
    project = Project(str(root), environment={"ALEMBIC_TEST_TOKEN": token})
    log = _Lines()

    with WorkerExecutor(log=log, warm=False) as executor:
        result = executor.upgrade(project, "heads")

    assert "the token is ***" in result.output
    assert token not in result.output
    assert any("the token is ***" in line for line in log.lines)
    assert not any(token in line for line in log.lines)
