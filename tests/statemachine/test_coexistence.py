"""Our ``statemachine`` portion and PyPI's ``python-statemachine`` install and import side by side.

Builds the project's wheel from a copy of ``pyproject.toml`` and ``statemachine/`` (the build never
writes into the checkout), installs it next to ``python-statemachine`` in a throwaway virtualenv,
and imports both in one interpreter: ``import statemachine`` is theirs, ``statemachine.resource``
and ``statemachine.proxy`` are ours, and the two distributions share no installed file. Needs the
package index (or pip's cache) for ``python-statemachine`` and ``transitions``.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import textwrap
from importlib import metadata
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]

_PROBE = textwrap.dedent(
    """
    import json
    from importlib import metadata

    import statemachine
    from statemachine import State, StateMachine
    from statemachine.proxy import ProxyLifecycle
    from statemachine.resource import ResourceLifecycle


    class Light(StateMachine):
        green = State(initial=True)
        yellow = State()
        cycle = green.to(yellow) | yellow.to(green)


    light = Light()
    light.send("cycle")
    life = ResourceLifecycle("upgrade")
    life.planned(db_heads=[], target_heads=["a1"])
    proxy = ProxyLifecycle(ready_timeout=1.0, grace_period=1.0)
    proxy.acquired()

    def files(dist):
        return sorted(
            str(f) for f in metadata.files(dist) or () if ".dist-info" not in str(f)
        )

    print(json.dumps({
        "theirs": statemachine.__file__,
        "ours": [statemachine.resource.__file__, statemachine.proxy.__file__],
        "their_machine_works": light.yellow.is_active,
        "our_machines_work": [life.decision.value, proxy.spawn],
        "their_files": files("python-statemachine"),
        "our_files": files("terraform-provider-alembic"),
    }))
    """
)

_OURS_ALONE = textwrap.dedent(
    """
    import json
    import statemachine
    from statemachine.resource import ResourceLifecycle

    life = ResourceLifecycle("stamp")
    life.planned(db_heads=[], target_heads=["a1"])
    print(json.dumps([statemachine.__file__, hasattr(statemachine, "StateMachine"),
                      life.decision.value]))
    """
)


def run(*args: str | Path, cwd: Path) -> str:
    result = subprocess.run(
        [str(arg) for arg in args], cwd=cwd, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, f"{args} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout


@pytest.mark.slow
def test_both_install_into_one_environment_and_import_in_one_interpreter(tmp_path: Path) -> None:
    source = tmp_path / "source"
    shutil.copytree(
        REPO_ROOT / "statemachine",
        source / "statemachine",
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    shutil.copy2(REPO_ROOT / "pyproject.toml", source)
    readme = REPO_ROOT / "README.md"
    if readme.exists():
        shutil.copy2(readme, source)
    else:
        (source / "README.md").write_text("terraform-provider-alembic\n", encoding="utf-8")
    pip = (sys.executable, "-m", "pip", "--disable-pip-version-check")
    run(
        *pip,
        "wheel",
        "-q",
        "--no-deps",
        "--no-build-isolation",
        "-w",
        "wheels",
        source,
        cwd=tmp_path,
    )
    (wheel,) = (tmp_path / "wheels").glob("*.whl")

    run(sys.executable, "-m", "venv", "--without-pip", "venv", cwd=tmp_path)
    python = tmp_path / "venv" / "bin" / "python"
    into = (*pip, "--python", python, "install", "-q")
    run(
        *into,
        "python-statemachine",
        f"transitions=={metadata.version('transitions')}",
        cwd=tmp_path,
    )
    run(*into, "--no-deps", wheel, cwd=tmp_path)

    seen = json.loads(run(python, "-I", "-c", _PROBE, cwd=tmp_path))
    site = Path(seen["theirs"]).parent
    assert Path(seen["theirs"]).name == "__init__.py"
    assert [Path(path) for path in seen["ours"]] == [site / "resource.py", site / "proxy.py"]
    assert seen["their_machine_works"] is True
    assert seen["our_machines_work"] == ["upgrade", True]
    assert [f for f in seen["our_files"] if f.startswith("statemachine/") and "/__" not in f] == [
        "statemachine/_resource_data.py",
        "statemachine/_strict.py",
        "statemachine/proxy.py",
        "statemachine/resource.py",
    ]
    assert set(seen["our_files"]).isdisjoint(seen["their_files"])

    run(*pip, "--python", python, "uninstall", "-q", "-y", "python-statemachine", cwd=tmp_path)
    alone = json.loads(run(python, "-I", "-c", _OURS_ALONE, cwd=tmp_path))
    assert alone == [None, False, "stamp"]
