"""The speed targets, measured side by side (``make bench`` prints this table first).

Every row runs whole processes, ours and the yardstick interleaved (A B A B ...), and reports
medians. The yardstick for a plan is what the Go provider did for a refresh: ``alembic current``
and ``alembic heads`` as processes, plus Terraform's own cost (a plan of an empty configuration
that requires no provider). "warm" is a second command in a row (warm server running, script graph
cached); "cold" stops the warm server and empties the cache before every run, like the first
command in a fresh CI job. SQLite files live in ``/dev/shm`` when it exists, so the disk's fsync
does not drown what is measured. PostgreSQL rows run when ``ALEMBIC_TEST_POSTGRES_URL`` (default
``postgresql://postgres@127.0.0.1:5432/postgres``) is reachable. ``BENCH_REPEAT`` sets the runs per
row (default 3). The review's rows come from ``bench_review.py``, the release archive's from
``bench_archive.py``, the MLflow rows (a real history whose env.py imports a large application)
from ``bench_mlflow.py``. Nothing here asserts a speed.
"""

from __future__ import annotations

import contextlib
import functools
import os
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
for entry in (str(ROOT), str(ROOT / "scripts")):
    if entry not in sys.path:
        sys.path.insert(0, entry)

from bench_history import write_history  # noqa: E402
from bench_kit import (  # noqa: E402
    REPEAT,
    Bench,
    Row,
    _cold,
    _median,
    _pair,
    _plan,
    _Postgres,
    _postgres,
    _resources,
    _small_project,
    _timed,
    format_row,
    seconds_to_handshake,
)

from alembic_provider.plugin.server import MAGIC_COOKIE_KEY, MAGIC_COOKIE_VALUE  # noqa: E402
from tests.alembic_projects import make_project  # noqa: E402

__all__ = ["main", "measure"]


def _long_project(base: Path, name: str) -> Path:
    root = make_project(base / name)
    write_history(root / "migrations" / "versions", 300)
    return root


def _peak_memory_kib(during: Callable[[], object], markers: tuple[str, ...]) -> float:
    """Run ``during`` while summing the memory (PSS) of processes whose command has a marker."""
    peak = 0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            total = 0
            for entry in os.listdir("/proc"):
                if not entry.isdigit():
                    continue
                try:
                    command = Path(f"/proc/{entry}/cmdline").read_bytes()
                    if not any(marker.encode() in command for marker in markers):
                        continue
                    total += _pss_kib(entry)
                except (OSError, IndexError, ValueError):
                    continue
            peak = max(peak, total)
            time.sleep(0.02)

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    try:
        during()
    finally:
        done.set()
        thread.join()
    return float(peak)


def _pss_kib(pid: str) -> int:
    """Proportional set size: shared pages (forked children share most) counted once in all."""
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        if line.startswith("Pss:"):
            return int(line.split()[1])
    return 0


def _idle_servers_kib(bench: Bench) -> tuple[float, float, int]:
    """Measure the warm servers left running (their command names the warm server directory):
    the provider's and the worker's. Returns their memory in all (PSS: a page two servers share,
    such as the interpreter's own code, counts once), the plain sum of their resident sets
    (which counts such pages once per process), and how many there are."""
    pss, rss, count = 0, 0, 0
    marker = str(bench.warm_dir).encode()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            if marker not in Path(f"/proc/{entry}/cmdline").read_bytes():
                continue
            fields = Path(f"/proc/{entry}/statm").read_text().split()
            pss += _pss_kib(entry)
        except OSError:
            continue
        rss += int(fields[1]) * os.sysconf("SC_PAGE_SIZE") // 1024
        count += 1
    return float(pss), float(rss), count


_HANDSHAKE_STARTS = 20


def _handshake(env: dict[str, str]) -> float:
    """Start the installed launcher as Terraform does; return the time to its handshake line."""
    from alembic_provider.install import DEFAULT_SOURCE, ProviderSource, launcher_path

    plugins = Path(env["HOME"]) / ".terraform.d" / "plugins"
    launcher = launcher_path(plugins, ProviderSource.parse(DEFAULT_SOURCE))
    env = {**env, MAGIC_COOKIE_KEY: MAGIC_COOKIE_VALUE, "PLUGIN_PROTOCOL_VERSIONS": "5,6"}
    env["PLUGIN_CLIENT_CERT"] = "-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n"
    return seconds_to_handshake([str(launcher)], env)


