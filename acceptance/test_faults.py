"""Fault injection into real applies: nothing is lost, nothing outlives the provider.

Each case runs ``terraform apply`` with the provider Terraform starts itself (no warm server, so
the process tree is Terraform → provider → worker server → worker) against a throwaway
database. The second migration announces itself with a marker file and then blocks in a
statement that sleeps on the database server for as long as a ``block`` file exists, so the
test knows when the apply is inside a migration and can release it later. Then the fault:
SIGKILL of Terraform, of the provider or of both; Ctrl-C; a timeout. Afterwards, within the
bound a loaded machine needs, no process of the provider's tree remains, no statement of the
apply still runs on the server and no migration lock is held; the next apply runs every
migration exactly once (each records itself in a ``runs`` table inside its own transaction)
and leaves the state equal to the database.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy import make_url
from sqlalchemy.pool import NullPool

from acceptance.conftest import unavailable
from acceptance.databases import Database, ServerPool, Unavailable, fresh_database
from acceptance.providers import PROVIDER_SOURCE
from acceptance.terraform_bin import find_binaries
from tests.alembic_projects import Revision, make_project
from tests.server_activity import held_locks, scalar, sleeping_statements
from tests.support import (
    accepts,
    fake_proxy_command,
    free_port,
    is_alive,
    recorded_pids,
    required_providers,
    wait_for,
)

pytestmark = pytest.mark.acceptance

_NEWEST = find_binaries()[-1:]
#: How long to wait for what must happen; a loaded machine needs far less. Never a speed claim.
HANG = 60.0
BLOCK = """\
if op.get_context().as_sql:
    return  # the plan's review and offline SQL: no gate, no side effect
gate = os.environ["ALEMBIC_TEST_GATE"]
open(os.path.join(gate, "blocked-" + str(os.getpid())), "w").close()
if os.path.exists(os.path.join(gate, "block")):
    postgres = op.get_bind().dialect.name == "postgresql"
    op.execute("SELECT pg_sleep(600)" if postgres else "SELECT SLEEP(600)")
