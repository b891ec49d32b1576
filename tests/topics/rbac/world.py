"""A small RBAC world, mostly the examples of the Kubernetes RBAC documentation
(reference/access-authn-authz/rbac), as API JSON."""

from __future__ import annotations

from typing import Any


def role(name: str, namespace: str, *rules: dict[str, Any]) -> dict[str, Any]:
    return {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
            "metadata": {"name": name, "namespace": namespace}, "rules": list(rules)}


def cluster_role(name: str, *rules: dict[str, Any], labels: dict[str, str] | None = None,
                 selectors: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    obj: dict[str, Any] = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
                           "metadata": {"name": name, "labels": labels or {}}, "rules": list(rules)}
    if selectors is not None:
        obj["aggregationRule"] = {"clusterRoleSelectors": selectors}
    return obj


def binding(name: str, namespace: str, ref_kind: str, ref_name: str, *subjects: dict[str, str]) -> dict[str, Any]:
    metadata = {"name": name, "namespace": namespace} if namespace else {"name": name}
    return {"apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "RoleBinding" if namespace else "ClusterRoleBinding", "metadata": metadata,
            "subjects": list(subjects),
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": ref_kind, "name": ref_name}}


def user(name: str) -> dict[str, str]:
    return {"kind": "User", "name": name, "apiGroup": "rbac.authorization.k8s.io"}


def group(name: str) -> dict[str, str]:
    return {"kind": "Group", "name": name, "apiGroup": "rbac.authorization.k8s.io"}


def service_account(name: str, namespace: str = "") -> dict[str, str]:
    subject = {"kind": "ServiceAccount", "name": name}
    if namespace:
        subject["namespace"] = namespace
    return subject


def rule(verbs: list[str], resources: list[str] | None = None, groups: list[str] | None = None,
         names: list[str] | None = None, urls: list[str] | None = None) -> dict[str, Any]:
    raw: dict[str, Any] = {"verbs": verbs}
    if urls is not None:
        raw["nonResourceURLs"] = urls
    if resources is not None:
        raw["apiGroups"] = [""] if groups is None else groups
        raw["resources"] = resources
    if names is not None:
        raw["resourceNames"] = names
    return raw


AGGREGATE = "rbac.example.com/aggregate-to-monitoring"

WORLD: list[dict[str, Any]] = [
    role("pod-reader", "dev", rule(["get", "watch", "list"], ["pods"])),
    binding("read-pods", "dev", "Role", "pod-reader", user("jane")),
    cluster_role("secret-reader", rule(["get", "watch", "list"], ["secrets"])),
    binding("read-secrets", "development", "ClusterRole", "secret-reader", user("dave")),
    binding("read-secrets-global", "", "ClusterRole", "secret-reader", group("manager")),
    cluster_role("node-reader", rule(["get", "list", "watch"], ["nodes"])),
    binding("nodes-in-dev", "dev", "ClusterRole", "node-reader", user("jane")),
    binding("node-readers", "", "ClusterRole", "node-reader", group("ops")),
    role("pod-and-pod-logs-reader", "dev", rule(["get", "list"], ["pods", "pods/log"])),
    binding("logs", "dev", "Role", "pod-and-pod-logs-reader", user("logan")),
    # The documentation's configmap-updater allows update and get; list, watch and create
    # are added here to test its note on resourceNames.
    role("configmap-updater", "dev",
         rule(["update", "get", "list", "watch", "create"], ["configmaps"], names=["my-configmap"])),
    binding("cm", "dev", "Role", "configmap-updater", user("cmu")),
    cluster_role("scaler", rule(["get", "update"], ["*/scale"], groups=["*"])),
    binding("scalers", "", "ClusterRole", "scaler", user("scaler"), service_account("builder", "dev")),
    cluster_role("healthz", rule(["get", "post"], urls=["/healthz", "/healthz/*"])),
    binding("probers", "", "ClusterRole", "healthz", group("probers")),
    cluster_role("apps-admin", rule(["*"], ["*"], groups=["apps"])),
    binding("apps-admins", "dev", "ClusterRole", "apps-admin", group("dev-team")),
    binding("builder-reads-pods", "dev", "Role", "pod-reader", service_account("builder")),
    cluster_role("pod-viewer", rule(["get", "list"], ["pods"])),
    binding("qa-sees-pods", "", "ClusterRole", "pod-viewer", group("system:serviceaccounts:qa")),
    cluster_role("monitoring", selectors=[{"matchLabels": {AGGREGATE: "true"}}]),
    cluster_role("monitoring-endpoints", rule(["get", "list", "watch"], ["services", "endpointslices", "pods"]),
                 labels={AGGREGATE: "true"}),
    binding("monitors", "", "ClusterRole", "monitoring", user("mona")),
    cluster_role("admin-of-all", rule(["*"], ["*"], groups=["*"]), rule(["*"], urls=["*"])),
    binding("admins", "", "ClusterRole", "admin-of-all", group("admins")),
]
