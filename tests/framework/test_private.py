"""Named private-state keys: defaults for what is absent or unreadable, unknown keys kept."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from alembic_provider.framework.private import PrivateKey, PrivateState, flag, text

REFRESHED = flag("refreshed")
TARGET = text("configured_target")
COUNT = PrivateKey[int]("count", 0, str, int)


def test_empty_bytes_decode_to_no_keys() -> None:
    state = PrivateState.decode(b"")
    assert len(state) == 0
    assert state.readable
    assert state.get(REFRESHED) is False
    assert state.get(TARGET) is None
    assert REFRESHED not in state


def test_values_round_trip_through_compact_sorted_json() -> None:
    state = PrivateState.decode(b"")
    state.set(TARGET, "head")
    state.set(REFRESHED, True)
    state.set(COUNT, 3)
    raw = state.encode()
    assert raw == b'{"configured_target":"head","count":"3","refreshed":true}'
    again = PrivateState.decode(raw)
    assert (again.get(TARGET), again.get(REFRESHED), again.get(COUNT)) == ("head", True, 3)


def test_an_unreadable_value_reads_as_the_default() -> None:
    state = PrivateState.decode(b'{"refreshed":"yes","configured_target":7,"count":"many"}')
    assert state.get(REFRESHED) is False
    assert state.get(TARGET) is None
    assert state.get(COUNT) == 0
    assert REFRESHED in state, "the key is there, only its value is unreadable"


def test_unknown_keys_are_kept() -> None:
    state = PrivateState.decode(b'{"lifecycle":{"state":"PRESENT"},"refreshed":false}')
    state.set(REFRESHED, True)
    assert json.loads(state.encode()) == {"lifecycle": {"state": "PRESENT"}, "refreshed": True}
    assert list(state) == ["lifecycle", "refreshed"]


def test_removing_a_key_restores_its_default() -> None:
    state = PrivateState.decode(b'{"refreshed":true}')
    state.remove(REFRESHED)
    assert state.get(REFRESHED) is False
    assert state.encode() == b"{}"


def test_bytes_that_are_no_json_object_decode_to_no_keys_and_say_so() -> None:
    for raw in (b"\x00", b"[1,2]", b"null", b"\xff\xfe", b"[" * 100_000):
        state = PrivateState.decode(raw)
        assert len(state) == 0
        assert not state.readable
        assert state.get(TARGET) is None


def test_repr_decodes_back_to_the_same_state() -> None:
    state = PrivateState.decode(b'{"configured_target":"head"}')
    again = eval(repr(state), {"PrivateState": PrivateState})
    assert again.encode() == state.encode()


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner),
    max_leaves=6,
)


@given(st.binary(max_size=40))
def test_any_bytes_decode_without_raising(raw: bytes) -> None:
    state = PrivateState.decode(raw)
    assert isinstance(state.get(REFRESHED), bool)
    assert PrivateState.decode(state.encode()).encode() == state.encode()


@given(st.dictionaries(st.text(max_size=8), _json, max_size=5))
def test_any_object_survives_decode_and_encode(values: dict[str, Any]) -> None:
    raw = json.dumps(values).encode()
    assert json.loads(PrivateState.decode(raw).encode()) == values
