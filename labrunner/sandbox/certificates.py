"""CertificateSigningRequests as kube-apiserver serves them (certificates.k8s.io/v1).

- A create is PrepareForCreate (``spec.username``, ``uid``, ``groups`` and ``extra`` are taken from
  whoever sent it, whatever the client wrote there, and the status is emptied: no one creates an
  approved request), then ValidateCertificateSigningRequestCreate, then the
  CertificateSubjectRestriction admission plugin (no ``system:masters`` certificate from the
  kube-apiserver-client signer).
- Any other update keeps spec and status as they were (PrepareForUpdate): a request changes only
  through its subresources.
- The approval subresource (``kubectl certificate approve|deny``) changes ``status.conditions``
  only, fills their timestamps, is validated as ValidateCertificateSigningRequestApprovalUpdate,
  then admitted by the CertificateApproval plugin: whoever approves or denies must also be allowed
  to ``approve`` the request's signer (``signers`` in certificates.k8s.io, named by the signer name
  or by its domain and ``/*``).

Refusals are the API server's Status: a 422 names every invalid field, each worded as apimachinery's
field.Error prints it (the request's bytes as Go's ``%#v``: ``[]byte{0x2d, 0x2d, ...}``). The request
is read as Go reads it (encoding/pem's first block, crypto/x509, then its signature). Two things are
approximated: DER that is neither truncated nor followed by trailing bytes but still not a PKCS#10
request gets the sandbox's words, not Go's asn1 parser's; and the signer name's length limits
(253 and 571 bytes) are not checked.
"""

from __future__ import annotations

import base64
import binascii
import copy
import json
import re
from typing import TYPE_CHECKING, Any

from aiohttp import web
from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.x509.oid import NameOID

from labrunner.sandbox.decoding import BodyError, parse_json
from labrunner.sandbox.patches import json_patch, merge_patch
from labrunner.sandbox.resource_hooks import FieldError, Refused, Writer, invalid_object, path_segment_problems
from labrunner.sandbox.resources import ResourceType
from labrunner.sandbox.status import conflict, json_response, not_found, status
from labrunner.sandbox.store import Conflict, NotFound, now
from labrunner.sandbox.strategic import strategic_merge
from labrunner.topics.rbac.model import Attributes

if TYPE_CHECKING:
    from labrunner.sandbox.authorization import User
    from labrunner.sandbox.writes import Writes

KIND, GROUP = "CertificateSigningRequest", "certificates.k8s.io"
KUBE_APISERVER_CLIENT = "kubernetes.io/kube-apiserver-client"
LEGACY_UNKNOWN = "kubernetes.io/legacy-unknown"
USAGES = frozenset({
    "signing", "digital signature", "content commitment", "key encipherment", "key agreement", "data encipherment", "cert sign",
    "crl sign", "encipher only", "decipher only", "any", "server auth", "client auth", "code signing", "email protection", "s/mime",
    "ipsec end system", "ipsec tunnel", "ipsec user", "timestamping", "ocsp signing", "microsoft sgc", "netscape sgc",
})
"""The key usages certificates/v1 knows; any other is refused."""
_TRUE_ONLY = ("Approved", "Denied", "Failed")
"""Condition types whose status may only be True."""


# -- field errors, as apimachinery prints them ------------------------------------------------


def _quoted(text: str) -> str:
    """Go's ``%q`` for ordinary text."""
    return json.dumps(text, ensure_ascii=False)


def _required(field: str) -> FieldError:
    return FieldError("FieldValueRequired", field, "Required value")


def _invalid(field: str, shown: str, detail: str) -> FieldError:
    return FieldError("FieldValueInvalid", field, f"Invalid value: {shown}: {detail}")


def _not_supported(field: str, value: str, supported: list[str]) -> FieldError:
    return FieldError("FieldValueNotSupported", field,
                      f"Unsupported value: {_quoted(value)}: supported values: {', '.join(_quoted(v) for v in supported)}")


def _duplicate(field: str, value: str) -> FieldError:
    return FieldError("FieldValueDuplicate", field, f"Duplicate value: {_quoted(value)}")


def _forbidden(field: str, detail: str) -> FieldError:
    return FieldError("FieldValueForbidden", field, f"Forbidden: {detail}")


def go_bytes(data: bytes | None) -> str:
    """A ``[]byte`` as Go's ``%#v`` prints it, which is how a refused request is shown."""
    if data is None:
        return "[]byte(nil)"
    return "[]byte{" + ", ".join(f"0x{byte:x}" for byte in data) + "}"


