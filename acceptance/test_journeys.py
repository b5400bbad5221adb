"""User journeys: what a team does with the provider over its first days, on real servers.

Every journey starts from the files a real ``alembic init`` writes (its ``env.py`` reads
``sqlalchemy.url`` from ``alembic.ini``, so the resources set ``url``), runs on PostgreSQL and
MariaDB with every Terraform binary found, reads the plans' *text* the way a person does, and
ends with empty plans and no warnings. One project and one database serve all the steps of a
journey, so the suite stays cheap:

- grow: create, new migrations planned and applied (day 2), the database moved by hand and
  brought back (day 3), a teammate's branch merged;
- adopt: a database whose tables predate Alembic, stamped at a baseline and upgraded in one
  apply;
- second machine: another ``HOME`` (the provider installed there) and working directory, no
  state: the database is imported, then migrated from there;
- database created in the same apply: its URL is known at plan time, the database is not
  (``terraform_data`` creates it, so Terraform 1.4 or newer).

Below them, single-plan checks on SQLite with the newest Terraform: the stock ``env.py`` given
``environment`` instead of ``url``, and a project with no revision files yet.

Together they are the regression tests of the five ways the first day used to break: pending
migrations missing from the plan's text, stamp plus upgrade failing its first apply, import
ignoring the resource's ``url``, a database created in the same apply failing the plan, and the
stock ``env.py`` failing with an unexplained placeholder URL. Never edits the provider.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from acceptance.conftest import unavailable
from acceptance.databases import Database, ServerPool, Unavailable, fresh_database, sqlite_database
from acceptance.harness import CommandResult, Harness, PlanCheck, Step, normalise_output
from acceptance.providers import Managed, Reattach
from acceptance.state import Plan, State
from acceptance.terraform_bin import TerraformBinary
from acceptance.test_upgrade_semantics import (
    hcl,
    newest_terraform,
    provider_block,
    resource_block,
)
from tests.alembic_projects import add_revision, table_name

pytestmark = pytest.mark.acceptance

UPGRADE = "alembic_upgrade.schema"
STAMP = "alembic_stamp.baseline"


@pytest.fixture(params=("postgresql", "mariadb"))
def database(request: pytest.FixtureRequest, database_servers: ServerPool) -> Iterator[Database]:
    """Yield an empty database on each server kind, dropped after the test."""
    server = database_servers.server(request.param)
    if isinstance(server, Unavailable):
        unavailable(server.reason)
        return
    with fresh_database(request.param, server) as db:
        yield db


# -- the project a user starts from --------------------------------------------------------


@pytest.fixture(scope="session")
def _alembic_init_output(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Run ``alembic init migrations`` once per session, as a user starts a project."""
    project = tmp_path_factory.mktemp("alembic-init") / "service"
    project.mkdir()
    _alembic(project, "init", "migrations")
    assert "driver://user:pass@localhost/dbname" in (project / "alembic.ini").read_text()
    return project


@pytest.fixture
def project(_alembic_init_output: Path, tmp_path: Path) -> Path:
    """Return a fresh copy of what ``alembic init`` wrote (nothing in it is absolute)."""
    return Path(shutil.copytree(_alembic_init_output, tmp_path / "service"))


def _alembic(project: Path, *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "alembic", *args],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, f"alembic {' '.join(args)} failed:\n{result.stderr}"
    return result.stdout


def by_hand(project: Path, database: Database, *args: str) -> None:
    """Run the ``alembic`` command outside Terraform, with the URL in a local ini file.

    The stock ``env.py`` reads only ``sqlalchemy.url``, so an operator points a copy of
    ``alembic.ini`` at the database.
    """
    ini = (project / "alembic.ini").read_text()
    url = database.url.replace("%", "%%")
    local = project / "local.ini"
    local.write_text(ini.replace("driver://user:pass@localhost/dbname", url))
    try:
        _alembic(project, "-c", str(local), *args)
    finally:
        local.unlink()


# -- reading what a person reads ----------------------------------------------------------

_ADDED = re.compile(
    r'\+ \{\s*\+ message\s*= "(?P<message>[^"]*)"\s*\+ revision\s*= "(?P<revision>[^"]*)"\s*\}'
)
_REMOVED = re.compile(r'- \{\s*- message\s*= "[^"]*"\s*- revision\s*= "(?P<revision>[^"]*)"')


