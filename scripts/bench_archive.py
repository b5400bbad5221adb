"""The release archive's rows (``make bench`` prints them with the others; run alone, only these).

The archive Terraform installs from a mirror or a registry, side by side with the Python package
installed with ``install`` (what pipx gives): the same no-op plan of one resource over 20
revisions on SQLite, warm (second command in a row) and cold (warm servers stopped and script
graph cache emptied before every run), interleaved. The archive comes from ``make release``
(``dist/``, or ``ALEMBIC_TEST_DIST``); without it these rows are left out, saying so. Nothing here
asserts a speed.
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

# bench_kit puts the repository on sys.path for the imports after it.
from bench_kit import (
    _PROVIDER_BLOCK,
    ROOT,
    Bench,
    Row,
    _median,
    _pair,
    _plan,
    _resources,
    _small_project,
    format_row,
    seconds_to_handshake,
)

from alembic_provider.install import platform_name
from alembic_provider.plugin.server import MAGIC_COOKIE_KEY, MAGIC_COOKIE_VALUE
from tests.support import provider_installation

__all__ = ["archive_rows", "main"]

_YARDSTICK = "alembic current + heads + empty plan"
_STARTS = 20


def _mirror() -> Path | None:
    dist = Path(os.environ.get("ALEMBIC_TEST_DIST") or ROOT / "dist")
    mirror = dist / "mirror"
    archives = list(mirror.rglob(f"terraform-provider-alembic_*_{platform_name()}.zip"))
    return mirror if archives else None


def archive_rows(bench: Bench, small: Path, one: Path) -> Iterator[Row]:
    """Yield the archive's rows; ``one`` is the package's workspace planning ``small``."""
    mirror = _mirror()
    if mirror is None:
        yield Row("release archive rows: no archive (run make release)", 0, None, "skipped")
        return
    config = bench.base / "terraformrc-archive"
    config.write_text(provider_installation("filesystem_mirror", str(mirror)))
    # The archive runs Alembic with ``python3`` from PATH: this run's interpreter, as pipx's does.
    path = f"{Path(sys.executable).parent}{os.pathsep}{bench.env['PATH']}"
    archive_env = {"TF_CLI_CONFIG_FILE": str(config), "PATH": path}
    where = bench.base / "archive"
    where.mkdir()
    url = bench.sqlite("archive")
    (where / "main.tf").write_text(_PROVIDER_BLOCK + _resources(small, [url]))
    bench.tf(where, "init", **archive_env)
    bench.tf(where, "apply", "-auto-approve", **archive_env)

    def archive_plan() -> None:
        bench.tf(where, "plan", "-detailed-exitcode", **archive_env)

    package_plan = _plan(bench, one)
    empty = bench.base / "empty-archive"
    empty.mkdir()
    (empty / "main.tf").write_text("")
    bench.tf(empty, "init")
    go_small = bench.go_style(small, url)

    def yardstick() -> None:
        go_small()
        bench.tf(empty, "plan")

    archive_plan()
    package_plan()
    archive_warm, package_warm = _pair(archive_plan, package_plan)
    yield Row(
        "archive: no-op plan, warm, vs the same through pipx",
        archive_warm,
        package_warm,
        "<= 1.2 x the pipx warm no-op plan",
        1.2,
    )
    archive_again, theirs = _pair(archive_plan, yardstick)
    yield Row(
        "archive: no-op plan, warm, vs the yardstick",
        archive_again,
        theirs,
        f"<= 0.3 x ({_YARDSTICK})",
        0.3,
    )
    archive_cold, package_cold = _pair(archive_plan, package_plan, before=bench.go_cold)
    yield Row(
        "archive: no-op plan, cold, vs the same through pipx",
        archive_cold,
        package_cold,
        "<= 1.0 x the pipx cold no-op plan",
        1.0,
    )
    program = next((where / ".terraform" / "providers").rglob("terraform-provider-alembic_v*"))
    env = {
        **bench.env,
        **archive_env,
        MAGIC_COOKIE_KEY: MAGIC_COOKIE_VALUE,
        "PLUGIN_PROTOCOL_VERSIONS": "5,6",
    }
    seconds_to_handshake([str(program)], env)
    handshakes = [seconds_to_handshake([str(program)], env) for _ in range(_STARTS)]
    yield Row(
        "archive: start to handshake, warm server running",
        _median(handshakes),
        None,
        "report",
    )


def main() -> int:
    width = 68
    with tempfile.TemporaryDirectory(prefix="tfa-bench-") as scratch:
        bench = Bench(Path(scratch))
        try:
            small = _small_project(bench.base, "small", 20)
            one = bench.workspace("one", _resources(small, [bench.sqlite("small")]))
            bench.tf(one, "apply", "-auto-approve")
            for row in archive_rows(bench, small, one):
                print(format_row(row, width), flush=True)
        finally:
            bench.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
