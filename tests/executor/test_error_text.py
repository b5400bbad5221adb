"""Errors read like a person wrote them: what failed, the user's own frame, what to do.

The worker's own frames and Alembic's log lines stay out of the message; the full traceback
goes to the provider's debug log. Runs the real worker against SQLite, with the files a real
``alembic init`` writes where the stock ``env.py`` matters.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from alembic_provider.errors import ConfigError, MigrationError
from alembic_provider.executor import Project, WorkerExecutor
from tests.alembic_projects import Revision, add_revision, sqlite_url
from tests.executor.conftest import ProjectFactory

_STOCK_URL_HELP = (
    "Set 'url' on the resource or the provider instead (the provider passes it to env.py as "
    "sqlalchemy.url), or make env.py read DATABASE_URL by adding these lines after "
    "'config = context.config':\n\n"
    "    import os\n\n"
    '    if os.environ.get("DATABASE_URL"):\n'
    '        config.set_main_option("sqlalchemy.url", os.environ["DATABASE_URL"]'
    '.replace("%", "%%"))'
)


class _Log:
    """Collects what the executor logs, as the provider's logger would."""

    def __init__(self) -> None:
        self.lines: list[tuple[str, dict[str, Any]]] = []

    def debug(self, message: str, **fields: Any) -> None:
        self.lines.append((message, fields))

    def trace(self, message: str, **fields: Any) -> None:
        self.lines.append((message, fields))


def alembic_init(tmp_path: Path) -> Path:
    """Run ``alembic init migrations`` the way a user starts a project."""
    project = tmp_path / "service"
    project.mkdir()
    subprocess.run(
        [sys.executable, "-m", "alembic", "init", "migrations"],
        cwd=project,
        check=True,
        capture_output=True,
    )
    return project


def test_failed_migration_names_the_users_line_and_what_to_do(
    project_factory: ProjectFactory, tmp_path: Path
) -> None:
    project = project_factory(
        [Revision("a1", None, "create users"), Revision("a2", "a1", "add email", fail=True)],
        database=sqlite_url(tmp_path / "db.sqlite"),
    )
    log = _Log()
    with WorkerExecutor(warm=False, log=log) as executor, pytest.raises(MigrationError) as raised:
        executor.upgrade(project, "heads")
    migration = Path(project.project_root, "migrations", "versions", "a2.py").read_text()
    line = migration.splitlines().index(
        '        op.execute("SELECT missing_column FROM missing_table_t_a2")'
    )
    detail = raised.value.diagnostic().detail
    assert detail == (
        "Revision 'a2' (add email) failed during upgrade: OperationalError: "
        "(sqlite3.OperationalError) no such table: missing_table_t_a2\n"
        "[SQL: SELECT missing_column FROM missing_table_t_a2]\n\n"
        f'  File "migrations/versions/a2.py", line {line + 1}, in upgrade\n'
        '    op.execute("SELECT missing_column FROM missing_table_t_a2")\n\n'
        "The database is now at revision 'a1'.\n\n"
        "Fix the migration, then apply again: the next apply continues from the revision the "
        "database reached. The full traceback is in the provider's log: run Terraform with "
        "TF_LOG=DEBUG."
    )
    traces = [fields["traceback"] for message, fields in log.lines if "traceback" in fields]
    assert len(traces) == 1
    assert "Traceback (most recent call last)" in traces[0]
    assert "tfalembic_verbs.py" in traces[0], "the log keeps the worker's frames"


def test_failing_env_py_names_its_line_once(tmp_path: Path) -> None:
    project = alembic_init(tmp_path)
    env = project / "migrations" / "env.py"
    env.write_text(env.read_text().replace("target_metadata = None", "target_metadata = 1 / 0"))
    with WorkerExecutor(warm=False) as executor, pytest.raises(MigrationError) as raised:
        executor.current(Project(str(project), url=sqlite_url(tmp_path / "db.sqlite")))
    error = raised.value
    assert error.summary == "Alembic Environment Failed"
    line = env.read_text().splitlines().index("target_metadata = 1 / 0") + 1
    assert error.diagnostic().detail == (
        "env.py failed: ZeroDivisionError: division by zero\n\n"
        f'  File "migrations/env.py", line {line}, in <module>\n'
        "    target_metadata = 1 / 0\n\n"
        "Fix env.py (or what it imports), then plan again. The full traceback is in the "
        "provider's log: run Terraform with TF_LOG=DEBUG."
    )


