"""The probe: import modules in a throwaway process and record what their imports did.

Each module is imported under an audit hook and with ``os.environ``, ``os.getcwd`` and thread
starts recorded. What a fresh process would repeat identically (reading a variable by name,
reading the working directory, asking whether IPv6 works) is recorded as the import's
conditions; what it would not (changing or listing the environment, writing a file, connecting
or sending through a socket, starting a process or a thread, leaving a file descriptor open, or
failing) taints the module and every module whose import was running. ``tfalembic_keep`` judges
by the result. Standard library only; never imports the provider package.
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Callable, Iterable, Iterator, MutableMapping, Sequence
from typing import TYPE_CHECKING, Any

__all__ = ["Blocker", "file_of", "probe"]

# Audit events a kept import must never raise (prefixes); "open" is judged by its mode.
_EFFECTS = (
    "socket.",
    "subprocess.",
    "os.exec",
    "os.fork",
    "os.forkpty",
    "os.posix_spawn",
    "os.spawn",
    "os.system",
    "os.startfile",
    "os.kill",
    "os.putenv",
    "os.unsetenv",
    "os.chdir",
    "os.fchdir",
    "os.mkdir",
    "os.remove",
    "os.rmdir",
    "os.rename",
    "os.link",
    "os.symlink",
    "os.truncate",
    "os.chmod",
    "os.chown",
    "os.chflags",
    "os.utime",
    "os.setxattr",
    "os.removexattr",
    "shutil.",
    "tempfile.",
    "sqlite3.connect",
    "http.client.",
    "urllib.",
    "webbrowser.",
    "pty.",
    "_thread.start",
    "threading.",
)
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_TRUNC
# A socket bound here, to an ephemeral port, is only a question to this machine (urllib3 asks
# whether IPv6 works this way): a fresh process would ask and be answered the same.
_LOOPBACK = ("127.0.0.1", "::1", "localhost")

if TYPE_CHECKING:
    _EnvironBase = MutableMapping[str, str]
else:
    _EnvironBase = MutableMapping  # subscripted only from Python 3.9


def file_of(module: Any) -> str | None:
    path = getattr(module, "__file__", None)
    if not isinstance(path, str) or not os.path.isfile(path):
        return None
    return os.path.realpath(path)


class _Tainted:
    """Which modules' top-level code was running when an effect happened, and which effect;
    and what each one read that a request must share for the module to be kept for it."""

    def __init__(self) -> None:
        self.why: dict[str, str] = {}
        self.environ: dict[str, dict[str, str | None]] = {}
        self.directory: set[str] = set()
        self.busy = False
        # The probe's own frame: only module code running below it is being judged.
        self.stop: Any = None

    def _mark(self, mark: Callable[[str], object]) -> None:
        """Call ``mark`` for each module whose top-level code is running now.

        Busy while it walks the stack: what the walk itself reads is nobody's doing.
        """
        if self.busy:
            return
        self.busy = True
        try:
            frame: Any = sys._getframe(1)
            while frame is not None and frame is not self.stop:
                if frame.f_code.co_name == "<module>":
                    name = frame.f_globals.get("__name__")
                    if isinstance(name, str):
                        mark(name)
                frame = frame.f_back
        finally:
            self.busy = False

    def record(self, what: str) -> None:
        """An effect: it taints every module being imported."""
        self._mark(lambda name: self.why.setdefault(name, what))

    def read(self, key: str, value: str | None) -> None:
        """An environment variable read: a condition on every module being imported."""
        self._mark(lambda name: self.environ.setdefault(name, {}).setdefault(key, value))

    def read_directory(self) -> None:
        """The working directory read: a condition on every module being imported."""
        self._mark(self.directory.add)


class _RecordingEnviron(_EnvironBase):
    """``os.environ`` that records every use: a variable read by name becomes a condition;
    listing or changing the environment taints."""

    def __init__(self, real: MutableMapping[str, str], taint: _Tainted) -> None:
        self._real = real
        self._taint = taint

    def _use(self, key: object = None) -> None:
        self._taint.record(f"environment variable {key}" if key else "the environment")

    def __getitem__(self, key: str) -> str:
        value = self._real.get(key)
        if isinstance(key, str):
            self._taint.read(key, value)
        else:
            self._use(key)
        if value is None:
            raise KeyError(key)
        return value

    def __setitem__(self, key: str, value: str) -> None:
        self._use(key)
        self._real[key] = value

    def __delitem__(self, key: str) -> None:
        self._use(key)
        del self._real[key]

    def __contains__(self, key: object) -> bool:
        if isinstance(key, str):
            self._taint.read(key, self._real.get(key))
        else:
            self._use(key)
        return key in self._real

    def __iter__(self) -> Iterator[str]:
        self._use()
        return iter(self._real)

    def __len__(self) -> int:
        self._use()
        return len(self._real)

    def copy(self) -> dict[str, str]:
        self._use()
        return dict(self._real)


def _effect(event: str, args: tuple[Any, ...]) -> str | None:
    """What ``event`` did that a kept import must not, or None."""
    if event == "socket.__new__":
        return None  # a socket that never connects or sends reaches nothing
    if event == "socket.bind" and len(args) > 1:
        address = args[1]
        if isinstance(address, tuple) and address[:2] in ((host, 0) for host in _LOOPBACK):
            return None
        return f"bound a socket to {address!r}"
    if event == "open" and args:
        path, mode = args[0], args[1] if len(args) > 1 else None
        flags = args[2] if len(args) > 2 and isinstance(args[2], int) else 0
        if path == os.devnull:
            return None
        if isinstance(mode, str) and any(c in mode for c in "wax+"):
            return f"opened {path!r} for writing"
        if mode is None and flags & _WRITE_FLAGS:
            return f"opened {path!r} for writing"
        if isinstance(path, (str, bytes)) and not os.path.isabs(path):
            return f"opened {path!r} relative to the working directory"
        return None
    if event.startswith(_EFFECTS):
        return event
    return None


def _recording(function: Callable[..., Any], taint: _Tainted, what: str) -> Callable[..., Any]:
    def recorded(*args: Any, **kwargs: Any) -> Any:
        taint.record(what)
        return function(*args, **kwargs)

    return recorded


def _reading_directory(function: Callable[..., Any], taint: _Tainted) -> Callable[..., Any]:
    def read(*args: Any, **kwargs: Any) -> Any:
        taint.read_directory()
        return function(*args, **kwargs)

    return read


def _open_descriptors() -> set[int] | None:
    """This process's open file descriptors, or None where it cannot tell."""
    for directory in ("/proc/self/fd", "/dev/fd"):
        try:
            return {int(fd) for fd in os.listdir(directory)}
        except (OSError, ValueError):
            continue
    return None


