"""Start worker processes and exchange one request with each.

A request goes to a process no other Terraform command has used: a child forked by a warm
server (a ``worker serve`` process per interpreter that has already imported Alembic), a
worker of the same command that stayed for it (see :func:`_linger`), or, when no server can
be used, a cold ``worker run`` process. Either way the worker leads its own
process group, talks JSON on a private socket, and writes its stdout and stderr into one pipe
that is read line by line. The request socket is also the worker's lifeline: on a cancel or
timeout the provider writes ``cancel`` on it, and when the provider dies (SIGKILL included) it
closes; either way the worker cancels its statement on the database server and stops. What is
left of its group after a short grace is killed. Never imports alembic and never interprets a
response: that is ``client.py``'s job.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
import select
import shutil
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alembic_provider import __version__
from alembic_provider.childproc import LineSink, OutputReader, ended, tail
from alembic_provider.errors import WorkerEnvironmentError
from alembic_provider.rendezvous import control, processes, settings, sockets

__all__ = ["WORKER_PATH", "Exchange", "Launch", "WorkerProcesses", "chooses_by_directory"]

WORKER_PATH = Path(__file__).with_name("worker")
_OUTPUT_LIMIT = 256 * 1024
_START_TIMEOUT = 120.0
# How long to wait for another provider process that is starting the shared server; past it,
# a private server serves instead.
_SHARED_LOCK_TIMEOUT = 30.0
_POLL = 0.05
_DRAIN = 5.0
#: How long a cancelled worker has to stop its statement, roll back and answer before it is
#: killed; the worker gives itself a little less (``tfalembic_lifeline.GRACE_SECONDS``).
CANCEL_GRACE = 5.0
# Variables read while an interpreter (or the wrapper that starts it) boots: they must be in
# the environment of a warm server, not just applied in the forked child.
_STARTUP_PREFIXES = (
    "PATH",
    "PYTHON",
    "LD_",
    "DYLD_",
    "VIRTUAL_ENV",
    "CONDA",
    "POETRY",
    "PIPENV",
    "PDM",
    "UV_",
    "HATCH",
    "PYENV",
    "HOME",
)


@dataclass(frozen=True)
class Launch:
    """How to start a worker for one request: interpreter, directory and added environment."""

    command: tuple[str, ...]
    cwd: str
    environment: Mapping[str, str]


@dataclass(frozen=True)
class Exchange:
    """How one request went: the response if any, the captured output, and why it stopped.

    :param stopped: ``"cancelled"`` or ``"timeout"`` when the provider killed the worker.
    :param ended: how the process ended, for messages, e.g. ``"exit status 1"``.
    """

    response: dict[str, Any] | None
    output: str
    stopped: str | None
    ended: str


def _kill_group(pid: int) -> None:
    """Kill the worker's process group, and the worker itself in case it has no group yet."""
    for kill in (os.killpg, os.kill):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            kill(pid, signal.SIGKILL)


def _start_error(command: tuple[str, ...], exc: OSError) -> WorkerEnvironmentError:
    return WorkerEnvironmentError(
        f"The interpreter command {list(command)!r} could not be started: {exc}. Set 'python' "
        "to an interpreter that has alembic and SQLAlchemy installed.",
        kind="environment",
    )