def test_stock_env_py_with_environment_explains_the_placeholder_url(tmp_path: Path) -> None:
    project = alembic_init(tmp_path)
    add_revision(project, "a1", None, "create users")
    url = sqlite_url(tmp_path / "db.sqlite")
    with WorkerExecutor(warm=False) as executor, pytest.raises(ConfigError) as raised:
        executor.inspect(Project(str(project), environment={"DATABASE_URL": url}), "heads")
    error = raised.value
    assert error.summary == "Database URL Not Set"
    detail = error.diagnostic().detail
    assert detail.startswith(
        "env.py connected with the placeholder URL 'driver://...' that 'alembic init' writes "
        "into alembic.ini. 'environment' sets 'DATABASE_URL', but this env.py never reads it: "
        "like the one 'alembic init' writes, it connects with sqlalchemy.url from alembic.ini."
        f"\n\n{_STOCK_URL_HELP}\n\n"
        '  File "migrations/env.py", line '
    )
    assert "Can't load plugin" not in detail
    assert "TF_LOG" not in detail


def test_stock_env_py_without_a_url_explains_the_placeholder_url(tmp_path: Path) -> None:
    project = alembic_init(tmp_path)
    with WorkerExecutor(warm=False) as executor, pytest.raises(ConfigError) as raised:
        executor.current(Project(str(project)))
    assert raised.value.message == (
        "env.py connected with the placeholder URL 'driver://...' that 'alembic init' writes "
        "into alembic.ini. No database URL reached env.py, which connects with sqlalchemy.url."
        "\n\nSet 'url' on the resource or the provider (the provider passes it to env.py as "
        "sqlalchemy.url), or put the real URL in alembic.ini."
    )


def test_stock_env_py_works_with_url(tmp_path: Path) -> None:
    project = alembic_init(tmp_path)
    add_revision(project, "a1", None, "create users")
    root = Project(str(project), url=sqlite_url(tmp_path / "db.sqlite"))
    with WorkerExecutor(warm=False) as executor:
        assert executor.upgrade(root, "heads").heads == ("a1",)


def _documented_env_py_change(path: Path) -> str:
    text = path.read_text()
    start = text.index("```python\n") + len("```python\n")
    return text[start : text.index("```", start)]


def test_documented_env_py_change_makes_environment_work(tmp_path: Path) -> None:
    root = Path(__file__).resolve().parents[2]
    change = _documented_env_py_change(root / "templates" / "provider.md")
    assert _documented_env_py_change(root / "README.md") == change
    assert _STOCK_URL_HELP.endswith(
        change.rstrip("\n").replace("\n", "\n    ").replace("\n    \n", "\n\n")
    )
    project = alembic_init(tmp_path)
    add_revision(project, "a1", None, "create users")
    env = project / "migrations" / "env.py"
    anchor = "config = context.config\n"
    env.write_text(env.read_text().replace(anchor, anchor + change, 1))
    url = sqlite_url(tmp_path / "db%20name.sqlite")
    with WorkerExecutor(warm=False) as executor:
        result = executor.upgrade(Project(str(project), environment={"DATABASE_URL": url}), "heads")
    assert result.heads == ("a1",)


def test_migration_that_does_not_compile_shows_its_line(tmp_path: Path) -> None:
    project = alembic_init(tmp_path)
    add_revision(project, "a1", None, "create users")
    broken = add_revision(project, "a2", "a1", "add email")
    broken.write_text(broken.read_text().replace("def upgrade():", "def upgrade(:"))
    line = broken.read_text().splitlines().index("def upgrade(:") + 1
    root = Project(str(project), url=sqlite_url(tmp_path / "db.sqlite"))
    with WorkerExecutor(warm=False) as executor, pytest.raises(MigrationError) as raised:
        executor.inspect(root, "heads")
    error = raised.value
    assert error.summary == "Invalid Migration Scripts"
    assert error.diagnostic().detail == (
        f"The migration scripts in '{project / 'migrations'}' could not be loaded: SyntaxError: "
        f"invalid syntax (a2.py, line {line})\n\n"
        f'  File "migrations/versions/a2.py", line {line}\n'
        "    def upgrade(:\n\n"
        "Fix the migration file, then plan again. The full traceback is in the provider's log: "
        "run Terraform with TF_LOG=DEBUG."
    )
