"""Who may do what: one decision for every request and for every access review.

kube-apiserver asks its authorizers in turn about (user, verb, group, resource,
subresource, namespace, name), or (user, verb, path) for a non-resource request:
first the privileged group (``system:masters`` may do anything, whatever RBAC
says), then RBAC. The sandbox does the same; RBAC is labrunner's own engine
(:mod:`labrunner.topics.rbac`) over the Roles, ClusterRoles and bindings in the
store, re-read when one of them changes, indexed so a decision costs the same with
ten bindings or a thousand. Access reviews (``kubectl auth can-i``) ask the same
questions through :mod:`labrunner.sandbox.reviews`.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from labrunner.sandbox.requestinfo import RequestInfo
from labrunner.topics.rbac import evaluate
from labrunner.topics.rbac.model import Attributes, Binding, Policies, Rule
from labrunner.topics.rbac.parse import ObjectError, parse_binding, parse_role, aggregate

MASTERS = "system:masters"
AUTHENTICATED = "system:authenticated"
UNAUTHENTICATED = "system:unauthenticated"
ANONYMOUS = "system:anonymous"
RBAC_GROUP = "rbac.authorization.k8s.io"
RBAC_KINDS = (("roles", "Role"), ("clusterroles", "ClusterRole"), ("rolebindings", "RoleBinding"), ("clusterrolebindings", "ClusterRoleBinding"))

log = logging.getLogger("labrunner.sandbox")


@dataclass(frozen=True)
class User:
    """Who a request is from, as an authenticator says (user.Info): the name, the groups
    (``system:authenticated`` among them), a uid and extra fields (token-bound pod names)."""
    name: str
    groups: tuple[str, ...] = ()
    uid: str = ""
    extra: tuple[tuple[str, tuple[str, ...]], ...] = ()


ADMIN = User("kubernetes-admin", (MASTERS, AUTHENTICATED))
"""Whoever presents the sandbox's token (the kubeconfig's user)."""

NOBODY = User(ANONYMOUS, (UNAUTHENTICATED,))
"""A request with no credentials, as kube-apiserver's anonymous authenticator names it."""


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str = ""
    """The API server's reason: ``RBAC: allowed by ClusterRoleBinding "x" of ClusterRole "y" to
    Group "z"`` when allowed; "" or the RBAC authorizer's errors (a missing role) when not."""
    user: User | None = None
    attributes: Attributes | None = None
    authorizer: Authorizer | None = None

    @property
    def explanation(self) -> tuple[str, ...]:
        """labrunner's own account of the verdict (which bindings and rules were looked at),
        worked out when asked: a request needs only the verdict."""
        if self.user is None or self.attributes is None or self.authorizer is None:
            return ()
        if MASTERS in self.user.groups:
            return (f"allowed: {self.user.name} is in the group system:masters, which kube-apiserver lets do anything",)
        return tuple(evaluate.decide(self.authorizer.policies(), self.user.name, self.user.groups, self.attributes).explain())


def attributes_of(info: RequestInfo) -> Attributes:
    """The authorizer's attributes of a request, as the API server's RequestInfoFactory fills
    them: a namespace object is in its own namespace (so a RoleBinding there may grant reading
    it), and a list or watch selecting one name by ``metadata.name`` names that object."""
    if not info.is_resource:
        return Attributes(verb=info.verb, path=info.path)
    namespace = info.namespace or ""
    if info.resource == "namespaces" and info.name and not namespace:
        namespace = info.name
    return Attributes(verb=info.verb, api_group=info.group, resource=info.resource, subresource=info.subresource,
                      name=info.name or info.selected_name, namespace=namespace)


def _describe_subject(subject_kind: str, name: str, namespace: str) -> str:
    """rbac.go's describeSubject: a service account as ``"name/namespace"``."""
    if subject_kind == "ServiceAccount":
        return f'{subject_kind} {evaluate.go_quote(name + "/" + namespace)}'
    return f"{subject_kind} {evaluate.go_quote(name)}"


