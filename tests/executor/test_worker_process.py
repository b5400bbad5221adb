"""How the worker runs: its file, its process, what env.py sees, and warm servers."""

from __future__ import annotations

import ast
import json
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from alembic_provider.errors import CancelledError, WorkerEnvironmentError
from alembic_provider.executor import CallOptions, Project, WorkerExecutor
from alembic_provider.executor.messages import PROTOCOL_VERSION
from alembic_provider.executor.process import WORKER_PATH, Exchange, Launch, WorkerProcesses
from tests.alembic_projects import Revision as Rev
from tests.alembic_projects import make_project, sqlite_url
from tests.support import current_request, is_alive, modules_loaded_by, wait_for

REVISIONS = [Rev("aaaa0001", None, "first"), Rev("aaaa0002", "aaaa0001", "second")]
_ALLOWED_TOP_LEVEL = set(sys.stdlib_module_names) | {"__future__"}


_WORKER_FILES = sorted(WORKER_PATH.glob("*.py"))


def test_the_worker_is_a_directory_of_uniquely_prefixed_modules() -> None:
    names = {path.name for path in _WORKER_FILES}
    assert "__main__.py" in names
    assert all(name == "__main__.py" or name.startswith("tfalembic_") for name in names), names


@pytest.mark.parametrize("path", _WORKER_FILES, ids=lambda path: path.name)
def test_worker_syntax_stays_within_python_3_8(path: Path) -> None:
    ast.parse(path.read_text(), feature_version=(3, 8))


@pytest.mark.parametrize("path", _WORKER_FILES, ids=lambda path: path.name)
def test_worker_imports_only_the_standard_library_at_top_level(path: Path) -> None:
    tree = ast.parse(path.read_text())
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module.split(".")[0])
    own = {name for name in names if name.startswith("tfalembic_")}
    assert own <= {other.stem for other in _WORKER_FILES}, own
    assert names - own <= _ALLOWED_TOP_LEVEL, names - own - _ALLOWED_TOP_LEVEL
    every = {
        (node.module or "") if isinstance(node, ast.ImportFrom) else alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in node.names
    }
    assert not any(name.startswith("alembic_provider") for name in every)


def test_importing_the_executor_leaves_alembic_unloaded() -> None:
    loaded = modules_loaded_by("import alembic_provider.executor", ["alembic", "sqlalchemy"])
    assert loaded == []


