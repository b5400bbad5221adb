"""Terraform's consistency contract, checked on what leaves the provider.

Returned objects carry exactly the schema's attributes; a non-computed planned value equals its
configuration (a write-only one is planned null); a new state or a data source's answer holds
no unknown value; stored state must be a readable object that fits the schema; attribute
validators run on known values. A broken rule is raised as the error that names it, for
:mod:`.guard` to report. Never does I/O.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from alembic_provider import errors
from alembic_provider.cty import CtyError, Unknown, contains_unknown, encode_msgpack
from alembic_provider.diagnostics import AttributePath, Diagnostics
from alembic_provider.schema import Block, Nesting, Schema, empty_object

__all__ = [
    "check_complete",
    "check_data_source_known",
    "check_fits",
    "check_new_state_known",
    "check_plan",
    "check_validators",
    "load_raw_state",
]

Values = dict[str, Any]


def load_raw_state(type_name: str, raw_json: bytes) -> dict[str, object]:
    """Read the stored state's JSON (``raw_state``), refusing anything but a readable object.

    :raises StateError: the JSON is invalid, nested too deeply, or not an object.
    """
    try:
        raw = json.loads(raw_json or b"{}", parse_float=Decimal)
    except RecursionError:
        problem = "is nested too deeply to read"
    except ValueError as exc:  # invalid JSON or UTF-8
        problem = f"is not valid JSON ({exc})"
    else:
        if isinstance(raw, dict):
            return raw
        problem = "is not a JSON object"
    raise errors.StateError(
        f"The stored state of '{type_name}' (the request's 'raw_state') {problem}. Restore the "
        "state from a backup, or remove the resource from state and import it again."
    )


def check_fits(type_name: str, schema: Schema, state: Values) -> None:
    """Refuse stored state whose values have the wrong types (a hand-edited state file).

    :raises StateError: a value does not fit its attribute's type.
    """
    try:
        encode_msgpack(state, schema.cty_type())
    except CtyError as exc:
        raise errors.StateError(
            f"The stored state of '{type_name}' (the request's 'raw_state') does not fit the "
            f"schema: {exc} Restore the state from a backup, or remove the resource from state "
            "and import it again."
        ) from None


def check_validators(
    block: Block, config: Values, diagnostics: Diagnostics, path: AttributePath = ()
) -> None:
    """Run every attribute's validators on known values, nested single blocks included."""
    for attribute in block.attributes:
        value = config.get(attribute.name)
        if value is None or isinstance(value, Unknown) or contains_unknown(value):
            continue
        for validator in attribute.validators:
            message = validator(value)
            if message:
                diagnostics.error(
                    f"Invalid {_title(attribute.name)}", message, (*path, attribute.name)
                )
    for nested in block.block_types:
        inner = config.get(nested.type_name)
        if nested.nesting in (Nesting.SINGLE, Nesting.GROUP) and isinstance(inner, dict):
            check_validators(nested.block, inner, diagnostics, (*path, nested.type_name))


def _title(name: str) -> str:
    return " ".join(part.capitalize() for part in name.split("_"))


def check_complete(block: Block, value: Values | None, what: str) -> None:
    """Refuse an object that lacks an attribute of ``block`` or carries one it does not have.

    :raises InternalError: the object and the schema disagree.
    """
    if value is None:
        return
    expected = set(empty_object(block))
    missing = sorted(expected - set(value))
    extra = sorted(set(value) - expected)
    if missing or extra:
        raise errors.InternalError(
            f"The {what} does not match the schema: missing {missing or 'nothing'}, "
            f"unexpected {extra or 'nothing'}."
        )


def check_plan(block: Block, config: Values, planned: Values, prior: Values | None) -> None:
    """Refuse a plan Terraform would reject, with a message that names the attribute.

    :raises InternalError: the plan misses an attribute or changes a configured value.
    """
    check_complete(block, planned, "planned state")
    for attribute in block.attributes:
        name = attribute.name
        if attribute.write_only or (attribute.computed and config.get(name) is None):
            continue
        want, got = config.get(name), planned.get(name)
        if got == want and type(got) is type(want):
            continue
        if prior is not None and got == prior.get(name) and got is not None:
            continue
        raise errors.InternalError(
            f"The planned value of '{name}' does not match its configuration value."
        )


def check_new_state_known(type_name: str, state: Values | None) -> None:
    """Refuse a new state with an unknown value: after apply everything is known.

    :raises InternalError: the state holds an unknown value.
    """
    if state is not None and contains_unknown(state):
        raise errors.InternalError(
            f"The provider returned an unknown value in the new state of '{type_name}'."
        )


def check_data_source_known(type_name: str, value: Values | None) -> None:
    """Refuse a data source's answer with an unknown value: a read resolves everything.

    :raises InternalError: the answer holds an unknown value.
    """
    if contains_unknown(value):
        raise errors.InternalError(f"The data source '{type_name}' returned an unknown value.")
