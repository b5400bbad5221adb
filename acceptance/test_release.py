"""What ``make release`` wrote into ``dist/``, checked the way Terraform and a registry use it.

The release files are built once per run (``make release``, before ``make test`` in CI) and only
read here: names, checksums, the manifest, the mirror documents, the archive's program answering
the plugin handshake with no Python of its own, Terraform installing the archive from a packed
filesystem mirror into an empty HOME on two machines that share a lock file, a network mirror
and a private registry, and the wheel installed with ``pipx`` (a fresh virtualenv, not the
checkout) serving Terraform.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from acceptance.conftest import unavailable
from acceptance.machines import describe, new_machine
from acceptance.registry import HOST as REGISTRY_HOST
from acceptance.registry import serve_registry, serve_static
from acceptance.terraform_bin import TerraformBinary, find_binaries
from alembic_provider import __version__
from alembic_provider.install import platform_name
from alembic_provider.plugin.server import MAGIC_COOKIE_KEY, MAGIC_COOKIE_VALUE
from tests.alembic_projects import Revision, make_project
from tests.support import (
    load_script,
    provider_installation,
    required_providers,
    signing_key,
)

pytestmark = pytest.mark.acceptance

ROOT = Path(__file__).resolve().parent.parent
NAME = "terraform-provider-alembic"
PREFIX = f"{NAME}_{__version__}"
PROGRAM = f"{NAME}_v{__version__}"
SOURCE = "terraform.local/alembic/alembic"
_HANDSHAKE = re.compile(r"^1\|6\|unix\|/[^|]+\|grpc\|[A-Za-z0-9+/]+$")


def _dist() -> Path:
    return Path(os.environ.get("ALEMBIC_TEST_DIST") or ROOT / "dist")


@pytest.fixture(scope="module")
def dist() -> Path:
    """Return ``dist/`` when ``make release`` has filled it for this version."""
    archive = _dist() / f"{PREFIX}_{platform_name()}.zip"
    if not archive.is_file():
        unavailable(f"No release archive at {archive}: run `make release` first.")
    return _dist()


@pytest.fixture
def unpacked(dist: Path, tmp_path: Path) -> Path:
    target = tmp_path / "unpacked"
    _unzip(dist / f"{PREFIX}_{platform_name()}.zip", target)
    return target


def _unzip(archive: Path, target: Path) -> None:
    with zipfile.ZipFile(archive) as zf:
        for info in zf.infolist():
            path = Path(zf.extract(info, target))
            path.chmod((info.external_attr >> 16) & 0o777 or 0o644)


def _dirhash(directory: Path) -> str:
    """Return Terraform's ``h1:`` hash of an unpacked provider directory."""
    files = sorted(
        (path.relative_to(directory).as_posix(), path)
        for path in directory.rglob("*")
        if path.is_file()
    )
    summary = "".join(
        f"{hashlib.sha256(path.read_bytes()).hexdigest()}  {name}\n" for name, path in files
    )
    return "h1:" + base64.b64encode(hashlib.sha256(summary.encode()).digest()).decode()


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_release_files_are_named_and_checksummed_as_a_registry_expects(
    dist: Path, tmp_path: Path
) -> None:
    archive = dist / f"{PREFIX}_{platform_name()}.zip"
    manifest = dist / f"{PREFIX}_manifest.json"
    sums = dist / f"{PREFIX}_SHA256SUMS"
    assert json.loads(manifest.read_text()) == {
        "version": 1,
        "metadata": {"protocol_versions": ["6.0"]},
    }
    assert sums.read_text() == (
        f"{_sha256(archive)}  {archive.name}\n{_sha256(manifest)}  {manifest.name}\n"
    )
    signature = sums.with_name(sums.name + ".sig")
    if signature.exists() and shutil.which("gpg"):
        verify = subprocess.run(
            ["gpg", "--batch", "--verify", str(signature), str(sums)],
            capture_output=True,
            text=True,
            check=False,
        )
        assert verify.returncode == 0, verify.stderr
    assert sorted(p.name for p in dist.glob("terraform_provider_alembic-*")) == [
        f"terraform_provider_alembic-{__version__}-py3-none-any.whl",
        f"terraform_provider_alembic-{__version__}.tar.gz",
    ]

    unpacked = tmp_path / "unpacked"
    _unzip(archive, unpacked)
    program = unpacked / PROGRAM
    assert os.access(program, os.X_OK)
    assert not list(unpacked.rglob("__pycache__"))
    package = next(unpacked.rglob("alembic_provider"))
    worker = package / "executor" / "worker"
    assert (worker / "__main__.py").is_file() or worker.with_suffix(".py").is_file()
    assert (package / "proxy" / "_supervisor.py").is_file()
    assert (package / "rendezvous" / "sockets.py").is_file()

    mirror = dist / "mirror" / SOURCE
    assert json.loads((mirror / "index.json").read_text()) == {"versions": {__version__: {}}}
    listing = json.loads((mirror / f"{__version__}.json").read_text())
    assert listing == {
        "archives": {
            platform_name(): {
                "url": archive.name,
                "hashes": [_dirhash(unpacked), f"zh:{_sha256(archive)}"],
            }
        }
    }
    assert (mirror / archive.name).read_bytes() == archive.read_bytes()


