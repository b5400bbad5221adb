"""Run Alembic operations for the provider, inside the user's interpreter.

The provider starts this file by path with the user's Python (``python -B worker.py MODE FD``);
it needs only the standard library, alembic and SQLAlchemy, and runs on Python 3.8 with
Alembic 1.7 and SQLAlchemy 1.4 as well as current releases. ``run`` answers one request on the
socket ``FD``; ``serve`` imports Alembic once, then forks a fresh child per request so that
env.py still runs in a clean process each time. Requests and answers are JSON lines on that
socket, never on stdout, which env.py and migrations own.

Each operation mirrors an Alembic verb: build the Config like the CLI, load the
ScriptDirectory, then run env.py inside an EnvironmentContext with a small ``fn``. Read-only
operations pass ``dont_mutate=True`` and return no steps, so plan and refresh never write.
Never imports the provider package, never writes bytecode, and never lets SIGINT interrupt a
migration.
"""

from __future__ import annotations

import array
import contextlib
import hashlib
import io
import json
import math
import os
import re
import signal
import socket
import sys
import time
import traceback
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    Result = dict[str, Any]

PROTOCOL_VERSION = 1
_MAX_MESSAGE = 1024 * 1024
_RELATIVE = re.compile(r"^(?:.+@)?[^@:+-]*[+-]\d+$")
_SYMBOLS = ("head", "heads", "base")
_ABSOLUTE = "a revision id, 'head', 'heads', 'base' or '<branch>@head'"
_BACKGROUND = re.compile(r"\s*\(Background on this error at: [^)]*\)")
_LOCKING_DIALECTS = ("postgresql", "mysql", "mariadb")


class ReportedError(Exception):
    """A failure reported to the provider as ``{kind, message, revision, heads_reached}``."""

    def __init__(
        self,
        kind: str,
        message: str,
        revision: str | None = None,
        heads: Sequence[str] | None = None,
    ) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.revision = revision
        self.heads = None if heads is None else sorted(heads)

    def payload(self, trace: str) -> Result:
        return {
            "kind": self.kind,
            "message": self.message,
            "revision": self.revision,
            "heads_reached": self.heads,
            "traceback": trace,
        }


def _quoted(items: Sequence[str]) -> str:
    return ", ".join(f"'{item}'" for item in items)


def _text(exc: BaseException) -> str:
    message = _BACKGROUND.sub("", str(exc)).strip()
    if len(message) > 4000:
        message = message[:4000] + " ..."
    return f"{type(exc).__name__}: {message}" if message else type(exc).__name__


def _import_failure(exc: ImportError) -> ReportedError:
    name = getattr(exc, "name", None) or str(exc)
    return ReportedError(
        "environment",
        f"The interpreter '{sys.executable}' cannot import '{name}' ({exc}). Install it in "
        "that environment, or set 'python' to an interpreter that has it.",
    )


# -- process set-up and the socket protocol ---------------------------------------------------


def _prepare_process() -> None:
    """Ignore SIGINT, write no bytecode, and keep this file's directory off ``sys.path``."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    sys.dont_write_bytecode = True
    here = os.path.dirname(os.path.abspath(__file__))
    sys.path[:] = [path for path in sys.path if os.path.abspath(path or ".") != here]


def _line_buffered() -> None:
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(line_buffering=True)


def _read_line(sock: socket.socket, pending: bytearray, fds: list[int]) -> bytes | None:
    """Read one JSON line, collecting any descriptors sent along with it."""
    numbers = array.array("i")
    while b"\n" not in pending:
        data, ancillary, _flags, _address = sock.recvmsg(
            65536, socket.CMSG_SPACE(4 * numbers.itemsize)
        )
        for level, kind, payload in ancillary:
            if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                numbers.frombytes(payload[: len(payload) - len(payload) % numbers.itemsize])
        fds.extend(numbers)
        del numbers[:]
        if not data:
            return None
        pending.extend(data)
        if len(pending) > _MAX_MESSAGE:
            raise ValueError("request line too long")
    line, _, rest = bytes(pending).partition(b"\n")
    pending[:] = rest
    return line


def _send(sock: socket.socket, message: Result) -> None:
    sock.sendall(json.dumps(message).encode("utf-8") + b"\n")


def _answer_one(sock: socket.socket) -> int:
    """Read one request from ``sock``, run it, answer, and return the exit status."""
    line = _read_line(sock, bytearray(), [])
    if line is None:
        return 2
    response = dispatch(json.loads(line.decode("utf-8")))
    sys.stdout.flush()
    sys.stderr.flush()
    _send(sock, response)
    return 0 if response["ok"] else 1


def run(fd: int) -> int:
    """Answer one request on the socket ``fd``; stdout and stderr are the caller's pipe."""
    _line_buffered()
    return _answer_one(socket.socket(fileno=fd))


