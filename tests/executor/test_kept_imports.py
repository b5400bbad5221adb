"""Keeping what env.py imports warm: the probe, the judging, and what each request then sees.

The probe runs in a subprocess of its own (its hooks cannot be removed); the requests go
through a real warm server with a project whose env.py imports modules from a directory on
``PYTHONPATH``, as it would import installed packages.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from alembic_provider.executor.process import WORKER_PATH, Launch, WorkerProcesses
from tests.alembic_projects import Revision, make_project, sqlite_url
from tests.support import current_request

_MODULES = {
    "quiet_mod": "import fractions\nVALUE = 'quiet'\n",
    "env_mod": "import os\nVALUE = os.environ.get('WARM_VALUE')\n",
    "getenv_mod": "import os\nVALUE = os.getenv('WARM_VALUE')\n",
    "socket_mod": (
        "import socket\nwith socket.socket() as s:\n    s.connect_ex(('127.0.0.1', 9))\n"
    ),
    # urllib3's question whether IPv6 works: a socket bound to loopback and closed.
    "ipv6_mod": (
        "import socket\ntry:\n    with socket.socket(socket.AF_INET6) as s:\n"
        "        s.bind(('::1', 0))\nexcept OSError:\n    pass\n"
    ),
    "writer_mod": "open(__file__ + '.out', 'w').close()\n",
    "devnull_mod": "open('/dev/null', 'w').close()\n",
    "lists_env_mod": "import os\nVALUE = len(os.environ)\n",
    "sets_env_mod": "import os\nos.environ['WARM_SET'] = '1'\n",
    "open_mod": "HANDLE = open(__file__)\n",
    "thread_mod": "import threading\nthreading.Thread(target=lambda: None).start()\n",
    "process_mod": "import subprocess\nsubprocess.run(['true'])\n",
    "cwd_mod": "import os\nVALUE = os.getcwd()\n",
    "relative_mod": "try:\n    open('settings.txt')\nexcept OSError:\n    pass\n",
    "failing_mod": "raise RuntimeError('no')\n",
    "outer_pkg/__init__.py": "from outer_pkg import inner\nVALUE = inner.VALUE\n",
    "outer_pkg/inner.py": "import os\nVALUE = os.environ.get('WARM_VALUE')\n",
    "noisy_pkg/__init__.py": "from noisy_pkg import inner\n",
    "noisy_pkg/inner.py": "import os\nVALUE = sorted(os.environ)\n",
    "uses_quiet": "import quiet_mod\n",
    "uses_env": "import env_mod\n",
    "survives_env": "try:\n    import env_mod\nexcept ImportError:\n    pass\n",
}


def _write_modules(site: Path) -> None:
    for name, text in _MODULES.items():
        path = site / (name if name.endswith(".py") else name + ".py")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def _probe(site: Path, names: list[str], blocked: tuple[str, ...] = ()) -> dict[str, Any]:
    code = (
        "import json, sys\n"
        f"sys.path[:0] = [{str(WORKER_PATH)!r}, {str(site)!r}]\n"
        "import tfalembic_probe\n"
        f"print(json.dumps(tfalembic_probe.probe({names!r}, {blocked!r})))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    result: dict[str, Any] = json.loads(done.stdout.splitlines()[-1])
    return result


def test_the_probe_refuses_every_import_with_an_effect(tmp_path: Path) -> None:
    site = tmp_path / "site"
    _write_modules(site)
    names = ["quiet_mod", "uses_quiet", *(n for n in _MODULES if n.endswith("_mod"))]
    names += ["outer_pkg", "noisy_pkg"]
    verdicts = _probe(site, list(dict.fromkeys(names)))["verdicts"]
    for name in ("quiet_mod", "uses_quiet", "ipv6_mod", "devnull_mod"):
        assert verdicts[name] == "", (name, verdicts[name])
    expected = {
        "lists_env_mod": "the environment",
        "sets_env_mod": "environment variable WARM_SET",
        "socket_mod": "socket.connect",
        "writer_mod": "for writing",
        "open_mod": "left a file descriptor open",
        "thread_mod": "a thread",
        "process_mod": "subprocess.Popen",
        "relative_mod": "relative to the working directory",
        "failing_mod": "its import failed: RuntimeError",
        # The package itself does nothing; what it imports does, while it imports it.
        "noisy_pkg": "noisy_pkg: the environment",
    }
    for name, why in expected.items():
        assert why in verdicts[name], (name, verdicts[name])


def test_what_an_import_reads_becomes_its_conditions(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A variable read by name, set or not, and the working directory: repeated identically
    by a fresh process that has the same values, so a condition, not a refusal."""
    site = tmp_path / "site"
    _write_modules(site)
    monkeypatch.delenv("WARM_VALUE", raising=False)
    monkeypatch.setenv("WARM_OTHER", "seen")
    (site / "both_mod.py").write_text(
        "import os\nA = os.getenv('WARM_VALUE')\nB = 'WARM_OTHER' in os.environ\n"
    )
    result = _probe(site, ["env_mod", "getenv_mod", "both_mod", "cwd_mod", "outer_pkg"])
    assert set(result["verdicts"].values()) == {""}, result["verdicts"]
    modules = result["modules"]
    assert modules["env_mod"]["environ"] == {"WARM_VALUE": None}
    assert modules["both_mod"]["environ"] == {"WARM_VALUE": None, "WARM_OTHER": "seen"}
    # The package was importing when its submodule read: both carry the condition.
    assert modules["outer_pkg"]["environ"] == modules["outer_pkg.inner"]["environ"]
    assert modules["cwd_mod"]["directory"] is True
    assert modules["env_mod"]["directory"] is False


