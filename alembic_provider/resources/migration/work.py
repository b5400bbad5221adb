"""One operation's inputs and the executor calls it makes: where to act, how long, how to stop.

Holds no rule about the lifecycle: it reads, runs and re-reads exactly what it is asked to.
Never imports alembic.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from alembic_provider import errors
from alembic_provider.durations import parse_duration
from alembic_provider.executor import (
    CallOptions,
    DatabaseFacts,
    Inspection,
    PlannedMove,
    Project,
    RunOptions,
    RunResult,
)
from alembic_provider.resources.base import Context, Values
from alembic_provider.review import ModelDiff, Review
from statemachine.resource import Action

__all__ = ["Work", "session"]

_DEFAULT_LOCK_TIMEOUT = "5m"
#: How long finding where a failed run stopped may take, whatever the operation's timeout.
_REREAD_TIMEOUT = 60.0


@contextmanager
def session(ctx: Context, values: Values) -> Iterator[threading.Event]:
    """Hold the resource's proxy (if any) around database work; yield the cancel event."""
    with ctx.proxies.use_for(values, ctx.cancel) as cancel:
        yield cancel


@dataclass(frozen=True)
class Work:
    """One operation's inputs: where to act, what the user configured, how to stop it.

    :param target: the configured target (or ``on_destroy``), resolved by the worker.
    :param operation: the ``timeouts`` entry that bounds it: create, update, read or delete.
    """

    ctx: Context
    project: Project
    target: str
    values: Values
    cancel: threading.Event
    operation: str = "read"

    def timeout(self) -> float | None:
        timeouts = self.values.get("timeouts")
        if isinstance(timeouts, dict) and isinstance(timeouts.get(self.operation), str):
            return parse_duration(timeouts[self.operation])
        return None

    def call_options(self) -> CallOptions:
        return CallOptions(timeout=self.timeout(), cancel=self.cancel)

    def run_options(self) -> RunOptions:
        return RunOptions(
            lock=self.values.get("lock") is not False,
            lock_timeout=parse_duration(self.values.get("lock_timeout") or _DEFAULT_LOCK_TIMEOUT),
            timeout=self.timeout(),
            cancel=self.cancel,
            owner=self.target,
            statement_lock_timeout=self.statement_lock_timeout(),
        )

    def statement_lock_timeout(self) -> float | None:
        """The resource's bound on waiting for locks, else the provider's; None when unset."""
        for value in (
            self.values.get("statement_lock_timeout"),
            self.ctx.provider_config.get("statement_lock_timeout"),
        ):
            if isinstance(value, str):
                return parse_duration(value)
        return None

    def inspect(
        self,
        *,
        planned: tuple[PlannedMove, ...] = (),
        offline: bool = False,
        recorded: tuple[str, ...] | None = None,
        known: DatabaseFacts | None = None,
        review: bool = False,
        compare: bool = False,
    ) -> Inspection:
        """Read the database and resolve the target, writing nothing.

        :param review: the plan reviews a pending upgrade: the same worker does it.
        :param compare: ``compare_models`` is on: a database at the target is compared with the
            models in the same run of env.py, for the plan's ``model_diff``.
        """
        return self.ctx.executor.inspect(
            self.project,
            self.target,
            options=self.call_options(),
            planned=planned,
            offline=offline,
            recorded=recorded,
            known=known,
            review=review,
            compare=compare,
        )

    def resolve(self, target: str) -> tuple[str, ...]:
        """Resolve another revision of the script directory (``on_destroy``); reads no database."""
        return self.ctx.executor.resolve(self.project, target, options=self.call_options())

    def current(self) -> tuple[str, ...]:
        """Read the database's heads."""
        return self.ctx.executor.current(self.project, options=self.call_options())

    def reread(self, fallback: tuple[str, ...]) -> tuple[str, ...]:
        """Find where the database stopped when a failure could not say."""
        try:
            return self.ctx.executor.current(
                self.project, options=CallOptions(timeout=_REREAD_TIMEOUT)
            )
        except errors.ProviderError:
            return fallback

    def sql(self, current: tuple[str, ...]) -> str:
        """The offline SQL of the step from ``current`` to the target."""
        return self.ctx.executor.sql(
            self.project, self.target, current=current, options=self.call_options()
        )

    def review(self, inspection: Inspection) -> Review:
        """Record what each pending upgrade of ``inspection`` would do; run none of them.

        The sizes of the tables they touch are asked of the database only when the
        inspection read it.
        """
        return self.ctx.executor.review(
            self.project,
            self.target,
            current=inspection.planned_from,
            dialect=inspection.dialect,
            sizes=inspection.dialect is not None,
            options=self.call_options(),
        )

    def model_diff(self) -> ModelDiff:
        """Compare env.py's ``target_metadata`` with the database; writes nothing."""
        return self.ctx.executor.model_diff(self.project, options=self.call_options())

    def execute(self, action: Action, options: RunOptions) -> RunResult:
        """Run one write the machine decided: its verb, toward its exact heads.

        The heads are passed as they are, so a migration file that appeared after the plan
        never runs, with one head or several; none is ``base``. The configured target names
        the step in logs.
        """
        heads = action.target
        argument = heads[0] if len(heads) == 1 else ("base" if not heads else self.target)
        self.ctx.log.info(f"running alembic {action.verb}", target=argument, heads=list(heads))
        executor = self.ctx.executor
        if action.verb == "stamp":
            return executor.stamp(self.project, argument, options=options, exact=heads)
        run = executor.upgrade if action.verb == "upgrade" else executor.downgrade
        return run(self.project, argument, options=options, exact=heads)