def plan_text_names(*pending: tuple[str, str], revision: str | None = None) -> PlanCheck:
    """Check that the plan's text adds exactly ``pending`` (id, message) to ``pending``.

    :param revision: the revision the text must show the database reaching.
    """

    def check(plan: Plan) -> None:
        text = normalise_output(plan.output)
        added = [(m["revision"], m["message"]) for m in _ADDED.finditer(text)]
        assert added == list(pending), (
            f"the plan text adds {added} to 'pending', expected {list(pending)}:\n{plan.output}"
        )
        removed = [m["revision"] for m in _REMOVED.finditer(text)]
        assert not removed, f"the plan text removes {removed} from 'pending':\n{plan.output}"
        if revision is not None:
            assert re.search(rf'revision\s*= "[^"]*" -> "{re.escape(revision)}"', text) or (
                f'+ revision = "{revision}"' in text
            ), f"the plan text does not show the revision reaching {revision!r}:\n{plan.output}"

    return check


class Transcript:
    """Every Terraform command a journey ran, to read the last plans' text afterwards."""

    def __init__(self) -> None:
        self.commands: list[CommandResult] = []

    def __call__(self, result: CommandResult) -> None:
        self.commands.append(result)

    def assert_quiet_end(self) -> None:
        """Check that the plans after the last apply printed no warning."""
        verbs = [command.argv[1] for command in self.commands]
        last_apply = len(verbs) - 1 - verbs[::-1].index("apply")
        plans = [c for c in self.commands[last_apply + 1 :] if c.argv[1] == "plan"]
        assert len(plans) >= 2, f"expected the plans after the last apply, ran {verbs}"
        for plan in plans:
            text = f"{plan.stdout}\n{plan.stderr}"
            assert "Warning:" not in text, f"the last plans must not warn:\n{text}"


def at(database: Database, address: str, *heads: str) -> Callable[[State], None]:
    """Check that the state and the database's version table both say ``heads``."""

    def check(state: State) -> None:
        expected = tuple(sorted(heads))
        assert tuple(state.attr(address, "revisions")) == expected, state.attr(address, "revisions")
        assert database.heads() == expected, f"database heads are {database.heads()}"

    return check


def upgrade_block(database: Database, *depends_on: str) -> str:
    """Return ``alembic_upgrade.schema`` with ``url`` set, as for the stock ``env.py``."""
    after = f"  depends_on = [{', '.join(depends_on)}]\n" if depends_on else ""
    return f'\nresource "alembic_upgrade" "schema" {{\n  url = {hcl(database.url)}\n{after}}}\n'


def _upgrade(project: Path, database: Database) -> str:
    return provider_block(project) + upgrade_block(database)


# -- journey: create, grow, drift, merge ---------------------------------------------------


def _grow_steps(project: Path, database: Database) -> list[Step]:
    config = _upgrade(project, database)

    def day2() -> None:
        add_revision(project, "a3", "a2", "add orders")
        add_revision(project, "a4", "a3", "index orders")

    def teammate_branch() -> None:
        add_revision(project, "b1", "a4", "audit log", branch_labels=["audit"])
        add_revision(project, "a5", "a4", "add invoices")
        add_revision(
            project, "m1", ("a5", "b1"), "merge audit", upgrade_sql="SELECT 1", downgrade_sql=[]
        )

    return [
        Step(
            config=config,
            plan_check=plan_text_names(("a1", "create users"), ("a2", "add email"), revision="a2"),
            check=at(database, UPGRADE, "a2"),
        ),
        Step(
            config=config,
            pre_config=day2,
            plan_check=plan_text_names(("a3", "add orders"), ("a4", "index orders"), revision="a4"),
            check=at(database, UPGRADE, "a4"),
        ),
        Step(
            config=config,
            pre_config=lambda: by_hand(project, database, "downgrade", "a2"),
            plan_check=plan_text_names(("a3", "add orders"), ("a4", "index orders"), revision="a4"),
            check=at(database, UPGRADE, "a4"),
        ),
        Step(
            config=config,
            pre_config=teammate_branch,
            # In the order Alembic runs them.
            plan_check=plan_text_names(
                ("b1", "audit log"), ("a5", "add invoices"), ("m1", "merge audit"), revision="m1"
            ),
            check=at(database, UPGRADE, "m1"),
        ),
    ]


