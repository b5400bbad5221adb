"""Keep what env.py imports warm in a worker server, only where a fresh process would match.

A forked request reports the modules it loaded that live outside the project (name and file).
While idle, the server probes them in a throwaway forked process (``tfalembic_probe``), in the
directory and with the environment of the request that loaded them. A module whose import (its
own code or anything it imported) changed or listed the environment, wrote a file, connected or
sent through a socket, started a process or a thread, left a file descriptor open, or failed,
is refused; the others are imported into the server (in that same directory and environment,
which the server then forgets), so the next forked request finds them loaded. What such an
import read (environment variables by name, the working directory) a fresh process would read
again: the values it saw become the module's conditions.

Each forked request then settles the kept set before anything of the project loads
(``settle``): with its own environment and ``sys.path`` (the configuration's
``prepend_sys_path`` included), every kept top-level package must resolve to the same file,
every kept file must have the stat it had when kept, every variable a kept import read must
have the value it had then, and the working directory it read must be the request's; and the
request's switches must allow it.
Whatever fails, from the first kept module of that package on, leaves the request's
``sys.modules`` and is imported fresh; a changed file drops the whole kept set and the server
stops (the next command starts a fresh one).

Standard library only; never imports the provider package.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import importlib
import json
import os
import select
import signal
import sys
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from tfalembic_files import QUIET_NS, identity
from tfalembic_probe import Blocker, file_of, probe

__all__ = [
    "DISABLE_VARIABLE",
    "KEEPER",
    "KEEP_VARIABLE",
    "NEVER_VARIABLE",
    "Keeper",
    "settle",
]

DISABLE_VARIABLE = "TERRAFORM_PROVIDER_ALEMBIC_KEEP_IMPORTS"
KEEP_VARIABLE = "TERRAFORM_PROVIDER_ALEMBIC_KEEP_MODULES"
NEVER_VARIABLE = "TERRAFORM_PROVIDER_ALEMBIC_NEVER_KEEP_MODULES"
_OFF = ("0", "off", "false", "no")
# How long a probe may take before every module it was given is refused.
PROBE_SECONDS = 60.0
if TYPE_CHECKING:
    Entry = dict[str, Any]


def _names(value: str | None) -> tuple[str, ...]:
    return tuple(part for part in (value or "").replace(",", " ").split() if part)


def _matches(name: str, patterns: Iterable[str]) -> str | None:
    """The pattern naming ``name`` (the module itself or a package above it), if any."""
    for pattern in patterns:
        if name == pattern or name.startswith(pattern + "."):
            return pattern
    return None


def _under(path: str, directory: str) -> bool:
    return path == directory or path.startswith(directory.rstrip(os.sep) + os.sep)


def _stat_key(path: str | None) -> list[int] | None:
    if path is None:
        return None
    seen = identity(path)
    return [-1] if seen is None else list(seen)


# --- the forked request -------------------------------------------------------------------


class _Request:
    """What a forked request knows of the kept set: what it used, dropped, and loaded."""

    def __init__(self, report_fd: int, entries: Sequence[Entry], stale: bool) -> None:
        self.report_fd = report_fd
        self.entries = entries
        self.before = set(sys.modules)
        self.server_stale = stale
        self.settled = False
        self.off = False
        self.changed = False
        self.dropped_from = len(entries)
        self.why = ""
        self.roots: set[str] = set()
        self.directory = ""
        self.environment: dict[str, str] = {}
        self.keep: tuple[str, ...] = ()
        self.never: tuple[str, ...] = ()

    def summary(self) -> dict[str, Any]:
        # Before it settles, a request has loaded nothing of the project: nothing used yet.
        used = self.entries[: self.dropped_from] if self.settled else []
        tops = sorted({entry["name"].partition(".")[0] for entry in used})
        return {
            "modules": len(used),
            "packages": tops,
            "dropped": len(self.entries) - len(used) if self.settled else 0,
            "why": self.why,
        }


# The forked request this process serves, if it is one (at most one element).
_CURRENT: list[_Request] = []


def begin_request(report_fd: int) -> None:
    """In a freshly forked request: remember what was loaded, and where to report."""
    _CURRENT[:] = [_Request(report_fd, list(KEEPER.entries), KEEPER.stale)]


def request_summary() -> dict[str, Any] | None:
    return _CURRENT[0].summary() if _CURRENT else None


def _prepend_paths(config: Any) -> list[str]:
    """The entries Alembic's ``ScriptDirectory.from_config`` is about to put first on sys.path."""
    getter = getattr(config, "get_prepend_sys_paths_list", None)
    if callable(getter):
        return list(getter() or [])
    value = config.get_main_option("prepend_sys_path")
    if not value:
        return []
    import re

    return [part for part in re.split(r", *|(?: +)|:", value) if part]


