"""Target rows on a real history nobody here wrote: MLflow's tracking-store migrations.

The migrations come from the ``mlflow-skinny`` wheel, installed with pip into a virtualenv of
the bench's own (``.bench/mlflow-venv``, created on first use, as a user's project venv would
be); the provider's ``python`` points at that venv's interpreter and its ``alembic.ini`` (written
here, three lines) at the installed package's ``db_migrations`` directory. Nothing of MLflow is
copied into this repository. Its env.py imports MLflow's models, which is what makes a plan
slow when every command imports them again.

Rows: a warm no-op plan against a trivial project's (one revision, same interpreter, same
database server), with the kept imports as they are by default, with MLflow's telemetry off
(``DO_NOT_TRACK=true``: otherwise its import writes a random session id into the environment,
which no kept import may do), with ``mlflow`` named in
``TERRAFORM_PROVIDER_ALEMBIC_KEEP_MODULES`` and with keeping turned off; the first (cold) plan;
an apply from MLflow's initial tables (the database as ``mlflow server`` creates it before
its first upgrade) against raw ``alembic upgrade heads``, on MariaDB and on PostgreSQL.
Nothing here asserts a speed. When the venv cannot be made (no network, no wheel), the rows are
left out with a line that says why.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

# bench_kit puts the repository on sys.path for the imports after it.
from bench_kit import (
    REPEAT,
    ROOT,
    Bench,
    Row,
    _cold,
    _median,
    _pair,
    _timed,
    format_row,
)

from tests.alembic_projects import Revision, make_project

__all__ = ["main", "mlflow_rows"]

VENV = ROOT / ".bench" / "mlflow-venv"
_PACKAGES = ("mlflow-skinny", "alembic", "sqlalchemy", "pymysql", "psycopg2-binary")
_KEEP = "TERRAFORM_PROVIDER_ALEMBIC_KEEP_MODULES"
_OFF = "TERRAFORM_PROVIDER_ALEMBIC_KEEP_IMPORTS"
_SERVERS = {
    "MariaDB": ("ALEMBIC_TEST_MARIADB_URL", "mysql+pymysql://root@127.0.0.1:3306/mysql"),
    "PostgreSQL": ("ALEMBIC_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"),
}


def _venv() -> Path | None:
    """The bench's MLflow virtualenv's interpreter, made with pip on first use."""
    python = VENV / "bin" / "python"
    marker = VENV / ".installed"
    if not marker.exists():
        try:
            subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
            subprocess.run(
                [str(python), "-m", "pip", "install", "-q", *_PACKAGES],
                check=True,
                timeout=1800,
            )
        except (OSError, subprocess.SubprocessError) as exc:
            print(f"MLflow rows left out: the bench virtualenv could not be made ({exc})")
            return None
        marker.write_text("\n".join(_PACKAGES) + "\n")
    return python


def _venv_output(python: Path, code: str) -> str:
    done = subprocess.run(
        [str(python), "-c", code], capture_output=True, text=True, check=True, timeout=300
    )
    return done.stdout.strip()


class _Server:
    """A database server of the bench: fresh databases on it, by name."""

    def __init__(self, label: str) -> None:
        variable, default = _SERVERS[label]
        url = os.environ.get(variable, default)
        if label == "PostgreSQL":
            url = url.replace("postgresql://", "postgresql+psycopg2://", 1)
        self.label = label
        self.admin = url

    def reachable(self) -> bool:
        import sqlalchemy

        try:
            with sqlalchemy.create_engine(self.admin).connect():
                return True
        except Exception:
            return False

    def fresh(self, name: str) -> str:
        """Drop and create the database ``name``; return its URL."""
        import sqlalchemy

        engine = sqlalchemy.create_engine(self.admin, isolation_level="AUTOCOMMIT")
        quote = "`" if self.label == "MariaDB" else '"'
        force = " WITH (FORCE)" if self.label == "PostgreSQL" else ""
        with engine.connect() as connection:
            connection.exec_driver_sql(f"DROP DATABASE IF EXISTS {quote}{name}{quote}{force}")
            connection.exec_driver_sql(f"CREATE DATABASE {quote}{name}{quote}")
        engine.dispose()
        return self.admin.rsplit("/", 1)[0] + "/" + name

    def drop(self, name: str) -> None:
        import sqlalchemy

        engine = sqlalchemy.create_engine(self.admin, isolation_level="AUTOCOMMIT")
        quote = "`" if self.label == "MariaDB" else '"'
        force = " WITH (FORCE)" if self.label == "PostgreSQL" else ""
        with engine.connect() as connection:
            connection.exec_driver_sql(f"DROP DATABASE IF EXISTS {quote}{name}{quote}{force}")
        engine.dispose()


def _ini(directory: Path, migrations: str, url: str) -> Path:
    """An Alembic configuration for MLflow's installed migrations and ``url``."""
    directory.mkdir(parents=True, exist_ok=True)
    config = directory / "alembic.ini"
    escaped = url.replace("%", "%%")
    config.write_text(f"[alembic]\nscript_location = {migrations}\nsqlalchemy.url = {escaped}\n")
    return directory


def _config(root: Path, python: Path, environment: dict[str, str]) -> str:
    variables = "".join(f'    {key} = "{value}"\n' for key, value in environment.items())
    return (
        f'provider "alembic" {{\n  project_root = "{root}"\n  python = ["{python}"]\n}}\n\n'
        'resource "alembic_upgrade" "db" {\n  target = "heads"\n'
        f"  environment = {{\n{variables}  }}\n}}\n"
    )


