"""Provider dispatch through the protocol servicer, with an in-memory executor."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest

from alembic_provider.cty import UNKNOWN, Unknown, decode_msgpack, encode_msgpack
from alembic_provider.log import Logger
from alembic_provider.plugin.proto import tfplugin6_pb2 as pb
from alembic_provider.plugin.servicer import ProviderService
from alembic_provider.provider import Provider
from alembic_provider.provider_config import PROVIDER_SCHEMA
from alembic_provider.redaction import Redactor
from alembic_provider.resources.upgrade import UpgradeResource
from alembic_provider.schema import empty_object
from tests.fakes import FakeExecutor

UPGRADE = UpgradeResource().schema().cty_type()
PROVIDER = PROVIDER_SCHEMA.cty_type()
SECRET = "postgresql://app:hunter2@db/app"


class Harness:
    def __init__(self, executor: FakeExecutor | None = None) -> None:
        self.executor = executor or FakeExecutor()
        self.logs = io.StringIO()
        self.provider = Provider(
            PROVIDER_SCHEMA,
            resources=(UpgradeResource(),),
            data_sources=(),
            log=Logger(level="trace", stream=self.logs),
            redactor=Redactor(),
            executor=self.executor,
        )
        self.service = ProviderService(self.provider)

    def configure(self, **config: Any) -> Any:
        value = empty_object(PROVIDER_SCHEMA.block) | {"project_root": "."}
        value.update(config)
        return self.service.ConfigureProvider(
            pb.ConfigureProvider.Request(
                terraform_version="1.0.3",
                config=pb.DynamicValue(msgpack=encode_msgpack(value, PROVIDER)),
            ),
            None,
        )

    def plan(self, prior: dict[str, Any] | None, config: dict[str, Any] | None) -> Any:
        proposed = None if config is None else _proposed(prior, config)
        return self.service.PlanResourceChange(
            pb.PlanResourceChange.Request(
                type_name="alembic_upgrade",
                prior_state=_dv(prior),
                proposed_new_state=_dv(proposed),
                config=_dv(config),
            ),
            None,
        )

    def apply(self, prior: dict[str, Any] | None, plan: Any, config: dict[str, Any] | None) -> Any:
        return self.service.ApplyResourceChange(
            pb.ApplyResourceChange.Request(
                type_name="alembic_upgrade",
                prior_state=_dv(prior),
                planned_state=plan.planned_state,
                config=_dv(config),
                planned_private=plan.planned_private,
            ),
            None,
        )

    def create(self) -> tuple[dict[str, Any], bytes]:
        """Plan and apply a new resource; return its state and private state."""
        applied = self.apply(None, self.plan(None, _config()), _config())
        assert _errors(applied) == []
        return _value(applied.new_state), applied.private

    def read(self, state: dict[str, Any]) -> Any:
        return self.service.ReadResource(
            pb.ReadResource.Request(type_name="alembic_upgrade", current_state=_dv(state)), None
        )


def _config(**values: Any) -> dict[str, Any]:
    config: dict[str, Any] = dict.fromkeys(UpgradeResource().schema().cty_type()[1])
    config["environment"] = {"DATABASE_URL": SECRET}
    config.update(values)
    return config


def _proposed(prior: dict[str, Any] | None, config: dict[str, Any]) -> dict[str, Any]:
    proposed = dict(config)
    for name in ("revision", "id", "target"):
        if config.get(name) is None:
            proposed[name] = prior.get(name) if prior else None
    return proposed


def _dv(value: dict[str, Any] | None) -> Any:
    return pb.DynamicValue(msgpack=encode_msgpack(value, UPGRADE))


def _value(message: Any) -> Any:
    return decode_msgpack(message.msgpack, UPGRADE)


def _errors(response: Any) -> list[str]:
    return [f"{d.summary}: {d.detail}" for d in response.diagnostics]


def test_create_plans_target_heads_and_apply_reaches_them() -> None:
    h = Harness()
    assert _errors(h.configure()) == []
    plan = h.plan(None, _config())
    assert _errors(plan) == []
    planned = _value(plan.planned_state)
    assert planned["revision"] == "c3"
    assert planned["target"] == "heads"
    assert planned["id"] == "heads", "the id is the target a resource was created with"
    assert planned["pending"] == [
        {"revision": r, "message": f"message {r}"} for r in ("a1", "b2", "c3")
    ]
    assert h.executor.writes == 0, "plan never writes"
    applied = h.apply(None, plan, _config())
    assert _errors(applied) == []
    state = _value(applied.new_state)
    assert state["revision"] == "c3"
    assert state["revisions"] == ["c3"]
    assert state["id"] == "heads"
    assert state["pending"] == planned["pending"], "a known planned value must not change"
    assert h.executor.position == 3


def test_no_op_plan_after_apply_equals_prior_state() -> None:
    h = Harness()
    h.configure()
    state, _ = h.create()
    plan = h.plan(state, _config())
    assert _errors(plan) == []
    assert _value(plan.planned_state) == state


def test_a_new_revision_file_plans_an_update() -> None:
    executor = FakeExecutor()
    h = Harness(executor)
    h.configure()
    state, _ = h.create()
    executor.history.append("d4")
    planned = _value(h.plan(state, _config()).planned_state)
    assert planned["revision"] == "d4"
    assert planned["pending"] == [{"revision": "d4", "message": "message d4"}]
    assert planned["id"] == "heads"


def test_read_reports_a_database_moved_by_hand() -> None:
    executor = FakeExecutor()
    h = Harness(executor)
    h.configure()
    state, _ = h.create()
    writes = executor.writes
    executor.position = 1
    refreshed = _value(h.read(state).new_state)
    assert refreshed["revision"] == "a1"
    # What is pending stays out of the state: the plan shows it as an addition.
    assert refreshed["pending"] == []
    assert executor.writes == writes, "a refresh never writes"
    planned = _value(h.plan(refreshed, _config()).planned_state)
    assert [p["revision"] for p in planned["pending"]] == ["b2", "c3"]


def test_unknown_provider_input_plans_unknown_without_touching_the_database() -> None:
    h = Harness()
    value = empty_object(PROVIDER_SCHEMA.block) | {"project_root": UNKNOWN}
    h.service.ConfigureProvider(
        pb.ConfigureProvider.Request(
            config=pb.DynamicValue(msgpack=encode_msgpack(value, PROVIDER))
        ),
        None,
    )
    planned = _value(h.plan(None, _config()).planned_state)
    assert isinstance(planned["revision"], Unknown)
    assert h.executor.calls == []


def test_failed_migration_keeps_the_revision_reached_and_redacts_secrets() -> None:
    executor = FakeExecutor(fail_at="b2")
    h = Harness(executor)
    h.configure()
    plan = h.plan(None, _config())

    def boom(*_: object, **__: object) -> Any:
        from alembic_provider.errors import MigrationError

        raise MigrationError(f"could not connect to {SECRET}", heads_reached=("a1",), revision="b2")

    executor.upgrade = boom  # type: ignore[method-assign]
    applied = h.apply(None, plan, _config())
    state = _value(applied.new_state)
    assert state["revision"] == "a1"
    text = "\n".join(_errors(applied))
    assert "Migration Failed" in text
    assert "hunter2" not in text
    assert "hunter2" not in h.logs.getvalue()


def test_request_secrets_are_hidden_but_not_kept_after_the_operation() -> None:
    """The redactor's memory is bounded by the requests in flight, not every value ever seen."""
    executor = FakeExecutor()
    h = Harness(executor)
    h.configure()
    known = len(h.provider.redactor)
    seen: list[str] = []

    def boom(project: Any, *_: object, **__: object) -> Any:
        from alembic_provider.errors import MigrationError

        raise MigrationError(f"could not connect with {project.environment['TOKEN']}")

    executor.inspect = boom  # type: ignore[method-assign]
    for number in range(20):
        secret = f"token-{number:04d}-" + "x" * 100_000
        config = _config(environment={"TOKEN": secret})
        seen.append("\n".join(_errors(h.plan(None, config))))
        assert secret not in seen[-1]
        assert "could not connect with ***" in seen[-1]
    assert f"token-{19:04d}" not in h.logs.getvalue()
    assert len(h.provider.redactor) == known


