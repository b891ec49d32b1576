"""The sandbox's own certificate authority and server certificate.

kubectl sends a bearer token only over TLS, so the sandbox speaks HTTPS with a
CA made here (kept across restarts, so a learner's kubeconfig stays valid) and
a server certificate for 127.0.0.1 and localhost. EC P-256: generating it takes
milliseconds, which keeps start-up under a second.
"""

from __future__ import annotations

import datetime
import ipaddress

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from labrunner.sandbox.files import SandboxFiles, write_atomically

_VALIDITY = datetime.timedelta(days=3650)


def _name(common_name: str) -> x509.Name:
    return x509.Name([
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "labrunner sandbox"),
        x509.NameAttribute(NameOID.COMMON_NAME, common_name),
    ])


def _pem_key(key: ec.EllipticCurvePrivateKey) -> str:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()


def ensure_certificates(files: SandboxFiles) -> None:
    """Create the CA (once) and a server certificate signed by it (when missing)."""
    now = datetime.datetime.now(datetime.timezone.utc)
    if files.ca_certificate.exists() and files.ca_key.exists():
        ca_certificate = x509.load_pem_x509_certificate(files.ca_certificate.read_bytes())
        ca_key = serialization.load_pem_private_key(files.ca_key.read_bytes(), password=None)
    else:
        ca_key = ec.generate_private_key(ec.SECP256R1())
        ca_certificate = (
            x509.CertificateBuilder()
            .subject_name(_name("labrunner sandbox CA"))
            .issuer_name(_name("labrunner sandbox CA"))
            .public_key(ca_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + _VALIDITY)
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(
                digital_signature=True, key_cert_sign=True, crl_sign=True, content_commitment=False,
                key_encipherment=False, data_encipherment=False, key_agreement=False, encipher_only=False, decipher_only=False,
            ), critical=True)
            .sign(ca_key, hashes.SHA256())
        )
        write_atomically(files.ca_key, _pem_key(ca_key), private=True)
        write_atomically(files.ca_certificate, ca_certificate.public_bytes(serialization.Encoding.PEM).decode())
        files.server_certificate.unlink(missing_ok=True)
    if files.server_certificate.exists() and files.server_key.exists():
        return
    server_key = ec.generate_private_key(ec.SECP256R1())
    server_certificate = (
        x509.CertificateBuilder()
        .subject_name(_name("labrunner-sandbox-apiserver"))
        .issuer_name(ca_certificate.subject)
        .public_key(server_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + _VALIDITY)
        .add_extension(x509.SubjectAlternativeName([
            x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost"),
        ]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(ca_key, hashes.SHA256())  # type: ignore[arg-type]
    )
    write_atomically(files.server_key, _pem_key(server_key), private=True)
    write_atomically(files.server_certificate, server_certificate.public_bytes(serialization.Encoding.PEM).decode())
