"""kube-controller-manager's csrsigning controller: a request that is Approved (and not Denied), not
Failed and not yet issued, for one of the signers it runs, is checked by that signer and then signed
with the cluster's CA, which on the sandbox is its own (``ca.crt`` and ``ca.key``, the CA kubectl
already trusts).

The signers and their checks (pkg/controller/certificates/signer): kube-apiserver-client (usages
within digital signature, key encipherment and client auth, client auth among them),
kube-apiserver-client-kubelet and kubelet-serving (a node's subject and names, and their usage sets).
A request a signer refuses gets a Failed condition (SignerValidationFailure, the signer's message)
and no certificate. Requests for any other signer are left alone, as kube-controller-manager
leaves them; kubernetes.io/legacy-unknown, which it would sign, cannot be created through
certificates.k8s.io/v1, the only version the sandbox serves.

The certificate is the one its CertificateAuthority.Sign makes (authority/policies.go): the
request's subject as Go re-encodes it (country, province, locality, street, postal code,
organization, organizational unit, then common name and serial number; PrintableString where the
text allows, else UTF8String), its public key and SANs; key usage and extended key usage from the
usages; not a CA; valid from five minutes ago for ``spec.expirationSeconds`` (between 10 minutes
and --cluster-signing-duration, a year by default), the five minutes taken off the end too when
the certificate lives 8 hours or more, and never beyond the CA's own end. Validity follows the
wall clock, never the sandbox's time scale: the certificate leaves the sandbox in a kubeconfig.
"""

from __future__ import annotations

import base64
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519
from cryptography.x509.name import _ASN1Type
from cryptography.x509.oid import ExtendedKeyUsageOID, ExtensionOID, NameOID, ObjectIdentifier

from labrunner.sandbox import resources
from labrunner.sandbox.certificates import organizations, parse_request
from labrunner.sandbox.controllers.shared import Cluster
from labrunner.sandbox.files import SandboxFiles
from labrunner.sandbox.resources import ResourceType
from labrunner.sandbox.store import now


def _csrs() -> ResourceType:
    found = resources.lookup("certificates.k8s.io", "v1", "certificatesigningrequests")
    assert found is not None
    return found


CSRS = _csrs()
SIGNING_DURATION = timedelta(days=365)
"""kube-controller-manager's ``--cluster-signing-duration`` (8760h unless set)."""
BACKDATE, SHORT, SHORTEST = timedelta(minutes=5), timedelta(hours=8), timedelta(minutes=10)


# -- the signers' checks ------------------------------------------------------------------------


@dataclass(frozen=True)
class Names:
    """The subject alternative names a request asks for, as Go's x509 reads them."""
    dns: list[str]
    emails: list[str]
    ips: list[Any]
    uris: list[str]


def requested_names(request: x509.CertificateSigningRequest) -> Names:
    try:
        san = request.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return Names([], [], [], [])
    return Names(san.get_values_for_type(x509.DNSName), san.get_values_for_type(x509.RFC822Name),
                 san.get_values_for_type(x509.IPAddress), san.get_values_for_type(x509.UniformResourceIdentifier))


def common_name(request: x509.CertificateSigningRequest) -> str:
    """``Subject.CommonName``: the last CN, as Go's pkix.Name keeps it."""
    found = [str(attribute.value) for attribute in request.subject if attribute.oid == NameOID.COMMON_NAME]
    return found[-1] if found else ""


def _kube_apiserver_client(request: x509.CertificateSigningRequest, usages: list[str]) -> str | None:
    for usage in usages:
        if usage not in ("digital signature", "key encipherment", "client auth"):
            return f"invalid usage for client certificate: {usage}"
    return None if "client auth" in usages else "missing required usage for client certificate: client auth"


def _kubelet_client(request: x509.CertificateSigningRequest, usages: list[str]) -> str | None:
    """ValidateKubeletClientCSR."""
    names = requested_names(request)
    if organizations(request) != ["system:nodes"]:
        return "subject organization is not system:nodes"
    for found, kind in ((names.dns, "DNS"), (names.emails, "Email"), (names.ips, "IP"), (names.uris, "URI")):
        if found:
            return f"{kind} subjectAltNames are not allowed"
    if not common_name(request).startswith("system:node:"):
        return "subject common name does not begin with system:node:"
    if set(usages) not in ({"digital signature", "key encipherment", "client auth"}, {"digital signature", "client auth"}):
        return "usages did not match [client auth digital signature key encipherment]"
    return None


def _kubelet_serving(request: x509.CertificateSigningRequest, usages: list[str]) -> str | None:
    """ValidateKubeletServingCSR."""
    names = requested_names(request)
    if organizations(request) != ["system:nodes"]:
        return "subject organization is not system:nodes"
    if not names.dns and not names.ips:
        return "DNS or IP subjectAltName is required"
    for found, kind in ((names.emails, "Email"), (names.uris, "URI")):
        if found:
            return f"{kind} subjectAltNames are not allowed"
    if set(usages) not in ({"digital signature", "key encipherment", "server auth"}, {"digital signature", "server auth"}):
        return "usages did not match [digital signature key encipherment server auth]"
    if not common_name(request).startswith("system:node:"):
        return "subject common name does not begin with system:node:"
    return None


