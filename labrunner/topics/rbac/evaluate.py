"""Decide one request as kube-apiserver's RBAC authorizer does, and say why.

The matching follows plugin/pkg/auth/authorizer/rbac/rbac.go (``RuleAllows``) and
pkg/apis/rbac/v1/evaluation_helpers.go (``VerbMatches``, ``APIGroupMatches``,
``ResourceMatches``, ``ResourceNameMatches``, ``NonResourceURLMatches``); which
bindings apply follows pkg/registry/rbac/validation/rule.go (``VisitRulesFor``,
``appliesToUser``): every ClusterRoleBinding, then the RoleBindings of the request's
namespace only (none for a cluster-scoped request). RBAC only adds: the first rule
that allows wins, and nothing denies.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from labrunner.topics.rbac.model import (
    ALL,
    SERVICE_ACCOUNT_PREFIX,
    Attributes,
    Binding,
    Considered,
    Decision,
    Grant,
    Identity,
    Miss,
    Policies,
    Rule,
    Subject,
)
from labrunner.topics.rbac.parse import policies_from_objects


def verb_matches(rule: Rule, verb: str) -> bool:
    return any(candidate in (ALL, verb) for candidate in rule.verbs)


def api_group_matches(rule: Rule, group: str) -> bool:
    return any(candidate in (ALL, group) for candidate in rule.api_groups)


def resource_matches(rule: Rule, combined: str, subresource: str) -> bool:
    """``*`` matches all; else the exact ``resource/subresource``, or ``*/subresource``."""
    for candidate in rule.resources:
        if candidate in (ALL, combined):
            return True
        if subresource and candidate == f"*/{subresource}":
            return True
    return False


def resource_name_matches(rule: Rule, name: str) -> bool:
    return not rule.resource_names or name in rule.resource_names


def non_resource_url_matches(rule: Rule, path: str) -> bool:
    """``*`` matches all; a trailing ``*`` matches every path with that prefix."""
    for candidate in rule.non_resource_urls:
        if candidate in (ALL, path):
            return True
        if candidate.endswith("*") and path.startswith(candidate.rstrip("*")):
            return True
    return False


def rule_allows(rule: Rule, attributes: Attributes) -> bool:
    if attributes.is_resource_request:
        return (verb_matches(rule, attributes.verb) and api_group_matches(rule, attributes.api_group)
                and resource_matches(rule, attributes.combined_resource, attributes.subresource)
                and resource_name_matches(rule, attributes.name))
    return verb_matches(rule, attributes.verb) and non_resource_url_matches(rule, attributes.path or "")


def why_not(rule: Rule, attributes: Attributes) -> str:
    """Why ``rule`` does not allow the request, naming the first part that misses
    (``allows get, list on pods, not delete``); "" when it allows it."""
    if rule_allows(rule, attributes):
        return ""
    verb = attributes.verb
    if not attributes.is_resource_request:
        path = attributes.path or ""
        if not rule.non_resource_urls:
            return f"allows {rule.describe()}, which are resources, not the path {path}"
        if not verb_matches(rule, verb):
            return f"allows {rule.describe()}, not {verb}"
        return f"allows {rule.describe()}, not the path {path}"
    if not rule.resources and rule.non_resource_urls:
        return f"allows {rule.describe()}, which are paths, not resources"
    if not verb_matches(rule, verb):
        return f"allows {rule.describe()}, not {verb}"
    if not api_group_matches(rule, attributes.api_group):
        return f'allows {rule.describe()}, not API group "{attributes.api_group}"'
    combined = attributes.combined_resource
    if not resource_matches(rule, combined, attributes.subresource):
        if attributes.subresource and attributes.resource in rule.resources:
            return (f"allows {rule.describe()}, not {combined}: a subresource is not implied by its "
                    f"resource, a rule must name {combined}")
        return f"allows {rule.describe()}, not {combined}"
    if not attributes.name:
        return (f"allows {rule.describe()} only, and a {verb} of {combined} names no object "
                f"(resourceNames never match it)")
    return f"allows {rule.describe()}, not {attributes.name}"


def applies_to(subject: Subject, identity: Identity, binding_namespace: str) -> bool:
    """appliesToUser: a ServiceAccount subject without a namespace means one in the
    RoleBinding's namespace (never matches in a ClusterRoleBinding)."""
    if subject.kind == "User":
        return identity.user == subject.name
    if subject.kind == "Group":
        return subject.name in identity.groups
    namespace = subject.namespace or binding_namespace
    return bool(namespace) and identity.user == f"{SERVICE_ACCOUNT_PREFIX}{namespace}:{subject.name}"


def _subject(binding: Binding, identity: Identity) -> Subject | None:
    return next((subject for subject in binding.subjects if applies_to(subject, identity, binding.namespace)), None)


