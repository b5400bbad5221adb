"""The go-plugin contract, checked against a real provider process."""

from __future__ import annotations

import base64
import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest

from alembic_provider.plugin.proto import (
    grpc_controller_pb2,
    grpc_controller_pb2_grpc,
    health_pb2,
    health_pb2_grpc,
    tfplugin6_pb2,
    tfplugin6_pb2_grpc,
)
from alembic_provider.plugin.server import (
    MAGIC_COOKIE_KEY,
    MAGIC_COOKIE_VALUE,
    HandshakeError,
    check_handshake_environment,
    handshake_line,
    reattach_value,
    remove_stale_directories,
    socket_parent,
)
from alembic_provider.plugin.tls import make_server_certificate
from tests.ci_skips import NOT_HERE
from tests.started import PROVIDER_COMMAND, StartedProvider


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TF_", "PLUGIN_"))}
    env.update({MAGIC_COOKIE_KEY: MAGIC_COOKIE_VALUE, "PLUGIN_PROTOCOL_VERSIONS": "5,6"})
    env.update(extra)
    return env


def _pem_der(cert_field: str) -> bytes:
    return base64.b64decode(cert_field + "=" * (-len(cert_field) % 4))


class Plugin(StartedProvider):
    def __init__(self, env: dict[str, str]) -> None:
        super().__init__(PROVIDER_COMMAND, env)
        parts = self.line.split("|")
        if parts[:3] != ["1", "6", "unix"]:
            errors = self.stop(timeout=10)
            raise AssertionError(f"no handshake: {self.line!r}; the provider said:\n{errors}")
        self.cert_field = parts[5]

    def channel(self) -> grpc.Channel:
        target = f"unix:{self.socket_path}"
        if not self.cert_field:
            return grpc.insecure_channel(target)
        from cryptography import x509
        from cryptography.hazmat.primitives.serialization import Encoding

        pem = x509.load_der_x509_certificate(_pem_der(self.cert_field)).public_bytes(Encoding.PEM)
        credentials = grpc.ssl_channel_credentials(root_certificates=pem)
        return grpc.secure_channel(
            target, credentials, options=[("grpc.ssl_target_name_override", "localhost")]
        )


@pytest.fixture
def tls_plugin() -> Iterator[Plugin]:
    plugin = Plugin(_env(PLUGIN_CLIENT_CERT="-----BEGIN CERTIFICATE-----\n"))
    yield plugin
    plugin.stop()


