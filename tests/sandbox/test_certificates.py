"""CertificateSigningRequests: the CKA task end to end with real kubectl (a key, a request for
CN=jane/O=dev-team, ``kubectl certificate approve``, the certificate out of ``.status.certificate``),
the API server's validation and approval rules in its own words, and kube-controller-manager's
signer called directly on a store (its checks, and the certificate Go's x509 would write)."""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from labrunner.sandbox.authorization import ADMIN
from labrunner.sandbox.certificates import create_problems, go_base64, go_bytes, pem_block, signer_name_problems
from labrunner.sandbox.certs import ensure_certificates
from labrunner.sandbox.controllers import csrsigning
from labrunner.sandbox.controllers.csrsigning import CSRS, load_authority, sign
from labrunner.sandbox.controllers.shared import Cluster
from labrunner.sandbox.files import SandboxFiles
from labrunner.sandbox.store import Store
from labrunner.sandbox.tables import table
from tests.sandboxes import Kubectl, eventually, fresh_name

CLIENT = "kubernetes.io/kube-apiserver-client"
UTC = timezone.utc


def _request(common_name: str = "jane", organizations: tuple[str, ...] = ("dev-team",), key: Any = None,
             names: list[x509.GeneralName] | None = None) -> bytes:
    """A PEM request as ``openssl req -subj "/CN=jane/O=dev-team"`` writes it (the CN first)."""
    key = key or ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name),
                         *(x509.NameAttribute(NameOID.ORGANIZATION_NAME, o) for o in organizations)])
    builder = x509.CertificateSigningRequestBuilder().subject_name(subject)
    if names:
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
    return builder.sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM)


def condition(status: dict[str, Any]) -> str:
    """The CONDITION column ``kubectl get csr`` shows for a request with this status."""
    row = table("certificatesigningrequests", [{"metadata": {"name": "x"}, "spec": {}, "status": status}], "1")["rows"][0]
    return str(row["cells"][-1])


def _manifest(name: str, request: bytes | str, **spec: Any) -> str:
    encoded = request if isinstance(request, str) else base64.b64encode(request).decode()
    return json.dumps({"apiVersion": "certificates.k8s.io/v1", "kind": "CertificateSigningRequest", "metadata": {"name": name},
                       "spec": {"request": encoded, **spec}})


def _csr(kubectl: Kubectl, name: str) -> dict[str, Any]:
    return dict(json.loads(kubectl("get", "csr", name, "-o", "json").stdout))


@pytest.fixture
def csr_name(kubectl: Kubectl) -> Iterator[str]:
    """A CSR name no other test uses (CSRs are cluster-wide), deleted afterwards."""
    name = fresh_name("jane")
    yield name
    kubectl("delete", "csr", name, "--ignore-not-found", "--wait=false", check=False)


def _verify_issued_by(certificate: x509.Certificate, authority: x509.Certificate) -> None:
    public = authority.public_key()
    assert isinstance(public, ec.EllipticCurvePublicKey)
    assert certificate.signature_hash_algorithm is not None
    public.verify(certificate.signature, certificate.tbs_certificate_bytes, ec.ECDSA(certificate.signature_hash_algorithm))


# -- the CKA task, end to end -------------------------------------------------------------------


def _openssl_request(tmp_path: Path) -> bytes:
    if shutil.which("openssl") is None:
        pytest.skip("the openssl CLI is not on PATH: the request made with cryptography covers the same flow")
    key, request = tmp_path / "jane.key", tmp_path / "jane.csr"
    subprocess.run(["openssl", "genrsa", "-out", str(key), "2048"], check=True, capture_output=True)
    subprocess.run(["openssl", "req", "-new", "-key", str(key), "-subj", "/CN=jane/O=dev-team", "-out", str(request)], check=True, capture_output=True)
    return request.read_bytes()


