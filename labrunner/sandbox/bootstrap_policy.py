"""The RBAC objects a new cluster has: kube-apiserver's default policy, put back at every start,
and what ``kubeadm init`` adds once.

kube-apiserver's ``rbac/bootstrap-roles`` post-start hook (pkg/registry/rbac/rest/storage_rbac.go)
runs at every start: it creates each default object that is missing and reconciles each one that
exists (pkg/registry/rbac/reconciliation): rules, subjects, aggregation selectors, labels and
annotations the default has and the object lacks are added back, and nothing is taken away, so a
learner's additions survive a restart. An object annotated
``rbac.authorization.kubernetes.io/autoupdate: "false"`` is left as it is. kubeadm's objects
carry no such annotation and no hook puts them back: deleting one deletes it for good.

The objects are written in ``bootstrap_policy.yaml`` (its header says how).
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from labrunner.sandbox import resources
from labrunner.sandbox.resource_hooks import apply_defaults
from labrunner.sandbox.resources import ResourceType
from labrunner.sandbox.store import AlreadyExists, NotFound, Store

DATA = Path(__file__).with_name("bootstrap_policy.yaml")
GROUP = "rbac.authorization.k8s.io"
BOOTSTRAPPING = ("kubernetes.io/bootstrapping", "rbac-defaults")
AUTOUPDATE = "rbac.authorization.kubernetes.io/autoupdate"
CONTROLLER_PREFIX = "system:controller:"


def _rt(group: str, plural: str) -> ResourceType:
    found = resources.lookup(group, "v1", plural)
    assert found is not None
    return found


CLUSTER_ROLES, CLUSTER_ROLE_BINDINGS = _rt(GROUP, "clusterroles"), _rt(GROUP, "clusterrolebindings")
ROLES, ROLE_BINDINGS = _rt(GROUP, "roles"), _rt(GROUP, "rolebindings")
NAMESPACES = _rt("", "namespaces")

Default = tuple[ResourceType, dict[str, Any]]


@functools.cache
def _data() -> dict[str, Any]:
    import yaml

    loaded = yaml.load(DATA.read_text(), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    assert isinstance(loaded, dict)
    return loaded


def _rule(short: Mapping[str, Any], *, sort: bool) -> dict[str, Any]:
    """A PolicyRule from the short form; the API server's own roles have every list sorted, as
    its rule builder (``RuleOrDie``) leaves them, kubeadm's are as kubeadm wrote them."""
    order = sorted if sort else list
    rule: dict[str, Any] = {"verbs": order(short["verbs"])}
    for field, key in (("apiGroups", "groups"), ("resources", "resources"), ("resourceNames", "names"), ("nonResourceURLs", "urls")):
        if short.get(key):
            rule[field] = order(short[key])
    return rule


def _subject(text: str) -> dict[str, Any]:
    kind, name = text.split(" ", 1)
    if kind == "ServiceAccount":
        namespace, name = name.split("/", 1)
        return {"kind": kind, "name": name, "namespace": namespace}
    return {"apiGroup": GROUP, "kind": kind, "name": name}


def _metadata(name: str, namespace: str, labels: Mapping[str, str], defaults: bool) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": name}
    if namespace:
        metadata["namespace"] = namespace
    labels = {**labels, **dict([BOOTSTRAPPING])} if defaults else dict(labels)
    if labels:
        metadata["labels"] = labels
    if defaults:
        metadata["annotations"] = {AUTOUPDATE: "true"}
    return metadata


def _role(name: str, namespace: str, entry: Mapping[str, Any], defaults: bool) -> dict[str, Any]:
    role: dict[str, Any] = {"metadata": _metadata(name, namespace, entry.get("labels") or {}, defaults),
                            "rules": [_rule(rule, sort=defaults) for rule in entry.get("rules") or ()] or None}
    if entry.get("aggregate"):
        role["aggregationRule"] = {"clusterRoleSelectors": [{"matchLabels": {key: "true"}} for key in entry["aggregate"]]}
    return role


def _binding(kind: str, name: str, namespace: str, entry: Mapping[str, Any], defaults: bool) -> dict[str, Any]:
    binding: dict[str, Any] = {"metadata": _metadata(name, namespace, {}, defaults),
                               "roleRef": {"apiGroup": GROUP, "kind": "ClusterRole" if kind == "ClusterRoleBinding" else "Role",
                                           "name": entry["role"]}}
    if entry["subjects"]:
        binding["subjects"] = [_subject(subject) for subject in entry["subjects"]]
    return binding


