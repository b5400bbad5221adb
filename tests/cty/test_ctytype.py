"""Type specifications: parsing, printing and the wording of a malformed one."""

from __future__ import annotations

from typing import Any

import pytest

from alembic_provider.cty import CtyDecodeError, CtyEncodeError, CtyType, parse_type, type_json
from alembic_provider.cty.ctytype import describe


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('"string"', "string"),
        (b'"dynamic"', "dynamic"),
        ('["list","number"]', ["list", "number"]),
        ('["map",["set","bool"]]', ["map", ["set", "bool"]]),
        (
            '["object",{"a":"string","b":["list","number"]}]',
            ["object", {"a": "string", "b": ["list", "number"]}],
        ),
        ('["object",{"a":"string"},["a"]]', ["object", {"a": "string"}]),
        ('["tuple",["string","bool"]]', ["tuple", ["string", "bool"]]),
        ('["tuple",[]]', ["tuple", []]),
        ('["object",{}]', ["object", {}]),
    ],
)
def test_parse_type(text: str | bytes, expected: CtyType) -> None:
    assert parse_type(text) == expected


@pytest.mark.parametrize(
    ("ty", "text"),
    [
        ("string", b'"string"'),
        (["list", "number"], b'["list","number"]'),
        (["object", {"b": "bool", "a": "string"}], b'["object",{"a":"string","b":"bool"}]'),
        (["object", {"a": "string"}, ["a"]], b'["object",{"a":"string"}]'),
        (["tuple", ["dynamic"]], b'["tuple",["dynamic"]]'),
    ],
)
def test_type_json_is_compact_and_sorted(ty: CtyType, text: bytes) -> None:
    assert type_json(ty) == text


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            '"text"',
            "Invalid type specification '\"text\"': 'text' is not a type name; "
            "use 'string', 'number', 'bool' or 'dynamic'.",
        ),
        (
            '["lst","string"]',
            'Invalid type specification \'["lst","string"]\': the first element must be a '
            "type kind: 'list', 'set', 'map', 'object' or 'tuple'.",
        ),
        (
            '["list"]',
            "Invalid type specification '[\"list\"]': a 'list' type is written as "
            '["list", TYPE].',
        ),
        (
            '["map",["set","strng"]]',
            "Invalid type specification '\"strng\"': 'strng' is not a type name; "
            "use 'string', 'number', 'bool' or 'dynamic'.",
        ),
        (
            '["object",["a"]]',
            "Invalid type specification '[\"object\",[\"a\"]]': an 'object' type is written as "
            '["object", {"NAME": TYPE, ...}].',
        ),
        (
            '["object",{},[1]]',
            "Invalid type specification '[\"object\",{},[1]]': an 'object' type is written as "
            '["object", {"NAME": TYPE, ...}].',
        ),
        (
            '["tuple","string"]',
            "Invalid type specification '[\"tuple\",\"string\"]': a 'tuple' type is written as "
            '["tuple", [TYPE, ...]].',
        ),
        (
            "42",
            "Invalid type specification '42': a type is a name such as 'string' or a list "
            'such as ["list", TYPE].',
        ),
        (
            "[]",
            "Invalid type specification '[]': a type is a name such as 'string' or a list "
            'such as ["list", TYPE].',
        ),
        (
            "list(string)",
            "Invalid type specification: the text is not JSON "
            "(Expecting value: line 1 column 1 (char 0)).",
        ),
    ],
)
def test_malformed_type_wording(text: str, message: str) -> None:
    with pytest.raises(CtyDecodeError) as caught:
        parse_type(text)
    assert str(caught.value) == message


def test_attribute_names_must_be_strings() -> None:
    with pytest.raises(CtyEncodeError, match=r"an 'object' type is written as"):
        type_json(["object", {1: "string"}])


def test_long_specifications_are_shortened_in_messages() -> None:
    spec: Any = ["object", {f"attribute_{i}": "string" for i in range(20)}, "oops"]
    with pytest.raises(CtyEncodeError) as caught:
        type_json(spec)
    quoted = str(caught.value).split("'")[1]
    assert len(quoted) == 80
    assert quoted.endswith("...")


@pytest.mark.parametrize(
    ("ty", "name"),
    [
        ("number", "number"),
        (["list", ["map", "string"]], "list of map of string"),
        (["object", {"a": "string"}], "object"),
        (["tuple", ["string"]], "tuple of 1 element"),
        (["tuple", []], "tuple of 0 elements"),
    ],
)
def test_describe(ty: CtyType, name: str) -> None:
    assert describe(ty) == name
