"""Conversions between the provider's plain data and protocol 6 messages.

Schemas and diagnostics go out, attribute paths go both ways. DynamicValues are handled by
:mod:`alembic_provider.cty`; this module only wraps its bytes. Never holds rules.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from alembic_provider.cty import CtyType, decode_dynamic_value, encode_msgpack, type_json
from alembic_provider.diagnostics import AttributePath, Diagnostic, Severity
from alembic_provider.plugin.proto import tfplugin6_pb2 as pb
from alembic_provider.schema import Block, NestedBlock, Schema

__all__ = [
    "attribute_path",
    "decode",
    "diagnostics",
    "dynamic_value",
    "schema",
]

_MARKDOWN = pb.StringKind.MARKDOWN


def schema(value: Schema) -> Any:
    return pb.Schema(version=value.version, block=_block(value.block))


def _block(block: Block) -> Any:
    return pb.Schema.Block(
        attributes=[
            pb.Schema.Attribute(
                name=a.name,
                type=type_json(a.type),
                description=a.description,
                description_kind=_MARKDOWN,
                required=a.required,
                optional=a.optional,
                computed=a.computed,
                sensitive=a.sensitive,
                deprecated=a.deprecated,
                write_only=a.write_only,
            )
            for a in block.attributes
        ],
        block_types=[_nested(b) for b in block.block_types],
        description=block.description,
        description_kind=_MARKDOWN,
        deprecated=block.deprecated,
    )


def _nested(nested: NestedBlock) -> Any:
    return pb.Schema.NestedBlock(
        type_name=nested.type_name,
        block=_block(nested.block),
        nesting=nested.nesting.name,
        min_items=nested.min_items,
        max_items=nested.max_items,
    )


def attribute_path(path: AttributePath) -> Any:
    steps = []
    for step in path:
        if isinstance(step, str):
            steps.append(pb.AttributePath.Step(attribute_name=step))
        elif isinstance(step[0], int):
            steps.append(pb.AttributePath.Step(element_key_int=step[0]))
        else:
            steps.append(pb.AttributePath.Step(element_key_string=step[0]))
    return pb.AttributePath(steps=steps)


def diagnostics(items: Iterable[Diagnostic]) -> list[Any]:
    result = []
    for item in items:
        severity = pb.Diagnostic.ERROR if item.severity is Severity.ERROR else pb.Diagnostic.WARNING
        message = pb.Diagnostic(severity=severity, summary=item.summary, detail=item.detail)
        if item.attribute:
            message.attribute.CopyFrom(attribute_path(item.attribute))
        result.append(message)
    return result


def decode(value: Any, ty: CtyType) -> Any:
    """Decode a DynamicValue message (absent or empty means null)."""
    if value is None:
        return None
    return decode_dynamic_value(value.msgpack, value.json, ty)


def dynamic_value(value: Any, ty: CtyType) -> Any:
    return pb.DynamicValue(msgpack=encode_msgpack(value, ty))
