from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from alembic_provider import __version__
from alembic_provider.errors import ConfigError
from alembic_provider.install import (
    DEFAULT_SOURCE,
    FAST_START,
    ProviderSource,
    config_dir,
    install,
    launcher_text,
    platform_name,
    provider_block,
    python_file,
    required_providers_block,
    uninstall,
)

ROOT = Path(__file__).resolve().parent.parent


def _launcher(plugins: Path) -> Path:
    return (
        plugins
        / "terraform.local/alembic/alembic"
        / __version__
        / platform_name()
        / f"terraform-provider-alembic_v{__version__}"
    )


def _interpreter(python: str) -> str:
    return f"{python}\n{FAST_START}\n"


def test_writes_one_executable_launcher_and_the_interpreter_file(tmp_path: Path) -> None:
    env = {"HOME": str(tmp_path / "home")}
    result = install(tmp_path / "plugins", python="/venv/bin/python", environ=env)
    assert result.path == _launcher(tmp_path / "plugins")
    assert result.changed
    assert os.access(result.path, os.X_OK)
    assert [p.name for p in result.path.parent.iterdir()] == [result.path.name]
    assert (
        result.python_file
        == tmp_path / f"home/.config/terraform-provider-alembic/{__version__}/python"
    )
    assert result.python_file.read_text() == _interpreter("/venv/bin/python")
    assert str(ROOT / "alembic_provider/entry/fast_start.py") == FAST_START
    assert [action.describe() for action in result.actions] == [
        f"Wrote the launcher {result.path}",
        f"Wrote the interpreter file {result.python_file} (names /venv/bin/python)",
    ]


def test_the_launcher_is_the_same_for_every_interpreter_and_home(tmp_path: Path) -> None:
    first = install(tmp_path / "a", python="/a/venv/bin/python", environ={"HOME": "/home/a"})
    second = install(tmp_path / "b", python="/b/.venv/bin/python", environ={"HOME": "/home/b"})
    assert first.path.read_bytes() == second.path.read_bytes() == launcher_text().encode()
    assert b"/a/" not in first.path.read_bytes()


def test_xdg_config_home_counts_only_when_absolute() -> None:
    assert config_dir({"HOME": "/h", "XDG_CONFIG_HOME": "/x"}) == Path(
        "/x/terraform-provider-alembic"
    )
    assert config_dir({"HOME": "/h", "XDG_CONFIG_HOME": "rel"}) == Path(
        "/h/.config/terraform-provider-alembic"
    )


def test_reinstalling_changes_nothing_and_says_so(tmp_path: Path) -> None:
    env = {"HOME": str(tmp_path / "home")}
    first = install(tmp_path, python="/venv/bin/python", environ=env)
    mtime = first.path.stat().st_mtime_ns
    again = install(tmp_path, python="/venv/bin/python", environ=env)
    assert not again.changed
    assert not again.replaced
    assert [action.verb for action in again.actions] == ["unchanged", "unchanged"]
    assert again.path.stat().st_mtime_ns == mtime


def test_installing_from_another_interpreter_rewrites_only_the_interpreter_file(
    tmp_path: Path,
) -> None:
    env = {"HOME": str(tmp_path / "home")}
    install(tmp_path, python="/old/bin/python", environ=env)
    again = install(tmp_path, python="/new/bin/python", environ=env)
    assert [action.verb for action in again.actions] == ["unchanged", "wrote"]
    assert again.python_file.read_text() == _interpreter("/new/bin/python")


def test_an_interpreter_file_of_one_line_is_completed_once(tmp_path: Path) -> None:
    env = {"HOME": str(tmp_path / "home")}
    old = python_file(environ=env)
    old.parent.mkdir(parents=True)
    old.write_text("/venv/bin/python\n")
    first = install(tmp_path, python="/venv/bin/python", environ=env)
    assert [action.verb for action in first.actions] == ["wrote", "wrote"]
    assert old.read_text() == _interpreter("/venv/bin/python")
    again = install(tmp_path, python="/venv/bin/python", environ=env)
    assert [action.verb for action in again.actions] == ["unchanged", "unchanged"]


def test_an_older_launcher_is_replaced_and_reported(tmp_path: Path) -> None:
    path = _launcher(tmp_path / "plugins")
    path.parent.mkdir(parents=True)
    path.write_text('#!/bin/sh\nexec /somewhere/python -B -m alembic_provider "$@"\n')
    result = install(tmp_path / "plugins", python="/venv/bin/python", environ={"HOME": "/h"})
    assert result.replaced
    assert path.read_text() == launcher_text()