def _preload() -> Result:
    import logging.config

    import alembic
    import alembic.command
    import alembic.config
    import alembic.runtime.environment
    import alembic.runtime.migration
    import alembic.script
    import sqlalchemy
    import sqlalchemy.pool

    for dialect in ("sqlite", "postgresql", "mysql"):
        with contextlib.suppress(ImportError):
            __import__("sqlalchemy.dialects." + dialect)
    return {
        "python": ".".join(str(part) for part in sys.version_info[:3]),
        "alembic": getattr(alembic, "__version__", "unknown"),
        "sqlalchemy": getattr(sqlalchemy, "__version__", "unknown"),
        "logging": logging.config.__name__,
    }


def serve(fd: int) -> int:
    """Import Alembic once, then fork a child per request until the provider hangs up.

    Each request line arrives with two descriptors: the child's own request socket and the
    pipe for its stdout and stderr. The child leads a new session, so the provider can kill it
    and anything it started as one process group.
    """
    control = socket.socket(fileno=fd)
    try:
        versions = _preload()
    except ImportError as exc:
        _send(control, {"ready": False, "error": _import_failure(exc).payload("")})
        return 1
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)
    _send(control, dict(versions, ready=True, protocol=PROTOCOL_VERSION))
    pending = bytearray()
    while True:
        fds: list[int] = []
        if _read_line(control, pending, fds) is None:
            return 0
        if len(fds) != 2:
            for extra in fds:
                os.close(extra)
            _send(control, {"error": f"expected two descriptors, got {len(fds)}"})
            continue
        pid = os.fork()
        if pid == 0:
            status = 70
            try:
                control.close()
                signal.signal(signal.SIGCHLD, signal.SIG_DFL)
                os.setsid()
                os.dup2(fds[1], 1)
                os.dup2(fds[1], 2)
                os.close(fds[1])
                _line_buffered()
                status = _answer_one(socket.socket(fileno=fds[0]))
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(status)
        for descriptor in fds:
            os.close(descriptor)
        _send(control, {"pid": pid})


# -- building Alembic's objects like the CLI does ---------------------------------------------


def _cli_options(request: Result, verb: Sequence[str]) -> Any:
    """Parse a command line with Alembic's own parser, so env.py finds every option it reads."""
    from argparse import Namespace

    from alembic.config import CommandLine

    argv = ["-c", request["config"], "-n", request["section"]]
    argv += ["-x" + item for item in request["x"]]
    try:
        options = CommandLine(prog="alembic").parser.parse_args([*argv, *verb])
    except SystemExit:
        options = Namespace(config=request["config"], name=request["section"])
    options.x = list(request["x"])
    options.tag = request.get("tag")
    return options


def _config(request: Result, verb: Sequence[str], target: str | None = None) -> Any:
    from alembic.config import Config

    path = request["config"]
    if not os.path.isfile(path):
        raise ReportedError(
            "config",
            f"The Alembic configuration file '{path}' does not exist; set 'config' to an ini "
            "file relative to 'project_root'.",
        )
    options = _cli_options(request, verb)
    if target is not None:
        options.revision = target
    kwargs = {
        "file_": path,
        "ini_section": request["section"],
        "cmd_opts": options,
        "stdout": sys.stdout,
        "output_buffer": io.StringIO(),
    }
    if "toml_file" in Config.__init__.__code__.co_varnames and os.path.isfile("pyproject.toml"):
        kwargs["toml_file"] = "pyproject.toml"
    config = Config(**kwargs)
    sections = config.file_config.sections()
    if request["section"] not in sections:
        raise ReportedError(
            "config",
            f"The section '{request['section']}' is not in '{path}'; set 'section' to one of: "
            f"{_quoted(sections) or 'none'}.",
        )
    if request.get("url") is not None:
        config.set_main_option("sqlalchemy.url", request["url"].replace("%", "%%"))
    return config