@pytest.fixture
def started(unpacked: Path, tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], str]]:
    """Start the archive's program as Terraform would, with no Python on ``PATH``."""
    empty = tmp_path / "no-python"
    empty.mkdir()
    env = {
        "PATH": str(empty),
        "HOME": str(tmp_path),
        MAGIC_COOKIE_KEY: MAGIC_COOKIE_VALUE,
        "PLUGIN_PROTOCOL_VERSIONS": "5,6",
        "PLUGIN_CLIENT_CERT": "-----BEGIN CERTIFICATE-----\n",
        # The warm server it starts lives where the test run keeps them, which stops it at the end.
        **{
            k: v for k, v in os.environ.items() if k.startswith("TERRAFORM_PROVIDER_ALEMBIC_DAEMON")
        },
    }
    process = subprocess.Popen(
        [str(unpacked / PROGRAM)],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    assert process.stdout is not None
    try:
        yield process, process.stdout.readline().strip()
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
        try:
            process.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.communicate()


def test_the_archive_program_answers_the_handshake_without_a_python(
    started: tuple[subprocess.Popen[str], str], unpacked: Path
) -> None:
    before = _dirhash(unpacked)
    process, line = started
    assert _HANDSHAKE.match(line), f"handshake line: {line!r}"
    process.send_signal(signal.SIGTERM)
    process.communicate(timeout=20)
    assert _dirhash(unpacked) == before, "the program wrote into its own directory"


def _mirror_config(dist: Path) -> str:
    return provider_installation("filesystem_mirror", str(dist / "mirror"))


def _project_python_on_path(root: Path) -> str:
    """Put ``python3`` on a ``PATH`` of its own: the project's interpreter, without the provider.

    The oldest supported Alembic's environment when the suite has it, else this run's.
    """
    interpreter = os.environ.get("ALEMBIC_TEST_LEGACY_PYTHON", "")
    if not os.access(interpreter, os.X_OK):
        interpreter = sys.executable
    bin_dir = root / "project-bin"
    bin_dir.mkdir(parents=True)
    wrapper = bin_dir / "python3"
    wrapper.write_text(f'#!/bin/sh\nexec "{interpreter}" "$@"\n')
    wrapper.chmod(0o755)
    return f"{bin_dir}:/usr/bin:/bin"


def test_the_archive_installs_from_a_packed_filesystem_mirror_and_its_lock_file_travels(
    terraform: TerraformBinary, dist: Path, tmp_path: Path
) -> None:
    config = _mirror_config(dist)
    first = new_machine(
        tmp_path,
        "first",
        terraform,
        cli_config=config,
        extra_env={"PATH": _project_python_on_path(tmp_path / "first")},
    )
    work = first.checkout()
    init = first.tf(work, "init", "-input=false")
    assert "Installed terraform.local/alembic/alembic v0.1.0" in init.stdout
    lock = (work / ".terraform.lock.hcl").read_text()
    listing = json.loads((dist / "mirror" / SOURCE / f"{__version__}.json").read_text())
    h1 = listing["archives"][platform_name()]["hashes"][0]
    assert re.findall(r'"((?:h1|zh):[^"]+)"', lock) == [h1]
    first.tf(work, "apply", "-input=false", "-auto-approve")
    assert first.tf(work, "output", "-raw", "revision").stdout == "0003"
    plan = first.run(
        str(terraform.path), "plan", "-no-color", "-detailed-exitcode", "-input=false", cwd=work
    )
    assert plan.returncode == 0, describe(plan)
    installed = work / ".terraform/providers" / SOURCE / __version__ / platform_name()
    assert _dirhash(installed.resolve()) == h1, "running the provider changed its directory"

    second = new_machine(
        tmp_path,
        "second",
        terraform,
        cli_config=config,
        extra_env={"PATH": _project_python_on_path(tmp_path / "second")},
    )
    clone = second.checkout(lock)
    second.tf(clone, "init", "-input=false")
    assert (clone / ".terraform.lock.hcl").read_text() == lock
    plan_text = second.tf(clone, "plan", "-input=false").stdout
    assert "# alembic_upgrade.demo will be created" in plan_text
    second.tf(clone, "apply", "-input=false", "-auto-approve")
    assert second.tf(clone, "output", "-raw", "revision").stdout == "0003"


def _archive_config(root: Path) -> str:
    return (
        required_providers(SOURCE, __version__)
        + f"""provider "alembic" {{
  project_root = "{root}"
}}

resource "alembic_upgrade" "db" {{
  target = "heads"
  environment = {{
    DATABASE_URL = "sqlite:///${{path.cwd}}/db.sqlite"
  }}
}}
"""
    )


def _daemon(program: Path, env: dict[str, str], action: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(program), "daemon", action], env=env, capture_output=True, text=True, check=False
    )