class _Server:
    """A ``worker serve`` process: it has imported Alembic and forks a child per request."""

    def __init__(self, command: tuple[str, ...], cwd: str, env: Mapping[str, str]) -> None:
        self.command = command
        self._control, theirs = socket.socketpair()
        read_fd, write_fd = os.pipe()
        argv = [*command, "-B", str(WORKER_PATH), "serve", str(theirs.fileno())]
        try:
            self._popen = subprocess.Popen(
                argv,
                pass_fds=(theirs.fileno(),),
                stdin=subprocess.DEVNULL,
                stdout=write_fd,
                stderr=write_fd,
                cwd=cwd,
                env=dict(env),
                start_new_session=True,
            )
        except OSError as exc:
            self._control.close()
            os.close(read_fd)
            raise _start_error(command, exc) from exc
        finally:
            theirs.close()
            os.close(write_fd)
        self._errors = OutputReader(
            read_fd, None, limit=_OUTPUT_LIMIT, name="alembic-worker-output"
        )
        self._errors.start()
        self._pending = bytearray()
        self._eof = False
        self._lock = threading.Lock()
        self.used = time.monotonic()

    def wait_ready(self, timeout: float) -> dict[str, Any]:
        """Wait for the ready line; raise with the interpreter's own output when it fails."""
        message = self._read(timeout)
        if message is not None and message.get("ready"):
            return message
        running = not self._eof
        self.close()
        self._errors.join(_DRAIN)
        if message is not None and isinstance(message.get("error"), dict):
            error = message["error"]
            raise WorkerEnvironmentError(str(error.get("message")), kind="environment")
        if running:
            what = f"did not start the Alembic worker within {timeout:g} seconds"
        else:
            what = f"ended before the Alembic worker was ready ({ended(self._popen.returncode)})"
        raise WorkerEnvironmentError(
            f"The interpreter command {list(self.command)!r} {what}. Set 'python' to an "
            "interpreter that has alembic and SQLAlchemy installed.",
            kind="environment",
            stderr_tail=tail(self._errors.text()),
        )

    def fork(
        self, theirs: socket.socket, output_fd: int, linger: Mapping[str, str] | None = None
    ) -> int | None:
        """Ask for a process serving ``theirs``; ``None`` when this server no longer works.

        :param linger: lets a worker of the same command and environment serve it, and the
            new one stay for the next such request (:func:`_linger`).
        """
        line = json.dumps({"op": "fork", **({"linger": dict(linger)} if linger else {})})
        with self._lock:
            self.used = time.monotonic()
            try:
                socket.send_fds(
                    self._control, [line.encode("utf-8") + b"\n"], [theirs.fileno(), output_fd]
                )
                message = self._read(_START_TIMEOUT)
            except OSError:
                return None
        pid = None if message is None else message.get("pid")
        return pid if isinstance(pid, int) else None

    def alive(self) -> bool:
        return self._popen.poll() is None

    def _read(self, timeout: float) -> dict[str, Any] | None:
        deadline = time.monotonic() + timeout
        while b"\n" not in self._pending:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            ready, _, _ = select.select([self._control], [], [], remaining)
            if not ready:
                continue
            chunk = self._control.recv(65536)
            if not chunk:
                self._eof = True
                return None
            self._pending.extend(chunk)
        line, _, rest = bytes(self._pending).partition(b"\n")
        self._pending[:] = rest
        message = json.loads(line)
        return message if isinstance(message, dict) else None

    def close(self) -> None:
        """Hang up; the server exits on end of file. Children already forked run to the end."""
        self._control.close()
        try:
            self._popen.wait(timeout=_DRAIN)
        except subprocess.TimeoutExpired:
            self._popen.kill()
            self._popen.wait()


