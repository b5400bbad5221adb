"""Property tests: every value of every (bounded) type survives both codecs."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from alembic_provider.cty import (
    CtyType,
    decode_json,
    decode_msgpack,
    encode_json,
    encode_msgpack,
    parse_type,
    type_json,
)
from tests.cty.strategies import after_json, types, values

typed_values = types().flatmap(lambda ty: st.tuples(st.just(ty), values(ty)))
known_typed_values = types().flatmap(lambda ty: st.tuples(st.just(ty), values(ty, unknown=False)))


@given(typed_values)
def test_msgpack_round_trip(case: tuple[CtyType, Any]) -> None:
    ty, value = case
    assert decode_msgpack(encode_msgpack(value, ty), ty) == value


@given(typed_values)
def test_msgpack_re_encoding_is_byte_identical(case: tuple[CtyType, Any]) -> None:
    ty, value = case
    data = encode_msgpack(value, ty)
    assert encode_msgpack(decode_msgpack(data, ty), ty) == data


@given(known_typed_values)
def test_json_round_trip(case: tuple[CtyType, Any]) -> None:
    ty, value = case
    assert decode_json(encode_json(value, ty), ty) == after_json(value)


@given(known_typed_values)
def test_json_re_encoding_is_byte_identical(case: tuple[CtyType, Any]) -> None:
    ty, value = case
    data = encode_json(value, ty)
    assert encode_json(decode_json(data, ty), ty) == data


@given(types(3))
def test_type_spec_round_trip(ty: CtyType) -> None:
    assert parse_type(type_json(ty)) == ty