def test_an_exception_in_a_hook_becomes_a_diagnostic_with_traceback() -> None:
    executor = FakeExecutor()
    h = Harness(executor)
    h.configure()

    def broken(*_: object, **__: object) -> Any:
        raise RuntimeError("kaboom")

    executor.inspect = broken  # type: ignore[method-assign]
    plan = h.plan(None, _config())
    (diagnostic,) = plan.diagnostics
    assert diagnostic.severity == pb.Diagnostic.ERROR
    assert diagnostic.summary == "Unexpected Provider Error"
    assert "kaboom" in diagnostic.detail
    assert "Traceback" in diagnostic.detail
    assert "please report it" in diagnostic.detail


def test_destroy_leaves_the_database_alone() -> None:
    executor = FakeExecutor()
    h = Harness(executor)
    h.configure()
    state, _ = h.create()
    writes = executor.writes
    plan = h.plan(state, None)
    kept = (
        "Database Kept: Destroying this resource only removes it from Terraform's state: "
        "on_destroy is not set (set it to a revision id or 'base' to downgrade the database on "
        "destroy), so the database stays at "
    )
    assert [d.startswith(kept) for d in _errors(plan)] == [True]
    applied = h.apply(state, plan, None)
    assert [d.startswith(kept) for d in _errors(applied)] == [True]
    assert _value(applied.new_state) is None
    assert executor.writes == writes


