"""In-memory stand-ins for the provider's effects, so unit tests never spawn a process.

:class:`FakeExecutor` keeps a linear revision history and a database position. It implements
the :class:`~alembic_provider.executor.Executor` protocol closely enough for resource and
dispatch tests; branching histories are tested against the real worker.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field

from alembic_provider.errors import ConfigError, MigrationError
from alembic_provider.executor import (
    Direction,
    Inspection,
    PendingStep,
    Project,
    RunOptions,
    RunResult,
    ScriptInfo,
    Step,
)
from alembic_provider.review import ModelDiff, Review

_RUN = RunOptions()


@dataclass
class FakeExecutor:
    history: list[str] = field(default_factory=lambda: ["a1", "b2", "c3"])
    position: int = 0  # how many revisions of history the database has applied
    fail_at: str | None = None
    calls: list[str] = field(default_factory=list)
    writes: int = 0
    #: What ``review`` answers, and the ``(current, dialect)`` of each review asked for.
    review_answer: Review = field(default_factory=Review)
    reviews: list[tuple[tuple[str, ...], str | None]] = field(default_factory=list)
    #: What ``model_diff`` answers, and how many comparisons were asked for.
    model_diff_answer: ModelDiff = field(default_factory=lambda: ModelDiff(metadata=True))
    model_diffs: int = 0

    def _heads(self) -> tuple[str, ...]:
        return (self.history[self.position - 1],) if self.position else ()

    def _resolve(self, target: str) -> int:
        if target in ("head", "heads"):
            return len(self.history)
        if target == "base":
            return 0
        if target in self.history:
            return self.history.index(target) + 1
        raise ConfigError(f"Can't locate revision identified by '{target}'.")

    def describe(self, project: Project, **_: object) -> ScriptInfo:
        self.calls.append("describe")
        return ScriptInfo(
            heads=(self.history[-1],), bases=(self.history[0],), branch_labels={}, revisions=()
        )

    def current(self, project: Project, **_: object) -> tuple[str, ...]:
        self.calls.append("current")
        return self._heads()

    def resolve(self, project: Project, target: str, **_: object) -> tuple[str, ...]:
        self.calls.append("resolve")
        end = self._resolve(target)
        return (self.history[end - 1],) if end else ()

    def inspect(self, project: Project, target: str, **_: object) -> Inspection:
        self.calls.append("inspect")
        end = self._resolve(target)
        steps = tuple(Step(r, f"message {r}") for r in self.history[self.position : end])
        direction: Direction = (
            "none" if end == self.position else ("upgrade" if end > self.position else "downgrade")
        )
        return Inspection(
            current=self._heads(),
            target=(self.history[end - 1],) if end else (),
            direction=direction,
            steps=steps,
            script_heads=(self.history[-1],),
        )

    def pending(self, project: Project, target: str, **_: object) -> PendingStep:
        return self.inspect(project, target).pending

    def upgrade(
        self,
        project: Project,
        target: str,
        *,
        options: RunOptions = _RUN,
        exact: Sequence[str] = (),
    ) -> RunResult:
        self.calls.append("upgrade")
        self.writes += 1
        end = self._resolve(exact[-1] if exact else target)  # a linear history has one head
        ran: list[Step] = []
        while self.position < end:
            revision = self.history[self.position]
            if revision == self.fail_at:
                raise MigrationError(
                    f"Revision '{revision}' failed.", heads_reached=self._heads(), revision=revision
                )
            self.position += 1
            ran.append(Step(revision, f"message {revision}"))
        return RunResult(heads=self._heads(), steps=tuple(ran))

    def downgrade(
        self,
        project: Project,
        target: str,
        *,
        options: RunOptions = _RUN,
        exact: Sequence[str] = (),
    ) -> RunResult:
        self.calls.append("downgrade")
        self.writes += 1
        self.position = self._resolve(exact[-1] if exact else target)
        return RunResult(heads=self._heads())

    def stamp(
        self,
        project: Project,
        target: str,
        *,
        options: RunOptions = _RUN,
        exact: Sequence[str] = (),
    ) -> RunResult:
        self.calls.append("stamp")
        self.writes += 1
        self.position = self._resolve(target)
        return RunResult(heads=self._heads())

    def sql(
        self, project: Project, target: str, *, current: Sequence[str] | None = None, **_: object
    ) -> str:
        return f"-- upgrade to {target}\n"

    def review(
        self,
        project: Project,
        target: str,
        *,
        current: Sequence[str],
        dialect: str | None,
        **_: object,
    ) -> Review:
        self.reviews.append((tuple(current), dialect))
        return self.review_answer

    def model_diff(self, project: Project, **_: object) -> ModelDiff:
        self.model_diffs += 1
        return self.model_diff_answer

    def warm_up(self, project: Project) -> None:
        self.calls.append("warm_up")

    def close(self) -> None:
        self.calls.append("close")


def no_cancel() -> threading.Event:
    return threading.Event()
