"""Acceptance tests of what ``alembic_upgrade`` promises its users, step by step with Terraform.

Each test walks one promise: the plan lists pending migrations, a database moved by hand shows
up and is brought back, the downgrade guard, branches, unknown inputs, the plan-versus-apply
check, partial failure, destroy, import, the SQL preview and the migration lock. Plans are read
from ``terraform show -json`` of the saved plan, never scraped from text. Most tests run once,
with the newest Terraform, SQLite and a provider started with ``--debug``; the ones about
transactions and locking also run against PostgreSQL and MariaDB. The helpers at the top are
shared with the other acceptance modules of the resources. Never edits the provider.
"""

from __future__ import annotations

import functools
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from acceptance import conftest
from acceptance.databases import Database, sqlite_database
from acceptance.harness import AcceptanceError, Harness, Step
from acceptance.providers import Reattach
from acceptance.state import Plan, State
from acceptance.terraform_bin import TerraformBinary
from tests.alembic_projects import Revision, add_revision, make_project, table_name
from tests.server_activity import waiting_for_lock
from tests.support import hcl as hcl_literal

pytestmark = [pytest.mark.acceptance, pytest.mark.newest_terraform]

ADDRESS = "alembic_upgrade.db"
PROVIDER = Reattach()
ROOT = Path(__file__).resolve().parent.parent

HclValue = str | bool | list[str] | Mapping[str, str]


# -- helpers shared by the resource acceptance modules ----------------------------------------


@functools.cache
def newest_terraform() -> TerraformBinary:
    """Return the newest Terraform found, for tests that need not run on every version."""
    binary = conftest.newest_binary()
    if binary is None:
        conftest.unavailable("No terraform binary found.")
    assert binary is not None
    return binary


def hcl(value: HclValue) -> str:
    """Render a string, bool, list or map of strings as HCL, keeping ``${`` and ``%{`` literal."""
    if isinstance(value, bool | str | list):
        return hcl_literal(value)
    entries = "".join(f"    {key} = {hcl(item)}\n" for key, item in value.items())
    return "{\n" + entries + "  }"


def provider_block(project: Path, **attributes: HclValue) -> str:
    """Return the provider block for ``project``; ``attributes`` are added (``url`` …)."""
    lines = "".join(f"  {name} = {hcl(value)}\n" for name, value in attributes.items())
    return f'provider "alembic" {{\n  project_root = {hcl(str(project))}\n{lines}}}\n'


def resource_block(type_name: str, name: str, **attributes: HclValue) -> str:
    """Return one resource block with the given attributes."""
    lines = "".join(f"  {key} = {hcl(value)}\n" for key, value in attributes.items())
    return f'\nresource "{type_name}" "{name}" {{\n{lines}}}\n'


def upgrade_config(project: Path, database: Database, **attributes: HclValue) -> str:
    """Return a provider block and ``alembic_upgrade.db``, with the URL read by env.py."""
    attributes.setdefault("environment", {"DATABASE_URL": database.url})
    return provider_block(project) + resource_block("alembic_upgrade", "db", **attributes)


