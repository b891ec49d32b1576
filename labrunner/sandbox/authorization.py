"""Who may do what: one decision for every request and for every access review.

The API server asks the authoriser about (user, verb, group, resource,
subresource, namespace, name), or (user, verb, path) for a non-resource
request, and gets (allowed, reason) back; ``kubectl auth can-i`` asks the same
question through a SelfSubjectAccessReview. The sandbox has one user, the
holder of its token, in ``system:masters``, the group a real API server lets do
anything; RBAC objects are stored but not yet enforced, so no one else exists
to be refused. When RBAC comes, it is :meth:`Authorizer.decide` that learns it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from labrunner.sandbox.requestinfo import RequestInfo

MASTERS = "system:masters"


@dataclass(frozen=True)
class User:
    """Who a request is from, as an authenticator says (user.Info): the name, the groups
    (``system:authenticated`` among them), a uid and extra fields (token-bound pod names)."""
    name: str
    groups: tuple[str, ...] = ()
    uid: str = ""
    extra: tuple[tuple[str, tuple[str, ...]], ...] = ()


ADMIN = User("kubernetes-admin", (MASTERS, "system:authenticated"))
"""Whoever presents the sandbox's token (the kubeconfig's user)."""


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str = ""


class Authorizer:
    def decide(self, user: User, info: RequestInfo) -> Decision:
        if MASTERS in user.groups:
            return Decision(True, "the sandbox's user is its cluster administrator")
        return Decision(False, "the labrunner sandbox does not enforce RBAC yet and knows no other user")

    def review(self, user: User, spec: dict[str, Any]) -> Decision:
        """The decision a SelfSubjectAccessReview's ``spec`` asks for."""
        attributes = spec.get("resourceAttributes")
        if isinstance(attributes, dict):
            info = RequestInfo("", str(attributes.get("verb", "")), True, str(attributes.get("group", "")),
                               str(attributes.get("version", "")), str(attributes.get("resource", "")),
                               str(attributes.get("subresource", "")), attributes.get("namespace") or None, attributes.get("name") or None)
        else:
            attributes = spec.get("nonResourceAttributes") or {}
            info = RequestInfo(str(attributes.get("path", "")), str(attributes.get("verb", "")))
        return self.decide(user, info)


def forbidden_message(user: User, info: RequestInfo, reason: str) -> str:
    """The API server's words for a refusal (``responsewriters.forbiddenMessage``)."""
    if not info.is_resource:
        message = f'forbidden: User "{user.name}" cannot {info.verb} path "{info.path}"'
    else:
        resource = f"{info.resource}/{info.subresource}" if info.subresource else info.resource
        subject = f'{resource} "{info.name}"' if info.name else resource
        scope = f'in the namespace "{info.namespace}"' if info.namespace else "at the cluster scope"
        message = f'{subject} is forbidden: User "{user.name}" cannot {info.verb} resource "{resource}" in API group "{info.group}" {scope}'
    return f"{message}: {reason}" if reason else message
