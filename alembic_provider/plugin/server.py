"""Serve the provider the way go-plugin expects, or stand-alone for debugging.

Managed mode (Terraform started us): check the magic cookie and protocol version, listen on a
unix socket in a private temporary directory, print the handshake line, then point stdout at
stderr so nothing can corrupt Terraform's pipe. SIGINT is ignored because Ctrl-C reaches the whole
process group and Terraform asks for a graceful stop itself. The process exits as soon as
Terraform calls ``GRPCController.Shutdown`` or its parent goes away.

Debug mode serves plaintext and prints the ``TF_REATTACH_PROVIDERS`` value to export.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import stat
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Mapping
from concurrent import futures
from dataclasses import dataclass
from typing import Any, TextIO

__all__ = [
    "MAGIC_COOKIE_KEY",
    "MAGIC_COOKIE_VALUE",
    "HandshakeError",
    "Listener",
    "Prepared",
    "build_server",
    "check_handshake_environment",
    "handshake_line",
    "prepare",
    "reattach_value",
    "remove_stale_directories",
    "serve",
    "socket_parent",
]

MAGIC_COOKIE_KEY = "TF_PLUGIN_MAGIC_COOKIE"
MAGIC_COOKIE_VALUE = "d602bf8f470bc67ca7faa0386276bbdd4330efaf76d1a219cb4d6991ca9872b2"
CORE_PROTOCOL_VERSION = 1
APP_PROTOCOL_VERSION = 6
MAX_MESSAGE_BYTES = 256 << 20
_SOCKET_PREFIX = "tf-alembic-"
_PARENT_POLL_SECONDS = 1.0
_SHUTDOWN_GRACE_SECONDS = 0.05
_SIGNAL_POLL_SECONDS = 0.1
# A server prepared ahead is used within this time: its certificate is valid for a day.
_PREPARED_SECONDS = 3600.0
# The longest path a unix socket can be bound to (``sun_path`` less its terminating NUL).
# Terraform connects to the path itself, so the warm server's ``/proc/self/fd`` way round the
# limit (rendezvous/sockets.py) cannot serve here.
_SOCKET_PATH_MAX = 103 if sys.platform == "darwin" else 107
_SOCKET_NAME = "plugin.sock"

NOT_A_COMMAND = (
    "This binary is a plugin for Terraform, not a command to run by hand. Terraform starts it "
    "when a configuration uses the 'alembic' provider.\n\n"
    "To make it available to Terraform, run:\n\n"
    "    terraform-provider-alembic install\n\n"
    "and add the printed required_providers block to your configuration. To debug it, run:\n\n"
    "    terraform-provider-alembic --debug\n"
)


class HandshakeError(Exception):
    """The environment Terraform gave us does not allow a session."""


@dataclass(frozen=True)
class Listener:
    """The private directory holding the plugin socket, named after the process serving it."""

    directory: str
    socket_path: str

    @classmethod
    def create(cls) -> Listener:
        parent = socket_parent()
        remove_stale_directories(parent)
        directory = tempfile.mkdtemp(prefix=f"{_SOCKET_PREFIX}{os.getpid()}-", dir=parent)
        os.chmod(directory, 0o700)
        return cls(directory, os.path.join(directory, _SOCKET_NAME))

    def remove(self) -> None:
        shutil.rmtree(self.directory, ignore_errors=True)


def socket_parent(environ: Mapping[str, str] | None = None) -> str:
    """Where the socket's private directory goes: the temporary directory, unless a socket
    under it would be too long to bind; then ``XDG_RUNTIME_DIR``, then ``/tmp``.

    Terraform only sees "Failed to read any lines from plugin's stdout" when binding fails, so
    a long ``TMPDIR`` must not reach the bind.
    """
    env = os.environ if environ is None else environ
    for parent in (tempfile.gettempdir(), env.get("XDG_RUNTIME_DIR", ""), "/tmp"):
        if parent and os.path.isdir(parent) and _fits(parent):
            return parent
    return "/tmp"


def _fits(parent: str) -> bool:
    # mkdtemp adds eight random characters to the prefix.
    name = f"{_SOCKET_PREFIX}{os.getpid()}-{'x' * 8}"
    return len(os.fsencode(os.path.join(parent, name, _SOCKET_NAME))) <= _SOCKET_PATH_MAX


def remove_stale_directories(parent: str | None = None) -> list[str]:
    """Remove socket directories left by providers that were killed; return their paths.

    A provider killed with SIGKILL cannot remove its directory. Only directories this user
    owns, named by this module with the process id of their server, and whose process no
    longer exists are removed; anything else in the temporary directory is left alone.
    """
    parent = parent or tempfile.gettempdir()
    removed: list[str] = []
    try:
        entries = list(os.scandir(parent))
    except OSError:
        return removed
    for entry in entries:
        pid = _owner_pid(entry.name)
        if pid is None or _process_exists(pid):
            continue
        try:
            info = entry.stat(follow_symlinks=False)
        except OSError:
            continue
        if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid():
            continue
        shutil.rmtree(entry.path, ignore_errors=True)
        removed.append(entry.path)
    return removed


def _owner_pid(name: str) -> int | None:
    if not name.startswith(_SOCKET_PREFIX):
        return None
    digits, dash, _ = name[len(_SOCKET_PREFIX) :].partition("-")
    return int(digits) if dash and digits.isdigit() else None


def _process_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def check_handshake_environment(environ: Mapping[str, str]) -> None:
    """Raise :class:`HandshakeError` unless Terraform started us and speaks protocol 6.

    :raises HandshakeError: without the magic cookie, or when 6 is not offered.
    """
    if environ.get(MAGIC_COOKIE_KEY) != MAGIC_COOKIE_VALUE:
        raise HandshakeError(NOT_A_COMMAND)
    offered = {v.strip() for v in environ.get("PLUGIN_PROTOCOL_VERSIONS", "").split(",")}
    if str(APP_PROTOCOL_VERSION) not in offered:
        raise HandshakeError(
            "This provider speaks Terraform plugin protocol 6, but Terraform offered "
            f"'{environ.get('PLUGIN_PROTOCOL_VERSIONS', '')}'. Use Terraform 1.0 or newer."
        )


def handshake_line(socket_path: str, certificate_field: str = "") -> str:
    versions = f"{CORE_PROTOCOL_VERSION}|{APP_PROTOCOL_VERSION}"
    return f"{versions}|unix|{socket_path}|grpc|{certificate_field}"


def reattach_value(source: str, socket_path: str, pid: int) -> str:
    return json.dumps(
        {
            source: {
                "Protocol": "grpc",
                "ProtocolVersion": APP_PROTOCOL_VERSION,
                "Pid": pid,
                "Test": True,
                "Addr": {"Network": "unix", "String": socket_path},
            }
        },
        separators=(",", ":"),
    )


def build_server(register: Callable[[Any, threading.Event], None]) -> tuple[Any, threading.Event]:
    """Return a gRPC server with the provider and go-plugin's side services, not started yet.

    Every call runs on a thread of its own pool, and the pool has no ceiling that work can
    reach: an apply holds its thread for as long as its migration runs, Terraform runs as many
    at once as ``-parallelism`` allows and keeps the stdio stream open for the whole session, so
    with any fixed number of threads ``StopProvider``, ``Shutdown`` and health checks could
    queue behind the very work they are meant to stop. Idle threads are reused.
    """
    import grpc

    from alembic_provider.plugin.services import add_side_services

    shutdown = threading.Event()
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=sys.maxsize, thread_name_prefix="rpc"),
        options=[
            ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
            ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
        ],
    )
    register(server, shutdown)
    add_side_services(server, shutdown)
    return server, shutdown


def _watch_parent(shutdown: threading.Event) -> None:
    """Stop serving when Terraform disappears without calling Shutdown."""
    parent = os.getppid()
    while not shutdown.wait(_PARENT_POLL_SECONDS):
        if os.getppid() != parent:
            shutdown.set()


@dataclass(frozen=True)
class Prepared:
    """A started gRPC server and its socket, ready for the handshake line.

    A warm server's spare session prepares this before any session comes (``warm_server.py``):
    what Terraform waits for then is only the session's own part. It was prepared for a
    session that sends a client certificate, in the temporary directory of the warm server's
    environment; a session for which either differs, or that comes once the certificate has
    aged, gets a server prepared afresh.
    """

    listener: Listener
    server: Any
    shutdown: threading.Event
    certificate_field: str
    made: float

    def suits(self, environ: Mapping[str, str]) -> bool:
        return (
            bool(environ.get("PLUGIN_CLIENT_CERT")) == bool(self.certificate_field)
            and socket_parent(environ) == os.path.dirname(self.listener.directory)
            and time.monotonic() - self.made < _PREPARED_SECONDS
        )

    def discard(self) -> None:
        self.server.stop(None)
        self.listener.remove()


def prepare(register: Callable[[Any, threading.Event], None], *, secure: bool) -> Prepared:
    """Start a gRPC server on a fresh socket: with a certificate of its own when ``secure``."""
    import grpc

    listener = Listener.create()
    try:
        server, shutdown = build_server(register)
        address = f"unix:{listener.socket_path}"
        certificate_field = ""
        if secure:
            from alembic_provider.plugin.tls import make_server_certificate

            certificate = make_server_certificate()
            credentials = grpc.ssl_server_credentials(
                [(certificate.key_pem, certificate.cert_pem)], require_client_auth=False
            )
            server.add_secure_port(address, credentials)
            certificate_field = certificate.handshake_field
        else:
            server.add_insecure_port(address)
        server.start()
    except BaseException:
        listener.remove()
        raise
    return Prepared(listener, server, shutdown, certificate_field, time.monotonic())


def serve(
    register: Callable[[Any, threading.Event], None],
    *,
    environ: Mapping[str, str],
    stdout: TextIO,
    on_exit: Callable[[], None] = lambda: None,
    watch: Callable[[threading.Event], None] | None = None,
    prepared: Prepared | None = None,
    after_handshake: Callable[[], None] = lambda: None,
) -> int:
    """Serve in managed mode until Terraform shuts us down; return the exit status.

    :param watch: runs in a thread and sets the event once Terraform is gone; by default it
        watches the parent process (a warm server's session watches its lifeline instead).
    :param prepared: a server started ahead with ``register`` already added; used when it
        suits this session's environment, else discarded.
    :param after_handshake: runs once the handshake line is out, while Terraform connects.
    """
    check_handshake_environment(environ)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        if prepared is not None and not prepared.suits(environ):
            prepared.discard()
            prepared = None
        if prepared is None:
            prepared = prepare(register, secure=bool(environ.get("PLUGIN_CLIENT_CERT")))
        ready = prepared
        signal.signal(signal.SIGTERM, lambda *_: ready.shutdown.set())
        line = handshake_line(ready.listener.socket_path, ready.certificate_field)
        stdout.write(line + "\n")
        stdout.flush()
        _silence_stdout()
        threading.Thread(target=watch or _watch_parent, args=(ready.shutdown,), daemon=True).start()
        after_handshake()
        _wait(ready.shutdown)
        # A short grace lets the Shutdown answer itself go out; nothing else is worth waiting
        # for, since Terraform kills a provider that takes two seconds to go.
        ready.server.stop(grace=_SHUTDOWN_GRACE_SECONDS)
        return 0
    finally:
        on_exit()
        if prepared is not None:
            prepared.listener.remove()


def serve_debug(
    register: Callable[[Any, threading.Event], None],
    *,
    source: str,
    stdout: TextIO,
    on_exit: Callable[[], None] = lambda: None,
) -> int:
    """Serve plaintext for a Terraform started by hand with ``TF_REATTACH_PROVIDERS``."""
    listener = Listener.create()
    try:
        server, shutdown = build_server(register)
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda *_: shutdown.set())
        server.add_insecure_port(f"unix:{listener.socket_path}")
        server.start()
        value = reattach_value(source, listener.socket_path, os.getpid())
        stdout.write(
            "Provider started. To attach Terraform CLI, set the TF_REATTACH_PROVIDERS "
            "environment variable with the following:\n\n"
            f"\tTF_REATTACH_PROVIDERS='{value}'\n\n"
            "Relative paths in configurations (such as project_root) resolve against this "
            f"directory, not Terraform's working directory: {os.getcwd()}\n"
            "Press Ctrl-C to stop the provider.\n"
        )
        stdout.flush()
        _wait(shutdown)
        server.stop(grace=0.5)
        return 0
    finally:
        on_exit()
        listener.remove()


def _wait(shutdown: threading.Event) -> None:
    """Block until shutdown, waking regularly so signal handlers get to run.

    A signal delivered to one of gRPC's threads only runs its Python handler once the main
    thread wakes up, and a wait without a timeout would never wake.
    """
    while not shutdown.wait(_SIGNAL_POLL_SECONDS):
        pass


def _silence_stdout() -> None:
    """Send anything written to stdout after the handshake to stderr instead."""
    sys.stdout.flush()
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    sys.stdout = sys.stderr
