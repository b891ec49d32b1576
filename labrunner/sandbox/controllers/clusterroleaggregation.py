"""The ClusterRole aggregation controller (kube-controller-manager's ``clusterrole-aggregation``,
pkg/controller/clusterroleaggregation): a ClusterRole with an ``aggregationRule`` holds the rules
of every other ClusterRole its selectors match. That is how a ClusterRole labelled
``rbac.authorization.k8s.io/aggregate-to-view: "true"`` extends ``view``, and, since ``view`` is
itself labelled to aggregate into ``edit`` and ``edit`` into ``admin``, those two as well.

For each selector in turn, the matching ClusterRoles by name, each rule not already there is
appended; the aggregated role's own ``rules`` are replaced, and written only when they change.
"""

from __future__ import annotations

from typing import Any

from labrunner.sandbox import resources
from labrunner.sandbox.controllers.shared import Cluster
from labrunner.sandbox.resources import ResourceType
from labrunner.topics.rbac.parse import parse_selector

NAME = "clusterrole-aggregation-controller"
_FOUND = resources.lookup("rbac.authorization.k8s.io", "v1", "clusterroles")
assert _FOUND is not None
CLUSTER_ROLES: ResourceType = _FOUND


def reconcile(cluster: Cluster) -> None:
    # A role filled in this pass may itself be aggregated (view into edit, edit into admin): look
    # again until nothing changes; a chain has at most as many links as there are aggregated roles.
    limit: int | None = None
    while limit != 0:
        roles = cluster.store.list(CLUSTER_ROLES)
        aggregated = [role for role in roles if role.get("aggregationRule") is not None]
        limit = len(aggregated) if limit is None else limit - 1
        changed = False
        for role in aggregated:
            try:
                changed = _sync(cluster, role, roles) or changed
            except Exception as error:  # a selector it cannot read: that role is skipped, the others are filled
                cluster.skip(CLUSTER_ROLES, role, NAME, error)
        if not changed:
            return


def _sync(cluster: Cluster, role: dict[str, Any], roles: list[dict[str, Any]]) -> bool:
    name = role["metadata"]["name"]
    rules: list[dict[str, Any]] = []
    for index, raw in enumerate((role.get("aggregationRule") or {}).get("clusterRoleSelectors") or ()):
        selector = parse_selector(raw or {}, f"aggregationRule.clusterRoleSelectors[{index}]")
        for source in sorted(roles, key=lambda candidate: candidate["metadata"]["name"]):
            if source["metadata"]["name"] == name or not selector.matches(source["metadata"].get("labels") or {}):
                continue
            for rule in source.get("rules") or ():
                normal = _normal(rule)
                if normal not in rules:
                    rules.append(normal)
    if rules == [_normal(rule) for rule in role.get("rules") or ()]:
        return False
    role["rules"] = rules
    cluster.save(CLUSTER_ROLES, role)
    return True


def _normal(rule: dict[str, Any]) -> dict[str, Any]:
    """A PolicyRule as the API serializes it: ``verbs`` always, the other lists only when not empty;
    the controller compares rules so, as Go compares structs where nil and empty are equal."""
    normal: dict[str, Any] = {"verbs": rule.get("verbs")}
    for field in ("apiGroups", "resources", "resourceNames", "nonResourceURLs"):
        if rule.get(field):
            normal[field] = rule[field]
    return normal