def test_journey_create_grow_drift_merge(
    harness: Harness, database: Database, project: Path
) -> None:
    add_revision(project, "a1", None, "create users")
    add_revision(project, "a2", "a1", "add email")
    transcript = Transcript()
    harness.test(_grow_steps(project, database), provider=Reattach(), on_command=transcript)
    transcript.assert_quiet_end()
    assert {table_name(rev) for rev in ("a1", "a2", "a3", "a4", "a5", "b1")} <= (
        database.table_names()
    ), "destroy must leave the database as it is"


# -- journey: adopt an existing database ---------------------------------------------------


def _legacy_schema(database: Database) -> None:
    """Create the table the baseline revision describes, as if made before Alembic was used."""
    engine = database.engine()
    try:
        with engine.begin() as conn:
            conn.execute(sa.text(f"CREATE TABLE {table_name('a1')} (id INTEGER PRIMARY KEY)"))
    finally:
        engine.dispose()


def _adopt_config(project: Path, database: Database) -> str:
    return (
        provider_block(project)
        + resource_block("alembic_stamp", "baseline", target="a1", url=database.url)
        + upgrade_block(database, STAMP)
    )


def test_journey_adopt_with_stamp_and_upgrade(
    harness: Harness, database: Database, project: Path
) -> None:
    _legacy_schema(database)
    # The baseline's CREATE TABLE fails if it runs: adopting must stamp it, never run it.
    add_revision(project, "a1", None, "baseline")
    add_revision(project, "a2", "a1", "add email")
    config = _adopt_config(project, database)
    transcript = Transcript()
    # One apply stamps and upgrades; the upgrade runs only what follows the baseline, and the
    # plans after it are quiet although the database is now past the stamp's target.
    harness.test(
        [
            Step(
                config=config,
                plan_check=plan_text_names(("a2", "add email"), revision="a2"),
                check=at(database, UPGRADE, "a2"),
            ),
        ],
        provider=Reattach(),
        on_command=transcript,
    )
    transcript.assert_quiet_end()


# -- journey: import on a second machine ---------------------------------------------------


def _has_id(state: State, import_id: str) -> None:
    assert state.resource(UPGRADE).values["id"] == import_id


def test_journey_import_on_second_machine(
    harness: Harness, terraform: TerraformBinary, database: Database, project: Path
) -> None:
    add_revision(project, "a1", None, "create users")
    add_revision(project, "a2", "a1", "add email")
    config = _upgrade(project, database)
    # The first machine creates the resource; its state stays there.
    harness.test([Step(config=config, check=at(database, UPGRADE, "a2"))], provider=Reattach())
    # The second machine has its own HOME (the provider installed there) and working directory,
    # and no state: it imports the database (with an import block where Terraform has them),
    # then carries on from there.
    imported: Step
    if terraform.version_tuple >= (1, 5):
        config += f'\nimport {{\n  to = {UPGRADE}\n  id = "heads"\n}}\n'

        def imports_only(plan: Plan) -> None:
            """The import runs no migration: it only adopts the resource."""
            text = normalise_output(plan.output)
            assert re.search(r"Plan: 1 to import, 0 to add, \d+ to change, 0 to destroy\.", text), (
                plan.output
            )
            plan_text_names()(plan)

        imported = Step(config=config, plan_check=imports_only, check=at(database, UPGRADE, "a2"))
    else:
        # Import gets no configuration: the resource's url reaches the database with the
        # first plan after it, which then shows where the database is and what it runs.
        imported = Step(
            import_state=True,
            import_state_persist=True,
            config=config,
            resource_name=UPGRADE,
            import_state_id="heads",
            check=lambda state: _has_id(state, "heads"),
        )
    transcript = Transcript()
    harness.test(
        [
            imported,
            Step(
                config=config,
                pre_config=lambda: add_revision(project, "a3", "a2", "add orders"),
                plan_check=plan_text_names(("a3", "add orders"), revision="a3"),
                check=at(database, UPGRADE, "a3"),
            ),
        ],
        provider=Managed(),
        on_command=transcript,
    )
    transcript.assert_quiet_end()


# -- journey: a database created in the same apply -----------------------------------------

_CREATE_DATABASE = """\
import os, sys
import sqlalchemy as sa
from sqlalchemy.pool import NullPool
engine = sa.create_engine(os.environ["ADMIN_URL"], poolclass=NullPool, isolation_level="AUTOCOMMIT")
with engine.connect() as conn:
    conn.execute(sa.text("CREATE DATABASE " + sys.argv[1]))
engine.dispose()
"""


