"""Kubeconfigs for identities other than the sandbox's admin, as a learner makes them:
a client certificate signed by the cluster's CA (what ``kubectl certificate approve``
gives), or a bearer token (``kubectl create token``)."""

from __future__ import annotations

import base64
import datetime
import json
from pathlib import Path

from labrunner.sandbox.files import SandboxFiles


def _config(files: SandboxFiles, user: dict[str, str]) -> dict[str, object]:
    config = json.loads(files.kubeconfig.read_text())
    config["users"] = [{"name": "learner", "user": user}]
    config["contexts"][0]["context"]["user"] = "learner"
    return config


def certificate_kubeconfig(files: SandboxFiles, path: Path, user: str, groups: tuple[str, ...] = (),
                           *, own_ca: bool = False) -> Path:
    """A kubeconfig whose client certificate says CN=user, O=each group, signed by the
    sandbox's CA (or, ``own_ca``, by a CA the cluster never saw)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key = serialization.load_pem_private_key(files.ca_key.read_bytes(), None)
    ca_name = x509.load_pem_x509_certificate(files.ca_certificate.read_bytes()).subject
    if own_ca:
        ca_key = ec.generate_private_key(ec.SECP256R1())
        ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "someone else's CA")])
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, group) for group in groups]
                        + [x509.NameAttribute(NameOID.COMMON_NAME, user)])
    certificate = (x509.CertificateBuilder().subject_name(subject).issuer_name(ca_name).public_key(key.public_key())
                   .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
                   .not_valid_after(now + datetime.timedelta(days=1))
                   .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
                   .sign(ca_key, hashes.SHA256()))  # type: ignore[arg-type]
    pem = certificate.public_bytes(serialization.Encoding.PEM)
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    path.write_text(json.dumps(_config(files, {"client-certificate-data": base64.b64encode(pem).decode(),
                                               "client-key-data": base64.b64encode(key_pem).decode()})))
    return path


def token_kubeconfig(files: SandboxFiles, path: Path, token: str) -> Path:
    path.write_text(json.dumps(_config(files, {"token": token})))
    return path
