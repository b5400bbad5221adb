"""Where the warm server's socket lives, which installation it belongs to, and whether to use it.

Standard library only: the process Terraform starts reads this before anything heavy. The
socket lives in a directory only its user can enter; its name is a digest of the provider
version and of the installation (interpreter, package files and their modification times,
import path variables), so an upgraded or edited provider never talks to an old server.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import stat
import sys
from collections.abc import Iterator, Mapping

from alembic_provider import __version__

__all__ = [
    "DIRECTORY_VARIABLE",
    "ENABLE_VARIABLE",
    "IDLE_VARIABLE",
    "Settings",
    "UnsafeDirectoryError",
    "installation_key",
    "private_directory",
    "reachable",
    "settings",
]

ENABLE_VARIABLE = "TERRAFORM_PROVIDER_ALEMBIC_DAEMON"
IDLE_VARIABLE = "TERRAFORM_PROVIDER_ALEMBIC_DAEMON_IDLE"
DIRECTORY_VARIABLE = "TERRAFORM_PROVIDER_ALEMBIC_DAEMON_DIR"
DEFAULT_IDLE_SECONDS = 600.0
_OFF = ("0", "off", "false", "no")
_SOCKET_PATH_LIMIT = 100
_PACKAGE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# Variables that change what the server imports: part of the installation's identity.
_IMPORT_VARIABLES = ("PYTHONPATH", "PYTHONHOME", "PYTHONSAFEPATH", "PYTHONNOUSERSITE")


class UnsafeDirectoryError(Exception):
    """The socket directory exists but is not private to this user."""


class Settings:
    """The warm server for this installation: its socket, lock, log and idle time.

    A plain class rather than a dataclass: the process Terraform starts reads it, and the
    dataclasses module costs that process more start-up time than everything else it imports.
    """

    __slots__ = ("directory", "enabled", "idle_seconds", "key")

    def __init__(self, enabled: bool, directory: str, key: str, idle_seconds: float) -> None:
        self.enabled = enabled
        self.directory = directory
        self.key = key
        self.idle_seconds = idle_seconds

    @property
    def socket_path(self) -> str:
        return os.path.join(self.directory, f"{self.key}.sock")

    @property
    def lock_path(self) -> str:
        return os.path.join(self.directory, f"{self.key}.lock")

    @property
    def log_path(self) -> str:
        return os.path.join(self.directory, f"{self.key}.log")


def settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Read the settings from ``environ`` (default: this process's environment)."""
    env = os.environ if environ is None else environ
    enabled = env.get(ENABLE_VARIABLE, "on").strip().lower() not in _OFF
    enabled = enabled and hasattr(os, "fork") and not getattr(sys, "frozen", False)
    try:
        idle = float(env.get(IDLE_VARIABLE, DEFAULT_IDLE_SECONDS))
    except ValueError:
        idle = DEFAULT_IDLE_SECONDS
    return Settings(enabled, _directory(env), installation_key(env), max(idle, 0.0))


def _directory(env: Mapping[str, str]) -> str:
    chosen = env.get(DIRECTORY_VARIABLE)
    if chosen:
        return os.path.abspath(chosen)
    runtime = env.get("XDG_RUNTIME_DIR")
    if runtime and os.path.isdir(runtime):
        return os.path.join(runtime, "terraform-provider-alembic")
    return os.path.join("/tmp", f"terraform-provider-alembic-{os.getuid()}")


def private_directory(path: str) -> str:
    """Create ``path`` (mode 0700) or check that it is ours and private; return it.

    :raises UnsafeDirectoryError: when it belongs to someone else or others may enter it.
    """
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with contextlib.suppress(FileExistsError):
        os.mkdir(path, 0o700)
    info = os.lstat(path)
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid():
        raise UnsafeDirectoryError(
            f"The warm server directory '{path}' is not a directory owned by this user."
        )
    if stat.S_IMODE(info.st_mode) & 0o077:
        raise UnsafeDirectoryError(
            f"The warm server directory '{path}' may be entered by other users; make it "
            f"private (chmod 700 '{path}') or remove it."
        )
    return path


@contextlib.contextmanager
def reachable(path: str) -> Iterator[str]:
    """Yield an address for the unix socket ``path`` that fits the kernel's 108-byte limit.

    A long path is reached through a descriptor of its directory (``/proc/self/fd/N/name``).
    """
    if len(os.fsencode(path)) < _SOCKET_PATH_LIMIT:
        yield path
        return
    directory = os.open(os.path.dirname(path), os.O_RDONLY | os.O_DIRECTORY)
    try:
        yield f"/proc/self/fd/{directory}/{os.path.basename(path)}"
    finally:
        os.close(directory)


def installation_key(environ: Mapping[str, str]) -> str:
    """Digest the version and everything that makes this installation what it is."""
    digest = hashlib.sha256()
    for part in (__version__, os.path.realpath(sys.executable), os.path.realpath(_PACKAGE)):
        digest.update(part.encode("utf-8", "surrogateescape") + b"\0")
    for name in _IMPORT_VARIABLES:
        digest.update(f"{name}={environ.get(name, '')}\0".encode("utf-8", "surrogateescape"))
    for root, directories, files in os.walk(_PACKAGE):
        directories[:] = sorted(d for d in directories if d != "__pycache__")
        for name in sorted(files):
            if name.endswith((".py", ".so", ".pyi")):
                info = os.stat(os.path.join(root, name))
                digest.update(f"{root}/{name}:{info.st_size}:{info.st_mtime_ns}\0".encode())
    return f"v{__version__}-{digest.hexdigest()[:20]}"