def _sessions_of(program: Path, env: dict[str, str]) -> tuple[int, int]:
    """Sessions served by ``program``'s warm server, and how many came straight to it."""
    status = _daemon(program, env, "status")
    assert status.returncode == 0, describe(status)
    for block in status.stdout.split("\nWarm server ")[0:]:
        if f"  interpreter: {program.parent / 'program'}\n" in block:
            served, _, fast = block.split("sessions: ")[1].split()[:3]
            return int(served), int(fast.lstrip("("))
    raise AssertionError(f"no warm server of {program}:\n{status.stdout}")


def test_the_archive_serves_terraform_through_a_warm_server_and_keeps_each_commands_secrets(
    terraform: TerraformBinary, dist: Path, tmp_path: Path
) -> None:
    """Two working directories, two secrets, one warm server: each apply sees only its own."""
    warm = Path(tempfile.mkdtemp(prefix="tfa-"))
    machine = new_machine(
        tmp_path,
        "archive",
        terraform,
        cli_config=_mirror_config(dist),
        extra_env={
            "PATH": _project_python_on_path(tmp_path / "archive"),
            "TERRAFORM_PROVIDER_ALEMBIC_DAEMON_DIR": str(warm / "warm"),
        },
    )
    root = make_project(tmp_path / "alembic", revisions=[Revision("w1", None, "first")])
    program = None
    try:
        seen = {}
        for name in ("first", "second"):
            work = tmp_path / name
            work.mkdir()
            (work / "main.tf").write_text(_archive_config(root))
            record = tmp_path / f"{name}.jsonl"
            env = dict(
                machine.extra_env,
                ALEMBIC_TEST_RECORD=str(record),
                ALEMBIC_TEST_SECRET=f"secret-of-{name}",
            )
            for command in (["init"], ["apply", "-auto-approve"]):
                done = subprocess.run(
                    [str(terraform.path), *command, "-input=false", "-no-color"],
                    cwd=work,
                    env={**machine.env, **env},
                    capture_output=True,
                    text=True,
                    check=False,
                )
                assert done.returncode == 0, describe(done)
            seen[name] = [json.loads(line) for line in record.read_text().splitlines()]
            program = work / ".terraform/providers" / SOURCE / __version__ / platform_name()
            program = program / PROGRAM
        for name, other in (("first", "second"), ("second", "first")):
            assert seen[name], f"env.py never ran for the {name} apply"
            for entry in seen[name]:
                assert entry["environment"]["ALEMBIC_TEST_SECRET"] == f"secret-of-{name}"
                assert f"secret-of-{other}" not in json.dumps(entry)
        assert program is not None
        served, fast = _sessions_of(program, machine.env)
        assert served >= 3, "init, validate and apply each started the provider"
        plan = machine.run(
            str(terraform.path),
            "plan",
            "-detailed-exitcode",
            "-input=false",
            "-no-color",
            cwd=tmp_path / "second",
        )
        assert plan.returncode == 0, describe(plan)
        assert "No changes." in plan.stdout
        served_after, fast_after = _sessions_of(program, machine.env)
        # With its server running, every start of the plan went straight to it.
        assert served_after > served
        assert fast_after - fast == served_after - served
    finally:
        if program is not None:
            _daemon(program, machine.env, "stop")
        shutil.rmtree(warm, ignore_errors=True)