def run_alembic(project: Path, database: Database, *args: str) -> None:
    """Move the database by hand with the Alembic command line, as an operator would."""
    result = subprocess.run(
        [sys.executable, "-m", "alembic", "-c", str(project / "alembic.ini"), *args],
        cwd=project,
        env={**os.environ, "DATABASE_URL": database.url},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, f"alembic {' '.join(args)} failed:\n{result.stderr}"


def pending_of(values: Mapping[str, Any] | None) -> list[tuple[str, str]]:
    """Return ``pending`` as ``(revision, message)`` pairs."""
    return [(item["revision"], item["message"]) for item in (values or {}).get("pending") or []]


def pending_ids(values: Mapping[str, Any] | None) -> list[str]:
    """Return the revision ids of ``pending``."""
    return [revision for revision, _ in pending_of(values)]


def database_at(
    database: Database, heads: Sequence[str], address: str = ADDRESS
) -> Callable[[State], None]:
    """Check that the state's ``revision`` and the database's version table both say ``heads``."""
    expected = tuple(sorted(heads))

    def check(state: State) -> None:
        assert state.attr(address, "revision") == ",".join(expected), (
            f"state revision is {state.attr(address, 'revision')!r}, expected {expected!r}"
        )
        assert tuple(state.attr(address, "revisions")) == expected
        assert database.heads() == expected, f"database heads are {database.heads()!r}"

    return check


def planned(
    action: str,
    address: str = ADDRESS,
    *,
    before: str | None = None,
    after: str | None = None,
    pending: Sequence[str] | None = None,
) -> Callable[[Plan], None]:
    """Check one planned change: its action, ``revision`` old → new and the ``pending`` ids."""

    def check(plan: Plan) -> None:
        change = plan.change(address)
        assert change.actions == (action,), f"planned {change.actions}, expected {action!r}"
        if before is not None:
            assert (change.before or {}).get("revision") == before
        if after is not None:
            assert (change.after or {}).get("revision") == after
        if pending is not None:
            assert pending_ids(change.after) == list(pending)

    return check


def unknown_revision(plan: Plan, address: str = ADDRESS) -> None:
    """Check that the plan shows the database's heads as known only after apply."""
    change = plan.change(address)
    assert change.unknown("revision") and change.unknown("revisions"), plan.output


def _project(tmp_path: Path, revisions: Sequence[Revision]) -> Path:
    return make_project(tmp_path / "alembic", revisions=revisions)


def _idempotent(rev_id: str, down: str | None, message: str = "") -> Revision:
    """A revision whose SQL tolerates a database stamped past or behind its tables."""
    table = table_name(rev_id)
    return Revision(
        rev_id,
        down,
        message,
        upgrade_sql=f"CREATE TABLE IF NOT EXISTS {table} (id INTEGER PRIMARY KEY)",
        downgrade_sql=f"DROP TABLE IF EXISTS {table}",
    )


# -- 1. the plan lists what will run -----------------------------------------------------------


def test_plan_lists_pending_migrations(harness: Harness, tmp_path: Path) -> None:
    database = sqlite_database(tmp_path)
    project = _project(
        tmp_path, [Revision("r1", None, "create users"), Revision("r2", "r1", "add email")]
    )
    config = upgrade_config(project, database)

    def create_plan(plan: Plan) -> None:
        change = plan.change(ADDRESS)
        assert change.actions == ("create",)
        assert change.after is not None
        assert change.after["revision"] == "r2"
        assert change.after["target"] == "heads"
        assert change.after["target_revisions"] == ["r2"]
        assert pending_of(change.after) == [("r1", "create users"), ("r2", "add email")]
        assert not database.heads(), "the plan must not migrate"

    def update_plan(plan: Plan) -> None:
        change = plan.change(ADDRESS)
        assert change.actions == ("update",)
        assert (change.before or {})["revision"] == "r2"
        assert (change.after or {})["revision"] == "r3"
        assert pending_of(change.after) == [("r3", "create orders")]
        assert database.heads() == ("r2",), "the plan must not migrate"

    harness.test(
        [
            Step(config=config, plan_check=create_plan, check=database_at(database, ["r2"])),
            Step(
                config=config,
                pre_config=lambda: add_revision(project, "r3", "r2", "create orders"),
                plan_check=update_plan,
                check=database_at(database, ["r3"]),
            ),
        ],
        provider=PROVIDER,
    )
    # Destroy left the database as it is.
    assert {table_name(r) for r in ("r1", "r2", "r3")} <= database.table_names()


def test_apply_without_refresh_records_a_revision_run_by_hand(
    harness: Harness, tmp_path: Path
) -> None:
    database = sqlite_database(tmp_path)
    project = _project(tmp_path, [Revision("r1", None)])
    config = upgrade_config(project, database)

    def run_by_hand() -> None:
        add_revision(project, "r2", "r1")
        run_alembic(project, database, "upgrade", "heads")

    harness.test(
        [
            Step(config=config, check=database_at(database, ["r1"])),
            # Without a refresh the plan still reads the database and records the new revision.
            Step(
                config=config,
                pre_config=run_by_hand,
                refresh=False,
                plan_check=planned("update", before="r1", after="r2"),
                check=database_at(database, ["r2"]),
            ),
        ],
        provider=PROVIDER,
    )


# -- 2. a database moved by hand shows up and is brought back ----------------------------------


def test_database_moved_by_hand_is_brought_back(harness: Harness, tmp_path: Path) -> None:
    database = sqlite_database(tmp_path)
    project = _project(
        tmp_path, [_idempotent("r1", None), _idempotent("r2", "r1"), _idempotent("r3", "r2")]
    )
    config = upgrade_config(project, database, target="r2", allow_downgrade=True)

    def upgraded_by_hand(plan: Plan) -> None:
        # Without a refresh the state still says r2, yet the plan read the database's heads.
        change = plan.change(ADDRESS)
        assert change.actions == ("update",)
        assert (change.before or {})["revision"] == ("r3" if plan.refresh else "r2")
        assert (change.after or {})["revision"] == "r2"
        assert pending_ids(change.after) == ["r3"]

    harness.test(
        [
            Step(config=config, check=database_at(database, ["r2"])),
            Step(
                config=config,
                plan_only=True,
                expect_non_empty_plan=True,
                pre_config=lambda: run_alembic(project, database, "upgrade", "r3"),
                plan_check=upgraded_by_hand,
            ),
            Step(
                config=config,
                plan_check=planned("update", before="r3", after="r2", pending=["r3"]),
                check=database_at(database, ["r2"]),
            ),
            Step(
                config=config,
                pre_config=lambda: run_alembic(project, database, "downgrade", "r1"),
                plan_check=planned("update", before="r1", after="r2", pending=["r2"]),
                check=database_at(database, ["r2"]),
            ),
            Step(
                config=config,
                pre_config=lambda: run_alembic(project, database, "stamp", "base"),
                plan_check=planned("update", before="", after="r2", pending=["r1", "r2"]),
                check=database_at(database, ["r2"]),
            ),
        ],
        provider=PROVIDER,
    )
    assert table_name("r3") not in database.table_names()


# -- 3. the downgrade guard --------------------------------------------------------------------


def test_target_behind_database_needs_allow_downgrade(harness: Harness, tmp_path: Path) -> None:
    database = sqlite_database(tmp_path)
    project = _project(tmp_path, [Revision("r1", None), Revision("r2", "r1"), Revision("r3", "r2")])
    harness.test(
        [
            Step(config=upgrade_config(project, database), check=database_at(database, ["r3"])),
            Step(
                config=upgrade_config(project, database, target="r1"),
                expect_error=r"allow_downgrade = true",
            ),
            Step(
                config=upgrade_config(project, database, target="r1", allow_downgrade=True),
                plan_check=planned("update", before="r3", after="r1", pending=["r3", "r2"]),
                check=database_at(database, ["r1"]),
            ),
        ],
        provider=PROVIDER,
    )
    assert table_name("r2") not in database.table_names()
    assert table_name("r1") in database.table_names()


# -- 4. branches -------------------------------------------------------------------------------


def test_multiple_heads_need_heads_or_a_branch(harness: Harness, tmp_path: Path) -> None:
    database = sqlite_database(tmp_path)
    project = _project(
        tmp_path,
        [
            Revision("r1", None, "base"),
            Revision("a1", "r1", "alpha feature", branch_labels=["alpha"]),
            Revision("b1", "r1", "beta feature", branch_labels=["beta"]),
        ],
    )

    def alpha_created(plan: Plan) -> None:
        planned("create", pending=["r1", "a1"])(plan)
        # The beta branch may move meanwhile: the heads are known after apply.
        unknown_revision(plan)

    harness.test(
        [
            Step(
                config=upgrade_config(project, database, target="head"),
                expect_error=r"several heads \('a1', 'b1'\); use 'heads' to apply all of them, "
                r"'<branch>@head' for one branch",
            ),
            Step(
                config=upgrade_config(project, database, target="alpha@head"),
                plan_check=alpha_created,
                check=database_at(database, ["a1"]),
            ),
            Step(
                config=upgrade_config(project, database, target="heads"),
                plan_check=planned("update", before="a1", after="a1,b1", pending=["b1"]),
                check=database_at(database, ["a1", "b1"]),
            ),
        ],
        provider=PROVIDER,
    )


# -- 5. unknown inputs -------------------------------------------------------------------------


@pytest.mark.embedded_terraform
def test_unknown_input_plans_unknown_values(harness: Harness, tmp_path: Path) -> None:
    database = sqlite_database(tmp_path)
    database_file = tmp_path / "acceptance.sqlite"
    project = _project(tmp_path, [Revision("r1", None), Revision("r2", "r1")])
    config = (
        provider_block(project)
        + resource_block("terraform_data", "database", input="created in this apply")
        + '\ndata "alembic_revisions" "scripts" {\n'
        "  depends_on = [terraform_data.database]\n}\n" + '\nresource "alembic_upgrade" "db" {\n'
        "  environment = {\n"
        f"    DATABASE_URL = {hcl(database.url)}\n"
        "    SCRIPTS      = data.alembic_revisions.scripts.id\n"
        "  }\n}\n"
    )

    def unknown_plan(plan: Plan) -> None:
        change = plan.change(ADDRESS)
        assert change.actions == ("create",)
        for key in ("revision", "revisions", "target_revisions", "pending", "sql"):
            assert change.unknown(key), f"'{key}' should be known only after apply"
        assert change.after_unknown.get("environment"), "an unknown input must stay unknown"
        assert plan.change("data.alembic_revisions.scripts").actions == ("read",)
        assert not database_file.exists(), "the plan must not touch the database"

    harness.test(
        [Step(config=config, plan_check=unknown_plan, check=database_at(database, ["r2"]))],
        provider=PROVIDER,
    )


# -- 6. apply runs exactly the planned step ----------------------------------------------------


def test_database_moved_after_plan_stops_apply(harness: Harness, tmp_path: Path) -> None:
    database = sqlite_database(tmp_path)
    project = _project(tmp_path, [Revision("r1", None)])
    config = upgrade_config(project, database)

    def move_after_plan(plan: Plan) -> None:
        planned("update", before="r1", after="r2", pending=["r2"])(plan)
        run_alembic(project, database, "downgrade", "base")

    def refused(state: State) -> None:
        assert database.heads() == (), "nothing may run after the database moved"
        # Terraform's final plan failed, so apply never ran and the state was left alone;
        # the next refresh records where the database is.
        assert state.attr(ADDRESS, "revision") == "r1"

    harness.test(
        [
            Step(config=config, check=database_at(database, ["r1"])),
            Step(
                config=config,
                pre_config=lambda: add_revision(project, "r2", "r1"),
                plan_check=move_after_plan,
                expect_error=r"Database Moved.*The database moved from 'r1' to 'base' after "
                r"Terraform last read it \(after the plan was made",
                check=refused,
            ),
            Step(
                config=config,
                plan_check=planned("update", before="", after="r2", pending=["r1", "r2"]),
                check=database_at(database, ["r2"]),
            ),
        ],
        provider=PROVIDER,
    )


# -- 7. a failure part-way ---------------------------------------------------------------------


def _write_r3(project: Path, *, fail: bool) -> None:
    # IF NOT EXISTS: MariaDB commits DDL at once, so a failed run leaves the table behind.
    table = table_name("r3")
    add_revision(
        project,
        "r3",
        "r2",
        "r3 migration",
        upgrade_sql=f"CREATE TABLE IF NOT EXISTS {table} (id INTEGER PRIMARY KEY)",
        fail=fail,
    )


@pytest.mark.parametrize("database", ["sqlite", "postgresql", "mariadb"], indirect=True)
def test_failed_apply_records_the_revision_reached(
    harness: Harness, database: Database, tmp_path: Path
) -> None:
    project = _project(tmp_path, [Revision("r1", None)])
    config = upgrade_config(project, database)
    # PostgreSQL runs the default env.py's one transaction: the failure rolls r2 back too.
    reached = "r1" if database.kind == "postgresql" else "r2"
    still_pending = ["r2", "r3"] if database.kind == "postgresql" else ["r3"]

    def add_failing() -> None:
        add_revision(project, "r2", "r1", "r2 migration")
        _write_r3(project, fail=True)

    def failed(state: State) -> None:
        database_at(database, [reached])(state)
        # The state holds where the database is, and nothing pending that already ran.
        assert state.attr(ADDRESS, "pending") == [], state.attr(ADDRESS, "pending")
        assert state.attr(ADDRESS, "sql") == ""

    # MariaDB commits r3's CREATE TABLE at once; the message says so after the SQL.
    committed = (
        r"\] One statement of revision 'r3' ran before the error; MariaDB commits DDL "
        r"implicitly, so this one stays committed: 'CREATE TABLE IF NOT EXISTS t_r3 \(id "
        r"INTEGER PRIMARY KEY\)'\. Check the database before applying again\."
        if database.kind == "mariadb"
        else r"Migration Failed"
    )

    harness.test(
        [
            Step(config=config, check=database_at(database, ["r1"])),
            Step(
                config=config,
                pre_config=add_failing,
                plan_check=planned("update", before="r1", after="r3", pending=["r2", "r3"]),
                expect_error=committed,
                check=failed,
            ),
            Step(
                config=config,
                pre_config=lambda: _write_r3(project, fail=False),
                plan_check=planned("update", before=reached, after="r3", pending=still_pending),
                check=database_at(database, ["r3"]),
            ),
        ],
        provider=PROVIDER,
    )


def test_failed_create_is_replaced_from_where_it_stopped(harness: Harness, tmp_path: Path) -> None:
    database = sqlite_database(tmp_path)
    project = _project(tmp_path, [Revision("r1", None)])
    config = upgrade_config(project, database)

    def add_failing() -> None:
        add_revision(project, "r2", "r1", "r2 migration")
        _write_r3(project, fail=True)

    def replaced(plan: Plan) -> None:
        # Terraform taints a resource whose create failed; the replacement runs only what is left.
        change = plan.change(ADDRESS)
        assert change.actions == ("delete", "create"), change.actions
        assert (change.before or {}).get("revision") == "r2"
        assert pending_ids(change.after) == ["r3"]

    harness.test(
        [
            Step(
                config=config,
                pre_config=add_failing,
                expect_error=r"Migration Failed",
                check=database_at(database, ["r2"]),
            ),
            Step(
                config=config,
                pre_config=lambda: _write_r3(project, fail=False),
                plan_check=replaced,
                check=database_at(database, ["r3"]),
            ),
        ],
        provider=PROVIDER,
    )


# -- 8. destroy --------------------------------------------------------------------------------


def test_on_destroy_base_downgrades(harness: Harness, tmp_path: Path) -> None:
    database = sqlite_database(tmp_path)
    project = _project(tmp_path, [Revision("r1", None), Revision("r2", "r1")])

    def downgraded(state: State) -> None:
        assert database.heads() == ()
        assert not {table_name("r1"), table_name("r2")} & database.table_names()

    harness.test(
        [
            Step(
                config=upgrade_config(project, database, on_destroy="base"),
                check=database_at(database, ["r2"]),
            )
        ],
        check_destroy=downgraded,
        provider=PROVIDER,
    )


# -- 9. import ---------------------------------------------------------------------------------


def example_import_id(type_name: str) -> str:
    """Return the import ID the example ``import.sh`` of ``type_name`` documents."""
    script = ROOT / "examples" / "resources" / type_name / "import.sh"
    for line in script.read_text().splitlines():
        words = line.split()
        if words[:2] == ["terraform", "import"] and words[2].startswith(f"{type_name}."):
            return words[3].strip("'\"")
    raise AssertionError(f"{script} has no 'terraform import {type_name}.NAME ID' line.")


def test_import_reads_the_database(harness: Harness, tmp_path: Path) -> None:
    database = sqlite_database(tmp_path)
    project = _project(tmp_path, [Revision("r1", None), Revision("r2", "r1")])
    # Import reads the database with the provider block's settings.
    config = provider_block(project, url=database.url) + resource_block(
        "alembic_upgrade", "db", target="heads"
    )
    import_id = example_import_id("alembic_upgrade")
    assert import_id == "heads"

    def imported(state: State) -> None:
        assert state.attr(ADDRESS, "revision") == "r2"
        assert state.attr(ADDRESS, "id") == import_id

    harness.test(
        [
            Step(config=config, check=database_at(database, ["r2"])),
            # A second apply stores the refreshed state (nothing pending) to compare with.
            Step(config=config),
            Step(
                import_state=True,
                resource_name=ADDRESS,
                import_state_id=import_id,
                import_state_verify=True,
                import_state_verify_ignore=("timeouts",),
                check=imported,
            ),
            Step(
                import_state=True,
                resource_name=ADDRESS,
                import_state_id="",
                expect_error=r"The import ID is empty",
            ),
        ],
        provider=PROVIDER,
    )


# -- 10. SQL preview ---------------------------------------------------------------------------


def test_preview_sql_fills_the_plan(harness: Harness, tmp_path: Path) -> None:
    database = sqlite_database(tmp_path)
    project = _project(tmp_path, [Revision("r1", None), Revision("r2", "r1")])
    config = upgrade_config(project, database, preview_sql=True)

    def previewed(runs: Sequence[str], ran: Sequence[str] = ()) -> Callable[[Plan], None]:
        """Check that ``sql`` creates the tables of ``runs`` and none of ``ran``."""

        def check(plan: Plan) -> None:
            sql = (plan.change(ADDRESS).after or {}).get("sql") or ""
            for rev in runs:
                assert f"CREATE TABLE {table_name(rev)}" in sql, sql
            for rev in ran:
                assert f"CREATE TABLE {table_name(rev)}" not in sql, sql

        return check

    harness.test(
        [
            Step(config=config, plan_check=previewed(["r1", "r2"])),
            Step(
                config=config,
                pre_config=lambda: add_revision(project, "r3", "r2"),
                plan_check=previewed(["r3"], ran=["r1", "r2"]),
                check=database_at(database, ["r3"]),
            ),
        ],
        provider=PROVIDER,
    )


# -- 11. the migration lock --------------------------------------------------------------------


@pytest.mark.parametrize("database", ["postgresql"], indirect=True)
def test_concurrent_applies_run_each_migration_once(
    terraform: TerraformBinary, database: Database, tmp_path: Path
) -> None:
    release = tmp_path / "release"
    # The first migration holds the lock until the other apply waits for it.
    wait_for_release = f"""\
if op.get_context().as_sql:
    return  # the plan's review runs upgrade() offline: only the apply waits
import pathlib, time
deadline = time.monotonic() + 300
while not pathlib.Path({str(release)!r}).exists() and time.monotonic() < deadline:
    time.sleep(0.1)
"""
    log = "CREATE TABLE IF NOT EXISTS migration_log (revision VARCHAR(32))"
    project = _project(
        tmp_path,
        [
            Revision(
                "r1",
                None,
                upgrade_sql=[log, "INSERT INTO migration_log VALUES ('r1')"],
                upgrade_code=wait_for_release,
            ),
            Revision("r2", "r1", upgrade_sql="INSERT INTO migration_log VALUES ('r2')"),
        ],
    )
    config = upgrade_config(project, database)
    failures: list[BaseException] = []

    def run(name: str) -> None:
        harness = Harness(terraform=terraform, base_dir=tmp_path / name)
        (tmp_path / name).mkdir()
        try:
            harness.test(
                [Step(config=config, check=database_at(database, ["r2"]))], provider=PROVIDER
            )
        except (AcceptanceError, AssertionError) as err:
            failures.append(err)

    threads = [threading.Thread(target=run, args=(name,)) for name in ("first", "second")]
    for thread in threads:
        thread.start()
    try:
        deadline = time.monotonic() + 240
        while not waiting_for_lock(database.url):
            alive = any(thread.is_alive() for thread in threads)
            assert alive and time.monotonic() < deadline, (
                f"No apply ever waited for the migration lock; failures: {failures}"
            )
            time.sleep(0.2)
    finally:
        release.touch()
        for thread in threads:
            thread.join()
    assert not failures, "\n\n".join(str(failure) for failure in failures)
    engine = database.engine()
    try:
        with engine.connect() as conn:
            rows = conn.execute(sa.text("SELECT revision FROM migration_log")).scalars().all()
    finally:
        engine.dispose()
    assert sorted(rows) == ["r1", "r2"], f"every migration must run exactly once: {rows}"
