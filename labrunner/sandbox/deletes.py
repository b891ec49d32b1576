"""What a delete does to a stored object, as DeleteOptions say: a dry run changes nothing; a
namespace starts terminating; an object with finalizers is only marked (graceful deletion);
``Orphan`` releases its dependents; ``Foreground`` keeps the owner, marked, until the garbage
collector has removed its dependents; anything else goes at once (``Background``: the garbage
collector removes the dependents afterwards)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from labrunner.sandbox.controllers.garbagecollector import orphan_dependents
from labrunner.sandbox.namespaces import NamespaceLifecycle
from labrunner.sandbox.resource_hooks import for_resource
from labrunner.sandbox.resources import ResourceType
from labrunner.sandbox.store import Store, now


def delete_options(query: Mapping[str, str], body: Any) -> dict[str, Any]:
    """propagationPolicy and dryRun, from the query or the DeleteOptions body."""
    options = body if isinstance(body, dict) else {}
    policy = query.get("propagationPolicy") or options.get("propagationPolicy") or "Background"
    dry_run = query.get("dryRun") == "All" or "All" in (options.get("dryRun") or [])
    return {"propagationPolicy": policy, "dryRun": dry_run}


def delete_one(store: Store, namespaces: NamespaceLifecycle, resource: ResourceType, obj: dict[str, Any],
               options: dict[str, Any]) -> tuple[dict[str, Any], int]:
    """Delete one stored object as ``options`` say: (what is answered, the HTTP status)."""
    if options.get("dryRun"):
        return obj, 200
    behaviour = for_resource(resource)
    if behaviour.terminates:
        return namespaces.terminate(obj), 200
    if behaviour.finalizers and obj["metadata"].get("finalizers"):
        # Graceful deletion: the object stays, marked, until its finalizers are removed.
        if not obj["metadata"].get("deletionTimestamp"):
            obj["metadata"]["deletionTimestamp"] = now()
            obj["metadata"]["deletionGracePeriodSeconds"] = 0
            obj = store.update(resource, obj)
        return obj, 200
    policy = options.get("propagationPolicy")
    if policy == "Orphan":
        orphan_dependents(store, obj)
    elif policy == "Foreground" and behaviour.foreground_deletion:
        # The owner stays, marked, until the garbage collector has removed its dependents.
        if not obj["metadata"].get("deletionTimestamp"):
            obj["metadata"]["deletionTimestamp"] = now()
            obj["metadata"]["deletionGracePeriodSeconds"] = 0
            obj["metadata"].setdefault("finalizers", []).append("foregroundDeletion")
            obj = store.update(resource, obj)
        return obj, 202
    store.delete(resource, obj["metadata"].get("namespace") or "", obj["metadata"]["name"])
    if behaviour.after_delete is not None:
        behaviour.after_delete(store, obj)
    return obj, 200