class _SharedServer(_Server):
    """A ``worker listen`` server shared by this user's provider processes (the warm server).

    It outlives this provider process: a later command with the same interpreter, directory
    and start-up environment forks its workers from it without importing Alembic again. The
    connection is this process's channel to it; closing the channel leaves it running until
    its idle time passes. Started here when no such server answers.
    """

    def __init__(self, command: tuple[str, ...], cwd: str | None, env: Mapping[str, str]) -> None:
        config = settings.settings()
        settings.private_directory(config.directory)
        path = self.socket_path(command, cwd, env)
        self.command = command
        channel = self._connect(path)
        if channel is None:
            with sockets.locked(path.removesuffix(".sock") + ".lock", _SHARED_LOCK_TIMEOUT):
                channel = self._connect(path)
                if channel is None:
                    channel = self._start(path, cwd, env, config.idle_seconds)
        self._control = channel
        self._pending = bytearray()
        self._eof = False
        self._lock = threading.Lock()
        self.used = time.monotonic()

    @staticmethod
    def socket_path(command: tuple[str, ...], cwd: str | None, env: Mapping[str, str]) -> str:
        """Where the server for this interpreter, directory and environment listens."""
        config = settings.settings()
        digest = hashlib.sha256(repr((config.key, command, cwd, sorted(env.items()))).encode())
        return os.path.join(config.directory, f"worker-{digest.hexdigest()[:24]}.sock")

    @staticmethod
    def _connect(path: str) -> socket.socket | None:
        try:
            return control.connect(path)
        except (FileNotFoundError, ConnectionRefusedError):
            return None

    def _start(
        self,
        path: str,
        cwd: str | None,
        env: Mapping[str, str],
        idle: float,
    ) -> socket.socket:
        failed = path + ".failed"
        for stale in (path, failed):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(stale)
        argv = [*self.command, "-B", str(WORKER_PATH), "listen", path, repr(idle), __version__]
        # The server detaches at once (its first process exits, reaped here), so it is no
        # process's child: it outlives this one. Its own session, none of Terraform's streams,
        # and no working directory of a project unless its interpreter command chooses by it.
        try:
            starter = subprocess.Popen(
                argv,
                cwd=cwd or "/",
                env=dict(env),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
            )
        except OSError as exc:
            raise _start_error(self.command, exc) from exc
        status = starter.wait()
        if status != 0:
            raise OSError(f"the shared warm server did not start (exit status {status})")
        deadline = time.monotonic() + _START_TIMEOUT
        while True:
            connection = self._connect(path)
            if connection is not None:
                return connection
            if os.path.exists(failed) or time.monotonic() > deadline:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(failed)
                raise OSError("the shared warm server did not start")
            time.sleep(_POLL / 5)

    def wait_ready(self, timeout: float) -> dict[str, Any]:
        try:
            message = self._read(timeout)
        except (OSError, ValueError):  # it failed to start and closed its socket under us
            message = None
        if message is None or not message.get("ready"):
            self.close()
            raise OSError("the shared warm server did not say it was ready")
        pid = message.get("pid")
        self.pid = pid if isinstance(pid, int) else None
        return message

    def alive(self) -> bool:
        return not self._eof

    def close(self) -> None:
        """Leave the shared server; it keeps running for other commands until idle."""
        self._eof = True
        self._control.close()


