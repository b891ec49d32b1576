"""Service account tokens, issued and verified as kube-apiserver does.

One RSA key signs every token the sandbox issues and verifies every token it is shown. It plays the
part of kube-apiserver's ``--service-account-signing-key-file`` and ``--service-account-key-file``
(kubeadm's ``pki/sa.key``). The key is made once and kept in the sandbox folder, so tokens outlive a
restart; each process reads it once. Three issuers sign with it:

- the TokenRequest API (``POST .../serviceaccounts/NAME/token``, which ``kubectl create token`` calls):
  :func:`token_request`;
- the kubelet's projected ``serviceAccountToken`` volumes (volumes.py), through :func:`bound_claims`;
- the legacy token controller's Secrets (controllers/serviceaccounts.py), through :func:`legacy_claims`.

:func:`authenticate` plays the part of kube-apiserver's service account authenticator
(pkg/serviceaccount/jwt.go, claims.go and legacy.go). A token authenticates only while every object it
names still exists with the same uid.

PyJWT and cryptography are imported inside the functions that use them, so only the server process
loads them.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import json
import threading
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from aiohttp import web

from labrunner.sandbox import admission, resources
from labrunner.sandbox.authorization import User
from labrunner.sandbox.decoding import MAX_BODY_BYTES, BodyError, parse_json, summarize
from labrunner.sandbox.files import SandboxFiles, write_atomically
from labrunner.sandbox.protobuf import Decoder, ProtobufUnavailable
from labrunner.sandbox.resources import ResourceType
from labrunner.sandbox.status import json_response, not_found, status
from labrunner.sandbox.store import Conflict, NotFound, Store, seconds

ISSUER = "https://kubernetes.default.svc.cluster.local"
"""kube-apiserver's ``--service-account-issuer``, as kubeadm sets it."""
API_AUDIENCES = (ISSUER,)
"""``--api-audiences``: kubeadm leaves it unset, so it defaults to the issuer."""
LEGACY_ISSUER = "kubernetes/serviceaccount"
"""The issuer of the Secret-based tokens the legacy token controller writes."""
LEEWAY = 60
"""go-jose's ``jwt.DefaultLeeway``: the slack allowed on exp, nbf and iat, and how long a deleted
(``deletionTimestamp``) account, pod, Secret or Node still counts as existing."""
DEFAULT_EXPIRATION = 3600
WARN_ONLY_EXPIRATION = 3607
"""The kubelet asks for 3607 s for its ``kube-api-access-*`` tokens. For a pod-bound token meant for
the API server, kube-apiserver (``--service-account-extend-token-expiration``) makes that a year and
records ``warnafter`` at 3607 s."""
EXTENDED_EXPIRATION = 365 * 24 * 3600
LEGACY_INVALID_SINCE = "kubernetes.io/legacy-token-invalid-since"
LEGACY_LAST_USED = "kubernetes.io/legacy-token-last-used"


def _rt(plural: str) -> ResourceType:
    found = resources.lookup("", "v1", plural)
    assert found is not None
    return found


SERVICE_ACCOUNTS, PODS, SECRETS, NODES = _rt("serviceaccounts"), _rt("pods"), _rt("secrets"), _rt("nodes")
TOKEN_REQUEST = ResourceType("authentication.k8s.io", "v1", "TokenRequest", "token", "")
"""What the token subresource takes and answers (never stored)."""


# -- the key ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Signer:
    private: Any
    public: Any
    key_id: str


_signers: dict[Path, _Signer] = {}
_signers_lock = threading.Lock()


def _signer(folder: Path, *, create: bool = True) -> _Signer | None:
    """The key of the sandbox in ``folder``, read once per process and made on first use. With
    ``create`` false, None stands for a key never made: no token has been signed yet."""
    path = SandboxFiles(folder).service_account_key
    with _signers_lock:
        if (signer := _signers.get(path)) is not None:
            return signer
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import rsa

        try:
            private: Any = serialization.load_pem_private_key(path.read_bytes(), password=None)
        except FileNotFoundError:
            if not create:
                return None
            private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            write_atomically(path, private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                                                         serialization.NoEncryption()).decode(), private=True)
        public = private.public_key()
        signer = _signers[path] = _Signer(private, public, key_id(public))
        return signer


