"""Helpers unit and acceptance tests share: processes, ports, waiting, HCL, the fake proxy, keys.

One copy of each, importable as ``tests.support`` from ``tests/`` and ``acceptance/`` alike. Waits
poll a condition up to a generous bound that only catches hangs; nothing here asserts on timing.
Never starts the provider itself (``tests/started.py`` does that).
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

__all__ = [
    "FAKE_PROXY",
    "ROOT",
    "WAIT",
    "SigningKey",
    "StillUntil",
    "WorkerRequests",
    "accepts",
    "another_user_is_refused",
    "fake_proxy_command",
    "free_port",
    "hcl",
    "is_alive",
    "listening_pids",
    "load_script",
    "modules_loaded_by",
    "plugin_env",
    "provider_installation",
    "recorded_pids",
    "required_providers",
    "signing_key",
    "wait_for",
    "wait_gone",
]

#: The repository's top directory.
ROOT = Path(__file__).resolve().parent.parent
#: How long a wait may take before the test fails; a loaded machine needs far less.
WAIT = 60.0
#: The stand-in proxy: listens (TCP or unix socket) after a delay, forwards, records its pid.
FAKE_PROXY = ROOT / "tests" / "proxy" / "fake_proxy.py"


def is_alive(pid: int) -> bool:
    """Whether ``pid`` still runs; a zombie waiting for its parent to reap it counts as gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            # The command name in parentheses may hold any byte: the state follows the last ')'.
            return stat.read().rpartition(b")")[2].split()[0] != b"Z"
    except (FileNotFoundError, ProcessLookupError):
        # Gone, or reaped while being read: opening or reading /proc then fails with either.
        return False


def wait_for(condition: Callable[[], bool], what: str, timeout: float = WAIT) -> float:
    """Poll ``condition`` until it holds and return the seconds it took (for reports only).

    :param what: what is awaited, as the failure message completes "timed out waiting for …".
    """
    start = time.monotonic()
    while not condition():
        if time.monotonic() - start > timeout:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.02)
    return time.monotonic() - start


def wait_gone(pid: int, timeout: float = WAIT) -> None:
    """Wait until process ``pid`` no longer runs; fail the test if it outlives ``timeout``."""
    wait_for(lambda: not is_alive(pid), f"process {pid} to exit", timeout)


class StillUntil:
    """A monotonic clock that stands at 0 until ``condition`` first holds, then counts from there.

    Given to code that measures a deadline, it starts the deadline when the test's scenario is in
    place (a process has set itself up), not when a slow machine got round to starting it.
    """

    def __init__(self, condition: Callable[[], bool]) -> None:
        self._condition = condition
        self._start: float | None = None

    def __call__(self) -> float:
        if self._start is None:
            if not self._condition():
                return 0.0
            self._start = time.monotonic()
        return time.monotonic() - self._start


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listened on a moment ago."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def accepts(port: int, host: str = "127.0.0.1") -> bool:
    """Whether something accepts TCP connections on ``host:port`` right now."""
    try:
        with socket.create_connection((host, port), timeout=WAIT):
            return True
    except OSError:
        return False


def fake_proxy_command(*args: str) -> list[str]:
    """The argument list that runs the fake proxy with ``args`` under this interpreter."""
    return [sys.executable, str(FAKE_PROXY), *args]


def recorded_pids(record: Path) -> list[int]:
    """The pids that fake proxies started with ``--record record`` have written, oldest first."""
    return [int(line) for line in record.read_text().split()] if record.exists() else []


def hcl(value: object) -> str:
    """``value`` as an HCL literal: JSON, with template sequences escaped so they stay text."""
    return json.dumps(value).replace("${", "$${").replace("%{", "%%{")


def required_providers(source: str, version: str | None = None) -> str:
    """The ``terraform`` block that makes a configuration take this provider from ``source``."""
    local_name = source.rsplit("/", 1)[-1]
    lines = [f"source = {hcl(source)}"]
    if version is not None:
        lines = [f"source  = {hcl(source)}", f"version = {hcl(version)}"]
    entries = "".join(f"      {line}\n" for line in lines)
    block = f"    {local_name} = {{\n{entries}    }}\n"
    return f"terraform {{\n  required_providers {{\n{block}  }}\n}}\n\n"


