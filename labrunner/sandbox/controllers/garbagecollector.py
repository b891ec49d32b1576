"""The garbage collector: ownerReferences decide what goes with its owner.

Background propagation: an object whose owners are all gone goes too. Foreground:
an owner marked with the ``foregroundDeletion`` finalizer stays until its
dependents are gone. Orphan (``kubectl delete --cascade=orphan``): the
dependents lose their reference to the owner and stay. Endpoints follow their
Service by name, as the endpoints controller removes them.
"""

from __future__ import annotations

from collections.abc import Callable
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

    def owner(resource: ResourceType) -> Callable[[dict[str, Any]], None]:
        def look(obj: dict[str, Any]) -> None:
            uid = obj["metadata"]["uid"]
            alive.add(uid)  # first: an owner too odd to read further still keeps what it owns
            if "foregroundDeletion" in (obj["metadata"].get("finalizers") or []):
                alive.discard(uid)
                foreground.append((resource, obj))  # its dependents go first
        return look

    def dependent(resource: ResourceType) -> Callable[[dict[str, Any]], None]:
        def look(obj: dict[str, Any]) -> None:
            owners = obj["metadata"].get("ownerReferences") or []
            if owners and not any(ref.get("uid") in alive for ref in owners):
                cluster.store.delete_raw(resource.group, resource.plural, obj["metadata"].get("namespace", ""), obj["metadata"]["name"])
        return look

    for resource in (DEPLOYMENTS, REPLICASETS, DAEMONSETS, SERVICES):
        cluster.each(resource, "garbage-collector", owner(resource))
    for resource in OWNED_KINDS:
        cluster.each(resource, "garbage-collector", dependent(resource))
    for resource, owning in foreground:
        try:
            _finish_foreground(cluster, resource, owning)
        except Exception as error:
            cluster.skip(resource, owning, "garbage-collector", error)
    services: set[tuple[str, str]] = set()
    cluster.each(SERVICES, "garbage-collector", lambda s: services.add((s["metadata"]["namespace"], s["metadata"]["name"])))

    def orphaned_endpoints(endpoints: dict[str, Any]) -> None:
        key = (endpoints["metadata"]["namespace"], endpoints["metadata"]["name"])
        if key not in services:
            cluster.store.delete_raw("", "endpoints", *key)

    cluster.each(ENDPOINTS, "garbage-collector", orphaned_endpoints)


def _finish_foreground(cluster: Cluster, resource: ResourceType, owner: dict[str, Any]) -> None:
    uid = owner["metadata"]["uid"]
    dependents = [obj for kind in OWNED_KINDS for obj in cluster.store.list(kind, owner["metadata"].get("namespace"))
                  if any(ref.get("uid") == uid for ref in obj["metadata"].get("ownerReferences") or [])]
    if dependents:
        cluster.pending = True
    else:
        cluster.store.delete_raw(resource.group, resource.plural, owner["metadata"].get("namespace", ""), owner["metadata"]["name"])


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
