"""Roles, ClusterRoles and their bindings as kube-apiserver's RBAC registry admits them.

- Defaults (pkg/apis/rbac/v1/defaults.go): a binding's ``roleRef.apiGroup`` (a binding without a
  roleRef has one, as Go's struct does) and a User or Group subject's ``apiGroup`` are
  ``rbac.authorization.k8s.io`` when left out; a null in a rule's list is "", as Go decodes it.
- Privilege-escalation prevention (pkg/registry/rbac/*/policybased, escalation_check.go), before
  validation as the policy-based storage runs before the standard one: a Role or ClusterRole may
  grant only what its writer holds (in its namespace, or cluster-wide), unless they may
  ``escalate`` on that role resource; a binding may refer only to a role whose every permission
  its writer holds, unless they may ``bind`` that role. ``system:masters`` skips both, and so does
  an update that changes only the fields the garbage collector writes. What "holds" means is
  :mod:`labrunner.topics.rbac.covers`.
- Validation (pkg/apis/rbac/validation): every invalid field in one 422. Verbs are never checked
  against a list: custom verbs are legitimate (a webhook authorizer, ``escalate``, ``bind``,
  ``impersonate``, ``approve``), and kubectl only warns about one it does not know.

Left out: the label selectors of an aggregation rule are not validated, beyond needing one; a
service account subject's name is checked against the subdomain pattern, not its length.
"""

from __future__ import annotations

import copy
from typing import Any

from labrunner.sandbox.authorization import MASTERS, RBAC_GROUP
from labrunner.sandbox.names import dns1123_subdomain
from labrunner.sandbox.resource_hooks import FieldError, Refused, Writer, invalid_object, path_segment_problems
from labrunner.topics.rbac.covers import not_held_message, uncovered
from labrunner.topics.rbac.evaluate import applies_to, go_quote
from labrunner.topics.rbac.model import Attributes, Identity, Rule
from labrunner.topics.rbac.parse import parse_rule

PLURALS = {"Role": "roles", "ClusterRole": "clusterroles", "RoleBinding": "rolebindings", "ClusterRoleBinding": "clusterrolebindings"}
FULL_AUTHORITY = (Rule(verbs=("*",), api_groups=("*",), resources=("*",)), Rule(verbs=("*",), non_resource_urls=("*",)))
"""What setting an aggregation rule needs: it can gather anything."""
_RULE_LISTS = ("verbs", "apiGroups", "resources", "resourceNames", "nonResourceURLs")


def set_defaults(kind: str, obj: dict[str, Any]) -> None:
    """SetDefaults_RoleBinding, SetDefaults_ClusterRoleBinding and SetDefaults_Subject, on the
    object as Go decodes it: a binding always has a roleRef (a struct, not a pointer), and a null
    item of a rule's list is an empty string."""
    for rule in obj.get("rules") or ():
        for field in _RULE_LISTS:
            if isinstance(rule, dict) and isinstance(items := rule.get(field), list):
                rule[field] = ["" if item is None else item for item in items]
    if not kind.endswith("Binding"):
        return
    if isinstance(ref := obj.setdefault("roleRef", {}), dict) and not ref.get("apiGroup"):
        ref["apiGroup"] = RBAC_GROUP
    for subject in obj.get("subjects") or ():
        if isinstance(subject, dict) and not subject.get("apiGroup") and subject.get("kind") in ("User", "Group"):
            subject["apiGroup"] = RBAC_GROUP


def admit(kind: str, obj: dict[str, Any], previous: dict[str, Any] | None, writer: Writer) -> None:
    """A create (``previous`` None) or update of an RBAC object: the escalation checks, then validation.

    Raises:
        Refused: a 403 (escalation), 404 (a binding's role does not exist), 400 or 500 (a role
            reference the API server cannot look up), or the 422 naming every invalid field.
    """
    if MASTERS not in writer.user.groups and not (previous is not None and _only_garbage_collector_fields(obj, previous)):
        if kind in ("Role", "ClusterRole"):
            _confirm_role(kind, obj, previous, writer)
        else:
            _confirm_binding(kind, obj, writer)
    if errors := problems(kind, obj, previous):
        raise invalid_object(kind, RBAC_GROUP, str(obj["metadata"].get("name", "")), errors)


# -- privilege-escalation prevention ------------------------------------------------------------


