"""A private provider registry and a network mirror for tests, over HTTPS on localhost.

The registry speaks the provider registry protocol (``providers.v1``: list versions, find a
package) and serves the files ``make release`` wrote, with ``SHA256SUMS`` signed by a throwaway
GnuPG key, as a private registry serving a release does. The static server serves the
``mirror/`` tree as any static web server would, for the provider network mirror protocol
(JSON documents as ``application/json``, which Terraform insists on). Terraform finds the
registry through a ``host`` block in its CLI configuration and trusts both through
``SSL_CERT_FILE``. Nothing here is
reachable from outside the machine, and everything stops when the context ends.
"""

from __future__ import annotations

import datetime
import http.server
import ipaddress
import json
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.support import SigningKey

__all__ = ["Registry", "serve_registry", "serve_static"]

HOST = "registry.alembic.test"
"""The registry's hostname in provider source addresses; the CLI config's ``host`` maps it."""


def _certificate(directory: Path) -> tuple[Path, Path]:
    """Write a self-signed certificate for 127.0.0.1 and its key; return their paths."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path = directory / "registry.pem"
    key_path = directory / "registry.key"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


@dataclass(frozen=True)
class Registry:
    """A running registry: its base URL, the CA file to trust and the CLI config to use it."""

    url: str
    ca_file: Path

    @property
    def cli_config(self) -> str:
        services = f'"providers.v1" = "{self.url}/v1/providers/"'
        return f'host "{HOST}" {{\n  services = {{\n    {services}\n  }}\n}}\n'


@contextmanager
def serve_registry(
    files: Path, version: str, platform: str, key: SigningKey, workdir: Path
) -> Iterator[Registry]:
    """Serve the release in ``files`` (archive, ``SHA256SUMS`` and its ``.sig``) for one version.

    :param platform: the archive's ``OS_ARCH``.
    """
    os_name, arch = platform.split("_", 1)
    prefix = f"terraform-provider-alembic_{version}"
    archive = files / f"{prefix}_{platform}.zip"
    sums = files / f"{prefix}_SHA256SUMS"
    shasum = next(
        line.split()[0] for line in sums.read_text().splitlines() if line.endswith(archive.name)
    )
    routes: dict[str, bytes] = {}
    server = _server(routes, files, workdir)
    base = f"https://127.0.0.1:{server.server_address[1]}"
    api = "/v1/providers/alembic/alembic"
    routes[f"{api}/versions"] = json.dumps(
        {
            "versions": [
                {
                    "version": version,
                    "protocols": ["6.0"],
                    "platforms": [{"os": os_name, "arch": arch}],
                }
            ]
        }
    ).encode()
    routes[f"{api}/{version}/download/{os_name}/{arch}"] = json.dumps(
        {
            "protocols": ["6.0"],
            "os": os_name,
            "arch": arch,
            "filename": archive.name,
            "download_url": f"{base}/files/{archive.name}",
            "shasums_url": f"{base}/files/{sums.name}",
            "shasums_signature_url": f"{base}/files/{sums.name}.sig",
            "shasum": shasum,
            "signing_keys": {
                "gpg_public_keys": [
                    {"key_id": key.fingerprint[-16:], "ascii_armor": key.public_key}
                ]
            },
        }
    ).encode()
    with _running(server):
        yield Registry(base, workdir / "registry.pem")


@contextmanager
def serve_static(directory: Path, workdir: Path) -> Iterator[Registry]:
    """Serve the files under ``directory`` at ``/``, as a static provider network mirror."""
    server = _server({}, directory, workdir, prefix="/")
    with _running(server):
        yield Registry(f"https://127.0.0.1:{server.server_address[1]}", workdir / "registry.pem")


def _server(
    routes: dict[str, bytes], files: Path, workdir: Path, prefix: str = "/files/"
) -> http.server.ThreadingHTTPServer:
    """Return an HTTPS server on 127.0.0.1 answering ``routes`` and the files under ``prefix``."""
    cert, private = _certificate(workdir)
    root = files.resolve()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = routes.get(self.path)
            if body is None and self.path.startswith(prefix):
                path = (root / self.path.removeprefix(prefix)).resolve()
                inside = path.is_relative_to(root) and path.is_file()
                body = path.read_bytes() if inside else None
            if body is None:
                self.send_error(404)
                return
            self.send_response(200)
            kind = "application/json" if body[:1] == b"{" else "application/octet-stream"
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, private)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    return server


@contextmanager
def _running(server: http.server.ThreadingHTTPServer) -> Iterator[None]:
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
