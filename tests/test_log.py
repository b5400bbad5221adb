from __future__ import annotations

import io
import json
import re

from alembic_provider.log import Logger, level_from_environment


def test_level_follows_tf_log_provider_before_tf_log() -> None:
    assert level_from_environment({}) is None
    assert level_from_environment({"TF_LOG": "off"}) is None
    assert level_from_environment({"TF_LOG": "DEBUG"}) == "debug"
    assert level_from_environment({"TF_LOG": "DEBUG", "TF_LOG_PROVIDER": "warn"}) == "warn"
    assert level_from_environment({"TF_LOG": "json"}) == "trace"
    assert level_from_environment({"TF_LOG": "loud"}) == "trace"


def test_lines_are_hclog_json_with_six_fraction_digits() -> None:
    stream = io.StringIO()
    log = Logger("provider", level="debug", stream=stream).child(tf_rpc="ReadResource")
    log.trace("hidden")
    log.debug("shown", count=3)
    lines = stream.getvalue().splitlines()
    assert len(lines) == 1
    record = json.loads(lines[0])
    assert record["@level"] == "debug"
    assert record["@message"] == "shown"
    assert record["@module"] == "provider"
    assert record["tf_rpc"] == "ReadResource"
    assert record["count"] == 3
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+00:00", record["@timestamp"])


def test_silent_without_a_level() -> None:
    stream = io.StringIO()
    Logger(level=None, stream=stream).error("nothing")
    assert stream.getvalue() == ""


def test_messages_and_fields_are_redacted() -> None:
    stream = io.StringIO()
    log = Logger(level="info", stream=stream).with_redactor(lambda t: t.replace("s3cret", "***"))
    log.info("password s3cret", url="postgresql://u:s3cret@h/db")
    record = json.loads(stream.getvalue())
    assert "s3cret" not in stream.getvalue()
    assert record["@message"] == "password ***"
