"""Named plan modifiers: each leaves alone what the framework's own leaves alone."""

from __future__ import annotations

import io
from typing import Any

import pytest

from alembic_provider.cty import UNKNOWN
from alembic_provider.framework.modifiers import (
    Default,
    default,
    fill_defaults,
    modifiers_of,
    modify_plan,
    requires_replace,
    use_state_for_unknown,
)
from alembic_provider.log import Logger
from alembic_provider.provider import Provider
from alembic_provider.redaction import Redactor
from alembic_provider.resources.base import Planned
from alembic_provider.schema import Attribute, AttributePlan, Block, Schema
from tests.fakes import FakeExecutor


def _plan(
    config: Any = None, prior: Any = None, planned: Any = None, *, creating: bool = False
) -> AttributePlan:
    return AttributePlan("a", config=config, prior=prior, planned=planned, creating=creating)


def test_default_plans_its_value_only_where_the_configuration_is_null() -> None:
    modifier = default("alembic")
    assert modifier.modify(_plan(None, planned=None)).planned == "alembic"
    assert modifier.modify(_plan(None, planned=UNKNOWN)).planned == "alembic"
    assert modifier.modify(_plan("mine", planned="mine")).planned == "mine"
    assert modifier.modify(_plan(UNKNOWN, planned=UNKNOWN)).planned is UNKNOWN


def test_use_state_for_unknown_keeps_the_prior_value_of_an_existing_resource() -> None:
    modifier = use_state_for_unknown()
    assert modifier.modify(_plan(None, prior="c3", planned=UNKNOWN)).planned == "c3"
    assert (
        modifier.modify(_plan(None, prior="c3", planned=UNKNOWN, creating=True)).planned is UNKNOWN
    )
    assert modifier.modify(_plan(None, prior=None, planned=UNKNOWN)).planned is UNKNOWN
    assert modifier.modify(_plan(None, prior="c3", planned="d4")).planned == "d4"
    assert modifier.modify(_plan(UNKNOWN, prior="c3", planned=UNKNOWN)).planned is UNKNOWN


def test_requires_replace_marks_a_changed_value_of_an_existing_resource() -> None:
    modifier = requires_replace()
    assert modifier.modify(_plan("b", prior="a", planned="b")).requires_replace
    assert modifier.modify(_plan(UNKNOWN, prior="a", planned=UNKNOWN)).requires_replace
    assert not modifier.modify(_plan("a", prior="a", planned="a")).requires_replace
    assert not modifier.modify(_plan("b", planned="b", creating=True)).requires_replace


@pytest.mark.parametrize("modifier", [default(1), use_state_for_unknown(), requires_replace()])
def test_every_modifier_describes_itself_in_one_line(modifier: Any) -> None:
    assert modifier.description.endswith(".")
    assert "\n" not in modifier.description


_BLOCK = Block(
    (
        Attribute(
            "alembic",
            ["list", "string"],
            "Command.",
            optional=True,
            computed=True,
            default=["alembic"],
        ),
        Attribute("url", "string", "URL.", optional=True, plan_modifiers=(requires_replace(),)),
        Attribute("id", "string", "Id.", computed=True, plan_modifiers=(use_state_for_unknown(),)),
        Attribute("revision", "string", "Heads.", computed=True),
    )
)


def _values(**values: Any) -> dict[str, Any]:
    return {"alembic": None, "url": None, "id": None, "revision": None} | values


def test_an_attribute_runs_its_default_before_its_own_modifiers() -> None:
    assert [type(m).__name__ for m in modifiers_of(_BLOCK.attribute("alembic"))] == ["Default"]
    assert list(modifiers_of(_BLOCK.attribute("url"))) == [requires_replace()]
    assert modifiers_of(_BLOCK.attribute("alembic")).__next__() == Default(["alembic"])


def test_modify_plan_runs_every_attribute_and_collects_replacements() -> None:
    prior = _values(alembic=["alembic"], url="sqlite:///a.db", id="x1", revision="c3")
    config = _values(url="sqlite:///b.db")
    proposed = _values(url="sqlite:///b.db", id=UNKNOWN, revision=UNKNOWN)
    modified = modify_plan(_BLOCK, prior, config, proposed)
    assert modified.values == _values(
        alembic=["alembic"], url="sqlite:///b.db", id="x1", revision=UNKNOWN
    )
    assert modified.requires_replace == (("url",),)
    assert proposed["id"] is UNKNOWN, "the proposed state is not changed in place"


def test_modify_plan_on_create_fills_defaults_and_replaces_nothing() -> None:
    config = _values(url="sqlite:///b.db")
    modified = modify_plan(_BLOCK, None, config, _values(url="sqlite:///b.db", id=UNKNOWN))
    assert modified.values["alembic"] == ["alembic"]
    assert modified.values["id"] is UNKNOWN
    assert modified.requires_replace == ()


def test_fill_defaults_plans_only_the_defaults() -> None:
    prior_like = _values(id=UNKNOWN)
    assert fill_defaults(_BLOCK, _values(), prior_like) == _values(alembic=["alembic"], id=UNKNOWN)
    assert fill_defaults(_BLOCK, _values(alembic=["x"]), _values(alembic=["x"]))["alembic"] == ["x"]


class _Widget:
    """A resource that declares modifiers and plans nothing of its own."""

    TYPE_NAME = "alembic_widget"
    SCHEMA_VERSION = 0

    def __init__(self) -> None:
        self.proposed: list[Any] = []

    def schema(self) -> Schema:
        return Schema(_BLOCK)

    def plan(self, ctx: Any, prior: Any, config: Any, proposed: Any, private: bytes) -> Planned:
        self.proposed.append(proposed)
        return Planned(proposed, private, requires_replace=(("revision",),))

    def plan_destroy(self, ctx: Any, prior: Any, private: bytes) -> Planned:
        self.proposed.append(None)
        return Planned(None, private, requires_replace=(("revision",),))


def test_dispatch_runs_the_modifiers_before_the_resources_own_plan() -> None:
    widget = _Widget()
    provider = Provider(
        Schema(Block(())),
        resources=(widget,),  # type: ignore[arg-type]
        data_sources=(),
        log=Logger(level="error", stream=io.StringIO()),
        redactor=Redactor(),
        executor=FakeExecutor(),
    )
    prior = _values(alembic=["alembic"], url="sqlite:///a.db", id="x1", revision="c3")
    config = _values(url="sqlite:///b.db")
    proposed = _values(url="sqlite:///b.db", id=UNKNOWN, revision=UNKNOWN)
    planned, diagnostics = provider.plan_resource_change(
        "alembic_widget", prior, proposed, config, b"kept"
    )
    assert list(diagnostics) == []
    assert widget.proposed == [
        _values(alembic=["alembic"], url="sqlite:///b.db", id="x1", revision=UNKNOWN)
    ]
    assert planned is not None
    assert planned.requires_replace == (("revision",), ("url",))
    assert planned.private == b"kept"


def test_dispatch_runs_no_modifier_on_a_destroy() -> None:
    widget = _Widget()
    provider = Provider(
        Schema(Block(())),
        resources=(widget,),  # type: ignore[arg-type]
        data_sources=(),
        log=Logger(level="error", stream=io.StringIO()),
        redactor=Redactor(),
        executor=FakeExecutor(),
    )
    prior = _values(url="sqlite:///a.db", id="x1")
    planned, _ = provider.plan_resource_change("alembic_widget", prior, None, None, b"")
    assert widget.proposed == [None]
    assert planned is not None and planned.requires_replace == (("revision",),)