def settle(config: Any) -> None:
    """Before the project's scripts load: drop what this request may not use of the kept set.

    Called once per forked request, with its environment and working directory already set;
    does nothing in a process that is not a warm server's request.
    """
    if not _CURRENT or _CURRENT[0].settled:
        return
    request = _CURRENT[0]
    request.settled = True
    prepend = _prepend_paths(config)
    request.directory = os.path.realpath(os.getcwd())
    request.environment = dict(os.environ)
    request.roots = {request.directory}
    if config.config_file_name:
        request.roots.add(
            os.path.realpath(os.path.dirname(os.path.abspath(config.config_file_name)))
        )
    request.roots.update(os.path.realpath(os.path.abspath(path)) for path in prepend)
    location = config.get_main_option("script_location") or ""
    if location and os.path.isdir(location):
        request.roots.add(os.path.realpath(location))
    request.keep = _names(os.environ.get(KEEP_VARIABLE))
    request.never = _names(os.environ.get(NEVER_VARIABLE))
    request.off = os.environ.get(DISABLE_VARIABLE, "").lower() in _OFF
    first, why = _first_unusable(request, prepend)
    request.why = why
    request.dropped_from = first
    dropped = request.entries[first:]
    for entry in reversed(dropped):
        _unbind(entry.get("bound") or ())
    for entry in dropped:
        sys.modules.pop(entry["name"], None)


def note_root(directory: str) -> None:
    """Add a directory of the project (the script directory Alembic resolved)."""
    if _CURRENT:
        _CURRENT[0].roots.add(os.path.realpath(directory))


def _first_unusable(request: _Request, prepend: Sequence[str]) -> tuple[int, str]:
    """Index of the first kept entry this request must not use, and why."""
    entries = request.entries
    if not entries:
        return 0, ""
    if request.off:
        return 0, f"{DISABLE_VARIABLE} is off"
    if request.server_stale:
        return 0, "a kept file changed"
    for entry in entries:
        if entry["file"] is not None and _stat_key(entry["file"]) != entry["stat"]:
            request.changed = True
            return 0, f"{entry['file']} changed"
    starts: dict[str, int] = {}
    for index, entry in enumerate(entries):
        starts.setdefault(entry["name"].partition(".")[0], index)
    first = len(entries)
    why = ""
    for index, entry in enumerate(entries):
        name = entry["name"]
        if index >= first:
            break
        differs = _differs(entry, os.environ, request.directory)
        if differs is not None:
            # Read at import, and different here: a fresh import would see this request's.
            first = min(first, entry.get("unit", 0))
            why = f"{name} read {differs} at import, and this request's differs"
            break
        problem = None
        if _matches(name, request.never):
            problem = f"{name} is named in {NEVER_VARIABLE}"
        elif entry.get("named") and entry["named"] not in request.keep:
            problem = (
                f"{name} is kept only for projects that name {entry['named']} in {KEEP_VARIABLE}"
            )
        if problem is not None:
            start = entries[starts[name.partition(".")[0]]].get("unit", 0)
            if start < first:
                first, why = start, problem
    saved = list(sys.path)
    sys.path[:0] = [os.path.abspath(path) for path in prepend]
    try:
        for top, index in starts.items():
            if index >= first or "." in entries[index]["name"] or top.startswith("__"):
                continue  # a package's module kept (its package was preloaded), or an alias
            if _resolves_to(top) != entries[index]["file"]:
                first = entries[index].get("unit", 0)
                why = f"{top} resolves elsewhere for this project"
    finally:
        sys.path[:] = saved
    return first, why