@pytest.mark.parametrize("made_with", ["cryptography", "openssl"])
def test_an_approved_request_is_issued_a_client_certificate_by_the_sandbox_ca(
        made_with: str, kubectl: Kubectl, sandbox: SandboxFiles, csr_name: str, tmp_path: Path) -> None:
    request = _request(key=rsa.generate_private_key(public_exponent=65537, key_size=2048)) if made_with == "cryptography" else _openssl_request(tmp_path)
    kubectl("create", "-f", "-", stdin=_manifest(csr_name, request, signerName=CLIENT, expirationSeconds=86400, usages=["client auth"]))
    [header, row] = kubectl("get", "csr", csr_name).stdout.splitlines()
    assert header.split() == ["NAME", "AGE", "SIGNERNAME", "REQUESTOR", "REQUESTEDDURATION", "CONDITION"]
    assert row.split()[2:] == [CLIENT, ADMIN.name, "24h", "Pending"]

    approved = kubectl("certificate", "approve", csr_name)
    assert approved.stdout == f"certificatesigningrequest.certificates.k8s.io/{csr_name} approved\n"
    [approval] = _csr(kubectl, csr_name)["status"]["conditions"]
    assert (approval["type"], approval["status"], approval["reason"]) == ("Approved", "True", "KubectlApprove")
    assert approval["message"] == "This CSR was approved by kubectl certificate approve."
    assert approval["lastUpdateTime"] and approval["lastTransitionTime"]  # the second filled by the API server

    eventually(lambda: bool(_csr(kubectl, csr_name)["status"].get("certificate")), "kube-controller-manager signing the approved request")
    assert kubectl("get", "csr", csr_name).stdout.splitlines()[1].split()[-1] == "Approved,Issued"
    printed = kubectl("get", "csr", csr_name, "-o", "jsonpath={.status.certificate}").stdout
    certificate = x509.load_pem_x509_certificate(base64.b64decode(printed))
    authority = x509.load_pem_x509_certificate(sandbox.ca_certificate.read_bytes())
    assert certificate.subject.rfc4514_string() == "CN=jane,O=dev-team"  # written as Go writes it: O, then CN
    assert [a.oid for a in certificate.subject] == [NameOID.ORGANIZATION_NAME, NameOID.COMMON_NAME]
    assert certificate.issuer == authority.subject
    _verify_issued_by(certificate, authority)
    usages = certificate.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(usages) == [ExtendedKeyUsageOID.CLIENT_AUTH]
    assert certificate.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is False
    assert certificate.not_valid_after_utc - certificate.not_valid_before_utc == timedelta(days=1)  # backdated 5 minutes at both ends
    spki = (serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    assert certificate.public_key().public_bytes(*spki) == x509.load_pem_x509_csr(request).public_key().public_bytes(*spki)


def test_the_requester_is_whoever_sent_it_and_a_new_request_has_no_status(kubectl: Kubectl, csr_name: str) -> None:
    manifest = json.loads(_manifest(csr_name, _request(), signerName=CLIENT, usages=["client auth"], username="someone-else",
                                    groups=["system:masters"], uid="42", extra={"a": ["b"]}))
    manifest["status"] = {"conditions": [{"type": "Approved", "status": "True", "reason": "SelfApproved"}]}
    kubectl("create", "-f", "-", stdin=json.dumps(manifest))
    csr = _csr(kubectl, csr_name)
    assert csr["spec"]["username"] == ADMIN.name  # the kubeconfig's user
    assert csr["spec"]["groups"] == list(ADMIN.groups)
    assert (csr["spec"].get("uid", ""), csr["spec"].get("extra", {})) == (ADMIN.uid, {key: list(values) for key, values in ADMIN.extra})
    assert csr["status"] == {}
    # Any later update of the request itself keeps its spec and status; metadata changes
    csr["spec"]["usages"] = ["client auth", "digital signature"]
    csr["status"] = {"conditions": [{"type": "Approved", "status": "True"}]}
    csr["metadata"]["labels"] = {"team": "dev"}
    kubectl("replace", "-f", "-", stdin=json.dumps(csr))
    replaced = _csr(kubectl, csr_name)
    assert (replaced["spec"]["usages"], replaced["status"], replaced["metadata"]["labels"]) == (["client auth"], {}, {"team": "dev"})


def test_a_denied_request_cannot_be_approved(kubectl: Kubectl, csr_name: str) -> None:
    kubectl("create", "-f", "-", stdin=_manifest(csr_name, _request(), signerName=CLIENT, usages=["client auth"]))
    assert kubectl("certificate", "deny", csr_name).stdout == f"certificatesigningrequest.certificates.k8s.io/{csr_name} denied\n"
    [denied] = _csr(kubectl, csr_name)["status"]["conditions"]
    assert (denied["type"], denied["reason"], denied["message"]) == ("Denied", "KubectlDeny", "This CSR was denied by kubectl certificate deny.")
    assert kubectl("get", "csr", csr_name).stdout.splitlines()[1].split()[-1] == "Denied"
    refused = kubectl("certificate", "approve", csr_name, "--force", check=False)
    assert refused.returncode == 1 and refused.stderr == f'error: certificate signing request "{csr_name}" is already Denied\n'
    kubectl("certificate", "deny", csr_name, "--force")  # sent again: the condition is kept, not doubled
    assert [c["type"] for c in _csr(kubectl, csr_name)["status"]["conditions"]] == ["Denied"]


def test_a_client_request_for_server_usages_fails_the_signers_check(kubectl: Kubectl, csr_name: str) -> None:
    kubectl("create", "-f", "-", stdin=_manifest(csr_name, _request(), signerName=CLIENT,
                                                  usages=["digital signature", "key encipherment", "server auth"]))
    kubectl("certificate", "approve", csr_name)
    eventually(lambda: "Failed" in [c["type"] for c in _csr(kubectl, csr_name)["status"]["conditions"]], "the signer marking the request Failed")
    csr = _csr(kubectl, csr_name)
    failed = csr["status"]["conditions"][-1]
    assert (failed["status"], failed["reason"], failed["message"]) == ("True", "SignerValidationFailure", "invalid usage for client certificate: server auth")
    assert "certificate" not in csr["status"]
    assert kubectl("get", "csr", csr_name).stdout.splitlines()[1].split()[-1] == "Approved,Failed"


# -- what the API server refuses ------------------------------------------------------------------


def test_a_request_that_is_not_a_pem_certificate_request_is_shown_as_go_prints_its_bytes(kubectl: Kubectl, csr_name: str) -> None:
    refused = kubectl("create", "-f", "-", stdin=_manifest(csr_name, b"garbage\n", signerName=CLIENT, usages=["client auth"]), check=False)
    assert refused.stderr == (f'The CertificateSigningRequest "{csr_name}" is invalid: spec.request: Invalid value: '
                              "[]byte{0x67, 0x61, 0x72, 0x62, 0x61, 0x67, 0x65, 0xa}: PEM block type must be CERTIFICATE REQUEST\n")
    key = ec.generate_private_key(ec.SECP256R1()).private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                                  serialization.NoEncryption())
    refused = kubectl("create", "-f", "-", stdin=_manifest(csr_name, key, signerName=CLIENT, usages=["client auth"]), check=False)
    assert refused.stderr.endswith("}: PEM block type must be CERTIFICATE REQUEST\n")  # the key sent instead of the request