@pytest.fixture
def new_database(
    request: pytest.FixtureRequest, database_servers: ServerPool, database: Database
) -> Iterator[tuple[str, Database]]:
    """Yield the admin URL of ``database``'s server and a database on it not created yet."""
    server = database_servers.server(database.kind)
    assert not isinstance(server, Unavailable)
    name = f"acc_{uuid.uuid4().hex[:16]}"
    try:
        yield (
            server.render_as_string(hide_password=False),
            Database(
                database.kind, server.set(database=name).render_as_string(hide_password=False)
            ),
        )
    finally:
        drop = f"DROP DATABASE IF EXISTS {name}"
        if database.kind == "postgresql":
            drop += " WITH (FORCE)"
        admin = sa.create_engine(server, poolclass=NullPool, isolation_level="AUTOCOMMIT")
        try:
            with admin.connect() as conn:
                conn.execute(sa.text(drop))
        finally:
            admin.dispose()


@pytest.mark.newest_terraform
@pytest.mark.embedded_terraform
def test_journey_database_created_in_the_same_apply(
    harness: Harness,
    terraform: TerraformBinary,
    new_database: tuple[str, Database],
    project: Path,
    tmp_path: Path,
) -> None:
    if terraform.version_tuple < (1, 4):
        pytest.skip("terraform_data, the built-in managed resource, needs Terraform 1.4")
    admin_url, database = new_database
    add_revision(project, "a1", None, "create users")
    add_revision(project, "a2", "a1", "add email")
    script = tmp_path / "create_database.py"
    script.write_text(_CREATE_DATABASE)
    name = make_url(database.url).database
    config = (
        provider_block(project)
        + upgrade_block(database, "terraform_data.database")
        + f"""
resource "terraform_data" "database" {{
  input = {hcl(str(name))}
  provisioner "local-exec" {{
    interpreter = [{hcl(sys.executable)}, {hcl(str(script))}]
    command     = self.input
    environment = {{ ADMIN_URL = {hcl(admin_url)} }}
  }}
}}
"""
    )
    transcript = Transcript()
    harness.test(
        [
            Step(
                config=config,
                plan_check=plan_text_names(("a1", "create users"), ("a2", "add email")),
                check=at(database, UPGRADE, "a2"),
            ),
        ],
        provider=Reattach(),
        on_command=transcript,
    )
    transcript.assert_quiet_end()


# -- journeys: the mistakes a first day makes, told at plan time ------------------------


@pytest.fixture
def guarded_database(database_servers: ServerPool) -> Iterator[Database]:
    """Yield a MariaDB database reached as a user of its own, whose password the server checks.

    PostgreSQL here trusts every connection from 127.0.0.1 (its ``pg_hba.conf`` says ``trust``),
    so it accepts any password: only MariaDB can refuse a wrong one.
    """
    server = database_servers.server("mariadb")
    if isinstance(server, Unavailable):
        unavailable(server.reason)
        return
    user, password = f"acc_{uuid.uuid4().hex[:12]}", f"pw-{uuid.uuid4().hex[:16]}"
    with fresh_database("mariadb", server) as database:
        name = make_url(database.url).database
        admin = sa.create_engine(server, poolclass=NullPool, isolation_level="AUTOCOMMIT")
        try:
            with admin.connect() as conn:
                conn.execute(sa.text(f"CREATE USER '{user}'@'%' IDENTIFIED BY '{password}'"))
                conn.execute(sa.text(f"GRANT ALL PRIVILEGES ON `{name}`.* TO '{user}'@'%'"))
            url = make_url(database.url).set(username=user, password=password)
            yield Database("mariadb", url.render_as_string(hide_password=False))
        finally:
            with admin.connect() as conn:
                conn.execute(sa.text(f"DROP USER IF EXISTS '{user}'@'%'"))
            admin.dispose()


def test_journey_wrong_password_is_an_error_at_plan(
    harness: Harness, guarded_database: Database, project: Path
) -> None:
    """A refused login fails the plan of a create, with the server's own words intact."""
    add_revision(project, "a1", None, "create users")
    wrong = make_url(guarded_database.url).set(password="not-the-password")
    user = wrong.username
    mistaken = Database("mariadb", wrong.render_as_string(hide_password=False))
    transcript = Transcript()
    harness.test(
        [
            Step(
                config=_upgrade(project, mistaken),
                plan_only=True,
                expect_error=r"Error: Database Login Refused with alembic_upgrade\.schema.*"
                + re.escape(f"Access denied for user '{user}'@")
                + r"[^ ]+ "
                + re.escape("(using password: YES)")
                + r".*Check the user name and password in the database URL",
            ),
            Step(
                config=_upgrade(project, guarded_database),
                check=at(guarded_database, UPGRADE, "a1"),
            ),
        ],
        provider=Reattach(),
        on_command=transcript,
    )
    refused = next(c for c in transcript.commands if c.argv[1] in ("plan", "apply"))
    assert (refused.argv[1], refused.returncode) == ("plan", 1)
    assert "Plan:" not in refused.stdout, "a refused login must not plan the create"
    assert "not-the-password" not in refused.stdout + refused.stderr