SIGNERS: dict[str, Callable[[x509.CertificateSigningRequest, list[str]], str | None]] = {
    "kubernetes.io/kube-apiserver-client": _kube_apiserver_client,
    "kubernetes.io/kube-apiserver-client-kubelet": _kubelet_client,
    "kubernetes.io/kubelet-serving": _kubelet_serving,
}
"""The signers kube-controller-manager runs (with --cluster-signing-cert-file and -key-file, as
kubeadm sets them) and each one's refusal of a request, or None."""


# -- the certificate ----------------------------------------------------------------------------

_KEY_USAGE_BITS = {"signing": 0, "digital signature": 0, "content commitment": 1, "key encipherment": 2, "data encipherment": 3,
                   "key agreement": 4, "cert sign": 5, "crl sign": 6, "encipher only": 7, "decipher only": 8}
"""Usages that are x509 KeyUsage bits (digitalSignature is bit 0)."""
_EXTENDED = {
    "any": (0, ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE), "server auth": (1, ExtendedKeyUsageOID.SERVER_AUTH),
    "client auth": (2, ExtendedKeyUsageOID.CLIENT_AUTH), "code signing": (3, ExtendedKeyUsageOID.CODE_SIGNING),
    "email protection": (4, ExtendedKeyUsageOID.EMAIL_PROTECTION), "s/mime": (4, ExtendedKeyUsageOID.EMAIL_PROTECTION),
    "ipsec end system": (5, ObjectIdentifier("1.3.6.1.5.5.7.3.5")), "ipsec tunnel": (6, ObjectIdentifier("1.3.6.1.5.5.7.3.6")),
    "ipsec user": (7, ObjectIdentifier("1.3.6.1.5.5.7.3.7")), "timestamping": (8, ExtendedKeyUsageOID.TIME_STAMPING),
    "ocsp signing": (9, ExtendedKeyUsageOID.OCSP_SIGNING), "microsoft sgc": (10, ObjectIdentifier("1.3.6.1.4.1.311.10.3.3")),
    "netscape sgc": (11, ObjectIdentifier("2.16.840.1.113730.4.1")),
}
"""Usages that are extended key usages: Go's ExtKeyUsage number (their order in the certificate) and OID."""
_SUBJECT_LISTS = (NameOID.COUNTRY_NAME, NameOID.STATE_OR_PROVINCE_NAME, NameOID.LOCALITY_NAME, NameOID.STREET_ADDRESS,
                  NameOID.POSTAL_CODE, NameOID.ORGANIZATION_NAME, NameOID.ORGANIZATIONAL_UNIT_NAME)
_SUBJECT_SINGLES = (NameOID.COMMON_NAME, NameOID.SERIAL_NUMBER)
_PRINTABLE = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789'()+,-./ :=?")


def go_subject(subject: x509.Name) -> x509.Name:
    """A subject as Go writes a pkix.Name it parsed (``ToRDNSequence``): the fields it knows in its
    order, several values of one field in one RDN, the last common name, anything else dropped."""
    values: dict[ObjectIdentifier, list[str]] = {}
    for found in subject:
        if isinstance(found.value, str):
            values.setdefault(found.oid, []).append(found.value)
    rdns = [x509.RelativeDistinguishedName([_attribute(oid, value) for value in values[oid]]) for oid in _SUBJECT_LISTS if oid in values]
    rdns += [x509.RelativeDistinguishedName([_attribute(oid, values[oid][-1])]) for oid in _SUBJECT_SINGLES if values.get(oid, [""])[-1]]
    return x509.Name(rdns)


def _attribute(oid: ObjectIdentifier, value: str) -> x509.NameAttribute:
    """One value, in the string type Go's asn1 chooses for it (and with no check Go does not make)."""
    kind = _ASN1Type.PrintableString if set(value) <= _PRINTABLE else _ASN1Type.UTF8String
    return x509.NameAttribute(oid, value, kind, _validate=False)


