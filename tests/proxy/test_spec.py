"""What identifies a proxy, how its attributes are read, and where readiness is checked."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from alembic_provider.errors import ConfigError
from alembic_provider.proxy import (
    ProxySpec,
    TcpAddress,
    UnixSocket,
    check_executable,
    command_validator,
    parse_ready,
    ready_validator,
    spec_from_config,
)
from alembic_provider.proxy.readiness import probe

COMMAND = ("cloud-sql-proxy", "project:region:db")


def test_equal_settings_make_equal_specs_that_hash_alike() -> None:
    first = ProxySpec(COMMAND, ready="127.0.0.1:5432", environment={"A": "1", "B": "2"})
    second = ProxySpec(list(COMMAND), ready="127.0.0.1:5432", environment={"B": "2", "A": "1"})  # type: ignore[arg-type]
    assert first == second
    assert hash(first) == hash(second)
    assert len({first, second}) == 1


@pytest.mark.parametrize(
    "change",
    [
        {"command": ("cloud-sql-proxy", "other:region:db")},
        {"sleep": 1.0},
        {"ready": "127.0.0.1:5433"},
        {"timeout": 10.0},
        {"environment": {"A": "2"}},
    ],
)
def test_any_difference_makes_another_proxy(change: dict[str, object]) -> None:
    base: dict[str, object] = {"command": COMMAND, "environment": {"A": "1"}}
    assert ProxySpec(**base) != ProxySpec(**{**base, **change})  # type: ignore[arg-type]


def test_the_repr_masks_environment_values() -> None:
    spec = ProxySpec(COMMAND, environment={"TOKEN": "s3cr3t-token"})
    assert repr(spec) == (
        "ProxySpec(command=('cloud-sql-proxy', 'project:region:db'), sleep=5.0, ready=None, "
        "timeout=30.0, environment={'TOKEN': '***'})"
    )
    assert "s3cr3t" not in str(spec)


def test_the_environment_cannot_be_changed_afterwards() -> None:
    environment = {"TOKEN": "a"}
    spec = ProxySpec(COMMAND, environment=environment)
    environment["TOKEN"] = "b"
    assert spec.environment["TOKEN"] == "a"
    with pytest.raises(TypeError):
        spec.environment["TOKEN"] = "c"  # type: ignore[index]


@pytest.mark.parametrize(
    ("kwargs", "attribute", "message"),
    [
        (
            {"command": ()},
            "proxy_command",
            "The proxy command must be a non-empty list of strings whose first element names an "
            'executable, for example ["cloud-sql-proxy", "project:region:db"].',
        ),
        (
            {"command": ("",)},
            "proxy_command",
            "The proxy command must be a non-empty list of strings whose first element names an "
            'executable, for example ["cloud-sql-proxy", "project:region:db"].',
        ),
        (
            {"command": COMMAND, "sleep": -1.0},
            "proxy_sleep",
            "The value '-1' of 'proxy_sleep' is not a non-negative number of seconds.",
        ),
        (
            {"command": COMMAND, "timeout": 0.0},
            "proxy_timeout",
            "The value '0' of 'proxy_timeout' is not a positive number of seconds.",
        ),
        (
            {"command": COMMAND, "ready": "5432"},
            "proxy_ready",
            "The readiness address '5432' is neither 'host:port' nor a unix socket path; use a "
            "form such as '127.0.0.1:5432', 'localhost:3306', '[::1]:5432' or "
            "'/cloudsql/app/.s.PGSQL.5432'.",
        ),
    ],
)
def test_bad_values_name_the_attribute(
    kwargs: dict[str, object], attribute: str, message: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        ProxySpec(**kwargs)  # type: ignore[arg-type]
    assert caught.value.attribute == (attribute,)
    assert caught.value.message == message


@pytest.mark.parametrize(
    ("text", "target"),
    [
        ("127.0.0.1:5432", TcpAddress("127.0.0.1", 5432)),
        ("localhost:3306", TcpAddress("localhost", 3306)),
        ("[::1]:5432", TcpAddress("::1", 5432)),
        ("/cloudsql/p:r:i/.s.PGSQL.5432", UnixSocket("/cloudsql/p:r:i/.s.PGSQL.5432")),
        ("./proxy.sock", UnixSocket("./proxy.sock")),
    ],
)
def test_ready_is_host_port_or_a_socket_path(text: str, target: object) -> None:
    assert parse_ready(text) == target
    assert str(target) == text
    assert ready_validator(text) is None


@pytest.mark.parametrize(
    "text", ["", "localhost", ":5432", "host:", "host:0", "host:65536", "host:http", "::1:5432"]
)
def test_other_ready_values_are_rejected(text: str) -> None:
    with pytest.raises(ConfigError, match="is neither 'host:port' nor a unix socket path"):
        parse_ready(text)
    assert ready_validator(text) is not None


def test_the_command_validator_wants_a_non_empty_list_of_strings() -> None:
    assert command_validator(["cloud-sql-proxy"]) is None
    assert command_validator([]) is not None
    assert command_validator([""]) is not None
    assert command_validator("cloud-sql-proxy") is not None


def test_spec_from_config_reads_the_proxy_attributes() -> None:
    values = {
        "proxy_command": ["ssh", "-N", "-L", "5432:db:5432", "bastion"],
        "proxy_sleep": None,
        "proxy_ready": "127.0.0.1:5432",
        "proxy_timeout": "1m",
        "target": "head",
    }
    assert spec_from_config(values, {"SSH_AUTH_SOCK": "/run/agent"}) == ProxySpec(
        ("ssh", "-N", "-L", "5432:db:5432", "bastion"),
        sleep=5.0,
        ready="127.0.0.1:5432",
        timeout=60.0,
        environment={"SSH_AUTH_SOCK": "/run/agent"},
    )


def test_spec_from_config_takes_the_go_providers_sleep() -> None:
    spec = spec_from_config({"proxy_command": ["proxy"], "proxy_sleep": "PT30S"})
    assert spec == ProxySpec(("proxy",), sleep=30.0)


def test_no_command_means_no_proxy() -> None:
    assert spec_from_config({"proxy_command": None, "proxy_sleep": "5s"}) is None
    assert spec_from_config({}) is None


def test_spec_from_config_names_a_bad_duration() -> None:
    with pytest.raises(ConfigError) as caught:
        spec_from_config({"proxy_command": ["proxy"], "proxy_timeout": "soon"})
    assert caught.value.attribute == ("proxy_timeout",)
    assert caught.value.message.startswith("The duration 'soon' is not valid;")


def test_probe_sees_a_tcp_listener_and_its_absence() -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        port = server.getsockname()[1]
        assert not probe(TcpAddress("127.0.0.1", port), 1.0)
        server.listen(1)
        assert probe(TcpAddress("127.0.0.1", port), 1.0)


def test_probe_sees_a_unix_listener_and_its_absence(tmp_path: Path) -> None:
    path = tmp_path / "p.sock"
    assert not probe(UnixSocket(str(path)), 1.0)
    with socket.socket(socket.AF_UNIX) as server:
        server.bind(str(path))
        assert not probe(UnixSocket(str(path)), 1.0)
        server.listen(1)
        assert probe(UnixSocket(str(path)), 1.0)


def test_an_executable_on_path_or_by_full_path_is_found(tmp_path: Path) -> None:
    tool = tmp_path / "my-proxy"
    tool.write_text("#!/bin/sh\n")
    tool.chmod(0o755)
    check_executable(["my-proxy", "--port", "1"], path=str(tmp_path))
    check_executable([str(tool)], path="")


def test_a_missing_executable_is_an_error_on_proxy_command(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        check_executable(["no-such-proxy-x"], path=str(tmp_path))
    assert (caught.value.summary, caught.value.attribute) == (
        "Proxy Command Not Found",
        ("proxy_command",),
    )
    assert caught.value.message == (
        f"The proxy command's executable 'no-such-proxy-x' is not on PATH ({tmp_path}), so the "
        "proxy could not start. Install it, or give its full path as the first element of "
        "proxy_command."
    )
    plain = tmp_path / "not-executable"
    plain.write_text("")
    with pytest.raises(ConfigError, match="does not exist or is not an executable file"):
        check_executable([str(plain)])