def provider_installation(mirror: str, location: str, include: str = "terraform.local/*/*") -> str:
    """A CLI configuration taking providers matching ``include`` from one mirror, others directly.

    :param mirror: the mirror block's kind, ``filesystem_mirror`` or ``network_mirror``.
    :param location: the mirror's directory (``path``) or, for a network mirror, its ``url``.
    """
    key = "url    " if mirror == "network_mirror" else "path   "
    return (
        "provider_installation {\n"
        f"  {mirror} {{\n    {key} = {hcl(location)}\n"
        f"    include = [{hcl(include)}]\n  }}\n"
        f"  direct {{\n    exclude = [{hcl(include)}]\n  }}\n}}\n"
    )


def modules_loaded_by(statement: str, packages: Iterable[str]) -> list[str]:
    """Run ``statement`` in a fresh interpreter; list the modules of ``packages`` it loaded."""
    wanted = tuple(packages)
    code = (
        f"import sys\n{statement}\n"
        f"print(*sorted(m for m in sys.modules if m.split('.')[0] in {wanted!r}))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    return result.stdout.split()


def load_script(name: str) -> ModuleType:
    """Import ``scripts/<name>.py``, which is no package, as a module of its own."""
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@dataclass(frozen=True)
class SigningKey:
    """A GnuPG key in a keyring of its own: its home, fingerprint and armored public key."""

    home: Path
    fingerprint: str
    public_key: str


@contextmanager
def signing_key() -> Iterator[SigningKey]:
    """Create a throwaway RSA signing key without a passphrase (old Terraform verifies RSA only).

    The keyring lives in a new short directory (gpg-agent's socket path is limited), removed
    with its agent afterwards.
    """
    home = Path(tempfile.mkdtemp(prefix="gpg"))
    home.chmod(0o700)
    env = {"GNUPGHOME": str(home), "PATH": "/usr/bin:/bin"}

    def gpg(*args: str) -> str:
        return subprocess.run(
            ["gpg", "--batch", *args], env=env, check=True, capture_output=True, text=True
        ).stdout

    try:
        gpg(
            *("--passphrase", "", "--quick-gen-key", "Provider Test <test@example.invalid>"),
            *("rsa2048", "sign", "never"),
        )
        listing = gpg("--with-colons", "--list-secret-keys")
        fingerprint = next(
            line.split(":")[9] for line in listing.splitlines() if line.startswith("fpr")
        )
        yield SigningKey(home, fingerprint, gpg("--armor", "--export", fingerprint))
    finally:
        subprocess.run(["gpgconf", "--kill", "all"], env=env, check=False, capture_output=True)
        shutil.rmtree(home, ignore_errors=True)


class WorkerRequests:
    """A log sink for a ``WorkerExecutor`` that keeps the operation of every worker request."""

    def __init__(self) -> None:
        self.ops: list[str] = []

    def debug(self, message: str, **fields: object) -> None:
        if message == "alembic worker request":
            self.ops.append(str(fields["op"]))

    def trace(self, message: str, **fields: object) -> None:
        pass


def plugin_env(warm_dir: Path, **extra: str) -> dict[str, str]:
    """This run's environment as Terraform gives it to a provider, with ``warm_dir`` for its
    warm server (used unless ``extra`` turns it off)."""
    from alembic_provider.plugin.server import MAGIC_COOKIE_KEY, MAGIC_COOKIE_VALUE
    from alembic_provider.rendezvous import settings

    env = {k: v for k, v in os.environ.items() if not k.startswith(("TF_", "PLUGIN_"))}
    env.update({MAGIC_COOKIE_KEY: MAGIC_COOKIE_VALUE, "PLUGIN_PROTOCOL_VERSIONS": "5,6"})
    env[settings.DIRECTORY_VARIABLE] = str(warm_dir)
    env.pop(settings.ENABLE_VARIABLE, None)
    env.update(extra)
    return env


#: ``__SO_ACCEPTCON`` in the flags column of ``/proc/net/unix``: a listening socket.
_ACCEPTS = 0x10000


def listening_pids(socket_path: Path) -> list[int]:
    """The processes that hold the listening unix socket ``socket_path``: who serves on it."""
    # The listener's line: its flags say it accepts connections (accepted ones show the path too).
    inode = next(
        (
            fields[6]
            for fields in (line.split() for line in Path("/proc/net/unix").read_text().splitlines())
            if len(fields) >= 8 and fields[7] == str(socket_path) and int(fields[3], 16) & _ACCEPTS
        ),
        None,
    )
    if inode is None:
        raise AssertionError(f"{socket_path} is not a listening socket")
    found = []
    for entry in filter(str.isdigit, os.listdir("/proc")):
        try:
            fds = os.listdir(f"/proc/{entry}/fd")
        except OSError:
            continue
        targets = set()
        for fd in fds:
            with contextlib.suppress(OSError):  # a descriptor closed meanwhile
                targets.add(os.readlink(f"/proc/{entry}/fd/{fd}"))
        if f"socket:[{inode}]" in targets:
            found.append(int(entry))
    return found


def another_user_is_refused(socket_path: Path) -> bool:
    """Whether a process of user ``nobody`` is refused when it connects to ``socket_path``.

    Needs root, to become that user.
    """
    code = (
        "import os, socket, sys\n"
        "os.setgid(65534); os.setuid(65534)\n"
        "s = socket.socket(socket.AF_UNIX)\n"
        "try:\n    s.connect(sys.argv[1])\nexcept PermissionError:\n    sys.exit(3)\n"
    )
    run = subprocess.run([sys.executable, "-c", code, str(socket_path)], check=False)
    return run.returncode == 3


def terraform_world(
    tmp_path: Path, site_modules: dict[str, str], age: bool = False
) -> tuple[dict[str, str], Path, Path]:
    """A user's world for Terraform: HOME, CLI configuration, the launcher installed, a warm
    server directory, and a directory on ``PYTHONPATH`` holding ``site_modules`` (name: source).

    :param age: date the modules back ten seconds (a file written moments ago is never kept).
    Returns the environment, the modules' directory and the file env.py records its runs in.
    """
    home = tmp_path / "home"
    home.mkdir()
    cli_config = tmp_path / "terraformrc"
    cli_config.write_text("")
    site = tmp_path / "site"
    site.mkdir()
    for name, text in site_modules.items():
        (site / f"{name}.py").write_text(text)
    if age:
        old = time.time() - 10
        for path in site.iterdir():
            os.utime(path, (old, old))
    record = tmp_path / "record.jsonl"
    env = {
        "PATH": os.environ.get("PATH", os.defpath),
        "HOME": str(home),
        "TF_CLI_CONFIG_FILE": str(cli_config),
        "CHECKPOINT_DISABLE": "1",
        "TERRAFORM_PROVIDER_ALEMBIC_DAEMON_DIR": str(tmp_path / "warm"),
        "PYTHONPATH": str(site),
        "ALEMBIC_TEST_RECORD": str(record),
    }
    subprocess.run(
        [sys.executable, "-m", "alembic_provider", "install"],
        env=env,
        check=True,
        capture_output=True,
    )
    return env, site, record


def current_request(root: Path, environment: dict[str, str] | None = None) -> dict[str, Any]:
    """A worker request for ``current`` on the project at ``root`` (its ``alembic.ini``).

    :param environment: added to the worker's environment, as a resource's ``environment``.
    """
    from alembic_provider.executor.messages import PROTOCOL_VERSION

    return {
        "protocol": PROTOCOL_VERSION,
        "op": "current",
        "config": str(root / "alembic.ini"),
        "section": "alembic",
        "x": [],
        "tag": None,
        "url": None,
        "environment": dict(environment or {}),
    }