def key_id(public_key: Any) -> str:
    """The ``kid`` kube-apiserver derives from a public key (``keyIDFromPublicKey``): the unpadded
    base64url SHA-256 of its DER SubjectPublicKeyInfo, which names the key without revealing it."""
    from cryptography.hazmat.primitives import serialization

    der = public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return base64.urlsafe_b64encode(hashlib.sha256(der).digest()).rstrip(b"=").decode()


def sign(folder: Path, claims: Mapping[str, Any]) -> str:
    """``claims`` as a compact JWS (RS256, header ``alg`` and ``kid`` only), keys sorted at every
    level as go-jose writes them. The same claims give the same token (the kubelet's projected
    token is worked out again every time a file is read), so signatures are remembered."""
    return _signed(folder, json.dumps(claims, sort_keys=True, separators=(",", ":")))


@functools.lru_cache(maxsize=512)
def _signed(folder: Path, payload: str) -> str:
    import jwt

    signer = _signer(folder)
    assert signer is not None
    return jwt.encode(json.loads(payload), signer.private, algorithm="RS256", headers={"kid": signer.key_id, "typ": None})


# -- claims -----------------------------------------------------------------------------------


def username(namespace: str, name: str) -> str:
    return f"system:serviceaccount:{namespace}:{name}"


def _ref(obj: Mapping[str, Any]) -> dict[str, str]:
    """An object as a token names it: name and uid, each left out when empty (``omitempty``)."""
    metadata = obj.get("metadata") or {}
    return {key: str(metadata[key]) for key in ("name", "uid") if metadata.get(key)}


def lifetime(requested: int, audiences: Sequence[str], pod_bound: bool) -> tuple[int, int | None]:
    """(seconds the token lasts, seconds after which it is stale or None): the kubelet's 3607 s
    for a pod-bound token meant for the API server alone is extended to a year."""
    if pod_bound and requested == WARN_ONLY_EXPIRATION and set(audiences) <= set(API_AUDIENCES):
        return EXTENDED_EXPIRATION, WARN_ONLY_EXPIRATION
    return requested, None


def bound_claims(account: Mapping[str, Any], *, audiences: Sequence[str], issued: int, expires_in: int, jti: str,
                 pod: Mapping[str, Any] | None = None, secret: Mapping[str, Any] | None = None,
                 node: Mapping[str, Any] | None = None, warn_after: int | None = None) -> dict[str, Any]:
    """The claims of a bound token (``serviceaccount.Claims``). A pod-bound token also names the
    pod's node (``node`` may hold only a name, when the Node is gone); a token is bound to a pod, a
    Secret or a Node, never two."""
    namespace = str((account.get("metadata") or {}).get("namespace", ""))
    about: dict[str, Any] = {"namespace": namespace, "serviceaccount": _ref(account)}
    if pod is not None:
        about["pod"] = _ref(pod)
        if node is not None:
            about["node"] = _ref(node)
    elif secret is not None:
        about["secret"] = _ref(secret)
    elif node is not None:
        about["node"] = _ref(node)
    if warn_after is not None:
        about["warnafter"] = issued + warn_after
    return {"aud": list(audiences), "exp": issued + expires_in, "iat": issued, "iss": ISSUER, "jti": jti,
            "kubernetes.io": about, "nbf": issued, "sub": username(namespace, about["serviceaccount"].get("name", ""))}


def legacy_claims(account: Mapping[str, Any], secret_name: str) -> dict[str, Any]:
    """The claims of a Secret-based token (``serviceaccount.LegacyClaims``): no audience, no expiry."""
    metadata = account.get("metadata") or {}
    namespace, name = str(metadata.get("namespace", "")), str(metadata.get("name", ""))
    return {"iss": LEGACY_ISSUER, "kubernetes.io/serviceaccount/namespace": namespace,
            "kubernetes.io/serviceaccount/secret.name": secret_name, "kubernetes.io/serviceaccount/service-account.name": name,
            "kubernetes.io/serviceaccount/service-account.uid": str(metadata.get("uid", "")), "sub": username(namespace, name)}


