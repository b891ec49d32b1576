"""The cluster's RBAC objects as the engine's model, read through the cluster port."""

from __future__ import annotations

from typing import Any

from labrunner.cluster import errors
from labrunner.cluster.port import ClusterPort
from labrunner.topics.rbac.model import DEFAULTS_LABEL, Policies
from labrunner.topics.rbac.parse import ObjectError, policies_from_objects

CLUSTER_KINDS = (("clusterroles", "ClusterRole"), ("clusterrolebindings", "ClusterRoleBinding"))
NAMESPACED_KINDS = (("roles", "Role"), ("rolebindings", "RoleBinding"))
WATCHED = ("roles", "rolebindings", "clusterroles", "clusterrolebindings", "serviceaccounts")


def _is_default(obj: dict[str, Any]) -> bool:
    key, value = DEFAULTS_LABEL
    return ((obj.get("metadata") or {}).get("labels") or {}).get(key) == value


def read_policies(cluster: ClusterPort, namespace: str | None, *, without_default_bindings: bool = False) -> tuple[Policies | None, str]:
    """ClusterRoles and ClusterRoleBindings, and the Roles and RoleBindings of ``namespace``;
    None and why when they cannot be read (a learner's limited credentials, a broken object).
    ``without_default_bindings`` leaves out the API server's own bindings (what every
    authenticated user may do), to judge what a learner granted."""
    objects: list[dict[str, Any]] = []
    kinds = CLUSTER_KINDS + (NAMESPACED_KINDS if namespace else ())
    try:
        for plural, kind in kinds:
            for obj in cluster.list(plural, namespace if (plural, kind) in NAMESPACED_KINDS else None):
                if without_default_bindings and kind.endswith("Binding") and _is_default(obj):
                    continue
                objects.append({**obj, "kind": kind})
    except errors.Forbidden as refused:
        return None, f"labrunner's credentials may not read the RBAC objects to say why ({refused})"
    try:
        return policies_from_objects(objects), ""
    except ObjectError as error:
        return None, f"an RBAC object cannot be read: {error}"
