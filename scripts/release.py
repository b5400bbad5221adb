"""Build the release files into ``dist/`` (``make release``).

Writes, for the platform it runs on (``linux_amd64`` here):

- the Python package: ``terraform_provider_alembic-VERSION-py3-none-any.whl`` and the sdist;
- ``terraform-provider-alembic_VERSION_OS_ARCH.zip``: a self-contained build (PyInstaller,
  one-directory mode) made from the wheel installed into a fresh virtualenv, so it runs where no
  provider virtualenv exists; the worker and the proxy supervisor ship inside it as plain files,
  because they run in the user's own interpreter;
- ``terraform-provider-alembic_VERSION_SHA256SUMS`` and, when ``GPG_FINGERPRINT`` names a key in
  the local keyring, ``..._SHA256SUMS.sig`` (a detached binary signature);
- ``terraform-provider-alembic_VERSION_manifest.json`` (plugin protocol 6.0): the file set a
  provider registry publishes;
- ``mirror/HOST/NAMESPACE/alembic/``: the archive plus ``index.json`` and ``VERSION.json`` of the
  provider network mirror protocol, so the same directory serves as a packed filesystem mirror
  (``filesystem_mirror``) and, behind any static HTTPS server, as a network mirror.

Archives are written reproducibly (sorted entries, fixed timestamps, no directory entries), so
the same build gives the same checksums. Hashes: ``zh:`` is the archive's SHA-256, ``h1:`` the
hash Terraform computes over the archive's files (golang.org/x/mod dirhash "Hash1").
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import re
import shutil
import stat
import subprocess
import sys
import time
import zipfile
from collections.abc import Iterable, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NAME = "terraform-provider-alembic"
PROTOCOL_VERSIONS = ("6.0",)
PYINSTALLER = "pyinstaller==6.22.3"
DEFAULT_SOURCE = "terraform.local/alembic/alembic"
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)
# The frozen program. Its name must not start with the provider's: Terraform runs the first file
# of the package whose name does, and that is the launcher below.
PROGRAM = "program"
# What Terraform runs: the launcher. A command Terraform starts (no arguments, its cookie set)
# goes through the system Python to a running warm server when it can; everything else, and any
# failure there, runs the program itself.
LAUNCHER = """#!/bin/sh
case $0 in
  */*) here=${0%/*} ;;
  *) here=$(dirname "$(command -v "$0")") ;;
esac
if [ $# -eq 0 ] && [ -n "$TF_PLUGIN_MAGIC_COOKIE" ] && [ -x /usr/bin/python3 ]; then
  exec /usr/bin/python3 -I -S -B "$here/_internal/alembic_provider/entry/archive_launch.py" \\
    "$here/program"
fi
exec "$here/program" "$@"
"""
# Importable but never imported by the provider process: the worker imports them in the
# user's interpreter. Leaving them out keeps the archive small.
_EXCLUDED_MODULES = ("alembic", "sqlalchemy", "mako", "tkinter", "_tkinter", "pytest")


def version() -> str:
    """Return the version in ``alembic_provider/__init__.py``."""
    text = (ROOT / "alembic_provider" / "__init__.py").read_text()
    match = re.search(r'^__version__ = "([^"]+)"$', text, re.MULTILINE)
    if match is None:
        raise SystemExit("alembic_provider/__init__.py has no __version__")
    return match.group(1)


def platform_name() -> str:
    """Return Terraform's name for this platform, such as ``linux_amd64``."""
    machine = os.uname().machine.lower()
    arch = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}
    return f"{os.uname().sysname.lower()}_{arch.get(machine, machine)}"


def archive_name(ver: str, platform: str) -> str:
    return f"{NAME}_{ver}_{platform}.zip"


def zh_hash(path: Path) -> str:
    """Return the ``zh:`` hash: the SHA-256 of the archive file itself."""
    return "zh:" + hashlib.sha256(path.read_bytes()).hexdigest()


def h1_hash(archive: Path) -> str:
    """Return the ``h1:`` hash Terraform records for the package inside ``archive``.

    It is the SHA-256 of a summary listing, for each file sorted by name, its SHA-256 in hex,
    two spaces and its name; Terraform computes the same from the unpacked directory.
    """
    with zipfile.ZipFile(archive) as zf:
        names = sorted(info.filename for info in zf.infolist() if not info.is_dir())
        summary = "".join(
            f"{hashlib.sha256(zf.read(name)).hexdigest()}  {name}\n" for name in names
        )
    return "h1:" + base64.b64encode(hashlib.sha256(summary.encode()).digest()).decode()


def write_zip(source: Path, archive: Path) -> None:
    """Zip the files under ``source`` reproducibly, keeping executable bits; follow symlinks."""
    files = sorted(p for p in source.rglob("*") if p.is_file())
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        for path in files:
            name = path.relative_to(source).as_posix()
            info = zipfile.ZipInfo(name, date_time=_ZIP_TIME)
            executable = path.stat().st_mode & stat.S_IXUSR
            info.external_attr = ((0o755 if executable else 0o644) | stat.S_IFREG) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3  # Unix, so the mode bits above are honoured
            zf.writestr(info, path.read_bytes())


def sha256sums(paths: Iterable[Path]) -> str:
    """Return a ``SHA256SUMS`` document: ``<hex>  <file name>`` per line, sorted by name."""
    return "".join(
        f"{hashlib.sha256(path.read_bytes()).hexdigest()}  {path.name}\n"
        for path in sorted(paths, key=lambda path: path.name)
    )


def manifest() -> str:
    """Return the registry manifest: which plugin protocol versions the provider speaks."""
    data = {"version": 1, "metadata": {"protocol_versions": list(PROTOCOL_VERSIONS)}}
    return json.dumps(data, indent=2) + "\n"


def mirror_documents(ver: str, archives: dict[str, Path]) -> tuple[str, str]:
    """Return ``index.json`` and ``VERSION.json`` of the provider network mirror protocol.

    :param archives: the archive of each platform, keyed by ``OS_ARCH``; URLs are relative.
    """
    index = {"versions": {ver: {}}}
    listing = {
        "archives": {
            platform: {"url": path.name, "hashes": [h1_hash(path), zh_hash(path)]}
            for platform, path in sorted(archives.items())
        }
    }
    return json.dumps(index, indent=2) + "\n", json.dumps(listing, indent=2) + "\n"


def _run(argv: Sequence[str], **kwargs: object) -> None:
    print("+ " + " ".join(str(a) for a in argv), flush=True)
    subprocess.run([str(a) for a in argv], check=True, **kwargs)  # type: ignore[call-overload]


def build_python_package(dist: Path) -> Path:
    """Build the wheel and the sdist into ``dist``; return the wheel."""
    for old in dist.glob("terraform_provider_alembic-*"):
        old.unlink()
    _run([sys.executable, "-m", "build", "--outdir", dist, ROOT], stdout=subprocess.DEVNULL)
    (wheel,) = dist.glob("terraform_provider_alembic-*.whl")
    return wheel


def release_venv(venv: Path, python: str, wheel: Path) -> Path:
    """Install the wheel (not the checkout) and PyInstaller into ``venv``; return its python."""
    interpreter = venv / "bin" / "python"
    if not interpreter.exists():
        _run([python, "-m", "venv", venv])
        _run([interpreter, "-m", "pip", "install", "--quiet", PYINSTALLER])
    _run([interpreter, "-m", "pip", "install", "--quiet", wheel])
    _run([interpreter, "-m", "pip", "install", "--quiet", "--force-reinstall", "--no-deps", wheel])
    return interpreter


def _installed_package(interpreter: Path) -> Path:
    out = subprocess.run(
        [interpreter, "-c", "import alembic_provider, os; print(alembic_provider.__path__[0])"],
        check=True,
        capture_output=True,
        text=True,
        cwd="/",
    ).stdout
    return Path(out.strip())


def freeze(interpreter: Path, ver: str, work: Path) -> Path:
    """Build the one-directory program; return the directory that becomes the archive's root."""
    package = _installed_package(interpreter)
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    entry = work / "provider_entry.py"
    entry.write_text(
        "import sys\n\n"
        "from alembic_provider.entry.fast_start import exit_if_served\n\n"
        "exit_if_served(sys.argv[1:])\n\n"
        "from alembic_provider.entry.cli import main\n\n"
        "sys.exit(main())\n"
    )
    datas: list[str] = []
    # Scripts run by path in the user's interpreter ship as files at their package paths, with
    # the module the worker loads by its path.
    # The launcher's system Python reads the fast start and what it imports as files too.
    shipped = (
        "executor/worker",
        "proxy/_supervisor.py",
        "rendezvous",
        "__init__.py",
        "entry/__init__.py",
        "entry/fast_start.py",
        "entry/archive_launch.py",
    )
    for relative in shipped:
        path = package / relative
        if path.exists():
            destination = Path("alembic_provider") / relative
            target = destination if path.is_dir() else destination.parent
            datas += ["--add-data", f"{path}{os.pathsep}{target.as_posix()}"]
    excludes = [arg for module in _EXCLUDED_MODULES for arg in ("--exclude-module", module)]
    program = PROGRAM
    _run(
        [
            interpreter,
            "-m",
            "PyInstaller",
            "--noconfirm",
            "--clean",
            "--onedir",
            "--strip",
            "--log-level",
            "WARN",
            "--name",
            program,
            "--distpath",
            work / "dist",
            "--workpath",
            work / "build",
            "--specpath",
            work,
            *datas,
            *excludes,
            entry,
        ],
        cwd=work,
        # Marshalled constants (frozensets) follow string hashing: fix the seed so that two
        # builds of the same sources give the same bytes.
        env={**os.environ, "PYTHONHASHSEED": "0"},
    )
    output = work / "dist" / program
    for cache in output.rglob("__pycache__"):
        shutil.rmtree(cache)
    launcher = output / f"{NAME}_v{ver}"
    launcher.write_text(LAUNCHER)
    launcher.chmod(0o755)
    return output


def sign(sums: Path) -> Path | None:
    """Sign ``sums`` with the key ``GPG_FINGERPRINT`` names; ``None`` when no key is set."""
    key = os.environ.get("GPG_FINGERPRINT", "").strip()
    if not key:
        print("GPG_FINGERPRINT is not set: SHA256SUMS is not signed.")
        return None
    if shutil.which("gpg") is None:
        raise SystemExit("GPG_FINGERPRINT is set but gpg is not installed; install gnupg.")
    signature = sums.with_name(sums.name + ".sig")
    _run(
        [
            "gpg",
            "--batch",
            "--yes",
            "--local-user",
            key,
            "--output",
            signature,
            "--detach-sign",
            sums,
        ]
    )
    return signature


def release(dist: Path, venv: Path, python: str, source: str) -> list[Path]:
    """Write every release file into ``dist`` and return their paths."""
    ver = version()
    platform = platform_name()
    dist.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    wheel = build_python_package(dist)
    interpreter = release_venv(venv, python, wheel)
    built = time.monotonic()
    program = freeze(interpreter, ver, ROOT / "build" / "release")
    frozen = time.monotonic()
    prefix = f"{NAME}_{ver}"
    archive = dist / archive_name(ver, platform)
    write_zip(program, archive)
    manifest_path = dist / f"{prefix}_manifest.json"
    manifest_path.write_text(manifest())
    sums = dist / f"{prefix}_SHA256SUMS"
    for old in (sums, sums.with_name(sums.name + ".sig")):
        old.unlink(missing_ok=True)
    sums.write_text(sha256sums([archive, manifest_path]))
    signature = sign(sums)
    parts = source.split("/")
    if len(parts) != 3 or parts[2] != "alembic" or not all(parts):
        raise SystemExit(
            f"The source '{source}' is not HOST/NAMESPACE/alembic, for example "
            "'terraform.local/alembic/alembic'."
        )
    host, namespace, kind = parts
    mirror = dist / "mirror" / host / namespace / kind
    shutil.rmtree(dist / "mirror", ignore_errors=True)
    mirror.mkdir(parents=True)
    shutil.copy2(archive, mirror / archive.name)
    index, listing = mirror_documents(ver, {platform: archive})
    (mirror / "index.json").write_text(index)
    (mirror / f"{ver}.json").write_text(listing)
    size = archive.stat().st_size / 2**20
    print(
        f"Built {archive.name} ({size:.1f} MiB) in {time.monotonic() - started:.0f} s "
        f"(package and virtualenv {built - started:.0f} s, PyInstaller {frozen - built:.0f} s)."
    )
    written = [wheel, archive, manifest_path, sums, mirror]
    return written + ([signature] if signature else [])


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dist", type=Path, default=ROOT / "dist")
    parser.add_argument("--venv", type=Path, default=ROOT / ".venv-release")
    parser.add_argument("--python", default="python3", help="interpreter for the release venv")
    parser.add_argument(
        "--source", default=DEFAULT_SOURCE, help="HOST/NAMESPACE/alembic for the mirror tree"
    )
    args = parser.parse_args(argv)
    for path in release(args.dist.absolute(), args.venv.absolute(), args.python, args.source):
        print(f"wrote {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