# -- the TokenRequest API ---------------------------------------------------------------------

_protobuf = Decoder()
"""kubectl sends its TokenRequest as protobuf; the descriptors are read on the first one."""


def _stamp(moment: float) -> str:
    return datetime.fromtimestamp(int(moment), timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _invalid(name: str, field: str, value: str, detail: str) -> web.Response:
    """``errors.NewInvalid`` for a TokenRequest: the kind qualified by its group, the name quoted even when empty."""
    message = f"Invalid value: {value}: {detail}"
    return status(422, "Invalid", f'TokenRequest.authentication.k8s.io "{name}" is invalid: {field}: {message}',
                  {**({"name": name} if name else {}), "group": "authentication.k8s.io", "kind": "TokenRequest",
                   "causes": [{"reason": "FieldValueInvalid", "message": message, "field": field}]})


async def _read_body(request: web.Request) -> tuple[dict[str, Any] | None, web.Response | None]:
    """The TokenRequest a POST sends (JSON, or protobuf from kubectl), refused as the API server's decoder refuses it."""
    try:
        raw = await request.read()
    except web.HTTPRequestEntityTooLarge:
        return None, status(413, "RequestEntityTooLarge", f"Request entity too large: limit is {MAX_BODY_BYTES}")

    def unrecognized(error: str) -> tuple[None, web.Response]:
        return None, status(400, "BadRequest", f"the object provided is unrecognized (must be of type TokenRequest): {error} ({summarize(raw)})")

    if "protobuf" in request.headers.get("Content-Type", ""):
        try:
            body: Any = _protobuf.decode(raw)
        except ProtobufUnavailable as error:
            return None, status(415, "UnsupportedMediaType", f"the labrunner sandbox cannot read this protobuf body ({error})")
        except Exception as error:  # google.protobuf's DecodeError is no ValueError
            return unrecognized(str(error) or type(error).__name__)
        ref = (body.get("spec") or {}).get("boundObjectRef")
        if isinstance(ref, dict) and "uID" in ref:  # generated.proto's name for the field JSON calls uid
            ref["uid"] = ref.pop("uID")
    else:
        try:
            body = parse_json(raw)
        except BodyError as error:
            return unrecognized(f"couldn't get version/kind; json parse error: {error}")
        if not isinstance(body, dict):
            return unrecognized(f"couldn't get version/kind; json parse error: json: cannot unmarshal {admission.json_kind(body)} into Go value")
    api_version, kind = str(body.get("apiVersion") or TOKEN_REQUEST.api_version), str(body.get("kind") or TOKEN_REQUEST.kind)
    if text := admission.envelope_problem(TOKEN_REQUEST, api_version, kind):
        return None, status(400, "BadRequest", text)
    if mismatch := admission.first_mismatch(body, TOKEN_REQUEST.group, TOKEN_REQUEST.version, TOKEN_REQUEST.kind):
        return None, status(400, "BadRequest", f'{kind} in version "v1" cannot be handled as a TokenRequest: {admission.json_error(mismatch)}')
    admission.drop_nulls(body)
    return body, None


@dataclass(frozen=True)
class _Bound:
    pod: dict[str, Any] | None = None
    secret: dict[str, Any] | None = None
    node: dict[str, Any] | None = None


def _bind(store: Store, namespace: str, account_name: str, ref: Mapping[str, Any]) -> tuple[_Bound, web.Response | None]:
    """The object ``spec.boundObjectRef`` names, read as TokenREST.Create does: a Pod (running as
    this account; its node named too), a Secret or a Node, its uid checked when the reference gives one."""
    api_version, kind, name = str(ref.get("apiVersion") or ""), str(ref.get("kind") or ""), str(ref.get("name") or "")
    group, _, version = api_version.rpartition("/")
    resource = {"Pod": PODS, "Secret": SECRETS, "Node": NODES}.get(kind) if not group else None
    if resource is None:
        return _Bound(), status(400, "BadRequest", f"cannot bind token to object of type {group}/{version}, Kind={kind}")
    found = _get(store, resource, "" if kind == "Node" else namespace, name)
    if found is None:
        return _Bound(), not_found(resource, name)
    if kind == "Pod":
        if (found.get("spec") or {}).get("serviceAccountName") != account_name:
            return _Bound(), status(400, "BadRequest", f'cannot bind token for serviceaccount "{account_name}" '
                                                       "to pod running with different serviceaccount name.")
        node_name = str((found.get("spec") or {}).get("nodeName") or "")
        node = (_get(store, NODES, "", node_name) or {"metadata": {"name": node_name}}) if node_name else None
        bound = _Bound(pod=found, node=node)
    else:
        bound = _Bound(secret=found) if kind == "Secret" else _Bound(node=found)
    uid = str(found["metadata"].get("uid", ""))
    if ref.get("uid") and ref["uid"] != uid:
        return _Bound(), status(409, "Conflict", f'Operation cannot be fulfilled on {kind} "{name}": the UID in the bound object '
                                                 f'reference ({ref["uid"]}) does not match the UID in record. '
                                                 "The object might have been deleted and then recreated", {"name": name, "kind": kind})
    return bound, None


async def token_request(store: Store, request: web.Request, namespace: str, name: str) -> web.Response:
    """``POST /api/v1/namespaces/NS/serviceaccounts/NAME/token``: a token for the account, answered
    201 with the TokenRequest, its ``status.token`` and ``status.expirationTimestamp`` filled in.

    In kube-apiserver's order: the body's name and namespace must match the URL's; then the account
    must exist (404); then come the defaults (audiences: the API server's; expirationSeconds: 3600) and
    validation (at least 10 minutes, at most 2^32 seconds, 422); then the bound object is read.
    ``expirationTimestamp`` is the time asked for, even when a kubelet's token is extended to a year."""
    body, problem = await _read_body(request)
    if problem is not None:
        return problem
    assert body is not None
    metadata, spec = body.get("metadata") or {}, body.get("spec") or {}
    for key, expected in (("name", name), ("namespace", namespace)):
        if metadata.get(key) and metadata[key] != expected:
            return _invalid(name, f"metadata.{key}", json.dumps(metadata[key]), f"must match the service account {key} if specified")
    account = _get(store, SERVICE_ACCOUNTS, namespace, name)
    if account is None:
        return not_found(SERVICE_ACCOUNTS, name)
    audiences = [str(audience) for audience in spec.get("audiences") or API_AUDIENCES]
    requested = spec.get("expirationSeconds", DEFAULT_EXPIRATION)
    if requested < 10 * 60:
        return _invalid("", "spec.expirationSeconds", str(requested), "may not specify a duration less than 10 minutes")
    if requested > 1 << 32:
        return _invalid("", "spec.expirationSeconds", str(requested), "may not specify a duration larger than 2^32 seconds")
    bound, ref = _Bound(), spec.get("boundObjectRef")
    if isinstance(ref, dict):
        bound, problem = _bind(store, namespace, name, ref)
        if problem is not None:
            return problem
    issued = int(time.time())
    expires_in, warn_after = lifetime(requested, audiences, bound.pod is not None)
    claims = bound_claims(account, audiences=audiences, issued=issued, expires_in=expires_in, warn_after=warn_after,
                          jti=str(uuid.uuid4()), pod=bound.pod, secret=bound.secret, node=bound.node)
    answer = {
        "kind": "TokenRequest", "apiVersion": "authentication.k8s.io/v1",
        "metadata": {**metadata, "name": name, "namespace": namespace, "creationTimestamp": _stamp(issued)},
        "spec": {"audiences": audiences, "expirationSeconds": requested, "boundObjectRef": ref if isinstance(ref, dict) else None},
        "status": {"token": sign(store.path.parent, claims), "expirationTimestamp": _stamp(issued + requested)},
    }
    return json_response(answer, 201)

def _get(store: Store, resource: ResourceType, namespace: str, name: str) -> dict[str, Any] | None:
    try:
        return store.get(resource, namespace, name)
    except NotFound:
        return None