def mlflow_rows(bench: Bench) -> Iterator[Row]:
    """Yield the MLflow rows: warm and cold plans, and applies per database server."""
    python = _venv()
    if python is None:
        return
    migrations = _venv_output(
        python, "import mlflow.store.db_migrations as m, os; print(os.path.dirname(m.__file__))"
    )
    servers = [_Server(label) for label in _SERVERS]
    servers = [server for server in servers if server.reachable()]
    if not servers:
        print("MLflow rows left out: neither MariaDB nor PostgreSQL is reachable")
        return
    yield from _plan_rows(bench, python, migrations, servers[0])
    for server in servers:
        yield from _apply_rows(bench, python, migrations, server)


def _initial_tables(python: Path, url: str) -> None:
    """Create MLflow's initial tables, as ``mlflow server`` does before its first upgrade."""
    _venv_output(
        python,
        "import sqlalchemy as sa\n"
        "from mlflow.store.tracking.dbmodels.initial_models import Base\n"
        f"engine = sa.create_engine({url!r})\n"
        "Base.metadata.create_all(engine)\n"
        "engine.dispose()\n",
    )


def _plan_rows(bench: Bench, python: Path, migrations: str, server: _Server) -> Iterator[Row]:
    label = server.label
    trivial_url = server.fresh("bench_trivial")
    trivial = make_project(
        bench.base / "trivial", url=trivial_url, revisions=[Revision("t1", None)]
    )
    url = server.fresh("bench_mlflow_plan")
    _initial_tables(python, url)
    project = _ini(bench.base / "mlflow_plan", migrations, url)
    bench.run([str(python.with_name("alembic")), "upgrade", "heads"], cwd=project)

    def workspace(name: str, root: Path, **environment: str) -> Path:
        where = bench.workspace(name, _config(root, python, environment))
        bench.tf(where, "apply", "-auto-approve")
        return where

    def plan(where: Path) -> Callable[[], None]:
        return lambda: bench.tf(where, "plan", "-detailed-exitcode")

    def settle(where: Path) -> None:
        """Plans, then idle time, until the warm server has judged and kept what it will."""
        for _ in range(3):
            plan(where)()
            time.sleep(3)

    small = workspace("mlflow_trivial", trivial)
    ours = workspace("mlflow_default", project)
    quiet = workspace("mlflow_no_telemetry", project, DO_NOT_TRACK="true")
    named = workspace("mlflow_named", project, **{_KEEP: "mlflow"})
    off = workspace("mlflow_off", project, **{_OFF: "off"})

    def warm_pair(where: Path) -> tuple[float, float]:
        """Each configuration on worker servers of its own, as a user with that one has."""
        bench.stop_server()
        for each in (small, where):
            settle(each)
        return _pair(plan(where), plan(small))

    default_ms, trivial_ms = warm_pair(ours)
    yield Row(
        f"no-op plan, MLflow's 71 revisions (env.py imports MLflow), {label}, warm",
        default_ms,
        trivial_ms,
        "<= 2 x a trivial project's warm plan",
        2.0,
    )
    quiet_ms, trivial_ms = warm_pair(quiet)
    yield Row(
        "  the same, MLflow's telemetry off (DO_NOT_TRACK=true)",
        quiet_ms,
        trivial_ms,
        "<= 2 x a trivial project's warm plan",
        2.0,
    )
    named_ms, trivial_ms = warm_pair(named)
    yield Row(
        f"  the same, with {_KEEP}=mlflow",
        named_ms,
        trivial_ms,
        "<= 2 x a trivial project's warm plan",
        2.0,
    )
    off_ms = _median([_timed(plan(off)) for _ in range(REPEAT)])
    yield Row(f"  the same, {_OFF}=off", off_ms, trivial_ms, "report")
    cold = _cold(bench, plan(ours))
    yield Row(f"  the same, first (cold) plan, {label}", cold, trivial_ms, "report")
    server.drop("bench_trivial")
    server.drop("bench_mlflow_plan")


def _apply_rows(bench: Bench, python: Path, migrations: str, server: _Server) -> Iterator[Row]:
    label = server.label
    name = "bench_mlflow_apply"
    url = server.fresh(name)
    project = _ini(bench.base / f"mlflow_apply_{label}", migrations, url)
    alembic = str(python.with_name("alembic"))
    for keep in ("", "mlflow"):
        environment = {_KEEP: keep} if keep else {}
        where = bench.workspace(
            f"mlflow_apply_{label}_{keep or 'default'}", _config(project, python, environment)
        )

        def reset(where: Path = where) -> None:
            _initial_tables(python, server.fresh(name))
            for state in where.glob("terraform.tfstate*"):
                state.unlink()

        def apply(where: Path = where) -> None:
            bench.tf(where, "apply", "-auto-approve")

        def raw() -> None:
            bench.run([alembic, "upgrade", "heads"], cwd=project)

        reset()
        apply()  # the warm server judges and keeps while the next reset runs
        time.sleep(3)
        ours, theirs = _pair(apply, raw, reset)
        what = f", {_KEEP}=mlflow" if keep else ""
        yield Row(
            f"apply from MLflow's initial tables, {label}{what}",
            ours,
            theirs,
            "<= 1.2 x alembic upgrade heads",
            1.2,
        )
    server.drop(name)


def main() -> int:
    """Print only these rows (``make bench`` prints them with the other targets)."""
    width = 68
    with tempfile.TemporaryDirectory(prefix="tfa-bench-") as scratch:
        bench = Bench(Path(scratch))
        try:
            for row in mlflow_rows(bench):
                print(format_row(row, width), flush=True)
        finally:
            bench.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
