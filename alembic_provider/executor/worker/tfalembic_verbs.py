"""One function per operation, each shaped like the Alembic verb it mirrors.

Build the Config like the CLI, load the ScriptDirectory, then run env.py inside an
EnvironmentContext with a small ``fn``. Read-only operations pass ``dont_mutate=True`` and
return no steps, so plan and refresh never write. Never imports the provider package.
"""

from __future__ import annotations

import functools
import os
import sys
import traceback
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from tfalembic_alembic import heads_after_steps
from tfalembic_config import load_config
from tfalembic_errors import ReportedError, error_text, import_failure, quoted, user_frame
from tfalembic_lifeline import LIFELINE
from tfalembic_lock import Lock
from tfalembic_lockwait import lock_wait_table
from tfalembic_modeldiff import compare_on, model_diff
from tfalembic_partial import IMPLICIT_COMMIT, committed_text
from tfalembic_review import review_steps, sql_tables
from tfalembic_runtime import (
    Facts,
    Runner,
    env_failure,
    read_database,
    read_directly,
    run_env,
)
from tfalembic_scripts import (
    check_exact,
    describe,
    heads_after_stamp,
    load_script,
    owned_heads,
    plan,
    related_heads,
    resolve,
    same_on_target_lineage,
    step_pair,
    steps_to,
    unknown_heads,
)
from tfalembic_tablesizes import table_sizes
from tfalembic_wire import PROTOCOL_VERSION

if TYPE_CHECKING:
    Result = dict[str, Any]

__all__ = ["OPERATIONS", "dispatch"]


def op_describe(request: Result) -> Result:
    return describe(load_script(load_config(request, ["heads"])))


def op_resolve(request: Result) -> Result:
    return {"target": resolve(load_script(load_config(request, ["heads"])), request["target"])}


def op_current(request: Result) -> Result:
    config = load_config(request, ["current"])
    facts = read_database(config, load_script(config), request.get("tag"))
    return {"current": list(facts.heads), "dialect": facts.dialect}


def op_inspect(request: Result) -> Result:
    """Read the database and plan the way to the target; never writes.

    :param request: ``target``; optionally ``planned``, the moves other resources of this plan
        will make (``{"database", "from", "to"}`` each): on the database they name, starting
        where the database is, the plan starts where those moves leave it. With ``offline``
        the database is not read at all and the plan starts from an empty version table (a
        database that does not exist yet). ``known``: what a read of the database moments ago
        said (``current``, ``dialect``, ``database``); env.py does not run again. ``recorded``:
        the heads the resource's state
        records; ``others_moved`` then says whether the database differs from them only on
        branches unrelated to the target (other resources' business). ``review``: when an
        upgrade is pending, also review it as ``review`` would (from the plan's start, with the
        dialect read, sizes when the database was read), in the answer's ``review``.
    """
    config = load_config(request, ["current"])
    script = load_script(config)
    target = resolve(script, request["target"])
    known = request.get("known")
    compared: list[Result] = []
    if request.get("offline"):
        current: tuple[str, ...] = ()
        dialect = database = None
    elif isinstance(known, dict):
        current = tuple(sorted(known["current"]))
        dialect, database = known.get("dialect"), known.get("database")
    else:
        also = _comparing(script, request, compared) if request.get("compare") else None
        facts = read_database(config, script, request.get("tag"), also)
        current, dialect, database = facts.heads, facts.dialect, facts.database
    start = _planned_start(current, database, request.get("planned") or [])
    direction, steps = plan(script, request["target"], start)
    recorded = request.get("recorded")
    reviewed = None
    if request.get("review") and direction == "upgrade" and steps:
        # The plan's review in the same process: the script directory is already loaded.
        tag = request.get("tag")
        reviewed = _reviewed(
            config, script, steps, dialect=dialect, sizes=dialect is not None, tag=tag
        )
    return {
        "review": reviewed,
        "model_diff": compared[0] if compared else None,
        "others_moved": recorded is not None
        and tuple(sorted(recorded)) != start
        and same_on_target_lineage(script, target, recorded, start),
        "current": list(current),
        "start": list(start),
        "database": database,
        "target": target,
        "direction": direction,
        "steps": [step_pair(step) for step in steps],
        "expected": heads_after_steps(start, steps),
        "stamped": heads_after_stamp(script, request["target"], start),
        "script_heads": sorted(script.get_heads()),
        "others_branches": len(related_heads(script, target, script.get_heads()))
        < len(script.get_heads()),
        "dialect": dialect,
    }