@pytest.mark.parametrize(("spec", "error"), [
    ({"usages": ["client auth"]}, "spec.signerName: Required value"),
    ({"signerName": CLIENT, "usages": ["client auth"], "expirationSeconds": 60},
     "spec.expirationSeconds: Invalid value: 60: may not specify a duration less than 600 seconds (10 minutes)"),
    ({"signerName": "kubernetes.io/legacy-unknown", "usages": ["client auth"]},
     'spec.signerName: Invalid value: "kubernetes.io/legacy-unknown": the legacy signerName is not allowed via this API version'),
    ({"signerName": CLIENT}, "spec.usages: Required value"),
    ({"signerName": "jane", "usages": ["client auth", "client auth"]},
     '\n* spec.usages[1]: Duplicate value: "client auth"'
     "\n* spec.signerName: Invalid value: \"jane\": must be a fully qualified domain and path of the form 'example.com/signer-name'"),
])
def test_an_invalid_request_is_refused_in_the_api_servers_words(spec: dict[str, Any], error: str, kubectl: Kubectl, csr_name: str) -> None:
    refused = kubectl("create", "-f", "-", stdin=_manifest(csr_name, _request(), **spec), check=False)
    assert refused.returncode == 1
    assert refused.stderr == f'The CertificateSigningRequest "{csr_name}" is invalid: {error}\n'


