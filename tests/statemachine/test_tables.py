"""Properties of both transition tables as data: reachability, no dead ends, naming, layering."""

from __future__ import annotations

import ast
import doctest
import inspect
import sys
from collections import deque
from collections.abc import Mapping
from dataclasses import MISSING, dataclass, fields
from enum import Enum
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from statemachine import _resource_data, proxy, resource

MODULES = [resource, proxy]
MODELS = {resource: resource.ResourceLifecycle, proxy: proxy.ProxyLifecycle}
FACTS = {resource: _resource_data.Facts, proxy: proxy._Facts}
PACKAGE_DIR = Path(resource.__file__).parent


@dataclass(frozen=True)
class Table:
    """One transition table with what it belongs to."""

    name: str
    module: ModuleType
    rows: list[Any]
    initial: str | None


TABLES = [
    *(
        Table(f"alembic_{kind}", resource, rows, resource.MACHINES[kind].initial)
        for kind, rows in resource.TABLES.items()
    ),
    Table("proxy", proxy, proxy.TRANSITIONS, proxy.MACHINE.initial),
]


def edges(table: Table) -> list[tuple[str, Enum, Enum, dict[str, object]]]:
    """Expand the table into (trigger, source, dest, row) with one source each."""
    expanded = []
    for row in table.rows:
        sources = row["source"] if isinstance(row["source"], tuple) else (row["source"],)
        for source in sources:
            dest = source if row["dest"] == "=" else row["dest"]
            expanded.append((row["trigger"], source, dest, row))
    return expanded


def initial(table: Table) -> Enum:
    assert table.initial is not None
    state: Enum = table.module.State[table.initial]
    return state


def named(row: Mapping[str, object], key: str) -> list[str]:
    """Return the callback names a table row lists under key (always a list of names)."""
    value = row.get(key, [])
    assert isinstance(value, list) and all(isinstance(name, str) for name in value), row
    return value


@pytest.mark.parametrize("table", TABLES, ids=lambda t: t.name)
def test_every_state_is_reachable_from_the_initial_state(table: Table) -> None:
    graph: dict[Enum, set[Enum]] = {}
    for _, source, dest, _ in edges(table):
        graph.setdefault(source, set()).add(dest)
    seen = {initial(table)}
    queue = deque(seen)
    while queue:
        for nxt in graph.get(queue.popleft(), ()):
            if nxt not in seen:
                seen.add(nxt)
                queue.append(nxt)
    assert seen == set(table.module.State)


@pytest.mark.parametrize("table", TABLES, ids=lambda t: t.name)
def test_only_terminal_states_are_dead_ends(table: Table) -> None:
    leaving = {source for _, source, dest, _ in edges(table) if dest != source}
    assert set(table.module.State) - leaving == table.module.TERMINAL


@pytest.mark.parametrize("table", TABLES, ids=lambda t: t.name)
def test_every_state_can_reach_a_terminal_or_resting_state(table: Table) -> None:
    resting = set(table.module.TERMINAL) | {initial(table)}
    reverse: dict[Enum, set[Enum]] = {}
    for _, source, dest, _ in edges(table):
        reverse.setdefault(dest, set()).add(source)
    seen = set(resting)
    queue = deque(seen)
    while queue:
        for prev in reverse.get(queue.popleft(), ()):
            if prev not in seen:
                seen.add(prev)
                queue.append(prev)
    assert seen == set(table.module.State)


@pytest.mark.parametrize("table", TABLES, ids=lambda t: t.name)
def test_guarded_edge_groups_end_with_an_otherwise_edge(table: Table) -> None:
    last: dict[tuple[str, Enum], dict[str, object]] = {}
    for trigger, source, _, row in edges(table):
        last[trigger, source] = row
    open_ended = {key for key, row in last.items() if "conditions" in row or "unless" in row}
    expected = (
        {("released", s) for s in (proxy.State.STOPPING, proxy.State.STOPPED, proxy.State.FAILED)}
        if table.module is proxy
        else set()
    )
    assert open_ended == expected


@pytest.mark.parametrize("table", TABLES, ids=lambda t: t.name)
def test_guards_and_callbacks_are_named_model_methods(table: Table) -> None:
    model = MODELS[table.module]
    for row in table.rows:
        for guard in [*named(row, "conditions"), *named(row, "unless")]:
            assert guard.startswith(("is_", "has_", "can_")), guard
            assert inspect.isfunction(getattr(model, guard)), guard
        for callback in named(row, "before"):
            assert inspect.isfunction(getattr(model, callback)), callback
        assert set(row) <= {"trigger", "source", "dest", "conditions", "unless", "before"}


@pytest.mark.parametrize("table", TABLES, ids=lambda t: t.name)
def test_every_trigger_is_declared_with_its_may_twin(table: Table) -> None:
    model = MODELS[table.module]
    for trigger in {row["trigger"] for row in table.rows}:
        declared = getattr(model, trigger)
        assert inspect.isfunction(declared) and declared.__doc__, trigger
        assert hasattr(model, f"may_{trigger}"), trigger
    for state in table.module.State:
        assert hasattr(model, f"is_{state.name}")


@pytest.mark.parametrize("table", TABLES, ids=lambda t: t.name)
def test_trigger_defaults_match_the_facts_defaults(table: Table) -> None:
    facts = {f.name: f.default for f in fields(FACTS[table.module])}
    model = MODELS[table.module]
    for trigger in {row["trigger"] for row in table.rows}:
        for name, param in inspect.signature(getattr(model, trigger)).parameters.items():
            if name == "self":
                continue
            assert param.kind is inspect.Parameter.KEYWORD_ONLY, (trigger, name)
            assert name in facts, (trigger, name)
            if param.default is not inspect.Parameter.empty:
                assert param.default == facts[name], (trigger, name)
    assert MISSING not in facts.values()


@pytest.mark.parametrize("kind", list(resource.TABLES))
def test_writes_are_decided_only_when_apply_starts(kind: str) -> None:
    rows = resource.TABLES[kind]  # type: ignore[index]
    writers = {row["trigger"] for row in rows if "record_pending" in named(row, "before")}
    assert writers == {"apply_started", "destroy_started"}


@pytest.mark.parametrize("module", MODULES, ids=lambda m: m.__name__)
def test_one_edge_per_line(module: ModuleType) -> None:
    """Tables read as data: every row is one ``edge(...)`` call on one line."""
    assert module.__file__ is not None
    tree = ast.parse(Path(module.__file__).read_text(encoding="utf-8"))
    calls = [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "edge"
    ]
    rows = {id(row) for table in TABLES if table.module is module for row in table.rows}
    assert len(calls) == len(rows)
    assert all(call.lineno == call.end_lineno for call in calls)


def test_the_package_imports_only_the_standard_library_and_transitions() -> None:
    allowed = set(sys.stdlib_module_names) | {"transitions", "statemachine", "__future__"}
    for path in sorted(PACKAGE_DIR.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""] if node.level == 0 else []
            else:
                continue
            for name in names:
                assert name.split(".")[0] in allowed, f"{path.name} imports {name}"


def test_the_package_claims_no_file_python_statemachine_ships() -> None:
    ours = {path.name for path in PACKAGE_DIR.iterdir() if path.name != "__pycache__"}
    assert ours == {"_resource_data.py", "_strict.py", "proxy.py", "resource.py"}


@pytest.mark.parametrize("module", MODULES, ids=lambda m: m.__name__)
def test_the_usage_examples_in_the_docstrings_run(module: ModuleType) -> None:
    result = doctest.testmod(module, raise_on_error=False, report=False)
    assert result.attempted >= 5
    assert result.failed == 0