def invalid(name: str, errors: list[FieldError]) -> Refused:
    """``errors.NewInvalid`` for a request."""
    return invalid_object(KIND, GROUP, name, errors)


# -- the request, read as Go reads it ---------------------------------------------------------

_BASE64 = {char: value for value, char in enumerate(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")}


class Base64Error(ValueError):
    """encoding/base64's CorruptInputError, in its words."""


def go_base64(text: str) -> bytes:
    """What encoding/json makes of a ``[]byte`` field: standard base64 with its padding, line breaks
    skipped (a request wrapped by ``base64`` without ``-w 0`` is taken), anything else refused at
    the byte Go names.

    Raises:
        Base64Error: ``illegal base64 data at input byte N``.
    """
    data, position, decoded = text.encode(), 0, bytearray()
    while position < len(data):
        position, chunk = _quantum(data, position)
        decoded += chunk
    return bytes(decoded)


def _quantum(data: bytes, position: int) -> tuple[int, bytes]:
    """base64's decodeQuantum: up to four characters into up to three bytes."""
    values, count = [0, 0, 0, 0], 0
    while count < 4:
        if position == len(data):
            if count == 0:
                return position, b""
            raise Base64Error(f"illegal base64 data at input byte {position - count}")
        char = data[position]
        position += 1
        if char in _BASE64:
            values[count] = _BASE64[char]
            count += 1
            continue
        if char in b"\r\n":
            continue
        if char != ord("=") or count < 2:
            raise Base64Error(f"illegal base64 data at input byte {position - 1}")
        if count == 2:  # "==" expected: the second one, after any line breaks
            while position < len(data) and data[position] in b"\r\n":
                position += 1
            if position == len(data):
                raise Base64Error(f"illegal base64 data at input byte {len(data)}")
            if data[position] != ord("="):
                raise Base64Error(f"illegal base64 data at input byte {position - 1}")
            position += 1
        while position < len(data) and data[position] in b"\r\n":
            position += 1
        if position < len(data):
            raise Base64Error(f"illegal base64 data at input byte {position}")
        break
    number = values[0] << 18 | values[1] << 12 | values[2] << 6 | values[3]
    return position, number.to_bytes(3, "big")[:count - 1]


_PEM_BLOCK = re.compile(rb"(?:\A|\n)-----BEGIN ([^\n]*?)-----[ \t\r]*\n(?:(.*?)\n)?-----END \1-----[ \t\r]*(?=\n|\Z)", re.S)


def pem_block(data: bytes) -> tuple[str, bytes] | None:
    """encoding/pem's Decode: the first well-formed block, as (its label, its decoded bytes)."""
    for match in _PEM_BLOCK.finditer(data):
        try:
            return match.group(1).decode("latin-1"), base64.b64decode(re.sub(rb"[ \t\r\n]", b"", match.group(2) or b""), validate=True)
        except binascii.Error:
            continue
    return None


class RequestError(ValueError):
    """Why ``certificates.ParseCSR`` or the signature check refuses a request, in Go's words."""


def _der_problem(der: bytes) -> str | None:
    """encoding/asn1's complaint about the outer element, where it is one the sandbox can name."""
    if not der:
        return "asn1: syntax error: sequence truncated"
    if len(der) < 2:
        return "asn1: syntax error: data truncated"
    length, header = der[1], 2
    if length & 0x80:
        size = length & 0x7F
        if len(der) < 2 + size:
            return "asn1: syntax error: data truncated"
        length, header = int.from_bytes(der[2:2 + size], "big"), 2 + size
    if len(der) < header + length:
        return "asn1: syntax error: data truncated"
    if len(der) > header + length:
        return "asn1: syntax error: trailing data"
    return None


def parse_request(pem: bytes | None) -> x509.CertificateSigningRequest:
    """``certificates.ParseCSR``: the first PEM block, which must be a CERTIFICATE REQUEST.

    Raises:
        RequestError: in Go's words where the sandbox knows them.
    """
    block = pem_block(pem or b"")
    if block is None or block[0] != "CERTIFICATE REQUEST":
        raise RequestError("PEM block type must be CERTIFICATE REQUEST")
    if problem := _der_problem(block[1]):
        raise RequestError(problem)
    try:
        return x509.load_der_x509_csr(block[1])
    except (ValueError, UnsupportedAlgorithm):
        raise RequestError("the labrunner sandbox cannot read this CERTIFICATE REQUEST block as a PKCS#10 request") from None


def signature_problem(request: x509.CertificateSigningRequest) -> str | None:
    """``CheckSignature``'s error for a request its own key did not sign, or None."""
    try:
        if request.is_signature_valid:
            return None
        key = request.public_key()
    except (InvalidSignature, UnsupportedAlgorithm, ValueError):
        return "x509: cannot verify signature: algorithm unimplemented"
    if isinstance(key, rsa.RSAPublicKey):
        return "crypto/rsa: verification error"
    if isinstance(key, ec.EllipticCurvePublicKey):
        return "x509: ECDSA verification failure"
    if isinstance(key, ed25519.Ed25519PublicKey):
        return "x509: Ed25519 verification failure"
    return "x509: cannot verify signature: algorithm unimplemented"


def organizations(request: x509.CertificateSigningRequest) -> list[str]:
    """The subject's organizations (``Subject.Organization``: the groups a client certificate gives)."""
    return [str(attribute.value) for attribute in request.subject if attribute.oid == NameOID.ORGANIZATION_NAME]


# -- the create -------------------------------------------------------------------------------


def _decoded(obj: dict[str, Any], *path: str) -> bytes | None:
    """A ``[]byte`` field decoded (None when absent), or the 400 the API server's decoder answers."""
    value: Any = obj
    for key in path:
        value = value.get(key) if isinstance(value, dict) else None
    if not isinstance(value, str):
        return None
    try:
        return go_base64(value)
    except Base64Error as error:
        raise Refused(400, "BadRequest", f'{KIND} in version "v1" cannot be handled as a {KIND}: {error}') from None


_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
_LABEL_RULE = ("a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with "
               "an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')")
_SUBDOMAIN_RULE = ("a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and "
                   "end with an alphanumeric character (e.g. 'example.com', regex used for validation is "
                   "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')")


def _label_problems(label: str, subdomain: bool) -> list[str]:
    """IsDNS1123Label, or IsDNS1123Subdomain when ``subdomain``."""
    limit, pattern, rule = (253, _SUBDOMAIN, _SUBDOMAIN_RULE) if subdomain else (63, _LABEL, _LABEL_RULE)
    problems = [f"must be no more than {limit} characters"] if len(label) > limit else []
    if not pattern.fullmatch(label):
        problems.append(rule)
    return problems


def signer_name_problems(field: str, signer: str) -> list[FieldError]:
    """ValidateSignerName: ``<domain>/<path>``, the domain's labels RFC 1123 labels and at least two,
    the path's dot-separated parts RFC 1123 subdomains."""
    if not signer:
        return [_required(field)]
    parts = signer.split("/")
    if len(parts) != 2:
        return [_invalid(field, _quoted(signer), "must be a fully qualified domain and path of the form 'example.com/signer-name'")]
    domain, path = parts
    errors: list[FieldError] = []
    labels = domain.split(".")
    for label in labels:
        if problems := _label_problems(label, subdomain=False):
            errors += [_invalid(field, _quoted(domain), f"validating label {_quoted(label)}: {problem}") for problem in problems]
            break
    if len(labels) < 2:
        errors.append(_invalid(field, _quoted(domain), "should be a domain with at least two segments separated by dots"))
    for label in path.split("."):
        if problems := _label_problems(label, subdomain=True):
            errors += [_invalid(field, _quoted(path), f"validating label {_quoted(label)}: {problem}") for problem in problems]
            break
    return errors


def create_problems(spec: dict[str, Any], request: bytes | None) -> list[FieldError]:
    """ValidateCertificateSigningRequestCreate's complaints about a new request, in its order (its
    status is empty by then, so only the spec can be wrong)."""
    errors: list[FieldError] = []
    try:
        problem = signature_problem(parse_request(request))
    except RequestError as error:
        problem = str(error)
    if problem:
        errors.append(_invalid("spec.request", go_bytes(request), problem))
    usages = [str(usage) for usage in spec.get("usages") or []]
    if not usages:
        errors.append(_required("spec.usages"))
    errors += [_not_supported(f"spec.usages[{index}]", usage, sorted(USAGES)) for index, usage in enumerate(usages) if usage not in USAGES]
    errors += [_duplicate(f"spec.usages[{index}]", usage) for index, usage in enumerate(usages) if usage in usages[:index]]
    signer = str(spec.get("signerName") or "")
    if signer == LEGACY_UNKNOWN:
        errors.append(_invalid("spec.signerName", _quoted(signer), "the legacy signerName is not allowed via this API version"))
    else:
        errors += signer_name_problems("spec.signerName", signer)
    seconds = spec.get("expirationSeconds")
    if isinstance(seconds, int) and seconds < 600:
        errors.append(_invalid("spec.expirationSeconds", str(seconds), "may not specify a duration less than 600 seconds (10 minutes)"))
    return errors


def prepare_create(obj: dict[str, Any], user: User) -> None:
    """A new request as the API server takes it: decoded, given its requester, validated, admitted.

    Raises:
        Refused: a 400 (a ``[]byte`` field that is not base64, a name that cannot be a path segment),
            the 422 of every invalid field, or CertificateSubjectRestriction's 403.
    """
    name = str(obj["metadata"].get("name", ""))
    request = _decoded(obj, "spec", "request")
    _decoded(obj, "status", "certificate")
    spec = obj.setdefault("spec", {})
    if request is not None:
        spec["request"] = base64.b64encode(request).decode()  # as Go writes the bytes back: one unbroken line
    for key in ("username", "uid", "groups", "extra"):
        spec.pop(key, None)
    requester = {"username": user.name, "uid": user.uid, "groups": list(user.groups), "extra": {key: list(values) for key, values in user.extra}}
    spec.update({key: value for key, value in requester.items() if value})
    obj["status"] = {}
    if errors := create_problems(spec, request):
        raise invalid(name, errors)
    if spec.get("signerName") == KUBE_APISERVER_CLIENT and "system:masters" in organizations(parse_request(request)):
        raise Refused(403, "Forbidden", f'certificatesigningrequests.{GROUP} "{name}" is forbidden: use of {KUBE_APISERVER_CLIENT} '
                                        "signer with system:masters group is not allowed",
                      {"name": name, "group": GROUP, "kind": "certificatesigningrequests"})
    if problems := path_segment_problems(name):
        raise Refused(400, "BadRequest", f"Name parameter invalid: {_quoted(name)}: {';'.join(problems)}")


def keep_on_update(obj: dict[str, Any], previous: dict[str, Any] | None) -> None:
    """PrepareForUpdate: an update of the request itself keeps its spec and status."""
    if previous is None:
        return
    for key in ("spec", "status"):
        if key in previous:
            obj[key] = copy.deepcopy(previous[key])
        else:
            obj.pop(key, None)


# -- the approval subresource -----------------------------------------------------------------


def _conditions(obj: dict[str, Any]) -> list[dict[str, Any]]:
    found = (obj.get("status") or {}).get("conditions")
    return [condition for condition in found if isinstance(condition, dict)] if isinstance(found, list) else []


def with_timestamps(conditions: list[dict[str, Any]], previous: list[dict[str, Any]], stamp: str) -> None:
    """populateConditionTimestamps: lastUpdateTime now where missing; lastTransitionTime kept from a
    condition of the same type and status, else now."""
    for condition in conditions:
        if not condition.get("lastUpdateTime"):
            condition["lastUpdateTime"] = stamp
        if not condition.get("lastTransitionTime"):
            condition["lastTransitionTime"] = next(
                (old["lastTransitionTime"] for old in previous if old.get("type") == condition.get("type")
                 and old.get("status") == condition.get("status") and old.get("lastTransitionTime")), stamp)


def condition_problems(conditions: list[dict[str, Any]], previous: list[dict[str, Any]]) -> list[FieldError]:
    """validateConditions, tolerating what the stored request already has (both Approved and
    Denied, repeated types, an empty type), then the rule that an update removes no Approved,
    Denied or Failed condition."""
    old_types = [str(c.get("type") or "") for c in previous]
    allow_both = "Approved" in old_types and "Denied" in old_types
    allow_repeats, allow_empty = len(set(old_types)) < len(old_types), "" in old_types
    errors: list[FieldError] = []
    seen: list[str] = []
    for index, condition in enumerate(conditions):
        path = f"status.conditions[{index}]"
        kind, state = str(condition.get("type") or ""), str(condition.get("status") or "")
        if not kind and not allow_empty:
            errors.append(_required(f"{path}.type"))
        allowed = ["True"] if kind in _TRUE_ONLY else ["False", "True", "Unknown"]
        if not state:
            errors.append(_required(f"{path}.status"))
        elif state not in allowed:
            errors.append(_not_supported(f"{path}.status", state, allowed))
        opposite = {"Approved": "Denied", "Denied": "Approved"}.get(kind)
        if opposite in seen and not allow_both:
            errors.append(_invalid(f"{path}.type", _quoted(kind), "Approved and Denied conditions are mutually exclusive"))
        if kind in seen and not allow_repeats:
            errors.append(_duplicate(f"{path}.type", kind))
        seen.append(kind)
    for kind in _TRUE_ONLY:
        if sum(c.get("type") == kind for c in conditions) < old_types.count(kind):
            errors.append(_forbidden("status.conditions", f"updates may not remove a condition of type {_quoted(kind)}"))
    return errors


async def _sent(writes: Writes, request: web.Request, resource: ResourceType, current: dict[str, Any]) -> tuple[dict[str, Any] | None, web.Response | None]:
    """The request as a PUT sends it, or as a PATCH leaves the stored one."""
    if request.method == "PUT":
        return await writes.object_body(request, resource)
    raw, problem = await writes.raw_body(request)
    if problem:
        return None, problem
    try:
        patch = parse_json(raw)
    except BodyError as error:
        return None, status(400, "BadRequest", str(error))
    content_type = request.headers.get("Content-Type", "").split(";")[0].strip()
    try:
        if content_type == "application/json-patch+json" and isinstance(patch, list):
            patched = json_patch(current, patch)
        elif content_type == "application/merge-patch+json" and isinstance(patch, dict):
            patched = merge_patch(current, patch)
        elif content_type == "application/strategic-merge-patch+json" and isinstance(patch, dict):
            patched = strategic_merge(current, patch, resource.group, resource.version, resource.kind)
        else:
            return None, status(415, "UnsupportedMediaType", f"the labrunner sandbox does not support patches of type {content_type} here")
    except ValueError as error:
        return None, status(422, "Invalid", str(error))
    return (patched, None) if isinstance(patched, dict) else (None, status(422, "Invalid", "the patch does not leave an object"))


async def approval(writes: Writes, request: web.Request, resource: ResourceType, name: str) -> web.Response:
    """``/approval``: GET reads the request; PUT (what ``kubectl certificate approve|deny`` sends: the
    request as it read it, one condition added) and PATCH change its conditions and nothing else of
    its spec or status, checked against the stored resourceVersion as any update is."""
    store = writes.store
    try:
        current = store.get(resource, "", name)
    except NotFound:
        return not_found(resource, name)
    if request.method == "GET":
        return json_response(current)
    sent, problem = await _sent(writes, request, resource, current)
    if problem or sent is None:
        return problem or status(400, "BadRequest", "no object")
    metadata = sent.setdefault("metadata", {})
    if metadata.get("name", name) != name:
        return status(400, "BadRequest", f"the name of the object ({metadata['name']}) does not match the name on the URL ({name})")
    metadata["name"] = name
    if metadata.get("resourceVersion") and metadata["resourceVersion"] != current["metadata"]["resourceVersion"]:
        return conflict(resource, name)
    conditions, previous = _conditions(sent), _conditions(current)
    with_timestamps(conditions, previous, now())
    updated = {**sent, "spec": copy.deepcopy(current.get("spec") or {}), "status": dict(current.get("status") or {})}
    updated["status"].pop("conditions", None)
    if conditions:
        updated["status"]["conditions"] = conditions
    if errors := condition_problems(conditions, previous):
        return _answer(invalid(name, errors))
    signer = str((current.get("spec") or {}).get("signerName") or "")
    if not may_approve(writes.writer(request), signer):
        return _answer(Refused(403, "Forbidden", f'certificatesigningrequests.{GROUP} "{name}" is forbidden: '
                                                 f"user not permitted to approve requests with signerName {_quoted(signer)}",
                               {"name": name, "group": GROUP, "kind": "certificatesigningrequests"}))
    try:
        return json_response(store.update(resource, updated, dry_run=request.query.get("dryRun") == "All"))
    except NotFound:
        return not_found(resource, name)
    except Conflict:
        return conflict(resource, name)


def may_approve(writer: Writer, signer: str) -> bool:
    """IsAuthorizedForSignerName for ``approve``: the verb on ``signers`` named by the signer name, or
    by its domain and ``/*`` (``kubernetes.io/*``). The stored request's signer counts, not one an
    approval tries to change."""
    for signer_name in (signer, signer.split("/")[0] + "/*"):
        attributes = Attributes(verb="approve", api_group=GROUP, resource="signers", name=signer_name)
        if writer.authorizer.decide_attributes(writer.user, attributes).allowed:
            return True
    return False


def _answer(refused: Refused) -> web.Response:
    return status(refused.code, refused.reason, refused.message, refused.details)
