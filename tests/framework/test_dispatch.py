"""One operation per RPC: decorated bodies answer with their diagnostics, never an exception."""

from __future__ import annotations

import io
import json
from typing import Any

from alembic_provider import errors
from alembic_provider.diagnostics import Diagnostics
from alembic_provider.framework.dispatch import Operation, diagnostics_rpc, rpc
from alembic_provider.log import Logger
from alembic_provider.redaction import Redactor
from alembic_provider.schema import Attribute, Block

_BLOCK = Block(
    (
        Attribute("token", "string", "A secret.", optional=True, sensitive=True),
        Attribute("url", "string", "A database URL.", optional=True),
    )
)


class _Server:
    def __init__(self) -> None:
        self.redactor = Redactor()
        self.stream = io.StringIO()
        self.log = Logger("test", level="trace", stream=self.stream)
        self.begun: list[Operation] = []

    def begin(self) -> Operation:
        op = Operation(self.redactor, self.log)
        self.begun.append(op)
        return op

    @rpc("ReadThing")
    def read(self, op: Operation, type_name: str, value: dict[str, Any]) -> str:
        op.remember(_BLOCK, value)
        if value.get("token") == "fail":
            raise RuntimeError("read failed")
        op.diagnostics.warning("Read", f"read {type_name} with {value.get('token')}")
        return f"{type_name}:{value.get('token')}"

    @rpc("ListThings", fallback=list[str])
    def list_things(self, op: Operation, type_name: str) -> list[str]:
        raise errors.RequestError(f"The type '{type_name}' is unknown.")

    @diagnostics_rpc("CheckThing", typed=False)
    def check(self, op: Operation, value: int) -> None:
        if value < 0:
            op.diagnostics.error("Negative", f"The value '{value}' is below zero.")

    def lines(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.stream.getvalue().splitlines()]


def test_a_body_answers_its_result_and_its_operations_diagnostics() -> None:
    server = _Server()
    result, diagnostics = server.read("alembic_thing", {"token": "s3cr3t-value"})
    assert result == "alembic_thing:s3cr3t-value"
    assert isinstance(diagnostics, Diagnostics)
    (diagnostic,) = diagnostics
    assert diagnostic.detail == "read alembic_thing with ***", "the request's secret is hidden"
    assert diagnostics is server.begun[0].diagnostics


def test_a_failing_body_answers_none_and_an_error() -> None:
    server = _Server()
    result, diagnostics = server.read("alembic_thing", {"token": "fail"})
    assert result is None
    assert diagnostics.has_errors
    assert [d.summary for d in diagnostics] == ["Unexpected Provider Error"]


def test_a_fallback_stands_in_for_the_result_of_a_failure() -> None:
    result, diagnostics = _Server().list_things("alembic_nope")
    assert result == []
    assert [d.detail for d in diagnostics] == ["The type 'alembic_nope' is unknown."]


def test_a_diagnostics_rpc_answers_only_diagnostics() -> None:
    server = _Server()
    assert list(server.check(1)) == []
    (error,) = server.check(-2)
    assert error.detail == "The value '-2' is below zero."


def test_the_log_names_the_rpc_and_the_type() -> None:
    server = _Server()
    server.read("alembic_thing", {"token": "abc-def"})
    server.check(1)
    started = [line for line in server.lines() if line["@message"] == "rpc started"]
    assert [(line["tf_rpc"], line.get("tf_resource_type")) for line in started] == [
        ("ReadThing", "alembic_thing"),
        ("CheckThing", None),
    ]
    finished = [line["tf_rpc"] for line in server.lines() if line["@message"] == "rpc finished"]
    assert finished == ["ReadThing", "CheckThing"]


def test_a_requests_secrets_stay_with_its_operation() -> None:
    server = _Server()
    server.read("alembic_thing", {"token": "only-this-request", "url": "postgresql://u:pw1234@h/d"})
    assert server.redactor.redact("only-this-request pw1234") == "only-this-request pw1234"
    assert server.begun[0].redact("only-this-request pw1234") == "*** ***"


def test_decorated_methods_keep_their_names_and_docs() -> None:
    assert _Server.read.__name__ == "read"
    assert _Server.check.__name__ == "check"