def test_a_request_left_out_of_base64_is_refused_by_the_decoder(kubectl: Kubectl, csr_name: str) -> None:
    refused = kubectl("create", "-f", "-", stdin=_manifest(csr_name, _request().decode(), signerName=CLIENT, usages=["client auth"]), check=False)
    assert refused.stderr == ('Error from server (BadRequest): error when creating "STDIN": CertificateSigningRequest in version "v1" '
                              "cannot be handled as a CertificateSigningRequest: illegal base64 data at input byte 0\n")


def test_base64_wrapped_over_lines_is_taken(kubectl: Kubectl, csr_name: str) -> None:
    wrapped = base64.encodebytes(_request()).decode()  # ``base64`` without -w 0: a line break every 76 characters
    kubectl("create", "-f", "-", stdin=_manifest(csr_name, wrapped, signerName=CLIENT, usages=["client auth"]))
    assert "\n" not in _csr(kubectl, csr_name)["spec"]["request"]  # written back as Go writes bytes


def test_system_masters_is_never_a_kube_apiserver_client_certificate(kubectl: Kubectl, csr_name: str) -> None:
    request = _request(organizations=("system:masters",))
    refused = kubectl("create", "-f", "-", stdin=_manifest(csr_name, request, signerName=CLIENT, usages=["client auth"]), check=False)
    assert refused.stderr == (f'Error from server (Forbidden): error when creating "STDIN": certificatesigningrequests.certificates.k8s.io '
                              f'"{csr_name}" is forbidden: use of kubernetes.io/kube-apiserver-client signer with system:masters group is not allowed\n')


def test_the_approval_subresource_changes_conditions_only_and_keeps_them_consistent(kubectl: Kubectl, csr_name: str, tmp_path: Path) -> None:
    kubectl("create", "-f", "-", stdin=_manifest(csr_name, _request(), signerName=CLIENT, usages=["client auth"]))
    kubectl("certificate", "deny", csr_name)
    path = f"/apis/certificates.k8s.io/v1/certificatesigningrequests/{csr_name}/approval"
    body = tmp_path / "csr.json"

    def put(change: Any) -> subprocess.CompletedProcess[str]:
        csr = _csr(kubectl, csr_name)
        change(csr)
        body.write_text(json.dumps(csr))
        return kubectl("replace", "--raw", path, "-f", str(body), check=False)

    both = put(lambda csr: csr["status"]["conditions"].append({"type": "Approved", "status": "True"}))
    assert both.stderr == (f'The CertificateSigningRequest "{csr_name}" is invalid: status.conditions[1].type: Invalid value: "Approved": '
                           "Approved and Denied conditions are mutually exclusive\n")
    removed = put(lambda csr: csr["status"].pop("conditions"))
    assert removed.stderr == f'The CertificateSigningRequest "{csr_name}" is invalid: status.conditions: Forbidden: updates may not remove a condition of type "Denied"\n'
    false = put(lambda csr: csr["status"]["conditions"].append({"type": "Failed", "status": "False"}))
    assert 'status.conditions[1].status: Unsupported value: "False": supported values: "True"' in false.stderr
    def spec_and_a_condition(csr: dict[str, Any]) -> None:
        csr["spec"]["usages"] = ["server auth"]
        csr["status"]["conditions"].append({"type": "Checked", "status": "Unknown"})

    changed = put(spec_and_a_condition)
    assert changed.returncode == 0, changed.stderr
    csr = _csr(kubectl, csr_name)
    assert csr["spec"]["usages"] == ["client auth"]
    checked = csr["status"]["conditions"][1]
    assert checked["type"] == "Checked" and checked["lastUpdateTime"] and checked["lastTransitionTime"]


# -- the signer, on a store ---------------------------------------------------------------------------


