"""API objects (dicts, as ``kubectl get -o json`` prints them) to the RBAC model.

Roles, ClusterRoles, RoleBindings and ClusterRoleBindings (or a ``List`` of them) are
read; objects of other kinds are skipped. What would change a verdict silently (a
binding without a roleRef, an unknown selector operator) raises :class:`ObjectError`.
Aggregated ClusterRoles get their rules as the aggregation controller writes them
(pkg/controller/clusterroleaggregation): for each selector in turn, every other
ClusterRole whose labels it matches, by name, each rule not already there appended;
the role's own ``rules`` are replaced.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import Any, cast

from labrunner.topics.rbac.model import (
    DEFAULTS_LABEL,
    Binding,
    BindingKind,
    Policies,
    Requirement,
    Role,
    RoleKind,
    RoleRef,
    Rule,
    Selector,
    Subject,
    SubjectKind,
)

ROLE_KINDS = ("Role", "ClusterRole")
BINDING_KINDS = ("RoleBinding", "ClusterRoleBinding")
SUBJECT_KINDS = ("User", "Group", "ServiceAccount")
OPERATORS = ("In", "NotIn", "Exists", "DoesNotExist")


class ObjectError(ValueError):
    """An object the engine cannot read; ``path`` uses the API server's syntax."""

    def __init__(self, message: str, path: str = "") -> None:
        super().__init__(f"{path}: {message}" if path else message)


def policies_from_objects(objects: Iterable[Mapping[str, Any]]) -> Policies:
    """Every RBAC object among ``objects``, aggregated ClusterRoles filled."""
    roles: list[Role] = []
    bindings: list[Binding] = []
    for obj in _flatten(objects):
        kind = obj.get("kind")
        if kind in ROLE_KINDS:
            roles.append(parse_role(obj))
        elif kind in BINDING_KINDS:
            bindings.append(parse_binding(obj))
    return Policies(roles=aggregate(tuple(roles)), bindings=tuple(bindings))


def _flatten(objects: Iterable[Mapping[str, Any]]) -> Iterable[Mapping[str, Any]]:
    for obj in objects:
        if str(obj.get("kind", "")).endswith("List") and isinstance(obj.get("items"), list):
            yield from _flatten(obj["items"])
        else:
            yield obj


def _where(obj: Mapping[str, Any]) -> str:
    metadata = obj.get("metadata") or {}
    name = metadata.get("name", "?")
    namespace = metadata.get("namespace")
    return f"{obj.get('kind')} {namespace}/{name}" if namespace else f"{obj.get('kind')} {name}"


def _metadata(obj: Mapping[str, Any], namespaced: bool) -> tuple[str, str]:
    metadata = obj.get("metadata") or {}
    name = metadata.get("name")
    if not isinstance(name, str) or not name:
        raise ObjectError("a name is required", f"{obj.get('kind')}.metadata.name")
    namespace = metadata.get("namespace") or ""
    if namespaced and not namespace:
        # kubectl would fill in its current namespace; the engine cannot guess it.
        raise ObjectError("a namespace is required", f"{_where(obj)}: metadata.namespace")
    return name, namespace if namespaced else ""


