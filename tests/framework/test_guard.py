"""The one exception guard: a deliberate error keeps its diagnostic, anything else is a bug."""

from __future__ import annotations

import io
import json

from alembic_provider import errors
from alembic_provider.diagnostics import Diagnostics, Severity
from alembic_provider.framework.guard import BUG, guard
from alembic_provider.log import Logger


def _logger() -> tuple[Logger, io.StringIO]:
    stream = io.StringIO()
    return Logger("test", level="trace", stream=stream), stream


def test_a_provider_error_becomes_its_own_diagnostic() -> None:
    diagnostics = Diagnostics()
    log, stream = _logger()
    with guard(diagnostics, log, "ReadResource"):
        raise errors.ConfigError(
            "The 'target' value 'nope' names no revision.", attribute=("target",)
        )
    (diagnostic,) = diagnostics
    assert diagnostic.severity is Severity.ERROR
    assert diagnostic.summary == "Invalid Configuration"
    assert diagnostic.detail == "The 'target' value 'nope' names no revision."
    assert diagnostic.attribute == ("target",)
    assert BUG not in diagnostic.detail
    (line,) = [json.loads(text) for text in stream.getvalue().splitlines()]
    assert (line["@level"], line["@message"], line["tf_rpc"]) == (
        "debug",
        "rpc failed",
        "ReadResource",
    )


def test_any_other_exception_is_a_bug_with_its_traceback() -> None:
    diagnostics = Diagnostics()
    log, stream = _logger()
    with guard(diagnostics, log, "PlanResourceChange"):
        raise KeyError("missing")
    (diagnostic,) = diagnostics
    assert diagnostic.summary == "Unexpected Provider Error"
    assert diagnostic.detail.startswith("PlanResourceChange failed unexpectedly: 'missing'\n\n")
    assert BUG in diagnostic.detail
    assert "Traceback (most recent call last)" in diagnostic.detail
    assert "KeyError" in diagnostic.detail
    assert '"@level":"error"' in stream.getvalue()


def test_the_diagnostic_passes_the_collections_redaction() -> None:
    diagnostics = Diagnostics(lambda text: text.replace("hunter2", "***"))
    log, _ = _logger()
    with guard(diagnostics, log, "ApplyResourceChange"):
        raise RuntimeError("could not log in with hunter2")
    (diagnostic,) = diagnostics
    assert "hunter2" not in diagnostic.detail
    assert "could not log in with ***" in diagnostic.detail


def test_a_block_that_finishes_adds_nothing() -> None:
    diagnostics = Diagnostics()
    log, stream = _logger()
    with guard(diagnostics, log, "GetMetadata"):
        pass
    assert list(diagnostics) == []
    assert stream.getvalue() == ""
