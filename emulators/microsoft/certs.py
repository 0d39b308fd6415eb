"""A throwaway certificate authority and server certificate for 127.0.0.1.

msal only accepts an https authority, so the emulator serves TLS with a
certificate signed by a CA created at start-up. Clients trust that CA by
pointing `verify` at `ca_path`, or REQUESTS_CA_BUNDLE at `bundle_path` (the
CA plus certifi's public CAs).
"""

import ipaddress
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import certifi
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from .state import utc_now

VALIDITY = timedelta(days=7)


@dataclass(frozen=True)
class CertificateFiles:
    """PEM files: the CA to trust, and the server's certificate and key."""

    ca_path: Path
    cert_path: Path
    key_path: Path
    bundle_path: Path


def name(common_name: str) -> x509.Name:
    """Return an X.509 name with just a common name."""
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def write_pem(path: Path, data: bytes) -> Path:
    """Write PEM data readable by the owner only."""
    path.write_bytes(data)
    path.chmod(0o600)
    return path


def create_certificates(directory: Path) -> CertificateFiles:
    """Create a CA and a server certificate for 127.0.0.1, ::1 and localhost."""
    directory.mkdir(parents=True, exist_ok=True)
    now = utc_now()
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(name("Graph emulator test CA"))
        .issuer_name(name("Graph emulator test CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + VALIDITY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True, content_commitment=False,
                key_encipherment=False, data_encipherment=False,
                key_agreement=False, key_cert_sign=True, crl_sign=True,
                encipher_only=False, decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )  # fmt: skip

    server_key = ec.generate_private_key(ec.SECP256R1())
    alternative_names = x509.SubjectAlternativeName(
        [
            x509.DNSName("localhost"),
            x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
            x509.IPAddress(ipaddress.ip_address("::1")),
        ]
    )
    server_cert = (
        x509.CertificateBuilder()
        .subject_name(name("127.0.0.1"))
        .issuer_name(ca_cert.subject)
        .public_key(server_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + VALIDITY)
        .add_extension(alternative_names, critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )

    pem = serialization.Encoding.PEM
    key_bytes = server_key.private_bytes(
        pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    ca_bytes = ca_cert.public_bytes(pem)
    bundle = ca_bytes + Path(certifi.where()).read_bytes()
    return CertificateFiles(
        ca_path=write_pem(directory / "ca.pem", ca_bytes),
        cert_path=write_pem(directory / "server.pem", server_cert.public_bytes(pem)),
        key_path=write_pem(directory / "server-key.pem", key_bytes),
        bundle_path=write_pem(directory / "ca-bundle.pem", bundle),
    )
