"""Make the installed provider visible to Terraform through its implied local mirror.

Terraform hashes the whole provider directory into ``.terraform.lock.hcl`` and checks that hash
on every command, and a team commits that file. So the mirror holds exactly one small launcher
whose bytes depend on nothing but the provider's version: it finds the interpreter at run time,
from ``TERRAFORM_PROVIDER_ALEMBIC_PYTHON``, else from a per-user file that ``install`` writes
(``${XDG_CONFIG_HOME:-$HOME/.config}/terraform-provider-alembic/VERSION/python``), else from a
``python3`` on ``PATH`` that can import the provider. That file's second line names the fast
start script of the installed package (``entry/fast_start.py``), which the launcher runs
without ``site`` when it exists. Nothing is ever written next to the launcher afterwards. Never
imports grpc, alembic or SQLAlchemy.
"""

from __future__ import annotations

import os
import platform
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from alembic_provider import __version__
from alembic_provider.errors import ConfigError

__all__ = [
    "DEFAULT_SOURCE",
    "FAST_START",
    "LAUNCHER_VERSION_ENV",
    "PYTHON_ENV",
    "Action",
    "Installation",
    "ProviderSource",
    "config_dir",
    "default_plugin_dir",
    "install",
    "launcher_path",
    "launcher_text",
    "platform_name",
    "provider_block",
    "python_file",
    "required_providers_block",
    "uninstall",
]

DEFAULT_SOURCE = "terraform.local/alembic/alembic"
PYTHON_ENV = "TERRAFORM_PROVIDER_ALEMBIC_PYTHON"
"""Names the interpreter the launcher runs, overriding the file ``install`` writes."""
LAUNCHER_VERSION_ENV = "TERRAFORM_PROVIDER_ALEMBIC_LAUNCHER"
"""Set by the launcher to its own version, so the provider can refuse a mismatched install."""

FAST_START = os.path.join(os.path.dirname(os.path.abspath(__file__)), "entry", "fast_start.py")
"""The installed package's fast start script, named on the interpreter file's second line."""
# Where earlier releases kept it: an interpreter file naming it is still this installation's.
_EARLIER_FAST_START = os.path.join(
    os.path.dirname(os.path.dirname(FAST_START)), "daemon", "fast_start.py"
)

_DEFAULT_HOST = "registry.terraform.io"
_LABEL = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?$")
_HOST = re.compile(r"^[A-Za-z0-9.-]+(?::\d+)?$")
_VERSION = re.compile(r"^[0-9A-Za-z.+-]+$")


@dataclass(frozen=True)
class ProviderSource:
    host: str
    namespace: str
    type: str

    @classmethod
    def parse(cls, text: str) -> ProviderSource:
        """Parse ``HOST/NAMESPACE/alembic`` or ``NAMESPACE/alembic``.

        :raises ConfigError: when the address is malformed or its type is not ``alembic``.
        """
        parts = text.strip().split("/")
        if len(parts) == 2:
            parts.insert(0, _DEFAULT_HOST)
        if len(parts) != 3 or not _HOST.match(parts[0]) or not all(map(_LABEL.match, parts[1:])):
            raise ConfigError(
                f"The provider source '{text}' is not a Terraform provider address; expected "
                "HOST/NAMESPACE/alembic, for example 'terraform.local/alembic/alembic'."
            )
        if parts[2] != "alembic":
            raise ConfigError(
                f"The provider source '{text}' names the type '{parts[2]}', but this provider's "
                "resources are named alembic_*, so its type must be 'alembic'."
            )
        return cls(parts[0].lower(), parts[1].lower(), parts[2])

    def __str__(self) -> str:
        return f"{self.host}/{self.namespace}/{self.type}"


@dataclass(frozen=True)
class Action:
    """One file ``install`` or ``install --uninstall`` looked at, and what it did with it.

    :param verb: ``"wrote"``, ``"unchanged"``, ``"removed"``, ``"absent"`` or ``"kept"``.
    :param why: for ``"kept"``, the reason the file was left alone.
    """

    verb: str
    path: Path
    what: str
    why: str = ""

    def describe(self) -> str:
        """Return one line for a person, such as ``Wrote the launcher /x/y``."""
        text = {
            "wrote": f"Wrote {self.what} {self.path}",
            "unchanged": f"Unchanged: {self.what} {self.path}",
            "removed": f"Removed {self.what} {self.path}",
            "absent": f"Nothing to remove: {self.what} {self.path} does not exist",
            "kept": f"Kept {self.what} {self.path}",
        }[self.verb]
        return f"{text} ({self.why})" if self.why else text