def _only_garbage_collector_fields(obj: dict[str, Any], previous: dict[str, Any]) -> bool:
    """IsOnlyMutatingGCFields: the update changes at most ownerReferences and finalizers, the
    objects compared as Go's semantic equality compares structs (an absent field, an empty
    one and a zero one are the same)."""
    changed = copy.deepcopy(obj)
    metadata, old = changed.setdefault("metadata", {}), previous.get("metadata") or {}
    for key in ("ownerReferences", "finalizers", "selfLink"):
        metadata.pop(key, None)
        if key in old:
            metadata[key] = old[key]
    return _without_zeros(changed) == _without_zeros(previous)


def _without_zeros(value: Any) -> Any:
    """``value`` with every object's empty, false, zero or null fields left out."""
    if isinstance(value, dict):
        kept = {key: _without_zeros(item) for key, item in value.items()}
        return {key: item for key, item in kept.items() if item not in (None, "", 0, False, [], {})}
    if isinstance(value, list):
        return [_without_zeros(item) for item in value]
    return value


def _allowed(writer: Writer, verb: str, plural: str, name: str, namespace: str, group: str = RBAC_GROUP) -> bool:
    attributes = Attributes(verb=verb, api_group=group, resource=plural, name=name, namespace=namespace)
    return writer.authorizer.decide_attributes(writer.user, attributes).allowed


def _forbidden(plural: str, name: str, why: str) -> Refused:
    """``errors.NewForbidden`` of an RBAC resource."""
    return Refused(403, "Forbidden", f"{plural}.{RBAC_GROUP} {go_quote(name)} is forbidden: {why}",
                   {"name": name, "group": RBAC_GROUP, "kind": plural})


def _rules(obj: dict[str, Any]) -> list[Rule]:
    return [parse_rule(rule, f"rules[{index}]") for index, rule in enumerate(obj.get("rules") or ()) if isinstance(rule, dict)]


def _confirm_role(kind: str, obj: dict[str, Any], previous: dict[str, Any] | None, writer: Writer) -> None:
    """The role storages' check: RoleEscalationAuthorized (``escalate`` on the URL's resource and
    name: a POST names none), else ConfirmNoEscalation; an aggregation rule needs everything."""
    plural, name = PLURALS[kind], str(obj["metadata"].get("name", ""))
    namespace = str(obj["metadata"].get("namespace") or "") if kind == "Role" else ""
    if _allowed(writer, "escalate", plural, writer.name, namespace):
        return
    _confirm_no_escalation(writer, namespace, _rules(obj), plural, name)
    aggregates = [role for role in (obj, previous) if role is not None and ((role.get("aggregationRule") or {}).get("clusterRoleSelectors"))]
    if kind == "ClusterRole" and aggregates:
        held, _ = writer.authorizer.rules_for(writer.user, "")
        if uncovered(held, FULL_AUTHORITY):
            raise _forbidden(plural, name, "must have cluster-admin privileges to use the aggregationRule")


def _confirm_binding(kind: str, obj: dict[str, Any], writer: Writer) -> None:
    """The binding storages' check: BindingAuthorized (``bind`` on the role it refers to, in the
    binding's namespace), else the role's rules through ConfirmNoEscalation."""
    plural, name = PLURALS[kind], str(obj["metadata"].get("name", ""))
    namespace = str(obj["metadata"].get("namespace") or "") if kind == "RoleBinding" else ""
    group, ref_kind, ref_name = _role_ref(obj)
    if ref_kind in ("Role", "ClusterRole") and _allowed(writer, "bind", PLURALS[ref_kind], ref_name, namespace, group):
        return
    _confirm_no_escalation(writer, namespace, _referenced_rules(writer, ref_kind, ref_name, namespace), plural, name)