def _objects(section: Mapping[str, Any], defaults: bool) -> Iterator[Default]:
    """In the hook's order: ClusterRoles, ClusterRoleBindings, then Roles and RoleBindings."""
    for name, entry in section.get("clusterroles", {}).items():
        yield CLUSTER_ROLES, _role(name, "", entry, defaults)
    for name, rules in section.get("controllers", {}).items():
        yield CLUSTER_ROLES, _role(CONTROLLER_PREFIX + name, "", {"rules": rules}, defaults)
    for name, entry in section.get("clusterrolebindings", {}).items():
        yield CLUSTER_ROLE_BINDINGS, _binding("ClusterRoleBinding", name, "", entry, defaults)
    for name in section.get("controllers", {}):
        entry = {"role": CONTROLLER_PREFIX + name, "subjects": [f"ServiceAccount kube-system/{name}"]}
        yield CLUSTER_ROLE_BINDINGS, _binding("ClusterRoleBinding", CONTROLLER_PREFIX + name, "", entry, defaults)
    for namespace, roles in section.get("roles", {}).items():
        for name, rules in roles.items():
            yield ROLES, _role(name, namespace, {"rules": rules}, defaults)
    for namespace, bindings in section.get("rolebindings", {}).items():
        for name, entry in bindings.items():
            yield ROLE_BINDINGS, _binding("RoleBinding", name, namespace, entry, defaults)


def apiserver_defaults() -> list[Default]:
    """kube-apiserver's default RBAC objects (the bootstrap policy), as it creates them."""
    return list(_objects(_data()["apiserver"], defaults=True))


def kubeadm_objects() -> list[Default]:
    """The RBAC objects ``kubeadm init`` creates."""
    return list(_objects(_data()["kubeadm"], defaults=False))


def ensure_bootstrap_policy(store: Store) -> None:
    """What kube-apiserver's RBAC post-start hook does at every start: each default object that
    is missing is created, each existing one not annotated autoupdate "false" gets back what the
    default has and it lacks."""
    for resource, expected in apiserver_defaults():
        metadata = expected["metadata"]
        namespace = metadata.get("namespace", "")
        try:
            existing = store.get(resource, namespace, metadata["name"])
        except NotFound:
            _create(store, resource, expected)
            continue
        if (existing["metadata"].get("annotations") or {}).get(AUTOUPDATE) == "false":
            continue
        if resource in (CLUSTER_ROLES, ROLES):
            changed = _reconcile_role(existing, expected)
        elif _role_ref(existing) != _role_ref(expected):  # a binding's roleRef cannot change: it is made anew
            store.delete(resource, namespace, metadata["name"])
            _create(store, resource, expected)
            continue
        else:
            changed = _reconcile_binding(existing, expected)
        if changed:
            store.update(resource, existing)


def install_kubeadm_policy(store: Store) -> None:
    """What ``kubeadm init`` adds to a new cluster's RBAC objects (it creates or updates each)."""
    for resource, obj in kubeadm_objects():
        _create(store, resource, obj)


def _create(store: Store, resource: ResourceType, obj: dict[str, Any]) -> None:
    namespace = obj["metadata"].get("namespace")
    if namespace:
        _ensure_namespace(store, namespace)
    try:
        store.create(resource, obj)
    except AlreadyExists:
        pass


def _ensure_namespace(store: Store, name: str) -> None:
    """The hook creates the namespace of a namespaced default when it is missing (``tryEnsureNamespace``)."""
    try:
        store.get(NAMESPACES, "", name)
    except NotFound:
        namespace: dict[str, Any] = {"metadata": {"name": name}}
        apply_defaults(NAMESPACES, namespace)
        try:
            store.create(NAMESPACES, namespace)
        except AlreadyExists:
            pass


def _merge_metadata(existing: dict[str, Any], expected: Mapping[str, Any]) -> bool:
    """Labels and annotations of the default that the object lacks are added; its own values stay."""
    changed = False
    metadata = existing["metadata"]
    for field in ("labels", "annotations"):
        wanted = expected["metadata"].get(field) or {}
        have = metadata.get(field) or {}
        merged = {**wanted, **have}
        if merged != have:
            metadata[field] = merged
            changed = True
    return changed


