"""The review's target rows (``make bench`` prints them with the others; run alone, only these).

What reviewing pending migrations costs a plan, through the real Terraform, warm. A plan with
nothing pending must do no review work: the provider's debug log counts the worker requests of
that plan by verb (one plan with a revision pending shows the count is read right). Each pending
revision may add at most 20 ms: plans of one database toward 1 and toward 11 pending risky
revisions (dropped and retyped columns, indexes, NOT NULL columns, raw SQL on a populated
table), the difference over 10. ``compare_models`` may add at most 60 ms: plans of a database
at its target with 50 tables its models match, with the comparison on and off, interleaved,
the median of the differences. SQLite always; PostgreSQL too when reachable, where the review
also reads table sizes from ``pg_class``. Nothing here asserts a speed.
"""

from __future__ import annotations

import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

# bench_kit puts the repository on sys.path for the imports after it.
from bench_kit import (
    REPEAT,
    Bench,
    Row,
    _median,
    _pair,
    _Postgres,
    _postgres,
    _timed,
    format_row,
)

from tests.alembic_projects import Revision, make_project

__all__ = ["main", "model_rows", "review_rows"]

_ACCOUNTS = "CREATE TABLE accounts (id INTEGER PRIMARY KEY, name VARCHAR(100), legacy VARCHAR(200))"
_ROWS = "INSERT INTO accounts (id, name, legacy) VALUES " + ", ".join(
    f"({n}, 'name {n}', 'legacy {n}')" for n in range(500)
)
_RISKY = (
    'op.drop_column("accounts", "legacy")',
    'op.create_index("ix_accounts_name_{n}", "accounts", ["name"])',
    'op.add_column("accounts", sa.Column("flag_{n}", sa.Integer(), nullable=False))',
    'op.alter_column("accounts", "name", type_=sa.String(50), existing_type=sa.String(100))',
    'op.execute("UPDATE accounts SET name = upper(name)")',
)
PENDING = 11


def _project(base: Path) -> Path:
    """A base revision creating a populated ``accounts``, then ``PENDING`` risky revisions."""
    revisions = [Revision("b0", None, "accounts", upgrade_sql=[_ACCOUNTS, _ROWS])]
    for n in range(1, PENDING + 1):
        code = "import sqlalchemy as sa\n" + _RISKY[n % len(_RISKY)].format(n=n)
        parent = "b0" if n == 1 else f"p{n - 1:02d}"
        revisions.append(
            Revision(f"p{n:02d}", parent, f"risky {n}", upgrade_sql=[], upgrade_code=code)
        )
    return make_project(base / "reviewed", revisions=revisions)


def _config(project: Path, url: str, target: str) -> str:
    return (
        f'provider "alembic" {{\n  project_root = "{project}"\n}}\n\n'
        'resource "alembic_upgrade" "db" {\n'
        f'  target      = "{target}"\n'
        f'  environment = {{ DATABASE_URL = "{url}" }}\n'
        "}\n"
    )


def _review_requests(bench: Bench, where: Path, op: str = "review") -> int:
    """Plan once with the provider's debug log on; count the worker requests ``op``.

    A plan's review is made by the worker that inspects the database (the log says so when it
    is used) or, when the plan reused the refresh's reading, by a worker of its own; a model
    comparison by the refresh's or the plan's reading, or by a worker of its own: all count.
    """
    log = where / "provider.log"
    log.unlink(missing_ok=True)
    bench.tf(where, "plan", TF_LOG_PROVIDER="DEBUG", TF_LOG_PATH=str(log))
    lines = log.read_text(errors="replace").splitlines()
    return sum(
        1
        for line in lines
        if ("alembic worker request" in line and (f"op={op}" in line or f'"op":"{op}"' in line))
        or (op == "review" and "alembic review made by the inspection" in line)
        or (op == "model_diff" and "alembic model comparison made by the inspection" in line)
    )