def _strings(value: Any, path: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ObjectError("must be a list of strings", path)
    return tuple(value)


def parse_rule(raw: Mapping[str, Any], path: str) -> Rule:
    return Rule(verbs=_strings(raw.get("verbs"), f"{path}.verbs"),
                api_groups=_strings(raw.get("apiGroups"), f"{path}.apiGroups"),
                resources=_strings(raw.get("resources"), f"{path}.resources"),
                resource_names=_strings(raw.get("resourceNames"), f"{path}.resourceNames"),
                non_resource_urls=_strings(raw.get("nonResourceURLs"), f"{path}.nonResourceURLs"))


def parse_selector(raw: Mapping[str, Any], path: str) -> Selector:
    labels = raw.get("matchLabels") or {}
    expressions: list[Requirement] = []
    for index, expression in enumerate(raw.get("matchExpressions") or ()):
        operator = expression.get("operator")
        if operator not in OPERATORS:
            raise ObjectError(f"unknown operator {operator!r}", f"{path}.matchExpressions[{index}].operator")
        expressions.append(Requirement(key=str(expression.get("key", "")), operator=operator,
                                       values=frozenset(_strings(expression.get("values"),
                                                                 f"{path}.matchExpressions[{index}].values"))))
    return Selector(match_labels=tuple(sorted((str(key), str(value)) for key, value in labels.items())),
                    match_expressions=tuple(expressions))


def parse_role(obj: Mapping[str, Any]) -> Role:
    kind = cast(RoleKind, obj["kind"])
    name, namespace = _metadata(obj, namespaced=kind == "Role")
    where = _where(obj)
    rules = tuple(parse_rule(rule, f"{where}: rules[{index}]") for index, rule in enumerate(obj.get("rules") or ()))
    labels = tuple(sorted(((obj.get("metadata") or {}).get("labels") or {}).items()))
    aggregation: tuple[Selector, ...] | None = None
    rule = obj.get("aggregationRule")
    if kind == "ClusterRole" and rule is not None:
        aggregation = tuple(parse_selector(selector, f"{where}: aggregationRule.clusterRoleSelectors[{index}]")
                            for index, selector in enumerate(rule.get("clusterRoleSelectors") or ()))
    return Role(kind=kind, name=name, namespace=namespace, rules=rules, labels=labels, aggregation=aggregation)


def parse_binding(obj: Mapping[str, Any]) -> Binding:
    kind = cast(BindingKind, obj["kind"])
    name, namespace = _metadata(obj, namespaced=kind == "RoleBinding")
    where = _where(obj)
    ref = obj.get("roleRef") or {}
    if ref.get("kind") not in ROLE_KINDS or not ref.get("name"):
        raise ObjectError("must name a Role or ClusterRole", f"{where}: roleRef")
    subjects: list[Subject] = []
    for index, raw in enumerate(obj.get("subjects") or ()):
        if raw.get("kind") not in SUBJECT_KINDS:
            raise ObjectError(f"unknown kind {raw.get('kind')!r}", f"{where}: subjects[{index}].kind")
        subjects.append(Subject(kind=cast(SubjectKind, raw["kind"]), name=str(raw.get("name", "")),
                                namespace=str(raw.get("namespace") or "")))
    key, value = DEFAULTS_LABEL
    default = ((obj.get("metadata") or {}).get("labels") or {}).get(key) == value
    return Binding(kind=kind, name=name, namespace=namespace, subjects=tuple(subjects), default=default,
                   role_ref=RoleRef(kind=cast(RoleKind, ref["kind"]), name=str(ref["name"])))


def aggregate(roles: tuple[Role, ...]) -> tuple[Role, ...]:
    """Fill every aggregated ClusterRole, again until nothing changes (an aggregated role
    may itself be selected by another)."""
    for _ in range(len(roles) + 1):
        cluster_roles = sorted((role for role in roles if role.kind == "ClusterRole"), key=lambda role: role.name)
        filled = tuple(_aggregated(role, cluster_roles) for role in roles)
        settled = filled == roles  # rules compare without aggregated_from: keep the filled ones, which say their origin
        roles = filled
        if settled:
            break
    return roles


def _aggregated(role: Role, cluster_roles: list[Role]) -> Role:
    if role.aggregation is None:
        return role
    rules: list[Rule] = []
    for selector in role.aggregation:
        for source in cluster_roles:
            if source.name == role.name or not selector.matches(dict(source.labels)):
                continue
            for rule in source.rules:
                if rule not in rules:
                    rules.append(replace(rule, aggregated_from=rule.aggregated_from or source.name))
    return replace(role, rules=tuple(rules))