op.execute("INSERT INTO runs VALUES ('f2')")
"""
REVISIONS = [
    Revision(
        "f1",
        None,
        "create runs",
        upgrade_sql=["CREATE TABLE runs (rev VARCHAR(32))", "INSERT INTO runs VALUES ('f1')"],
    ),
    Revision("f2", "f1", "blocks while told to", upgrade_sql=[], upgrade_code=BLOCK),
    # Its downgrade (run only by a destroy with on_destroy) sleeps on PostgreSQL's server.
    Revision(
        "f3",
        "f2",
        "last",
        upgrade_sql=["INSERT INTO runs VALUES ('f3')"],
        downgrade_sql=["SELECT pg_sleep(600)"],
    ),
]


def runs(url: str) -> list[str]:
    engine = sa.create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            if not sa.inspect(connection).has_table("runs"):
                return []
            return sorted(r[0] for r in connection.execute(sa.text("SELECT rev FROM runs")))
    finally:
        engine.dispose()


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                parent = int(stat.read().rpartition(")")[2].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        tree.setdefault(parent, []).append(int(entry))
    return tree


def descendants(pid: int) -> list[int]:
    tree, found, todo = _children(), [], [pid]
    while todo:
        for child in tree.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def _cmdline(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as raw:
            return raw.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


@dataclass
class World:
    """One case's Terraform working directory, provider installation and databases."""

    terraform: str
    work: Path
    env: dict[str, str]
    gate: Path
    databases: list[Database]
    root: Path

    def config(
        self,
        *,
        parallel_resources: int = 1,
        timeouts: dict[str, str] | None = None,
        proxy: bool = False,
        target: str = "heads",
        on_destroy: str | None = None,
    ) -> None:
        blocks = []
        for number, database in enumerate(self.databases[:parallel_resources]):
            limits = "".join(
                f"\n    {name} = {json.dumps(value)}" for name, value in (timeouts or {}).items()
            )
            extra = f"\n  timeouts {{{limits}\n  }}" if limits else ""
            if on_destroy is not None:
                extra += f"\n  on_destroy = {json.dumps(on_destroy)}"
            url = database.url
            if proxy:
                upstream = make_url(url)
                port = free_port()
                command = fake_proxy_command(
                    *("--listen", f"127.0.0.1:{port}"),
                    *("--forward", f"{upstream.host}:{upstream.port or 5432}"),
                    *("--record", str(self.gate / "proxies")),
                )
                extra += f"\n  proxy_command = {json.dumps(command)}"
                extra += f'\n  proxy_ready   = "127.0.0.1:{port}"'
                url = upstream.set(host="127.0.0.1", port=port).render_as_string(
                    hide_password=False
                )
            blocks.append(
                f"""
resource "alembic_upgrade" "db{number}" {{
  target = {json.dumps(target)}
  environment = {{
    DATABASE_URL      = {json.dumps(url)}
    ALEMBIC_TEST_GATE = {json.dumps(str(self.gate))}
  }}{extra}
}}
"""
            )
        (self.work / "main.tf").write_text(
            required_providers(PROVIDER_SOURCE, "0.1.0")
            + f"""provider "alembic" {{
  project_root = {json.dumps(str(self.root))}
}}
{"".join(blocks)}"""
        )

    def tf(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        flags = ["-no-color"] if args[0] == "show" else ["-input=false", "-no-color"]
        result = subprocess.run(
            [self.terraform, *args, *flags],
            cwd=self.work,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        if check and result.returncode != 0:
            pytest.fail(f"terraform {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
        return result

    @contextmanager
    def applying(
        self, parallelism: int = 10, *, destroy: bool = False
    ) -> Iterator[subprocess.Popen[str]]:
        """Start an apply (see :meth:`start_apply`); kill its group if it still runs after."""
        apply = self.start_apply(parallelism, destroy=destroy)
        try:
            yield apply
        finally:
            if apply.poll() is None:
                os.killpg(apply.pid, signal.SIGKILL)
                apply.wait()

    def start_apply(self, parallelism: int = 10, *, destroy: bool = False) -> subprocess.Popen[str]:
        """Start an apply (``-destroy`` with ``destroy``) in a session of its own; its output goes
        to ``apply.log``."""
        with open(self.work / "apply.log", "w") as log:
            return subprocess.Popen(
                [
                    self.terraform,
                    "apply",
                    "-auto-approve",
                    "-input=false",
                    "-no-color",
                    f"-parallelism={parallelism}",
                    *(["-destroy"] if destroy else []),
                ],
                cwd=self.work,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                text=True,
                start_new_session=True,
            )

    def blocked(self, count: int = 1) -> None:
        wait_for(
            lambda: sum(sleeping_statements(d.url) for d in self.databases) >= count,
            f"{count} migration(s) to block on the server",
        )

    def settled(self) -> float:
        return wait_for(
            lambda: all(
                sleeping_statements(d.url) == 0 and held_locks(d.url) == 0 for d in self.databases
            ),
            "no statement running and no lock held",
        )

    def state_revision(self, name: str = "db0") -> str | None:
        shown = json.loads(self.tf("show", "-json").stdout)
        for resource in shown.get("values", {}).get("root_module", {}).get("resources", []):
            if resource["name"] == name:
                return str(resource["values"]["revision"])
        return None


@pytest.fixture
def world_factory(
    tmp_path: Path, database_servers: ServerPool
) -> Iterator[Callable[[str, int], World]]:
    if not _NEWEST:
        pytest.skip("no Terraform binary found")
    with ExitStack() as stack:

        def build(kind: str, count: int = 1) -> World:
            server = database_servers.server(kind)
            if isinstance(server, Unavailable):
                unavailable(server.reason)
            assert not isinstance(server, Unavailable)
            databases = [stack.enter_context(fresh_database(kind, server)) for _ in range(count)]
            home = tmp_path / "home"
            home.mkdir()
            cli_config = tmp_path / "terraformrc"
            cli_config.write_text("")
            env = {
                "PATH": os.environ.get("PATH", os.defpath),
                "HOME": str(home),
                "TF_CLI_CONFIG_FILE": str(cli_config),
                "CHECKPOINT_DISABLE": "1",
                "TF_IN_AUTOMATION": "1",
                # The provider Terraform starts serves the session itself: its tree is known.
                "TERRAFORM_PROVIDER_ALEMBIC_DAEMON": "0",
            }
            if "PYTHONPATH" in os.environ:  # a slow-start check reaches every interpreter
                env["PYTHONPATH"] = os.environ["PYTHONPATH"]
            subprocess.run(
                [sys.executable, "-m", "alembic_provider", "install"],
                env=env,
                check=True,
                capture_output=True,
            )
            gate = tmp_path / "gate"
            gate.mkdir()
            (gate / "block").touch()
            work = tmp_path / "work"
            work.mkdir()
            root = make_project(tmp_path / "alembic", revisions=REVISIONS)
            world = World(_NEWEST[0].path.as_posix(), work, env, gate, databases, root)
            world.config(parallel_resources=count)
            world.tf("init")
            return world

        yield build


VICTIMS = ("terraform", "provider", "both")


def _provider(terraform_pid: int) -> int:
    for pid in descendants(terraform_pid):
        line = _cmdline(pid)
        if "alembic_provider" in line and "executor/worker" not in line:
            return pid
    pytest.fail("no provider process under Terraform")


def _terraform(started: int, provider: int) -> int:
    """The Terraform process running the provider: ``started`` itself, or, before Terraform 1.1
    (which started a second copy of itself to report panics), the copy under it."""
    for parent, children in _children().items():
        if provider in children:
            return parent if parent in descendants(started) else started
    return started


@pytest.mark.parametrize(
    ("kind", "victim", "proxy"),
    [
        *[(kind, victim, False) for kind in ("postgresql", "mariadb") for victim in VICTIMS],
        ("postgresql", "both", True),
        # Terraform's second Ctrl-C: "Exiting immediately", then the plugins are killed.
        ("postgresql", "interrupt twice", False),
        ("mariadb", "provider", True),
    ],
)
def test_kill_9_mid_migration_loses_nothing(
    world_factory: Callable[[str, int], World], kind: str, victim: str, proxy: bool
) -> None:
    world = world_factory(kind, 1)
    if proxy:
        world.config(proxy=True)
    with world.applying() as apply:
        world.blocked()
        tree = descendants(apply.pid)
        provider = _provider(apply.pid)
        terraform = _terraform(apply.pid, provider)
        killed = {"terraform": [terraform], "provider": [provider], "both": [terraform, provider]}
        if victim == "interrupt twice":
            os.killpg(apply.pid, signal.SIGINT)
            time.sleep(0.2)  # two separate key presses
            os.killpg(apply.pid, signal.SIGINT)
        for pid in killed.get(victim, []):
            os.kill(pid, signal.SIGKILL)
        apply.wait(timeout=HANG)
        gone = wait_for(lambda: not any(is_alive(pid) for pid in tree), "the provider's tree to go")
        settled = world.settled()
        if proxy:
            proxies = recorded_pids(world.gate / "proxies")
            assert proxies, "the migration ran through the proxy"
            wait_for(lambda: not any(is_alive(pid) for pid in proxies), "the proxy to stop")
        case = f"{kind}/{victim}/proxy={proxy}"
        print(f"[{case}] processes gone after {gone:.1f}s, database {settled:.1f}s")
    url = world.databases[0].url
    # The interrupted migration left nothing: PostgreSQL rolled the run back as one
    # transaction; MariaDB kept the migration that had finished before it.
    assert runs(url) == ([] if kind == "postgresql" else ["f1"])

    (world.gate / "block").unlink()
    world.tf("apply", "-auto-approve")
    assert runs(url) == ["f1", "f2", "f3"], "every migration ran exactly once"
    assert world.databases[0].heads() == ("f3",)
    assert world.state_revision() == "f3"
    if victim == "both" and not proxy:  # one case is enough to show the plan settles
        assert "No changes." in world.tf("plan").stdout


@pytest.mark.parametrize(
    ("kind", "parallelism"), [("postgresql", 1), ("postgresql", 50), ("mariadb", 50)]
)
def test_ctrl_c_stops_every_migration_and_commits_nothing(
    world_factory: Callable[[str, int], World], kind: str, parallelism: int
) -> None:
    count = 4
    world = world_factory(kind, count)
    with world.applying(parallelism) as apply:
        world.blocked(1 if parallelism == 1 else count)
        tree = descendants(apply.pid)
        # A terminal's Ctrl-C reaches the whole foreground process group.
        interrupted = time.monotonic()
        os.killpg(apply.pid, signal.SIGINT)
        apply.wait(timeout=HANG)
        stopped = time.monotonic() - interrupted
        wait_for(lambda: not any(is_alive(pid) for pid in tree), "the provider's tree to go")
        world.settled()
        print(f"[ctrl-c {kind} parallelism={parallelism}] terraform exited after {stopped:.1f}s")
    assert apply.returncode != 0
    output = " ".join((world.work / "apply.log").read_text().split())
    assert "was cancelled" in output, output
    assert "A cancel for its running statement was sent to the database server" in output, output
    # MariaDB commits each migration as it ends: the one before the blocked one stays.
    kept = [] if kind == "postgresql" else ["f1"]
    for database in world.databases:
        assert runs(database.url) == kept, "nothing of the interrupted migration is committed"
        assert database.heads() == tuple(kept)
    (world.gate / "block").unlink()
    world.tf("apply", "-auto-approve")
    for database in world.databases:
        assert runs(database.url) == ["f1", "f2", "f3"], "every migration ran exactly once"


def _seconds_to_block(world: World, *, destroy: bool = False) -> float:
    """How long this machine takes from ``terraform apply`` to the blocking statement, cold.

    The apply is then interrupted (its migration rolls back); the timeout case sets its deadline
    from this, so the deadline falls while the statement runs however slow the machine is.
    """
    started = time.monotonic()
    with world.applying(destroy=destroy) as apply:
        world.blocked()
        reached = time.monotonic() - started
        os.killpg(apply.pid, signal.SIGINT)
        apply.wait(timeout=HANG)
    world.settled()
    return reached


def _runs_past(world: World, timeout: int, *, destroy: bool = False) -> str:
    """Apply (or destroy) until the limit of ``timeout`` seconds stops the blocked statement;
    check that it said so and that it cancelled the statement; return its output."""
    with world.applying(destroy=destroy) as apply:
        world.blocked()
        assert apply.poll() is None, "the command ended before its statement ran"
        apply.wait(timeout=timeout + HANG)
    assert apply.returncode != 0
    text = " ".join((world.work / "apply.log").read_text().split())
    assert "ran past its timeout" in text, text
    assert "A cancel for its running statement was sent to the database server" in text, text
    return text


@pytest.mark.parametrize(
    ("kind", "limit"),
    [("postgresql", "create"), ("postgresql", "update"), ("mariadb", "update")],
)
def test_timeout_mid_statement_cancels_it_on_the_server(
    world_factory: Callable[[str, int], World], kind: str, limit: str
) -> None:
    world = world_factory(kind, 1)
    before: list[str] = []
    if limit == "update":
        world.config(target="f1")
        world.tf("apply", "-auto-approve")
        world.config()
        before = ["f1"]
    reached = _seconds_to_block(world)
    assert runs(world.databases[0].url) == before
    timeout = math.ceil(2 * reached) + 3
    world.config(timeouts={limit: f"{timeout}s"})
    text = _runs_past(world, timeout)
    assert "The migration lock is released" in text, text
    world.settled()
    assert runs(world.databases[0].url) == before


def test_delete_timeout_cancels_a_downgrade_mid_statement(
    world_factory: Callable[[str, int], World],
) -> None:
    """A destroy with ``on_destroy`` downgrades; ``timeouts.delete`` bounds that downgrade."""
    world = world_factory("postgresql", 1)
    (world.gate / "block").unlink()
    world.config(on_destroy="f2")
    world.tf("apply", "-auto-approve")
    assert world.databases[0].heads() == ("f3",)
    reached = _seconds_to_block(world, destroy=True)
    timeout = math.ceil(2 * reached) + 3
    # A destroy has no configuration: it takes the limit from the state, so apply it first.
    world.config(on_destroy="f2", timeouts={"delete": f"{timeout}s"})
    world.tf("apply", "-auto-approve")
    _runs_past(world, timeout, destroy=True)
    world.settled()
    assert world.databases[0].heads() == ("f3",), "the downgrade rolled back"
    assert world.state_revision() == "f3", "the resource stays in the state"


@pytest.mark.xfail(
    strict=True,
    raises=AssertionError,
    reason="a read past timeouts.read kills its worker without cancelling its statement on the "
    "server, which keeps waiting there (the error says the worker was killed)",
)
def test_read_timeout_cancels_a_refresh_waiting_on_the_server(
    world_factory: Callable[[str, int], World],
) -> None:
    """``timeouts.read`` bounds the refresh: its read of the version table waits for a lock the
    test holds, and the limit cancels that statement on the server."""
    world = world_factory("postgresql", 1)
    (world.gate / "block").unlink()
    world.tf("apply", "-auto-approve")
    started = time.monotonic()
    world.tf("plan")
    timeout = math.ceil(2 * (time.monotonic() - started)) + 3
    world.config(timeouts={"read": f"{timeout}s"})
    world.tf("apply", "-auto-approve")
    url = world.databases[0].url
    waiting = (
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
        "AND wait_event_type = 'Lock' AND query LIKE '%alembic_version%'"
    )
    engine = sa.create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as holder, holder.begin():
            holder.execute(sa.text("LOCK TABLE alembic_version IN ACCESS EXCLUSIVE MODE"))
            plan = subprocess.Popen(
                [world.terraform, "plan", "-input=false", "-no-color"],
                cwd=world.work,
                env=world.env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
            try:
                wait_for(lambda: scalar(url, waiting) > 0, "the refresh to wait for the lock")
                output, _ = plan.communicate(timeout=timeout + HANG)
                assert scalar(url, waiting) == 0, f"the waiting read was not cancelled:\n{output}"
            finally:
                if plan.poll() is None:
                    plan.kill()
                    plan.communicate()
    finally:
        engine.dispose()
    assert plan.returncode != 0
    text = " ".join(output.split())
    assert "ran past its timeout" in text, text
    assert "A cancel for its running statement was sent to the database server" in text, text


def test_severed_connection_mid_migration(
    world_factory: Callable[[str, int], World], tmp_path: Path
) -> None:
    """A forwarding proxy between provider and server drops every connection mid-migration."""
    world = world_factory("postgresql", 1)
    database = world.databases[0]
    upstream = make_url(database.url)
    port = free_port()
    severed = tmp_path / "sever"
    forward = fake_proxy_command(
        *("--listen", f"127.0.0.1:{port}"),
        *("--forward", f"{upstream.host}:{upstream.port or 5432}"),
        *("--exit-on", str(severed)),
    )
    forwarder = subprocess.Popen(
        forward,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for(lambda: accepts(port), "the forwarder to listen")
        through = upstream.set(host="127.0.0.1", port=port).render_as_string(hide_password=False)
        main_tf = world.work / "main.tf"
        main_tf.write_text(
            main_tf.read_text().replace(json.dumps(database.url), json.dumps(through))
        )
        with world.applying() as apply:
            world.blocked()
            severed.touch()
            forwarder.wait(timeout=HANG)
            apply.wait(timeout=HANG)
    finally:
        if forwarder.poll() is None:
            forwarder.kill()
            forwarder.wait()
    assert apply.returncode != 0
    output = " ".join((world.work / "apply.log").read_text().split())
    assert "Revision 'f2' (blocks while told to) failed during upgrade" in output, output
    # The lock's connection was idle: the server saw it go and released the lock at once.
    wait_for(lambda: held_locks(database.url) == 0, "the migration lock to be released")
    # The sleeping statement's backend notices the lost client only when it next talks to it;
    # stand in for the server's own limit by cancelling it, as an operator would.
    scalar(
        database.url,
        "SELECT count(pg_cancel_backend(pid)) FROM pg_stat_activity WHERE "
        "datname = current_database() AND query LIKE 'SELECT pg_sleep%'",
    )
    world.settled()
    assert runs(database.url) == []

    (world.gate / "block").unlink()
    # The way to the database is back (the state keeps the URL through it).
    restored = subprocess.Popen(forward[:-2], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for(lambda: accepts(port), "the restored forwarder to listen")
        world.tf("apply", "-auto-approve")
    finally:
        restored.kill()
        restored.wait()
    assert runs(database.url) == ["f1", "f2", "f3"], "every migration ran exactly once"
    assert world.state_revision() == "f3"


def _mentioning(text: str) -> list[int]:
    """Running processes whose command line mentions ``text`` (the warm servers' socket)."""
    return [
        int(name)
        for name in os.listdir("/proc")
        if name.isdigit() and text in _cmdline(int(name)) and is_alive(int(name))
    ]


def test_kill_9_with_the_warm_server_ends_the_session_and_its_worker(
    world_factory: Callable[[str, int], World],
) -> None:
    """With the warm server (the default), the session and its worker are not Terraform's
    children: they are forked by servers that outlive the command, and must still stop."""
    world = world_factory("postgresql", 1)
    warm = Path(tempfile.mkdtemp(prefix="tfw-", dir="/tmp"))  # unix socket paths are short
    world.env.pop("TERRAFORM_PROVIDER_ALEMBIC_DAEMON")
    world.env["TERRAFORM_PROVIDER_ALEMBIC_DAEMON_DIR"] = str(warm)
    try:
        with world.applying() as apply:
            world.blocked()
            # The provider's warm server and its session fork; the worker server and its fork.
            before = _mentioning(str(warm))
            assert len(before) >= 4, [_cmdline(p) for p in before]
            starting = _provider(apply.pid)
            for pid in (_terraform(apply.pid, starting), starting):
                os.kill(pid, signal.SIGKILL)
            apply.wait(timeout=HANG)
            world.settled()
            # Only the long-lived servers stay; the forked session and worker are gone.
            wait_for(
                lambda: len(_mentioning(str(warm))) <= len(before) - 2,
                "the session and its worker to go",
            )
        assert runs(world.databases[0].url) == []
        (world.gate / "block").unlink()
        world.tf("apply", "-auto-approve")
        assert runs(world.databases[0].url) == ["f1", "f2", "f3"]
        assert world.state_revision() == "f3"
    finally:
        subprocess.run(
            [sys.executable, "-m", "alembic_provider", "daemon", "stop"],
            env=world.env,
            capture_output=True,
            check=False,
        )
        shutil.rmtree(warm, ignore_errors=True)