def _differs(read: Mapping[str, Any], environment: Mapping[str, str], directory: str) -> str | None:
    """What an import read (``environ``, ``directory``: a kept entry's, or a verdict's
    conditions) that differs in ``environment`` and ``directory``: named, never its value."""
    for key, value in (read.get("environ") or {}).items():
        if environment.get(key) != value:
            return f"environment variable {key}"
    if read.get("directory") not in (None, directory):
        return "the working directory"
    return None


def _resolves_to(name: str) -> str | None:
    """The file a fresh import of the top-level module ``name`` would load now."""
    for finder in sys.meta_path:
        find_spec = getattr(finder, "find_spec", None)
        if find_spec is None:
            continue
        try:
            spec = find_spec(name, None)
        except Exception:
            return "?"
        if spec is not None:
            origin = spec.origin if spec.has_location else None
            return os.path.realpath(origin) if isinstance(origin, str) else None
    return "?"


def report() -> None:
    """After the answer went out: tell the server which outside modules this request loaded."""
    if not _CURRENT:
        return
    request = _CURRENT[0]
    loaded = []
    if request.settled and not request.off:
        for name, module in list(sys.modules.items()):
            if name in request.before:
                continue
            path = file_of(module)
            if path is not None:
                loaded.append([name, path])
    message = {
        "loaded": loaded,
        "directory": request.directory,
        # The setting to probe what it loaded in; nothing loaded, nothing to probe.
        "environment": request.environment if loaded else None,
        "roots": sorted(request.roots),
        "keep": list(request.keep),
        "never": list(request.never),
        "changed": request.changed,
    }
    data = json.dumps(message).encode("utf-8")
    with contextlib.suppress(OSError):
        while data:
            data = data[os.write(request.report_fd, data) :]
    with contextlib.suppress(OSError):
        os.close(request.report_fd)


def _namespaces() -> dict[str, dict[str, Any]]:
    """A shallow copy of every loaded module's namespace."""
    return {
        name: dict(vars(module))
        for name, module in list(sys.modules.items())
        if isinstance(getattr(module, "__dict__", None), dict)
    }


def _bindings(before: dict[str, dict[str, Any]]) -> list[tuple[str, str, Any]]:
    """What an import bound in modules loaded before it: (module, name, value before it).

    A lazy attribute cached by a package, a registry filled, a function patched: a request
    that drops the import unbinds these first, so nothing it keeps points at the copy it
    dropped, and its fresh import binds them again as a fresh process would.
    """
    bound = []
    for name, old in before.items():
        namespace = getattr(sys.modules.get(name), "__dict__", None)
        if not isinstance(namespace, dict):
            continue
        for key in old.keys() | namespace.keys():
            value = old.get(key, _UNBOUND)
            if namespace.get(key, _UNBOUND) is not value and key != "__warningregistry__":
                bound.append((name, key, value))
    return bound


def _unbind(bound: Sequence[tuple[str, str, Any]]) -> None:
    for name, key, value in reversed(bound):
        module = sys.modules.get(name)
        if module is None:
            continue
        if value is _UNBOUND:
            module.__dict__.pop(key, None)
        else:
            module.__dict__[key] = value


_UNBOUND = object()