def measure() -> Iterator[Row]:
    """Yield every target row, measuring as it goes."""
    with tempfile.TemporaryDirectory(prefix="tfa-bench-") as scratch:
        bench = Bench(Path(scratch))
        try:
            yield from _rows(bench)
        finally:
            bench.close()


def _rows(bench: Bench) -> Iterator[Row]:
    small = _small_project(bench.base, "small", 20)
    one = bench.workspace("one", _resources(small, [bench.sqlite("small")]))
    yield from _small_rows(bench, small, one)
    from bench_archive import archive_rows

    yield from archive_rows(bench, small, one)
    yield from _handshake_rows(bench)
    postgres = _postgres()
    from bench_review import model_rows, review_rows

    yield from review_rows(bench, postgres)
    yield from model_rows(bench, postgres)
    yield from _long_rows(bench, postgres)
    yield from _many_rows(bench, small, one)
    if postgres is not None:
        yield from _fleet_rows(bench, postgres)
    from bench_mlflow import mlflow_rows

    yield from mlflow_rows(bench)


def _small_rows(bench: Bench, small: Path, one: Path) -> Iterator[Row]:
    # Terraform's own cost: a configuration that requires no provider at all (one that
    # requires this provider already starts it once, to read its schema).
    empty = bench.workspace("empty", "", provider=False)
    plan = functools.partial(_plan, bench)

    def empty_plan() -> None:
        bench.tf(empty, "plan")

    url = bench.sqlite("small")
    bench.tf(one, "apply", "-auto-approve")
    go_small = bench.go_style(small, url)

    def yardstick_small() -> None:
        go_small()
        empty_plan()

    plan(one)()
    warm, theirs = _pair(plan(one), yardstick_small)
    yield Row(
        "no-op plan, 1 resource, 20 revisions, SQLite, warm",
        warm,
        theirs,
        "<= 0.25 x (alembic current + heads + empty plan)",
        0.25,
    )
    empty_ms = _median([_timed(empty_plan) for _ in range(REPEAT)])
    yield Row(
        "  the same, minus an empty-configuration plan",
        warm - empty_ms,
        None,
        "stretch: <= 150 ms",
        note=f"empty plan {empty_ms:.0f} ms",
        most=150,
    )
    cold = _cold(bench, plan(one))
    yield Row(
        "no-op plan, 1 resource, 20 revisions, SQLite, cold",
        cold,
        theirs,
        "<= 0.6 x (alembic current + heads + empty plan)",
        0.6,
    )


def _handshake_rows(bench: Bench) -> Iterator[Row]:
    bench.go_cold()
    cold_handshakes = []
    for _ in range(REPEAT):
        bench.go_cold()
        cold_handshakes.append(_handshake(bench.env))
    # A start costs tens of milliseconds: more of them make a steadier median.
    starts = max(REPEAT, _HANDSHAKE_STARTS)
    warm_handshakes = [_handshake(bench.env) for _ in range(starts)]
    unshared = [
        _handshake({**bench.env, "TERRAFORM_PROVIDER_ALEMBIC_DAEMON": "off"}) for _ in range(starts)
    ]
    yield Row(
        "start to handshake, warm server running",
        _median(warm_handshakes),
        _median(unshared),
        "< 20 ms (yardstick: warm server off)",
        most=20,
    )
    yield Row(
        "start to handshake, cold (starts the warm server)",
        _median(cold_handshakes),
        _median(unshared),
        "report (yardstick: warm server off)",
    )