def test_pipx_install_of_the_wheel_then_install_serves_terraform(
    dist: Path, tmp_path: Path
) -> None:
    """The README's path on a clean machine: ``pipx install`` the wheel, then ``install``."""
    terraform = find_binaries()[-1]
    machine = new_machine(tmp_path, "pipx", terraform)
    pipx = {
        "PIPX_HOME": str(machine.root / "pipx"),
        "PIPX_BIN_DIR": str(machine.root / "bin"),
        "PIPX_MAN_DIR": str(machine.root / "man"),
    }
    wheel = dist / f"terraform_provider_alembic-{__version__}-py3-none-any.whl"
    base_python = os.path.realpath(sys.executable)
    installed = subprocess.run(
        [sys.executable, "-m", "pipx", "install", "--python", base_python, str(wheel)],
        env={**machine.env, **pipx, "PATH": os.environ.get("PATH", os.defpath)},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert installed.returncode == 0, describe(installed)
    venv_python = machine.root / "pipx" / "venvs" / "terraform-provider-alembic" / "bin" / "python"
    where = machine.run(
        str(venv_python), "-c", "import alembic_provider; print(alembic_provider.__file__)"
    )
    assert where.returncode == 0, describe(where)
    assert Path(where.stdout.strip()).is_relative_to(machine.root / "pipx"), where.stdout
    registered = machine.run(str(machine.root / "bin" / "terraform-provider-alembic"), "install")
    assert registered.returncode == 0, describe(registered)
    assert "Wrote the launcher" in registered.stdout
    work = machine.checkout()
    machine.tf(work, "init", "-input=false")
    machine.tf(work, "apply", "-input=false", "-auto-approve")
    assert machine.tf(work, "output", "-raw", "revision").stdout == "0003"


def test_the_python_package_passes_twine_check(dist: Path) -> None:
    packages = sorted(str(p) for p in dist.glob(f"terraform_provider_alembic-{__version__}*"))
    result = subprocess.run(
        [sys.executable, "-m", "twine", "check", "--strict", *packages],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("PASSED") == 2, result.stdout


def test_a_private_registry_serves_the_signed_release_and_init_records_zh_and_h1(
    terraform: TerraformBinary, dist: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if shutil.which("gpg") is None:
        unavailable("gpg is not installed: install gnupg to test signed releases.")
    files = tmp_path / "release"
    files.mkdir()
    for name in (f"{platform_name()}.zip", "manifest.json", "SHA256SUMS"):
        shutil.copy2(dist / f"{PREFIX}_{name}", files)
    archive = files / f"{PREFIX}_{platform_name()}.zip"
    with signing_key() as key:
        monkeypatch.setenv("GNUPGHOME", str(key.home))
        monkeypatch.setenv("GPG_FINGERPRINT", key.fingerprint)
        assert load_script("release").sign(files / f"{PREFIX}_SHA256SUMS") is not None
        with serve_registry(files, __version__, platform_name(), key, tmp_path) as registry:
            machines = [
                new_machine(
                    tmp_path,
                    name,
                    terraform,
                    cli_config=registry.cli_config,
                    extra_env={
                        "PATH": _project_python_on_path(tmp_path / name),
                        "SSL_CERT_FILE": str(registry.ca_file),
                    },
                )
                for name in ("first", "second")
            ]
            first, second = machines
            work = _from_registry(first.checkout())
            init = first.tf(work, "init", "-input=false")
            assert f"(self-signed, key ID {key.fingerprint[-16:].upper()})" in init.stdout
            lock = (work / ".terraform.lock.hcl").read_text()
            unpacked = tmp_path / "unpacked"
            _unzip(archive, unpacked)
            hashes = set(re.findall(r'"((?:h1|zh):[^"]+)"', lock))
            assert {_dirhash(unpacked), f"zh:{_sha256(archive)}"} <= hashes
            # Every zh: hash comes from the signed SHA256SUMS (Terraform 1.0 also records the
            # manifest's line; later releases keep only the archives').
            sums = (files / f"{PREFIX}_SHA256SUMS").read_text().splitlines()
            signed = {f"zh:{line.split()[0]}" for line in sums}
            assert {h for h in hashes if h.startswith("zh:")} <= signed
            first.tf(work, "apply", "-input=false", "-auto-approve")
            assert first.tf(work, "output", "-raw", "revision").stdout == "0003"

            clone = _from_registry(second.checkout(lock))
            second.tf(clone, "init", "-input=false")
            assert (clone / ".terraform.lock.hcl").read_text() == lock
            plan = second.tf(clone, "plan", "-input=false").stdout
            assert "# alembic_upgrade.demo will be created" in plan


def _from_registry(work: Path) -> Path:
    """Point the demo configuration at the test registry's source address."""
    main = work / "main.tf"
    main.write_text(main.read_text().replace(SOURCE, f"{REGISTRY_HOST}/alembic/alembic"))
    return work


def test_the_mirror_tree_served_over_https_is_a_network_mirror(dist: Path, tmp_path: Path) -> None:
    # One Terraform is enough here: the registry and filesystem mirror tests cover both.
    terraform = find_binaries()[-1]
    with serve_static(dist / "mirror", tmp_path) as mirror:
        config = provider_installation("network_mirror", f"{mirror.url}/")
        machine = new_machine(
            tmp_path,
            "ci",
            terraform,
            cli_config=config,
            extra_env={
                "PATH": _project_python_on_path(tmp_path / "ci"),
                "SSL_CERT_FILE": str(mirror.ca_file),
            },
        )
        work = machine.checkout()
        init = machine.tf(work, "init", "-input=false")
        assert "Installed terraform.local/alembic/alembic v0.1.0" in init.stdout
        listing = json.loads((dist / "mirror" / SOURCE / f"{__version__}.json").read_text())
        h1 = listing["archives"][platform_name()]["hashes"][0]
        assert h1 in (work / ".terraform.lock.hcl").read_text()
        plan = machine.tf(work, "plan", "-input=false").stdout
        assert "# alembic_upgrade.demo will be created" in plan