def _comparing(
    script: Any, request: Result, compared: list[Result]
) -> Callable[[Facts, Any], None]:
    """Compare the models in the read's own run of env.py when the database is at the target.

    At or past it: reaching it would run nothing, and no other resource of the plan moves the
    database first. Otherwise the plan says the comparison waits for the apply.
    """

    def compare(facts: Facts, context: Any) -> None:
        start = _planned_start(facts.heads, facts.database, request.get("planned") or [])
        if start != facts.heads:
            return
        direction, steps = plan(script, request["target"], facts.heads)
        if direction != "upgrade" or not steps:
            compared.append(compare_on(context))

    return compare


def _planned_start(
    current: tuple[str, ...], database: str | None, planned: Sequence[Result]
) -> tuple[str, ...]:
    """Follow the planned moves of ``database`` from ``current``, each at most once."""
    heads = current
    moves = [m for m in planned if database is not None and m.get("database") == database]
    while True:
        move = next((m for m in moves if tuple(sorted(m["from"])) == heads), None)
        if move is None:
            return heads
        moves.remove(move)
        heads = tuple(sorted(move["to"]))


def _mutate(request: Result, verb: str) -> Result:
    """Upgrade, downgrade or stamp under the lock, then re-read and verify the heads.

    The lock is taken before env.py runs the verb, because Alembic reads the heads before it
    calls ``fn``: heads read before waiting would be stale. A stamp replaces revisions the
    scripts no longer know instead of failing on them.

    :param request: ``target``; optionally ``exact``, the revision ids the plan resolved it
        to. Those are then the destination as they are, so a revision file added since the
        plan does not run; ``target`` only names the move in messages. With ``exact``,
        ``owner`` (the resource's configured target) keeps an upgrade or downgrade to the
        exact heads on the owner's branches: the plan may have followed other resources'
        moves on other branches, which those resources run themselves (perhaps right now,
        waiting for the lock). The answer's ``others_moved`` says the heads reached differ from
        ``exact`` only on such branches.
    """
    target = request["target"]
    config = load_config(request, [verb, "heads"], target)
    script = load_script(config)
    exact = tuple(request.get("exact") or ())
    owned = _owned(script, verb, request.get("owner")) if exact else None
    if exact:
        check_exact(script, exact)
    else:
        resolve(script, target)
    tag = request.get("tag")
    settings = request.get("lock") or {"enabled": False, "timeout": None}
    before = read_database(config, script, tag) if settings["enabled"] or verb == "stamp" else None
    lock = Lock.acquire(before, settings["timeout"]) if before and settings["enabled"] else None
    try:
        narrow = None if owned is None else functools.partial(owned_heads, script, owned, exact)
        waits = request.get("statement_lock_timeout")
        runner = Runner(script, verb, exact or target, narrow, waits)
        purge = verb == "stamp" and before is not None and bool(unknown_heads(script, before.heads))
        # A stamp of an exact set of heads starts from an empty table: ``alembic stamp`` of
        # several heads can drop the head of an unrelated branch.
        purge = purge or (verb == "stamp" and len(exact) > 1)
        failure = None
        try:
            run_env(config, script, runner, tag=tag, destination_rev=target, purge=purge)
        except BaseException as exc:
            failure = _run_failure(exc, runner, verb, config)
            if failure is not exc:
                failure.__cause__ = exc
        heads: tuple[str, ...] | None
        try:
            heads = read_database(config, script, tag).heads
        except ReportedError as exc:
            sys.stderr.write(f"Reading the heads back through env.py failed: {exc.message}\n")
            heads = read_directly(runner.facts or before, lock.connection if lock else None)
        if failure is not None:
            failure.heads = None if heads is None else sorted(heads)
            if failure.kind == "cancelled" and lock is not None:
                failure.message += " The migration lock is released."
            raise failure
        if heads is None:
            raise ReportedError(
                "verify",
                f"The {verb} to '{target}' finished, but the database's revisions could not be "
                "read back afterwards; the next refresh will show where the database is.",
            )
        if verb == "stamp" and exact:
            _verify_exact(exact, heads)
        else:
            _verify(script, verb, target, runner.target, heads)
        others_moved = (
            owned is not None
            and tuple(sorted(heads)) != tuple(sorted(exact))
            and same_on_target_lineage(script, owned, exact, heads)
        )
        return {"heads": list(heads), "steps": runner.done, "others_moved": others_moved}
    finally:
        if lock is not None:
            lock.release()