def _recorded(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_env_py_sees_extras_tag_environment_and_config_directory(
    any_executor: WorkerExecutor, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    record = tmp_path / "record.jsonl"
    monkeypatch.setenv("ALEMBIC_TEST_INHERITED", "from the provider")
    root = make_project(tmp_path, sqlite_url(tmp_path / "db.sqlite"), REVISIONS)
    project = Project(
        str(root),
        extra={"tenant": "acme", "mode": "a=b"},
        tag="release-7",
        environment={"ALEMBIC_TEST_RECORD": str(record), "ALEMBIC_TEST_ADDED": "by resource"},
    )

    any_executor.upgrade(project, "heads")

    seen = _recorded(record)
    assert {entry["tag"] for entry in seen} == {"release-7"}
    assert all(entry["x"] == {"tenant": "acme", "mode": "a=b"} for entry in seen)
    assert all(entry["cwd"] == str(root) for entry in seen)
    assert all(entry["offline"] is False for entry in seen)
    environment = seen[0]["environment"]
    assert isinstance(environment, dict)
    assert environment["ALEMBIC_TEST_INHERITED"] == "from the provider"
    assert environment["ALEMBIC_TEST_ADDED"] == "by resource"
    sys_path = seen[0]["sys_path"]
    assert isinstance(sys_path, list)
    assert str(WORKER_PATH.parent) not in sys_path


_HIGHLIGHTING = (
    '"highlighting": [__import__("sys").modules.get("pygments") is not None, '
    '__import__("importlib").import_module("mako.ext.pygmentplugin").__name__],'
)


def test_the_worker_loads_no_highlighting_it_never_uses(
    any_executor: WorkerExecutor, tmp_path: Path
) -> None:
    """Alembic imports Mako's exceptions module, which loads Pygments to highlight HTML error
    pages no worker renders (tens of milliseconds and megabytes per worker server). The worker
    loads Mako without it; env.py can still import it."""
    pytest.importorskip("pygments")
    record = tmp_path / "record.jsonl"
    root = make_project(tmp_path, sqlite_url(tmp_path / "db.sqlite"), REVISIONS)
    env_py = root / "migrations" / "env.py"
    env_py.write_text(
        env_py.read_text().replace('"cwd": os.getcwd(),', f'"cwd": os.getcwd(), {_HIGHLIGHTING}')
    )

    any_executor.current(Project(str(root), environment={"ALEMBIC_TEST_RECORD": str(record)}))

    assert _recorded(record)[-1]["highlighting"] == [False, "mako.ext.pygmentplugin"]


def test_no_bytecode_is_written(any_executor: WorkerExecutor, tmp_path: Path) -> None:
    root = make_project(tmp_path, sqlite_url(tmp_path / "db.sqlite"), REVISIONS)
    (root / "models.py").write_text("VALUE = 1\n")
    env_py = root / "migrations" / "env.py"
    env_py.write_text("import models\n" + env_py.read_text())
    before = set(WORKER_PATH.parent.rglob("__pycache__"))

    any_executor.upgrade(Project(str(root)), "heads")

    assert not list(root.rglob("__pycache__"))
    assert not list(root.rglob("*.pyc"))
    assert set(WORKER_PATH.parent.rglob("__pycache__")) == before


def test_url_overrides_the_ini_and_keeps_percent_signs(
    executor: WorkerExecutor, tmp_path: Path
) -> None:
    root = make_project(tmp_path, "sqlite:////nonexistent-dir/db.sqlite", REVISIONS)
    project = Project(str(root), url=sqlite_url(tmp_path / "we%20ird.sqlite"))

    assert executor.upgrade(project, "heads").heads == ("aaaa0002",)
    assert (tmp_path / "we ird.sqlite").exists(), "SQLAlchemy decodes the URL as the CLI would"


def test_output_lines_reach_the_log(tmp_path: Path) -> None:
    lines: list[dict[str, object]] = []

    class Sink:
        def debug(self, message: str, **fields: object) -> None:
            lines.append({"message": message, **fields})

        def trace(self, message: str, **fields: object) -> None:
            lines.append({"message": message, **fields})

    root = make_project(tmp_path, sqlite_url(tmp_path / "db.sqlite"), REVISIONS)
    with WorkerExecutor(log=Sink(), warm=False) as executor:
        executor.upgrade(Project(str(root)), "heads")
    output = [entry["line"] for entry in lines if entry["message"] == "alembic worker output"]
    assert any("Running upgrade aaaa0001 -> aaaa0002" in str(line) for line in output)


def test_warm_servers_are_shared_and_bounded(tmp_path: Path) -> None:
    processes = WorkerProcesses(warm=True, shared=False, max_servers=1)
    root = make_project(tmp_path, sqlite_url(tmp_path / "db.sqlite"), REVISIONS)
    request = {
        "protocol": PROTOCOL_VERSION,
        "op": "resolve",
        "config": str(root / "alembic.ini"),
        "section": "alembic",
        "x": [],
        "tag": None,
        "url": None,
        "environment": {},
        "target": "heads",
    }
    try:
        first = Launch((sys.executable,), str(root), {})
        answer = _answer(processes.exchange(first, request))
        assert answer == {"ok": True, "result": {"target": ["aaaa0002"]}}
        assert _answer(processes.exchange(first, request)) == answer
        assert len(processes._servers) == 1
        second = Launch((sys.executable,), str(root), {"PYTHONHASHSEED": "7"})
        assert _answer(processes.exchange(second, request)) == answer
        assert len(processes._servers) == 1, "the least recently used server is closed"
        assert next(iter(processes._servers))[2] == (("PYTHONHASHSEED", "7"),)
        servers = list(processes._servers.values())
    finally:
        processes.close()
    assert processes._servers == {}
    assert [server.alive() for server in servers] == [False], "closing ends the server process"


def test_a_wrapper_that_exits_is_reported(tmp_path: Path) -> None:
    processes = WorkerProcesses(warm=True)
    launch = Launch(("/bin/sh", "-c", "echo no python here >&2; exit 3"), str(tmp_path), {})
    with pytest.raises(WorkerEnvironmentError) as raised:
        processes.exchange(launch, {"protocol": PROTOCOL_VERSION, "op": "current"})
    warm_up = processes.prestart(launch)  # says nothing: the request that follows does
    if warm_up is not None:
        warm_up.join(60)
    assert raised.value.message == (
        "The interpreter command ['/bin/sh', '-c', 'echo no python here >&2; exit 3'] ended "
        "before the Alembic worker was ready (exit status 3). Set 'python' to an interpreter "
        "that has alembic and SQLAlchemy installed."
    )
    assert raised.value.stderr_tail == "no python here"


def test_a_cancelled_call_starts_no_worker(tmp_path: Path) -> None:
    root = make_project(tmp_path, sqlite_url(tmp_path / "db.sqlite"), REVISIONS)
    cancel = threading.Event()
    cancel.set()
    with WorkerExecutor(warm=False) as executor, pytest.raises(CancelledError) as raised:
        executor.current(Project(str(root)), options=CallOptions(cancel=cancel))
    assert (
        raised.value.message == "The Alembic 'current' operation was cancelled before it started."
    )


def test_protocol_mismatch_is_reported(tmp_path: Path) -> None:
    processes = WorkerProcesses(warm=False)
    root = make_project(tmp_path, sqlite_url(tmp_path / "db.sqlite"), REVISIONS)
    exchange = processes.exchange(
        Launch((sys.executable,), str(root), {}), {"protocol": 99, "op": "current"}
    )
    assert exchange.response is not None
    assert exchange.response["error"]["kind"] == "protocol"


def test_worker_usage(tmp_path: Path) -> None:
    run = subprocess.run(
        [sys.executable, "-B", str(WORKER_PATH)], capture_output=True, text=True, check=False
    )
    assert (run.returncode, run.stderr) == (
        2,
        "usage: worker run|serve FD, or worker listen SOCKET IDLE [VERSION]\n",
    )


def _answer(exchange: Exchange) -> dict[str, object] | None:
    """The response without what a forked worker says of its server's kept imports."""
    if exchange.response is None:
        return None
    return {key: value for key, value in exchange.response.items() if key != "kept"}


#: What ``current`` answers for a SQLite database no migration has touched.
_EMPTY_SQLITE = {"ok": True, "result": {"current": [], "dialect": "sqlite"}}


def _server_pid(processes: WorkerProcesses) -> int | None:
    (server,) = processes._servers.values()
    return getattr(server, "pid", None)


def test_a_shared_server_outlives_its_provider_and_serves_the_next(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TERRAFORM_PROVIDER_ALEMBIC_DAEMON_DIR", str(tmp_path / "warm"))
    root = make_project(tmp_path, sqlite_url(tmp_path / "db.sqlite"), REVISIONS)
    launch = Launch((sys.executable,), str(root), {})
    first = WorkerProcesses(warm=True)
    try:
        assert _answer(first.exchange(launch, current_request(root))) == _EMPTY_SQLITE
        pid = _server_pid(first)
    finally:
        first.close()
    assert pid is not None and is_alive(pid), "the shared server stays for the next command"
    second = WorkerProcesses(warm=True)
    try:
        assert _answer(second.exchange(launch, current_request(root))) == _EMPTY_SQLITE
        assert _server_pid(second) == pid
    finally:
        second.close()
    from alembic_provider.rendezvous.control import stop_all
    from alembic_provider.rendezvous.settings import settings

    assert any("Stopped" in line for line in stop_all(settings()))
    wait_for(lambda: not is_alive(pid), "the stopped shared server to exit")


def test_projects_share_a_server_per_interpreter_but_not_per_wrapper_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One interpreter binary serves every project; a wrapper may pick its Python by directory."""
    monkeypatch.setenv("TERRAFORM_PROVIDER_ALEMBIC_DAEMON_DIR", str(tmp_path / "warm"))
    roots = [
        make_project(tmp_path / name, sqlite_url(tmp_path / f"{name}.sqlite"), REVISIONS)
        for name in ("one", "two")
    ]
    wrapper = tmp_path / "python-wrapper"
    wrapper.write_text(f'#!/bin/sh\nexec "{sys.executable}" "$@"\n')
    wrapper.chmod(0o755)
    servers: dict[str, set[int | None]] = {}
    processes = WorkerProcesses(warm=True)
    try:
        for label, command in (("binary", (sys.executable,)), ("wrapper", (str(wrapper),))):
            for root in roots:
                request = {
                    **current_request(root),
                    "protocol": PROTOCOL_VERSION,
                    "op": "resolve",
                    "target": "heads",
                }
                response = processes.exchange(Launch(command, str(root), {}), request)
                assert _answer(response) == {"ok": True, "result": {"target": ["aaaa0002"]}}
            servers[label] = {
                getattr(server, "pid", None)
                for server in processes._servers.values()
                if server.command == command
            }
    finally:
        processes.close()
        from alembic_provider.rendezvous.control import stop_all
        from alembic_provider.rendezvous.settings import settings

        stop_all(settings())
    assert len(servers["binary"]) == 1, servers
    assert len(servers["wrapper"]) == 2, servers


# Leave as soon as the shared server listens (it binds before it imports Alembic), so the next
# provider finds a server that is still importing.
_WARM_UP_AND_LEAVE = """
import os, stat, sys, time
from pathlib import Path
from alembic_provider.executor.process import Launch, WorkerProcesses
launch = Launch((sys.executable,), sys.argv[1], {})
WorkerProcesses(warm=True).prestart(launch)
directory = Path(os.environ["TERRAFORM_PROVIDER_ALEMBIC_DAEMON_DIR"])
deadline = time.monotonic() + 60
while time.monotonic() < deadline:
    if directory.is_dir() and any(
        stat.S_ISSOCK(p.lstat().st_mode) for p in directory.rglob("*") if not p.is_symlink()
    ):
        os._exit(0)
    time.sleep(0.01)
os._exit(3)
"""


def test_a_server_whose_starter_left_early_still_serves_the_next_provider(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A provider process warms up the shared server and exits while Alembic is still being
    imported (Terraform's validate walk does); the next one waits for that server."""
    socket_dir = tmp_path / "warm"
    monkeypatch.setenv("TERRAFORM_PROVIDER_ALEMBIC_DAEMON_DIR", str(socket_dir))
    root = make_project(tmp_path, sqlite_url(tmp_path / "db.sqlite"), REVISIONS)
    subprocess.run([sys.executable, "-c", _WARM_UP_AND_LEAVE, str(root)], check=True, timeout=60)
    asking = WorkerProcesses(warm=True)
    try:
        request = {
            **current_request(root),
            "protocol": PROTOCOL_VERSION,
            "op": "resolve",
            "target": "heads",
        }
        assert _answer(asking.exchange(Launch((sys.executable,), str(root), {}), request)) == {
            "ok": True,
            "result": {"target": ["aaaa0002"]},
        }
        assert _listening(socket_dir) == [_server_pid(asking)], "one server, started by the warm-up"
    finally:
        asking.close()
        from alembic_provider.rendezvous.control import stop_all
        from alembic_provider.rendezvous.settings import settings

        stop_all(settings())


def _listening(socket_dir: Path) -> list[int]:
    """The worker servers whose command names ``socket_dir`` (exited ones left out)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            command = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        ours = b"listen" in command and any(str(socket_dir).encode() in p for p in command)
        if ours and is_alive(int(entry.name)):
            found.append(int(entry.name))
    # A server's own forks (an operation, or the probe of the imports it keeps) share its
    # command line: only processes whose parent is not such a server are servers.
    return sorted(pid for pid in found if _parent(pid) not in found)


def _parent(pid: int) -> int | None:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return int(fields[1])


def test_closing_never_waits_for_a_warm_up(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A provider process that only validated leaves at once, its warm-up still starting."""
    monkeypatch.setenv("TERRAFORM_PROVIDER_ALEMBIC_DAEMON_DIR", str(tmp_path / "warm"))
    slow = tmp_path / "slow-python"
    slow.write_text(f'#!/bin/sh\nsleep 3\nexec "{sys.executable}" "$@"\n')
    slow.chmod(0o755)
    processes = WorkerProcesses(warm=True)
    warm_up = processes.prestart(Launch((str(slow),), str(tmp_path), {}))
    assert warm_up is not None, "no server listens yet, so a warm-up starts one"
    try:
        wait_for(lambda: any((tmp_path / "warm").glob("worker-*.lock")), "the warm-up to begin")
        processes.close()
        assert warm_up.is_alive(), "close() returned while the server was still starting"
    finally:
        warm_up.join(60)
        from alembic_provider.rendezvous.control import stop_all
        from alembic_provider.rendezvous.settings import settings

        stop_all(settings())


def test_a_shared_server_stops_when_asked_even_if_it_cannot_answer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TERRAFORM_PROVIDER_ALEMBIC_DAEMON_DIR", str(tmp_path / "warm"))
    root = make_project(tmp_path, sqlite_url(tmp_path / "db.sqlite"), REVISIONS)
    processes = WorkerProcesses(warm=True)
    try:
        answer = processes.exchange(Launch((sys.executable,), str(root), {}), current_request(root))
        assert _answer(answer) == _EMPTY_SQLITE
        pid = _server_pid(processes)
    finally:
        processes.close()
    assert pid is not None and is_alive(pid)
    (path,) = (tmp_path / "warm").glob("worker-*.sock")
    # An asker that reads nothing more: every answer the server writes fails.
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as asker:
        from alembic_provider.rendezvous.sockets import reachable

        with reachable(str(path)) as address:
            asker.connect(address)
        asker.shutdown(socket.SHUT_RD)
        asker.sendall(b'{"op": "stop"}\n')
        wait_for(lambda: not is_alive(pid), "the shared server to stop")


def test_a_shared_server_gives_each_request_its_providers_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TERRAFORM_PROVIDER_ALEMBIC_DAEMON_DIR", str(tmp_path / "warm"))
    record = tmp_path / "record.jsonl"
    root = make_project(tmp_path, sqlite_url(tmp_path / "db.sqlite"), REVISIONS)
    project = Project(str(root), environment={"ALEMBIC_TEST_RECORD": str(record)})
    seen: list[dict[str, object]] = []
    try:
        for secret in ("first-secret", None):
            if secret is None:
                monkeypatch.delenv("ALEMBIC_TEST_SECRET")
            else:
                monkeypatch.setenv("ALEMBIC_TEST_SECRET", secret)
            with WorkerExecutor(warm=True) as executor:
                executor.current(project)
            environment = _recorded(record)[-1]["environment"]
            assert isinstance(environment, dict)
            seen.append(environment)
    finally:
        from alembic_provider.rendezvous.control import stop_all
        from alembic_provider.rendezvous.settings import settings

        stop_all(settings())
    assert seen[0].get("ALEMBIC_TEST_SECRET") == "first-secret"
    assert "ALEMBIC_TEST_SECRET" not in seen[1]
