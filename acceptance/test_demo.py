"""``make demo`` on a clean copy of the repository, as a newcomer runs it.

The demo installs the provider into an environment of its own and registers it with Terraform.
That registration must stay apart from the user's own (a pipx install registered with
``terraform-provider-alembic install``): after the demo, the user's launcher and interpreter
file are exactly as they were, and nothing else appeared in the user's home.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from acceptance.terraform_bin import find_binaries

pytestmark = pytest.mark.acceptance

ROOT = Path(__file__).resolve().parent.parent
_NEWEST = find_binaries()[-1:]
_DEMO_SECONDS = 600


def _clean_copy(target: Path) -> None:
    """Copy the files git tracks (what a fresh clone holds), nothing built."""
    listed = subprocess.run(
        ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True
    ).stdout
    for name in filter(None, listed.decode().split("\0")):
        source = ROOT / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)


def _registration(home: Path) -> dict[str, str]:
    """Every file of the user's Terraform plugins and of the provider's per-user configuration."""
    return {
        str(path.relative_to(home)): path.read_text(errors="replace")
        for top in (".terraform.d", ".config")
        for path in sorted((home / top).rglob("*"))
        if path.is_file()
    }


@pytest.mark.skipif(not _NEWEST, reason="no Terraform binary found")
@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
@pytest.mark.skipif(not (ROOT / ".git").exists(), reason="not a git checkout")
def test_make_demo_applies_and_leaves_the_users_registration_alone(tmp_path: Path) -> None:
    checkout = tmp_path / "checkout"
    _clean_copy(checkout)
    home = tmp_path / "home"
    home.mkdir()
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("TF_", "TERRAFORM_PROVIDER_ALEMBIC_", "XDG_", "VIRTUAL_ENV"))
    }
    env.update(
        HOME=str(home),
        PATH=f"{_NEWEST[0].path.parent}{os.pathsep}{os.environ.get('PATH', os.defpath)}",
        TERRAFORM_PROVIDER_ALEMBIC_DAEMON_DIR=str(tmp_path / "warm"),
    )
    # The user's own registration, as `pipx install` then `install` leave it.
    subprocess.run(
        [sys.executable, "-m", "alembic_provider", "install"],
        env=env,
        check=True,
        text=True,
        capture_output=True,
    )
    before = _registration(home)
    (interpreter_file,) = (name for name in before if name.endswith("/python"))
    assert before[interpreter_file].startswith(f"{sys.executable}\n")
    assert any(name.startswith(".terraform.d/plugins/") for name in before)
    try:
        demo = subprocess.run(
            ["make", "demo"],
            cwd=checkout,
            env=env,
            capture_output=True,
            text=True,
            check=False,
            timeout=_DEMO_SECONDS,
        )
        assert demo.returncode == 0, demo.stdout + demo.stderr
        assert "Database revision reached: 0003" in demo.stdout
        assert _registration(home) == before
        assert "your own registration" in demo.stdout
    finally:
        subprocess.run(
            [sys.executable, "-m", "alembic_provider", "daemon", "stop"],
            env=env,
            capture_output=True,
            check=False,
        )
