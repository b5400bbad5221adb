"""Separate "machines" for distribution tests: each its own HOME, virtualenv path and CLI config.

A team shares a configuration and its ``.terraform.lock.hcl`` but nothing else: every member
has their own home directory and a virtualenv somewhere of their own. A :class:`Machine` is one
such member inside a test's ``tmp_path``. Its virtualenv is this test run's own environment seen
through a symbolic link at a path of the machine's, which is what the launcher and the lock file
must not depend on. ``PATH`` holds only the system directories, so nothing is found by accident.
Never touches the real ``HOME``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from acceptance.terraform_bin import TerraformBinary

__all__ = ["DEMO", "Machine", "new_machine"]

DEMO = Path(__file__).resolve().parent.parent / "examples" / "demo"
"""The README's demo: one ``alembic_upgrade`` against an SQLite file beside the configuration."""

_SYSTEM_PATH = "/usr/bin:/bin"
_TIMEOUT = 300


@dataclass(frozen=True)
class Machine:
    """One team member's machine: a HOME, a virtualenv path and a Terraform binary."""

    root: Path
    terraform: TerraformBinary
    cli_config: str = ""
    extra_env: Mapping[str, str] = field(default_factory=dict)

    @property
    def home(self) -> Path:
        return self.root / "home"

    @property
    def python(self) -> str:
        """Return this machine's path to the provider's interpreter."""
        return str(self.root / "venv" / "bin" / Path(sys.executable).name)

    @property
    def env(self) -> dict[str, str]:
        config = self.root / "terraformrc"
        config.write_text(self.cli_config)
        env = {
            "PATH": _SYSTEM_PATH,
            "HOME": str(self.home),
            "TF_CLI_CONFIG_FILE": str(config),
            "CHECKPOINT_DISABLE": "1",
            "TF_IN_AUTOMATION": "1",
        }
        if "TMPDIR" in os.environ:
            env["TMPDIR"] = os.environ["TMPDIR"]
        # Warm servers live where the test run keeps them, so the run stops them at its end.
        env.update(
            {
                k: v
                for k, v in os.environ.items()
                if k.startswith("TERRAFORM_PROVIDER_ALEMBIC_DAEMON")
            }
        )
        return {**env, **self.extra_env}

    def run(self, *argv: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
        """Run a command on this machine, returning whatever happened."""
        return subprocess.run(
            list(argv),
            cwd=cwd or self.home,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=_TIMEOUT,
            check=False,
        )

    def tf(self, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
        """Run Terraform in ``cwd``; fail the test with its output when it fails."""
        result = self.run(str(self.terraform.path), *args, "-no-color", cwd=cwd)
        assert result.returncode == 0, describe(result)
        return result

    def install_launcher(self) -> str:
        """Run ``terraform-provider-alembic install`` with this machine's interpreter."""
        result = self.run(self.python, "-m", "alembic_provider", "install")
        assert result.returncode == 0, describe(result)
        return result.stdout

    def checkout(self, lock_file: str | None = None) -> Path:
        """Copy the demo configuration, with a committed lock file when given, as a clone would."""
        work = self.root / "work"
        shutil.copytree(
            DEMO, work, ignore=shutil.ignore_patterns(".terraform*", "*.db", "*.tfstate*")
        )
        if lock_file is not None:
            (work / ".terraform.lock.hcl").write_text(lock_file)
        return work


def new_machine(
    tmp_path: Path,
    name: str,
    terraform: TerraformBinary,
    *,
    cli_config: str = "",
    extra_env: Mapping[str, str] | None = None,
    venv: Path | None = None,
) -> Machine:
    """Create the machine ``name`` under ``tmp_path`` with its own HOME and virtualenv path.

    :param venv: the environment the machine's ``venv`` links to; this test run's by default.
    """
    root = tmp_path / name
    (root / "home").mkdir(parents=True)
    (root / "venv").symlink_to(venv or Path(sys.prefix), target_is_directory=True)
    return Machine(root, terraform, cli_config, dict(extra_env or {}))


def describe(result: subprocess.CompletedProcess[str]) -> str:
    """Return a failed command's argv, exit code and output, for assertion messages."""
    return (
        f"command: {' '.join(result.args)}\nexit code: {result.returncode}\n"
        f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}"
    )