def test_malformed_state_json_is_a_clear_error() -> None:
    h = Harness()
    response = h.service.UpgradeResourceState(
        pb.UpgradeResourceState.Request(
            type_name="alembic_upgrade", version=2, raw_state=pb.RawState(json=b"[1]")
        ),
        None,
    )
    assert _errors(response) == [
        "Invalid Resource State: The stored state of 'alembic_upgrade' (the request's "
        "'raw_state') is not a JSON object. Restore the state from a backup, or remove the "
        "resource from state and import it again."
    ]


@pytest.mark.parametrize("version", [2, 3])
def test_state_of_the_go_provider_upgrades(version: int) -> None:
    h = Harness()
    raw = {
        "id": "6f1c",
        "target": "head",
        "revision": "c3",
        "environment": {"DATABASE_URL": SECRET},
        "extra": None,
        "tag": None,
        "alembic": ["alembic"],
        "proxy_command": None,
        "proxy_sleep": "5s",
    }
    response = h.service.UpgradeResourceState(
        pb.UpgradeResourceState.Request(
            type_name="alembic_upgrade",
            version=version,
            raw_state=pb.RawState(json=json.dumps(raw).encode()),
        ),
        None,
    )
    assert _errors(response) == []
    state = _value(response.upgraded_state)
    assert state["target"] == "head"
    assert state["revision"] == "c3"
    assert state["id"] == "6f1c"


def test_invalid_durations_are_reported_on_their_attribute() -> None:
    h = Harness()
    config = _config(
        lock_timeout="soon",
        timeouts={"create": "10x", "update": None, "read": None, "delete": None},
    )
    response = h.service.ValidateResourceConfig(
        pb.ValidateResourceConfig.Request(type_name="alembic_upgrade", config=_dv(config)), None
    )
    paths = [[step.attribute_name for step in d.attribute.steps] for d in response.diagnostics]
    assert paths == [["lock_timeout"], ["timeouts", "create"]]
    assert all(d.severity == pb.Diagnostic.ERROR for d in response.diagnostics)
    assert "'soon'" in response.diagnostics[0].detail


@pytest.mark.parametrize(
    ("root", "warmed"),
    [(".", True), (UNKNOWN, False), ("/no/such/directory", False)],
    ids=["known", "unknown", "missing"],
)
def test_validating_the_provider_config_warms_the_project_interpreter_up(
    root: Any, warmed: bool
) -> None:
    """The validate walk's provider process starts the shared Alembic server for later ones."""
    h = Harness()
    value = empty_object(PROVIDER_SCHEMA.block) | {"project_root": root}
    response = h.service.ValidateProviderConfig(
        pb.ValidateProviderConfig.Request(
            config=pb.DynamicValue(msgpack=encode_msgpack(value, PROVIDER))
        ),
        None,
    )
    assert _errors(response) == []
    assert (h.executor.calls == ["warm_up"]) is warmed, h.executor.calls