class WorkerProcesses:
    """Warm servers per interpreter, and the exchange of one request with a fresh worker.

    :param warm: use forking servers where the platform allows it; cold processes otherwise.
    :param shared: use a warm server shared with this user's other provider processes (kept
        between commands) unless the warm server is turned off; a private one otherwise.
    :param max_servers: warm servers kept at once; the least recently used one is closed.
    """

    def __init__(self, *, warm: bool = True, shared: bool = True, max_servers: int = 4) -> None:
        self._warm = warm and hasattr(os, "fork") and hasattr(socket, "send_fds")
        self._shared = self._warm and shared and _sharing_enabled()
        self._max_servers = max_servers
        self._servers: dict[tuple[Any, ...], _Server] = {}
        self._lock = threading.Lock()

    def exchange(
        self,
        launch: Launch,
        request: Mapping[str, Any],
        *,
        timeout: float | None = None,
        cancel: threading.Event | None = None,
        on_line: LineSink | None = None,
    ) -> Exchange:
        """Run ``request`` in a fresh worker and return what came back.

        :raises WorkerEnvironmentError: when no worker could be started at all.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        ours, theirs = socket.socketpair()
        read_fd, write_fd = os.pipe()
        output = OutputReader(read_fd, on_line, limit=_OUTPUT_LIMIT, name="alembic-worker-output")
        output.start()
        try:
            pid, popen = self._start(launch, theirs, write_fd, _linger(launch, request))
        except BaseException:
            ours.close()
            raise
        finally:
            theirs.close()
            os.close(write_fd)
        with ours:
            with contextlib.suppress(OSError):
                ours.sendall(json.dumps(dict(request)).encode("utf-8") + b"\n")
            response, stopped = _await(ours, pid, deadline, cancel)
        if popen is not None:
            try:
                popen.wait(timeout=_DRAIN)
            except subprocess.TimeoutExpired:
                _kill_group(pid)
                popen.wait()
        output.join(_DRAIN)
        if output.is_alive():
            _kill_group(pid)
            output.join(_DRAIN)
        how = ended(popen.returncode) if popen is not None else "forked worker ended"
        return Exchange(response, output.text(), stopped, how)

    def prestart(self, launch: Launch) -> threading.Thread | None:
        """Start the shared warm server for ``launch`` in the background, for requests to come.

        Only a shared server outlives this process; a private one would be started in vain.
        Nothing is registered here, so closing this process never waits for the start. When
        the server already listens nothing happens at all: a thread started for nothing would
        only take the interpreter lock from the request being served. Returns the thread that
        starts it, if any.
        """
        if not self._shared:
            return None
        directory, startup = _server_identity(launch)
        path = _SharedServer.socket_path(launch.command, directory, _shared_env(startup))
        if os.path.exists(path):
            return None  # running, or starting and already listening

        def start() -> None:
            server = self._shared_server(launch, directory, startup)
            if server is not None:
                server.close()

        thread = threading.Thread(target=start, name="alembic-worker-warm-up", daemon=True)
        thread.start()
        return thread

    def close(self) -> None:
        with self._lock:
            servers = list(self._servers.values())
            self._servers.clear()
        for server in servers:
            server.close()

    def _start(
        self,
        launch: Launch,
        theirs: socket.socket,
        write_fd: int,
        linger: Mapping[str, str] | None = None,
    ) -> tuple[int, subprocess.Popen[bytes] | None]:
        if self._warm:
            server = self._server(launch)
            pid = server.fork(theirs, write_fd, linger)
            if pid is not None:
                return pid, None
            self._discard(server)
        popen = self._spawn(launch, theirs, write_fd)
        return popen.pid, popen

    def _spawn(
        self, launch: Launch, theirs: socket.socket, write_fd: int
    ) -> subprocess.Popen[bytes]:
        env = {**os.environ, **launch.environment, "PYTHONDONTWRITEBYTECODE": "1"}
        argv = [*launch.command, "-B", str(WORKER_PATH), "run", str(theirs.fileno())]
        try:
            return subprocess.Popen(
                argv,
                pass_fds=(theirs.fileno(),),
                stdin=subprocess.DEVNULL,
                stdout=write_fd,
                stderr=write_fd,
                cwd=launch.cwd,
                env=env,
                start_new_session=True,
            )
        except OSError as exc:
            raise _start_error(launch.command, exc) from exc

    def _server(self, launch: Launch) -> _Server:
        directory, startup = _server_identity(launch)
        key = (launch.command, directory, tuple(sorted(startup.items())))
        with self._lock:
            server = self._servers.get(key)
            if server is not None and server.alive():
                return server
            if server is not None:
                server.close()
            server = self._shared_server(launch, directory, startup)
            if server is None:
                env = {**os.environ, **startup, "PYTHONDONTWRITEBYTECODE": "1"}
                server = _Server(launch.command, directory or "/", env)
                server.wait_ready(_START_TIMEOUT)
            self._servers[key] = server
            evicted = self._evict()
        for old in evicted:
            old.close()
        return server

    def _shared_server(
        self, launch: Launch, directory: str | None, startup: Mapping[str, str]
    ) -> _Server | None:
        """Use (or start) the warm server shared across commands; None to use a private one.

        Its environment holds only what starts an interpreter; each request brings the rest.
        """
        if not self._shared:
            return None
        env = _shared_env(startup)
        try:
            server = _SharedServer(launch.command, directory, env)
            server.wait_ready(_START_TIMEOUT)
        except (
            OSError,
            ValueError,
            sockets.ServerUnavailableError,
            settings.UnsafeDirectoryError,
        ):
            return None  # a private server works as before
        return server

    def _evict(self) -> list[_Server]:
        evicted = []
        while len(self._servers) > self._max_servers:
            key = min(self._servers, key=lambda k: self._servers[k].used)
            evicted.append(self._servers.pop(key))
        return evicted

    def _discard(self, server: _Server) -> None:
        with self._lock:
            for key, value in list(self._servers.items()):
                if value is server:
                    del self._servers[key]
        server.close()


def _shared_env(startup: Mapping[str, str]) -> dict[str, str]:
    """A shared server's whole environment: only what starts an interpreter."""
    env = {
        key: value
        for key, value in {**os.environ, **startup}.items()
        if key.startswith(_STARTUP_PREFIXES)
    }
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