def _long_rows(bench: Bench, postgres: _Postgres | None) -> Iterator[Row]:
    plan = functools.partial(_plan, bench)
    long_root = _long_project(bench.base, "long")
    backends: list[tuple[str, Callable[[str], str], Callable[[str], None]]] = [
        (
            "SQLite",
            bench.sqlite,
            lambda name: (bench.db_dir / f"{name}.sqlite").unlink(missing_ok=True),
        )
    ]
    if postgres is not None:
        _, create, drop = postgres
        backends.append(("PostgreSQL", create, drop))
    for label, fresh, drop in backends:
        url = fresh("long_plan")
        where = bench.workspace(f"long_{label}", _resources(long_root, [url]))
        bench.tf(where, "apply", "-auto-approve")
        plan(where)()
        warm, theirs = _pair(plan(where), bench.go_style(long_root, url))
        yield Row(
            f"no-op plan, 300 revisions (branches, merges), {label}, warm",
            warm,
            theirs,
            "<= 0.3 x (alembic current + heads)",
            0.3,
        )
        cold = _cold(bench, plan(where))
        yield Row(
            f"no-op plan, 300 revisions (branches, merges), {label}, cold",
            cold,
            theirs,
            "report (vs alembic current + heads)",
        )

        apply_url = fresh("long_apply")
        apply_dir = bench.workspace(f"long_apply_{label}", _resources(long_root, [apply_url]))

        def reset(dir_: Path = apply_dir, fresh: Callable[[str], str] = fresh) -> None:
            fresh("long_apply")
            for state in dir_.glob("terraform.tfstate*"):
                state.unlink()

        def raw(url_: str = apply_url) -> None:
            bench.run([bench.alembic, "upgrade", "heads"], cwd=long_root, DATABASE_URL=url_)

        ours, theirs = _pair(
            lambda dir_=apply_dir: bench.tf(dir_, "apply", "-auto-approve"), raw, reset
        )
        yield Row(
            f"apply from base, 300 revisions, {label}",
            ours,
            theirs,
            "<= 1.15 x alembic upgrade heads",
            1.15,
        )
        drop("long_plan")
        drop("long_apply")


def _many_rows(bench: Bench, small: Path, one: Path) -> Iterator[Row]:
    plan = functools.partial(_plan, bench)
    urls = [bench.sqlite(f"many{i}") for i in range(50)]
    many = bench.workspace("many", _resources(small, urls))
    bench.tf(many, "apply", "-auto-approve")
    plan(many)()
    fifty, single = _pair(plan(many), plan(one))
    yield Row(
        "no-op plan, 50 resources on 50 databases: cost per added resource",
        (fifty - single) / 49,
        None,
        "<= 20 ms per resource",
        note=f"50: {fifty:.0f} ms, 1: {single:.0f} ms",
        most=20,
    )
    markers = (
        f"{sys.executable}\0-m\0alembic_provider",
        str(ROOT / "alembic_provider" / "executor" / "worker"),
    )
    peak = _peak_memory_kib(plan(many), markers)
    yield Row(
        "memory: peak PSS, everything the provider runs, 50-resource plan",
        peak / 1024,
        None,
        "report (MiB)",
    )
    idle, resident, servers = _idle_servers_kib(bench)
    yield Row(
        "memory: idle warm servers, all of them (PSS)",
        idle / 1024,
        None,
        "<= 100 MiB (MiB)",
        note=f"{servers} processes; their resident sets add up to {resident / 1024:.0f} MiB",
        most=100,
    )


def _fleet_rows(bench: Bench, postgres: _Postgres) -> Iterator[Row]:
    _, create, drop = postgres
    tenants = _small_project(bench.base, "tenants", 5)
    names = [f"bench_tenant_{i}" for i in range(20)]
    tenant_urls = [create(name) for name in names]
    fleet = bench.workspace("fleet", _resources(tenants, tenant_urls))

    def fresh_fleet() -> None:
        for name in names:
            create(name)
        for state in fleet.glob("terraform.tfstate*"):
            state.unlink()

    def loop() -> None:
        for url_ in tenant_urls:
            bench.run([bench.alembic, "upgrade", "heads"], cwd=tenants, DATABASE_URL=url_)

    ours, theirs = _pair(lambda: bench.tf(fleet, "apply", "-auto-approve"), loop, fresh_fleet)
    yield Row(
        "one apply over 20 tenant databases (PostgreSQL, 5 revisions)",
        ours,
        theirs,
        "<= 0.5 x a loop of alembic upgrade heads",
        0.5,
    )
    for name in names:
        drop(name)


def main() -> int:
    width = 68
    print(f"{'target row'.ljust(width)}  {'ours':>8}  {'yardstk':>8}  {'ratio':>6}  target")
    print(f"{'-' * width}  {'-' * 8}  {'-' * 8}  {'-' * 6}  {'-' * 30}")
    with contextlib.suppress(KeyboardInterrupt):
        for row in measure():
            print(format_row(row, width), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
