"""A stand-in for cloud-sql-proxy and friends, run as a real process by the proxy tests.

Standard library only; every behaviour the tests need is a flag:

    fake_proxy.py [--listen HOST:PORT | --unix PATH] [--forward HOST:PORT] [--delay SECONDS]
                  [--exit-after SECONDS] [--exit-on FILE] [--status N] [--ignore-term]
                  [--say TEXT]... [--say-env NAME]... [--record FILE]

It sets its signal handling, prints the ``--say`` lines and the values of the ``--say-env``
variables, and only then appends its pid to ``--record``: a recorded pid says the process is set
up, however slowly Python started. Then it waits ``--delay`` seconds and listens (forwarding
each connection to ``--forward``, or echoing without it). Without ``--listen``/``--unix`` it
never listens. With ``--exit-after`` it exits with ``--status`` after that many seconds (counted
from the start), with ``--exit-on`` as soon as that file exists.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import socket
import sys
import threading
import time


def _pump(source: socket.socket, target: socket.socket) -> None:
    try:
        while data := source.recv(65536):
            target.sendall(data)
    except OSError:
        pass
    finally:
        for sock in (source, target):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


def _serve(connection: socket.socket, forward: str | None) -> None:
    if forward is None:
        _pump(connection, connection)
        return
    host, _, port = forward.rpartition(":")
    upstream = socket.create_connection((host, int(port)))
    threading.Thread(target=_pump, args=(upstream, connection), daemon=True).start()
    _pump(connection, upstream)


def _listener(args: argparse.Namespace) -> socket.socket | None:
    if args.unix:
        server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        server.bind(args.unix)
    elif args.listen:
        host, _, port = args.listen.rpartition(":")
        server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind((host, int(port)))
    else:
        return None
    server.listen(16)
    return server


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--listen")
    parser.add_argument("--unix")
    parser.add_argument("--forward")
    parser.add_argument("--delay", type=float, default=0.0)
    parser.add_argument("--exit-after", type=float)
    parser.add_argument("--exit-on")
    parser.add_argument("--status", type=int, default=0)
    parser.add_argument("--ignore-term", action="store_true")
    parser.add_argument("--say", action="append", default=[])
    parser.add_argument("--say-env", action="append", default=[])
    parser.add_argument("--record")
    args = parser.parse_args()
    started = time.monotonic()
    if args.ignore_term:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    for text in args.say:
        print(text, flush=True)
    for name in args.say_env:
        print(f"{name}={os.environ.get(name, '')}", flush=True)
    if args.record:
        with open(args.record, "a", encoding="utf-8") as record:
            record.write(f"{os.getpid()}\n")
    if args.exit_after is not None or args.exit_on is not None:

        def leave() -> None:
            if args.exit_after is not None:
                time.sleep(max(0.0, started + args.exit_after - time.monotonic()))
            while args.exit_on is not None and not os.path.exists(args.exit_on):
                time.sleep(0.01)
            sys.stdout.flush()
            os._exit(args.status)

        threading.Thread(target=leave, daemon=True).start()
    time.sleep(args.delay)
    server = _listener(args)
    if server is None:
        while True:
            time.sleep(3600)
    while True:
        connection, _ = server.accept()
        threading.Thread(target=_serve, args=(connection, args.forward), daemon=True).start()


if __name__ == "__main__":
    sys.exit(main())