# --- the server ---------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class _Setting:
    """The directory and environment a request ran env.py in: its modules are probed and
    imported in them, so what they read is what such a request would read."""

    directory: str
    environment: tuple[tuple[str, str], ...]

    @contextlib.contextmanager
    def entered(self) -> Iterator[None]:
        home, saved = os.getcwd(), dict(os.environ)
        os.chdir(self.directory)
        os.environ.clear()
        os.environ.update(self.environment)
        try:
            yield
        finally:
            os.environ.clear()
            os.environ.update(saved)
            os.chdir(home)


@dataclasses.dataclass(frozen=True)
class _Judged:
    """A module judged fit to keep, waiting to be imported into the server while idle."""

    name: str
    # The keep-list entry that named it; None when the probe approved it.
    named: str | None
    file: str | None
    # Where it was probed, and so where the server imports it.
    setting: _Setting
    # Modules kept out while importing it.
    blocked: frozenset[str]
    # The modules it may load, with what the probe saw of each ("file", "environ",
    # "directory"); None for a named module, which may load anything.
    clean: dict[str, dict[str, Any]] | None


# How many probes of one batch, each keeping out what the one before found doing something.
_ROUNDS = 4
# Imported by the server itself, once an operation has used them, as it imports Alembic: the
# library keeps a registry of its own that records these modules (SQLAlchemy's
# ``util.preloaded``), so they must never be among what a request may drop and import afresh.
_SERVER_OWN = ("sqlalchemy.orm",)


@dataclasses.dataclass
class _Probe:
    """A probe running in a throwaway fork: its pipe, pid, deadline and what it was given."""

    fd: int
    pid: int
    deadline: float
    names: list[str]
    setting: _Setting
    blocked: frozenset[str]
    round: int
    socks: list[Any]
    buffer: bytearray = dataclasses.field(default_factory=bytearray)
    # What each name's import read, over this round and the ones before it.
    reads: dict[str, dict[str, Any]] = dataclasses.field(default_factory=dict)


