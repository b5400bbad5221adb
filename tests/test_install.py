from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from alembic_provider.errors import ConfigError
from alembic_provider.install import (
    ProviderSource,
    install,
    platform_name,
    required_providers_block,
)


def test_writes_one_executable_launcher_in_the_mirror_layout(tmp_path: Path) -> None:
    result = install(tmp_path, "terraform.local/alembic/alembic", python="/venv/bin/python")
    expected = (
        tmp_path
        / "terraform.local/alembic/alembic/0.1.0"
        / platform_name()
        / "terraform-provider-alembic_v0.1.0"
    )
    assert result.path == expected
    assert result.changed
    assert os.access(expected, os.X_OK)
    assert [p.name for p in expected.parent.iterdir()] == [expected.name]
    assert "exec /venv/bin/python -B -m alembic_provider" in expected.read_text()


def test_reinstalling_the_same_launcher_changes_nothing(tmp_path: Path) -> None:
    first = install(tmp_path, python="/venv/bin/python")
    mtime = first.path.stat().st_mtime_ns
    again = install(tmp_path, python="/venv/bin/python")
    assert not again.changed
    assert again.path.stat().st_mtime_ns == mtime


def test_source_without_host_uses_the_public_registry_host() -> None:
    assert str(ProviderSource.parse("acme/alembic")) == "registry.terraform.io/acme/alembic"


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("alembic", "is not a Terraform provider address"),
        ("a/b/c/d", "is not a Terraform provider address"),
        ("example.com/acme/flyway", "its type must be 'alembic'"),
    ],
)
def test_bad_sources_are_explained(source: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        ProviderSource.parse(source)


def test_required_providers_block_names_source_and_version() -> None:
    block = required_providers_block(ProviderSource.parse("example.com/acme/alembic"), "1.2.3")
    assert 'source  = "example.com/acme/alembic"' in block
    assert 'version = "1.2.3"' in block


def test_install_command_prints_the_block(tmp_path: Path) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "alembic_provider", "install", "--dir", str(tmp_path)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert out.startswith("Installed terraform.local/alembic/alembic 0.1.0 at ")
    assert "required_providers" in out


def test_launcher_runs_the_provider(tmp_path: Path) -> None:
    result = install(tmp_path)
    proc = subprocess.run(
        [str(result.path), "--version"], capture_output=True, text=True, check=True
    )
    assert proc.stdout.strip() == "terraform-provider-alembic 0.1.0"