def test_journey_on_destroy_typo_is_an_error_at_plan(
    harness: Harness, database: Database, project: Path
) -> None:
    """A revision ``on_destroy`` does not name fails the plan, on ``on_destroy``."""
    add_revision(project, "a1", None, "create users")
    typo = provider_block(project) + resource_block(
        "alembic_upgrade", "schema", url=database.url, on_destroy="zzz"
    )
    fixed = provider_block(project) + resource_block(
        "alembic_upgrade", "schema", url=database.url, on_destroy="base"
    )
    harness.test(
        [
            Step(
                config=typo,
                plan_only=True,
                expect_error=r"Error: Invalid On Destroy Revision with alembic_upgrade\.schema.*"
                r'on_destroy = "zzz".*'
                + re.escape("on_destroy names 'zzz', which is not a revision of the project"),
            ),
            Step(config=fixed, check=at(database, UPGRADE, "a1")),
        ],
        provider=Reattach(),
    )
    assert database.heads() == (), "the destroy downgrades to on_destroy"


def moved_by_hand(found: str, recorded: str) -> PlanCheck:
    """Check that the plan's text says the database moved outside Terraform, and where."""

    def check(plan: Plan) -> None:
        text = normalise_output(plan.output)
        assert text.count("Warning: Database Moved Outside Terraform") == 1, plan.output
        assert (
            f"The database is at '{found}', but the state recorded '{recorded}': it was moved "
            "outside Terraform since the last apply"
        ) in text, plan.output

    return check


def both(*checks: PlanCheck) -> PlanCheck:
    """Run every check on the plan."""

    def check(plan: Plan) -> None:
        for each in checks:
            each(plan)

    return check


def kept(revision: str) -> PlanCheck:
    """Check that the destroy plan's text says the database is kept, at ``revision``."""

    def check(plan: Plan) -> None:
        text = normalise_output(plan.output)
        assert "Warning: Database Kept" in text, plan.output
        assert (
            "Destroying this resource only removes it from Terraform's state: on_destroy is not "
            "set (set it to a revision id or 'base' to downgrade the database on destroy), so the "
            f"database stays at '{revision}'."
        ) in text, plan.output

    return check


def test_journey_drift_by_hand_explained_and_destroy_kept(
    harness: Harness, terraform: TerraformBinary, database: Database, project: Path
) -> None:
    """``alembic downgrade -1`` by hand is explained in the plan; a destroy says what it keeps."""
    add_revision(project, "a1", None, "create users")
    add_revision(project, "a2", "a1", "add email")
    config = _upgrade(project, database)
    transcript = Transcript()
    destroy = Step(config=config, destroy=True, check=at(database, UPGRADE, "a2"))
    if terraform.version_tuple >= (1, 3):
        # Terraform 1.0-1.2 do not ask the provider to plan a destroy.
        destroy = Step(config=config, destroy=True, plan_check=kept("a2"))
    harness.test(
        [
            Step(config=config, check=at(database, UPGRADE, "a2")),
            Step(
                config=config,
                pre_config=lambda: by_hand(project, database, "downgrade", "-1"),
                plan_check=both(
                    moved_by_hand("a1", "a2"), plan_text_names(("a2", "add email"), revision="a2")
                ),
                check=at(database, UPGRADE, "a2"),
            ),
            destroy,
        ],
        provider=Reattach(),
        on_command=transcript,
    )
    assert database.heads() == ("a2",), "a destroy without on_destroy keeps the database"


# -- journey: two teams, two branches, one database ----------------------------------------


def _branch_owners(project: Path, database: Database) -> str:
    """Two ``alembic_upgrade`` owning a branch label each, with no ``depends_on`` between them.

    Terraform applies them in parallel, in no fixed order, as independent teams write them.
    """
    return (
        provider_block(project)
        + resource_block("alembic_upgrade", "billing", url=database.url, target="billing@head")
        + resource_block("alembic_upgrade", "catalog", url=database.url, target="catalog@head")
    )