class Blocker:
    """A finder that refuses the modules named: they stay out of a probe or of the server.

    A module that tries to import one of them is then judged by what it does without it: in
    the probe, it is tainted (a fresh process would have imported the module refused).
    """

    def __init__(self, blocked: Iterable[str], taint: _Tainted | None) -> None:
        self.blocked = frozenset(blocked)
        self.taint = taint
        self.tripped: list[str] = []

    def find_spec(self, fullname: str, path: object = None, target: object = None) -> None:
        if fullname in self.blocked:
            self.tripped.append(fullname)
            if self.taint is not None:
                self.taint.record(f"imports {fullname}, which is not kept")
            raise ModuleNotFoundError(f"No module named {fullname!r} (not kept)", name=fullname)


def probe(names: Sequence[str], blocked: Iterable[str] = ()) -> dict[str, Any]:
    """Import ``names`` in order in this (throwaway) process and judge each.

    ``blocked`` are modules an earlier probe found doing something: they are not imported
    here, and whatever tries to is tainted. Returns a dictionary of:

    - ``modules``: every module loaded, ``{name: {"file", "why", "environ", "directory"}}``,
      with what it did (``why``, empty when nothing), the environment variables its import
      read (by name, with the value seen, None when unset) and whether it read the working
      directory;
    - ``tainted``: every module that did something (loaded or not), ``{name: why}``;
    - ``verdicts``: per name asked for, empty when it, its packages and everything its import
      loaded did nothing a kept import must not do;
    - ``conditions``: per name asked for, what that import read (``environ``, ``directory``):
      the verdict holds wherever those read the same.

    Installs hooks that cannot be removed: call it only in a process that exits afterwards.
    """
    import _thread
    import threading

    taint = _Tainted()
    taint.stop = sys._getframe()

    def hook(event: str, args: tuple[Any, ...]) -> None:
        if taint.busy:
            return
        what = _effect(event, args)
        if what is not None:
            taint.record(what)

    sys.addaudithook(hook)
    # Replaced, not cleared: every later read goes through the recorder.
    os.environ = _RecordingEnviron(os.environ, taint)  # type: ignore[assignment]  # noqa: B003
    os.getcwd = _reading_directory(os.getcwd, taint)
    os.getcwdb = _reading_directory(os.getcwdb, taint)
    _thread.start_new_thread = _recording(_thread.start_new_thread, taint, "a thread")
    for attribute in ("_start_new_thread", "_start_joinable_thread"):
        original = getattr(threading, attribute, None)
        if original is not None:
            setattr(threading, attribute, _recording(original, taint, "a thread"))
    sys.meta_path.insert(0, Blocker(blocked, taint))
    failed: dict[str, str] = {}
    closures: dict[str, list[str]] = {}
    for name in names:
        if name in sys.modules:
            closures[name] = []
            continue
        before = set(sys.modules)
        descriptors = _open_descriptors()
        try:
            importlib.import_module(name)
        except BaseException as exc:  # any failure refuses the module
            failed[name] = f"its import failed: {type(exc).__name__}"
        closures[name] = [other for other in sys.modules if other not in before]
        after = _open_descriptors()
        if descriptors is not None and after is not None and after - descriptors:
            # A kept descriptor would be shared, offset and all, by every forked request.
            for other in closures[name] or [name]:
                taint.why.setdefault(other, "left a file descriptor open")
    modules = {}
    for new in {other for closure in closures.values() for other in closure}:
        modules[new] = {
            "file": file_of(sys.modules.get(new)),
            "why": taint.why.get(new, ""),
            "environ": taint.environ.get(new, {}),
            "directory": new in taint.directory,
        }
    verdicts: dict[str, str] = {}
    conditions: dict[str, dict[str, Any]] = {}
    for name, closure in closures.items():
        parts = name.split(".")
        packages = [".".join(parts[: i + 1]) for i in range(len(parts))]
        bad = next((other for other in [*packages, *closure] if taint.why.get(other)), None)
        verdicts[name] = failed.get(name) or ("" if bad is None else f"{bad}: {taint.why[bad]}")
        environ: dict[str, str | None] = {}
        for other in [*packages, *closure]:
            environ.update(taint.environ.get(other, {}))
        read = any(other in taint.directory for other in [*packages, *closure])
        conditions[name] = {"environ": environ, "directory": read}
    return {
        "modules": modules,
        "tainted": dict(taint.why),
        "verdicts": verdicts,
        "conditions": conditions,
    }
