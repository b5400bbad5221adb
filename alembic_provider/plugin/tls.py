"""An ephemeral server certificate for go-plugin's automatic TLS.

Terraform trusts exactly the certificate printed in the handshake line and connects with server
name ``localhost``. The key is made in memory at start-up and never written anywhere; ECDSA P-256
keeps that fast. Client certificates are not verified: grpcio cannot accept Terraform's P-521
client certificate, so the private 0700 socket directory is the access control.
"""

from __future__ import annotations

import base64
import datetime
from dataclasses import dataclass

__all__ = ["ServerCertificate", "make_server_certificate"]


@dataclass(frozen=True)
class ServerCertificate:
    key_pem: bytes
    cert_pem: bytes
    cert_der: bytes

    @property
    def handshake_field(self) -> str:
        """The certificate as go-plugin expects it: base64 of the DER bytes, no padding."""
        return base64.b64encode(self.cert_der).decode("ascii").rstrip("=")


def make_server_certificate() -> ServerCertificate:
    """Create a fresh self-signed certificate valid for ``localhost``."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "terraform-provider-alembic"),
            x509.NameAttribute(NameOID.COMMON_NAME, "localhost"),
        ]
    )
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(seconds=30))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=True,
                key_cert_sign=True,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.ExtendedKeyUsage(
                [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]
            ),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    return ServerCertificate(
        key_pem=key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
        cert_pem=certificate.public_bytes(serialization.Encoding.PEM),
        cert_der=certificate.public_bytes(serialization.Encoding.DER),
    )
