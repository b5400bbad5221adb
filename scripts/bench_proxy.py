"""Proxy overhead of a plan beside the Go provider's fixed sleep; ``make bench`` calls :func:`rows`.

The proxy is ``tests/proxy/fake_proxy.py`` forwarding to a local echo server; it starts listening
0.3 s after it is started, about what cloud-sql-proxy needs. Each resource operation holds the
proxy and makes one round trip through it. A plan refreshes every resource and then plans it,
two operations per resource; Terraform runs resources in parallel, one phase after the other.

Ours: ``ProxyManager`` with ``proxy_ready`` (readiness probing, sharing by refcount), medians of
a few runs. Go-style: start the proxy, sleep ``proxy_sleep`` (5 s), run, kill, for every
operation. That is measured once for one operation and multiplied by the operations that run
one after another (parallel ones overlap). Nothing here asserts a speed.
"""

from __future__ import annotations

import contextlib
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from alembic_provider.proxy import ProxyManager, ProxySpec  # noqa: E402

__all__ = ["main", "rows"]

Row = tuple[str, float, float]
FAKE_PROXY = ROOT / "tests" / "proxy" / "fake_proxy.py"
GO_SLEEP = 5.0
READY_AFTER = 0.3
_REPEAT = 3


@contextlib.contextmanager
def _echo_server() -> Iterator[int]:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(64)

    def serve() -> None:
        while True:
            try:
                connection, _ = server.accept()
            except OSError:
                return
            threading.Thread(target=_echo, args=(connection,), daemon=True).start()

    threading.Thread(target=serve, daemon=True).start()
    try:
        yield server.getsockname()[1]
    finally:
        server.close()


def _echo(connection: socket.socket) -> None:
    with connection:
        while data := connection.recv(65536):
            connection.sendall(data)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _round_trip(port: int) -> None:
    with socket.create_connection(("127.0.0.1", port), timeout=30) as client:
        client.sendall(b"SELECT 1")
        client.recv(64)


def _command(port: int, upstream: int) -> tuple[str, ...]:
    return (
        sys.executable,
        str(FAKE_PROXY),
        "--listen",
        f"127.0.0.1:{port}",
        "--forward",
        f"127.0.0.1:{upstream}",
        "--delay",
        str(READY_AFTER),
    )


def _ours(upstream: int, resources: int, parallel: bool) -> float:
    """Seconds for a plan (refresh phase, then plan phase) with a fresh provider's manager."""
    port = _free_port()
    spec = ProxySpec(_command(port, upstream), ready=f"127.0.0.1:{port}")
    start = time.perf_counter()
    with ProxyManager() as manager:

        def operation() -> None:
            with manager.use(spec):
                _round_trip(port)

        for _phase in ("refresh", "plan"):
            if parallel:
                threads = [threading.Thread(target=operation) for _ in range(resources)]
                for thread in threads:
                    thread.start()
                for thread in threads:
                    thread.join()
            else:
                for _ in range(resources):
                    operation()
    return time.perf_counter() - start


def _go_style_operation(upstream: int) -> float:
    """Seconds for one operation the Go provider's way: start, sleep 5 s, run, kill."""
    port = _free_port()
    start = time.perf_counter()
    proxy = subprocess.Popen(
        _command(port, upstream), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        time.sleep(GO_SLEEP)
        _round_trip(port)
    finally:
        proxy.kill()
        proxy.wait()
    return time.perf_counter() - start


def _median_ms(run: Callable[[], float]) -> float:
    return statistics.median(run() for _ in range(_REPEAT)) * 1000


def rows() -> list[Row]:
    """Return ``(scenario, ours_ms, go_style_ms)`` rows for plans behind one proxy."""
    with _echo_server() as upstream:
        go_once = _go_style_operation(upstream) * 1000
        return [
            (
                "plan, 1 resource behind a proxy ready after 0.3 s",
                _median_ms(lambda: _ours(upstream, 1, parallel=True)),
                2 * go_once,
            ),
            (
                "plan, 10 resources in parallel behind one proxy",
                _median_ms(lambda: _ours(upstream, 10, parallel=True)),
                2 * go_once,
            ),
            (
                "plan, 5 resources one after another (depends_on)",
                _median_ms(lambda: _ours(upstream, 5, parallel=False)),
                2 * 5 * go_once,
            ),
        ]


def main() -> int:
    table = rows()
    width = max(len(name) for name, _, _ in table)
    print(f"{'scenario'.ljust(width)}  {'ours':>8}  {'Go-style 5 s sleep':>18}")
    print(f"{'-' * width}  {'-' * 8}  {'-' * 18}")
    for name, ours, other in table:
        print(f"{name.ljust(width)}  {ours:>5.0f} ms  {other:>15.0f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
