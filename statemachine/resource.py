# ruff: noqa: E501
"""Lifecycle of one managed resource (``alembic_upgrade`` or ``alembic_stamp``) across Terraform's RPCs.

The machine decides; the resource handler acts. A handler restores a ``ResourceLifecycle`` in the
state it kept in private state, fires the fact it observed as a trigger (past tense, facts as
keyword arguments), reads what the machine decided, executes it, and fires the outcome:

- PlanResourceChange: ``planned(...)`` or ``destroy_planned(...)``, then read ``decision``
  (no-op, upgrade, downgrade, stamp, unknown, error, forget), ``error`` and ``planned_heads``
  (the planned revision: the target when the plan writes, the database's heads when it does not).
- ApplyResourceChange: ``apply_started(db_heads=...)``, run every ``Action`` in ``pending``, then
  ``apply_succeeded(heads_reached=...)`` or ``apply_failed(heads_reached=..., message=...)``;
  for a destroy ``destroy_started(...)`` then ``destroyed()`` or ``destroy_failed(...)``.
- ReadResource: ``refreshed(db_heads=..., target_heads=...)``, then read ``state``, ``heads`` and
  ``warnings``. ImportResourceState: ``import_started()`` then ``imported(db_heads=...)``.

The rules live in the guards below: a downgrade needs ``allow_downgrade``; an ``alembic_stamp``
is satisfied once the database is at or past its target (the target is an ancestor of the
database's heads, as after the migrations that follow a baseline ran); it never stamps again
because revisions were added or the database moved (a database behind the target or on an
unrelated branch is a warning), only a changed ``target`` the database has not reached stamps again; unknown inputs plan unknown values without touching the
database; and only ``apply_started``/``destroy_started`` ever put a write into ``pending``.
Every trigger either takes an edge or raises ``MachineError``; ``may_<trigger>(...)`` asks first.

>>> life = ResourceLifecycle("upgrade")
>>> life.planned(db_heads=[], target_heads=["a1"])
True
>>> life.state, life.decision
(<State.PLANNED_CREATE: 'planned-create'>, <Decision.UPGRADE: 'upgrade'>)
>>> life.apply_started(db_heads=[])
True
>>> life.pending
(Action(verb='upgrade', target=('a1',)),)
>>> life.apply_failed(heads_reached=["a0"], message="migration a1 failed")
True
>>> life.state, life.revision_reached, life.pending
(<State.PARTIAL: 'partial'>, ('a0',), ())

Models are bound to one machine built at import (``transitions``' shared-machine pattern) and
released at once, so creating one per RPC is cheap and nothing is retained.

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
    WRITES,
    Action,
    Decision,
    Facts,
    Heads,
    Kind,
    as_heads,
    need,
    quote,
)
from statemachine._strict import StrictMachine, edge, unbound

if TYPE_CHECKING:
    from transitions.core import EventData, TransitionConfigDict

__all__ = [
    "MACHINE",
    "TERMINAL",
    "TRANSITIONS",
    "Action",
    "Decision",
    "Heads",
    "Kind",
    "ResourceLifecycle",
    "ResourceSnapshot",
    "State",
    "recorded_heads",
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
TRANSITIONS: list[TransitionConfigDict] = [
    # ReadResource: the database's heads and the target as the script directory resolves it now.
    edge("refreshed", _IN_STATE, S.PRESENT, when="is_at_target", do="record_refresh"),
    edge("refreshed", _APPLIED, S.PRESENT, when="is_satisfied_stamp", do="record_refresh"),
    edge("refreshed", _APPLIED, S.DRIFTED, when=("is_stamp", "has_db_moved"), do="warn_stamp"),
    edge("refreshed", _APPLIED, "=", when="is_stamp", do="warn_stamp"),
    edge("refreshed", _APPLIED, S.DRIFTED, do="record_refresh"),
    edge("refreshed", S.PARTIAL, S.PARTIAL, do="record_refresh"),
    # PlanResourceChange for a create.
    edge("planned", S.ABSENT, S.PLANNED_CREATE, when="is_unknown", do="plan_unknown"),
    edge("planned", S.ABSENT, "=", when="has_error", do="plan_error"),
    edge("planned", S.ABSENT, S.PLANNED_CREATE, when="is_at_target", do="plan_noop"),
    edge("planned", S.ABSENT, S.PLANNED_CREATE, when="is_satisfied_stamp", do="plan_noop"),
    edge("planned", S.ABSENT, S.PLANNED_CREATE, when="is_stamp", do="plan_stamp"),
    edge("planned", S.ABSENT, S.PLANNED_CREATE, when=("has_downgrades", "can_downgrade"), do="plan_downgrade"),
    edge("planned", S.ABSENT, "=", when="has_downgrades", do="refuse_downgrade"),
    edge("planned", S.ABSENT, S.PLANNED_CREATE, do="plan_upgrade"),
    # PlanResourceChange for a resource already in Terraform's state.
    edge("planned", _IN_STATE, S.PLANNED_UPDATE, when="is_unknown", do="plan_unknown"),
    edge("planned", _IN_STATE, "=", when="has_error", do="plan_error"),
    edge("planned", _IN_STATE, "=", when="has_db_moved_since_refresh", unless="is_satisfied_stamp", do="refuse_moved_since_refresh"),
    edge("planned", _IN_STATE, S.PLANNED_UPDATE, when=("is_at_target", "has_config_changed"), do="plan_noop"),
    edge("planned", _IN_STATE, S.PRESENT, when="is_at_target", do="plan_noop"),
    edge("planned", _IN_STATE, S.PLANNED_UPDATE, when=("is_stamp", "has_target_changed"), unless="has_reached_target", do="plan_stamp"),
    edge("planned", S.PARTIAL, S.PLANNED_UPDATE, when="is_stamp", do="plan_stamp"),
    edge("planned", _APPLIED, S.PLANNED_UPDATE, when=("is_stamp", "has_config_changed"), do="plan_noop"),
    edge("planned", _APPLIED, S.PRESENT, when="is_stamp", do="plan_noop"),
    edge("planned", _IN_STATE, S.PLANNED_UPDATE, when=("has_downgrades", "can_downgrade"), do="plan_downgrade"),
    edge("planned", _IN_STATE, "=", when="has_downgrades", do="refuse_downgrade"),
    edge("planned", _IN_STATE, S.PLANNED_UPDATE, do="plan_upgrade"),
    # PlanResourceChange filled the planned values: Terraform applies only what differs.
    edge("values_planned", S.PLANNED_UPDATE, "=", when=("has_pending_writes", "is_equal_to_prior"), do="warn_refresh_needed"),
    edge("values_planned", (S.PLANNED_CREATE, S.PLANNED_UPDATE, *_IN_STATE), "="),
    # ApplyResourceChange: check the plan still holds, then decide the writes.
    edge("apply_started", S.PLANNED_CREATE, S.ABSENT, when="has_error", do="refuse"),
    edge("apply_started", S.PLANNED_CREATE, S.ABSENT, when="is_plan_incomplete", do="refuse_incomplete"),
    edge("apply_started", S.PLANNED_CREATE, S.ABSENT, when="has_db_moved_since_plan", do="refuse_moved"),
    edge("apply_started", S.PLANNED_CREATE, S.CREATING, do="record_pending"),
    edge("apply_started", S.PLANNED_UPDATE, S.PARTIAL, when="has_error", do="refuse"),
    edge("apply_started", S.PLANNED_UPDATE, S.PARTIAL, when="is_plan_incomplete", do="refuse_incomplete"),
    edge("apply_started", S.PLANNED_UPDATE, S.PARTIAL, when="has_db_moved_since_plan", do="refuse_moved"),
    edge("apply_started", S.PLANNED_UPDATE, S.UPDATING, do="record_pending"),
    edge("apply_succeeded", _APPLYING, S.PRESENT, when="is_at_planned_target", do="record_reached"),
    edge("apply_succeeded", _APPLYING, S.PARTIAL, do="record_shortfall"),
    edge("apply_failed", _APPLYING, S.PARTIAL, do="record_failure"),
    # Destroy: PlanResourceChange with a null proposal, then ApplyResourceChange.
    edge("destroy_planned", _IN_STATE, "=", when="has_error", do="plan_error"),
    edge("destroy_planned", _IN_STATE, S.PLANNED_DELETE, when="is_stamp", do="plan_forget"),
    edge("destroy_planned", _IN_STATE, S.PLANNED_DELETE, when="is_replacing", do="plan_forget"),
    edge("destroy_planned", S.PARTIAL, S.PLANNED_DELETE, when="has_destroy_target", do="keep_partial"),
    edge("destroy_planned", _APPLIED, S.PLANNED_DELETE, when=("has_destroy_target", "has_downgrades"), do="plan_downgrade"),
    edge("destroy_planned", _IN_STATE, S.PLANNED_DELETE, do="plan_forget"),
    edge("destroy_started", S.PLANNED_DELETE, S.DELETING, when="is_forget_plan", do="record_pending"),
    edge("destroy_started", S.PLANNED_DELETE, S.PARTIAL, when="has_error", do="refuse"),
    edge("destroy_started", S.PLANNED_DELETE, S.PARTIAL, when="has_db_moved_since_plan", do="refuse_moved"),
    edge("destroy_started", S.PLANNED_DELETE, S.DELETING, do="record_pending"),
    edge("destroyed", S.DELETING, S.GONE),
    edge("destroy_failed", S.DELETING, S.PARTIAL, do="record_failure"),
    # ImportResourceState.
    edge("import_started", S.ABSENT, S.IMPORTING),
    edge("imported", S.IMPORTING, S.PRESENT, do="record_import"),
    edge("import_failed", S.IMPORTING, S.ABSENT, do="record_error"),
]
# fmt: on


def recorded_heads(recorded: Iterable[str], found: Iterable[str], *, keep: bool) -> Heads:
    """Return the heads a plan that writes nothing records: ``found``, or what was recorded.

    What another resource of the same database did is not this resource's change, so its
    recorded heads stay (until a refresh reads the database) when ``keep`` says the database
    moved only on branches unrelated to the target, or this is a stamp the database is at or
    past.
    """
    return as_heads(recorded if keep else found) or ()


_NOT_AS_PLANNED = "Migration Not Applied As Planned"

TERMINAL = frozenset({S.GONE})
"""States with no way out. A later create of the same address starts a new model at ABSENT."""


@dataclass(frozen=True)
class ResourceSnapshot:
    """What a handler keeps between RPCs (in private state) to restore the lifecycle."""

    kind: Kind
    state: State
    heads: Heads | None = None
    target_heads: Heads | None = None
    planned_from: Heads | None = None
    decision: Decision | None = None

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
            return cls(
                kind=data["kind"],
                state=State[data["state"]],
                heads=as_heads(data.get("heads")),
                target_heads=as_heads(data.get("target_heads")),
                planned_from=as_heads(data.get("planned_from")),
                decision=None if decision is None else Decision[decision],
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
    """

    kind: Kind
    state: State = State.ABSENT
    heads: Heads | None = None
    target_heads: Heads | None = None
    planned_from: Heads | None = None
    decision: Decision | None = None
    pending: tuple[Action, ...] = field(default=(), init=False)
    error: str | None = field(default=None, init=False)
    #: Short Title-Case heading for ``error``: what kind of problem stopped the step.
    error_summary: str | None = field(default=None, init=False)
    #: The configuration attribute ``error`` is about (``()`` for the resource as a whole).
    error_attribute: tuple[str, ...] = field(default=(), init=False)
    warnings: list[str] = field(default_factory=list, init=False)

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
        MACHINE.bind(self, self.state)

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
        )

    def snapshot(self) -> ResourceSnapshot:
        """Return what must survive until the next RPC."""
        return ResourceSnapshot(
            self.kind, self.state, self.heads, self.target_heads, self.planned_from, self.decision
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
    def revision_reached(self) -> Heads | None:
        """The heads a failed apply left the database at; set exactly in PARTIAL."""
        return self.heads if self.state is State.PARTIAL else None

    # Triggers: declarations only; the machine binds the real ones (model_override).

    def refreshed(
        self, *, db_heads: Iterable[str], target_heads: Iterable[str], reached: bool = False
    ) -> bool:
        """ReadResource read the database's heads and resolved the target.

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
        db_heads: Iterable[str] | None = None,
        start_heads: Iterable[str] | None = None,
        target_heads: Iterable[str] | None = None,
        downgrades: Iterable[str] = (),
        allow_downgrade: bool = False,
        config_changed: bool = False,
        target_changed: bool = False,
        recorded_by_refresh: bool = False,
        reached: bool = False,
    ) -> bool:
        """PlanResourceChange gathered its facts.

        :param known: false when an input (URL, target, project path ...) is unknown until apply;
            then nothing else is needed and the database is not read.
        :param error: why the target could not be resolved (for example multiple heads);
            ``error_summary`` its heading, when the worker gave a more precise one.
        :param start_heads: where the other resources this one depends on leave the database
            (it acts after them); the plan starts there instead of at ``db_heads``, and apply
            expects to find the database there.
        :param downgrades: the revisions moving to the target would undo, in order.
        :param config_changed: the planned object differs from the prior state (configuration or
            a recorded value), so Terraform will call apply even when the database is already
            at the target.
        :param target_changed: ``target`` itself differs from the prior state.
        :param recorded_by_refresh: the heads in the prior state were read by a refresh, not
            left by an apply; Terraform plans again right before applying a saved plan, and
            that plan must find the database where the refresh did.
        :param reached: the database is at or past the target (see ``refreshed``).
        """
        return unbound()

    def values_planned(self, *, equal_to_prior: bool, db_heads: Iterable[str]) -> bool:
        """PlanResourceChange filled the planned values; ``equal_to_prior`` compares them with
        the prior state, as Terraform will before it calls apply."""
        return unbound()

    def apply_started(self, *, db_heads: Iterable[str] | None, error: str | None = None) -> bool:
        """ApplyResourceChange re-read the database's heads before writing."""
        return unbound()

    def apply_succeeded(self, *, heads_reached: Iterable[str]) -> bool:
        """Every pending action ran; ``heads_reached`` is what the database says afterwards."""
        return unbound()

    def apply_failed(self, *, heads_reached: Iterable[str], message: str) -> bool:
        """An action failed; ``heads_reached`` is re-read from the database after the failure."""
        return unbound()

    def destroy_planned(
        self,
        *,
        error: str | None = None,
        target_heads: Iterable[str] | None = None,
        db_heads: Iterable[str] | None = None,
        downgrades: Iterable[str] = (),
        replacing: bool = False,
    ) -> bool:
        """A destroy began (Terraform plans no destroy with the provider).

        :param target_heads: the ``on_destroy`` target resolved, or None to keep the database.
        :param db_heads: needed only with ``target_heads``.
        :param replacing: this destroy is the first half of a replace; a create follows.
        """
        return unbound()

    def destroy_started(
        self, *, db_heads: Iterable[str] | None = None, error: str | None = None
    ) -> bool:
        """ApplyResourceChange began a destroy; ``db_heads`` is needed only for a downgrade."""
        return unbound()

    def destroyed(self) -> bool:
        """The destroy finished."""
        return unbound()

    def destroy_failed(self, *, heads_reached: Iterable[str], message: str) -> bool:
        """The ``on_destroy`` downgrade failed part-way."""
        return unbound()

    def import_started(self) -> bool:
        """ImportResourceState began."""
        return unbound()

    def imported(self, *, db_heads: Iterable[str]) -> bool:
        """The import read the database's heads."""
        return unbound()

    def import_failed(self, *, message: str) -> bool:
        """The import could not read the database."""
        return unbound()

    trigger = may_trigger = unbound
    may_values_planned = unbound
    may_refreshed = may_planned = may_apply_started = may_apply_succeeded = unbound
    may_apply_failed = may_destroy_planned = may_destroy_started = may_destroyed = unbound
    may_destroy_failed = may_import_started = may_imported = may_import_failed = unbound
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

    def is_at_target(self, event: EventData) -> bool:
        """The database's heads (where the plan starts) are exactly the target's."""
        facts = Facts.of(event)
        return need(facts.from_heads, "db_heads") == need(facts.target_heads, "target_heads")

    def is_stamp(self, event: EventData) -> bool:
        """This is an ``alembic_stamp``: it writes the version table, never runs migrations."""
        return self.kind == "stamp"

    def has_config_changed(self, event: EventData) -> bool:
        """Terraform will call apply because the configuration changed."""
        facts = Facts.of(event)
        return facts.config_changed or facts.target_changed

    def has_reached_target(self, event: EventData) -> bool:
        """The database is at or past the target: a stamp there has nothing left to mark."""
        return Facts.of(event).reached

    def is_satisfied_stamp(self, event: EventData) -> bool:
        """An ``alembic_stamp`` whose database is at or past its target: nothing to do or say.

        Where other resources moved the database since is not its change.
        """
        return self.is_stamp(event) and self.has_reached_target(event)

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
        """A refresh recorded the heads, and the database is no longer there."""
        facts = Facts.of(event)
        return facts.recorded_by_refresh and self.has_db_moved(event)

    def is_replacing(self, event: EventData) -> bool:
        """The destroy makes way for a new create, which continues from the database as it is."""
        return Facts.of(event).replacing

    def has_pending_writes(self, event: EventData) -> bool:
        """The current plan decided a write."""
        return self.pending_writes

    def is_equal_to_prior(self, event: EventData) -> bool:
        """The planned values equal the prior state, so Terraform will not call apply."""
        return Facts.of(event).equal_to_prior

    def is_plan_incomplete(self, event: EventData) -> bool:
        """Apply was given a plan that decided nothing it could run."""
        return self.decision in (None, Decision.UNKNOWN, Decision.ERROR)

    def has_db_moved_since_plan(self, event: EventData) -> bool:
        """The database is not where the plan found it (or was not read)."""
        db_heads = Facts.of(event).db_heads
        return db_heads is None or db_heads != self.planned_from

    def is_at_planned_target(self, event: EventData) -> bool:
        """The apply left the database exactly where the plan said it would."""
        return Facts.of(event).heads_reached == self.planned_heads

    def has_destroy_target(self, event: EventData) -> bool:
        """``on_destroy`` asks for a downgrade instead of keeping the database."""
        return Facts.of(event).target_heads is not None

    def is_forget_plan(self, event: EventData) -> bool:
        """The destroy plan only removes the resource from Terraform's state."""
        return self.decision is Decision.FORGET

    # Callbacks: record decisions on the model, nothing else.

    def start_step(self, event: EventData) -> None:
        """Clear the previous step's outputs; runs before every transition."""
        self.pending = ()
        self.error = None
        self.error_summary = None
        self.error_attribute = ()

    def _plan(self, event: EventData, decision: Decision) -> None:
        facts = Facts.of(event)
        self.decision = decision
        self.planned_from = facts.from_heads
        self.target_heads = facts.target_heads

    def plan_unknown(self, event: EventData) -> None:
        """Unknown computed values, no database access."""
        self._plan(event, Decision.UNKNOWN)

    def plan_error(self, event: EventData) -> None:
        self._plan(event, Decision.ERROR)
        facts = Facts.of(event)
        self.error = facts.error
        self.error_summary = facts.error_summary or "Invalid Target Revision"
        self.error_attribute = ("target",)

    def plan_noop(self, event: EventData) -> None:
        self._plan(event, Decision.NOOP)

    def plan_upgrade(self, event: EventData) -> None:
        self._plan(event, Decision.UPGRADE)

    def plan_downgrade(self, event: EventData) -> None:
        self._plan(event, Decision.DOWNGRADE)

    def plan_stamp(self, event: EventData) -> None:
        self._plan(event, Decision.STAMP)

    def plan_forget(self, event: EventData) -> None:
        self._plan(event, Decision.FORGET)

    def keep_partial(self, event: EventData) -> None:
        """A failed apply left the database part-way: destroying never downgrades it further.

        Terraform replaces a resource whose create failed, and a replace begins with a destroy;
        an ``on_destroy`` downgrade there would undo migrations the next create is about to run.
        """
        self._plan(event, Decision.FORGET)
        self.warnings.append(
            f"The database is at {quote(self.heads)} after a failed apply, so on_destroy does not "
            "downgrade it; the resource is only removed from Terraform's state."
        )

    def refuse_downgrade(self, event: EventData) -> None:
        self._plan(event, Decision.ERROR)
        self.error_summary = "Downgrade Not Allowed"
        self.error_attribute = ("target",)
        facts = Facts.of(event)
        self.error = (
            f"The target {quote(facts.target_heads)} is behind the database at "
            f"{quote(facts.db_heads)}, and allow_downgrade is false. Set allow_downgrade = true "
            "to downgrade the database, or choose a target at or after its revision."
        )

    def record_refresh(self, event: EventData) -> None:
        facts = Facts.of(event)
        self.heads = facts.db_heads
        self.target_heads = facts.target_heads

    def warn_stamp(self, event: EventData) -> None:
        facts = Facts.of(event)
        self.warnings.append(
            f"The database is at {quote(facts.db_heads)} but the target resolves to "
            f"{quote(facts.target_heads)}, which it has not reached. alembic_stamp does not stamp "
            "again when revisions are added or the database moves; run new migrations with "
            "alembic_upgrade, or change target to stamp again."
        )
        self.record_refresh(event)

    def record_pending(self, event: EventData) -> None:
        """Turn the plan's decision into the writes apply runs; the only place writes appear."""
        verb = WRITES.get(self.decision) if self.decision is not None else None
        if verb is not None:
            self.pending = (Action(verb, need(self.target_heads, "target_heads")),)

    def refuse(self, event: EventData) -> None:
        facts = Facts.of(event)
        self.error = facts.error
        self.error_summary = _NOT_AS_PLANNED
        self.heads = facts.db_heads if facts.db_heads is not None else self.heads

    def refuse_incomplete(self, event: EventData) -> None:
        self.refuse(event)
        decision = "none" if self.decision is None else self.decision.value
        self.error = (
            f"Apply started from a plan whose decision is '{decision}', so nothing was applied. "
            "This is a bug in the provider; please report it."
        )

    def refuse_moved_since_refresh(self, event: EventData) -> None:
        self._plan(event, Decision.ERROR)
        self.error_summary = "Database Moved"
        self.error = (
            f"The database moved from {quote(self.heads)} to {quote(Facts.of(event).db_heads)} "
            "after Terraform last read it (after the plan was made, or by hand since the last "
            "refresh), so nothing was planned or applied. Run terraform plan (or apply) again to "
            "plan from the database's current revision."
        )

    def refuse_moved(self, event: EventData) -> None:
        self.refuse(event)
        self.error = (
            f"The database moved from {quote(self.planned_from)} to "
            f"{quote(Facts.of(event).db_heads)} after the plan was made, so nothing was "
            "applied. Run terraform apply again to plan from the database's current revision."
        )

    def warn_refresh_needed(self, event: EventData) -> None:
        """A write is pending, but the stale state already shows its outcome: say so."""
        self.warnings.append(
            f"The database is at {quote(Facts.of(event).db_heads)}, but Terraform's state still "
            f"records {quote(self.heads)}, so Terraform sees nothing to apply although "
            "migrations are pending. Run terraform apply without -refresh=false (or terraform "
            "apply -refresh-only first) to run them."
        )

    def record_reached(self, event: EventData) -> None:
        self.heads = Facts.of(event).heads_reached

    def record_shortfall(self, event: EventData) -> None:
        reached = Facts.of(event).heads_reached
        self.heads = reached
        self.error_summary = _NOT_AS_PLANNED
        self.error = (
            f"The apply finished at {quote(reached)}, but the plan expected "
            f"{quote(self.planned_heads)}; the state records the revision the database reached."
        )

    def record_failure(self, event: EventData) -> None:
        facts = Facts.of(event)
        self.heads = need(facts.heads_reached, "heads_reached")
        self.error = facts.message

    def record_error(self, event: EventData) -> None:
        self.error = Facts.of(event).message

    def record_import(self, event: EventData) -> None:
        self.heads = Facts.of(event).db_heads


MACHINE = StrictMachine(
    name="resource",
    states=State,
    initial=State.ABSENT,
    transitions=TRANSITIONS,
    before_state_change="start_step",
)
"""The one resource machine definition; ``ResourceLifecycle`` binds to it on creation."""
