"""Authenticating a ServiceAccount token as kube-apiserver does: the signature with the sandbox's
key, then the claims with go-jose's rules (issuer, audience, expiry with leeway, not-before), then
what the token is bound to (its ServiceAccount, and a pod or Secret, still there with their uids);
legacy Secret tokens too, marked last-used once a day. Answers are remembered per store revision
until time alone could change them. Issuing tokens is :mod:`labrunner.sandbox.tokens`."""

from __future__ import annotations

import base64
import hmac
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from labrunner.sandbox.authorization import User
from labrunner.sandbox.resources import ResourceType
from labrunner.sandbox.store import Conflict, NotFound, Store, seconds
from labrunner.sandbox.tokens import (
    API_AUDIENCES,
    ISSUER,
    LEEWAY,
    LEGACY_INVALID_SINCE,
    LEGACY_ISSUER,
    LEGACY_LAST_USED,
    NODES,
    PODS,
    SECRETS,
    SERVICE_ACCOUNTS,
    _get,
    _signer,
    key_id,
    username,
)


@dataclass(frozen=True)
class _Answer:
    user: User
    revision: int
    until: float
    """When time alone could change the answer: the token's expiry (plus the leeway), a deletion's
    deadline, or (legacy tokens) the next day, when their Secret's last-used label is due again."""


_answers: dict[tuple[Path, str], _Answer] = {}
_payloads: dict[tuple[Path, str], dict[str, Any]] = {}
"""Claims whose signature checked out: a pure function of the token and the key."""
_CACHE_LIMIT = 4096
_ONLY_SIGNATURE = {"verify_signature": True, "verify_exp": False, "verify_nbf": False, "verify_iat": False,
                   "verify_aud": False, "verify_iss": False, "verify_sub": False, "verify_jti": False}
"""PyJWT checks the signature only; the claims are checked below, with go-jose's rules."""


def authenticate(token: str, store: Store) -> User | None:
    """Who a bearer token is, as kube-apiserver's service account authenticator says, or None when
    it is no service account's token (the caller answers 401).

    A bound token (issuer :data:`ISSUER`) must be signed by the sandbox's key, name an audience of
    the API server, and be within exp/nbf/iat (with a leeway of 60 s). Its account must still exist
    with the uid it names, as must the pod, Secret or Node it is bound to (something deleted counts
    until 60 s after its ``deletionTimestamp``). A legacy token (issuer :data:`LEGACY_ISSUER`) must still be held
    by its Secret, of an account with the same uid; a Secret labelled ``legacy-token-invalid-since``
    refuses it, and each day of use is written to its ``legacy-token-last-used`` label.

    The user is ``system:serviceaccount:NS:NAME``, in ``system:serviceaccounts``,
    ``system:serviceaccounts:NS`` and ``system:authenticated``, with the account's uid. A bound
    token's extra fields name its pod and node and its ``credential-id`` (``JTI=...``).

    Answers are remembered until the store changes or :attr:`_Answer.until` passes, so a known token
    costs one read of the store's revision."""
    folder = store.path.parent
    key = (folder, token)
    now = time.time()
    revision = store.revision()
    if (answer := _answers.get(key)) is not None and answer.revision == revision and now < answer.until:
        return answer.user
    claims = _verified(folder, token)
    if claims is None:
        return None
    try:
        found = (_legacy_user if claims.get("iss") == LEGACY_ISSUER else _bound_user)(store, claims, token, now)
    except (TypeError, ValueError, AttributeError):  # claims of the wrong JSON types: go-jose would not decode them
        return None
    if found is None:
        return None
    if len(_answers) >= _CACHE_LIMIT:
        _answers.clear()
    _answers[key] = _Answer(found[0], revision, found[1])
    return found[0]


def _verified(folder: Path, token: str) -> dict[str, Any] | None:
    """The claims of ``token`` if the sandbox's key signed it (its ``kid``, when it has one, naming that
    key) and its issuer is one the API server takes."""
    if (claims := _payloads.get((folder, token))) is not None:
        return claims
    import jwt

    signer = _signer(folder, create=False)
    if signer is None:
        return None
    try:
        if jwt.get_unverified_header(token).get("kid", signer.key_id) != signer.key_id:
            return None
        claims = jwt.decode(token, signer.public, algorithms=["RS256"], options=_ONLY_SIGNATURE)  # type: ignore[arg-type]
    except jwt.PyJWTError:
        return None
    if claims.get("iss") not in (ISSUER, LEGACY_ISSUER):
        return None
    if len(_payloads) >= _CACHE_LIMIT:
        _payloads.clear()
    _payloads[(folder, token)] = claims
    return claims


def _deleted_by(obj: Mapping[str, Any]) -> float | None:
    """When a deleted object stops counting (its ``deletionTimestamp`` plus the leeway), or None."""
    stamp = (obj.get("metadata") or {}).get("deletionTimestamp")
    return seconds(stamp) + LEEWAY if stamp else None