class Keeper:
    """The server's kept set and its idle work: reports in, probes out, imports in."""

    def __init__(self) -> None:
        self.entries: list[Entry] = []
        self.stale = False
        self.installed: list[str] = []
        self._reports: dict[int, bytearray] = {}
        self._candidates: dict[str, dict[str, Any]] = {}
        # Judged modules, with what their import read: the verdict holds where those match.
        self._judged: dict[str, dict[str, Any]] = {}
        self._judged_named: set[str] = set()
        self._never: set[str] = set()
        self._own: list[str] = []
        self._probe: _Probe | None = None
        # Judged modules waiting to be imported while idle: by the probe, then by name.
        self._approved: list[_Judged] = []
        self._named: list[_Judged] = []
        self.refused: dict[str, str] = {}

    def start(self) -> None:
        """Remember where installed modules live: the server's own ``sys.path``."""
        self.installed = sorted(
            {os.path.realpath(path) for path in sys.path if path and os.path.isdir(path)},
            key=len,
            reverse=True,
        )

    # The forked request's side of the report channel.
    def fork_channel(self) -> tuple[int, int]:
        """A pipe for one forked request's report: (read end, write end)."""
        read_fd, write_fd = os.pipe()
        return read_fd, write_fd

    def watch(self, read_fd: int) -> None:
        """In the server, after the fork: read that request's report while idle."""
        flags = fcntl.fcntl(read_fd, fcntl.F_GETFL)
        fcntl.fcntl(read_fd, fcntl.F_SETFL, flags | os.O_NONBLOCK)
        self._reports[read_fd] = bytearray()

    def fds(self) -> list[int]:
        probe = [] if self._probe is None else [self._probe.fd]
        return [*self._reports, *probe]

    def timeout(self, default: float | None) -> float | None:
        """How long the server may block in select: not at all while imports wait."""
        if self._own or self._approved or self._named:
            return 0.0
        if self._probe is not None:
            left = max(0.0, self._probe.deadline - time.monotonic())
            return left if default is None else min(default, left)
        if self._candidates and not self._probe:
            return 0.0
        return default

    def collect(self, readable: Iterable[Any]) -> None:
        """Read what reports and the probe sent; parse each once its writer closed it."""
        ready = {item if isinstance(item, int) else item.fileno() for item in readable}
        for fd in [fd for fd in self._reports if fd in ready]:
            if _drain(fd, self._reports[fd]):
                data = bytes(self._reports.pop(fd))
                os.close(fd)
                with contextlib.suppress(ValueError):
                    self._take_report(json.loads(data.decode("utf-8")))
        running = self._probe
        if running is not None and running.fd in ready and _drain(running.fd, running.buffer):
            os.close(running.fd)
            self._probe = None
            try:
                result = json.loads(bytes(running.buffer).decode("utf-8"))
            except ValueError:
                self._refuse(running.names, "the probe failed")
            else:
                self._probed(running, result)

    def _take_report(self, message: dict[str, Any]) -> None:
        if message.get("changed"):
            self.stale = True
            return
        self._never.update(message.get("never") or [])
        roots = [root for root in message.get("roots") or [] if isinstance(root, str)]
        directory, environment = message.get("directory"), message.get("environment")
        if not isinstance(directory, str) or not os.path.isabs(directory):
            return
        if not isinstance(environment, dict):
            return
        setting = _Setting(directory, tuple(sorted(environment.items())))
        keep = tuple(message.get("keep") or [])
        for name, path in message.get("loaded") or []:
            named = _matches(name, keep)
            if name in _SERVER_OWN and name not in sys.modules and name not in self._own:
                self._own.append(name)
            if name in sys.modules or name in self._candidates:
                continue
            # The probe refusing a module does not stop a project that names it.
            if named and name in self._judged_named:
                continue
            judged = self._judged.get(name)
            if not named and judged is not None and not _differs(judged, environment, directory):
                continue
            if _matches(name, self._never) or name.startswith(("tfalembic_", "__")):
                continue
            if not self._outside_project(path, roots):
                continue
            self._candidates[name] = {"file": path, "named": named, "setting": setting}

    def _outside_project(self, path: str, roots: Sequence[str]) -> bool:
        """Installed (under the server's own path) and not a file of the project.

        A virtualenv inside the project directory is still installed: its directory on the
        server's path lies deeper than the project's root.
        """
        home = next((entry for entry in self.installed if _under(path, entry)), None)
        if home is None:
            return False
        return not any(_under(path, root) and len(root) >= len(home) for root in roots)

    def when_idle(self, *socks: Any) -> None:
        """Do one piece of idle work, unless a request is waiting."""
        self._expire_probe()
        work = self._approved or self._named or (self._candidates and self._probe is None)
        if self.stale or not (work or self._own):
            return
        readable, _, _ = select.select(list(socks), [], [], 0)
        if readable:
            return
        if self._own:
            # Before anything kept or probed can import it as part of what may be dropped.
            with contextlib.suppress(Exception):
                importlib.import_module(self._own.pop(0))
        elif self._approved or self._named:
            self._import((self._approved or self._named).pop(0))
        elif self._candidates and self._probe is None:
            # One probe per setting: what an import reads must be what its requests see.
            setting = next(iter(self._candidates.values()))["setting"]
            names = [n for n, c in self._candidates.items() if c["setting"] == setting]
            self._start_probe(socks, names, setting, frozenset(), 1)

    def _expire_probe(self) -> None:
        running = self._probe
        if running is not None and time.monotonic() > running.deadline:
            with contextlib.suppress(OSError):
                os.kill(running.pid, signal.SIGKILL)
            os.close(running.fd)
            self._probe = None
            self._refuse(running.names, "the probe took too long")

    def _start_probe(
        self,
        socks: Sequence[Any],
        names: list[str],
        setting: _Setting,
        blocked: frozenset[str],
        round_: int,
        *,
        reads: dict[str, dict[str, Any]] | None = None,
    ) -> None:
        read_fd, write_fd = os.pipe()
        pid = os.fork()
        if pid == 0:
            status = 70
            try:
                os.close(read_fd)
                for sock in socks:
                    with contextlib.suppress(OSError):
                        sock.close()
                for fd in list(self._reports):
                    with contextlib.suppress(OSError):
                        os.close(fd)
                with open(os.devnull, "w") as null:
                    os.dup2(null.fileno(), 1)
                    os.dup2(null.fileno(), 2)
                with setting.entered():
                    data = json.dumps(probe(names, blocked)).encode("utf-8")
                while data:
                    data = data[os.write(write_fd, data) :]
                status = 0
            finally:
                os._exit(status)
        os.close(write_fd)
        flags = fcntl.fcntl(read_fd, fcntl.F_GETFL)
        fcntl.fcntl(read_fd, fcntl.F_SETFL, flags | os.O_NONBLOCK)
        deadline = time.monotonic() + PROBE_SECONDS
        self._probe = _Probe(
            fd=read_fd,
            pid=pid,
            deadline=deadline,
            names=names,
            setting=setting,
            blocked=blocked,
            round=round_,
            socks=list(socks),
            reads=reads or {},
        )

    def _refuse(
        self, names: Sequence[str], why: str, reads: dict[str, dict[str, Any]] | None = None
    ) -> None:
        for name in names:
            candidate = self._candidates.pop(name, None)
            if candidate is not None:
                read = (reads or {}).get(name)
                self._judged[name] = _conditions(read, candidate["setting"])
                self.refused[name] = why

    def _probed(self, running: _Probe, result: dict[str, Any]) -> None:
        """Judge by a probe's result, or probe again with what it found doing something kept out.

        Kept out, a module is not imported at all: whatever imported it, even one that
        survives without it, is tainted in the next round. Once a round taints nothing new,
        what it loaded is exactly what the server may load.
        """
        for name, read in (result.get("conditions") or {}).items():
            known = running.reads.setdefault(name, {"environ": {}, "directory": False})
            known["environ"].update(read.get("environ") or {})
            known["directory"] = known["directory"] or bool(read.get("directory"))
        tainted = set(result.get("tainted") or {})
        if tainted - running.blocked:
            if running.round < _ROUNDS:
                blocked = running.blocked | tainted
                self._start_probe(
                    running.socks,
                    running.names,
                    running.setting,
                    blocked,
                    running.round + 1,
                    reads=running.reads,
                )
                self._take_named(running, result)
                return
            self._refuse(
                [n for n in running.names if not self._candidates.get(n, {}).get("named")],
                "its imports kept changing under the probe",
                running.reads,
            )
        self._take_named(running, result)
        verdicts = result.get("verdicts") or {}
        modules = result.get("modules") or {}
        for name in running.names:
            candidate = self._candidates.get(name)
            if candidate is None or candidate["named"]:
                continue
            del self._candidates[name]
            self._judged[name] = _conditions(running.reads.get(name), running.setting)
            why = verdicts.get(name, "the probe did not judge it")
            found = (modules.get(name) or {}).get("file")
            if not why and found != candidate["file"]:
                why = "it resolves to another file in the server"
            if why:
                self.refused[name] = why
                continue
            self._approve(name, found, running, modules)

    def _approve(
        self, name: str, found: str | None, running: _Probe, modules: dict[str, Any]
    ) -> None:
        """Queue ``name`` for import, with the modules the probe saw doing nothing."""
        clean = {m: info for m, info in modules.items() if not info.get("why")}
        self._approved.append(_Judged(name, None, found, running.setting, running.blocked, clean))

    def _take_named(self, running: _Probe, result: dict[str, Any]) -> None:
        """A module a project names to keep is kept if it imports, whatever it does.

        Judged by the first round that saw it, which kept nothing out of its import. One the
        probe finds nothing against is kept as the probe would keep it: with its conditions,
        for every operation whose values match, not only for those that name it.
        """
        verdicts = result.get("verdicts") or {}
        modules = result.get("modules") or {}
        for name in running.names:
            candidate = self._candidates.get(name)
            if candidate is None or not candidate["named"]:
                continue
            del self._candidates[name]
            self._judged_named.add(name)
            found = (modules.get(name) or {}).get("file")
            why = verdicts.get(name, "")
            if name in verdicts and not why and found == candidate["file"]:
                self._judged[name] = _conditions(running.reads.get(name), running.setting)
                self._approve(name, found, running, modules)
                continue
            if why.startswith("its import") or found != candidate["file"]:
                self.refused[name] = why or "it resolves to another file in the server"
                continue
            self._named.append(
                _Judged(name, candidate["named"], found, running.setting, frozenset(), None)
            )

    def _import(self, judged: _Judged) -> None:
        """Import one judged module into the server, in the directory it was probed in, with
        what the probe saw it read as its conditions; anything unexpected stops keeping."""
        if judged.name in sys.modules:
            return
        key = _stat_key(judged.file)
        if key is None or key == [-1] or time.time_ns() - key[0] < QUIET_NS:
            # Just written (or gone): it may still change. A later report brings it back.
            self._judged.pop(judged.name, None)
            self._judged_named.discard(judged.name)
            return
        before = set(sys.modules)
        namespaces = _namespaces()
        blocker = Blocker(judged.blocked, None)
        sys.meta_path.insert(0, blocker)
        try:
            with judged.setting.entered():
                importlib.import_module(judged.name)
        except BaseException:
            # It imported in the probe (or its directory is gone): this server no longer
            # matches what was judged.
            self.stale = True
            return
        finally:
            sys.meta_path.remove(blocker)
        now = time.time_ns()
        # What one import brought in goes or stays as a whole in a request: modules hold
        # each other, and half a package dropped would meet its other half re-imported.
        unit = len(self.entries)
        bound = _bindings(namespaces)
        for new in [other for other in sys.modules if other not in before]:
            path = file_of(sys.modules[new])
            key = _stat_key(path)
            seen = (judged.clean or {}).get(new) or {}
            if blocker.tripped or (judged.clean is not None and seen.get("file", 0) != path):
                self.stale = True  # not what the probe saw: keep nothing from this server
            if key is not None and (key == [-1] or now - key[0] < QUIET_NS):
                self.stale = True  # a file changing under us
            self.entries.append(
                {
                    "name": new,
                    "file": path,
                    "stat": key,
                    "named": judged.named,
                    "unit": unit,
                    # The unit's bindings in what was loaded before it, on its first entry.
                    "bound": [] if len(self.entries) > unit else bound,
                    # What this import read, as the probe saw it in the same setting.
                    **_conditions(seen, judged.setting),
                }
            )

    def status(self) -> dict[str, Any]:
        return {
            "kept_modules": len(self.entries),
            "kept_packages": sorted({e["name"].partition(".")[0] for e in self.entries}),
            "refused_modules": len(self.refused),
            "kept_stale": self.stale,
        }


def _conditions(read: Mapping[str, Any] | None, setting: _Setting) -> dict[str, Any]:
    """What an import read in ``setting``, as :func:`_differs` checks it: the variables' values,
    and the directory if it read that (nothing known: nothing to differ)."""
    read = read or {}
    where = setting.directory if read.get("directory") else None
    return {"environ": dict(read.get("environ") or {}), "directory": where}


def _drain(fd: int, buffer: bytearray) -> bool:
    """Read what ``fd`` has; True once its writer has closed it."""
    while True:
        try:
            chunk = os.read(fd, 65536)
        except BlockingIOError:
            return False
        except OSError:
            return True
        if not chunk:
            return True
        buffer.extend(chunk)


KEEPER = Keeper()