def allowed_reason(binding: Binding, role_kind: str, role_name: str, subject_kind: str, subject_name: str, subject_namespace: str) -> str:
    """The RBAC authorizer's reason for an allowed request (its binding describers)."""
    name = binding.name if binding.kind == "ClusterRoleBinding" else f"{binding.name}/{binding.namespace}"
    subject = _describe_subject(subject_kind, subject_name, subject_namespace or binding.namespace)
    return f"RBAC: allowed by {binding.kind} {evaluate.go_quote(name)} of {role_kind} {evaluate.go_quote(role_name)} to {subject}"


class Authorizer:
    """The privileged group, then RBAC over the store's objects (``store`` None: no RBAC
    objects at all, as in unit tests of the request plumbing)."""

    def __init__(self, store: Any = None) -> None:
        self.store = store
        self._policies: Policies | None = None
        if store is not None:
            store.listeners.append(self._on_change)

    def _on_change(self, event: str, group: str, plural: str, obj: Mapping[str, Any]) -> None:
        if group == RBAC_GROUP:
            self._policies = None

    def policies(self) -> Policies:
        """The RBAC objects as the engine's model, read again after any RBAC write. An object the
        engine cannot read (the API server's validation keeps them out; an old store may not
        have) is left out and logged, so one bad object never stops every decision."""
        if self._policies is not None:
            return self._policies
        roles, bindings = [], []
        if self.store is not None:
            from labrunner.sandbox import resources

            for plural, kind in RBAC_KINDS:
                resource = resources.lookup(RBAC_GROUP, "v1", plural)
                assert resource is not None
                for obj in self.store.list(resource):
                    try:
                        if kind.endswith("Binding"):
                            bindings.append(parse_binding({**obj, "kind": kind}))
                        else:
                            roles.append(parse_role({**obj, "kind": kind}))
                    except ObjectError as error:
                        log.warning("RBAC ignores %s: %s", kind, error)
        self._policies = Policies(roles=aggregate(tuple(roles)), bindings=tuple(bindings))
        return self._policies

    def decide(self, user: User, info: RequestInfo) -> Decision:
        return self.decide_attributes(user, attributes_of(info))

    def decide_attributes(self, user: User, attributes: Attributes) -> Decision:
        if MASTERS in user.groups:
            return Decision(True, "", user, attributes, self)
        policies = self.policies()
        verdict = evaluate.decide(policies, user.name, user.groups, attributes, explain=False)
        if verdict.grant is not None:
            grant = verdict.grant
            reason = allowed_reason(grant.binding, grant.binding.role_ref.kind, grant.binding.role_ref.name,
                                    grant.subject.kind, grant.subject.name, grant.subject.namespace)
            return Decision(True, reason, user, attributes, self)
        errors = evaluate.missing_roles(policies, user.name, user.groups, attributes)
        reason = f"RBAC: [{', '.join(errors)}]" if len(errors) > 1 else f"RBAC: {errors[0]}" if errors else ""
        return Decision(False, reason, user, attributes, self)

    def rules_for(self, user: User, namespace: str) -> tuple[list[Rule], bool]:
        """The rules ``user`` holds in ``namespace``, and whether everything is allowed
        (system:masters) as the privileged-group authorizer reports it."""
        rules = [rule for _, rule in evaluate.rules_for(self.policies(), user.name, user.groups, namespace)]
        if MASTERS in user.groups:
            rules = [Rule(verbs=("*",), api_groups=("*",), resources=("*",)), Rule(verbs=("*",), non_resource_urls=("*",))] + rules
        return rules, MASTERS in user.groups


def forbidden_message(user: User, info: RequestInfo, reason: str) -> str:
    """The API server's 403 message (responsewriters.ForbiddenStatusError): ``<resource>
    "<name>" is forbidden: User "jane" cannot ...``, the authorizer's reason after a colon."""
    attributes = attributes_of(info)
    words = evaluate.forbidden_message(user.name, attributes)
    if reason:
        words = f"{words}: {reason}"
    if not info.is_resource:
        return f"forbidden: {words}"
    qualified = f"{info.resource}.{info.group}" if info.group else info.resource
    name = info.name or info.selected_name
    return f'{qualified} "{name}" is forbidden: {words}' if name else f"{qualified} is forbidden: {words}"