def _out_of_scope(binding: Binding, attributes: Attributes) -> str:
    if binding.kind == "ClusterRoleBinding":
        return "a ClusterRoleBinding can refer to no Role" if binding.role_ref.kind == "Role" else ""
    if not attributes.namespace:
        target = ("this path" if not attributes.is_resource_request
                  else f"{attributes.combined_resource} at the cluster scope")
        return f"a RoleBinding grants only in its namespace ({binding.namespace}), never {target}"
    if attributes.namespace != binding.namespace:
        return f"a RoleBinding grants only in its namespace ({binding.namespace}), not in {attributes.namespace}"
    return ""


def decide(objects: Policies | Iterable[Mapping[str, Any]], user: str, groups: Sequence[str],
           attributes: Attributes, *, explain: bool = True) -> Decision:
    """Whether RBAC allows ``user`` (in ``groups``, as the authenticator gave them) the
    request ``attributes``: the binding, role and rule that allow it, or, denied, every
    binding naming the subject and why each of its rules missed (``explain`` False: the
    verdict alone, what an API server needs on every request)."""
    policies = objects if isinstance(objects, Policies) else policies_from_objects(objects)
    identity = Identity(user=user, groups=tuple(groups))
    considered: list[Considered] = []
    for binding in policies.bindings_naming(identity.user, identity.groups):
        subject = _subject(binding, identity)
        if subject is None:
            continue
        role = policies.role_for(binding)
        out_of_scope = _out_of_scope(binding, attributes)
        if out_of_scope or role is None:
            if explain:
                considered.append(Considered(binding=binding, subject=subject, role=role, out_of_scope=out_of_scope))
            continue
        for index, rule in enumerate(role.rules):
            if rule_allows(rule, attributes):
                grant = Grant(binding=binding, role=role, rule_index=index, subject=subject)
                return Decision(allowed=True, identity=identity, attributes=attributes, grant=grant)
        if not explain:
            continue
        misses = tuple(Miss(rule_index=index, rule=rule, why=why_not(rule, attributes))
                       for index, rule in enumerate(role.rules))
        considered.append(Considered(binding=binding, subject=subject, role=role, misses=misses))
    return Decision(allowed=False, identity=identity, attributes=attributes, considered=tuple(considered))


def rules_for(objects: Policies | Iterable[Mapping[str, Any]], user: str, groups: Sequence[str],
              namespace: str) -> list[tuple[Binding, Rule]]:
    """Every rule granted to ``user`` in ``namespace`` ("" for the cluster scope), with the
    binding granting it, in evaluation order: what a SelfSubjectRulesReview (``kubectl auth
    can-i --list``) answers from RBAC's RulesFor."""
    policies = objects if isinstance(objects, Policies) else policies_from_objects(objects)
    identity = Identity(user=user, groups=tuple(groups))
    granted: list[tuple[Binding, Rule]] = []
    for binding in policies.bindings_naming(identity.user, identity.groups):
        if binding.kind == "RoleBinding" and binding.namespace != namespace:
            continue
        if _subject(binding, identity) is None or (role := policies.role_for(binding)) is None:
            continue
        granted += [(binding, rule) for rule in role.rules]
    return granted


def missing_roles(objects: Policies, user: str, groups: Sequence[str], attributes: Attributes) -> list[str]:
    """The API server's errors for bindings naming ``user`` whose role does not exist, which
    its RBAC authorizer gives as the reason of a denial (``clusterrole.rbac.authorization.k8s.io
    "x" not found``), for bindings that could apply to this request."""
    errors: list[str] = []
    identity = Identity(user=user, groups=tuple(groups))
    for binding in objects.bindings_naming(identity.user, identity.groups):
        if _subject(binding, identity) is None or _out_of_scope(binding, attributes):
            continue
        if objects.role_for(binding) is None:
            errors.append(f"{binding.role_ref.kind.lower()}.rbac.authorization.k8s.io {go_quote(binding.role_ref.name)} not found")
    return errors


def go_quote(text: str) -> str:
    """Go's ``%q`` of a string, as kube-apiserver formats its messages."""
    escapes = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\t": "\\t", "\r": "\\r", "\a": "\\a", "\b": "\\b",
               "\f": "\\f", "\v": "\\v"}
    out = []
    for char in text:
        if char in escapes:
            out.append(escapes[char])
        elif not char.isprintable():
            code = ord(char)
            out.append(f"\\x{code:02x}" if code < 0x80 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


def forbidden_message(user: str, attributes: Attributes) -> str:
    """kube-apiserver's words for a request the authorizers denied
    (responsewriters.forbiddenMessage); the API server's 403 Status message is
    ``<resource> "<name>" is forbidden: `` followed by this."""
    verb = attributes.verb
    if not attributes.is_resource_request:
        return f"User {go_quote(user)} cannot {verb} path {go_quote(attributes.path or '')}"
    resource = go_quote(attributes.combined_resource)
    group = go_quote(attributes.api_group)
    if attributes.namespace:
        return (f"User {go_quote(user)} cannot {verb} resource {resource} in API group {group} "
                f"in the namespace {go_quote(attributes.namespace)}")
    return f"User {go_quote(user)} cannot {verb} resource {resource} in API group {group} at the cluster scope"
