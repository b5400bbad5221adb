# ruff: noqa: E501
"""Lifecycle of one managed resource (``alembic_upgrade`` or ``alembic_stamp``) across Terraform's RPCs.

The machine decides; the resource handler acts. A handler restores a ``ResourceLifecycle`` from
the snapshot it kept in private state, gathers the facts of the RPC (what the database and the
script directory say, what failed and why), fires them as a trigger (past tense, facts as keyword
arguments), and carries out ``outcome`` as given: the writes to run with their exact heads, the
diagnostics to report, the values to plan or record. It never inspects the state or the kind to
choose what to do, and never raises after a fire: a failure is a fact, and its wording is the
machine's.

- ReadResource: ``refreshed(...)``.
- PlanResourceChange: ``planned(...)`` then, once the values are filled, ``values_planned(...)``;
  for a destroy ``destroy_planned(...)``.
- ApplyResourceChange: ``apply_started(...)``, run ``outcome.actions``, then
  ``apply_succeeded(...)`` or ``apply_failed(...)``; for a destroy ``destroy_planned(...)``,
  ``destroy_started()``, the actions, then ``destroyed()`` or ``destroy_failed(...)``.
- ImportResourceState: ``import_started()`` then ``imported(...)``.

Each kind has its own table, built from the rows both share and its own; so no guard asks which
kind it is. The rules live in the guards: a downgrade needs ``allow_downgrade``; an
``alembic_stamp`` is satisfied once the database is at or past its target (the target is an
ancestor of the database's heads, as after the migrations that follow a baseline ran); it never
stamps again because revisions were added or the database moved (a database behind the target or
on an unrelated branch is a warning), only a changed ``target`` the database has not reached
stamps again; unknown inputs plan unknown values without touching the database; and only
``apply_started``/``destroy_started`` ever put a write into ``pending``. Every trigger either
takes an edge or raises ``MachineError``; ``may_<trigger>(...)`` asks first.

>>> life = ResourceLifecycle("upgrade")
>>> life.planned(db_heads=[], target_heads=["a1"])
True
>>> life.state, life.decision
(<State.PLANNED_CREATE: 'planned-create'>, <Decision.UPGRADE: 'upgrade'>)
>>> life.apply_started(db_heads=[])
True
>>> life.outcome.actions
(Action(verb='upgrade', target=('a1',)),)
>>> life.apply_failed(heads_reached=["a0"], message="migration a1 failed")
True
>>> life.state, life.revision_reached, life.outcome.revisions
(<State.PARTIAL: 'partial'>, ('a0',), ('a0',))

Models are bound to one machine per kind built at import (``transitions``' shared-machine
pattern) and released at once, so creating one per RPC is cheap and nothing is retained.

Import name: this folder is a PEP 420 namespace portion of ``statemachine``, the import name of
PyPI's ``python-statemachine`` too. It has no ``__init__.py`` (nor ``py.typed``) and installs only
``resource.py``, ``proxy.py`` and two private helpers (``_strict.py``, ``_resource_data.py``), so
when both distributions are installed into one environment they share the directory without
sharing a file, and ``import statemachine`` (theirs) and ``import statemachine.resource`` (ours)
work in one interpreter. Both must then live in the same site-packages: a regular package found
earlier on ``sys.path`` hides a namespace portion.

Never does I/O, never reads a clock, never imports ``alembic_provider``; standard library and
``transitions`` only.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, get_args

from statemachine._resource_data import (
    NOT_THERE_YET,
    UNREADABLE,
    WRITES,
    Action,
    Decision,
    Facts,
    Heads,
    Kind,
    Note,
    Outcome,
    RevisionReview,
    as_heads,
    need,
    quote,
)
from statemachine._strict import StrictMachine, edge, unbound

if TYPE_CHECKING:
    from transitions.core import EventData, TransitionConfigDict

__all__ = [
    "MACHINES",
    "TABLES",
    "TERMINAL",
    "Action",
    "Decision",
    "Heads",
    "Kind",
    "Note",
    "Outcome",
    "ResourceLifecycle",
    "ResourceSnapshot",
    "RevisionReview",
    "State",
]


class State(enum.Enum):
    """Where one resource is in its lifecycle; the value is the name shown in logs."""

    ABSENT = "absent"
    PLANNED_CREATE = "planned-create"
    CREATING = "creating"
    PRESENT = "present"
    DRIFTED = "drifted"
    PLANNED_UPDATE = "planned-update"
    UPDATING = "updating"
    PARTIAL = "partial"
    PLANNED_DELETE = "planned-delete"
    DELETING = "deleting"
    IMPORTING = "importing"
    GONE = "gone"


S = State
_IN_STATE = (S.PRESENT, S.DRIFTED, S.PARTIAL)
_APPLIED = (S.PRESENT, S.DRIFTED)
_APPLYING = (S.CREATING, S.UPDATING)
_RECORDED = frozenset({*_IN_STATE, S.PLANNED_UPDATE, S.UPDATING, S.PLANNED_DELETE, S.DELETING})

# fmt: off
# ReadResource that could not read the database as asked; rows both kinds share.
_REFRESH_FAILED: list[TransitionConfigDict] = [
    edge("refreshed", _IN_STATE, "=", when="is_unknown", do="keep_values"),
    edge("refreshed", _IN_STATE, "=", when=("has_error", "is_target_error"), do="record_heads_only"),
    edge("refreshed", _IN_STATE, "=", when=("has_error", "is_unread"), do="keep_unread"),
    edge("refreshed", _IN_STATE, "=", when=("has_error", "is_unreachable"), do="refuse_unreachable"),
    edge("refreshed", _IN_STATE, "=", when="has_error", do="report_error"),
]
# PlanResourceChange for a create that cannot be planned from a database read.
_CREATE_UNREAD: list[TransitionConfigDict] = [
    edge("planned", S.ABSENT, S.PLANNED_CREATE, when="is_unknown", do="plan_unknown"),
    edge("planned", S.ABSENT, S.PLANNED_CREATE, when=("is_unreachable", "has_others_unreachable"), do=("warn_unreachable_unknown", "plan_unknown")),
]
_CREATE_FAILED: list[TransitionConfigDict] = [
    edge("planned", S.ABSENT, "=", when=("has_error", "is_target_error"), do="plan_error"),
    edge("planned", S.ABSENT, "=", when="has_error", do="report_error"),
]
# PlanResourceChange for a resource in Terraform's state that cannot be planned.
_UPDATE_FAILED: list[TransitionConfigDict] = [
    edge("planned", _IN_STATE, S.PLANNED_UPDATE, when="is_unknown", do="plan_unknown"),
    edge("planned", _IN_STATE, "=", when="is_unreachable", do="refuse_unreachable"),
    edge("planned", _IN_STATE, "=", when=("has_error", "is_target_error"), do="plan_error"),
    edge("planned", _IN_STATE, "=", when="has_error", do="report_error"),
]
# PlanResourceChange filled the planned values: Terraform calls apply only when they differ from
# the prior state, so a plan equal to it rests at PRESENT.
_VALUES_PLANNED: list[TransitionConfigDict] = [
    edge("values_planned", S.PLANNED_UPDATE, S.PRESENT, when="is_equal_to_prior"),
    edge("values_planned", (S.PLANNED_CREATE, S.PLANNED_UPDATE), "="),
]
# ApplyResourceChange: check the plan still holds, decide the writes, record what they reached.
_APPLY: list[TransitionConfigDict] = [
    edge("apply_started", (S.ABSENT, *_IN_STATE), "=", do="refuse_without_plan"),
    edge("apply_started", S.PLANNED_CREATE, S.ABSENT, when="has_error", do="refuse"),
    edge("apply_started", S.PLANNED_CREATE, S.ABSENT, when="is_plan_incomplete", do="refuse_incomplete"),
    edge("apply_started", S.PLANNED_CREATE, S.ABSENT, when="has_db_moved_since_plan", do="refuse_moved"),
    edge("apply_started", S.PLANNED_CREATE, S.CREATING, do="record_pending"),
    edge("apply_started", S.PLANNED_UPDATE, S.PARTIAL, when="has_error", do="refuse"),
    edge("apply_started", S.PLANNED_UPDATE, S.PARTIAL, when="is_plan_incomplete", do="refuse_incomplete"),
    edge("apply_started", S.PLANNED_UPDATE, S.PARTIAL, when="has_db_moved_since_plan", do="refuse_moved"),
    edge("apply_started", S.PLANNED_UPDATE, S.UPDATING, do="record_pending"),
    edge("apply_succeeded", _APPLYING, S.PRESENT, when="is_noop_plan", do="keep_planned"),
    edge("apply_succeeded", _APPLYING, S.PRESENT, when="is_at_planned_target", do="record_reached"),
    edge("apply_succeeded", _APPLYING, S.PARTIAL, do="record_shortfall"),
    edge("apply_failed", _APPLYING, S.PARTIAL, do="record_failure"),
]
# Destroy: the destroy half of a replace carries the create plan that follows it.
_REPLACED: list[TransitionConfigDict] = [
    edge("destroy_planned", S.PLANNED_CREATE, S.PLANNED_DELETE, do="plan_forget"),
]
_DESTROY: list[TransitionConfigDict] = [
    edge("destroy_started", S.PLANNED_DELETE, S.DELETING, do="record_pending"),
    edge("destroyed", S.DELETING, S.GONE),
    edge("destroy_failed", S.DELETING, S.PARTIAL, do="record_failure"),
]
# ImportResourceState.
_IMPORT: list[TransitionConfigDict] = [
    edge("import_started", S.ABSENT, S.IMPORTING),
    edge("imported", S.IMPORTING, S.PRESENT, when=("has_error", "is_unreadable"), do="record_unread_import"),
    edge("imported", S.IMPORTING, S.ABSENT, when="has_error", do="report_error"),
    edge("imported", S.IMPORTING, S.PRESENT, do="record_import"),
]

# ApplyResourceChange of an upgrade while other resources move other branches of the database
# (applied in parallel, with no depends_on between them): expected, not a reason to refuse. The
# worker runs only the target's branches. Only a move on those refuses (``_APPLY``). An error or
# a plan that decided nothing never carries ``others_moved``; reaching the planned heads exactly
# never does either, so these rows may come first.
_APPLY_ALONGSIDE_OTHERS: list[TransitionConfigDict] = [
    edge("apply_started", S.PLANNED_CREATE, S.CREATING, when="has_others_moved", do="record_pending"),
    edge("apply_started", S.PLANNED_UPDATE, S.UPDATING, when="has_others_moved", do="record_pending"),
    edge("apply_succeeded", _APPLYING, S.PRESENT, when="has_others_moved", do="record_reached"),
]

UPGRADE_TRANSITIONS: list[TransitionConfigDict] = [
    *_REFRESH_FAILED,
    edge("refreshed", _IN_STATE, S.PRESENT, when="is_at_target", do="record_refresh"),
    edge("refreshed", _APPLIED, S.DRIFTED, when="has_db_moved", do=("warn_moved", "record_refresh")),
    edge("refreshed", _APPLIED, S.DRIFTED, do="record_refresh"),
    edge("refreshed", S.PARTIAL, "=", do="record_refresh"),
    *_CREATE_UNREAD,
    edge("planned", (S.ABSENT, *_IN_STATE), "=", when="has_destroy_error", unless="is_unusable", do="refuse_destroy_target"),
    # Before the unreachable row: a plan from an empty version table is reviewed too.
    edge("planned", S.ABSENT, "=", when="has_blocked_findings", do="refuse_review"),
    edge("planned", S.ABSENT, S.PLANNED_CREATE, when="is_unreachable", do=("warn_unreachable", "plan_upgrade", "defer_models")),
    *_CREATE_FAILED,
    edge("planned", S.ABSENT, S.PLANNED_CREATE, when="is_at_target", do=("plan_noop", "compare_models")),
    edge("planned", S.ABSENT, S.PLANNED_CREATE, when=("has_downgrades", "can_downgrade"), do=("plan_downgrade", "defer_models")),
    edge("planned", S.ABSENT, "=", when="has_downgrades", do="refuse_downgrade"),
    edge("planned", S.ABSENT, S.PLANNED_CREATE, do=("plan_upgrade", "defer_models")),
    *_UPDATE_FAILED,
    edge("planned", _IN_STATE, "=", when="has_db_moved_since_refresh", do="refuse_moved_since_refresh"),
    edge("planned", _IN_STATE, S.PLANNED_UPDATE, when="is_at_target", do=("plan_noop", "compare_models")),
    edge("planned", _IN_STATE, S.PLANNED_UPDATE, when=("has_downgrades", "can_downgrade"), do=("plan_downgrade", "defer_models")),
    edge("planned", _IN_STATE, "=", when="has_downgrades", do="refuse_downgrade"),
    edge("planned", _IN_STATE, "=", when="has_blocked_findings", do="refuse_review"),
    edge("planned", _IN_STATE, S.PLANNED_UPDATE, do=("plan_upgrade", "defer_models")),
    *_VALUES_PLANNED,
    *_APPLY_ALONGSIDE_OTHERS,
    *_APPLY,
    *_REPLACED,
    edge("destroy_planned", _IN_STATE, S.PLANNED_DELETE, when="is_unknown", do="plan_forget"),
    edge("destroy_planned", _IN_STATE, "=", when=("has_error", "is_target_error"), do="plan_destroy_error"),
    edge("destroy_planned", _IN_STATE, "=", when="has_error", do="plan_destroy_failure"),
    edge("destroy_planned", S.PARTIAL, S.PLANNED_DELETE, when="has_destroy_target", do="keep_partial"),
    edge("destroy_planned", _APPLIED, S.PLANNED_DELETE, when=("has_destroy_target", "has_downgrades"), do="plan_destroy_downgrade"),
    edge("destroy_planned", _APPLIED, S.PLANNED_DELETE, when="has_destroy_target", do="plan_forget"),
    edge("destroy_planned", _IN_STATE, S.PLANNED_DELETE, do="plan_keep"),
    *_DESTROY,
    *_IMPORT,
]
"""``alembic_upgrade``: runs migrations to its target, may downgrade on destroy."""

STAMP_TRANSITIONS: list[TransitionConfigDict] = [
    *_REFRESH_FAILED,
    edge("refreshed", _IN_STATE, S.PRESENT, when="is_at_target", do="record_refresh_stamped"),
    edge("refreshed", _APPLIED, S.PRESENT, when="has_reached_target", do="record_refresh_stamped"),
    edge("refreshed", _APPLIED, S.DRIFTED, when="has_db_moved", do="warn_stamp_behind"),
    edge("refreshed", _APPLIED, "=", do="warn_stamp_behind"),
    edge("refreshed", S.PARTIAL, "=", do="record_refresh_stamped"),
    *_CREATE_UNREAD,
    edge("planned", S.ABSENT, S.PLANNED_CREATE, when="is_unreachable", do=("warn_unreachable", "plan_stamp")),
    *_CREATE_FAILED,
    edge("planned", S.ABSENT, S.PLANNED_CREATE, when="has_reached_target", do="plan_noop_stamped"),
    edge("planned", S.ABSENT, S.PLANNED_CREATE, do="plan_stamp"),
    *_UPDATE_FAILED,
    edge("planned", _IN_STATE, "=", when="has_db_moved_since_refresh", unless="has_reached_target", do="refuse_moved_since_refresh"),
    edge("planned", _IN_STATE, S.PLANNED_UPDATE, when="has_target_changed", unless="has_reached_target", do="plan_stamp"),
    edge("planned", _IN_STATE, S.PLANNED_UPDATE, when="has_reached_target", do="plan_noop_stamped"),
    edge("planned", S.PARTIAL, S.PLANNED_UPDATE, do="plan_stamp"),
    edge("planned", _APPLIED, S.PLANNED_UPDATE, do="plan_noop_stamped"),
    *_VALUES_PLANNED,
    *_APPLY,
    *_REPLACED,
    edge("destroy_planned", _IN_STATE, S.PLANNED_DELETE, do="plan_keep_stamped"),
    *_DESTROY,
    *_IMPORT,
]
"""``alembic_stamp``: writes the version table only, never again for new revisions."""
# fmt: on

TABLES: dict[Kind, list[TransitionConfigDict]] = {
    "upgrade": UPGRADE_TRANSITIONS,
    "stamp": STAMP_TRANSITIONS,
}

#: Which fact names the heads a kind's write leaves the database at.
_TARGET_FACT: dict[Kind, str] = {"upgrade": "target_heads", "stamp": "stamp_heads"}

_NOT_AS_PLANNED = "Migration Not Applied As Planned"
_NOT_REACHABLE = "Database Not Reachable"
_REVIEWED = "Migration Review"
_MODELS = "Models Not Compared Yet"

TERMINAL = frozenset({S.GONE})
"""States with no way out. A later create of the same address starts a new model at ABSENT."""


@dataclass(frozen=True)
class ResourceSnapshot:
    """What a handler keeps between RPCs (in private state) to restore the lifecycle.

    :param from_refresh: the recorded heads come from a refresh (ReadResource), not an apply.
    :param unread: imported without reading the database; the resource's own settings
        (``url``, ``environment``, ``python``) reach the provider with the first plan.
    :param configured_target: set only while the stored ``target`` is a revision id the Go
        provider wrote in place of the configured ``head``: plans echo the stored value while
        the configured one is what gets resolved.
    """

    kind: Kind
    state: State
    heads: Heads | None = None
    target_heads: Heads | None = None
    planned_from: Heads | None = None
    decision: Decision | None = None
    from_refresh: bool = False
    unread: bool = False
    configured_target: str | None = None

    def to_json(self) -> str:
        """Return the snapshot as compact JSON text."""
        data: dict[str, object] = {f.name: getattr(self, f.name) for f in fields(self)}
        data["state"] = self.state.name
        data["decision"] = None if self.decision is None else self.decision.name
        return json.dumps(data, separators=(",", ":"), sort_keys=True)

    @classmethod
    def from_json(cls, text: str | bytes) -> ResourceSnapshot:
        """Parse text written by ``to_json``.

        :raises ValueError: when the text is not a snapshot this module wrote.
        """
        try:
            data = json.loads(text)
            if not isinstance(data, Mapping) or data.get("kind") not in get_args(Kind):
                raise ValueError(f"expected an object with 'kind' in {get_args(Kind)}")
            decision = data.get("decision")
            target = data.get("configured_target")
            return cls(
                kind=data["kind"],
                state=State[data["state"]],
                heads=as_heads(data.get("heads")),
                target_heads=as_heads(data.get("target_heads")),
                planned_from=as_heads(data.get("planned_from")),
                decision=None if decision is None else Decision[decision],
                from_refresh=data.get("from_refresh") is True,
                unread=data.get("unread") is True,
                configured_target=target if isinstance(target, str) else None,
            )
        except (ValueError, KeyError, TypeError) as err:
            raise ValueError(
                f"The lifecycle snapshot {text!r} cannot be read ({err}); "
                "expected the JSON written by ResourceSnapshot.to_json."
            ) from err


@dataclass(eq=False)
class ResourceLifecycle:
    """The model the resource handler drives: typed fields plus the triggers the machine binds.

    :param kind: ``"upgrade"`` runs migrations; ``"stamp"`` only writes the version table.
    :param heads: the database's heads as last observed (the state's ``revisions``).
    :param target_heads: the target resolved to revision ids by the last plan or refresh.
    :param planned_from: the database's heads when the current plan was made.
    :param decision: the last plan's decision, restored for apply.
    :param from_refresh: the recorded heads come from a refresh.
    :param unread: imported without reading the database.
    :param configured_target: see :class:`ResourceSnapshot`.
    """

    kind: Kind
    state: State = State.ABSENT
    heads: Heads | None = None
    target_heads: Heads | None = None
    planned_from: Heads | None = None
    decision: Decision | None = None
    from_refresh: bool = False
    unread: bool = False
    configured_target: str | None = None
    pending: tuple[Action, ...] = field(default=(), init=False)
    error: str | None = field(default=None, init=False)
    #: Short Title-Case heading for ``error``: what kind of problem stopped the step.
    error_summary: str | None = field(default=None, init=False)
    #: The configuration attribute ``error`` is about (``()`` for the resource as a whole).
    error_attribute: tuple[str, ...] = field(default=(), init=False)
    warnings: list[Note] = field(default_factory=list, init=False)
    #: Values the step plans or records (see :class:`Outcome`).
    revisions: Heads | None = field(default=None, init=False)
    target_revisions: Heads | None = field(default=None, init=False)
    steps: bool = field(default=False, init=False)
    revisions_unknown: bool = field(default=False, init=False)

    def __post_init__(self) -> None:
        if self.kind not in get_args(Kind):
            raise ValueError(f"The kind '{self.kind}' is not one of {get_args(Kind)}.")
        if self.state in _RECORDED and self.heads is None:
            raise ValueError(
                f"A lifecycle restored in {self.state.name} needs the heads recorded in "
                "Terraform's state (an empty collection for an empty version table)."
            )
        self.heads = as_heads(self.heads)
        self.target_heads = as_heads(self.target_heads)
        self.planned_from = as_heads(self.planned_from)
        MACHINES[self.kind].bind(self, self.state)

    @classmethod
    def restore(cls, snapshot: ResourceSnapshot) -> ResourceLifecycle:
        """Rebuild the lifecycle a handler saved with ``snapshot()``."""
        return cls(
            snapshot.kind,
            snapshot.state,
            heads=snapshot.heads,
            target_heads=snapshot.target_heads,
            planned_from=snapshot.planned_from,
            decision=snapshot.decision,
            from_refresh=snapshot.from_refresh,
            unread=snapshot.unread,
            configured_target=snapshot.configured_target,
        )

    def snapshot(self) -> ResourceSnapshot:
        """Return what must survive until the next RPC."""
        return ResourceSnapshot(
            self.kind,
            self.state,
            self.heads,
            self.target_heads,
            self.planned_from,
            self.decision,
            self.from_refresh,
            self.unread,
            self.configured_target,
        )

    @property
    def outcome(self) -> Outcome:
        """What the last step decided, for the handler to carry out as given."""
        notes = list(self.warnings)
        if self.error is not None:
            notes.append(
                Note(
                    "error",
                    self.error_summary or "Migration Failed",
                    self.error,
                    self.error_attribute,
                )
            )
        return Outcome(
            actions=self.pending,
            notes=tuple(notes),
            exists=self.state not in (S.ABSENT, S.GONE),
            unknown=self.decision is Decision.UNKNOWN
            and self.state in (S.PLANNED_CREATE, S.PLANNED_UPDATE),
            revisions=self.revisions,
            target_revisions=self.target_revisions,
            steps=self.steps,
            moves_to=self.planned_heads if self.pending_writes else None,
            refreshed=self.from_refresh,
            revisions_unknown=self.revisions_unknown,
            starts_from=self.planned_from if self._applies_a_plan else None,
        )

    @property
    def planned_heads(self) -> Heads | None:
        """The heads applying the current plan leaves the database at (the planned revision).

        The target for a plan that writes, the database's heads for one that does not (a stamp
        that does not follow new revisions), None while the plan is unknown or failed.
        """
        if self.decision in WRITES:
            return self.target_heads
        if self.decision in (Decision.NOOP, Decision.FORGET):
            return self.planned_from
        return None

    @property
    def pending_writes(self) -> bool:
        """The current plan decided a write (the apply will run or stamp revisions)."""
        return self.decision in WRITES

    @property
    def _applies_a_plan(self) -> bool:
        """The current plan writes, or is a create or update still to apply that writes nothing."""
        planned = self.state in (S.PLANNED_CREATE, S.PLANNED_UPDATE)
        return self.pending_writes or (planned and self.decision is Decision.NOOP)

    @property
    def revision_reached(self) -> Heads | None:
        """The heads a failed apply left the database at; set exactly in PARTIAL."""
        return self.heads if self.state is State.PARTIAL else None

    # Triggers: declarations only; the machine binds the real ones (model_override).

    def refreshed(
        self,
        *,
        known: bool = True,
        error: str | None = None,
        error_summary: str | None = None,
        error_detail: str | None = None,
        error_kind: str | None = None,
        error_attribute: tuple[str, ...] = (),
        db_heads: Iterable[str] | None = None,
        target_heads: Iterable[str] | None = None,
        stamp_heads: Iterable[str] | None = None,
        target_revisions: Iterable[str] | None = None,
        recorded_target_revisions: Iterable[str] | None = None,
        reached: bool = False,
    ) -> bool:
        """ReadResource read the database's heads and resolved the target, or could not.

        :param known: false when an input is unknown, so nothing could be read.
        :param error: why reading failed; ``error_kind`` ``"target"`` when only the target did
            not resolve (``db_heads`` then still holds the database's heads), ``"database"``
            when the database could not be reached.
        :param reached: every target revision is one of the database's heads or an ancestor
            of one (the database is at or past the target).
        """
        return unbound()

    def planned(
        self,
        *,
        known: bool = True,
        error: str | None = None,
        error_summary: str | None = None,
        error_detail: str | None = None,
        error_kind: str | None = None,
        error_attribute: tuple[str, ...] = (),
        db_heads: Iterable[str] | None = None,
        start_heads: Iterable[str] | None = None,
        target_heads: Iterable[str] | None = None,
        stamp_heads: Iterable[str] | None = None,
        target_revisions: Iterable[str] | None = None,
        recorded_heads: Iterable[str] | None = None,
        recorded_target_revisions: Iterable[str] | None = None,
        downgrades: Iterable[str] = (),
        allow_downgrade: bool = False,
        target_changed: bool = False,
        same_connection: bool = True,
        explained: bool = False,
        others_moved: bool = False,
        others_branches: bool = False,
        others_unreachable: bool = False,
        reached: bool = False,
        has_migrations: bool = True,
        project_root: str = "",
        destroy_target: str | None = None,
        destroy_error: str | None = None,
        review: Iterable[RevisionReview] = (),
        review_error: str | None = None,
        review_sizes_error: str | None = None,
        compare_models: bool = False,
        model_differences: Iterable[str] = (),
        models_without_metadata: bool = False,
        model_server_defaults: bool = False,
        model_diff_error: str | None = None,
    ) -> bool:
        """PlanResourceChange gathered its facts.

        :param known: false when an input (URL, target, project path ...) is unknown until apply;
            then nothing else is needed and the database is not read.
        :param error: why the facts could not be read; with ``error_kind`` ``"database"`` on a
            create, the other facts come from the script directory alone (the database may be
            created in the same apply).
        :param start_heads: where the other resources this one depends on leave the database
            (it acts after them); the plan starts there instead of at ``db_heads``, and apply
            expects to find the database there.
        :param downgrades: the revisions moving to the target would undo, in order.
        :param target_changed: ``target`` itself differs from the prior state.
        :param same_connection: the recorded heads were read with the settings this plan uses.
        :param explained: other resources' planned moves take the database from the recorded
            heads to where it is now.
        :param others_moved: the database differs from the recorded heads only on branches
            other resources of the plan move.
        :param others_branches: the script has branches unrelated to the target; a write then
            plans the database's heads as known only after apply.
        :param others_unreachable: another resource of this plan cannot reach its database
            either, so which one acts first on what may be one database is unknown.
        :param reached: the database is at or past the target (see ``refreshed``).
        :param has_migrations: the script directory has revision files.
        :param destroy_target: the configured ``on_destroy``; ``destroy_error`` says why it
            names no revision of the script directory.
        :param review: each pending revision the review found something in, in the order
            they run; an upgrade warns once per revision (a stamp runs none of them).
        :param review_error: why the pending revisions could not be reviewed.
        :param review_sizes_error: why the sizes of the tables they touch could not be read.
        :param compare_models: ``compare_models`` is on; at the target, ``model_differences``
            words each difference between env.py's ``target_metadata`` and the database,
            ``models_without_metadata`` says env.py has none, ``model_server_defaults`` that
            server defaults were compared, ``model_diff_error`` why nothing could be compared.
        """
        return unbound()

    def values_planned(self, *, equal_to_prior: bool) -> bool:
        """PlanResourceChange filled the planned values; ``equal_to_prior`` compares them with
        the prior state, as Terraform will before it calls apply."""
        return unbound()

    def apply_started(
        self,
        *,
        db_heads: Iterable[str] | None,
        error: str | None = None,
        error_summary: str | None = None,
        error_detail: str | None = None,
        error_kind: str | None = None,
        error_attribute: tuple[str, ...] = (),
        others_moved: bool = False,
    ) -> bool:
        """ApplyResourceChange re-read the database's heads before writing, or could not.

        :param others_moved: the database differs from where the plan found it only on
            branches unrelated to the target (other resources applying in parallel).
        """
        return unbound()

    def apply_succeeded(
        self, *, heads_reached: Iterable[str] | None = None, others_moved: bool = False
    ) -> bool:
        """Every action ran; ``heads_reached`` is what the last one left (None: none ran).

        :param others_moved: the heads reached differ from the planned ones only on branches
            unrelated to the target, which other resources moved meanwhile.
        """
        return unbound()

    def apply_failed(
        self,
        *,
        heads_reached: Iterable[str],
        message: str,
        error_summary: str | None = None,
        error_detail: str | None = None,
    ) -> bool:
        """An action failed; ``heads_reached`` is re-read from the database after the failure."""
        return unbound()

    def destroy_planned(
        self,
        *,
        known: bool = True,
        error: str | None = None,
        error_summary: str | None = None,
        error_detail: str | None = None,
        error_kind: str | None = None,
        error_attribute: tuple[str, ...] = (),
        destroy_target: str | None = None,
        target_heads: Iterable[str] | None = None,
        db_heads: Iterable[str] | None = None,
        downgrades: Iterable[str] = (),
        undone: Iterable[str] = (),
    ) -> bool:
        """A destroy is planned (by Terraform 1.3+ in the plan, by every version at apply).

        :param destroy_target: the configured ``on_destroy``, or None to keep the database.
        :param target_heads: ``on_destroy`` resolved; with ``db_heads``, ``downgrades`` and
            ``undone`` (each revision worded for a message), read only when it is set.
        """
        return unbound()

    def destroy_started(self) -> bool:
        """ApplyResourceChange began the destroy it planned."""
        return unbound()

    def destroyed(self) -> bool:
        """The destroy finished."""
        return unbound()

    def destroy_failed(
        self,
        *,
        heads_reached: Iterable[str],
        message: str,
        error_summary: str | None = None,
        error_detail: str | None = None,
    ) -> bool:
        """The ``on_destroy`` downgrade failed part-way."""
        return unbound()

    def import_started(self) -> bool:
        """ImportResourceState began."""
        return unbound()

    def imported(
        self,
        *,
        db_heads: Iterable[str] | None = None,
        target_revisions: Iterable[str] | None = None,
        error: str | None = None,
        error_summary: str | None = None,
        error_detail: str | None = None,
        error_kind: str | None = None,
        error_attribute: tuple[str, ...] = (),
    ) -> bool:
        """The import read the database's heads, or could not (``error``)."""
        return unbound()

    trigger = may_trigger = unbound
    may_values_planned = unbound
    may_refreshed = may_planned = may_apply_started = may_apply_succeeded = unbound
    may_apply_failed = may_destroy_planned = may_destroy_started = may_destroyed = unbound
    may_destroy_failed = may_import_started = may_imported = unbound
    is_ABSENT = is_PLANNED_CREATE = is_CREATING = is_PRESENT = is_DRIFTED = unbound  # noqa: N815
    is_PLANNED_UPDATE = is_UPDATING = is_PARTIAL = is_PLANNED_DELETE = is_DELETING = unbound  # noqa: N815
    is_IMPORTING = is_GONE = unbound  # noqa: N815

    # Guards: read only the event's facts and the model's fields.

    def is_unknown(self, event: EventData) -> bool:
        """An input is unknown until apply: plan unknown values, read nothing."""
        return not Facts.of(event).known

    def has_error(self, event: EventData) -> bool:
        """The handler could not establish a fact (it says why)."""
        return Facts.of(event).error is not None

    def is_target_error(self, event: EventData) -> bool:
        """The target (or ``on_destroy``) names no revision, or several heads ambiguously."""
        return Facts.of(event).error_kind == "target"

    def is_unreachable(self, event: EventData) -> bool:
        """The database could not be reached, or does not exist, with these settings."""
        return Facts.of(event).error_kind in NOT_THERE_YET

    def is_unreadable(self, event: EventData) -> bool:
        """These settings do not reach the database: env.py, the driver or the server failed."""
        return Facts.of(event).error_kind in UNREADABLE

    def is_unread(self, event: EventData) -> bool:
        """Imported without a read: the configuration's settings arrive with the first plan."""
        return self.unread

    def has_destroy_error(self, event: EventData) -> bool:
        """``on_destroy`` names no revision of the script directory."""
        return Facts.of(event).destroy_error is not None

    def is_unusable(self, event: EventData) -> bool:
        """A failure other than a database that may not exist yet stops the plan first."""
        facts = Facts.of(event)
        return facts.error is not None and facts.error_kind not in NOT_THERE_YET

    def has_others_unreachable(self, event: EventData) -> bool:
        """Another resource of this plan cannot reach its database either."""
        return Facts.of(event).others_unreachable

    def is_at_target(self, event: EventData) -> bool:
        """The database's heads (where the plan starts) are exactly the target's."""
        facts = Facts.of(event)
        return need(facts.from_heads, "db_heads") == self._target(facts)

    def has_reached_target(self, event: EventData) -> bool:
        """The database is at or past the target: a stamp there has nothing left to mark."""
        return Facts.of(event).reached

    def has_target_changed(self, event: EventData) -> bool:
        """The configured ``target`` changed; the only reason a stamp stamps again."""
        return Facts.of(event).target_changed

    def has_downgrades(self, event: EventData) -> bool:
        """Reaching the target would undo revisions."""
        return bool(Facts.of(event).downgrades)

    def can_downgrade(self, event: EventData) -> bool:
        """The configuration allows a downgrade."""
        return Facts.of(event).allow_downgrade

    def has_db_moved(self, event: EventData) -> bool:
        """The database's heads differ from the ones last recorded."""
        return self.heads is not None and Facts.of(event).db_heads != self.heads

    def has_db_moved_since_refresh(self, event: EventData) -> bool:
        """A refresh recorded the heads with these settings, and the database left them.

        Terraform plans again right before applying a saved plan, and that plan must find the
        database where the refresh did; moves other resources of the plan make are expected.
        """
        facts = Facts.of(event)
        return (
            self.from_refresh
            and facts.same_connection
            and not facts.explained
            and not facts.others_moved
            and self.has_db_moved(event)
        )

    def is_equal_to_prior(self, event: EventData) -> bool:
        """The planned values equal the prior state, so Terraform will not call apply."""
        return Facts.of(event).equal_to_prior

    def has_others_moved(self, event: EventData) -> bool:
        """The database differs from what this resource expects only on other branches."""
        return Facts.of(event).others_moved

    def is_plan_incomplete(self, event: EventData) -> bool:
        """Apply was given a plan that decided nothing it could run."""
        return self.decision in (None, Decision.UNKNOWN, Decision.ERROR)

    def has_db_moved_since_plan(self, event: EventData) -> bool:
        """The database is not where the plan found it (or was not read)."""
        db_heads = Facts.of(event).db_heads
        return db_heads is None or db_heads != self.planned_from

    def is_noop_plan(self, event: EventData) -> bool:
        """The plan writes nothing: the planned values already hold what to record."""
        return self.decision is Decision.NOOP

    def is_at_planned_target(self, event: EventData) -> bool:
        """The apply left the database exactly where the plan said it would."""
        return self._reached(Facts.of(event)) == self.planned_heads

    def has_blocked_findings(self, event: EventData) -> bool:
        """The review policy's ``block`` names a finding of a pending revision."""
        return any(reviewed.blocked for reviewed in Facts.of(event).review)

    def has_destroy_target(self, event: EventData) -> bool:
        """``on_destroy`` asks for a downgrade instead of keeping the database."""
        return Facts.of(event).destroy_target is not None

    # Callbacks: record decisions on the model, nothing else.

    def start_step(self, event: EventData) -> None:
        """Clear the previous step's outputs; runs before every transition."""
        self.pending = ()
        self.error = None
        self.error_summary = None
        self.error_attribute = ()
        self.warnings = []
        self.revisions = None
        self.target_revisions = None
        self.steps = False
        self.revisions_unknown = False

    def _target(self, facts: Facts) -> Heads:
        """The heads this kind's write leaves the database at."""
        heads: Heads | None = getattr(facts, _TARGET_FACT[self.kind])
        return need(heads, "target_heads")

    def _reached(self, facts: Facts) -> Heads | None:
        """Where the apply left the database; where it was when no action ran."""
        return self.planned_from if facts.heads_reached is None else facts.heads_reached

    def _warn(self, summary: str, detail: str, attribute: tuple[str, ...] = ()) -> None:
        self.warnings.append(Note("warning", summary, detail, attribute))

    def _fail(self, summary: str, detail: str, attribute: tuple[str, ...] = ()) -> None:
        self.error_summary = summary
        self.error = detail
        self.error_attribute = attribute

    def _fail_with(self, facts: Facts, default_summary: str) -> None:
        """Report the failure the handler observed, in its own words."""
        self._fail(
            facts.error_summary or default_summary,
            facts.error_detail or facts.error or facts.message,
            facts.error_attribute,
        )

    def _plan(self, event: EventData, decision: Decision) -> None:
        facts = Facts.of(event)
        self.decision = decision
        self.planned_from = facts.from_heads
        self.target_heads = None if facts.target_heads is None else self._target(facts)
        self.from_refresh = False
        self.unread = False

    def _plan_values(self, facts: Facts, revisions: Heads | None, target: Heads | None) -> None:
        self.revisions = revisions
        self.target_revisions = target
        if not facts.has_migrations:
            self._warn(
                "No Migrations Yet",
                f"The Alembic project in '{facts.project_root}' has no revision files, so there "
                "is no migration to run and the database is left as it is. Create the first one "
                "with 'alembic revision -m \"...\"' in that directory; the next plan shows it.",
            )

    def keep_values(self, event: EventData) -> None:
        """Nothing could be read: the state stays as it is."""

    def keep_unread(self, event: EventData) -> None:
        """An import without a read: the configuration's settings come with the first plan."""

    def record_heads_only(self, event: EventData) -> None:
        """The target does not resolve (the plan reports it): record the database's heads.

        They were read by this refresh like any others, so a plan that finds the database
        elsewhere later refuses as after any refresh; the resolved target stays the last one.
        """
        db_heads = Facts.of(event).db_heads
        self.heads = self.heads if db_heads is None else db_heads
        self.revisions = self.heads
        self.from_refresh = db_heads is not None
        self.unread = False

    def refuse_unreachable(self, event: EventData) -> None:
        """The resource is in Terraform's state, so its database must be reachable."""
        facts = Facts.of(event)
        self._fail(
            facts.error_summary or _NOT_REACHABLE,
            f"The database of this resource could not be read: {facts.error}\n\n"
            "Terraform's state says the resource exists, so its database must be reachable to "
            "refresh it. Check the connection (url, environment, the proxy settings, whether the "
            "server is running). If the database was removed on purpose, remove the resource "
            "from the state with 'terraform state rm ADDRESS'.",
        )

    def report_error(self, event: EventData) -> None:
        self._fail_with(Facts.of(event), "Provider Error")

    def warn_unreachable(self, event: EventData) -> None:
        """Only a database that may not exist yet (no server answers, no database of that name)
        is planned from an empty version table; its heading says which of the two it is."""
        facts = Facts.of(event)
        self._warn(
            facts.error_summary or _NOT_REACHABLE,
            f"The database could not be read: {facts.error}\n\nThe plan assumes the "
            "database is created in this apply (for example by another resource) and starts "
            "from an empty version table, so it runs every migration up to the target. If the "
            "database should exist already, fix the connection before applying.",
        )

    def warn_unreachable_unknown(self, event: EventData) -> None:
        facts = Facts.of(event)
        self._warn(
            facts.error_summary or _NOT_REACHABLE,
            f"The database could not be read: {facts.error}\n\nAnother resource of "
            "this plan acts on a database that cannot be reached either, and whether it is the "
            "same one cannot be told yet, so this plan's revisions are known only after apply.",
        )

    def plan_unknown(self, event: EventData) -> None:
        """Unknown computed values, no database access."""
        self._plan(event, Decision.UNKNOWN)

    def plan_error(self, event: EventData) -> None:
        self._plan(event, Decision.ERROR)
        facts = Facts.of(event)
        self._fail(
            facts.error_summary or "Invalid Target Revision",
            facts.error_detail or facts.error or "",
            ("target",),
        )

    def plan_destroy_error(self, event: EventData) -> None:
        """``on_destroy`` names no revision: the error points at it, not at ``target``."""
        self._plan(event, Decision.ERROR)
        facts = Facts.of(event)
        self._fail(
            facts.error_summary or "Invalid On Destroy Revision",
            facts.error_detail or facts.error or "",
            ("on_destroy",),
        )

    def refuse_destroy_target(self, event: EventData) -> None:
        """A typo in ``on_destroy`` is found when it is planned, not when the destroy runs."""
        self._plan(event, Decision.ERROR)
        facts = Facts.of(event)
        self._fail(
            "Invalid On Destroy Revision",
            f"on_destroy names '{facts.destroy_target}', which is not a revision of the project "
            f"in '{facts.project_root}', so destroying this resource could not downgrade the "
            f"database: {facts.destroy_error}\n\nName a revision id, a branch label or 'base' "
            "in on_destroy, or remove it to keep the database on destroy.",
            ("on_destroy",),
        )

    def plan_destroy_failure(self, event: EventData) -> None:
        """The destroy could not read the database: nothing is destroyed, and the heads the
        state keeps are no longer the ones a refresh just read (an apply returns them)."""
        self._plan(event, Decision.ERROR)
        self._fail_with(Facts.of(event), "Provider Error")

    def plan_noop(self, event: EventData) -> None:
        """Nothing to write. What other resources of the database move is not this one's change:
        the recorded heads stay (until a refresh reads the new ones) when the database moved
        only on their branches."""
        self._plan(event, Decision.NOOP)
        facts = Facts.of(event)
        keep = facts.others_moved and facts.recorded_heads is not None
        self._plan_values(
            facts, facts.recorded_heads if keep else facts.from_heads, facts.target_revisions
        )

    def plan_noop_stamped(self, event: EventData) -> None:
        """Nothing to stamp: a stamp keeps the revisions it stamped while the database is at or
        past them, so a plan after new revision files (or other resources' moves) stays empty."""
        self._plan(event, Decision.NOOP)
        facts = Facts.of(event)
        keep = (facts.reached or facts.others_moved) and facts.recorded_heads is not None
        recorded = facts.recorded_target_revisions
        self._plan_values(
            facts,
            facts.recorded_heads if keep else facts.from_heads,
            facts.target_revisions if recorded is None else recorded,
        )

    def _plan_write(self, event: EventData, decision: Decision, *, steps: bool) -> None:
        """Plan a write. Migrations (``steps``) run alongside other resources moving the
        script's other branches, before or while this one applies, in an order the plan cannot
        know: the database's heads after the apply are then known only after it."""
        self._plan(event, decision)
        facts = Facts.of(event)
        self._plan_values(facts, self.target_heads, facts.target_revisions)
        self.steps = steps
        self.revisions_unknown = steps and facts.others_branches

    def plan_upgrade(self, event: EventData) -> None:
        """Upgrade; say what the review found in the pending revisions, one warning each."""
        self._plan_write(event, Decision.UPGRADE, steps=True)
        self._warn_review(Facts.of(event))

    def refuse_review(self, event: EventData) -> None:
        """The review policy blocks a finding: no plan, the findings it blocks as the error."""
        self._plan(event, Decision.ERROR)
        facts = Facts.of(event)
        self._warn_review(facts)
        blocked = [
            f"Revision '{r.revision}'"
            + (f" ({r.message})" if r.message else "")
            + ":\n"
            + "\n".join(r.blocked)
            for r in facts.review
            if r.blocked
        ]
        self._fail(
            "Migration Blocked By Review",
            "The review policy (review.block) blocks these findings of the pending "
            "migrations:\n" + "\n\n".join(blocked) + "\n\nChange the migration the safer way, "
            "waive the finding with '# alembic-review: ignore CODE -- reason' on its line of "
            "the revision file, or remove it from review.block.",
        )

    def _warn_review(self, facts: Facts) -> None:
        for reviewed in facts.review:
            if not reviewed.findings:
                continue
            about = f" ({reviewed.message})" if reviewed.message else ""
            # Terraform folds warnings with one summary into the first: each revision's own.
            self._warn(
                f"{_REVIEWED} Of Revision '{reviewed.revision}'",
                f"Revision '{reviewed.revision}'{about} was reviewed before it runs:\n"
                + "\n".join(reviewed.findings),
            )
        waived = [f"'{r.revision}' {code}" for r in facts.review for code in r.waived]
        if waived:
            self._warn(
                "Migration Review Waivers",
                f"{len(waived)} finding{'s' if len(waived) > 1 else ''} of the review "
                f"{'are' if len(waived) > 1 else 'is'} waived by alembic-review comments in "
                f"the revision files: {', '.join(waived)}.",
            )
        if facts.review_sizes_error is not None and any(r.findings for r in facts.review):
            self._warn(
                "Table Sizes Unavailable",
                "The review could not read the sizes of the tables the pending migrations touch "
                f"from the database's statistics: {facts.review_sizes_error} The findings are "
                "shown without them.",
            )
        if facts.review_error is not None:
            self._warn(
                _REVIEWED,
                f"The pending revisions could not be reviewed: {facts.review_error} The plan is "
                "still valid; read the pending revisions before applying.",
            )

    def compare_models(self, event: EventData) -> None:
        """At the target with ``compare_models`` on: say how env.py's models differ from the
        database, or why they could not be compared."""
        facts = Facts.of(event)
        if not facts.compare_models:
            return
        if facts.model_diff_error is not None:
            self._warn(
                "Models Not Compared",
                f"The models could not be compared with the database: {facts.model_diff_error}",
                ("compare_models",),
            )
        elif facts.models_without_metadata:
            self._warn(
                "Models Not Compared",
                "compare_models is on, but env.py passes no target_metadata to "
                "context.configure(), so there is nothing to compare the database with. Import "
                "your models' MetaData in env.py and pass it, for example 'from myapp.models "
                "import Base' and 'context.configure(connection=connection, "
                "target_metadata=Base.metadata)', or set compare_models = false.",
                ("compare_models",),
            )
        elif facts.model_differences:
            defaults = (
                ""
                if facts.model_server_defaults
                else "\n\nServer defaults were not compared: env.py does not set "
                "compare_server_default=True."
            )
            self._warn(
                "Models Differ From Database",
                "The database is at its target revision, but its schema differs from env.py's "
                "target_metadata (as 'alembic check' would say):\n"
                + "\n".join(f"- {line}" for line in facts.model_differences)
                + "\n\nA migration is missing for these changes, or the models are out of "
                "date; 'alembic revision --autogenerate' drafts the migration." + defaults,
            )

    def defer_models(self, event: EventData) -> None:
        """Not at the target yet: the models are compared once the migrations have run."""
        if Facts.of(event).compare_models:
            self._warn(
                _MODELS,
                "The database is not at its target revision yet, so its schema is compared "
                "with env.py's target_metadata by the first plan after the apply.",
            )

    def plan_downgrade(self, event: EventData) -> None:
        self._plan_write(event, Decision.DOWNGRADE, steps=True)

    def plan_stamp(self, event: EventData) -> None:
        self._plan_write(event, Decision.STAMP, steps=False)

    def plan_forget(self, event: EventData) -> None:
        self._plan(event, Decision.FORGET)

    def plan_destroy_downgrade(self, event: EventData) -> None:
        """``on_destroy`` downgrades: say which revisions it undoes, since a destroy plan has no
        values to show them in."""
        self._plan(event, Decision.DOWNGRADE)
        facts = Facts.of(event)
        current = ",".join(need(facts.db_heads, "db_heads")) or "base"
        self._warn(
            "Destroy Downgrades The Database",
            f"Destroying this resource downgrades the database from '{current}' to "
            f"'{facts.destroy_target}' (on_destroy), undoing {', '.join(facts.undone)}.",
        )

    def _plan_kept(self, event: EventData, why: str) -> None:
        self._plan(event, Decision.FORGET)
        self._warn(
            "Database Kept",
            f"Destroying this resource only removes it from Terraform's state: {why}, so the "
            f"database stays at {quote(self.heads)}.",
        )

    def plan_keep(self, event: EventData) -> None:
        """Without ``on_destroy`` a destroy writes nothing; the plan says so, since a destroy
        plan has no values to show it in."""
        self._plan_kept(
            event,
            "on_destroy is not set (set it to a revision id or 'base' to downgrade the database "
            "on destroy)",
        )

    def plan_keep_stamped(self, event: EventData) -> None:
        """A stamp never changes the database on destroy; the plan says so."""
        self._plan_kept(event, "alembic_stamp never changes the version table on destroy")

    def warn_moved(self, event: EventData) -> None:
        """The database left the heads Terraform recorded, and no plan of this resource moved
        it: someone ran Alembic (or SQL) by hand. Worded before the refresh records the new
        heads."""
        facts = Facts.of(event)
        since = "Terraform last read it" if self.from_refresh else "the last apply"
        self._warn(
            "Database Moved Outside Terraform",
            f"The database is at {quote(facts.db_heads)}, but the state recorded "
            f"{quote(self.heads)}: it was moved outside Terraform since {since} (for example "
            "by 'alembic downgrade' or 'alembic upgrade' run by hand). The plan moves it back "
            f"to the target {quote(self._target(facts))}; to keep it where it is, change target.",
        )

    def keep_partial(self, event: EventData) -> None:
        """A failed apply left the database part-way: destroying never downgrades it further.

        Terraform replaces a resource whose create failed, and a replace begins with a destroy;
        an ``on_destroy`` downgrade there would undo migrations the next create is about to run.
        """
        self._plan(event, Decision.FORGET)
        self._warn(
            "Database Kept",
            f"The database is at {quote(self.heads)} after a failed apply, so on_destroy does "
            "not downgrade it; the resource is only removed from Terraform's state.",
        )

    def refuse_downgrade(self, event: EventData) -> None:
        self._plan(event, Decision.ERROR)
        facts = Facts.of(event)
        self._fail(
            "Downgrade Not Allowed",
            f"The target {quote(self.target_heads)} is behind the database at "
            f"{quote(facts.from_heads)}, and allow_downgrade is false. Set allow_downgrade = true "
            "to downgrade the database, or choose a target at or after its revision.",
            ("target",),
        )

    def _record_refresh(self, facts: Facts, target_revisions: Heads | None) -> None:
        self.heads = facts.db_heads
        self.target_heads = self._target(facts)
        self.from_refresh = True
        self.unread = False
        self.revisions = facts.db_heads
        self.target_revisions = target_revisions

    def record_refresh(self, event: EventData) -> None:
        facts = Facts.of(event)
        self._record_refresh(facts, facts.target_revisions)

    def record_refresh_stamped(self, event: EventData) -> None:
        """A stamp's ``target_revisions`` stay the revisions it stamped."""
        facts = Facts.of(event)
        recorded = facts.recorded_target_revisions
        self._record_refresh(facts, facts.target_revisions if recorded is None else recorded)

    def warn_stamp_behind(self, event: EventData) -> None:
        facts = Facts.of(event)
        self._warn(
            "Database Not At Target",
            f"The database is at {quote(facts.db_heads)} but the target resolves to "
            f"{quote(self._target(facts))}, which it has not reached. alembic_stamp does not "
            "stamp again when revisions are added or the database moves; run new migrations "
            "with alembic_upgrade, or change target to stamp again.",
        )
        self.record_refresh_stamped(event)

    def record_pending(self, event: EventData) -> None:
        """Turn the plan's decision into the writes apply runs; the only place writes appear."""
        verb = WRITES.get(self.decision) if self.decision is not None else None
        if verb is not None:
            self.pending = (Action(verb, need(self.target_heads, "target_heads")),)

    def _keep_heads(self, event: EventData) -> None:
        db_heads = Facts.of(event).db_heads
        self.heads = db_heads if db_heads is not None else self.heads
        self.revisions = self.heads

    def refuse_without_plan(self, event: EventData) -> None:
        self.revisions = self.heads
        self._fail(
            "Invalid Request",
            f"The ApplyResourceChange request for an 'alembic_{self.kind}' carries no plan of "
            "this provider in its 'planned_private' value, so what was planned is unknown. Run "
            "'terraform plan' again and apply the new plan.",
        )

    def refuse(self, event: EventData) -> None:
        self._keep_heads(event)
        self._fail_with(Facts.of(event), _NOT_AS_PLANNED)

    def refuse_incomplete(self, event: EventData) -> None:
        self._keep_heads(event)
        decision = "none" if self.decision is None else self.decision.value
        self._fail(
            _NOT_AS_PLANNED,
            f"Apply started from a plan whose decision is '{decision}', so nothing was applied. "
            "This is a bug in the provider; please report it.",
        )

    def refuse_moved_since_refresh(self, event: EventData) -> None:
        self._plan(event, Decision.ERROR)
        self._fail(
            "Database Moved",
            f"The database moved from {quote(self.heads)} to {quote(Facts.of(event).db_heads)} "
            "after Terraform last read it (after the plan was made, or by hand since the last "
            "refresh), so nothing was planned or applied. Run terraform plan (or apply) again to "
            "plan from the database's current revision.",
        )

    def refuse_moved(self, event: EventData) -> None:
        self._keep_heads(event)
        self._fail(
            _NOT_AS_PLANNED,
            f"The database moved from {quote(self.planned_from)} to "
            f"{quote(Facts.of(event).db_heads)} after the plan was made, on the branch of "
            "this resource's target, so nothing was applied. Run terraform apply again to plan "
            "from the database's current revision. If another resource acts on the same branch "
            "of this database, order the two with depends_on: Terraform applies resources "
            "without it in parallel.",
        )

    def keep_planned(self, event: EventData) -> None:
        """A plan that writes nothing already holds the values it records."""
        self.heads = self._reached(Facts.of(event))

    def record_reached(self, event: EventData) -> None:
        self.heads = self._reached(Facts.of(event))
        self.revisions = self.heads

    def record_shortfall(self, event: EventData) -> None:
        reached = self._reached(Facts.of(event))
        self.heads = reached
        self.revisions = reached
        self._fail(
            _NOT_AS_PLANNED,
            f"The apply finished at {quote(reached)}, but the plan expected "
            f"{quote(self.planned_heads)}; the state records the revision the database reached.",
        )

    def record_failure(self, event: EventData) -> None:
        facts = Facts.of(event)
        self.heads = need(facts.heads_reached, "heads_reached")
        self.revisions = self.heads
        self._fail_with(facts, "Migration Failed")

    def record_unread_import(self, event: EventData) -> None:
        """Terraform gives import no configuration: a resource whose own ``url``,
        ``environment`` or ``python`` reach the database is read by the first plan."""
        self.heads = ()
        self.unread = True

    def record_import(self, event: EventData) -> None:
        facts = Facts.of(event)
        self.heads = need(facts.db_heads, "db_heads")
        self.unread = False
        self.revisions = self.heads
        self.target_revisions = facts.target_revisions


MACHINES: dict[Kind, StrictMachine] = {
    kind: StrictMachine(
        name=f"alembic_{kind}",
        states=State,
        initial=State.ABSENT,
        transitions=table,
        before_state_change="start_step",
    )
    for kind, table in TABLES.items()
}
"""One machine definition per kind; ``ResourceLifecycle`` binds to its kind's on creation."""