def test_a_module_that_imports_one_kept_out_is_tainted_even_if_it_survives(
    tmp_path: Path,
) -> None:
    site = tmp_path / "site"
    _write_modules(site)
    result = _probe(site, ["uses_env", "survives_env", "quiet_mod"], ("env_mod",))
    assert "env_mod" not in result["modules"]
    assert result["verdicts"]["uses_env"].startswith("its import failed")
    assert "imports env_mod, which is not kept" in result["verdicts"]["survives_env"]
    assert result["verdicts"]["quiet_mod"] == ""
    assert set(result["tainted"]) == {"uses_env", "survives_env"}


def test_a_submodule_is_judged_with_its_packages(tmp_path: Path) -> None:
    site = tmp_path / "site"
    _write_modules(site)
    (site / "noisy_pkg" / "plain.py").write_text("VALUE = 1\n")
    verdicts = _probe(site, ["noisy_pkg", "noisy_pkg.plain"])["verdicts"]
    assert verdicts["noisy_pkg.plain"].startswith("noisy_pkg"), verdicts


def test_judging_keeps_only_installed_files_outside_the_project(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("tfalembic_probe", "tfalembic_keep"):
        spec = importlib.util.spec_from_file_location(name, WORKER_PATH / f"{name}.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        monkeypatch.setitem(sys.modules, name, module)
        spec.loader.exec_module(module)
    keeper = module.Keeper()
    site = tmp_path / "site"
    project = tmp_path / "project"
    venv_site = project / ".venv" / "lib" / "site-packages"
    keeper.installed = [str(venv_site), str(site)]
    keeper._take_report(
        {
            "loaded": [
                ["lib_a", str(site / "lib_a.py")],
                ["in_venv", str(venv_site / "in_venv.py")],
                ["models", str(project / "models.py")],
                ["elsewhere", str(tmp_path / "other" / "elsewhere.py")],
                ["never_me.sub", str(site / "never_me" / "sub.py")],
                ["named_mod", str(site / "named_mod.py")],
                ["json", "/anything/json.py"],  # already loaded here
            ],
            "directory": str(project),
            "environment": {"HOME": str(tmp_path)},
            "roots": [str(project)],
            "keep": ["named_mod"],
            "never": ["never_me"],
            "changed": False,
        }
    )
    assert sorted(keeper._candidates) == ["in_venv", "lib_a", "named_mod"]
    modules = {
        "lib_a": {"file": str(site / "lib_a.py"), "why": ""},
        "in_venv": {"file": str(venv_site / "in_venv.py"), "why": "socket.connect"},
        "named_mod": {"file": str(site / "named_mod.py"), "why": "the working directory"},
    }
    first = module._Probe(
        fd=-1,
        pid=0,
        deadline=0.0,
        names=["lib_a", "in_venv", "named_mod"],
        setting=module._Setting(str(project), (("HOME", str(tmp_path)),)),
        blocked=frozenset(),
        round=module._ROUNDS,
        socks=[],
    )
    keeper._probed(
        first,
        {
            "modules": modules,
            "tainted": {"in_venv": "socket.connect", "named_mod": "the working directory"},
            "verdicts": {"lib_a": "", "in_venv": "in_venv: socket.connect", "named_mod": "x"},
        },
    )
    # After the last round something still did something: only what a project names is kept.
    assert keeper._approved == []
    assert [(j.name, j.named) for j in keeper._named] == [("named_mod", "named_mod")]
    assert set(keeper.refused) == {"lib_a", "in_venv"}
    # A round that taints nothing approves what it loaded, with the files it loaded.
    keeper._candidates["lib_b"] = {"file": str(site / "lib_b.py"), "named": None}
    keeper._candidates["moved"] = {"file": str(site / "moved.py"), "named": None}
    last = module._Probe(
        fd=-1,
        pid=0,
        deadline=0.0,
        names=["lib_b", "moved"],
        setting=module._Setting(str(project), (("HOME", str(tmp_path)),)),
        blocked=frozenset({"in_venv"}),
        round=2,
        socks=[],
    )
    keeper._probed(
        last,
        {
            "modules": {
                "lib_b": {"file": str(site / "lib_b.py"), "why": ""},
                "moved": {"file": "/elsewhere/moved.py", "why": ""},
            },
            "tainted": {},
            "verdicts": {"lib_b": "", "moved": ""},
        },
    )
    assert [(j.name, j.blocked) for j in keeper._approved] == [("lib_b", frozenset({"in_venv"}))]
    assert keeper.refused["moved"] == "it resolves to another file in the server"
    # Refused by the probe for one project, still judged for another that names it.
    report = {"roots": [str(project)], "keep": ["in_venv"], "never": [], "changed": False}
    report.update(directory=str(project), environment={})
    keeper._take_report({**report, "loaded": [["in_venv", str(venv_site / "in_venv.py")]]})
    assert keeper._candidates["in_venv"]["named"] == "in_venv"
    keeper._take_report({"changed": True})
    assert keeper.stale


# --- through a warm server -------------------------------------------------------------------

_ENV_PY_LINE = '"cwd": os.getcwd(),'


def _project(tmp_path: Path, imports: list[str]) -> Path:
    root = make_project(tmp_path, sqlite_url(tmp_path / "db.sqlite"), [Revision("k1", None)])
    values = ", ".join(
        f'"{name}": getattr(__import__("{name}"), "VALUE", None)' for name in imports
    )
    env = root / "migrations" / "env.py"
    env.write_text(env.read_text().replace(_ENV_PY_LINE, f'{_ENV_PY_LINE} "site": {{{values}}},'))
    return root


def _request(root: Path, record: Path, **environment: str) -> dict[str, Any]:
    return current_request(root, {"ALEMBIC_TEST_RECORD": str(record), **environment})


def _settled(site: Path) -> None:
    """Age the files: a file written moments ago is never kept (it may still change)."""
    old = time.time() - 10
    for path in site.rglob("*.py"):
        os.utime(path, (old, old))


def _until_kept(
    processes: WorkerProcesses, launch: Launch, request: dict[str, Any], package: str
) -> dict[str, Any]:
    deadline = time.monotonic() + 30
    while True:
        response = processes.exchange(launch, request).response
        assert response is not None and response["ok"], response
        if package in response.get("kept", {}).get("packages", []):
            return response
        assert time.monotonic() < deadline, f"{package} was never kept: {response}"
        time.sleep(0.2)


def _seen(record: Path) -> dict[str, Any]:
    seen: dict[str, Any] = json.loads(record.read_text().splitlines()[-1])["site"]
    return seen


def _world(
    tmp_path: Path, imports: list[str], extra: dict[str, str] | None = None, python: str = ""
) -> tuple[Path, Path, Path, Launch]:
    """Installed modules (and ``extra`` files beside them, aged), a project whose env.py
    imports ``imports`` and records what it saw, the record, and how to launch its worker."""
    site = tmp_path / "site"
    _write_modules(site)
    for name, text in (extra or {}).items():
        (site / name).write_text(text)
    _settled(site)
    root = _project(tmp_path, imports)
    launch = Launch((python or sys.executable,), str(root), {"PYTHONPATH": str(site)})
    return site, root, tmp_path / "record.jsonl", launch


_LEGACY = os.environ.get("ALEMBIC_TEST_LEGACY_PYTHON", "")


def _kept_without_env_mod(exchange: Any) -> dict[str, Any]:
    """What a request with another value of WARM_VALUE used: not what read it, and never
    the value itself in what it says."""
    assert exchange.response is not None
    kept: dict[str, Any] = exchange.response["kept"]
    assert "quiet_mod" in kept["packages"]
    assert not {"env_mod", "outer_pkg", "cwd_mod"} & set(kept["packages"]), kept
    assert "env_mod read environment variable WARM_VALUE at import" in kept["why"]
    assert "secret" not in json.dumps(exchange.response)
    return kept


@pytest.mark.parametrize("legacy", [False, True], ids=["current", "legacy"])
def test_a_warm_server_keeps_quiet_imports_and_each_request_keeps_its_own_view(
    tmp_path: Path, legacy: bool
) -> None:
    if legacy and not _LEGACY:
        pytest.skip("ALEMBIC_TEST_LEGACY_PYTHON is not set")
    imports = ["quiet_mod", "env_mod", "socket_mod", "outer_pkg", "cwd_mod"]
    site, root, record, launch = _world(tmp_path, imports, python=_LEGACY if legacy else "")
    processes = WorkerProcesses(warm=True, shared=False)
    try:
        # Probed and imported with the environment of the request that loaded them, and
        # used by each request that has the same values of what they read.
        first = _until_kept(processes, launch, _request(root, record, WARM_VALUE="a"), "cwd_mod")
        assert {"quiet_mod", "env_mod", "outer_pkg"} <= set(first["kept"]["packages"])
        assert "socket_mod" not in first["kept"]["packages"]
        here = os.path.realpath(root)
        seen = {"quiet_mod": "quiet", "socket_mod": None, "outer_pkg": "a", "cwd_mod": here}
        assert _seen(record) == {**seen, "env_mod": "a"}
        for value in ("secret-b", None, "secret-c"):
            extra = {} if value is None else {"WARM_VALUE": value}
            kept = _kept_without_env_mod(
                processes.exchange(launch, _request(root, record, **extra))
            )
            assert _seen(record) == {**seen, "env_mod": value, "outer_pkg": value}, kept
        # Switched off or named never to keep: this request imports it fresh.
        for switch in (
            {"TERRAFORM_PROVIDER_ALEMBIC_KEEP_IMPORTS": "off"},
            {"TERRAFORM_PROVIDER_ALEMBIC_NEVER_KEEP_MODULES": "quiet_mod"},
        ):
            response = processes.exchange(launch, _request(root, record, **switch))
            assert response.response is not None
            assert "quiet_mod" not in response.response["kept"]["packages"], switch
            assert response.response["kept"]["dropped"] > 0
        # A project with its own quiet_mod gets its own.
        (root / "quiet_mod.py").write_text("VALUE = 'the project'\n")
        response = processes.exchange(launch, _request(root, record))
        assert response.response is not None
        assert _seen(record)["quiet_mod"] == "the project"
        assert "resolves elsewhere" in response.response["kept"]["why"]
        (root / "quiet_mod.py").unlink()
        # An edited kept module is imported fresh, and the server leaves.
        (site / "quiet_mod.py").write_text("import fractions\nVALUE = 'edited'\n")
        server = next(iter(processes._servers.values()))
        response = processes.exchange(launch, _request(root, record))
        assert response.response is not None
        assert _seen(record)["quiet_mod"] == "edited"
        assert "changed" in response.response["kept"]["why"]
        deadline = time.monotonic() + 10
        while server.alive() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not server.alive(), "a server whose kept file changed stops serving"
        response = processes.exchange(launch, _request(root, record))
        assert _seen(record)["quiet_mod"] == "edited"
    finally:
        processes.close()


@pytest.mark.parametrize("named", [False, True])
def test_a_module_named_to_keep_is_kept_despite_the_probe(tmp_path: Path, named: bool) -> None:
    _, root, record, launch = _world(tmp_path, ["quiet_mod", "thread_mod"])
    names = {"TERRAFORM_PROVIDER_ALEMBIC_KEEP_MODULES": "thread_mod"} if named else {}
    processes = WorkerProcesses(warm=True, shared=False)
    try:
        kept = _until_kept(processes, launch, _request(root, record, **names), "quiet_mod")
        if named and "thread_mod" not in kept["kept"]["packages"]:
            kept = _until_kept(processes, launch, _request(root, record, **names), "thread_mod")
        assert ("thread_mod" in kept["kept"]["packages"]) is named
        # Another project that does not name it never uses it.
        other = processes.exchange(launch, _request(root, record)).response
        assert other is not None and "thread_mod" not in other["kept"]["packages"]
    finally:
        processes.close()


def test_a_module_refused_in_one_environment_is_judged_again_in_another(tmp_path: Path) -> None:
    """Like MLflow, whose import writes a telemetry session id unless telemetry is off: its
    verdict holds where what it read is the same, and is reached again where it is not."""
    session = (
        "import os\n"
        "if os.environ.get('WARM_QUIET') != '1':\n"
        "    os.environ['WARM_SESSION'] = 'random'\n"
        "VALUE = os.environ.get('WARM_QUIET')\n"
    )
    _, root, record, launch = _world(
        tmp_path, ["quiet_mod", "session_mod"], {"session_mod.py": session}
    )
    processes = WorkerProcesses(warm=True, shared=False)
    try:
        loud = _until_kept(processes, launch, _request(root, record), "quiet_mod")
        assert "session_mod" not in loud["kept"]["packages"]
        quiet = _until_kept(
            processes, launch, _request(root, record, WARM_QUIET="1"), "session_mod"
        )
        assert _seen(record)["session_mod"] == "1", quiet
        # The operation without it still imports it fresh, and writes its own session.
        again = processes.exchange(launch, _request(root, record)).response
        assert again is not None and "session_mod" not in again["kept"]["packages"]
        assert _seen(record)["session_mod"] is None
    finally:
        processes.close()


_MODELS = """
import sqlalchemy as sa
from sqlalchemy.orm import configure_mappers, declarative_base, relationship

Base = declarative_base()


class Parent(Base):
    __tablename__ = "parent"
    id = sa.Column(sa.Integer, primary_key=True)


class Child(Base):
    __tablename__ = "child"
    id = sa.Column(sa.Integer, primary_key=True)
    parent_id = sa.Column(sa.ForeignKey("parent.id"))
    parent = relationship(Parent)


configure_mappers()
VALUE = "configured"
"""


def test_a_kept_orm_import_dropped_for_one_request_leaves_no_half_old_orm(tmp_path: Path) -> None:
    """An installed module kept with a condition pulls in SQLAlchemy's ORM; a request whose
    value differs imports it afresh, and its models still configure: what the server itself
    loaded never points at a copy of the ORM that request no longer uses."""
    orm = "import os\nVALUE = os.environ.get('WARM_VALUE')\nimport sqlalchemy.orm\n"
    _, root, record, launch = _world(tmp_path, ["orm_mod", "models_mod"], {"orm_mod.py": orm})
    (root / "models_mod.py").write_text(_MODELS)
    processes = WorkerProcesses(warm=True, shared=False)
    try:
        _until_kept(processes, launch, _request(root, record, WARM_VALUE="a"), "orm_mod")
        # Another value drops orm_mod; keeping switched off drops everything kept.
        off = {"TERRAFORM_PROVIDER_ALEMBIC_KEEP_IMPORTS": "off"}
        for extra in ({"WARM_VALUE": "b"}, {**off, "WARM_VALUE": "c"}):
            response = processes.exchange(launch, _request(root, record, **extra)).response
            assert response is not None and response["ok"], response
            assert response["kept"]["dropped"] > 0, response["kept"]
            seen = {"orm_mod": extra["WARM_VALUE"], "models_mod": "configured"}
            assert _seen(record) == seen
    finally:
        processes.close()


def test_what_a_dropped_import_bound_in_a_kept_module_is_unbound_first(tmp_path: Path) -> None:
    """A kept import that fills a registry in a module kept before it: a request that drops
    it (another value) finds the registry as a fresh process would, filled by its own copy."""
    plugin = (
        "import os\nimport registry_mod\n\n\nclass Plugin:\n    pass\n\n\n"
        "VALUE = os.environ.get('WARM_VALUE')\n"
        "registry_mod.__dict__.setdefault('Plugin', Plugin)\n"
    )
    modules = {"registry_mod.py": "VALUE = 'registry'\n", "plugin_mod.py": plugin}
    _, root, record, launch = _world(tmp_path, ["registry_mod", "plugin_mod", "check_mod"], modules)
    (root / "check_mod.py").write_text(
        "import plugin_mod\nimport registry_mod\n\n"
        "VALUE = registry_mod.Plugin is plugin_mod.Plugin\n"
    )
    processes = WorkerProcesses(warm=True, shared=False)
    try:
        _until_kept(processes, launch, _request(root, record, WARM_VALUE="a"), "plugin_mod")
        assert _seen(record)["check_mod"] is True
        response = processes.exchange(launch, _request(root, record, WARM_VALUE="b")).response
        assert response is not None and "registry_mod" in response["kept"]["packages"]
        assert "plugin_mod" not in response["kept"]["packages"]
        assert _seen(record) == {"registry_mod": "registry", "plugin_mod": "b", "check_mod": True}
    finally:
        processes.close()


def test_a_module_named_to_keep_that_the_probe_approves_is_kept_for_every_project(
    tmp_path: Path,
) -> None:
    _, root, record, launch = _world(tmp_path, ["quiet_mod", "env_mod"])
    named = {"TERRAFORM_PROVIDER_ALEMBIC_KEEP_MODULES": "env_mod", "WARM_VALUE": "a"}
    processes = WorkerProcesses(warm=True, shared=False)
    try:
        _until_kept(processes, launch, _request(root, record, **named), "env_mod")
        # Kept with its condition, not by name: a project that does not name it uses it too.
        other = processes.exchange(launch, _request(root, record, WARM_VALUE="a")).response
        assert other is not None and "env_mod" in other["kept"]["packages"], other
        assert _seen(record)["env_mod"] == "a"
        another = processes.exchange(launch, _request(root, record, **{**named, "WARM_VALUE": "b"}))
        assert another.response is not None
        assert "env_mod" not in another.response["kept"]["packages"]
        assert _seen(record)["env_mod"] == "b"
    finally:
        processes.close()