def test_uninstall_removes_exactly_what_install_wrote(tmp_path: Path) -> None:
    plugins = tmp_path / "plugins"
    (plugins / "other.example/acme/thing").mkdir(parents=True)
    home = tmp_path / "home"
    (home / ".config/other-tool").mkdir(parents=True)
    env = {"HOME": str(home)}
    installed = install(plugins, python="/venv/bin/python", environ=env)
    actions = uninstall(plugins, python="/venv/bin/python", environ=env)
    assert [action.describe() for action in actions] == [
        f"Removed the launcher {installed.path}",
        f"Removed the interpreter file {installed.python_file}",
    ]
    assert sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*")) == [
        "home",
        "home/.config",
        "home/.config/other-tool",
        "plugins",
        "plugins/other.example",
        "plugins/other.example/acme",
        "plugins/other.example/acme/thing",
    ]
    again = uninstall(plugins, python="/venv/bin/python", environ=env)
    assert [action.verb for action in again] == ["absent", "absent"]


def test_uninstall_removes_a_one_line_interpreter_file_naming_this_interpreter(
    tmp_path: Path,
) -> None:
    env = {"HOME": str(tmp_path / "home")}
    old = python_file(environ=env)
    old.parent.mkdir(parents=True)
    old.write_text("/venv/bin/python\n")
    actions = uninstall(tmp_path, python="/venv/bin/python", environ=env)
    assert [action.verb for action in actions] == ["absent", "removed"]
    assert not old.exists()


def test_uninstall_removes_an_interpreter_file_naming_the_earlier_fast_start_place(
    tmp_path: Path,
) -> None:
    env = {"HOME": str(tmp_path / "home")}
    earlier = str(ROOT / "alembic_provider/daemon/fast_start.py")
    install(tmp_path, python="/venv/bin/python", environ=env, fast_start=earlier)
    actions = uninstall(tmp_path, python="/venv/bin/python", environ=env)
    assert [action.verb for action in actions] == ["removed", "removed"]
    assert not python_file(environ=env).exists()


def test_uninstall_keeps_an_interpreter_file_naming_another_fast_start(tmp_path: Path) -> None:
    env = {"HOME": str(tmp_path / "home")}
    install(tmp_path, python="/venv/bin/python", environ=env, fast_start="/elsewhere/fast.py")
    actions = uninstall(tmp_path, python="/venv/bin/python", environ=env)
    assert [action.verb for action in actions] == ["removed", "kept"]
    assert python_file(environ=env).read_text() == "/venv/bin/python\n/elsewhere/fast.py\n"


def test_uninstall_keeps_an_interpreter_file_another_installation_wrote(tmp_path: Path) -> None:
    env = {"HOME": str(tmp_path / "home")}
    install(tmp_path, python="/first/bin/python", environ=env)
    install(tmp_path, python="/second/bin/python", environ=env)
    actions = uninstall(tmp_path, python="/first/bin/python", environ=env)
    assert [action.verb for action in actions] == ["removed", "kept"]
    assert actions[1].describe().endswith("(another installation wrote it)")
    assert python_file(environ=env).read_text() == _interpreter("/second/bin/python")


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


