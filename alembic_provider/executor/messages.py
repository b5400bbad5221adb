"""Data that crosses the executor boundary: what callers ask for and what the worker answers.

The frozen dataclasses are the executor's public vocabulary (:class:`Project` in,
:class:`Inspection`, :class:`RunResult` … out). The ``TypedDict`` types spell the JSON lines
exchanged with the worker (``worker/``), which cannot import this module and writes the same
shapes by hand; :data:`PROTOCOL_VERSION` changes whenever either side changes them. Types holding
secrets mask them in ``repr``. Never imports alembic.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal, NamedTuple, NotRequired, TypedDict

from alembic_provider.redaction import MASK, Redactor, mask_url

__all__ = [
    "PROTOCOL_VERSION",
    "DatabaseFacts",
    "Direction",
    "ErrorPayload",
    "Inspection",
    "PendingStep",
    "PlannedMove",
    "Project",
    "Request",
    "Response",
    "RevisionInfo",
    "RunOptions",
    "RunResult",
    "ScriptInfo",
    "Step",
]

PROTOCOL_VERSION = 5

Direction = Literal["upgrade", "downgrade", "none"]


def _empty() -> Mapping[str, str]:
    return {}


@dataclass(frozen=True)
class Project:
    """One Alembic project as a resource sees it: where it lives and how to run it.

    :param project_root: directory holding the Alembic configuration.
    :param config: ini file, relative to ``project_root`` or absolute.
    :param section: ini section with the Alembic options.
    :param python: the user's interpreter command; empty means the provider's own interpreter.
    :param alembic: a Go-provider-style ``alembic`` command, used to find the interpreter when
        ``python`` is empty.
    :param extra: ``-x key=value`` arguments for env.py.
    :param tag: the ``--tag`` argument for env.py.
    :param url: sets ``sqlalchemy.url``; secret.
    :param environment: added to the inherited environment; every value is secret.
    """

    project_root: str
    config: str = "alembic.ini"
    section: str = "alembic"
    python: tuple[str, ...] = ()
    alembic: tuple[str, ...] = ()
    extra: Mapping[str, str] = field(default_factory=_empty)
    tag: str | None = None
    url: str | None = None
    environment: Mapping[str, str] = field(default_factory=_empty)

    def __repr__(self) -> str:
        url = None if self.url is None else mask_url(self.url)
        environment = {key: MASK for key in self.environment}
        return (
            f"Project(project_root={self.project_root!r}, config={self.config!r}, "
            f"section={self.section!r}, python={self.python!r}, alembic={self.alembic!r}, "
            f"extra={dict(self.extra)!r}, tag={self.tag!r}, url={url!r}, "
            f"environment={environment!r})"
        )

    __str__ = __repr__

    def secrets(self) -> tuple[str, ...]:
        """Return the secret values this project carries (environment values)."""
        return tuple(self.environment.values())

    def redactor(self, base: Redactor | None = None) -> Redactor:
        """Return a redactor that hides this project's secrets on top of ``base``'s."""
        urls = [self.url] if self.url else []
        urls += list(self.environment.values())
        return (base or Redactor()).extended(self.secrets(), urls)


@dataclass(frozen=True)
class CallOptions:
    """How long an operation may run and how it is stopped; every operation takes one.

    :param timeout: seconds before the worker is killed; ``None`` means no limit.
    :param cancel: set by the provider on StopProvider; the worker is then killed.
    """

    timeout: float | None = None
    cancel: threading.Event | None = None


@dataclass(frozen=True, kw_only=True)
class RunOptions(CallOptions):
    """How a mutating operation runs: :class:`CallOptions` plus the migration lock.

    :param lock: serialise runs on one database with an advisory lock (PostgreSQL, MySQL and
        MariaDB; other databases run unlocked).
    :param lock_timeout: seconds to wait for the lock; ``None`` waits as long as the operation.
    :param owner: the resource's configured target. With exact heads, an upgrade or downgrade
        then moves only the heads on the target's branches: the others are other resources'
        business, and may move under the lock at the same time.
    :param statement_lock_timeout: seconds each migration statement may wait for a lock on a
        table or row before it fails; ``None`` leaves the server's own limit.
    """

    lock: bool = True
    lock_timeout: float | None = 300.0
    owner: str | None = None
    statement_lock_timeout: float | None = None


class Step(NamedTuple):
    """One migration an upgrade or downgrade runs, in the order it runs."""

    revision: str
    message: str


@dataclass(frozen=True)
class PendingStep:
    """What moving the database from ``current`` to ``target`` would run."""

    current: tuple[str, ...]
    target: tuple[str, ...]
    direction: Direction
    steps: tuple[Step, ...]


@dataclass(frozen=True)
class DatabaseFacts:
    """What reading a database told: its heads, dialect and fingerprint (see ``Inspection``).

    A plan made right after a refresh of the same resource in the same walk starts from these
    instead of running env.py again.
    """

    current: tuple[str, ...]
    dialect: str | None
    database: str | None


@dataclass(frozen=True)
class Inspection:
    """Everything plan and refresh need, read in one worker round trip without writing.

    :param current: the database's heads, sorted.
    :param target: the target resolved to revision ids, sorted.
    :param direction: ``"none"`` when the database is at the target.
    :param steps: the migrations the apply would run, in order.
    :param script_heads: the script directory's heads, sorted.
    :param dialect: the database dialect env.py connected with, e.g. ``"postgresql"``.
    :param expected: the heads the version table will hold after the steps ran, sorted, as
        Alembic's bookkeeping decides (other branches kept, ``depends_on`` heads folded in);
        the current heads when nothing is pending.
    :param stamped: the heads stamping the target would leave (other branches kept).
    :param start: the heads the plan starts from: ``current``, or where the moves other
        resources of this plan will make leave the database (see :class:`PlannedMove`).
    :param database: a password-free fingerprint of the version table env.py connected to
        (backend, host, port, database name, schema and table); None when it cannot be told
        (read offline, or env.py gave no engine).
    """

    current: tuple[str, ...]
    target: tuple[str, ...]
    direction: Direction
    steps: tuple[Step, ...]
    script_heads: tuple[str, ...]
    dialect: str | None = None
    expected: tuple[str, ...] | None = None
    stamped: tuple[str, ...] | None = None
    start: tuple[str, ...] | None = None
    database: str | None = None
    #: The recorded heads given to ``inspect`` differ from ``start`` only on other branches.
    others_moved: bool = False
    #: The script directory has heads on branches unrelated to the target, which other
    #: resources may move in the same apply.
    others_branches: bool = False

    @property
    def planned_from(self) -> tuple[str, ...]:
        """The heads the plan starts from."""
        return self.current if self.start is None else self.start

    @property
    def pending(self) -> PendingStep:
        return PendingStep(self.current, self.target, self.direction, self.steps)

    @property
    def at_target(self) -> bool:
        return self.direction == "none"

    @property
    def target_heads(self) -> tuple[str, ...]:
        return self.target

    @property
    def facts(self) -> DatabaseFacts:
        """What the database read said, for a later inspection to start from."""
        return DatabaseFacts(self.current, self.dialect, self.database)

    @property
    def heads_after_stamp(self) -> tuple[str, ...]:
        """The heads the database will be at once the target is stamped."""
        return self.stamped if self.stamped is not None else self.target

    @property
    def heads_after(self) -> tuple[str, ...]:
        """The heads the database will be at once the pending steps ran."""
        if self.expected is not None:
            return self.expected
        return self.current if self.at_target else self.target


@dataclass(frozen=True)
class PlannedMove:
    """A move another resource of the same plan will make on one database.

    :param database: the fingerprint :class:`Inspection` reports for it.
    :param start: the heads it plans from; ``end``: the heads it leaves.
    """

    database: str
    start: tuple[str, ...]
    end: tuple[str, ...]


@dataclass(frozen=True)
class RunResult:
    """What an upgrade, downgrade or stamp left behind.

    :param heads: the database's heads re-read after the run, sorted.
    :param steps: the migrations that ran, in order.
    :param output: what env.py and the migrations printed, redacted.
    """

    heads: tuple[str, ...]
    steps: tuple[Step, ...] = ()
    output: str = ""
    #: The heads reached differ from the exact heads asked for only on branches unrelated to
    #: the owner's target (another resource moved them meanwhile).
    others_moved: bool = False


@dataclass(frozen=True)
class RevisionInfo:
    """One revision file of the script directory."""

    revision: str
    down_revisions: tuple[str, ...]
    branch_labels: tuple[str, ...]
    depends_on: tuple[str, ...]
    message: str
    is_head: bool
    is_base: bool
    is_branch_point: bool
    is_merge_point: bool


@dataclass(frozen=True)
class ScriptInfo:
    """The script directory alone: heads, bases, branch labels and every revision.

    ``revisions`` runs from the bases to the heads; ``branch_labels`` maps each label to the
    revision declaring it.
    """

    heads: tuple[str, ...]
    bases: tuple[str, ...]
    branch_labels: Mapping[str, str]
    revisions: tuple[RevisionInfo, ...]


# -- wire format ------------------------------------------------------------------------------


class LockPayload(TypedDict):
    enabled: bool
    timeout: float | None


class KnownPayload(TypedDict):
    """:class:`DatabaseFacts` on the wire: an inspection that starts from them reads nothing."""

    current: list[str]
    dialect: str | None
    database: str | None


class Request(TypedDict):
    """One operation for a worker; the first line it reads on its socket."""

    protocol: int
    op: str
    config: str
    section: str
    x: list[str]
    tag: str | None
    url: str | None
    environment: dict[str, str]
    base_environment: NotRequired[dict[str, str]]
    umask: NotRequired[int]
    target: NotRequired[str]
    current: NotRequired[list[str] | None]
    planned: NotRequired[list[dict[str, object]]]
    offline: NotRequired[bool]
    known: NotRequired[KnownPayload | None]
    recorded: NotRequired[list[str] | None]
    #: upgrade, downgrade and stamp: the revision ids to reach, instead of resolving ``target``.
    exact: NotRequired[list[str]]
    lock: NotRequired[LockPayload]
    #: upgrade, downgrade and stamp: seconds a statement may wait for a table or row lock.
    statement_lock_timeout: NotRequired[float | None]


class ErrorPayload(TypedDict):
    """A failure as the worker reports it; ``kind`` selects the exception class.

    ``location`` is the user's own frame that failed (their env.py or migration, file and line);
    ``traceback`` is the full one, for the debug log only.
    """

    kind: str
    message: str
    revision: str | None
    heads_reached: list[str] | None
    location: NotRequired[str | None]
    traceback: str


class Response(TypedDict):
    """The worker's answer: ``result`` when ``ok``, else ``error``."""

    ok: bool
    result: NotRequired[dict[str, object]]
    error: NotRequired[ErrorPayload]
    #: From a warm server's fork: how many kept modules it used, of which top-level
    #: packages, and how many it dropped and why (for the debug log only).
    kept: NotRequired[dict[str, object]]