def _referenced_rules(writer: Writer, kind: str, name: str, namespace: str) -> list[Rule]:
    """GetRoleReferenceRules: the stored role's rules, or the error its lookup answers.

    Raises:
        Refused: a 404 for a role that does not exist, a 400 for a lookup without a namespace or
            name, a 500 for a kind that is no role.
    """
    from labrunner.sandbox import resources
    from labrunner.sandbox.store import NotFound

    if kind not in ("Role", "ClusterRole"):
        raise Refused(500, "", f"unsupported role reference kind: {go_quote(kind)}")
    plural, scope = PLURALS[kind], namespace if kind == "Role" else ""
    if kind == "Role" and not namespace:
        raise Refused(400, "BadRequest", "Namespace parameter required.")
    if not name:
        raise Refused(400, "BadRequest", "Name parameter required.")
    if bad := path_segment_problems(name):
        raise Refused(400, "BadRequest", f"Name parameter invalid: {go_quote(name)}: {';'.join(bad)}")
    resource = resources.lookup(RBAC_GROUP, "v1", plural)
    assert resource is not None
    try:
        return _rules(writer.store.get(resource, scope, name))
    except NotFound:
        raise Refused(404, "NotFound", f"{plural}.{RBAC_GROUP} {go_quote(name)} not found",
                      {"name": name, "group": RBAC_GROUP, "kind": plural}) from None


def _resolution_errors(writer: Writer, namespace: str) -> list[str]:
    """Why some bindings of the writer gave no rules in RulesFor: their role does not exist."""
    policies = writer.authorizer.policies()
    identity = Identity(user=writer.user.name, groups=writer.user.groups)
    errors: list[str] = []
    for binding in policies.bindings_naming(identity.user, identity.groups):
        if binding.kind == "RoleBinding" and binding.namespace != namespace:
            continue
        if not any(applies_to(subject, identity, binding.namespace) for subject in binding.subjects):
            continue
        if policies.role_for(binding) is not None:
            continue
        if binding.kind == "ClusterRoleBinding" and binding.role_ref.kind == "Role":
            errors.append("Namespace parameter required.")
        else:
            errors.append(f"{PLURALS[binding.role_ref.kind]}.{RBAC_GROUP} {go_quote(binding.role_ref.name)} not found")
    return errors


def _confirm_no_escalation(writer: Writer, namespace: str, rules: list[Rule], plural: str, name: str) -> None:
    """ConfirmNoEscalation: the writer's rules in ``namespace`` ("" for the cluster's) must cover ``rules``."""
    held, _ = writer.authorizer.rules_for(writer.user, namespace)
    if missing := uncovered(held, rules):
        why = not_held_message(writer.user.name, writer.user.groups, missing, _resolution_errors(writer, namespace))
        raise _forbidden(plural, name, why)


# -- validation ---------------------------------------------------------------------------------


def _required(field: str, detail: str = "") -> FieldError:
    return FieldError("FieldValueRequired", field, f"Required value: {detail}" if detail else "Required value")


def _invalid(field: str, shown: str, detail: str) -> FieldError:
    return FieldError("FieldValueInvalid", field, f"Invalid value: {shown}: {detail}")


def _not_supported(field: str, value: str, supported: tuple[str, ...]) -> FieldError:
    return FieldError("FieldValueNotSupported", field,
                      f"Unsupported value: {go_quote(value)}: supported values: {', '.join(go_quote(v) for v in supported)}")


def _strings(value: Any) -> list[str]:
    return [str(item) for item in value] if isinstance(value, list) else []


def _go_string_slice(values: list[str]) -> str:
    """A ``[]string`` as Go's ``%#v`` prints it."""
    return "[]string{" + ", ".join(go_quote(value) for value in values) + "}"


def _name_problems(field: str, name: str) -> list[FieldError]:
    """ValidateRBACName: a name is a path segment (``system:aggregate-to-admin`` is one)."""
    return [_invalid(field, go_quote(name), problem) for problem in path_segment_problems(name)]


def _rule_problems(rule: dict[str, Any], namespaced: bool, path: str) -> list[FieldError]:
    """ValidatePolicyRule."""
    verbs, groups = _strings(rule.get("verbs")), _strings(rule.get("apiGroups"))
    resources, names, urls = _strings(rule.get("resources")), _strings(rule.get("resourceNames")), _strings(rule.get("nonResourceURLs"))
    errors = [_required(f"{path}.verbs", "verbs must contain at least one value")] if not verbs else []
    if urls:
        if namespaced:
            errors.append(_invalid(f"{path}.nonResourceURLs", _go_string_slice(urls), "namespaced rules cannot apply to non-resource URLs"))
        if groups or resources or names:
            errors.append(_invalid(f"{path}.nonResourceURLs", _go_string_slice(urls),
                                   "rules cannot apply to both regular resources and non-resource URLs"))
        return errors
    if not groups:
        errors.append(_required(f"{path}.apiGroups", "resource rules must supply at least one api group"))
    if not resources:
        errors.append(_required(f"{path}.resources", "resource rules must supply at least one resource"))
    return errors


