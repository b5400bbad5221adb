"""Every row of every transition table can fire: none is shadowed by the rows above it.

Guards are read only through their names here: for each row, a search over the truth values of
the guards its (trigger, source) group uses finds one where this row is the first to match,
respecting the few guards defined from others; then the real machine fires the trigger on a
model whose guards answer those values, and the row that ran (seen by the machine-wide
``before_state_change`` callback) must be this one.
"""

from __future__ import annotations

import inspect
import itertools
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from enum import Enum
from types import ModuleType
from typing import Any

import pytest

from statemachine import proxy, resource
from statemachine._resource_data import Decision

Assignment = dict[str, bool]

#: Guards defined from other guards: name -> (the guards it needs, the value they force, or
#: None when they leave it free).
DERIVED: dict[str, tuple[tuple[str, ...], Callable[[Assignment], bool | None]]] = {
    "has_db_moved_since_refresh": (
        ("has_db_moved",),
        lambda a: None if a["has_db_moved"] else False,
    ),
    "is_unreachable": (
        ("is_target_error",),
        lambda a: False if a["is_target_error"] else None,
    ),
    "is_unreadable": (
        ("is_target_error",),
        lambda a: False if a["is_target_error"] else None,
    ),
}


@dataclass(frozen=True)
class Table:
    name: str
    module: ModuleType
    rows: list[Any]
    kind: str = ""


TABLES = [
    *(Table(f"alembic_{kind}", resource, rows, kind) for kind, rows in resource.TABLES.items()),
    Table("proxy", proxy, proxy.TRANSITIONS),
]


def _names(row: Mapping[str, Any], key: str) -> tuple[str, ...]:
    return tuple(row.get(key, ()))


def _rows(table: Table) -> Iterator[tuple[int, str, Enum, Mapping[str, Any]]]:
    for index, row in enumerate(table.rows):
        sources = row["source"] if isinstance(row["source"], tuple) else (row["source"],)
        for source in sources:
            yield index, row["trigger"], source, row


def _group(table: Table, trigger: str, source: Enum) -> list[Mapping[str, Any]]:
    return [row for _, t, s, row in _rows(table) if (t, s) == (trigger, source)]


def _matches(row: Mapping[str, Any], values: Assignment) -> bool:
    return all(values[g] for g in _names(row, "conditions")) and not any(
        values[g] for g in _names(row, "unless")
    )


def _consistent(values: Assignment) -> bool:
    for name, (needs, rule) in DERIVED.items():
        if name in values and all(n in values for n in needs):
            expected = rule(values)
            if expected is not None and values[name] != expected:
                return False
    return True


def _assignment(group: list[Mapping[str, Any]], row: Mapping[str, Any]) -> Assignment | None:
    """Find guard values under which ``row`` is the first of its group to match."""
    used = {g for r in group for key in ("conditions", "unless") for g in _names(r, key)}
    needed = {n for g in used & set(DERIVED) for n in DERIVED[g][0]}
    guards = sorted(used | needed)
    position = next(i for i, r in enumerate(group) if r is row)
    for bits in itertools.product((False, True), repeat=len(guards)):
        values = dict(zip(guards, bits, strict=True))
        if not _consistent(values):
            continue
        if _matches(row, values) and not any(_matches(r, values) for r in group[:position]):
            return values
    return None


def _facts(model: type, trigger: str) -> dict[str, Any]:
    """Plausible values for every fact the trigger accepts."""
    facts: dict[str, Any] = {}
    for name, param in inspect.signature(getattr(model, trigger)).parameters.items():
        if name == "self":
            continue
        annotation = str(param.annotation)
        if "heads" in name or name.endswith("revisions") or name in ("downgrades", "undone"):
            facts[name] = ("a",)
        elif name == "error_attribute":
            facts[name] = ("target",)
        elif name == "model_differences":
            facts[name] = (
                "column 'email' of table 'accounts' (VARCHAR(200)) is only in the models",
            )
        elif name == "review":
            facts[name] = (resource.RevisionReview("a", "add a", ("- destructive drop-table",)),)
        elif name == "known":
            facts[name] = True
        elif annotation.startswith("bool"):
            facts[name] = False
        elif annotation.startswith(("int", "float")):
            facts[name] = 1
        else:
            facts[name] = "something went wrong"
    return facts


def _model(table: Table, source: Enum, values: Assignment) -> Any:
    module = table.module
    base = resource.ResourceLifecycle if module is resource else proxy.ProxyLifecycle
    fired: list[Any] = []

    def start_step(self: Any, event: Any) -> None:
        fired.append(event.transition)
        base.start_step(self, event)

    methods: dict[str, Any] = {"start_step": start_step}
    for guard, value in values.items():
        methods[guard] = lambda self, event, value=value: value
    probe = type("Probe", (base,), methods)
    if module is resource:
        model = probe(
            table.kind,
            source,
            heads=("a",),
            target_heads=("b",),
            planned_from=("a",),
            decision=Decision.UPGRADE,
        )
    else:
        model = probe(ready_timeout=1.0, grace_period=1.0, linger=1.0)
        model.users = 1
        module.MACHINE.set_state(source, model)
        model.state = source
    model.fired = fired
    return model


CASES = [
    pytest.param(table, index, trigger, source, id=f"{table.name}-{index}-{source.name}")
    for table in TABLES
    for index, trigger, source, _ in _rows(table)
]


@pytest.mark.parametrize(("table", "index", "trigger", "source"), CASES)
def test_every_row_can_fire(table: Table, index: int, trigger: str, source: Enum) -> None:
    row = table.rows[index]
    values = _assignment(_group(table, trigger, source), row)
    assert values is not None, f"row {index} ({row}) is shadowed by the rows above it"
    model = _model(table, source, values)
    getattr(model, trigger)(**_facts(type(model), trigger))
    (transition,) = model.fired
    ran = (
        tuple(c.func for c in transition.conditions if c.target),
        tuple(c.func for c in transition.conditions if not c.target),
        tuple(transition.before),
    )
    assert ran == (_names(row, "conditions"), _names(row, "unless"), _names(row, "before"))
