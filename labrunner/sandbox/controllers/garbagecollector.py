"""The garbage collector: ownerReferences decide what goes with its owner.

Background propagation: an object whose owners are all gone goes too. Foreground:
an owner marked with the ``foregroundDeletion`` finalizer stays until its
dependents are gone. Orphan (``kubectl delete --cascade=orphan``): the
dependents lose their reference to the owner and stay. Endpoints follow their
Service by name, as the endpoints controller removes them.
"""

from __future__ import annotations

from typing import Any

from labrunner.sandbox.controllers.shared import (
    DAEMONSETS, DEPLOYMENTS, ENDPOINT_SLICES, ENDPOINTS, PODS, REPLICASETS, SERVICES, Cluster,
)
from labrunner.sandbox.resources import ResourceType
from labrunner.sandbox.store import Store

OWNED_KINDS = (REPLICASETS, PODS, ENDPOINT_SLICES)
"""The kinds the sandbox's controllers create with an ownerReference."""


def reconcile(cluster: Cluster) -> None:
    """Background propagation: an object whose owners are all gone goes too."""
    alive: set[str] = set()
    foreground: list[tuple[ResourceType, dict[str, Any]]] = []
    for resource in (DEPLOYMENTS, REPLICASETS, DAEMONSETS, SERVICES):
        for obj in cluster.store.list(resource):
            if "foregroundDeletion" in (obj["metadata"].get("finalizers") or []):
                foreground.append((resource, obj))  # its dependents go first
            else:
                alive.add(obj["metadata"]["uid"])
    for resource in OWNED_KINDS:
        for obj in cluster.store.list(resource):
            owners = obj["metadata"].get("ownerReferences") or []
            if owners and not any(ref.get("uid") in alive for ref in owners):
                cluster.store.delete_raw(resource.group, resource.plural, obj["metadata"].get("namespace", ""), obj["metadata"]["name"])
    for resource, owner in foreground:
        uid = owner["metadata"]["uid"]
        dependents = [obj for kind in OWNED_KINDS for obj in cluster.store.list(kind, owner["metadata"].get("namespace"))
                      if any(ref.get("uid") == uid for ref in obj["metadata"].get("ownerReferences") or [])]
        if dependents:
            cluster.pending = True
        else:
            cluster.store.delete_raw(resource.group, resource.plural, owner["metadata"].get("namespace", ""), owner["metadata"]["name"])
    services = {(s["metadata"]["namespace"], s["metadata"]["name"]) for s in cluster.store.list(SERVICES)}
    for endpoints in cluster.store.list(ENDPOINTS):
        key = (endpoints["metadata"]["namespace"], endpoints["metadata"]["name"])
        if key not in services:
            cluster.store.delete_raw("", "endpoints", *key)


def orphan_dependents(store: Store, owner: dict[str, Any]) -> None:
    """Before ``owner`` is deleted with propagationPolicy Orphan: its dependents drop the reference to it."""
    uid = owner["metadata"]["uid"]
    namespace = owner["metadata"].get("namespace")
    for dependent_type in OWNED_KINDS:
        for dependent in store.list(dependent_type, namespace):
            references = dependent["metadata"].get("ownerReferences") or []
            kept = [ref for ref in references if ref.get("uid") != uid]
            if len(kept) != len(references):
                dependent["metadata"]["ownerReferences"] = kept
                if not kept:
                    del dependent["metadata"]["ownerReferences"]
                store.update(dependent_type, dependent)