def test_without_magic_cookie_it_explains_itself_and_exits_1() -> None:
    env = {k: v for k, v in os.environ.items() if k != MAGIC_COOKIE_KEY}
    proc = subprocess.run(
        [sys.executable, "-m", "alembic_provider"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 1
    assert proc.stdout == ""
    assert "This binary is a plugin for Terraform" in proc.stderr
    assert "terraform-provider-alembic install" in proc.stderr


def test_protocol_6_is_required() -> None:
    with pytest.raises(HandshakeError, match="offered '4,5'"):
        check_handshake_environment(
            {MAGIC_COOKIE_KEY: MAGIC_COOKIE_VALUE, "PLUGIN_PROTOCOL_VERSIONS": "4,5"}
        )
    check_handshake_environment(
        {MAGIC_COOKIE_KEY: MAGIC_COOKIE_VALUE, "PLUGIN_PROTOCOL_VERSIONS": "6,5"}
    )


def test_handshake_and_reattach_formats() -> None:
    assert handshake_line("/tmp/x/plugin.sock", "QUJD") == "1|6|unix|/tmp/x/plugin.sock|grpc|QUJD"
    assert reattach_value("terraform.local/alembic/alembic", "/s", 7) == (
        '{"terraform.local/alembic/alembic":{"Protocol":"grpc","ProtocolVersion":6,'
        '"Pid":7,"Test":true,"Addr":{"Network":"unix","String":"/s"}}}'
    )


def test_certificate_is_unpadded_der_for_localhost() -> None:
    from cryptography import x509

    certificate = make_server_certificate()
    assert "=" not in certificate.handshake_field
    parsed = x509.load_der_x509_certificate(_pem_der(certificate.handshake_field))
    names = parsed.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert names.get_values_for_type(x509.DNSName) == ["localhost"]


def test_tls_session_serves_schema_health_and_shuts_down_promptly(tls_plugin: Plugin) -> None:
    socket_dir = Path(tls_plugin.socket_path).parent
    assert socket_dir.stat().st_mode & 0o777 == 0o700
    assert len(tls_plugin.cert_field) > 50
    with tls_plugin.channel() as channel:
        schema = tfplugin6_pb2_grpc.ProviderStub(channel).GetProviderSchema(
            tfplugin6_pb2.GetProviderSchema.Request(), timeout=10
        )
        assert "alembic_upgrade" in schema.resource_schemas
        assert next(a.name for a in schema.provider.block.attributes) == "project_root"
        health = health_pb2_grpc.HealthStub(channel).Check(
            health_pb2.HealthCheckRequest(service="plugin"), timeout=10
        )
        assert health.status == health_pb2.HealthCheckResponse.SERVING
        # The answer may lose the race with the exit; go-plugin treats either as a clean stop.
        with contextlib.suppress(grpc.RpcError):
            grpc_controller_pb2_grpc.GRPCControllerStub(channel).Shutdown(
                grpc_controller_pb2.Empty(), timeout=10
            )
    # How fast it exits (Terraform kills providers that take 2 s) is a `make bench` row.
    assert tls_plugin.process.wait(timeout=10) == 0
    assert not socket_dir.exists()


def test_plaintext_when_terraform_disables_tls() -> None:
    plugin = Plugin(_env())
    try:
        assert plugin.cert_field == ""
        with plugin.channel() as channel:
            stub = tfplugin6_pb2_grpc.ProviderStub(channel)
            stub.GetProviderSchema(tfplugin6_pb2.GetProviderSchema.Request(), timeout=10)
    finally:
        plugin.stop()


def test_sigint_is_ignored_and_stop_provider_keeps_serving(tls_plugin: Plugin) -> None:
    os.killpg(tls_plugin.process.pid, signal.SIGINT)
    with tls_plugin.channel() as channel:
        stub = tfplugin6_pb2_grpc.ProviderStub(channel)
        stub.StopProvider(tfplugin6_pb2.StopProvider.Request(), timeout=10)
        again = stub.GetProviderSchema(tfplugin6_pb2.GetProviderSchema.Request(), timeout=10)
    assert "alembic_upgrade" in again.resource_schemas
    assert tls_plugin.process.poll() is None


def test_unknown_resource_type_is_a_diagnostic_not_a_crash(tls_plugin: Plugin) -> None:
    with tls_plugin.channel() as channel:
        stub = tfplugin6_pb2_grpc.ProviderStub(channel)
        response = stub.ReadResource(
            tfplugin6_pb2.ReadResource.Request(type_name="alembic_nope"), timeout=10
        )
        assert response.diagnostics[0].severity == tfplugin6_pb2.Diagnostic.ERROR
        assert "alembic_nope" in response.diagnostics[0].detail
        stub.GetProviderSchema(tfplugin6_pb2.GetProviderSchema.Request(), timeout=10)


def test_debug_mode_prints_reattach_value_and_stops_on_sigterm() -> None:
    process = subprocess.Popen(
        [sys.executable, "-B", "-m", "alembic_provider", "--debug"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=_env(),
    )
    try:
        assert process.stdout is not None
        lines = [process.stdout.readline() for _ in range(5)]
        assert lines[0].startswith("Provider started.")
        assert lines[2].startswith('\tTF_REATTACH_PROVIDERS=\'{"terraform.local/alembic/alembic"')
        assert lines[4] == (
            "Relative paths in configurations (such as project_root) resolve against this "
            f"directory, not Terraform's working directory: {os.getcwd()}\n"
        )
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=5) == 0
    finally:
        if process.poll() is None:
            process.kill()
        process.communicate(timeout=10)


def _dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def test_stale_socket_directories_of_dead_providers_are_removed(tmp_path: Path) -> None:
    dead = tmp_path / f"tf-alembic-{_dead_pid()}-abc"
    alive = tmp_path / f"tf-alembic-{os.getpid()}-def"
    older = tmp_path / "tf-alembic-xyz"  # no owner recorded: cannot tell, so kept
    other = tmp_path / f"other-{_dead_pid()}-x"
    not_a_directory = tmp_path / f"tf-alembic-{_dead_pid()}-file"
    for directory in (dead, alive, older, other):
        directory.mkdir()
        (directory / "plugin.sock").touch()
    not_a_directory.touch()

    assert remove_stale_directories(str(tmp_path)) == [str(dead)]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        p.name for p in (alive, older, other, not_a_directory)
    )


@pytest.fixture
def short_tmp() -> Iterator[Path]:
    """A temporary directory with a short path: a unix socket path has at most 107 bytes."""
    path = Path(tempfile.mkdtemp(prefix="tfa-", dir="/tmp"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


def test_a_starting_provider_removes_the_directory_of_a_killed_one(short_tmp: Path) -> None:
    tmp_path = short_tmp
    # Served in the process Terraform started (no warm server), which SIGKILL stops at once.
    env = _env(TMPDIR=str(tmp_path), TERRAFORM_PROVIDER_ALEMBIC_DAEMON="0")
    killed = Plugin(env)
    left = Path(killed.socket_path).parent
    assert left.parent == tmp_path
    killed.stop()  # SIGKILL: the provider cannot clean up
    assert left.exists()
    started = Plugin(env)
    try:
        assert not left.exists()
        assert Path(started.socket_path).exists()
    finally:
        started.stop()


_SYSTEM_PYTHON = "/usr/bin/python3"  # one another user may run (a virtualenv may be private)


@pytest.mark.skipif(
    os.geteuid() != 0 or not os.path.exists(_SYSTEM_PYTHON),
    reason=f"{NOT_HERE}needs root and a system Python to run a client as another user",
)
def test_another_user_cannot_reach_the_socket(tls_plugin: Plugin) -> None:
    """The socket's directory is private (0700): another user cannot even connect."""
    probe = (
        "import socket, sys\n"
        "s = socket.socket(socket.AF_UNIX)\n"
        "try:\n"
        "    s.connect(sys.argv[1])\n"
        "except PermissionError:\n"
        "    sys.exit(13)\n"
    )
    nobody = 65534
    result = subprocess.run(
        [_SYSTEM_PYTHON, "-I", "-c", probe, tls_plugin.socket_path],
        user=nobody,
        group=nobody,
        extra_groups=[],
        capture_output=True,
        check=False,
        cwd="/",
    )
    assert result.returncode == 13, result.stderr
    # The owner still can.
    with tls_plugin.channel() as channel:
        health = health_pb2_grpc.HealthStub(channel).Check(
            health_pb2.HealthCheckRequest(service="plugin"), timeout=10
        )
    assert health.status == health_pb2.HealthCheckResponse.SERVING


@pytest.fixture
def long_tmp(tmp_path: Path) -> Path:
    """A ``TMPDIR`` so long that a socket under it could not be bound (107 bytes at most)."""
    path = tmp_path / ("long-temporary-directory-" * 5)
    path.mkdir()
    assert len(str(path)) > 120
    return path


@pytest.mark.parametrize("daemon", ["0", "1"], ids=["own-process", "warm-server"])
def test_a_long_tmpdir_still_gets_a_socket_terraform_can_reach(
    long_tmp: Path, short_tmp: Path, daemon: str
) -> None:
    env = _env(
        TMPDIR=str(long_tmp),
        TERRAFORM_PROVIDER_ALEMBIC_DAEMON=daemon,
        TERRAFORM_PROVIDER_ALEMBIC_DAEMON_DIR=str(short_tmp / "daemon"),
    )
    env.pop("XDG_RUNTIME_DIR", None)
    plugin = Plugin(env)
    try:
        socket_dir = plugin.socket_path.parent
        assert len(os.fsencode(plugin.socket_path)) <= 107
        assert socket_dir.parent == Path("/tmp")
        assert socket_dir.stat().st_mode & 0o777 == 0o700
        with plugin.channel() as channel:
            health = health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(service="plugin"), timeout=10
            )
        assert health.status == health_pb2.HealthCheckResponse.SERVING
    finally:
        plugin.stop()


def test_a_socket_too_long_under_tmpdir_goes_under_the_runtime_directory(
    long_tmp: Path, short_tmp: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(long_tmp))
    assert socket_parent({"XDG_RUNTIME_DIR": str(short_tmp)}) == str(short_tmp)
    assert socket_parent({"XDG_RUNTIME_DIR": str(long_tmp)}) == "/tmp"
    assert socket_parent({}) == "/tmp"
    monkeypatch.setattr(tempfile, "tempdir", str(short_tmp))
    assert socket_parent({"XDG_RUNTIME_DIR": "/tmp"}) == str(short_tmp)
