"""The worker's own bytecode is kept in the provider's cache directory, never the project's.

The worker runs with ``-B``: a project's env.py, revisions and models are never compiled to
disk. Its own modules would then be compiled anew by every interpreter it starts; their
bytecode goes to ``bytecode/`` in the cache directory instead, and is used again from there.
"""

from __future__ import annotations

import os
import py_compile
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from alembic_provider.executor import Project, WorkerExecutor
from alembic_provider.executor.process import WORKER_PATH
from tests.alembic_projects import Revision, make_project, sqlite_url

_LEGACY = os.environ.get("ALEMBIC_TEST_LEGACY_PYTHON", "")


@pytest.mark.parametrize("legacy", [False, True], ids=["current", "legacy"])
def test_the_worker_keeps_its_own_bytecode_in_the_cache_and_none_of_the_project(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, legacy: bool
) -> None:
    if legacy and not _LEGACY:
        pytest.skip("ALEMBIC_TEST_LEGACY_PYTHON is not set")
    cache = tmp_path / "cache"
    monkeypatch.setenv("TERRAFORM_PROVIDER_ALEMBIC_CACHE_DIR", str(cache))
    root = make_project(
        tmp_path / "project", sqlite_url(tmp_path / "db.sqlite"), [Revision("b1", None)]
    )
    project = Project(str(root), python=(_LEGACY,) if legacy else ())
    with WorkerExecutor(warm=False) as executor:
        assert executor.upgrade(project, "heads").heads == ("b1",)
        kept = {path: path.stat().st_mtime_ns for path in cache.glob("bytecode/**/*.pyc")}
        assert {path.name.split(".")[0] for path in kept} >= {"tfalembic_verbs", "tfalembic_serve"}
        # The next interpreter reads them; it writes nothing again.
        assert executor.describe(project).heads == ("b1",)
        assert {path: path.stat().st_mtime_ns for path in cache.glob("bytecode/**/*.pyc")} == kept
    assert not list(root.rglob("__pycache__")), "the project's files were compiled to disk"


def test_bytecode_an_installer_compiled_beside_the_source_is_read_as_always(
    tmp_path: Path,
) -> None:
    """pip compiles the worker's modules for its own Python: those are read where they are,
    and only a module without them has its bytecode kept in the cache directory."""
    worker = tmp_path / "worker"
    worker.mkdir()
    shutil.copy(WORKER_PATH / "tfalembic_cachedir.py", worker)
    for name in ("tfalembic_installed", "tfalembic_plain"):
        (worker / f"{name}.py").write_text("VALUE = 1\n")
    py_compile.compile(str(worker / "tfalembic_installed.py"), doraise=True)
    cache = tmp_path / "cache"
    code = (
        f"import sys\nsys.path.insert(0, {str(worker)!r})\n"
        "from tfalembic_cachedir import own_bytecode\n"
        "with own_bytecode():\n    import tfalembic_installed, tfalembic_plain\n"
    )
    subprocess.run(
        [sys.executable, "-B", "-c", code],
        env={**os.environ, "TERRAFORM_PROVIDER_ALEMBIC_CACHE_DIR": str(cache)},
        check=True,
        timeout=60,
    )
    kept = {path.name.split(".")[0] for path in cache.glob("bytecode/**/*.pyc")}
    assert kept == {"tfalembic_plain"}
