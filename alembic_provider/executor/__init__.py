"""Every Alembic operation, run in a worker process under the user's interpreter.

``client.py`` is the provider's side (typed methods, error mapping), ``process.py`` starts and
talks to workers, ``interpreter.py`` finds the user's Python, ``messages.py`` holds the data
both sides exchange, and ``worker/`` is the program the user's interpreter runs: the only
code in the provider that imports alembic. Importing this package never imports alembic.
"""

from __future__ import annotations

from alembic_provider.executor.client import Executor, LogSink, WorkerExecutor
from alembic_provider.executor.messages import (
    CallOptions,
    DatabaseFacts,
    Direction,
    Inspection,
    PendingStep,
    PlannedMove,
    Project,
    RevisionInfo,
    RunOptions,
    RunResult,
    ScriptInfo,
    Step,
)

__all__ = [
    "CallOptions",
    "DatabaseFacts",
    "Direction",
    "Executor",
    "Inspection",
    "LogSink",
    "PendingStep",
    "PlannedMove",
    "Project",
    "RevisionInfo",
    "RunOptions",
    "RunResult",
    "ScriptInfo",
    "Step",
    "WorkerExecutor",
]