def _script(config: Any) -> Any:
    """Load the script directory and every revision file, reporting failures as the user's."""
    from alembic.script import ScriptDirectory
    from alembic.util import CommandError

    try:
        script = ScriptDirectory.from_config(config)
    except CommandError as exc:
        raise ReportedError("config", f"The Alembic configuration is not usable: {exc}") from exc
    try:
        script.get_heads()
    except ImportError:
        raise
    except Exception as exc:
        raise ReportedError(
            "script", f"The migration scripts in '{script.dir}' could not be loaded: {_text(exc)}"
        ) from exc
    return script


# -- questions about the script directory alone -----------------------------------------------


def _tuple(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    return (value,) if isinstance(value, str) else tuple(value)


def _all_ids(script: Any) -> set[str]:
    return {revision.revision for revision in script.walk_revisions()}


def _labels(script: Any) -> dict[str, str]:
    return {
        label: revision.revision
        for revision in script.walk_revisions()
        for label in revision.branch_labels
    }


def _step(step: Any) -> list[str]:
    return [step.revision.revision, step.revision.doc or ""]


def resolve(script: Any, target: str) -> list[str]:
    """Resolve an absolute target to revision ids; refuse ones that move on every apply."""
    from alembic.util import CommandError

    ids = _all_ids(script)
    if target in ids:
        return [target]
    if not target.strip():
        raise ReportedError("target", f"The target is empty; use {_ABSOLUTE}.")
    if target == "current" or _RELATIVE.match(target) or ":" in target:
        what = "a range" if ":" in target else "relative to the database's current revision"
        raise ReportedError(
            "relative_target",
            f"The target '{target}' is {what}, so every apply would move the database again; "
            f"use {_ABSOLUTE}.",
            revision=target,
        )
    symbolic = target in _SYMBOLS or "@" in target or target in _labels(script)
    starts = sorted(i for i in ids if i.startswith(target))
    if not symbolic and len(starts) > 1:
        raise ReportedError(
            "ambiguous_target",
            f"The target '{target}' is ambiguous: it starts the revision ids {_quoted(starts)}; "
            "use a full revision id.",
            revision=target,
        )
    try:
        found = script.get_revisions(target)
    except CommandError as exc:
        if "Multiple head revisions" in str(exc):
            raise ReportedError(
                "multiple_heads",
                f"The target '{target}' is ambiguous because the script directory has several "
                f"heads ({_quoted(sorted(script.get_heads()))}); use 'heads' to apply all of "
                "them, '<branch>@head' for one branch, or a revision id.",
                revision=target,
            ) from exc
        raise ReportedError(
            "unknown_target",
            f"The target '{target}' is not a revision id, branch label or symbol of the script "
            f"directory '{script.dir}'; use {_ABSOLUTE}.",
            revision=target,
        ) from exc
    return sorted(revision.revision for revision in found if revision is not None)


def _unknown(script: Any, heads: Sequence[str]) -> list[str]:
    ids = _all_ids(script)
    return sorted(head for head in heads if head not in ids)


def _check_known(script: Any, heads: Sequence[str]) -> None:
    unknown = _unknown(script, heads)
    if unknown:
        raise ReportedError(
            "unknown_database_revision",
            f"The database is at {_quoted(unknown)}, which the script directory '{script.dir}' "
            "does not contain: the database is ahead of or diverged from these migration files. "
            "Deploy the matching migration files, or stamp the database to a revision they "
            "contain.",
            heads=heads,
        )


def plan(script: Any, target: str, current: Sequence[str]) -> tuple[str, list[Any]]:
    """Return the direction and the steps that move ``current`` to ``target``.

    An upgrade is preferred; a downgrade is reported only when nothing is left to upgrade.
    Alembic cannot downgrade to some targets at all (``heads``, another branch): then the
    database is at the target as far as any downgrade could tell.
    """
    from alembic.util import CommandError

    _check_known(script, current)
    try:
        steps = script._upgrade_revs(target, tuple(current))
    except CommandError as exc:
        raise ReportedError(
            "target",
            f"Alembic cannot move the database from {_quoted(current) or 'base'} to "
            f"'{target}': {exc}",
            heads=current,
        ) from exc
    if steps:
        return "upgrade", steps
    try:
        steps = script._downgrade_revs(target, tuple(current))
    except Exception:
        steps = []
    return ("downgrade", steps) if steps else ("none", [])


def heads_after(current: Sequence[str], steps: Sequence[Any]) -> list[str]:
    """Return the heads the version table will hold once ``steps`` ran from ``current``.

    Alembic's own head bookkeeping decides, with its SQL left out, so branches, merges and
    ``depends_on`` end exactly where a real run ends.
    """
    from alembic.runtime.migration import HeadMaintainer

    class _Bookkeeping(HeadMaintainer):
        def _insert_version(self, version: str) -> None:
            self.heads.add(version)

        def _delete_version(self, version: str) -> None:
            self.heads.discard(version)

        def _update_version(self, from_: str, to_: str) -> None:
            self.heads.discard(from_)
            self.heads.add(to_)

    maintainer = _Bookkeeping(None, current)  # type: ignore[arg-type]  # no SQL is run
    for step in steps:
        maintainer.update_to_step(step)
    return sorted(maintainer.heads)


def _heads_after_stamp(script: Any, target: str, current: Sequence[str]) -> list[str]:
    """Return the heads ``alembic stamp target`` would leave (other branches are kept)."""
    try:
        steps = script._stamp_revs(target, tuple(current))
    except Exception:  # the target was resolved above; stamping across unknown heads fails here
        return sorted(resolve(script, target))
    return heads_after(current, steps)


def describe(script: Any) -> Result:
    revisions = list(script.walk_revisions())
    revisions.reverse()
    return {
        "heads": sorted(script.get_heads()),
        "bases": sorted(script.get_bases()),
        "branch_labels": _labels(script),
        "revisions": [
            {
                "revision": r.revision,
                "down_revisions": list(_tuple(r.down_revision)),
                "branch_labels": sorted(r.branch_labels),
                "depends_on": list(_tuple(r.dependencies)),
                "message": r.doc or "",
                "is_head": bool(r.is_head),
                "is_base": bool(r.is_base),
                "is_branch_point": bool(r.is_branch_point),
                "is_merge_point": bool(r.is_merge_point),
            }
            for r in revisions
        ],
    }


# -- running env.py ---------------------------------------------------------------------------


class Facts:
    """What one ``fn`` call saw of the database env.py connected to."""

    def __init__(self, heads: Sequence[str], context: Any) -> None:
        self.heads = tuple(sorted(heads))
        self.dialect: str = context.dialect.name
        self.engine: Any = getattr(getattr(context, "connection", None), "engine", None)
        self.version_table: str = getattr(context, "version_table", "alembic_version")
        self.version_table_schema: str | None = getattr(context, "version_table_schema", None)


class Reader:
    """An ``fn`` that records the heads and runs nothing, like ``alembic current``."""

    def __init__(self) -> None:
        self.calls: list[Facts] = []

    def __call__(self, heads: Sequence[str], context: Any) -> list[Any]:
        self.calls.append(Facts(heads, context))
        return []


class Runner:
    """An ``fn`` that yields the steps one at a time, so a failure names its revision."""

    def __init__(self, script: Any, verb: str, target: str) -> None:
        self.script = script
        self.verb = verb
        self.target = target
        self.state = "before"
        self.facts: Facts | None = None
        self.active: list[str] | None = None
        self.done: list[list[str]] = []

    def __call__(self, heads: Sequence[str], context: Any) -> Iterator[Any]:
        self.facts = Facts(heads, context)
        self.state = "planning"
        if self.verb == "stamp":
            steps = self.script._stamp_revs(self.target, tuple(heads))
        else:
            _check_known(self.script, heads)
            revs = getattr(self.script, f"_{self.verb}_revs")
            steps = revs(self.target, tuple(heads))
        self.state = "running"
        return self._each(steps)

    def _each(self, steps: Sequence[Any]) -> Iterator[Any]:
        for step in steps:
            # A stamp step (``from_``/``to_``) runs no migration of its own.
            self.active = None if hasattr(step, "from_") else _step(step)
            yield step
            if self.active is not None:
                self.done.append(self.active)
            self.active = None
        self.state = "finished"


def _run_env(config: Any, script: Any, fn: Callable[..., Any], **options: Any) -> None:
    from alembic.runtime.environment import EnvironmentContext

    with EnvironmentContext(config, script, fn=fn, **options):
        script.run_env()


def _env_failure(exc: BaseException, offline: bool = False) -> ReportedError:
    if isinstance(exc, ReportedError):
        return exc
    if isinstance(exc, ImportError):
        return _import_failure(exc)
    if isinstance(exc, SystemExit):
        return ReportedError("env", f"env.py exited with sys.exit({exc.code!r}).")
    if offline:
        return ReportedError("offline", f"env.py failed in offline (--sql) mode: {_text(exc)}")
    import sqlalchemy.exc

    if isinstance(exc, sqlalchemy.exc.DBAPIError):
        return ReportedError("database", f"env.py could not use the database: {_text(exc)}")
    return ReportedError("env", f"env.py failed: {_text(exc)}")


def read_database(config: Any, script: Any, tag: str | None) -> Facts:
    """Run env.py the way ``alembic current`` does and return what it saw; writes nothing."""
    reader = Reader()
    try:
        _run_env(config, script, reader, dont_mutate=True, tag=tag)
    except BaseException as exc:
        raise _env_failure(exc) from exc
    if not reader.calls:
        raise ReportedError(
            "env",
            f"env.py in '{script.dir}' never called context.run_migrations(), so the database "
            "could not be read.",
        )
    seen = sorted({facts.heads for facts in reader.calls})
    if len(seen) > 1:
        raise ReportedError(
            "env",
            f"env.py called context.run_migrations() {len(reader.calls)} times and saw "
            f"different heads ({'; '.join(','.join(h) or 'base' for h in seen)}); the provider "
            "tracks one version table per resource.",
        )
    return reader.calls[0]


def _read_directly(facts: Facts | None, connection: Any = None) -> tuple[str, ...] | None:
    """Read the version table without env.py, on a connection of our own; None if impossible."""
    from alembic.runtime.migration import MigrationContext

    if facts is None or (connection is None and facts.engine is None):
        return None
    opts = {
        "version_table": facts.version_table,
        "version_table_schema": facts.version_table_schema,
    }
    try:
        if connection is None:
            with facts.engine.connect() as own:
                return tuple(sorted(MigrationContext.configure(own, opts=opts).get_current_heads()))
        with connection.begin():
            heads = MigrationContext.configure(connection, opts=opts).get_current_heads()
        return tuple(sorted(heads))
    except Exception:
        traceback.print_exc()
        return None


# -- the migration lock -----------------------------------------------------------------------


class Lock:
    """A session-level advisory lock, held on a connection of its own for the whole run.

    The connection comes from env.py's engine, so it carries the user's connect arguments;
    the lock name covers the version table, so unrelated projects sharing a server never wait
    for each other.
    """

    def __init__(self, connection: Any, release: str, params: Result) -> None:
        self.connection = connection
        self._release = release
        self._params = params

    @classmethod
    def acquire(cls, facts: Facts, timeout: float | None) -> Lock | None:
        if facts.dialect not in _LOCKING_DIALECTS:
            sys.stderr.write(f"No migration lock for dialect '{facts.dialect}'.\n")
            return None
        try:
            connection = facts.engine.connect()
        except Exception as exc:
            raise ReportedError(
                "lock",
                "The migration lock needs a connection of its own, but env.py's engine could "
                f"not open one ({_text(exc)}); set 'lock = false' if nothing else migrates "
                "this database.",
                heads=facts.heads,
            ) from exc
        started = time.monotonic()
        try:
            return cls._take(connection, facts, timeout)
        except ReportedError:
            connection.close()
            raise
        except Exception as exc:
            connection.close()
            if timeout is not None and time.monotonic() - started >= timeout * 0.9:
                raise _lock_timeout(facts, timeout) from exc
            raise ReportedError(
                "database", f"Taking the migration lock failed: {_text(exc)}", heads=facts.heads
            ) from exc

    @classmethod
    def _take(cls, connection: Any, facts: Facts, timeout: float | None) -> Lock:
        from sqlalchemy import text

        name = f"{facts.version_table_schema or ''}.{facts.version_table}"
        if facts.dialect == "postgresql":
            digest = hashlib.sha256(("alembic_provider:" + name).encode("utf-8")).digest()
            params: Result = {"key": int.from_bytes(digest[:8], "big", signed=True)}
            wait = "0" if timeout is None else f"{max(1, int(timeout * 1000))}ms"
            with connection.begin():
                connection.execute(
                    text("SELECT set_config('lock_timeout', :wait, true)"), {"wait": wait}
                )
                connection.execute(text("SELECT pg_advisory_lock(:key)"), params)
            return cls(connection, "SELECT pg_advisory_unlock(:key)", params)
        with connection.begin():
            database = connection.execute(text("SELECT DATABASE()")).scalar()
            key = f"{database}.{name}".encode()
            params = {"name": "alembic:" + hashlib.sha1(key).hexdigest()}
            seconds = 31536000 if timeout is None else math.ceil(timeout)
            got = connection.execute(
                text("SELECT GET_LOCK(:name, :seconds)"), dict(params, seconds=seconds)
            ).scalar()
        if got != 1:
            raise _lock_timeout(facts, timeout)
        return cls(connection, "SELECT RELEASE_LOCK(:name)", params)

    def release(self) -> None:
        from sqlalchemy import text

        try:
            with self.connection.begin():
                self.connection.execute(text(self._release), self._params)
        except Exception:
            traceback.print_exc()
            self.connection.invalidate()
        finally:
            self.connection.close()


def _lock_timeout(facts: Facts, timeout: float | None) -> ReportedError:
    waited = "too long" if timeout is None else f"for more than {timeout:g} seconds"
    return ReportedError(
        "lock_timeout",
        f"Another run held the migration lock on this database (version table "
        f"'{facts.version_table}') {waited}. Let it finish and apply again, raise "
        "'lock_timeout', or set 'lock = false' if nothing else migrates this database.",
        heads=facts.heads,
    )


# -- operations -------------------------------------------------------------------------------


def op_describe(request: Result) -> Result:
    return describe(_script(_config(request, ["heads"])))


def op_resolve(request: Result) -> Result:
    return {"target": resolve(_script(_config(request, ["heads"])), request["target"])}


def op_current(request: Result) -> Result:
    config = _config(request, ["current"])
    facts = read_database(config, _script(config), request.get("tag"))
    return {"current": list(facts.heads), "dialect": facts.dialect}


def op_inspect(request: Result) -> Result:
    config = _config(request, ["current"])
    script = _script(config)
    target = resolve(script, request["target"])
    facts = read_database(config, script, request.get("tag"))
    direction, steps = plan(script, request["target"], facts.heads)
    return {
        "current": list(facts.heads),
        "target": target,
        "direction": direction,
        "steps": [_step(step) for step in steps],
        "expected": heads_after(facts.heads, steps),
        "stamped": _heads_after_stamp(script, request["target"], facts.heads),
        "script_heads": sorted(script.get_heads()),
        "dialect": facts.dialect,
    }


def _mutate(request: Result, verb: str) -> Result:
    """Upgrade, downgrade or stamp under the lock, then re-read and verify the heads.

    The lock is taken before env.py runs the verb, because Alembic reads the heads before it
    calls ``fn``: heads read before waiting would be stale. A stamp replaces revisions the
    scripts no longer know instead of failing on them.
    """
    target = request["target"]
    config = _config(request, [verb, "heads"], target)
    script = _script(config)
    resolve(script, target)
    tag = request.get("tag")
    settings = request.get("lock") or {"enabled": False, "timeout": None}
    before = read_database(config, script, tag) if settings["enabled"] or verb == "stamp" else None
    lock = Lock.acquire(before, settings["timeout"]) if before and settings["enabled"] else None
    try:
        runner = Runner(script, verb, target)
        purge = verb == "stamp" and before is not None and bool(_unknown(script, before.heads))
        failure = None
        try:
            _run_env(config, script, runner, tag=tag, destination_rev=target, purge=purge)
        except BaseException as exc:
            failure = _run_failure(exc, runner, verb)
        heads: tuple[str, ...] | None
        try:
            heads = read_database(config, script, tag).heads
        except ReportedError as exc:
            sys.stderr.write(f"Reading the heads back through env.py failed: {exc.message}\n")
            heads = _read_directly(runner.facts or before, lock.connection if lock else None)
        if failure is not None:
            failure.heads = None if heads is None else sorted(heads)
            raise failure
        if heads is None:
            raise ReportedError(
                "verify",
                f"The {verb} to '{target}' finished, but the database's revisions could not be "
                "read back afterwards; the next refresh will show where the database is.",
            )
        _verify(script, verb, target, heads)
        return {"heads": list(heads), "steps": runner.done}
    finally:
        if lock is not None:
            lock.release()


def _run_failure(exc: BaseException, runner: Runner, verb: str) -> ReportedError:
    if isinstance(exc, ReportedError):
        return exc
    if runner.state == "before":
        return _env_failure(exc)
    if runner.state == "planning":
        return ReportedError("target", f"Alembic cannot {verb} to this target: {_text(exc)}")
    if isinstance(exc, ImportError):
        return _import_failure(exc)
    if runner.active is None:
        return ReportedError("migration", f"The {verb} failed after its migrations: {_text(exc)}")
    revision, message = runner.active
    about = f" ({message})" if message else ""
    return ReportedError(
        "migration",
        f"Revision '{revision}'{about} failed during {verb}: {_text(exc)}",
        revision=revision,
    )


def _verify(script: Any, verb: str, target: str, heads: Sequence[str]) -> None:
    """Re-check the database after a run: Alembic can finish cleanly while writing nothing."""
    if verb == "downgrade":
        try:
            left = script._downgrade_revs(target, tuple(heads))
        except Exception:
            left = []
    else:
        left = script._upgrade_revs(target, tuple(heads))
    if left:
        raise ReportedError(
            "verify",
            f"The {verb} to '{target}' finished without an error, but the database still needs "
            f"{_quoted([_step(step)[0] for step in left])}. env.py may run the migrations in a "
            "transaction it never commits.",
            heads=heads,
        )


def op_upgrade(request: Result) -> Result:
    return _mutate(request, "upgrade")


def op_downgrade(request: Result) -> Result:
    return _mutate(request, "downgrade")


def op_stamp(request: Result) -> Result:
    return _mutate(request, "stamp")


def op_sql(request: Result) -> Result:
    """Render the pending upgrade or downgrade as offline SQL, from the given heads."""
    target = request["target"]
    config = _config(request, ["upgrade", "--sql", "heads"], target)
    config.cmd_opts.sql = True
    script = _script(config)
    resolve(script, target)
    current = request.get("current")
    if current is None:
        current = list(read_database(config, script, request.get("tag")).heads)
    direction, _steps = plan(script, target, current)
    if direction == "none":
        return {"sql": "", "direction": direction}
    runner = Runner(script, direction, target)
    try:
        _run_env(
            config,
            script,
            runner,
            as_sql=True,
            starting_rev=tuple(current) or None,
            destination_rev=target,
            tag=request.get("tag"),
        )
    except BaseException as exc:
        if runner.active is None:
            raise _env_failure(exc, offline=True) from exc
        revision = runner.active[0]
        raise ReportedError(
            "offline",
            f"Revision '{revision}' cannot be rendered as offline SQL: {_text(exc)}. The "
            "preview is best effort; the migration itself may still run online.",
            revision=revision,
        ) from exc
    return {"sql": config.output_buffer.getvalue(), "direction": direction}


OPERATIONS: dict[str, Callable[[Result], Result]] = {
    "describe": op_describe,
    "resolve": op_resolve,
    "current": op_current,
    "inspect": op_inspect,
    "upgrade": op_upgrade,
    "downgrade": op_downgrade,
    "stamp": op_stamp,
    "sql": op_sql,
}


def dispatch(request: Result) -> Result:
    """Run one request and return the response; every failure becomes a structured error."""
    if request.get("protocol") != PROTOCOL_VERSION or request.get("op") not in OPERATIONS:
        failure = ReportedError(
            "protocol",
            f"The worker speaks protocol {PROTOCOL_VERSION} with the operations "
            f"{_quoted(sorted(OPERATIONS))}; it got protocol {request.get('protocol')!r} and "
            f"operation {request.get('op')!r}.",
        )
        return {"ok": False, "error": failure.payload("")}
    os.environ.update(request.get("environment") or {})
    try:
        os.chdir(os.path.dirname(request["config"]) or ".")
        return {"ok": True, "result": OPERATIONS[request["op"]](request)}
    except BaseException as exc:
        trace = traceback.format_exc()
        sys.stderr.write(trace)
        if isinstance(exc, ReportedError):
            failure = exc
        elif isinstance(exc, ImportError):
            failure = _import_failure(exc)
        else:
            failure = ReportedError("internal", f"The Alembic worker failed: {_text(exc)}")
        return {"ok": False, "error": failure.payload(trace)}


def main(argv: Sequence[str]) -> int:
    if len(argv) != 3 or argv[1] not in ("run", "serve"):
        sys.stderr.write("usage: worker.py run|serve FD\n")
        return 2
    _prepare_process()
    return run(int(argv[2])) if argv[1] == "run" else serve(int(argv[2]))


if __name__ == "__main__":
    sys.exit(main(sys.argv))