def _command(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {"HOME": str(tmp_path / "home"), "PATH": os.defpath}
    return subprocess.run(
        [sys.executable, "-m", "alembic_provider", "install", "--dir", str(tmp_path), *args],
        capture_output=True,
        text=True,
        check=True,
        env=env,
        cwd=ROOT,
    )


def test_install_command_says_what_it_did_and_prints_the_block(tmp_path: Path) -> None:
    out = _command(tmp_path).stdout
    assert out.startswith(f"Wrote the launcher {_launcher(tmp_path)}")
    assert f"Installed terraform.local/alembic/alembic {__version__}." in out
    assert "required_providers" in out
    again = _command(tmp_path).stdout
    assert again.startswith("Unchanged: the launcher ")
    assert f"Already installed terraform.local/alembic/alembic {__version__}." in again
    removed = _command(tmp_path, "--uninstall").stdout.splitlines()
    assert removed[0].startswith("Removed the launcher ")
    assert removed[1].startswith("Removed the interpreter file ")


def _run_launcher(
    launcher: Path, home: Path, extra: dict[str, str] | None = None, *args: str
) -> subprocess.CompletedProcess[str]:
    env = {"HOME": str(home), "PATH": "/usr/bin:/bin", **(extra or {})}
    return subprocess.run(
        [str(launcher), *(args or ("--version",))],
        capture_output=True,
        text=True,
        check=False,
        env=env,
        cwd=home,
    )


def _venv_link(tmp_path: Path, name: str) -> str:
    """Return this venv's python under another path, as on a machine with the venv elsewhere."""
    link = tmp_path / name
    link.symlink_to(Path(sys.prefix), target_is_directory=True)
    return str(link / "bin" / Path(sys.executable).name)


def test_launcher_runs_the_interpreter_named_in_the_per_user_file(tmp_path: Path) -> None:
    home = tmp_path / "home"
    python = _venv_link(tmp_path, "venv")
    result = install(tmp_path, python=python, environ={"HOME": str(home)})
    proc = _run_launcher(result.path, home)
    assert proc.stdout.strip() == f"terraform-provider-alembic {__version__}", proc.stderr


@pytest.mark.parametrize("second_line", ["", "/gone/fast_start.py\n"])
def test_launcher_runs_the_module_without_a_usable_fast_start(
    tmp_path: Path, second_line: str
) -> None:
    """An interpreter file of one line (an earlier release), or one naming a missing script."""
    home = tmp_path / "home"
    python = _venv_link(tmp_path, "venv")
    result = install(tmp_path, python=python, environ={"HOME": str(home)})
    result.python_file.write_text(f"{python}\n{second_line}")
    proc = _run_launcher(result.path, home)
    assert proc.stdout.strip() == f"terraform-provider-alembic {__version__}", proc.stderr


def test_the_environment_variable_wins_over_the_file(tmp_path: Path) -> None:
    home = tmp_path / "home"
    result = install(tmp_path, python="/gone/bin/python", environ={"HOME": str(home)})
    proc = _run_launcher(
        result.path, home, {"TERRAFORM_PROVIDER_ALEMBIC_PYTHON": _venv_link(tmp_path, "v")}
    )
    assert proc.stdout.strip() == f"terraform-provider-alembic {__version__}", proc.stderr


def test_a_missing_interpreter_is_explained(tmp_path: Path) -> None:
    home = tmp_path / "home"
    result = install(tmp_path, python="/gone/bin/python", environ={"HOME": str(home)})
    proc = _run_launcher(result.path, home)
    assert proc.returncode == 127
    assert proc.stdout == ""
    assert proc.stderr == (
        f"terraform-provider-alembic {__version__}: the Python '/gone/bin/python' named by "
        f"{result.python_file} does not exist. Run `terraform-provider-alembic install` again "
        "from the environment the provider is installed in, or set "
        "TERRAFORM_PROVIDER_ALEMBIC_PYTHON to its python.\n"
    )


def test_no_interpreter_at_all_is_explained_on_stdout_too_when_terraform_starts_it(
    tmp_path: Path,
) -> None:
    home = tmp_path / "home"
    result = install(tmp_path, python="/x/bin/python", environ={"HOME": str(home)})
    result.python_file.unlink()
    proc = _run_launcher(result.path, home, {"TF_PLUGIN_MAGIC_COOKIE": "cookie"})
    assert proc.returncode == 127
    message = (
        f"terraform-provider-alembic {__version__}: cannot find the Python environment the "
        f"provider is installed in (looked for {result.python_file} and for a python3 on PATH "
        "that can import alembic_provider). Run `terraform-provider-alembic install` from that "
        "environment (for example after `pipx install` of the provider's checkout or wheel), or "
        "set TERRAFORM_PROVIDER_ALEMBIC_PYTHON to its python.\n"
    )
    assert proc.stderr == message
    # Terraform shows only the first line of stdout of a plugin that fails its handshake.
    assert proc.stdout == message


def test_a_launcher_of_another_version_is_refused_with_a_way_out(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "alembic_provider"],
        capture_output=True,
        text=True,
        check=False,
        env={"PATH": os.defpath, "TERRAFORM_PROVIDER_ALEMBIC_LAUNCHER": "9.9.9"},
        cwd=ROOT,
    )
    assert proc.returncode == 1
    assert proc.stderr == (
        f"The terraform-provider-alembic 9.9.9 launcher found version {__version__} installed "
        f"in '{sys.executable}'. Install 9.9.9 (pipx install of its checkout or of its wheel, "
        "then terraform-provider-alembic install), or change the version your configuration "
        "requires and run 'terraform init -upgrade'.\n"
    )


def test_the_self_contained_build_refuses_install_and_says_why(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from alembic_provider.entry.cli import main

    monkeypatch.setattr(sys, "frozen", True, raising=False)
    assert main(["install", "--dir", str(tmp_path)]) == 2
    assert capsys.readouterr().err == (
        "Error: this is the self-contained build of terraform-provider-alembic, which Terraform "
        "installs from a provider mirror or registry; 'install' belongs to the Python package "
        "(pipx install of a checkout, or of the wheel 'make release' builds).\n"
    )
    assert list(tmp_path.iterdir()) == []


def test_install_prints_the_required_providers_and_the_provider_block(tmp_path: Path) -> None:
    out = _command(tmp_path).stdout
    blocks = out.split("Use it in your Terraform configuration with:\n\n", 1)[1]
    source = ProviderSource.parse(DEFAULT_SOURCE)
    assert blocks == f"{required_providers_block(source)}\n{provider_block()}"
    assert 'provider "alembic" {\n  project_root = ' in blocks
    assert "  python       = [" in blocks


def test_the_readme_shows_exactly_what_install_prints() -> None:
    readme = (ROOT / "README.md").read_text()
    printed = (
        f"{required_providers_block(ProviderSource.parse(DEFAULT_SOURCE))}\n{provider_block()}"
    )
    assert f"```hcl\n{printed}\nresource " in readme