def _owned(script: Any, verb: str, owner: Any) -> tuple[str, ...] | None:
    """The owner's target revisions, when the verb leaves other branches alone."""
    if verb == "stamp" or not isinstance(owner, str):
        return None
    try:
        revisions = tuple(resolve(script, owner))
    except ReportedError:
        return None
    return revisions or None


def _run_failure(exc: BaseException, runner: Runner, verb: str, config: Any) -> ReportedError:
    if LIFELINE.reason is not None:
        return _stopped(runner, verb)
    if isinstance(exc, ReportedError):
        return exc
    if runner.state == "before":
        return env_failure(exc, config=config)
    if runner.state == "planning":
        return ReportedError("target", f"Alembic cannot {verb} to this target: {error_text(exc)}")
    if isinstance(exc, ImportError):
        return import_failure(exc)
    table = lock_wait_table(exc)
    if runner.active is None:
        if table is not None:
            # A stamp, or the version table's update after the last migration.
            text = _lock_wait_text(f"The {verb}", verb, table, runner.lock_waits, exc)
            return ReportedError("lock_wait", text)
        return ReportedError(
            "migration", f"The {verb} failed after its migrations: {error_text(exc)}"
        )
    revision, message = runner.active
    about = f" ({message})" if message else ""
    if table is None:
        kind = "migration"
        text = f"Revision '{revision}'{about} failed during {verb}: {error_text(exc)}"
    else:
        kind = "lock_wait"
        named = f"Revision '{revision}'{about}"
        text = _lock_wait_text(named, verb, table, runner.lock_waits, exc)
    facts = runner.facts
    if facts is not None and facts.dialect in IMPLICIT_COMMIT:
        # A paragraph of its own: the error text often ends with the SQL.
        text += "\n\n" + committed_text(facts.server, revision, runner.ran, "the error")
    return ReportedError(kind, text, revision=revision)


def _lock_wait_text(
    named: str, verb: str, table: str, bound: float | None, exc: BaseException
) -> str:
    """Say which revision gave up waiting for which table's lock, and for how long."""
    on = f"table '{table}'" if table else "a table"
    waited = "longer than the server allows"
    if bound is not None:
        waited = f"longer than statement_lock_timeout ({bound:g}s)"
    return (
        f"{named} waited {waited} for a lock on {on} that another session holds, so the "
        f"{verb} stopped there: {error_text(exc)}"
    )


def _stopped(runner: Runner, verb: str) -> ReportedError:
    """Say what a cancel did: which revision it interrupted and what the database kept."""
    failure = LIFELINE.stopped()
    if runner.active is None:
        return failure
    revision, message = runner.active
    about = f" ({message})" if message else ""
    facts = runner.facts
    if facts is not None and facts.dialect in IMPLICIT_COMMIT:
        kept = committed_text(facts.server, revision, runner.ran, "the cancel")
    else:
        kept = f"Revision '{revision}'{about} was interrupted and its transaction rolled back."
    failure.message = f"{failure.message} {kept}"
    failure.revision = revision
    return failure


def _verify(
    script: Any,
    verb: str,
    target: str,
    destination: str | tuple[str, ...],
    heads: Sequence[str],
) -> None:
    """Re-check the database after a run: Alembic can finish cleanly while writing nothing."""
    try:
        left = steps_to(script, verb, destination, heads)
    except Exception:
        if verb != "downgrade":
            raise
        left = []
    if left:
        raise ReportedError(
            "verify",
            f"The {verb} to '{target}' finished without an error, but the database still needs "
            f"{quoted([step_pair(step)[0] for step in left])}. env.py may run the migrations in a "
            "transaction it never commits.",
            heads=heads,
        )