def _reconcile_role(existing: dict[str, Any], expected: Mapping[str, Any]) -> bool:
    """``computeReconciledRole`` without removing extra permissions: the pieces of the default's
    rules that no rule of the object covers are appended, one verb on one resource each, as
    ``validation.Covers`` breaks them down; missing aggregation selectors are appended too."""
    changed = _merge_metadata(existing, expected)
    rules = list(existing.get("rules") or [])
    missing = [piece for rule in expected.get("rules") or () for piece in _breakdown(rule)
               if not any(_covers(owner, piece) for owner in rules)]
    if missing:
        existing["rules"] = rules + missing
        changed = True
    wanted = (expected.get("aggregationRule") or {}).get("clusterRoleSelectors")
    if wanted is not None:
        aggregation = existing.get("aggregationRule") or {}
        have = aggregation.get("clusterRoleSelectors") or []
        absent = [selector for selector in wanted if selector not in have]
        if absent:
            existing["aggregationRule"] = {**aggregation, "clusterRoleSelectors": have + absent}
            changed = True
    elif existing.get("aggregationRule") is not None:  # the default is not aggregated: neither is the object
        del existing["aggregationRule"]
        changed = True
    return changed


def _reconcile_binding(existing: dict[str, Any], expected: Mapping[str, Any]) -> bool:
    """``computeReconciledRoleBinding`` without removing extra subjects: missing subjects are appended."""
    changed = _merge_metadata(existing, expected)
    subjects = list(existing.get("subjects") or [])
    have = {_subject_key(subject) for subject in subjects}
    missing = [subject for subject in expected.get("subjects") or () if _subject_key(subject) not in have]
    if missing:
        existing["subjects"] = subjects + missing
        changed = True
    return changed


def _role_ref(binding: Mapping[str, Any]) -> tuple[str, str, str]:
    ref = binding.get("roleRef") or {}
    return str(ref.get("apiGroup") or ""), str(ref.get("kind", "")), str(ref.get("name", ""))


def _subject_key(subject: Mapping[str, Any]) -> tuple[str, str, str, str]:
    return (str(subject.get("kind", "")), str(subject.get("apiGroup") or ""), str(subject.get("name", "")),
            str(subject.get("namespace") or ""))


def _breakdown(rule: Mapping[str, Any]) -> list[dict[str, Any]]:
    """``BreakdownRule``: one rule per (group, resource, verb[, name]) and per (URL, verb)."""
    pieces: list[dict[str, Any]] = []
    for group in rule.get("apiGroups") or ():
        for resource in rule.get("resources") or ():
            for verb in rule.get("verbs") or ():
                base = {"verbs": [verb], "apiGroups": [group], "resources": [resource]}
                names = rule.get("resourceNames") or ()
                pieces += [{**base, "resourceNames": [name]} for name in names] if names else [base]
    for url in rule.get("nonResourceURLs") or ():
        pieces += [{"verbs": [verb], "nonResourceURLs": [url]} for verb in rule.get("verbs") or ()]
    return pieces


def _covers(owner: Mapping[str, Any], piece: Mapping[str, Any]) -> bool:
    """``ruleCovers`` (pkg/registry/rbac/validation/policy_comparator.go)."""
    def has_all(have: Sequence[str], wanted: Sequence[str]) -> bool:
        return "*" in have or all(item in have for item in wanted)

    resources_covered = "*" in (owner.get("resources") or ()) or all(
        resource in (owner.get("resources") or ()) or ("/" in resource and f"*/{resource.split('/', 1)[1]}" in (owner.get("resources") or ()))
        for resource in piece.get("resources") or ())
    urls_covered = all(any(_url_covers(path, url) for path in owner.get("nonResourceURLs") or ()) for url in piece.get("nonResourceURLs") or ())
    names = piece.get("resourceNames") or ()
    owner_names = owner.get("resourceNames") or ()
    names_covered = not owner_names or (bool(names) and all(name in owner_names for name in names))
    return (has_all(owner.get("verbs") or (), piece.get("verbs") or ()) and has_all(owner.get("apiGroups") or (), piece.get("apiGroups") or ())
            and resources_covered and urls_covered and names_covered)


def _url_covers(owner: str, path: str) -> bool:
    return owner == path or (owner.endswith("*") and path.startswith(owner.rstrip("*")))