def _role_problems(kind: str, obj: dict[str, Any]) -> list[FieldError]:
    """ValidateRole and ValidateClusterRole."""
    errors = _name_problems("metadata.name", str(obj["metadata"].get("name", "")))
    for index, rule in enumerate(obj.get("rules") or ()):
        errors += _rule_problems(rule if isinstance(rule, dict) else {}, kind == "Role", f"rules[{index}]")
    aggregation = obj.get("aggregationRule")
    if kind == "ClusterRole" and isinstance(aggregation, dict) and not aggregation.get("clusterRoleSelectors"):
        errors.append(_required("aggregationRule.clusterRoleSelectors", "at least one clusterRoleSelector required if aggregationRule is non-nil"))
    return errors


def _subject_problems(subject: dict[str, Any], namespaced: bool, path: str) -> list[FieldError]:
    """ValidateRoleBindingSubject."""
    name, kind, group = str(subject.get("name") or ""), str(subject.get("kind") or ""), str(subject.get("apiGroup") or "")
    errors = [_required(f"{path}.name")] if not name else []
    if kind == "ServiceAccount":
        if name and (problem := dns1123_subdomain(name)):
            errors.append(FieldError("FieldValueInvalid", f"{path}.name", problem))
        if group:
            errors.append(_not_supported(f"{path}.apiGroup", group, ("",)))
        if not namespaced and not subject.get("namespace"):
            errors.append(_required(f"{path}.namespace"))
    elif kind in ("User", "Group"):
        if group != RBAC_GROUP:
            errors.append(_not_supported(f"{path}.apiGroup", group, (RBAC_GROUP,)))
    else:
        errors.append(_not_supported(f"{path}.kind", kind, ("ServiceAccount", "User", "Group")))
    return errors


def _role_ref(obj: dict[str, Any]) -> tuple[str, str, str]:
    """(apiGroup, kind, name) of a binding's roleRef."""
    ref = obj.get("roleRef")
    if not isinstance(ref, dict):
        ref = {}
    return str(ref.get("apiGroup") or ""), str(ref.get("kind") or ""), str(ref.get("name") or "")


def _binding_problems(kind: str, obj: dict[str, Any]) -> list[FieldError]:
    """ValidateRoleBinding and ValidateClusterRoleBinding."""
    errors = _name_problems("metadata.name", str(obj["metadata"].get("name", "")))
    group, ref_kind, ref_name = _role_ref(obj)
    if group != RBAC_GROUP:
        errors.append(_not_supported("roleRef.apiGroup", group, (RBAC_GROUP,)))
    kinds = ("Role", "ClusterRole") if kind == "RoleBinding" else ("ClusterRole",)
    if ref_kind not in kinds:
        errors.append(_not_supported("roleRef.kind", ref_kind, kinds))
    errors += _name_problems("roleRef.name", ref_name) if ref_name else [_required("roleRef.name")]
    for index, subject in enumerate(obj.get("subjects") or ()):
        errors += _subject_problems(subject if isinstance(subject, dict) else {}, kind == "RoleBinding", f"subjects[{index}]")
    return errors


def problems(kind: str, obj: dict[str, Any], previous: dict[str, Any] | None = None) -> list[FieldError]:
    """The strategy's Validate, or on an update its ValidateUpdate, which validates the object
    twice (once itself, once through ValidateXUpdate: the causes say each error twice, the message
    once) and refuses a binding a new roleRef."""
    check = _role_problems if kind in ("Role", "ClusterRole") else _binding_problems
    errors = check(kind, obj)
    if previous is None:
        return errors
    errors += check(kind, obj)
    if kind.endswith("Binding") and _role_ref(obj) != _role_ref(previous):
        group, ref_kind, ref_name = _role_ref(obj)
        shown = f"rbac.RoleRef{{APIGroup:{go_quote(group)}, Kind:{go_quote(ref_kind)}, Name:{go_quote(ref_name)}}}"
        errors.append(_invalid("roleRef", shown, "cannot change roleRef"))
    return errors