# The go-plugin handshake's variables: each provider process of a command gets its own.
_HANDSHAKE = frozenset(
    (
        "PLUGIN_CLIENT_CERT",
        "PLUGIN_MIN_PORT",
        "PLUGIN_MAX_PORT",
        "PLUGIN_PROTOCOL_VERSIONS",
        "TF_PLUGIN_MAGIC_COOKIE",
    )
)
_KEEP_IMPORTS = "TERRAFORM_PROVIDER_ALEMBIC_KEEP_IMPORTS"
_OFF = ("0", "off", "false", "no")


def _linger(launch: Launch, request: Mapping[str, Any]) -> dict[str, str] | None:
    """What lets one Terraform command's operations share a worker, or None.

    A worker whose env.py imported much may stay for the next request of the same Terraform
    command (``rendezvous/processes.py``) whose key is the same: interpreter, directory,
    configuration, umask and whole environment, but the handshake's variables. So the
    command imports the application once, and no other command ever sees that process.
    ``TERRAFORM_PROVIDER_ALEMBIC_KEEP_IMPORTS=off`` turns it off with the kept imports.
    """
    command = processes.command()
    base = request.get("base_environment")
    added = request.get("environment")
    environment = {
        **(base if isinstance(base, dict) else os.environ),
        **launch.environment,
        **(added if isinstance(added, dict) else {}),
    }
    if command is None or environment.get(_KEEP_IMPORTS, "").lower() in _OFF:
        return None
    same = sorted((k, v) for k, v in environment.items() if k not in _HANDSHAKE)
    identity = [command, list(launch.command), launch.cwd, request.get("config")]
    identity += [request.get("umask"), same]
    digest = hashlib.sha256(json.dumps(identity).encode("utf-8")).hexdigest()
    return {"key": digest, "command": command}


def _server_identity(launch: Launch) -> tuple[str | None, dict[str, str]]:
    """What besides its command tells warm servers apart: the directory it must start in (None
    when any will do) and the variables the interpreter reads while it starts."""
    startup = {
        key: value for key, value in launch.environment.items() if key.startswith(_STARTUP_PREFIXES)
    }
    return (launch.cwd if chooses_by_directory(launch.command) else None), startup


@functools.lru_cache(maxsize=64)
def chooses_by_directory(command: tuple[str, ...]) -> bool:
    """Whether ``command`` may pick its Python by the directory it starts in.

    An interpreter binary (a virtualenv's ``bin/python`` included) is the same in every
    directory, so one warm server serves every project that uses it. A wrapper (``poetry
    run python``, a pyenv shim, any ``#!`` script) may choose by ``.python-version``,
    ``pyproject.toml`` and the like: it gets a server per project directory.
    """
    if len(command) != 1:
        return True
    found = shutil.which(command[0])
    if found is None:
        return True
    try:
        with open(found, "rb") as executable:
            return executable.read(2) == b"#!"
    except OSError:
        return True


def _sharing_enabled() -> bool:
    return settings.settings().enabled


def _await(
    sock: socket.socket, pid: int, deadline: float | None, cancel: threading.Event | None
) -> tuple[dict[str, Any] | None, str | None]:
    """Wait for the response line; on cancel or timeout, ask the worker to stop.

    The worker cancels its statement on the database server, lets its transaction roll back,
    releases the lock and answers; whatever is left after :data:`CANCEL_GRACE` is killed.
    """
    pending = bytearray()
    stopped: str | None = None
    while b"\n" not in pending:
        if stopped is None:
            if cancel is not None and cancel.is_set():
                stopped = "cancelled"
            elif deadline is not None and deadline <= time.monotonic():
                stopped = "timeout"
            if stopped is not None:
                with contextlib.suppress(OSError):
                    sock.sendall(b"cancel\n")
                deadline = time.monotonic() + CANCEL_GRACE
        wait = _POLL if deadline is None else min(_POLL, deadline - time.monotonic())
        if wait <= 0:
            _kill_group(pid)
            return None, stopped
        ready, _, _ = select.select([sock], [], [], wait)
        if not ready:
            continue
        chunk = sock.recv(65536)
        if not chunk:
            if stopped is not None:
                _kill_group(pid)
            return None, stopped
        pending.extend(chunk)
    if stopped is not None:
        _kill_group(pid)
    line = bytes(pending).partition(b"\n")[0]
    try:
        message = json.loads(line)
    except ValueError:
        return None, stopped
    return (message if isinstance(message, dict) else None), stopped