def _key_usage(usages: list[str]) -> x509.UnrecognizedExtension | None:
    """The KeyUsage extension as Go marshals it. Written out because cryptography's KeyUsage refuses
    encipher only and decipher only without key agreement, which Go signs."""
    bits = sorted({_KEY_USAGE_BITS[usage] for usage in usages if usage in _KEY_USAGE_BITS})
    if not bits:
        return None
    length = bits[-1] + 1
    data = bytearray((length + 7) // 8)
    for bit in bits:
        data[bit // 8] |= 0x80 >> (bit % 8)
    return x509.UnrecognizedExtension(ExtensionOID.KEY_USAGE, bytes([0x03, len(data) + 1, len(data) * 8 - length]) + bytes(data))


def duration(expiration_seconds: int | None) -> timedelta:
    """signer.duration: the time asked for, within 10 minutes and the signing duration."""
    if expiration_seconds is None:
        return SIGNING_DURATION
    return min(max(timedelta(seconds=expiration_seconds), SHORTEST), SIGNING_DURATION)


@dataclass(frozen=True)
class Authority:
    certificate: x509.Certificate
    key: Any


class SigningError(Exception):
    """The CA cannot sign (it has expired); kube-controller-manager retries and logs it."""


def load_authority(files: SandboxFiles) -> Authority | None:
    """The sandbox's CA, or None where there is none (a bare store in unit tests)."""
    try:
        certificate, key = files.ca_certificate.read_bytes(), files.ca_key.read_bytes()
    except OSError:
        return None
    return Authority(x509.load_pem_x509_certificate(certificate), serialization.load_pem_private_key(key, password=None))


def _hash(key: Any) -> hashes.SHA256 | hashes.SHA384 | hashes.SHA512 | None:
    """The digest Go's CreateCertificate picks for the CA's key."""
    if isinstance(key, (ed25519.Ed25519PrivateKey, ed448.Ed448PrivateKey)):
        return None
    if isinstance(key, ec.EllipticCurvePrivateKey) and key.curve.key_size == 384:
        return hashes.SHA384()
    if isinstance(key, ec.EllipticCurvePrivateKey) and key.curve.key_size == 521:
        return hashes.SHA512()
    return hashes.SHA256()


def sign(authority: Authority, request: x509.CertificateSigningRequest, usages: list[str], expiration_seconds: int | None,
         at: datetime | None = None) -> bytes:
    """The PEM certificate kube-controller-manager issues for ``request``.

    Raises:
        SigningError: the CA has expired.
    """
    moment = (at or datetime.now(timezone.utc)).replace(microsecond=0)
    ttl, ca_end = duration(expiration_seconds), authority.certificate.not_valid_after_utc
    not_before = moment - BACKDATE
    not_after = min(moment + ttl if ttl < SHORT else moment + ttl - BACKDATE, ca_end)
    if not_before >= ca_end:
        raise SigningError(f"the signer has expired: NotAfter={ca_end}")
    if moment >= ca_end:
        raise SigningError(f"refusing to sign a certificate that expired in the past: NotAfter={ca_end}")
    subject = go_subject(request.subject)
    builder = (x509.CertificateBuilder().subject_name(subject).issuer_name(authority.certificate.subject)
               .public_key(request.public_key()).serial_number(secrets.randbelow((1 << 128) - 1) + 1)
               .not_valid_before(not_before).not_valid_after(not_after))
    if (key_usage := _key_usage(usages)) is not None:
        builder = builder.add_extension(key_usage, critical=True)
    if extended := sorted({_EXTENDED[usage] for usage in usages if usage in _EXTENDED}, key=lambda ranked: ranked[0]):
        builder = builder.add_extension(x509.ExtendedKeyUsage([oid for _, oid in extended]), critical=False)
    builder = builder.add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
    try:
        authority_key = authority.certificate.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value.digest
        builder = builder.add_extension(x509.AuthorityKeyIdentifier(authority_key, None, None), critical=False)
    except x509.ExtensionNotFound:
        pass
    names = requested_names(request)
    alternatives: list[x509.GeneralName] = [*map(x509.DNSName, names.dns), *map(x509.RFC822Name, names.emails),
                                            *map(x509.IPAddress, names.ips), *map(x509.UniformResourceIdentifier, names.uris)]
    if alternatives:
        builder = builder.add_extension(x509.SubjectAlternativeName(alternatives), critical=len(subject) == 0)
    return builder.sign(authority.key, _hash(authority.key)).public_bytes(serialization.Encoding.PEM)


# -- the controller -----------------------------------------------------------------------------


def _has(status: dict[str, Any], kind: str, true_only: bool = False) -> bool:
    """A condition of ``kind`` (HasTrueCondition: with status True or none)."""
    return any(c.get("type") == kind and (not true_only or c.get("status") in (None, "", "True")) for c in status.get("conditions") or [])


def reconcile(cluster: Cluster) -> None:
    files = SandboxFiles(cluster.store.path.parent)
    cluster.each(CSRS, "csrsigning", lambda csr: sync(cluster, files, csr))


def sync(cluster: Cluster, files: SandboxFiles, csr: dict[str, Any]) -> None:
    """One request, as the signer's handle does: Failed with the signer's reason, or signed."""
    status, spec = csr.get("status") or {}, csr.get("spec") or {}
    if status.get("certificate") or not _has(status, "Approved") or _has(status, "Denied") or _has(status, "Failed", true_only=True):
        return
    check = SIGNERS.get(str(spec.get("signerName") or ""))
    if check is None:
        return
    authority = load_authority(files)
    if authority is None:
        return
    request = parse_request(base64.b64decode(spec.get("request") or ""))
    usages = [str(usage) for usage in spec.get("usages") or []]
    if (refusal := check(request, usages)) is not None:
        stamp = now()
        status.setdefault("conditions", []).append({"type": "Failed", "status": "True", "reason": "SignerValidationFailure",
                                                    "message": refusal, "lastUpdateTime": stamp, "lastTransitionTime": stamp})
    else:
        seconds = spec.get("expirationSeconds")
        status["certificate"] = base64.b64encode(sign(authority, request, usages, seconds if isinstance(seconds, int) else None)).decode()
    csr["status"] = status
    cluster.save(CSRS, csr)