@pytest.fixture
def signing(tmp_path: Path) -> Iterator[tuple[Cluster, SandboxFiles]]:
    """A store with the sandbox's CA beside it, as the server's folder has."""
    files = SandboxFiles(tmp_path)
    ensure_certificates(files)
    store = Store(files.database)
    yield Cluster(store), files
    store.close()


def _stored(cluster: Cluster, name: str, request: bytes, conditions: list[str], **spec: Any) -> None:
    cluster.store.create(CSRS, {"metadata": {"name": name},
                                "spec": {"request": base64.b64encode(request).decode(), "signerName": CLIENT, "usages": ["client auth"], **spec},
                                "status": {"conditions": [{"type": kind, "status": "True"} for kind in conditions]}})


def _status(cluster: Cluster, name: str) -> dict[str, Any]:
    return dict(cluster.store.get(CSRS, "", name).get("status") or {})


def test_the_signer_signs_approved_requests_only(signing: tuple[Cluster, SandboxFiles]) -> None:
    cluster, files = signing
    request = _request()
    _stored(cluster, "approved", request, ["Approved"])
    _stored(cluster, "pending", request, [])
    _stored(cluster, "denied", request, ["Denied"])
    _stored(cluster, "both", request, ["Approved", "Denied"])
    _stored(cluster, "failed", request, ["Approved", "Failed"])
    _stored(cluster, "elsewhere", request, ["Approved"], signerName="example.com/my-signer")
    csrsigning.reconcile(cluster)
    assert condition(_status(cluster, "approved")) == "Approved,Issued"
    for name in ("pending", "denied", "both", "failed", "elsewhere"):
        assert "certificate" not in _status(cluster, name), name
    certificate = x509.load_pem_x509_certificate(base64.b64decode(_status(cluster, "approved")["certificate"]))
    _verify_issued_by(certificate, x509.load_pem_x509_certificate(files.ca_certificate.read_bytes()))
    version = cluster.store.get(CSRS, "", "approved")["metadata"]["resourceVersion"]
    csrsigning.reconcile(cluster)  # an issued request is left alone
    assert cluster.store.get(CSRS, "", "approved")["metadata"]["resourceVersion"] == version


def test_no_ca_no_signing(tmp_path: Path) -> None:
    store = Store(tmp_path / "objects.db")
    cluster = Cluster(store)
    _stored(cluster, "approved", _request(), ["Approved"])
    csrsigning.reconcile(cluster)
    assert "certificate" not in _status(cluster, "approved")
    store.close()


@pytest.mark.parametrize(("signer", "request_for", "usages", "message"), [
    (CLIENT, {}, ["digital signature", "key encipherment", "server auth"], "invalid usage for client certificate: server auth"),
    (CLIENT, {}, ["digital signature"], "missing required usage for client certificate: client auth"),
    ("kubernetes.io/kube-apiserver-client-kubelet", {}, ["digital signature", "client auth"], "subject organization is not system:nodes"),
    ("kubernetes.io/kube-apiserver-client-kubelet", {"common_name": "worker", "organizations": ("system:nodes",)},
     ["digital signature", "client auth"], "subject common name does not begin with system:node:"),
    ("kubernetes.io/kube-apiserver-client-kubelet", {"common_name": "system:node:worker", "organizations": ("system:nodes",)},
     ["client auth"], "usages did not match [client auth digital signature key encipherment]"),
    ("kubernetes.io/kubelet-serving", {"common_name": "system:node:worker", "organizations": ("system:nodes",)},
     ["digital signature", "server auth"], "DNS or IP subjectAltName is required"),
    ("kubernetes.io/kubelet-serving", {"common_name": "system:node:worker", "organizations": ("system:nodes",),
                                       "names": [x509.DNSName("worker"), x509.RFC822Name("a@b.c")]},
     ["digital signature", "server auth"], "Email subjectAltNames are not allowed"),
])
def test_each_signer_fails_what_it_does_not_sign_in_its_words(signer: str, request_for: dict[str, Any], usages: list[str], message: str,
                                                              signing: tuple[Cluster, SandboxFiles]) -> None:
    cluster, _ = signing
    _stored(cluster, "refused", _request(**request_for), ["Approved"], signerName=signer, usages=usages)
    csrsigning.reconcile(cluster)
    status = _status(cluster, "refused")
    failed = status["conditions"][-1]
    assert (failed["type"], failed["status"], failed["reason"], failed["message"]) == ("Failed", "True", "SignerValidationFailure", message)
    assert failed["lastUpdateTime"] == failed["lastTransitionTime"]
    assert "certificate" not in status and condition(status) == "Approved,Failed"