def review_rows(bench: Bench, postgres: _Postgres | None) -> Iterator[Row]:
    """Yield the review rows for SQLite, then PostgreSQL when reachable."""
    project = _project(bench.base)
    backends: list[tuple[str, Callable[[str], str], Callable[[str], None] | None]] = [
        ("SQLite", bench.sqlite, None)
    ]
    if postgres is not None:
        _, create, drop = postgres
        backends.append(("PostgreSQL", create, drop))
    for label, fresh, drop_database in backends:
        url = fresh("bench_review")
        at_target = bench.workspace(f"review_0_{label}", _config(project, url, "b0"))
        bench.tf(at_target, "apply", "-auto-approve")
        one = bench.workspace(f"review_1_{label}", _config(project, url, "p01"))
        many = bench.workspace(
            f"review_{PENDING}_{label}", _config(project, url, f"p{PENDING:02d}")
        )

        def plan(where: Path) -> Callable[[], None]:
            return lambda: bench.tf(where, "plan")

        for where in (at_target, one, many):
            plan(where)()
        idle = _review_requests(bench, at_target)
        busy = _review_requests(bench, one)
        nothing_ms = _median([_timed(plan(at_target)) for _ in range(3)])
        yield Row(
            f"review requests of a plan with nothing pending, {label} (count)",
            idle,
            None,
            "0: nothing pending, no review work",
            note=f"that plan {nothing_ms:.0f} ms; {busy} with one revision pending",
            most=0,
        )
        eleven, single = _pair(plan(many), plan(one))
        yield Row(
            f"plan time each pending risky revision adds, {label}, warm",
            (eleven - single) / (PENDING - 1),
            None,
            "<= 20 ms per revision",
            note=f"{PENDING} pending: {eleven:.0f} ms, 1 pending: {single:.0f} ms",
            most=20,
        )
        if drop_database is not None:
            drop_database("bench_review")


MODEL_TABLES = 50
_COLUMNS = (
    'sa.Column("id", sa.Integer, primary_key=True)',
    'sa.Column("name", sa.String(100), nullable=False)',
    'sa.Column("note", sa.Text)',
    'sa.Column("amount", sa.Numeric(12, 2))',
    'sa.Column("created", sa.DateTime)',
)


def _models_project(base: Path) -> Path:
    """One revision creating ``MODEL_TABLES`` tables, and models that match them exactly."""
    columns = ", ".join(_COLUMNS)
    create = (
        "import sqlalchemy as sa\n"
        f"for n in range({MODEL_TABLES}):\n"
        f'    op.create_table(f"m{{n:02d}}", {columns})\n'
        '    op.create_index(f"ix_m{n:02d}_name", f"m{n:02d}", ["name"])\n'
    )
    models = (
        "import sqlalchemy as sa\n\n"
        "target_metadata = sa.MetaData()\n"
        f"for n in range({MODEL_TABLES}):\n"
        f'    sa.Table(f"m{{n:02d}}", target_metadata, {columns},\n'
        '             sa.Index(f"ix_m{n:02d}_name", "name"))\n'
    )
    revision = Revision("m1", None, "fifty tables", upgrade_sql=[], upgrade_code=create)
    return make_project(base / "models", revisions=[revision], models=models)


def _plan(bench: Bench, where: Path) -> Callable[[], None]:
    return lambda: bench.tf(where, "plan")


def _models_config(project: Path, url: str, compare: bool) -> str:
    return _config(project, url, "m1").replace(
        "  environment", f"  compare_models = {str(compare).lower()}\n  environment"
    )


def model_rows(bench: Bench, postgres: _Postgres | None) -> Iterator[Row]:
    """Yield the ``compare_models`` rows for SQLite, then PostgreSQL when reachable."""
    project = _models_project(bench.base)
    backends: list[tuple[str, Callable[[str], str], Callable[[str], None] | None]] = [
        ("SQLite", bench.sqlite, None)
    ]
    if postgres is not None:
        _, create, drop = postgres
        backends.append(("PostgreSQL", create, drop))
    for label, fresh, drop_database in backends:
        url = fresh("bench_models")
        off = bench.workspace(f"models_off_{label}", _models_config(project, url, False))
        on = bench.workspace(f"models_on_{label}", _models_config(project, url, True))
        for where in (off, on):
            bench.tf(where, "apply", "-auto-approve")
        compared = _review_requests(bench, on, "model_diff")
        if compared != 1 or _review_requests(bench, off, "model_diff") != 0:
            raise RuntimeError(f"compare_models on made {compared} model_diff requests, not 1")
        plan_on, plan_off = _plan(bench, on), _plan(bench, off)
        differences, with_on, with_off = [], [], []
        for _ in range(max(REPEAT, 5)):
            with_on.append(_timed(plan_on))
            with_off.append(_timed(plan_off))
            differences.append(with_on[-1] - with_off[-1])
        yield Row(
            f"plan time compare_models adds, {MODEL_TABLES} tables, {label}, warm",
            _median(differences),
            None,
            "<= 60 ms",
            note=f"on: {_median(with_on):.0f} ms, off: {_median(with_off):.0f} ms",
            most=60,
        )
        if drop_database is not None:
            drop_database("bench_models")


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="tfa-bench-") as scratch:
        bench = Bench(Path(scratch))
        try:
            postgres = _postgres()
            for row in review_rows(bench, postgres):
                print(format_row(row, 68), flush=True)
            for row in model_rows(bench, postgres):
                print(format_row(row, 68), flush=True)
        finally:
            bench.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
