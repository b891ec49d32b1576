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
from labrunner.sandbox import resources
from labrunner.sandbox.resource_hooks import for_resource
from labrunner.sandbox.resources import ResourceType
from labrunner.sandbox.store import NotFound, Store, now

OWNED_KINDS = tuple(kind for kind in (REPLICASETS, PODS, ENDPOINT_SLICES, resources.lookup("apps", "v1", "controllerrevisions"),
                                       resources.lookup("batch", "v1", "jobs"), resources.lookup("", "v1", "persistentvolumeclaims"))
                    if kind is not None)
"""The kinds the sandbox's controllers create with an ownerReference."""
OWNER_KINDS = (DEPLOYMENTS, REPLICASETS, DAEMONSETS, SERVICES, *(kind for kind in (
    resources.lookup("apps", "v1", "statefulsets"), resources.lookup("", "v1", "replicationcontrollers"),
    resources.lookup("batch", "v1", "jobs"), resources.lookup("batch", "v1", "cronjobs")) if kind is not None))
"""Owners whose foreground deletion (the ``foregroundDeletion`` finalizer) waits here for their
dependents; whether an owner exists at all is looked up by reference, for any kind."""


def reconcile(cluster: Cluster) -> None:
    """Background propagation: an object whose owners are all gone goes too. An owner is looked
    up by its reference (kind, name, uid), as the real collector does, so any kind may own."""
    going: set[str] = set()
    foreground: list[tuple[ResourceType, dict[str, Any]]] = []
    known: dict[tuple[str, str, str, str], str | None] = {}

    def owner(resource: ResourceType) -> Callable[[dict[str, Any]], None]:
        def look(obj: dict[str, Any]) -> None:
            if "foregroundDeletion" in (obj["metadata"].get("finalizers") or []):
                going.add(obj["metadata"]["uid"])
                foreground.append((resource, obj))  # its dependents go first
        return look

    def present(ref: dict[str, Any], namespace: str) -> bool:
        kind = resources.by_kind(str(ref.get("apiVersion", "")), str(ref.get("kind", "")))
        if kind is None:
            return True  # a kind the sandbox does not serve: never collect on its account
        key = (kind.group, kind.plural, namespace if kind.namespaced else "", str(ref.get("name", "")))
        if key not in known:
            try:
                known[key] = cluster.store.get(kind, key[2], key[3])["metadata"].get("uid")
            except NotFound:
                known[key] = None
        return known[key] == ref.get("uid") and ref.get("uid") not in going

    def dependent(resource: ResourceType) -> Callable[[dict[str, Any]], None]:
        def look(obj: dict[str, Any]) -> None:
            owners = obj["metadata"].get("ownerReferences") or []
            namespace = obj["metadata"].get("namespace", "")
            if owners and not any(present(ref, namespace) for ref in owners):
                if for_resource(resource).finalizers and obj["metadata"].get("finalizers"):
                    if not obj["metadata"].get("deletionTimestamp"):  # deleted as the API deletes it: it waits for its finalizers
                        obj["metadata"]["deletionTimestamp"], obj["metadata"]["deletionGracePeriodSeconds"] = now(), 0
                        cluster.save(resource, obj)
                    return
                cluster.store.delete_raw(resource.group, resource.plural, namespace, obj["metadata"]["name"])
        return look

    for resource in OWNER_KINDS:
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
