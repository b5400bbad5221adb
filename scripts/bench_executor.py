"""Executor latency next to the Go provider's approach (``make bench`` calls :func:`rows`).

The Go provider refreshed a resource with two CLI processes, ``alembic current`` and
``alembic show head``, and applied with ``alembic upgrade`` then ``alembic current``. Each row
times the same job through the executor (warm fork server, and cold processes) on a small
SQLite project. Medians of a few runs on this machine; nothing here asserts a speed.
"""

from __future__ import annotations

import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from alembic_provider.executor import Project, RunOptions, WorkerExecutor  # noqa: E402
from tests.alembic_projects import Revision, make_project, sqlite_url  # noqa: E402

__all__ = ["main", "rows"]

Row = tuple[str, float, float]
_REPEAT = 7


def _median_ms(run: Callable[[], object], repeat: int = _REPEAT) -> float:
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples) * 1000


def _alembic_cli() -> str:
    beside = Path(sys.executable).with_name("alembic")
    return str(beside) if beside.exists() else shutil.which("alembic") or "alembic"


def rows() -> list[Row]:
    """Return ``(operation, ours_ms, go_style_ms)`` rows for a 5-revision SQLite project."""
    cli = _alembic_cli()
    with tempfile.TemporaryDirectory() as scratch:
        base = Path(scratch)
        revisions = [Revision("rev0001", None)] + [
            Revision(f"rev000{i}", f"rev000{i - 1}") for i in range(2, 6)
        ]
        root = make_project(base, sqlite_url(base / "bench.sqlite"), revisions)
        project = Project(str(root))

        def go_style(*commands: list[str]) -> Callable[[], None]:
            def run() -> None:
                for command in commands:
                    subprocess.run([cli, *command], cwd=root, check=True, capture_output=True)

            return run

        refresh_cli = go_style(["current"], ["show", "head"])
        with WorkerExecutor(warm=True) as warm, WorkerExecutor(warm=False) as cold:
            warm.upgrade(project, "rev0004")
            warm.inspect(project, "heads")
            result = [
                (
                    "refresh: heads + pending, warm worker",
                    _median_ms(lambda: warm.inspect(project, "heads")),
                    _median_ms(refresh_cli),
                ),
                (
                    "refresh: heads + pending, cold worker",
                    _median_ms(lambda: cold.inspect(project, "heads")),
                    _median_ms(refresh_cli),
                ),
                (
                    "current, warm worker",
                    _median_ms(lambda: warm.current(project)),
                    _median_ms(go_style(["current"])),
                ),
                (
                    "script heads and revisions, warm worker",
                    _median_ms(lambda: warm.describe(project)),
                    _median_ms(go_style(["heads"])),
                ),
                (
                    "apply one revision (locked), warm worker",
                    _timed_upgrades(
                        lambda: warm.upgrade(project, "heads", options=RunOptions()),
                        lambda: warm.downgrade(project, "rev0004"),
                    ),
                    _timed_upgrades(
                        go_style(["upgrade", "head"], ["current"]),
                        go_style(["downgrade", "rev0004"]),
                    ),
                ),
            ]
    return result


def _timed_upgrades(upgrade: Callable[[], object], reset: Callable[[], object]) -> float:
    samples = []
    for _ in range(_REPEAT):
        reset()
        start = time.perf_counter()
        upgrade()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples) * 1000


def main() -> int:
    table = rows()
    width = max(len(name) for name, _, _ in table)
    print(f"{'operation'.ljust(width)}  {'ours':>8}  {'Go-style CLI':>12}")
    print(f"{'-' * width}  {'-' * 8}  {'-' * 12}")
    for name, ours, other in table:
        print(f"{name.ljust(width)}  {ours:>5.0f} ms  {other:>9.0f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
