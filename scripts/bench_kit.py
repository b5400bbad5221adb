"""What every bench script shares: the scratch world, the timing, the table's rows.

``bench_targets.py`` and the scripts that add rows to ``make bench`` (``bench_review.py``,
``bench_archive.py``, ``bench_mlflow.py``) import from here; nothing here imports them.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
for entry in (str(ROOT), str(ROOT / "scripts")):
    if entry not in sys.path:
        sys.path.insert(0, entry)

from tests.alembic_projects import Revision, make_project  # noqa: E402

__all__ = [
    "REPEAT",
    "ROOT",
    "Bench",
    "Row",
    "format_row",
    "seconds_to_handshake",
]

REPEAT = int(os.environ.get("BENCH_REPEAT", "3"))


_PG_DEFAULT = "postgresql://postgres@127.0.0.1:5432/postgres"


@dataclass
class Row:
    """One line of the table: ours next to the yardstick, and the target.

    ``limit`` bounds the ratio to the yardstick; ``most`` bounds our own figure.
    """

    name: str
    ours_ms: float
    theirs_ms: float | None
    target: str
    limit: float | None = None
    note: str = ""
    most: float | None = None

    def ratio(self) -> float | None:
        if self.theirs_ms in (None, 0):
            return None
        return self.ours_ms / self.theirs_ms

    def verdict(self) -> str:
        ratio = self.ratio()
        if self.most is not None:
            return "met" if self.ours_ms <= self.most else "NOT met"
        if self.limit is None or ratio is None:
            return ""
        return "met" if ratio <= self.limit else "NOT met"


def _median(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def _timed(command: Callable[[], object]) -> float:
    start = time.perf_counter()
    command()
    return time.perf_counter() - start


def _pair(
    ours: Callable[[], object],
    theirs: Callable[[], object],
    before: Callable[[], object] = lambda: None,
    repeat: int = REPEAT,
) -> tuple[float, float]:
    """Run ``ours`` and ``theirs`` in turn ``repeat`` times; return both medians in ms."""
    a: list[float] = []
    b: list[float] = []
    for _ in range(repeat):
        before()
        a.append(_timed(ours))
        before()
        b.append(_timed(theirs))
    return _median(a), _median(b)


class Bench:
    """A scratch world: HOME, Terraform CLI config, the installed provider, its warm server."""

    def __init__(self, base: Path) -> None:
        self.base = base
        self.terraform = shutil.which("terraform") or "terraform"
        self.alembic = str(Path(sys.executable).with_name("alembic"))
        home = base / "home"
        home.mkdir()
        (base / "terraformrc").write_text("")
        self.warm_dir = Path(tempfile.mkdtemp(prefix="tfa-bench-"))
        self.cache_dir = base / "cache"
        self.env = {
            "PATH": os.environ.get("PATH", os.defpath),
            "HOME": str(home),
            "TF_CLI_CONFIG_FILE": str(base / "terraformrc"),
            "CHECKPOINT_DISABLE": "1",
            "TERRAFORM_PROVIDER_ALEMBIC_DAEMON_DIR": str(self.warm_dir),
            "TERRAFORM_PROVIDER_ALEMBIC_CACHE_DIR": str(self.cache_dir),
        }
        shm = Path("/dev/shm")
        self.db_dir = Path(tempfile.mkdtemp(prefix="tfa-bench-", dir=shm if shm.is_dir() else base))
        self.run([sys.executable, "-m", "alembic_provider", "install"])

    def close(self) -> None:
        self.stop_server()
        shutil.rmtree(self.warm_dir, ignore_errors=True)
        shutil.rmtree(self.db_dir, ignore_errors=True)

    def run(self, argv: list[str], cwd: Path | None = None, **env: str) -> None:
        done = subprocess.run(
            argv,
            cwd=cwd,
            env={**self.env, **env},
            capture_output=True,
            text=True,
            timeout=900,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"{argv} failed ({done.returncode}):\n{done.stdout}{done.stderr}")

    def tf(self, where: Path, *args: str, **env: str) -> None:
        self.run([self.terraform, *args, "-input=false", "-no-color"], cwd=where, **env)

    def stop_server(self) -> None:
        self.run([sys.executable, "-m", "alembic_provider", "daemon", "stop"])

    def go_cold(self) -> None:
        """Forget everything warm: stop the server and empty the script graph cache."""
        self.stop_server()
        shutil.rmtree(self.cache_dir, ignore_errors=True)

    def sqlite(self, name: str) -> str:
        """Return the URL of a fresh SQLite database called ``name``."""
        (self.db_dir / f"{name}.sqlite").unlink(missing_ok=True)
        return f"sqlite:///{self.db_dir / name}.sqlite"

    def workspace(self, name: str, config: str, *, provider: bool = True) -> Path:
        """A working directory with ``config``, initialised; ``provider`` requires this one."""
        where = self.base / name
        where.mkdir()
        (where / "main.tf").write_text((_PROVIDER_BLOCK if provider else "") + config)
        self.tf(where, "init")
        return where

    def go_style(self, project: Path, url: str) -> Callable[[], None]:
        def run() -> None:
            for verb in ("current", "heads"):
                self.run([self.alembic, verb], cwd=project, DATABASE_URL=url)

        return run


_PROVIDER_BLOCK = """
terraform {
  required_providers {
    alembic = {
      source  = "terraform.local/alembic/alembic"
      version = "0.1.0"
    }
  }
}
"""


def _resources(root: Path, urls: list[str]) -> str:
    blocks = [f'provider "alembic" {{\n  project_root = "{root}"\n}}\n']
    blocks.append(f"locals {{\n  urls = {_hcl_list(urls)}\n}}\n")
    blocks.append(
        'resource "alembic_upgrade" "db" {\n'
        "  count = length(local.urls)\n"
        '  target = "heads"\n'
        "  environment = { DATABASE_URL = local.urls[count.index] }\n"
        "}\n"
    )
    return "\n".join(blocks)


def _hcl_list(items: list[str]) -> str:
    return "[" + ", ".join(f'"{item}"' for item in items) + "]"


def _small_project(base: Path, name: str, count: int) -> Path:
    revisions = [Revision(f"s{i:03d}", None if i == 0 else f"s{i - 1:03d}") for i in range(count)]
    return make_project(base / name, revisions=revisions)


def _postgres() -> tuple[str, Callable[[str], str], Callable[[str], None]] | None:
    """Return the server URL and helpers that create and drop databases, or None."""
    try:
        import sqlalchemy
    except ImportError:
        return None
    url = os.environ.get("ALEMBIC_TEST_POSTGRES_URL", _PG_DEFAULT)
    url = url.replace("postgresql://", "postgresql+psycopg2://", 1)
    engine = sqlalchemy.create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect():
            pass
    except Exception:
        return None

    def create(name: str) -> str:
        with engine.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
        return url.rsplit("/", 1)[0] + "/" + name

    def drop(name: str) -> None:
        with engine.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    return url, create, drop


def seconds_to_handshake(argv: list[str], env: dict[str, str]) -> float:
    """Start ``argv`` as Terraform starts a provider; return the time to its handshake line."""
    start = time.perf_counter()
    process = subprocess.Popen(
        argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    elapsed = time.perf_counter() - start
    process.kill()
    process.communicate(timeout=30)
    if not line.startswith("1|6|unix|"):
        raise RuntimeError(f"unexpected handshake line: {line!r}")
    return elapsed


def _cold(bench: Bench, command: Callable[[], object]) -> float:
    samples = []
    for _ in range(REPEAT):
        bench.go_cold()
        samples.append(_timed(command))
    return _median(samples)


def _plan(bench: Bench, where: Path) -> Callable[[], None]:
    return lambda: bench.tf(where, "plan", "-detailed-exitcode")


_Postgres = tuple[str, Callable[[str], str], Callable[[str], None]]


def format_row(row: Row, width: int) -> str:
    ratio = row.ratio()
    theirs = "" if row.theirs_ms is None else f"{row.theirs_ms:8.0f}"
    ratio_text = "" if ratio is None else f"{ratio:5.2f}x"
    note = f"  ({row.note})" if row.note else ""
    return (
        f"{row.name.ljust(width)}  {row.ours_ms:8.0f}  {theirs:>8}  {ratio_text:>6}  "
        f"{row.target}  {row.verdict()}{note}"
    )
