"""``terraform-provider-alembic install`` and ``install --uninstall`` through the real Terraform.

In a HOME of the test's own: ``install`` (into Terraform's implied local mirror, or with
``--dir`` into a directory a CLI configuration names as a filesystem mirror) makes ``terraform
init`` find the provider offline and ``terraform apply`` migrate a SQLite database with it;
``install --uninstall`` removes exactly the launcher and the interpreter file, after which
``terraform init`` in a new working directory no longer finds the provider. Runs with the
newest Terraform.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from acceptance.providers import PROVIDER_SOURCE
from acceptance.terraform_bin import TerraformBinary
from tests.alembic_projects import Revision, make_project
from tests.support import hcl, provider_installation, required_providers

pytestmark = [pytest.mark.acceptance, pytest.mark.newest_terraform]

VERSION = "0.1.0"


def _files(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if not p.is_dir())


@pytest.mark.parametrize("where", ["implied mirror", "--dir"])
def test_install_then_uninstall(terraform: TerraformBinary, tmp_path: Path, where: str) -> None:
    home, plugins, cli_config = tmp_path / "home", tmp_path / "plugins", tmp_path / "terraformrc"
    home.mkdir()
    dir_args = ["--dir", str(plugins)] if where == "--dir" else []
    cli_config.write_text(
        provider_installation("filesystem_mirror", str(plugins)) if dir_args else ""
    )
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("TF_", "XDG_CONFIG_HOME", "TERRAFORM_PROVIDER_ALEMBIC_PYTHON"))
    }
    env.update(HOME=str(home), TF_CLI_CONFIG_FILE=str(cli_config), CHECKPOINT_DISABLE="1")

    def run(*args: str, cwd: Path = tmp_path) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            list(args), cwd=cwd, env=env, capture_output=True, text=True, timeout=600, check=False
        )

    def install(*extra: str) -> str:
        done = run(sys.executable, "-m", "alembic_provider", "install", *dir_args, *extra)
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout

    database = tmp_path / "db.sqlite"
    project = make_project(tmp_path / "alembic", revisions=[Revision("r1", None)])
    config = required_providers(PROVIDER_SOURCE, VERSION) + (
        f'provider "alembic" {{\n  project_root = {hcl(str(project))}\n}}\n\n'
        f'resource "alembic_upgrade" "db" {{\n  target = "heads"\n'
        f"  environment = {{ DATABASE_URL = {hcl(f'sqlite:///{database}')} }}\n}}\n"
    )

    said = install()
    assert f"Installed {PROVIDER_SOURCE} {VERSION}." in said, said
    mirror = plugins if dir_args else home / ".terraform.d" / "plugins"
    launchers = _files(mirror)
    assert len(launchers) == 1 and launchers[0].startswith(f"{PROVIDER_SOURCE}/{VERSION}/")
    interpreter = home / ".config" / "terraform-provider-alembic" / VERSION / "python"
    assert interpreter.is_file()

    work = tmp_path / "work"
    work.mkdir()
    (work / "main.tf").write_text(config)
    init = run(terraform.path.as_posix(), "init", "-input=false", "-no-color", cwd=work)
    assert init.returncode == 0, init.stdout + init.stderr
    assert f"Installing {PROVIDER_SOURCE} v{VERSION}..." in init.stdout, init.stdout
    applied = run(
        terraform.path.as_posix(), "apply", "-auto-approve", "-input=false", "-no-color", cwd=work
    )
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert "Apply complete! Resources: 1 added, 0 changed, 0 destroyed." in applied.stdout

    said = install("--uninstall")
    assert said.splitlines() == [
        f"Removed the launcher {mirror / launchers[0]}",
        f"Removed the interpreter file {interpreter}",
    ]
    assert _files(mirror) == [] and not interpreter.exists()
    again = tmp_path / "again"
    again.mkdir()
    (again / "main.tf").write_text(config)
    init = run(terraform.path.as_posix(), "init", "-input=false", "-no-color", cwd=again)
    assert init.returncode != 0, init.stdout
    assert PROVIDER_SOURCE in init.stderr, init.stderr
