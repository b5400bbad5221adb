"""Every row of every lifecycle table is fired by a test that drives the provider.

A pytest plugin: while a test outside the bare-machine suites runs, every transition the
machines take is recorded against the table row it came from (rows both resource kinds share
count once). When the whole ``tests`` directory ran, the session fails naming each row no such
test fired: a row no provider path reaches is either a missing test or a row to delete. The
bare machines are driven row by row in ``tests/statemachine`` and ``tests/stateful/
test_machines.py``; those runs do not count.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from transitions.core import Transition

from statemachine import proxy, resource

#: Test files whose runs drive the machines directly.
BARE = ("tests/statemachine/", "tests/stateful/test_machines.py")
_FIRED = pytest.StashKey[set[str]]()
_ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Row:
    """One row of a table: where it stands and what it says."""

    key: str
    text: str


def _describe(row: Mapping[str, Any]) -> str:
    sources = row["source"] if isinstance(row["source"], tuple) else (row["source"],)
    guards = [*row.get("conditions", ()), *(f"!{g}" for g in row.get("unless", ()))]
    dest = row["dest"] if row["dest"] == "=" else row["dest"].name
    return (
        f"{row['trigger']} {'|'.join(s.name for s in sources)} -> {dest}"
        + (f" [{' & '.join(guards)}]" if guards else "")
        + (f" do {', '.join(row['before'])}" if row.get("before") else "")
    )


def _index() -> tuple[dict[int, Row], list[Row]]:
    """Map each ``Transition`` the machines hold to its row, and list every distinct row."""
    machines: list[tuple[str, Any, list[Any]]] = [
        (f"alembic_{kind}", resource.MACHINES[kind], resource.TABLES[kind])
        for kind in resource.TABLES
    ]
    machines.append(("proxy", proxy.MACHINE, proxy.TRANSITIONS))
    by_transition: dict[int, Row] = {}
    rows: dict[int, Row] = {}
    for name, machine, table in machines:
        seen: dict[tuple[str, str], int] = {}
        for index, row in enumerate(table):
            entry = rows.setdefault(id(row), Row(f"{name}[{index}]", _describe(row)))
            sources = row["source"] if isinstance(row["source"], tuple) else (row["source"],)
            for source in sources:
                position = seen.get((row["trigger"], source.name), 0)
                seen[row["trigger"], source.name] = position + 1
                transition = machine.events[row["trigger"]].transitions[source.name][position]
                by_transition[id(transition)] = entry
    return by_transition, list(rows.values())


_BY_TRANSITION, ROWS = _index()
_lock = threading.Lock()
_recording = threading.Event()
_fired: set[str] = set()
_original = Transition.execute


def _execute(self: Transition, event_data: Any) -> bool:
    taken = _original(self, event_data)
    if taken and _recording.is_set():
        row = _BY_TRANSITION.get(id(self))
        if row is not None:
            with _lock:
                _fired.add(row.key)
    return taken


def missing(fired: set[str]) -> list[Row]:
    """The rows no recorded run fired."""
    return [row for row in ROWS if row.key not in fired]


def pytest_configure(config: pytest.Config) -> None:
    Transition.execute = _execute  # type: ignore[method-assign]
    config.stash[_FIRED] = set()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Any:
    path = Path(str(item.path)).resolve().relative_to(_ROOT).as_posix()
    bare = path.startswith(BARE)
    if not bare:
        _recording.set()
    try:
        return (yield)
    finally:
        _recording.clear()


def pytest_sessionfinish(session: pytest.Session) -> None:
    config = session.config
    fired = config.stash[_FIRED]
    with _lock:
        fired.update(_fired)
    workeroutput = getattr(config, "workeroutput", None)
    if workeroutput is not None:
        workeroutput["rows_fired"] = sorted(fired)
        return
    if not _whole_suite(config):
        return
    rows = missing(fired)
    if rows:
        reporter = config.pluginmanager.get_plugin("terminalreporter")
        lines = [f"  {row.key}: {row.text}" for row in rows]
        message = (
            f"{len(rows)} lifecycle table row(s) fired by no test that drives the provider:\n"
            + "\n".join(lines)
        )
        if reporter is not None:
            reporter.write_sep("=", "rows no provider path reaches", red=True)
            reporter.write_line(message)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: Any) -> None:
    output = getattr(node, "workeroutput", {})
    fired: set[str] = node.config.stash[_FIRED]
    fired.update(output.get("rows_fired", ()))


def _whole_suite(config: pytest.Config) -> bool:
    """Whether this run covers every provider-level test: ``tests`` whole, unfiltered."""
    args = {Path(a).resolve() for a in config.args}
    filtered = (
        config.option.keyword or config.option.markexpr or getattr(config.option, "lf", False)
    )
    return (_ROOT / "tests") in args and not filtered
