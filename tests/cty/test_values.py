"""The Unknown and Typed stand-ins: equality, refinements, repr, immutability."""

from __future__ import annotations

import copy
import pickle
from decimal import Decimal
from typing import Any

import msgpack
import pytest

from alembic_provider.cty import UNKNOWN, Refinement, Typed, Unknown, contains_unknown

REFINED_PAYLOAD = bytes.fromhex("8201c202a2622d")


def test_unknown_compares_and_hashes_by_code_and_payload() -> None:
    assert Unknown() == UNKNOWN
    assert Unknown(12, REFINED_PAYLOAD) == Unknown(12, REFINED_PAYLOAD)
    assert Unknown(12, REFINED_PAYLOAD) != UNKNOWN
    assert Unknown(0, b"") != UNKNOWN
    assert len({UNKNOWN, Unknown(), Unknown(12, REFINED_PAYLOAD)}) == 2


@pytest.mark.parametrize("value", [UNKNOWN, Unknown(12, REFINED_PAYLOAD), Unknown(-5, b"")])
def test_unknown_repr_is_valid_python(value: Unknown) -> None:
    assert eval(repr(value), {"Unknown": Unknown}) == value


def test_unknown_is_read_only() -> None:
    value = Unknown(12, REFINED_PAYLOAD)
    with pytest.raises(AttributeError):
        value.code = 0  # type: ignore[misc]
    with pytest.raises(TypeError):
        value.refinements[1] = True  # type: ignore[index]


@pytest.mark.parametrize("value", [UNKNOWN, Unknown(12, REFINED_PAYLOAD)])
def test_unknown_copies_and_pickles(value: Unknown) -> None:
    assert copy.deepcopy(value) == value
    assert copy.copy(value) == value
    restored = pickle.loads(pickle.dumps(value))
    assert restored == value
    assert restored.refinements == value.refinements


@pytest.mark.parametrize(
    ("refinements", "expected"),
    [
        ({1: False, 2: "b-"}, {1: False, 2: "b-"}),
        ({3: [1, True], 4: ["0.5", False]}, {3: (1, True), 4: (Decimal("0.5"), False)}),
        ({5: 1, 6: 10}, {5: 1, 6: 10}),
        ({7: "future", 1: True}, {1: True}),
        ({1: "no", 2: 3, 3: [1], 4: ["x", True], 5: True, "6": 1}, {}),
    ],
)
def test_refinements_are_read_and_oddities_left_out(
    refinements: dict[Any, Any], expected: dict[int, Any]
) -> None:
    value = Unknown(12, msgpack.packb(refinements))
    assert dict(value.refinements) == expected


def test_refinement_names_match_the_wire_keys() -> None:
    value = Unknown(12, REFINED_PAYLOAD)
    assert value.refinements[Refinement.NULLNESS] is False
    assert value.refinements[Refinement.STRING_PREFIX] == "b-"
    assert [int(r) for r in Refinement] == [1, 2, 3, 4, 5, 6]


@pytest.mark.parametrize(
    "payload",
    [b"", b"\xc1", b"\x93\x01\x02\x03", b"\x82\x01", b"\x81\x91\x01\x02", b"\xff" * 3],
)
def test_malformed_refinements_are_still_unknown(payload: bytes) -> None:
    value = Unknown(12, payload)
    assert dict(value.refinements) == {}
    assert value.payload == payload


def test_bytes_after_the_refinement_map_are_ignored() -> None:
    assert dict(Unknown(12, REFINED_PAYLOAD + b"\x00\x00").refinements) == {1: False, 2: "b-"}


def test_only_code_12_carries_refinements() -> None:
    assert dict(Unknown(0, REFINED_PAYLOAD).refinements) == {}


@pytest.mark.parametrize(
    ("code", "payload", "error"),
    [(128, b"", ValueError), (-129, b"", ValueError), (True, b"", TypeError), (0, "x", TypeError)],
)
def test_unknown_rejects_impossible_extensions(code: Any, payload: Any, error: type) -> None:
    with pytest.raises(error):
        Unknown(code, payload)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, False),
        ("x", False),
        (UNKNOWN, True),
        ({"a": [1, {"b": Unknown(12, REFINED_PAYLOAD)}]}, True),
        ({"a": [1, {"b": None}]}, False),
        (Typed("string", UNKNOWN), True),
        (Typed(["list", "string"], ["x"]), False),
        ((1, UNKNOWN), True),
    ],
)
def test_contains_unknown(value: Any, expected: bool) -> None:
    assert contains_unknown(value) is expected


def test_typed_is_frozen_and_compares_by_content() -> None:
    typed = Typed(["list", "string"], ["a"])
    assert typed == Typed(["list", "string"], ["a"])
    assert typed != Typed(["set", "string"], ["a"])
    with pytest.raises(AttributeError):
        typed.value = []  # type: ignore[misc]
