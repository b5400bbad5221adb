"""Write-only connection arguments through the protocol servicer, with an in-memory executor.

The value reaches the executor from the configuration in plan and apply, is null in every object
the provider returns, is never read without the configuration (refresh), and is refused where
Terraform did not announce support for write-only attributes.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from typing import Any

from alembic_provider.executor import Inspection, Project, RunResult
from alembic_provider.log import Logger
from alembic_provider.plugin.proto import tfplugin6_pb2 as pb
from alembic_provider.provider import Provider
from alembic_provider.provider_config import PROVIDER_SCHEMA
from alembic_provider.redaction import Redactor
from alembic_provider.resources.stamp import StampResource
from tests.fakes import FakeExecutor
from tests.test_provider import SECRET, Harness, _config, _dv, _errors, _value

WRITE_ONLY_URL = "mysql+pymysql://tenant:s3cret-wo@db/tenant"


@dataclass
class UrlRecordingExecutor(FakeExecutor):
    """Remember the URL and environment each database operation was given."""

    urls: list[tuple[str | None, dict[str, str]]] = field(default_factory=list)

    def inspect(self, project: Project, target: str, **kwargs: Any) -> Inspection:
        self.urls.append((project.url, dict(project.environment)))
        return super().inspect(project, target, **kwargs)

    def upgrade(self, project: Project, *args: Any, **kwargs: Any) -> RunResult:
        self.urls.append((project.url, dict(project.environment)))
        return super().upgrade(project, *args, **kwargs)


def _wo_config(**values: Any) -> dict[str, Any]:
    return _config(**{"environment": None, "url_wo": WRITE_ONLY_URL, "url_wo_version": 1, **values})


def _validate(config: dict[str, Any], *, allowed: bool) -> Any:
    return Harness().service.ValidateResourceConfig(
        pb.ValidateResourceConfig.Request(
            type_name="alembic_upgrade",
            config=_dv(config),
            client_capabilities=pb.ClientCapabilities(write_only_attributes_allowed=allowed),
        ),
        None,
    )


def test_the_schema_marks_the_write_only_arguments() -> None:
    response = Harness().service.GetProviderSchema(pb.GetProviderSchema.Request(), None)
    attributes = {a.name: a for a in response.resource_schemas["alembic_upgrade"].block.attributes}
    assert attributes["url_wo"].write_only and attributes["environment_wo"].write_only
    assert attributes["url_wo"].sensitive and not attributes["url_wo"].computed
    assert not attributes["url_wo_version"].write_only and not attributes["url"].write_only


def test_terraform_without_the_capability_is_refused_before_anything_is_stored() -> None:
    response = _validate(_wo_config(), allowed=False)
    errors = _errors(response)
    assert len(errors) == 1
    assert "'url_wo' is a write-only argument" in errors[0]
    assert "Terraform 1.11 or newer" in errors[0]
    assert [s.attribute_name for s in response.diagnostics[0].attribute.steps] == ["url_wo"]
    assert WRITE_ONLY_URL not in errors[0]


def test_terraform_with_the_capability_validates_the_write_only_arguments() -> None:
    assert _errors(_validate(_wo_config(), allowed=True)) == []


def test_write_only_arguments_conflict_and_need_their_version() -> None:
    cases = {
        "url": _wo_config(url=SECRET),
        "version": _wo_config(url_wo_version=None),
        "no value": _config(url_wo_version=1),
        "environment": _config(environment_wo={"DATABASE_URL": SECRET}),
        "on_destroy": _wo_config(on_destroy="base"),
    }
    expected = {
        "url": "'url_wo' and 'url' both set",
        "version": "'url_wo' needs 'url_wo_version'",
        "no value": "'url_wo_version' needs 'url_wo'",
        "environment": "'environment_wo' and 'environment' both set",
        "on_destroy": "'on_destroy' cannot be used with 'url_wo'",
    }
    for name, config in cases.items():
        errors = _errors(_validate(config, allowed=True))
        assert any(expected[name] in e for e in errors), (name, errors)


def test_plan_and_apply_connect_with_the_write_only_url_and_return_it_null() -> None:
    executor = UrlRecordingExecutor()
    h = Harness(executor)
    h.configure()
    config = _wo_config()
    plan = h.plan(None, config)
    assert _errors(plan) == []
    planned = _value(plan.planned_state)
    assert planned["url_wo"] is None and planned["url_wo_version"] == 1
    assert WRITE_ONLY_URL.encode() not in plan.planned_private
    applied = h.apply(None, plan, config)
    assert _errors(applied) == []
    state = _value(applied.new_state)
    assert state["url_wo"] is None and state["revision"] == "c3"
    assert WRITE_ONLY_URL.encode() not in applied.private
    assert executor.urls and all(url == WRITE_ONLY_URL for url, _ in executor.urls)
    # The next plan reads the database with the configuration, and finds nothing to do.
    assert _value(h.plan(state, config).planned_state) == state


def test_write_only_environment_reaches_the_run_and_not_the_state() -> None:
    executor = UrlRecordingExecutor()
    h = Harness(executor)
    h.configure()
    config = _config(environment=None, environment_wo={"DATABASE_URL": SECRET})
    config["environment_wo_version"] = 2
    plan = h.plan(None, config)
    assert _value(plan.planned_state)["environment_wo"] is None
    applied = h.apply(None, plan, config)
    assert _value(applied.new_state)["environment_wo"] is None
    assert all(env == {"DATABASE_URL": SECRET} for _, env in executor.urls)


def test_refresh_without_the_write_only_url_keeps_the_state_and_reads_nothing() -> None:
    executor = UrlRecordingExecutor()
    h = Harness(executor)
    h.configure()
    config = _wo_config()
    plan = h.plan(None, config)
    state = _value(h.apply(None, plan, config).new_state)
    executor.urls.clear()
    executor.position = 1
    read = h.read(state)
    assert _errors(read) == []
    assert _value(read.new_state)["revision"] == "c3"
    assert executor.urls == [], "a refresh has no configuration, so no URL to read with"
    # The plan has the configuration: it reads the database and shows the move.
    planned = _value(h.plan(_value(read.new_state), config).planned_state)
    assert [p["revision"] for p in planned["pending"]] == ["b2", "c3"]
    assert executor.urls and all(url == WRITE_ONLY_URL for url, _ in executor.urls)


def test_alembic_stamp_has_the_same_write_only_arguments_and_checks() -> None:
    block = StampResource().schema().block
    assert block.write_only_names == ("url_wo", "environment_wo")
    assert not any(block.attribute(n).computed for n in block.write_only_names)
    provider = Provider(
        PROVIDER_SCHEMA,
        resources=(StampResource(),),
        data_sources=(),
        log=Logger(level="trace", stream=io.StringIO()),
        redactor=Redactor(),
        executor=FakeExecutor(),
    )
    config = dict.fromkeys(block.cty_type()[1]) | {"url_wo": WRITE_ONLY_URL, "url": SECRET}
    refused = provider.validate_resource_config("alembic_stamp", config, False)
    assert any("Terraform 1.11 or newer" in d.detail for d in refused)
    conflicting = provider.validate_resource_config("alembic_stamp", config, True)
    assert any("'url_wo' and 'url' both set" in d.detail for d in conflicting)


def test_provider_environment_reaches_every_run_and_the_resource_entries_win() -> None:
    executor = UrlRecordingExecutor()
    h = Harness(executor)
    h.configure(environment={"DATABASE_URL": WRITE_ONLY_URL, "API_TOKEN": "t0ken"})
    config = _config(environment={"API_TOKEN": "mine"})
    applied = h.apply(None, h.plan(None, config), config)
    assert _errors(applied) == []
    assert executor.urls
    assert all(
        env == {"DATABASE_URL": WRITE_ONLY_URL, "API_TOKEN": "mine"} for _, env in executor.urls
    )