@dataclass(frozen=True)
class Installation:
    """Where the launcher and the interpreter file are, and what ``install`` did to each."""

    path: Path
    python_file: Path
    source: ProviderSource
    version: str
    actions: tuple[Action, ...]
    #: An earlier, different launcher was overwritten: lock files that recorded it are stale.
    replaced: bool = False

    @property
    def changed(self) -> bool:
        return any(action.verb == "wrote" for action in self.actions)


def platform_name() -> str:
    """Return Terraform's name for this platform, such as ``linux_amd64``."""
    machine = platform.machine().lower()
    arch = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}.get(
        machine, machine
    )
    return f"{platform.system().lower()}_{arch}"


def default_plugin_dir() -> Path:
    """Return ``~/.terraform.d/plugins``, one of the directories Terraform searches by itself."""
    return Path(os.path.expanduser("~")) / ".terraform.d" / "plugins"


def config_dir(environ: Mapping[str, str] | None = None) -> Path:
    """Return the per-user directory the launcher reads, exactly as the launcher computes it.

    ``XDG_CONFIG_HOME`` counts only when absolute (the XDG rule); otherwise ``$HOME/.config``.
    """
    env = os.environ if environ is None else environ
    xdg = env.get("XDG_CONFIG_HOME", "")
    base = Path(xdg) if xdg.startswith("/") else Path(env.get("HOME", "")) / ".config"
    return base / "terraform-provider-alembic"


def python_file(version: str = __version__, environ: Mapping[str, str] | None = None) -> Path:
    """Return the file that names the interpreter for the launcher of ``version``."""
    return config_dir(environ) / version / "python"


def launcher_path(
    directory: Path | None, source: ProviderSource, version: str = __version__
) -> Path:
    """Return where the launcher goes in the implied local mirror's unpacked layout."""
    root = directory if directory is not None else default_plugin_dir()
    package_dir = root / source.host / source.namespace / source.type / version / platform_name()
    return package_dir / f"terraform-provider-alembic_v{version}"


def launcher_text(version: str = __version__) -> str:
    """Return the launcher script for ``version``: its bytes name no path of this machine."""
    if not _VERSION.match(version):
        raise ValueError(f"'{version}' is not a version number")
    return _LAUNCHER.replace("@VERSION@", version)


# A /bin/sh script, so it works before any Python is found. Keep it the same on every machine:
# nothing here may depend on where or by whom it was installed.
_LAUNCHER = r"""#!/bin/sh
# terraform-provider-alembic @VERSION@ launcher. Terraform runs this file as the provider.
# Its bytes are the same on every machine, so the checksum that .terraform.lock.hcl records
# holds for a whole team. It runs the provider with the Python it is installed in, found in
# this order:
#   1. the TERRAFORM_PROVIDER_ALEMBIC_PYTHON environment variable;
#   2. the file `terraform-provider-alembic install` writes:
#      ${XDG_CONFIG_HOME:-$HOME/.config}/terraform-provider-alembic/@VERSION@/python
#      (its second line, when present, names the installed package's fast start script,
#      which hands the session to a running warm server without Python's site start-up);
#   3. python3 on PATH, if it can import alembic_provider.
version=@VERSION@
# Terraform shows a plugin's first line of stdout when the handshake fails, never its stderr.
fail() {
  echo "$1" >&2
  if [ -n "${TF_PLUGIN_MAGIC_COOKIE:-}" ]; then echo "$1"; fi
  exit 127
}
python="${TERRAFORM_PROVIDER_ALEMBIC_PYTHON:-}"
origin="TERRAFORM_PROVIDER_ALEMBIC_PYTHON"
fast=""
if [ -z "$python" ]; then
  case "${XDG_CONFIG_HOME:-}" in
    /*) config="$XDG_CONFIG_HOME" ;;
    *) config="${HOME:-}/.config" ;;
  esac
  origin="$config/terraform-provider-alembic/$version/python"
  if [ -f "$origin" ]; then
    { IFS= read -r python || :; IFS= read -r fast || :; } < "$origin"
  elif command -v python3 >/dev/null 2>&1 &&
      python3 -P -c 'import alembic_provider' >/dev/null 2>&1; then
    python=python3
    origin="PATH"
  fi
fi
if [ -z "$python" ]; then
  fail "terraform-provider-alembic $version: cannot find the Python environment the provider \
is installed in (looked for $origin and for a python3 on PATH that can import alembic_provider). \
Run \`terraform-provider-alembic install\` from that environment (for example after \
\`pipx install\` of the provider's checkout or wheel), or set \
TERRAFORM_PROVIDER_ALEMBIC_PYTHON to its python."
fi
if ! command -v "$python" >/dev/null 2>&1; then
  fail "terraform-provider-alembic $version: the Python '$python' named by $origin does not \
exist. Run \`terraform-provider-alembic install\` again from the environment the provider is \
installed in, or set TERRAFORM_PROVIDER_ALEMBIC_PYTHON to its python."
fi
TERRAFORM_PROVIDER_ALEMBIC_LAUNCHER="$version"
export TERRAFORM_PROVIDER_ALEMBIC_LAUNCHER
if [ -n "$fast" ] && [ -f "$fast" ]; then
  exec "$python" -I -S "$fast" "$@"
fi
exec "$python" -m alembic_provider "$@"
"""


