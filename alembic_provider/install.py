"""Make the installed provider visible to Terraform through its implied local mirror.

Terraform hashes the whole provider directory into ``.terraform.lock.hcl`` and checks that hash
on every command, so the mirror holds exactly one small launcher script that execs this
interpreter; nothing is ever written next to it afterwards. ``terraform init`` then finds the
provider without a network. Never imports grpc, alembic or SQLAlchemy.
"""

from __future__ import annotations

import os
import platform
import re
import shlex
import sys
from dataclasses import dataclass
from pathlib import Path

from alembic_provider import __version__
from alembic_provider.errors import ConfigError

__all__ = [
    "DEFAULT_SOURCE",
    "Installation",
    "ProviderSource",
    "default_plugin_dir",
    "install",
    "launcher_text",
    "platform_name",
    "required_providers_block",
]

DEFAULT_SOURCE = "terraform.local/alembic/alembic"
_DEFAULT_HOST = "registry.terraform.io"
_LABEL = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?$")
_HOST = re.compile(r"^[A-Za-z0-9.-]+(?::\d+)?$")


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
class Installation:
    path: Path
    source: ProviderSource
    version: str
    changed: bool
    #: An earlier, different launcher was overwritten: lock files that recorded it are stale.
    replaced: bool = False


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


def launcher_text(python: str) -> str:
    return (
        "#!/bin/sh\n"
        "# Starts terraform-provider-alembic with the interpreter it was installed into.\n"
        f'exec {shlex.quote(python)} -B -m alembic_provider "$@"\n'
    )


def install(
    directory: Path | None = None,
    source: str = DEFAULT_SOURCE,
    *,
    python: str | None = None,
    version: str = __version__,
) -> Installation:
    """Write the launcher into ``directory`` (default :func:`default_plugin_dir`).

    Rewriting an identical launcher changes nothing, so existing lock files stay valid.
    """
    parsed = ProviderSource.parse(source)
    root = directory if directory is not None else default_plugin_dir()
    package_dir = root / parsed.host / parsed.namespace / parsed.type / version / platform_name()
    path = package_dir / f"terraform-provider-alembic_v{version}"
    text = launcher_text(python or sys.executable)
    existed = path.exists()
    changed = not existed or path.read_text() != text
    if changed:
        package_dir.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f".{path.name}.tmp")
        temporary.write_text(text)
        temporary.chmod(0o755)
        temporary.replace(path)
    return Installation(path, parsed, version, changed, replaced=existed and changed)


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
