"""The committed diagrams in docs/statemachines.md match what the machines' code draws."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

REPO_ROOT = Path(__file__).resolve().parents[2]


def load_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "_diagrams", REPO_ROOT / "scripts" / "diagrams.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_committed_diagrams_are_current() -> None:
    script = load_script()
    committed = (REPO_ROOT / "docs" / "statemachines.md").read_text(encoding="utf-8")
    assert committed == script.render(), (
        "docs/statemachines.md is stale: run make diagrams and commit the result."
    )


def test_generation_is_deterministic_and_draws_every_edge() -> None:
    script = load_script()
    first, second = script.render(), script.render()
    assert first == second
    assert first.count("```mermaid\n") == 3
    for line in (
        "  PRESENT --> DRIFTED: refreshed [has_db_moved]",
        "  PLANNED_UPDATE --> UPDATING: apply_started [has_others_moved] | apply_started",
        "  WAITING_READY --> FAILED: exited",
        "  STOPPING --> STOPPING: probe_succeeded | probe_failed | released [has_users]"
        " | stop_requested | grace_expired [is_past_kill_deadline & !has_sent_kill]"
        " | grace_expired",
    ):
        assert f"\n{line}\n" in first