def owns(database: Database, *heads: str) -> Callable[[State], None]:
    """Check the database's heads, and that each owner's state holds its own branch's head.

    Each state holds the heads its apply reached: the other branch as it was at that moment,
    before or after its owner applied (the next refresh reads it again).
    """

    def check(state: State) -> None:
        assert database.heads() == tuple(sorted(heads)), f"database heads are {database.heads()}"
        for address in ("alembic_upgrade.billing", "alembic_upgrade.catalog"):
            branch = address.split(".")[1][0]
            recorded = state.attr(address, "revisions")
            assert [h for h in recorded if h[0] == branch] == [h for h in heads if h[0] == branch]

    return check


def test_journey_branch_owners_apply_in_parallel(
    harness: Harness, database: Database, project: Path
) -> None:
    add_revision(project, "b001", None, "billing tables", branch_labels=["billing"])
    add_revision(project, "c001", None, "catalog tables", branch_labels=["catalog"])
    config = _branch_owners(project, database)

    def next_release() -> None:
        add_revision(project, "b002", "b001", "billing index")
        add_revision(project, "c002", "c001", "catalog index")

    transcript = Transcript()
    harness.test(
        [
            Step(
                config=config,
                plan_check=plan_text_names(("b001", "billing tables"), ("c001", "catalog tables")),
                check=owns(database, "b001", "c001"),
            ),
            Step(config=config, plan_only=True),
            Step(
                config=config,
                pre_config=next_release,
                plan_check=plan_text_names(("b002", "billing index"), ("c002", "catalog index")),
                check=owns(database, "b002", "c002"),
            ),
            Step(config=config, plan_only=True),
        ],
        provider=Reattach(),
        on_command=transcript,
    )
    transcript.assert_quiet_end()


# -- the stock env.py with `environment` instead of `url` ----------------------------------


def test_stock_env_py_with_environment_says_the_url_is_a_placeholder(
    project: Path, tmp_path: Path
) -> None:
    """The README's first example once used ``environment``; the stock env.py ignores it."""
    add_revision(project, "a1", None, "create users")
    url = sqlite_database(tmp_path).url
    config = provider_block(project) + resource_block(
        "alembic_upgrade", "schema", environment={"DATABASE_URL": url}
    )
    failures: list[str] = []

    def record_failures(result: CommandResult) -> None:
        if result.returncode:
            failures.append(f"{result.stdout}\n{result.stderr}")

    Harness(terraform=newest_terraform(), base_dir=tmp_path).test(
        [
            Step(
                config=config,
                expect_error=r"Error: Database URL Not Set with alembic_upgrade\.schema, .* "
                + re.escape(
                    "{ env.py connected with the placeholder URL 'driver://...' that "
                    "'alembic init' writes into alembic.ini. 'environment' sets 'DATABASE_URL', "
                    "but this env.py never reads it"
                ),
            ),
            # The traceback the message leaves out is in the provider's log.
            Step(
                config=config,
                plan_only=True,
                env={"TF_LOG": "DEBUG"},
                expect_error=r"alembic worker traceback: .*Traceback \(most recent call last\)"
                r".*migrations/env\.py",
            ),
        ],
        provider=Managed(),
        on_command=record_failures,
    )
    for noise in ("Traceback", "tfalembic_", "Can't load plugin", "Last output"):
        assert noise not in failures[0], f"{noise!r} in the error:\n{failures[0]}"


def test_empty_versions_directory_warns(project: Path, tmp_path: Path) -> None:
    """Right after ``alembic init`` there is nothing to run: the plan says so."""
    config = provider_block(project) + upgrade_block(sqlite_database(tmp_path))

    def warns(plan: Plan) -> None:
        assert normalise_output(plan.output).count("Warning: No Migrations Yet") == 1, plan.output
        assert (
            f"The Alembic project in '{project}' has no revision files, so there is no migration "
            "to run and the database is left as it is. Create the first one with 'alembic "
            'revision -m "..."\' in that directory; the next plan shows it.'
        ) in normalise_output(plan.output)

    Harness(terraform=newest_terraform(), base_dir=tmp_path).test(
        [Step(config=config, plan_only=True, expect_non_empty_plan=True, plan_check=warns)],
        provider=Reattach(),
    )
