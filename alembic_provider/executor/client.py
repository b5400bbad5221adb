"""The provider's side of the executor: typed methods, one worker request each.

:class:`WorkerExecutor` mirrors the worker's operations (``describe``, ``current``,
``resolve``, ``inspect``, ``upgrade``, ``downgrade``, ``stamp``, ``sql``) as methods that build
a request, run it in a fresh worker under the project's interpreter (see ``process.py``), and
turn the answer into the dataclasses of ``messages.py``. :func:`_raise_for` is the one place
where a worker's failure becomes an :mod:`alembic_provider.errors` exception; every message,
output line and log field passes through the project's redactor first. Never imports alembic.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Sequence
from typing import Any, Generic, NoReturn, Protocol, TypeVar

from alembic_provider.errors import (
    CancelledError,
    ConfigError,
    InternalError,
    LockTimeoutError,
    MigrationError,
    OperationTimeoutError,
    ProviderError,
    TargetError,
    WorkerEnvironmentError,
)
from alembic_provider.executor.interpreter import python_command
from alembic_provider.executor.messages import (
    PROTOCOL_VERSION,
    CallOptions,
    DatabaseFacts,
    Direction,
    Inspection,
    PendingStep,
    PlannedMove,
    Project,
    Request,
    RevisionInfo,
    RunOptions,
    RunResult,
    ScriptInfo,
    Step,
)
from alembic_provider.executor.process import Exchange, Launch, WorkerProcesses
from alembic_provider.redaction import Redactor
from alembic_provider.review import (
    ColumnType,
    ModelDiff,
    ModelDifference,
    Operation,
    Review,
    RevisionOperations,
    TableSize,
)

__all__ = ["Executor", "LogSink", "WorkerExecutor"]

_MUTATING = frozenset({"upgrade", "downgrade", "stamp"})
_REREAD_TIMEOUT = 60.0
_TAIL_LINES = 40
_DIRECTIONS: tuple[Direction, ...] = ("upgrade", "downgrade", "none")
_T = TypeVar("_T")
_Made = TypeVar("_Made")
_DEFAULT_CALL = CallOptions()
_DEFAULT_RUN = RunOptions()

# kind reported by the worker -> (exception class, diagnostic summary or None for the default)
_KINDS: dict[str, tuple[type[ProviderError], str | None]] = {
    "config": (ConfigError, None),
    "target": (TargetError, None),
    "relative_target": (TargetError, None),
    "ambiguous_target": (TargetError, None),
    "unknown_target": (TargetError, None),
    "multiple_heads": (TargetError, "Multiple Head Revisions"),
    "script": (MigrationError, "Invalid Migration Scripts"),
    "unknown_database_revision": (MigrationError, "Unknown Database Revision"),
    "env": (MigrationError, "Alembic Environment Failed"),
    "database": (MigrationError, "Database Error"),
    "login_refused": (MigrationError, "Database Login Refused"),
    "database_missing": (MigrationError, "Database Not Found"),
    "host_unreachable": (MigrationError, "Database Host Not Answering"),
    "tls": (MigrationError, "Database TLS Failed"),
    "driver_missing": (WorkerEnvironmentError, "Database Driver Missing"),
    "migration": (MigrationError, None),
    "verify": (MigrationError, "Migration Not Recorded"),
    "offline": (MigrationError, "SQL Preview Failed"),
    "lock": (MigrationError, "Migration Lock Failed"),
    "lock_timeout": (LockTimeoutError, None),
    "lock_wait": (MigrationError, "Lock Wait Timeout"),
    "environment": (WorkerEnvironmentError, None),
    "placeholder_url": (ConfigError, "Database URL Not Set"),
}
# kind -> what to do, for kinds whose message states only the fact
_REMEDIES: dict[str, str] = {
    "migration": "Fix the migration, then apply again: the next apply continues from the "
    "revision the database reached.",
    "env": "Fix env.py (or what it imports), then plan again.",
    "lock_wait": "Apply again once the other session's transaction has ended: the next apply "
    "continues from the revision the database reached. To let statements wait longer, raise "
    "'statement_lock_timeout'.",
    "script": "Fix the migration file, then plan again.",
    "database": "Check the database URL and that the database accepts connections from this "
    "machine, then plan again.",
    "login_refused": "Check the user name and password in the database URL (or in the "
    "environment env.py reads it from), then plan again.",
    "database_missing": "Create the database, or correct its name in the database URL, then "
    "plan again.",
    "host_unreachable": "Check the host and port in the database URL, that the server is "
    "running and accepts connections from this machine (a firewall, a proxy not started), then "
    "plan again.",
    "tls": "Check the TLS settings of the database URL (for example sslmode and sslrootcert on "
    "PostgreSQL, ssl_ca on MySQL and MariaDB) against what the server offers, then plan again.",
    "driver_missing": "Install the driver in that interpreter (for example 'pip install "
    "psycopg2-binary' or 'pip install pymysql'), name a driver it has in the URL's scheme "
    "(such as 'postgresql+psycopg2://'), or set 'python' to an interpreter that has one; then "
    "plan again.",
}
_LOG_HINT = "The full traceback is in the provider's log: run Terraform with TF_LOG=DEBUG."


class LogSink(Protocol):
    """The two levels the executor logs at; :class:`alembic_provider.log.Logger` fits."""

    def debug(self, message: str, **fields: Any) -> None: ...

    def trace(self, message: str, **fields: Any) -> None: ...


class Executor(Protocol):
    """Every Alembic operation the resources need; implemented by :class:`WorkerExecutor`.

    Read operations never write to the database. ``inspect`` answers plan and refresh in one
    worker round trip. Every operation takes its timeout and cancel event in one options object.
    """

    def describe(self, project: Project, *, options: CallOptions = ...) -> ScriptInfo: ...

    def current(self, project: Project, *, options: CallOptions = ...) -> tuple[str, ...]: ...

    def resolve(
        self, project: Project, target: str, *, options: CallOptions = ...
    ) -> tuple[str, ...]: ...

    def inspect(
        self,
        project: Project,
        target: str,
        *,
        options: CallOptions = ...,
        planned: Sequence[PlannedMove] = (),
        offline: bool = False,
        recorded: Sequence[str] | None = None,
        known: DatabaseFacts | None = None,
        review: bool = False,
        compare: bool = False,
    ) -> Inspection: ...

    def pending(
        self, project: Project, target: str, *, options: CallOptions = ...
    ) -> PendingStep: ...

    def upgrade(
        self,
        project: Project,
        target: str,
        *,
        options: RunOptions = ...,
        exact: Sequence[str] = (),
    ) -> RunResult: ...

    def downgrade(
        self,
        project: Project,
        target: str,
        *,
        options: RunOptions = ...,
        exact: Sequence[str] = (),
    ) -> RunResult: ...

    def stamp(
        self,
        project: Project,
        target: str,
        *,
        options: RunOptions = ...,
        exact: Sequence[str] = (),
    ) -> RunResult: ...

    def sql(
        self,
        project: Project,
        target: str,
        *,
        current: Sequence[str] | None = None,
        options: CallOptions = ...,
    ) -> str: ...

    def review(
        self,
        project: Project,
        target: str,
        *,
        current: Sequence[str],
        dialect: str | None,
        sizes: bool = True,
        options: CallOptions = ...,
    ) -> Review: ...

    def model_diff(self, project: Project, *, options: CallOptions = ...) -> ModelDiff: ...

    def warm_up(self, project: Project) -> None: ...

    def close(self) -> None: ...


class _MadeOnTheWay(Generic[_Made]):
    """Answers an inspection made on the way, each kept for the one call that asks for it.

    The worker that reads the database for a plan also reviews its upgrade and compares the
    models, so that the plan's ``review`` and ``model_diff`` calls start no worker of their own.
    Keyed by project and by what the call asks; the oldest go once ``most`` wait.
    """

    def __init__(self, most: int = 16) -> None:
        self._made: list[tuple[Project, tuple[Any, ...], _Made]] = []
        self._most = most
        self._lock = threading.Lock()

    def keep(self, project: Project, key: tuple[Any, ...], made: _Made) -> None:
        with self._lock:
            self._made = [m for m in self._made if (m[0], m[1]) != (project, key)]
            del self._made[: -(self._most - 1)]
            self._made.append((project, key, made))

    def take(self, project: Project, key: tuple[Any, ...]) -> _Made | None:
        with self._lock:
            for index, (other, other_key, made) in enumerate(self._made):
                if other_key == key and other == project:
                    del self._made[index]
                    return made
        return None

    def clear(self) -> None:
        with self._lock:
            self._made.clear()


class WorkerExecutor:
    """Run each operation in a fresh worker process under the project's interpreter.

    :param log: receives requests, outcomes and every line the worker prints (debug level).
    :param redactor: secrets known provider-wide; each project's own are added per call.
    :param warm: keep a forking server per interpreter so a request skips Alembic's imports.
    """

    def __init__(
        self,
        *,
        log: LogSink | None = None,
        redactor: Redactor | None = None,
        warm: bool = True,
        processes: WorkerProcesses | None = None,
    ) -> None:
        self._log = log
        self._redactor = redactor or Redactor()
        self._processes = processes or WorkerProcesses(warm=warm)
        # What inspections made on the way (see ``inspect``'s ``review`` and ``compare``).
        self._reviews: _MadeOnTheWay[Review] = _MadeOnTheWay()
        self._model_diffs: _MadeOnTheWay[ModelDiff] = _MadeOnTheWay()

    def __enter__(self) -> WorkerExecutor:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop the warm servers; workers already running finish their operation."""
        self._processes.close()

    def warm_up(self, project: Project) -> None:
        """Start the shared warm server for ``project``'s interpreter, in the background.

        Terraform validates the provider's configuration in the command's first provider
        processes, well before the one that reads a database: a cold command then finds
        Alembic already imported, or being imported, instead of waiting for all of it.
        """

        try:
            self._processes.prestart(self._launch(project))
        except (ProviderError, OSError) as exc:
            self._debug("alembic worker warm-up failed", error=str(exc))

    # -- read operations: never write ------------------------------------------------------

    def describe(self, project: Project, *, options: CallOptions = _DEFAULT_CALL) -> ScriptInfo:
        result = self._call(project, "describe", {}, options)
        return _parse(result, "describe", _script_info)

    def current(self, project: Project, *, options: CallOptions = _DEFAULT_CALL) -> tuple[str, ...]:
        result = self._call(project, "current", {}, options)
        return _parse(result, "current", lambda r: _strings(r["current"]))

    def resolve(
        self, project: Project, target: str, *, options: CallOptions = _DEFAULT_CALL
    ) -> tuple[str, ...]:
        result = self._call(project, "resolve", {"target": target}, options)
        return _parse(result, "resolve", lambda r: _strings(r["target"]))

    def inspect(
        self,
        project: Project,
        target: str,
        *,
        options: CallOptions = _DEFAULT_CALL,
        planned: Sequence[PlannedMove] = (),
        offline: bool = False,
        recorded: Sequence[str] | None = None,
        known: DatabaseFacts | None = None,
        review: bool = False,
        compare: bool = False,
    ) -> Inspection:
        """Read the database's heads, resolve ``target`` and list what an apply would run.

        :param planned: moves other resources of this plan will make; on the database they
            name, the steps start where they leave it (``Inspection.start``).
        :param offline: do not read the database; plan from an empty version table.
        :param recorded: the heads the resource's state records (see ``others_moved``).
        :param known: what a read of this database moments ago said; env.py does not run.
        :param review: a review of the pending upgrade will follow: the same worker makes it,
            and the ``review`` call that asks for exactly it gets it without another worker.
        :param compare: ``compare_models`` is on: when the database is at the target, the same
            run of env.py compares the models, and the next ``model_diff`` call of the project
            gets that comparison without another worker.
        """
        extra: dict[str, Any] = {"target": target, "offline": offline, "review": review}
        extra["compare"] = compare and not offline and known is None
        if known is not None:
            extra["known"] = {
                "current": list(known.current),
                "dialect": known.dialect,
                "database": known.database,
            }
        extra["recorded"] = None if recorded is None else list(recorded)
        extra["planned"] = [
            {"database": m.database, "from": list(m.start), "to": list(m.end)} for m in planned
        ]
        result = self._call(project, "inspect", extra, options)
        inspection = _parse(result, "inspect", _inspection)
        if isinstance(result.get("model_diff"), dict):
            compared = _parse(result["model_diff"], "inspect", _model_diff)
            self._model_diffs.keep(project, (), compared)
        if isinstance(result.get("review"), dict):
            reviewed = _parse(result["review"], "inspect", _review)
            dialect = inspection.dialect
            key = (target, inspection.planned_from, dialect, dialect is not None)
            self._reviews.keep(project, key, reviewed)
        return inspection

    def pending(
        self, project: Project, target: str, *, options: CallOptions = _DEFAULT_CALL
    ) -> PendingStep:
        return self.inspect(project, target, options=options).pending

    def sql(
        self,
        project: Project,
        target: str,
        *,
        current: Sequence[str] | None = None,
        options: CallOptions = _DEFAULT_CALL,
    ) -> str:
        """Render the pending step as offline SQL; from ``current`` without touching the database.

        :param current: the database's heads, as ``inspect`` returned them; read when omitted.
        """
        extra = {"target": target, "current": None if current is None else list(current)}
        result = self._call(project, "sql", extra, options)
        return _parse(result, "sql", lambda r: str(r["sql"]))

    def review(
        self,
        project: Project,
        target: str,
        *,
        current: Sequence[str],
        dialect: str | None,
        sizes: bool = True,
        options: CallOptions = _DEFAULT_CALL,
    ) -> Review:
        """Record what each pending upgrade from ``current`` would do; run none of them.

        :param dialect: the database's, from ``inspect``; None reviews without one.
        :param sizes: also ask the database how big the tables the migrations touch are
            (one read-only query).
        """
        reviewed = self._reviews.take(project, (target, tuple(current), dialect, sizes))
        if reviewed is not None:
            self._debug("alembic review made by the inspection", target=target)
            return reviewed
        extra = {"target": target, "current": list(current), "dialect": dialect, "sizes": sizes}
        result = self._call(project, "review", extra, options)
        return _parse(result, "review", _review)

    def model_diff(self, project: Project, *, options: CallOptions = _DEFAULT_CALL) -> ModelDiff:
        """Compare env.py's ``target_metadata`` with the database, read-only."""
        compared = self._model_diffs.take(project, ())
        if compared is not None:
            self._debug("alembic model comparison made by the inspection")
            return compared
        result = self._call(project, "model_diff", {}, options)
        return _parse(result, "model_diff", _model_diff)

    # -- apply operations ------------------------------------------------------------------

    def upgrade(
        self,
        project: Project,
        target: str,
        *,
        options: RunOptions = _DEFAULT_RUN,
        exact: Sequence[str] = (),
    ) -> RunResult:
        """Upgrade to ``target``; with ``exact``, to exactly those revision ids.

        :param exact: the revision ids a plan resolved ``target`` to. The database then moves
            to them and no further, even when a revision file was added since the plan;
            ``target`` only names the move in logs and messages.
        """
        return self._run(project, "upgrade", target, options, exact)

    def downgrade(
        self,
        project: Project,
        target: str,
        *,
        options: RunOptions = _DEFAULT_RUN,
        exact: Sequence[str] = (),
    ) -> RunResult:
        """Downgrade to ``target``; with ``exact``, to exactly those revision ids.

        :param exact: as for :meth:`upgrade`; each id is reached in turn, leaving the
            database's other branches alone.
        """
        return self._run(project, "downgrade", target, options, exact)

    def stamp(
        self,
        project: Project,
        target: str,
        *,
        options: RunOptions = _DEFAULT_RUN,
        exact: Sequence[str] = (),
    ) -> RunResult:
        """Stamp ``target``; with ``exact``, leave exactly those heads (from an empty table)."""
        return self._run(project, "stamp", target, options, exact)

    # -- internals -------------------------------------------------------------------------

    def _run(
        self,
        project: Project,
        verb: str,
        target: str,
        options: RunOptions,
        exact: Sequence[str] = (),
    ) -> RunResult:
        self._model_diffs.clear()  # a database that moves is compared anew
        lock = {"enabled": options.lock, "timeout": options.lock_timeout}
        extra: dict[str, Any] = {"target": target, "lock": lock}
        if exact:
            extra["exact"] = list(exact)
        if options.owner is not None:
            extra["owner"] = options.owner
        if options.statement_lock_timeout is not None:
            extra["statement_lock_timeout"] = options.statement_lock_timeout
        result, output = self._exchange(project, verb, extra, options)
        return _parse(
            result,
            verb,
            lambda r: RunResult(
                heads=_strings(r["heads"]),
                steps=tuple(Step(str(s[0]), str(s[1])) for s in r["steps"]),
                output=output,
                others_moved=r.get("others_moved") is True,
            ),
        )

    def _launch(self, project: Project) -> Launch:
        root = project.project_root
        if not os.path.isdir(root):
            raise ConfigError(
                f"The project root '{root}' is not a directory; set 'project_root' to the "
                "directory holding the Alembic configuration.",
                attribute=("project_root",),
                kind="config",
            )
        config = _config_path(project)
        if not os.path.isfile(config):
            raise ConfigError(
                f"The Alembic configuration file '{config}' does not exist; set 'config' to an "
                f"ini file relative to 'project_root' ('{root}').",
                attribute=("config",),
                kind="config",
            )
        environ = {**os.environ, **project.environment}
        command = python_command(project, environ)
        return Launch(command, os.path.dirname(config), dict(project.environment))

    def _call(
        self, project: Project, op: str, extra: dict[str, Any], options: CallOptions
    ) -> dict[str, Any]:
        return self._exchange(project, op, extra, options)[0]

    def _exchange(
        self, project: Project, op: str, extra: dict[str, Any], options: CallOptions
    ) -> tuple[dict[str, Any], str]:
        """Run one request; return its result and the worker's redacted output."""
        if options.cancel is not None and options.cancel.is_set():
            raise CancelledError(
                f"The Alembic '{op}' operation was cancelled before it started.", kind="cancelled"
            )
        redactor = project.redactor(self._redactor)
        launch = self._launch(project)
        request: Request = {
            "protocol": PROTOCOL_VERSION,
            "op": op,
            "config": _config_path(project),
            "section": project.section,
            "x": [f"{key}={value}" for key, value in sorted(project.extra.items())],
            "tag": project.tag,
            "url": project.url,
            "environment": dict(project.environment),
            # The whole environment, for a worker forked by a server another command started.
            "base_environment": {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
            "umask": _umask(),
            **extra,  # type: ignore[typeddict-item]
        }
        self._debug("alembic worker request", op=op, project=redactor.redact(repr(project)))

        def on_line(line: str) -> None:
            self._debug("alembic worker output", op=op, line=redactor.redact(line))

        exchange = self._processes.exchange(
            launch, request, timeout=options.timeout, cancel=options.cancel, on_line=on_line
        )
        response = exchange.response
        if response is None or not response.get("ok"):
            self._log_traceback(op, response, redactor)
            _raise_for(op, exchange, redactor, self._heads_after(project, op, exchange))
        result = response.get("result")
        if not isinstance(result, dict):
            raise InternalError(f"The Alembic worker answered '{op}' without a result.")
        kept = _kept_fields(response.get("kept"), redactor)
        self._debug("alembic worker finished", op=op, **kept)
        return result, redactor.redact(exchange.output)

    def _heads_after(self, project: Project, op: str, exchange: Exchange) -> tuple[str, ...] | None:
        """Re-read the heads after a mutating worker was killed or died; None if that fails."""
        if op not in _MUTATING or exchange.response is not None:
            return None
        try:
            return self.current(project, options=CallOptions(timeout=_REREAD_TIMEOUT))
        except ProviderError as exc:
            self._debug("re-reading the heads failed", error=exc.message)
            return None

    def _log_traceback(self, op: str, response: dict[str, Any] | None, redactor: Redactor) -> None:
        """Log the worker's full traceback at debug level; messages show only the user's frame."""
        error = (response or {}).get("error")
        trace = error.get("traceback") if isinstance(error, dict) else None
        if isinstance(trace, str) and trace:
            self._debug("alembic worker traceback", op=op, traceback=redactor.redact(trace))

    def _debug(self, message: str, **fields: Any) -> None:
        if self._log is not None:
            self._log.debug(message, **fields)


def _kept_fields(kept: object, redactor: Redactor) -> dict[str, Any]:
    """What a forked worker used of its server's kept imports, for the debug log."""
    if not isinstance(kept, dict):
        return {}
    fields = {
        "kept_modules": kept.get("modules"),
        "kept_packages": ",".join(str(name) for name in kept.get("packages") or []),
    }
    if kept.get("dropped"):
        fields["kept_dropped"] = kept.get("dropped")
        fields["kept_dropped_because"] = redactor.redact(str(kept.get("why")))
    return fields


def _umask() -> int:
    """Read this process's umask without changing it (other threads may be creating files)."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    return 0o022


def _config_path(project: Project) -> str:
    return os.path.abspath(os.path.join(project.project_root, project.config))


def _tail(output: str) -> str:
    return "\n".join(output.splitlines()[-_TAIL_LINES:])


def _raise_stopped(
    op: str,
    exchange: Exchange,
    redactor: Redactor,
    heads_after: tuple[str, ...] | None,
    tail: str,
) -> NoReturn:
    """Raise for a cancelled or timed-out exchange, saying what the worker reported doing."""
    cls: type[CancelledError] = (
        OperationTimeoutError if exchange.stopped == "timeout" else CancelledError
    )
    what = "ran past its timeout" if exchange.stopped == "timeout" else "was cancelled"
    error = (exchange.response or {}).get("error")
    if isinstance(error, dict) and error.get("kind") == "cancelled":
        # The worker stopped by itself and said what the database was told and kept.
        said = redactor.redact(str(error.get("message", "")))
        said = said.removeprefix("The operation was cancelled. ")
        heads = error.get("heads_reached")
        raise cls(
            f"The Alembic '{op}' operation {what}. {said}",
            kind=exchange.stopped or "cancelled",
            revision=error.get("revision") if isinstance(error.get("revision"), str) else None,
            heads_reached=_strings(heads) if isinstance(heads, list) else heads_after,
            stderr_tail=tail,
        )
    message = f"The Alembic '{op}' operation {what}"
    if exchange.response is None:
        message += ", and its worker did not stop by itself in time, so it was killed." + (
            " The database server rolls back the running migration's transaction once it "
            "notices the connection is gone; a statement still running there may hold "
            "its locks until it ends."
            if op in _MUTATING
            else ""
        )
    else:
        message += ", and its worker stopped."
    raise cls(
        message, kind=exchange.stopped or "cancelled", heads_reached=heads_after, stderr_tail=tail
    )


def _raise_for(
    op: str, exchange: Exchange, redactor: Redactor, heads_after: tuple[str, ...] | None
) -> NoReturn:
    """Raise the exception for a failed exchange: the one place worker failures are mapped."""
    tail = redactor.redact(_tail(exchange.output))
    if exchange.stopped is not None:
        _raise_stopped(op, exchange, redactor, heads_after, tail)
    response = exchange.response
    if response is None:
        message = (
            f"The Alembic worker ended without answering '{op}' ({exchange.ended}); it was "
            "killed or crashed."
        )
        if op in _MUTATING:
            raise MigrationError(
                message,
                kind="worker_died",
                heads_reached=heads_after,
                stderr_tail=tail,
                summary="Alembic Worker Died",
            )
        raise WorkerEnvironmentError(message, kind="worker_died", stderr_tail=tail)
    error = response.get("error")
    if not isinstance(error, dict):
        raise InternalError(f"The Alembic worker answered '{op}' with neither result nor error.")
    kind = str(error.get("kind", "internal"))
    cls_, summary = _KINDS.get(kind, (InternalError, None))
    heads = error.get("heads_reached")
    location = error.get("location")
    location = redactor.redact(location) if isinstance(location, str) else ""
    remedy = _REMEDIES.get(kind, "")
    if (location or kind == "internal") and kind != "placeholder_url":
        remedy = f"{remedy} {_LOG_HINT}".strip()
    # The worker described the failure itself: its output (Alembic's log lines, the user's
    # prints) is in the provider's debug log, not repeated here.
    raise cls_(
        redactor.redact(str(error.get("message", ""))),
        kind=kind,
        summary=summary,
        attribute=("target",) if cls_ is TargetError else (),
        revision=error.get("revision") if isinstance(error.get("revision"), str) else None,
        heads_reached=_strings(heads) if isinstance(heads, list) else None,
        location=location,
        remedy=remedy,
    )


def _strings(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
        raise TypeError(f"expected a list of strings, got {value!r}")
    return tuple(value)


def _parse(result: dict[str, Any], op: str, build: Callable[[dict[str, Any]], _T]) -> _T:
    try:
        return build(result)
    except (KeyError, TypeError, ValueError, IndexError) as exc:
        raise InternalError(
            f"The Alembic worker answered '{op}' with a result the provider cannot read: {exc}."
        ) from exc


def _inspection(result: dict[str, Any]) -> Inspection:
    direction = result["direction"]
    if direction not in _DIRECTIONS:
        raise ValueError(f"unknown direction {direction!r}")
    return Inspection(
        current=_strings(result["current"]),
        target=_strings(result["target"]),
        direction=direction,
        steps=tuple(Step(str(s[0]), str(s[1])) for s in result["steps"]),
        script_heads=_strings(result["script_heads"]),
        dialect=result.get("dialect"),
        expected=_strings(result["expected"]) if "expected" in result else None,
        stamped=_strings(result["stamped"]) if "stamped" in result else None,
        start=_strings(result["start"]) if "start" in result else None,
        database=result["database"] if isinstance(result.get("database"), str) else None,
        others_moved=result.get("others_moved") is True,
        others_branches=result.get("others_branches") is True,
    )


def _review(result: dict[str, Any]) -> Review:
    return Review(
        revisions=tuple(
            RevisionOperations(
                revision=str(r["revision"]),
                message=str(r.get("message") or ""),
                operations=tuple(_operation(o) for o in r["operations"]),
                partial=r["partial"] if isinstance(r.get("partial"), str) else None,
                path=str(r.get("path") or ""),
                waivers=tuple((int(n), str(text)) for n, text in r.get("waivers") or ()),
            )
            for r in result["revisions"]
        ),
        sizes={
            str(name): TableSize(rows=_int(size.get("rows")), bytes=_int(size.get("bytes")))
            for name, size in (result.get("sizes") or {}).items()
        },
        sizes_error=result["sizes_error"] if isinstance(result.get("sizes_error"), str) else None,
    )


def _model_diff(result: dict[str, Any]) -> ModelDiff:
    def text(value: Any) -> str | None:
        return value if isinstance(value, str) else None

    return ModelDiff(
        metadata=result["metadata"] is True,
        differences=tuple(
            ModelDifference(
                kind=str(d["kind"]),
                text=str(d["text"]),
                table=text(d.get("table")),
                column=text(d.get("column")),
            )
            for d in result["differences"]
        ),
        server_defaults=result.get("server_defaults") is True,
    )


def _operation(data: dict[str, Any]) -> Operation:
    def text(name: str) -> str | None:
        value = data.get(name)
        return value if isinstance(value, str) else None

    def flag(name: str) -> bool | None:
        value = data.get(name)
        return value if isinstance(value, bool) else None

    return Operation(
        op=str(data["op"]),
        table=text("table"),
        schema=text("schema"),
        column=text("column"),
        name=text("name"),
        new_name=text("new_name"),
        nullable=flag("nullable"),
        existing_nullable=flag("existing_nullable"),
        server_default=text("server_default"),
        type=_column_type(data.get("type")),
        existing_type=_column_type(data.get("existing_type")),
        unique=data.get("unique") is True,
        concurrently=data.get("concurrently") is True,
        not_valid=data.get("not_valid") is True,
        constraint=text("constraint"),
        sql=text("sql"),
        autocommit=data.get("autocommit") is True,
        line=_int(data.get("line")),
        source=data.get("source") is True,
    )


def _column_type(data: Any) -> ColumnType | None:
    if not isinstance(data, dict) or not isinstance(data.get("name"), str):
        return None
    return ColumnType(
        name=data["name"],
        length=_int(data.get("length")),
        precision=_int(data.get("precision")),
        scale=_int(data.get("scale")),
    )


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _script_info(result: dict[str, Any]) -> ScriptInfo:
    return ScriptInfo(
        heads=_strings(result["heads"]),
        bases=_strings(result["bases"]),
        branch_labels={str(k): str(v) for k, v in result["branch_labels"].items()},
        revisions=tuple(
            RevisionInfo(
                revision=str(r["revision"]),
                down_revisions=_strings(r["down_revisions"]),
                branch_labels=_strings(r["branch_labels"]),
                depends_on=_strings(r["depends_on"]),
                message=str(r["message"]),
                is_head=bool(r["is_head"]),
                is_base=bool(r["is_base"]),
                is_branch_point=bool(r["is_branch_point"]),
                is_merge_point=bool(r["is_merge_point"]),
            )
            for r in result["revisions"]
        ),
    )