def _verify_exact(exact: Sequence[str], heads: Sequence[str]) -> None:
    if sorted(exact) != sorted(heads):
        raise ReportedError(
            "verify",
            f"The stamp of {quoted(sorted(exact))} finished without an error, but the database "
            f"is at {quoted(sorted(heads)) or 'base'}. env.py may run the stamp in a transaction "
            "it never commits.",
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
    config = load_config(request, ["upgrade", "--sql", "heads"], target)
    config.cmd_opts.sql = True
    script = load_script(config)
    resolve(script, target)
    current = request.get("current")
    if current is None:
        current = list(read_database(config, script, request.get("tag")).heads)
    direction, _steps = plan(script, target, current)
    if direction == "none":
        return {"sql": "", "direction": direction}
    runner = Runner(script, direction, target)
    try:
        run_env(
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
            raise env_failure(exc, offline=True, config=config) from exc
        revision = runner.active[0]
        raise ReportedError(
            "offline",
            f"Revision '{revision}' cannot be rendered as offline SQL: {error_text(exc)}. The "
            "preview is best effort; the migration itself may still run online.",
            revision=revision,
        ) from exc
    return {"sql": config.output_buffer.getvalue(), "direction": direction}


def op_review(request: Result) -> Result:
    """Record what each pending upgrade would do, and size the existing tables it touches.

    Never runs a migration: each revision's ``upgrade()`` runs against a recording ``op``.

    :param request: ``target``; ``current``, the heads the plan starts from; ``dialect``, the
        database's (None: not read, so no dialect-specific review); ``sizes``, whether to ask
        the database for the size of the tables the migrations touch (one read-only query).
    """
    config = load_config(request, ["upgrade", "heads"], request["target"])
    script = load_script(config)
    direction, steps = plan(script, request["target"], request.get("current") or [])
    if direction != "upgrade":
        return {"revisions": [], "sizes": {}, "sizes_error": None}
    return _reviewed(
        config,
        script,
        steps,
        dialect=request.get("dialect"),
        sizes=bool(request.get("sizes")),
        tag=request.get("tag"),
    )


def _reviewed(
    config: Any, script: Any, steps: Sequence[Any], *, dialect: str | None, sizes: bool, tag: Any
) -> Result:
    """What each step's ``upgrade()`` would do, and the size of the tables they touch."""
    reviews = review_steps(steps, dialect)
    created: set[str] = set()
    touched: set[str] = set()
    for review in reviews:
        for operation in review["operations"]:
            table = operation.get("table")
            if operation["op"] == "create_table" and table:
                created.add(table)
            elif table and table not in created:
                touched.add(table)
            if operation["op"] == "execute":
                touched.update(t for t in sql_tables(operation.get("sql")) if t not in created)
    found: Result = {"tables": {}, "error": None}
    if sizes and touched:
        found = table_sizes(config, script, tag, sorted(touched))
    return {"revisions": reviews, "sizes": found["tables"], "sizes_error": found["error"]}


def op_model_diff(request: Result) -> Result:
    """Compare env.py's ``target_metadata`` with the database; never writes."""
    config = load_config(request, ["current"])
    return model_diff(config, load_script(config), request.get("tag"))


OPERATIONS: dict[str, Callable[[Result], Result]] = {
    "describe": op_describe,
    "resolve": op_resolve,
    "current": op_current,
    "inspect": op_inspect,
    "upgrade": op_upgrade,
    "downgrade": op_downgrade,
    "stamp": op_stamp,
    "sql": op_sql,
    "review": op_review,
    "model_diff": op_model_diff,
}


def dispatch(request: Result) -> Result:
    """Run one request and return the response; every failure becomes a structured error."""
    if request.get("protocol") != PROTOCOL_VERSION or request.get("op") not in OPERATIONS:
        failure = ReportedError(
            "protocol",
            f"The worker speaks protocol {PROTOCOL_VERSION} with the operations "
            f"{quoted(sorted(OPERATIONS))}; it got protocol {request.get('protocol')!r} and "
            f"operation {request.get('op')!r}.",
        )
        return {"ok": False, "error": failure.payload("")}
    base = request.get("base_environment")
    if isinstance(base, dict):
        # A shared warm server started with another provider process's environment: this
        # request brings its own, whole.
        os.environ.clear()
        os.environ.update(base)
    if isinstance(request.get("umask"), int):
        os.umask(request["umask"])
    os.environ.update(request.get("environment") or {})
    try:
        os.chdir(os.path.dirname(request["config"]) or ".")
        return {"ok": True, "result": OPERATIONS[request["op"]](request)}
    except BaseException as exc:
        # The traceback travels in the answer for the provider's debug log; stderr would put
        # the worker's own frames into every error message.
        trace = traceback.format_exc()
        if LIFELINE.reason is not None and not (
            isinstance(exc, ReportedError) and exc.kind == "cancelled"
        ):
            failure = LIFELINE.stopped()
        elif isinstance(exc, ReportedError):
            failure = exc
        elif isinstance(exc, ImportError):
            failure = import_failure(exc)
        else:
            failure = ReportedError("internal", f"The Alembic worker failed: {error_text(exc)}")
        if failure.location is None:
            failure.location = user_frame(exc)
        return {"ok": False, "error": failure.payload(trace)}