def _still_there(store: Store, resource: ResourceType, namespace: str, ref: Mapping[str, Any], now: float) -> tuple[bool, float]:
    """Whether the object a token names exists with its uid and is not long deleted; and until when that holds."""
    found = _get(store, resource, namespace, str(ref.get("name") or ""))
    if found is None or str(found["metadata"].get("uid", "")) != str(ref.get("uid") or ""):
        return False, 0
    deadline = _deleted_by(found)
    if deadline is not None and now > deadline:
        return False, 0
    return True, deadline if deadline is not None else float("inf")


def _service_account_user(namespace: str, name: str, uid: str, extra: dict[str, str]) -> User:
    return User(username(namespace, name), ("system:serviceaccounts", f"system:serviceaccounts:{namespace}", "system:authenticated"),
                uid, tuple((key, (value,)) for key, value in sorted(extra.items())))


def _bound_user(store: Store, claims: Mapping[str, Any], token: str, now: float) -> tuple[User, float] | None:
    """pkg/serviceaccount/jwt.go's audience check, then claims.go's validator."""
    audiences = claims.get("aud") or list(API_AUDIENCES)  # no audience: the API server's (legacy-style)
    if not set([audiences] if isinstance(audiences, str) else audiences) & set(API_AUDIENCES):
        return None
    expiry, not_before, issued = claims.get("exp"), claims.get("nbf"), claims.get("iat")
    if (not_before is not None and now + LEEWAY < not_before) or (expiry is not None and now - LEEWAY > expiry) \
            or (issued is not None and now + LEEWAY < issued):
        return None
    private = claims.get("kubernetes.io") or {}
    namespace = str(private.get("namespace") or "")
    account, pod, secret, node = (private.get(key) for key in ("serviceaccount", "pod", "secret", "node"))
    until = float(expiry) + LEEWAY if expiry is not None else float("inf")
    checks = [(SERVICE_ACCOUNTS, namespace, account or {})]
    if secret is not None:
        checks.append((SECRETS, namespace, secret))
    if pod is not None:
        checks.append((PODS, namespace, pod))
    elif node is not None:  # a node-bound token; a pod-bound one only names its node
        checks.append((NODES, "", node))
    for resource, where, ref in checks:
        there, deadline = _still_there(store, resource, where, ref, now)
        if not there:
            return None
        until = min(until, deadline)
    extra: dict[str, str] = {}
    if pod is not None and pod.get("name") and pod.get("uid"):
        extra.update({"authentication.kubernetes.io/pod-name": pod["name"], "authentication.kubernetes.io/pod-uid": pod["uid"]})
    if node is not None and node.get("name"):
        extra["authentication.kubernetes.io/node-name"] = node["name"]
        if node.get("uid"):
            extra["authentication.kubernetes.io/node-uid"] = node["uid"]
    if claims.get("jti"):
        extra["authentication.kubernetes.io/credential-id"] = f"JTI={claims['jti']}"
    user = _service_account_user(namespace, str((account or {}).get("name") or ""), str((account or {}).get("uid") or ""), extra)
    return user, until


def _legacy_user(store: Store, claims: Mapping[str, Any], token: str, now: float) -> tuple[User, float] | None:
    """pkg/serviceaccount/legacy.go's validator, with ``--service-account-lookup`` (on by default)."""
    namespace, secret_name, name, uid = (str(claims.get(f"kubernetes.io/serviceaccount/{key}") or "")
                                         for key in ("namespace", "secret.name", "service-account.name", "service-account.uid"))
    if not (claims.get("sub") and namespace and secret_name and name and uid) or claims["sub"] != username(namespace, name):
        return None
    secret = _get(store, SECRETS, namespace, secret_name)
    if secret is None or secret["metadata"].get("deletionTimestamp"):
        return None
    held = base64.b64decode((secret.get("data") or {}).get("token") or "")
    if not hmac.compare_digest(held, token.encode()):
        return None
    account = _get(store, SERVICE_ACCOUNTS, namespace, name)
    if account is None or account["metadata"].get("deletionTimestamp") or account["metadata"].get("uid") != uid:
        return None
    invalid = bool((secret["metadata"].get("labels") or {}).get(LEGACY_INVALID_SINCE))
    _mark_used(store, secret, now)
    if invalid:
        return None
    tomorrow = datetime.fromtimestamp(now, timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)
    return _service_account_user(namespace, name, uid, {}), tomorrow.timestamp()


def _mark_used(store: Store, secret: dict[str, Any], now: float) -> None:
    """Label a legacy token's Secret with today's date (UTC), unless it says today or tomorrow already."""
    today = datetime.fromtimestamp(now, timezone.utc).date()
    labels = secret["metadata"].setdefault("labels", {})
    if labels.get(LEGACY_LAST_USED) in (today.isoformat(), (today + timedelta(days=1)).isoformat()):
        return
    labels[LEGACY_LAST_USED] = today.isoformat()
    try:
        store.update(SECRETS, secret)
    except (NotFound, Conflict):  # changed meanwhile: the next use labels it
        pass