def test_a_kubelet_serving_certificate_keeps_its_names_and_usages(signing: tuple[Cluster, SandboxFiles]) -> None:
    cluster, _ = signing
    import ipaddress

    names = [x509.DNSName("worker"), x509.IPAddress(ipaddress.ip_address("10.0.0.7"))]
    request = _request("system:node:worker", ("system:nodes",), names=names)
    _stored(cluster, "serving", request, ["Approved"], signerName="kubernetes.io/kubelet-serving",
            usages=["key encipherment", "digital signature", "server auth"])
    csrsigning.reconcile(cluster)
    certificate = x509.load_pem_x509_certificate(base64.b64decode(_status(cluster, "serving")["certificate"]))
    assert list(certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value) == names
    key_usage = certificate.extensions.get_extension_for_class(x509.KeyUsage)
    assert key_usage.critical and key_usage.value.digital_signature and key_usage.value.key_encipherment and not key_usage.value.key_cert_sign
    assert list(certificate.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value) == [ExtendedKeyUsageOID.SERVER_AUTH]


@pytest.mark.parametrize(("seconds", "before", "after"), [
    (None, timedelta(minutes=-5), timedelta(days=365, minutes=-5)),  # --cluster-signing-duration, backdated at both ends
    (3600, timedelta(minutes=-5), timedelta(hours=1)),  # a short certificate keeps its whole hour
    (86400, timedelta(minutes=-5), timedelta(days=1, minutes=-5)),
    (10 * 365 * 86400, timedelta(minutes=-5), timedelta(days=365, minutes=-5)),  # no longer than the signing duration
])
def test_validity_follows_expiration_seconds_as_the_signer_clamps_it(seconds: int | None, before: timedelta, after: timedelta,
                                                                      signing: tuple[Cluster, SandboxFiles]) -> None:
    authority = load_authority(signing[1])
    assert authority is not None
    moment = datetime.now(UTC).replace(microsecond=0)
    certificate = x509.load_pem_x509_certificate(sign(authority, x509.load_pem_x509_csr(_request()), ["client auth"], seconds, at=moment))
    assert (certificate.not_valid_before_utc, certificate.not_valid_after_utc) == (moment + before, moment + after)


def test_the_subject_is_written_as_go_writes_it(signing: tuple[Cluster, SandboxFiles]) -> None:
    authority = load_authority(signing[1])
    assert authority is not None
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "first"), x509.NameAttribute(NameOID.ORGANIZATION_NAME, "b"),
                         x509.NameAttribute(NameOID.EMAIL_ADDRESS, "jane@example.com"), x509.NameAttribute(NameOID.COMMON_NAME, "jane@example.com"),
                         x509.NameAttribute(NameOID.ORGANIZATION_NAME, "a"), x509.NameAttribute(NameOID.COUNTRY_NAME, "DE")])
    request = x509.CertificateSigningRequestBuilder().subject_name(subject).sign(ec.generate_private_key(ec.SECP256R1()), hashes.SHA256())
    certificate = x509.load_pem_x509_certificate(sign(authority, request, ["client auth", "digital signature", "encipher only"], None))
    # country first, both organizations in one RDN, the last common name; the email attribute dropped
    assert certificate.subject.rfc4514_string() == "CN=jane@example.com,O=a+O=b,C=DE"
    assert [attribute._type.name for attribute in certificate.subject] == ["PrintableString", "PrintableString", "PrintableString", "UTF8String"]
    # digital signature and encipher only, with no key agreement: Go signs it (cryptography will not even read it back)
    key_usage = bytes.fromhex("0603551d0f" "0101ff" "0404" "03020081")  # keyUsage, critical, bits 0 and 7
    assert key_usage in certificate.public_bytes(serialization.Encoding.DER)