def install(
    directory: Path | None = None,
    source: str = DEFAULT_SOURCE,
    *,
    python: str,
    version: str = __version__,
    environ: Mapping[str, str] | None = None,
    fast_start: str = FAST_START,
) -> Installation:
    """Write the launcher into ``directory`` and point the per-user file at ``python``.

    Rewriting identical files changes nothing, so running it again is harmless and existing
    lock files stay valid.

    :param directory: the plugin directory; :func:`default_plugin_dir` when ``None``.
    :param fast_start: the fast start script the per-user file names on its second line.
    """
    parsed = ProviderSource.parse(source)
    path = launcher_path(directory, parsed, version)
    existed = path.exists()
    launcher = _write(path, launcher_text(version), "the launcher", mode=0o755)
    interpreter = _write(
        python_file(version, environ),
        _interpreter_text(python, fast_start),
        "the interpreter file",
        mode=0o644,
    )
    interpreter = Action(interpreter.verb, interpreter.path, interpreter.what, f"names {python}")
    return Installation(
        path,
        interpreter.path,
        parsed,
        version,
        (launcher, interpreter),
        replaced=existed and launcher.verb == "wrote",
    )


def uninstall(
    directory: Path | None = None,
    source: str = DEFAULT_SOURCE,
    *,
    python: str,
    version: str = __version__,
    environ: Mapping[str, str] | None = None,
    fast_start: str = FAST_START,
) -> tuple[Action, ...]:
    """Remove what :func:`install` with the same arguments wrote, and nothing else.

    A launcher whose text is not this version's, or an interpreter file naming another
    interpreter or another fast start script, belongs to someone else and is kept (a file from
    an earlier release naming ``python``, in one line or with the fast start where that release
    kept it, is this installation's). Directories
    left empty are removed up to, not including, the plugin directory and the per-user
    configuration directory.
    """
    parsed = ProviderSource.parse(source)
    root = directory if directory is not None else default_plugin_dir()
    path = launcher_path(directory, parsed, version)
    launcher = _remove(path, launcher_text(version), "the launcher", stop=root)
    interpreter = _remove(
        python_file(version, environ),
        (
            _interpreter_text(python, fast_start),
            _interpreter_text(python, _EARLIER_FAST_START),
            f"{python}\n",
        ),
        "the interpreter file",
        stop=config_dir(environ).parent,
    )
    return (launcher, interpreter)


def _interpreter_text(python: str, fast_start: str) -> str:
    return f"{python}\n{fast_start}\n"


def _write(path: Path, text: str, what: str, *, mode: int) -> Action:
    if path.is_file() and path.read_text(errors="replace") == text:
        return Action("unchanged", path, what)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(text)
    temporary.chmod(mode)
    temporary.replace(path)
    return Action("wrote", path, what)


def _remove(path: Path, texts: str | tuple[str, ...], what: str, *, stop: Path) -> Action:
    if not path.exists():
        return Action("absent", path, what)
    if path.read_text(errors="replace") not in ((texts,) if isinstance(texts, str) else texts):
        return Action("kept", path, what, "another installation wrote it")
    path.unlink()
    parent = path.parent
    while parent != stop and stop in parent.parents:
        try:
            parent.rmdir()
        except OSError:
            break
        parent = parent.parent
    return Action("removed", path, what)


def required_providers_block(source: ProviderSource, version: str = __version__) -> str:
    return (
        "terraform {\n"
        "  required_providers {\n"
        "    alembic = {\n"
        f'      source  = "{source}"\n'
        f'      version = "{version}"\n'
        "    }\n"
        "  }\n"
        "}\n"
    )


def provider_block() -> str:
    """Return the provider block to start from: where the Alembic project is, and its Python."""
    return (
        'provider "alembic" {\n'
        '  project_root = "${path.module}/service"          # the directory with alembic.ini\n'
        '  python       = ["${path.module}/service/.venv/bin/python"]\n'
        "}\n"
    )
