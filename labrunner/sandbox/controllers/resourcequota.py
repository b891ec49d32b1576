"""kube-controller-manager's resourcequota controller: every quota's status says its hard limits
and what the objects of its namespace use now (a zero for what nothing uses), so
``kubectl describe quota`` reads Used beside Hard and admission charges against it."""

from __future__ import annotations

from typing import Any

from labrunner.sandbox import quota, resources
from labrunner.sandbox.controllers.shared import Cluster

_found = resources.lookup("", "v1", "resourcequotas")
assert _found is not None
RESOURCE_QUOTAS = _found


def reconcile(cluster: Cluster) -> None:
    cluster.each(RESOURCE_QUOTAS, "resourcequota-controller", lambda found: _recount(cluster, found))


def _recount(cluster: Cluster, found: dict[str, Any]) -> None:
    status = quota.recount(cluster.store, found, quota.counted_kinds(found))
    if {key: (found.get("status") or {}).get(key) for key in ("hard", "used")} != status:
        found["status"] = {**(found.get("status") or {}), **status}
        cluster.save(RESOURCE_QUOTAS, found)