# -- the pure pieces ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "decoded"), [("YWJj", b"abc"), ("YW\nJj\r\n", b"abc"), ("YQ==", b"a"), ("YWI=", b"ab"), ("", b"")])
def test_base64_is_read_as_encoding_json_reads_bytes(text: str, decoded: bytes) -> None:
    assert go_base64(text) == decoded


@pytest.mark.parametrize(("text", "byte"), [("-----BEGIN", 0), ("abc", 0), ("YWJj YWJj", 4), ("YQ=", 3), ("YQ==YQ==", 4), ("Y===", 1)])
def test_base64_refusals_name_the_byte_go_names(text: str, byte: int) -> None:
    with pytest.raises(ValueError, match=f"^illegal base64 data at input byte {byte}$"):
        go_base64(text)


def test_bytes_are_printed_as_gos_percent_sharp_v() -> None:
    assert (go_bytes(None), go_bytes(b""), go_bytes(b"-\n\x00")) == ("[]byte(nil)", "[]byte{}", "[]byte{0x2d, 0xa, 0x0}")


def test_the_first_well_formed_pem_block_is_the_one_read() -> None:
    body = base64.encodebytes(b"hello").decode()
    text = f"junk\n-----BEGIN BROKEN-----\n!!!\n-----END BROKEN-----\n-----BEGIN NEW CERTIFICATE REQUEST-----\r\n{body}-----END NEW CERTIFICATE REQUEST-----\n"
    assert pem_block(text.encode()) == ("NEW CERTIFICATE REQUEST", b"hello")
    assert pem_block(b"-----BEGIN X-----\n-----END X-----") == ("X", b"")
    assert pem_block(b"no block") is None


def _pem(label: str, der: bytes) -> bytes:
    return f"-----BEGIN {label}-----\n{base64.encodebytes(der).decode()}-----END {label}-----\n".encode()


def test_a_request_is_read_and_its_signature_checked_as_go_does() -> None:
    der = x509.load_pem_x509_csr(_request()).public_bytes(serialization.Encoding.DER)
    tampered = der[:-1] + bytes([der[-1] ^ 1])
    spec = {"signerName": CLIENT, "usages": ["client auth"]}
    for request, problem in ((_pem("CERTIFICATE REQUEST", tampered), "x509: ECDSA verification failure"),
                             (_pem("CERTIFICATE REQUEST", der[:-3]), "asn1: syntax error: data truncated"),
                             (_pem("CERTIFICATE REQUEST", der + b"\x00"), "asn1: syntax error: trailing data"),
                             (_pem("NEW CERTIFICATE REQUEST", der), "PEM block type must be CERTIFICATE REQUEST")):
        [error] = create_problems(spec, request)
        assert (error.reason, error.field, error.body) == ("FieldValueInvalid", "spec.request", f"Invalid value: {go_bytes(request)}: {problem}")
    assert create_problems(spec, _pem("CERTIFICATE REQUEST", der)) == []


@pytest.mark.parametrize(("signer", "errors"), [
    ("example.com/my-signer", []),
    ("example.com/ns.name", []),
    ("example/signer", ['spec.signerName: Invalid value: "example": should be a domain with at least two segments separated by dots']),
    ("Example.com/x", ['spec.signerName: Invalid value: "Example.com": validating label "Example": a lowercase RFC 1123 label must consist of '
                       "lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  "
                       "or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"]),
    ("a.com/b/c", ["spec.signerName: Invalid value: \"a.com/b/c\": must be a fully qualified domain and path of the form 'example.com/signer-name'"]),
])
def test_signer_names_are_checked_as_validate_signer_name_does(signer: str, errors: list[str]) -> None:
    assert [str(error) for error in signer_name_problems("spec.signerName", signer)] == errors


def test_the_condition_column_ranks_denied_over_approved() -> None:
    assert condition({}) == "Pending"
    assert condition({"conditions": [{"type": "Approved"}, {"type": "Denied"}]}) == "Denied"
    assert condition({"conditions": [{"type": "Approved"}, {"type": "Failed"}], "certificate": "x"}) == "Approved,Failed,Issued"
