"""Terraform's consistency contract, checked before anything leaves the provider."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from alembic_provider import errors
from alembic_provider.cty import UNKNOWN
from alembic_provider.diagnostics import Diagnostics
from alembic_provider.framework import contract
from alembic_provider.schema import Attribute, Block, NestedBlock, Schema


def _positive(value: Any) -> str | None:
    return None if value > 0 else f"The value '{value}' must be above zero."


_BLOCK = Block(
    (
        Attribute("target", "string", "Where to go.", optional=True),
        Attribute("count", "number", "How many.", optional=True, validators=(_positive,)),
        Attribute("revision", "string", "Where it is.", computed=True),
    ),
    block_types=(
        NestedBlock(
            "timeouts",
            Block(
                (
                    Attribute(
                        "create_after", "number", "Delay.", optional=True, validators=(_positive,)
                    ),
                )
            ),
        ),
    ),
)
_SCHEMA = Schema(_BLOCK)


def _object(**values: Any) -> dict[str, Any]:
    return {"target": None, "count": None, "revision": None, "timeouts": None} | values


def test_validators_report_each_bad_value_on_its_path() -> None:
    diagnostics = Diagnostics()
    contract.check_validators(_BLOCK, _object(count=0, timeouts={"create_after": -1}), diagnostics)
    assert [(d.summary, d.detail, d.attribute) for d in diagnostics] == [
        ("Invalid Count", "The value '0' must be above zero.", ("count",)),
        (
            "Invalid Create After",
            "The value '-1' must be above zero.",
            ("timeouts", "create_after"),
        ),
    ]


def test_validators_skip_null_and_unknown_values() -> None:
    diagnostics = Diagnostics()
    contract.check_validators(_BLOCK, _object(count=UNKNOWN), diagnostics)
    contract.check_validators(_BLOCK, _object(), diagnostics)
    assert list(diagnostics) == []


def test_an_object_with_missing_or_extra_attributes_is_refused() -> None:
    contract.check_complete(_BLOCK, _object(), "planned state")
    contract.check_complete(_BLOCK, None, "planned state")
    value = _object(extra=1)
    del value["revision"]
    with pytest.raises(errors.InternalError) as caught:
        contract.check_complete(_BLOCK, value, "planned state")
    assert caught.value.message == (
        "The planned state does not match the schema: missing ['revision'], unexpected ['extra']."
    )


def test_a_plan_keeps_configured_values_and_fills_computed_ones() -> None:
    config = _object(target="heads")
    contract.check_plan(_BLOCK, config, _object(target="heads", revision=UNKNOWN), None)
    with pytest.raises(errors.InternalError) as caught:
        contract.check_plan(_BLOCK, config, _object(target="c3", revision="c3"), None)
    assert caught.value.message == (
        "The planned value of 'target' does not match its configuration value."
    )


def test_a_plan_may_keep_the_prior_value_of_a_configured_attribute() -> None:
    """A stored revision id may stand in for the symbol the configuration names."""
    prior = _object(target="c3", revision="c3")
    contract.check_plan(_BLOCK, _object(target="heads"), prior, prior)


def test_a_plan_keeps_the_type_of_a_configured_value() -> None:
    with pytest.raises(errors.InternalError):
        contract.check_plan(_BLOCK, _object(count=1), _object(count=True), None)


def test_unknown_values_never_leave_an_apply_or_a_read() -> None:
    contract.check_new_state_known("alembic_upgrade", _object(revision="c3"))
    contract.check_new_state_known("alembic_upgrade", None)
    contract.check_data_source_known("alembic_current", _object(revision="c3"))
    with pytest.raises(errors.InternalError, match="new state of 'alembic_upgrade'"):
        contract.check_new_state_known("alembic_upgrade", _object(revision=UNKNOWN))
    with pytest.raises(errors.InternalError, match="data source 'alembic_current'"):
        contract.check_data_source_known("alembic_current", _object(revision=[UNKNOWN]))


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        (b"[1]", "is not a JSON object"),
        (b"{", "is not valid JSON"),
        (b"\xff", "is not valid JSON"),
        (b"[" * 100_000, "is nested too deeply to read"),
    ],
)
def test_unreadable_stored_state_is_a_state_error(raw: bytes, problem: str) -> None:
    with pytest.raises(errors.StateError) as caught:
        contract.load_raw_state("alembic_upgrade", raw)
    assert caught.value.message.startswith(
        f"The stored state of 'alembic_upgrade' (the request's 'raw_state') {problem}"
    )
    assert caught.value.message.endswith(
        "Restore the state from a backup, or remove the resource from state and import it again."
    )


def test_readable_stored_state_keeps_decimal_numbers() -> None:
    assert contract.load_raw_state("alembic_upgrade", b'{"count": 0.1}') == {
        "count": Decimal("0.1")
    }
    assert contract.load_raw_state("alembic_upgrade", b"") == {}


def test_stored_state_of_the_wrong_type_does_not_fit() -> None:
    contract.check_fits("alembic_upgrade", _SCHEMA, _object(count=2))
    with pytest.raises(errors.StateError, match="does not fit the schema"):
        contract.check_fits("alembic_upgrade", _SCHEMA, _object(count="many"))
