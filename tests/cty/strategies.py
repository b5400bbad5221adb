"""Hypothesis strategies for cty types and for Python values of those types.

Types are bounded in depth; values include nulls and (optionally) unknowns at every level, and
every number form the codec accepts: ints of any size, finite floats and Decimals.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import msgpack
from hypothesis import strategies as st

from alembic_provider.cty import UNKNOWN, CtyType, Typed, Unknown
from alembic_provider.cty.numeric import integral_or_decimal

PRIMITIVES = ("string", "number", "bool")
_NAMES = st.text(max_size=6)


def types(depth: int = 2, *, dynamic: bool = True) -> st.SearchStrategy[CtyType]:
    """Draw a type no deeper than ``depth`` container levels."""
    leaves: st.SearchStrategy[CtyType] = st.sampled_from(
        [*PRIMITIVES, "dynamic"] if dynamic else list(PRIMITIVES)
    )
    if depth == 0:
        return leaves
    inner = types(depth - 1, dynamic=dynamic)
    collections = st.tuples(st.sampled_from(["list", "set", "map"]), inner).map(list)
    objects = st.dictionaries(_NAMES, inner, max_size=4).map(lambda attrs: ["object", attrs])
    tuples = st.lists(inner, max_size=3).map(lambda elements: ["tuple", elements])
    return st.one_of(leaves, collections, objects, tuples)


def unknowns() -> st.SearchStrategy[Unknown]:
    """Draw plain, refined and arbitrary-extension unknowns (never code -1, a timestamp)."""
    refinements = st.fixed_dictionaries(
        {},
        optional={
            1: st.booleans(),
            2: st.text(max_size=5),
            3: st.tuples(st.integers(-(2**63), 2**63 - 1), st.booleans()).map(list),
            5: st.integers(0, 10),
            9: st.integers(0, 2**64 - 1),
        },
    ).filter(bool)
    refined = refinements.map(lambda r: Unknown(12, msgpack.packb(r)))
    codes = st.integers(-128, 127).filter(lambda code: code != -1)
    arbitrary = st.builds(Unknown, codes, st.binary(max_size=9))
    return st.one_of(st.just(UNKNOWN), refined, arbitrary)


def numbers() -> st.SearchStrategy[Any]:
    """Draw finite numbers in every Python form the codec takes."""
    return st.one_of(
        st.integers(),
        st.floats(allow_nan=False, allow_infinity=False),
        st.decimals(allow_nan=False, allow_infinity=False),
        st.integers().map(Decimal),
        st.floats(allow_nan=False, allow_infinity=False).map(Decimal),
    )


def values(ty: CtyType, *, unknown: bool = True) -> st.SearchStrategy[Any]:
    """Draw a Python value of type ``ty``: null, unknown (if allowed) or known."""
    specials: list[st.SearchStrategy[Any]] = [st.none()]
    if unknown:
        specials.append(unknowns())
    return st.one_of(*specials, _known(ty, unknown))


def _known(ty: CtyType, unknown: bool) -> st.SearchStrategy[Any]:
    if ty == "string":
        return st.text(max_size=8)
    if ty == "bool":
        return st.booleans()
    if ty == "number":
        return numbers()
    if ty == "dynamic":
        return types(1).flatmap(
            lambda concrete: values(concrete, unknown=unknown).map(lambda v: Typed(concrete, v))
        )
    assert isinstance(ty, list)
    kind = ty[0]
    if kind in ("list", "set"):
        return st.lists(values(ty[1], unknown=unknown), max_size=3)
    if kind == "map":
        return st.dictionaries(_NAMES, values(ty[1], unknown=unknown), max_size=3)
    if kind == "object":
        return st.fixed_dictionaries({k: values(t, unknown=unknown) for k, t in ty[1].items()})
    return st.tuples(*(values(t, unknown=unknown) for t in ty[1])).map(list)


def after_json(value: Any) -> Any:
    """Return what JSON gives back for ``value``: a float becomes its shortest decimal."""
    if isinstance(value, float):
        return integral_or_decimal(Decimal(repr(value)))
    if isinstance(value, Typed):
        return Typed(value.type, after_json(value.value))
    if isinstance(value, dict):
        return {k: after_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [after_json(v) for v in value]
    return value
