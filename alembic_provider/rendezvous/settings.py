"""Where this user's sockets live, which installation they belong to, and whether to use them.

Standard library modules written in C only (no ``contextlib``, ``hashlib``, ``typing``): the
launcher's fast start imports this without ``site``, before anything else. Of this package it
imports only the version. The sockets live in a directory only their user can enter (mode
0700); the warm server's name is a digest of the provider version and of the installation
(interpreter, package files and their modification times, import path variables), so an
upgraded or edited provider never talks to an old server. The self-contained build of the
release archive is one program file holding its modules: its size, time and inode stand for them.
"""

from __future__ import annotations

import os
import sys

from alembic_provider import __version__

try:  # the C implementation alone: hashlib would load OpenSSL first
    from _sha2 import sha256  # type: ignore[import-not-found,unused-ignore]
except ImportError:
    try:
        from _sha256 import sha256  # type: ignore[import-not-found,no-redef,unused-ignore]
    except ImportError:
        from hashlib import sha256  # type: ignore[no-redef,unused-ignore]

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = [
    "DIRECTORY_VARIABLE",
    "ENABLE_VARIABLE",
    "IDLE_VARIABLE",
    "Settings",
    "UnsafeDirectoryError",
    "installation_key",
    "private_directory",
    "settings",
]

ENABLE_VARIABLE = "TERRAFORM_PROVIDER_ALEMBIC_DAEMON"
IDLE_VARIABLE = "TERRAFORM_PROVIDER_ALEMBIC_DAEMON_IDLE"
DIRECTORY_VARIABLE = "TERRAFORM_PROVIDER_ALEMBIC_DAEMON_DIR"
DEFAULT_IDLE_SECONDS = 600.0
_OFF = ("0", "off", "false", "no")
# The installed package, alembic_provider/ (this file is alembic_provider/rendezvous/settings.py).
_PACKAGE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# Variables that change what the server imports: part of the installation's identity.
_IMPORT_VARIABLES = ("PYTHONPATH", "PYTHONHOME", "PYTHONSAFEPATH", "PYTHONNOUSERSITE")
_S_IFMT = 0o170000
_S_IFDIR = 0o040000
# Keys this process computed, by the values of the import variables: the package a running
# process imported does not change under it, so a session forked from the warm server (whose
# variables are the ones its socket was named with) need not walk the package again.
_KEYS: dict[tuple[str, ...], str] = {}


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


def settings(environ: Mapping[str, str] | None = None, program: str | None = None) -> Settings:
    """Read the settings from ``environ`` (default: this process's environment).

    :param program: the release archive's program, when another interpreter starts on its behalf
        (the archive's launcher): the installation is that program's, not this interpreter's.
    """
    env = os.environ if environ is None else environ
    enabled = env.get(ENABLE_VARIABLE, "on").strip().lower() not in _OFF
    enabled = enabled and hasattr(os, "fork")
    try:
        idle = float(env.get(IDLE_VARIABLE, DEFAULT_IDLE_SECONDS))
    except ValueError:
        idle = DEFAULT_IDLE_SECONDS
    return Settings(enabled, _directory(env), installation_key(env, program), max(idle, 0.0))


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
    try:  # noqa: SIM105 (contextlib would cost the fast start its import)
        os.mkdir(path, 0o700)
    except FileExistsError:
        pass
    info = os.lstat(path)
    if info.st_mode & _S_IFMT != _S_IFDIR or info.st_uid != os.getuid():
        raise UnsafeDirectoryError(
            f"The warm server directory '{path}' is not a directory owned by this user."
        )
    if info.st_mode & 0o077:
        raise UnsafeDirectoryError(
            f"The warm server directory '{path}' may be entered by other users; make it "
            f"private (chmod 700 '{path}') or remove it."
        )
    return path


def installation_key(environ: Mapping[str, str], program: str | None = None) -> str:
    """Digest the version and everything that makes this installation what it is."""
    variables = (program or "", *(environ.get(name, "") for name in _IMPORT_VARIABLES))
    known = _KEYS.get((__version__, *variables))
    if known is None:
        known = _KEYS[(__version__, *variables)] = _digest(environ, program)
    return known


def _digest(environ: Mapping[str, str], program: str | None) -> str:
    digest = sha256()
    executable = os.path.realpath(program or sys.executable)
    for part in (__version__, executable, os.path.realpath(_PACKAGE)):
        digest.update(part.encode("utf-8", "surrogateescape") + b"\0")
    if program is not None or getattr(sys, "frozen", False):
        # The self-contained build carries its modules inside the program file itself.
        info = os.stat(executable)
        digest.update(f"{info.st_size}:{info.st_mtime_ns}:{info.st_ino}\0".encode())
    for name in _IMPORT_VARIABLES:
        digest.update(f"{name}={environ.get(name, '')}\0".encode("utf-8", "surrogateescape"))
    for root, directories, files in os.walk(_PACKAGE):
        directories[:] = sorted(d for d in directories if d != "__pycache__")
        for name in sorted(files):
            if name.endswith((".py", ".so", ".pyi")):
                info = os.stat(os.path.join(root, name))
                digest.update(f"{root}/{name}:{info.st_size}:{info.st_mtime_ns}\0".encode())
    return f"v{__version__}-{digest.hexdigest()[:20]}"
