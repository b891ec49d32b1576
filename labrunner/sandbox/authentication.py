"""Who is asking: kube-apiserver's authenticators, then its impersonation filter.

In the API server's order: a client certificate signed by the cluster's CA (its
subject's CN is the user, each O a group: how ``kubectl certificate approve`` makes
a user), then a bearer token (the sandbox's admin token, or a service account token:
:mod:`labrunner.sandbox.tokens`). A request with no credentials is
``system:anonymous`` in ``system:unauthenticated`` (kubeadm leaves anonymous
authentication on; RBAC then lets it read only /version and the health endpoints);
a request with credentials that fail is 401, with no second chance as anonymous.

Then ``Impersonate-User``/``-Group``/``-Uid``/``-Extra-*`` (``kubectl --as``,
``--as-group``): each asked of the authorizer as the verb ``impersonate`` on users,
groups, serviceaccounts, uids or userextras, refused with the API server's 403, and
the request goes on as the impersonated user (pkg/endpoints/filters/impersonation.go).
"""

from __future__ import annotations

import hmac
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import unquote

from labrunner.sandbox.authorization import ANONYMOUS, AUTHENTICATED, NOBODY, UNAUTHENTICATED, Authorizer, User
from labrunner.topics.rbac.model import SERVICE_ACCOUNT_PREFIX, SERVICE_ACCOUNTS_GROUP, Attributes

TokenAuthenticator = Callable[[str], "User | None"]

UNAUTHORIZED = object()
"""Credentials were given and are not valid: the API server answers 401."""


def certificate_user(peer: Mapping[str, Any] | None) -> User | None:
    """The user a verified client certificate names (``ssl.getpeercert()``'s form): CN the
    name, every O a group, as kube-apiserver's x509 authenticator (CommonNameUserConversion)."""
    if not peer:
        return None
    common_name, organizations = "", []
    for relative in peer.get("subject") or ():
        for key, value in relative:
            if key == "commonName" and not common_name:
                common_name = value
            elif key == "organizationName":
                organizations.append(value)
    if not common_name:
        return None
    return User(common_name, tuple(organizations) + (AUTHENTICATED,))


def with_authenticated(user: User) -> User:
    if AUTHENTICATED in user.groups:
        return user
    return User(user.name, user.groups + (AUTHENTICATED,), user.uid, user.extra)


class Authenticator:
    def __init__(self, admin_token: str, admin: User, tokens: TokenAuthenticator | None = None) -> None:
        self._admin_token = f"Bearer {admin_token}".encode()
        self._admin = admin
        self._tokens = tokens

    def authenticate(self, authorization: str, peer: Mapping[str, Any] | None) -> User | object:
        """The request's user, or :data:`UNAUTHORIZED`."""
        if (user := certificate_user(peer)) is not None:
            return user
        if not authorization:
            return NOBODY
        if hmac.compare_digest(authorization.encode(), self._admin_token):
            return self._admin
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip() or self._tokens is None:
            return UNAUTHORIZED
        found = self._tokens(token.strip())
        return found if found is not None else UNAUTHORIZED


class ImpersonationError(Exception):
    """What the impersonation filter answers instead of the request: (code, reason, message, details)."""

    def __init__(self, code: int, reason: str, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.code, self.reason, self.message, self.details = code, reason, message, details


def _asked(headers: Any) -> tuple[str | None, list[str], str | None, dict[str, list[str]]]:
    user = headers.get("Impersonate-User")
    groups = list(headers.getall("Impersonate-Group", []))
    uid = headers.get("Impersonate-Uid")
    extra: dict[str, list[str]] = {}
    for key in headers:
        if key.lower().startswith("impersonate-extra-"):
            extra_key = unquote(key[len("impersonate-extra-"):]).lower()
            extra.setdefault(extra_key, []).extend(headers.getall(key))
    return user, groups, uid, extra


def impersonate(authorizer: Authorizer, requester: User, headers: Any) -> User:
    """The user a request acts as: ``requester`` itself, or whom its Impersonate-* headers name
    once the authorizer has allowed ``requester`` to impersonate each part."""
    user, groups, uid, extra = _asked(headers)
    if user is None:
        if groups or uid is not None or extra:
            asked = [f"Impersonate-Group {group}" for group in groups] + ([f"Impersonate-Uid {uid}"] if uid is not None else [])
            raise ImpersonationError(500, "InternalError",
                                     f"Internal error occurred: requested [{' '.join(asked)}] without impersonating a user")
        return requester
    checks: list[Attributes] = []
    if user.startswith(SERVICE_ACCOUNT_PREFIX) and user.count(":") == 3:
        namespace, _, name = user[len(SERVICE_ACCOUNT_PREFIX):].partition(":")
        checks.append(Attributes(verb="impersonate", resource="serviceaccounts", namespace=namespace, name=name))
        if not groups:  # the API server adds a service account's own groups
            groups = [SERVICE_ACCOUNTS_GROUP, f"{SERVICE_ACCOUNTS_GROUP}:{namespace}"]
    else:
        checks.append(Attributes(verb="impersonate", resource="users", name=user))
    checks += [Attributes(verb="impersonate", resource="groups", name=group) for group in headers.getall("Impersonate-Group", [])]
    if uid is not None:
        checks.append(Attributes(verb="impersonate", api_group="authentication.k8s.io", resource="uids", name=uid))
    for key, values in extra.items():
        checks += [Attributes(verb="impersonate", api_group="authentication.k8s.io", resource="userextras", subresource=key, name=value)
                   for value in values]
    for attributes in checks:
        decision = authorizer.decide_attributes(requester, attributes)
        if not decision.allowed:
            from labrunner.topics.rbac.evaluate import forbidden_message

            qualified = f"{attributes.resource}.{attributes.api_group}" if attributes.api_group else attributes.resource
            words = forbidden_message(requester.name, attributes) + (f": {decision.reason}" if decision.reason else "")
            raise ImpersonationError(403, "Forbidden", f'{qualified} "{attributes.name}" is forbidden: {words}',
                                     {"name": attributes.name, "group": attributes.api_group, "kind": attributes.resource})
    if user == ANONYMOUS:
        groups = groups if UNAUTHENTICATED in groups else groups + [UNAUTHENTICATED]
    elif AUTHENTICATED not in groups and UNAUTHENTICATED not in groups:
        groups = groups + [AUTHENTICATED]
    return User(user, tuple(groups), uid or "", tuple((key, tuple(values)) for key, values in sorted(extra.items())))
