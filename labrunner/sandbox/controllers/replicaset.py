"""The ReplicaSet controller (pkg/controller/replicaset): pods ``<replicaset>-<5 random
characters>`` with an ownerReference, created up to spec.replicas; above it, the pods a
scale-down costs least go first, as getPodsToDelete ranks them (unscheduled, then pending, then
not ready, then ready for the shortest time, then most restarts, then newest). A pod counts as
available once Ready for spec.minReadySeconds (scaled by TIME_SCALE), which is what the
deployment controller's surge and unavailability arithmetic reads."""

from __future__ import annotations

import time
from typing import Any

from labrunner.sandbox.controllers.shared import PODS, REPLICASETS, Cluster, is_ready, new_pod, owned_by, terminating
from labrunner.sandbox.names import random_suffix
from labrunner.sandbox.store import now, seconds
from labrunner.sandbox.timescale import TIME_SCALE

PHASE_RANK = {"Pending": 0, "Unknown": 1, "Running": 2}


def reconcile(cluster: Cluster) -> None:
    cluster.each(REPLICASETS, "replicaset-controller", lambda obj: _replica_set(cluster, obj))


def _ready_since(pod: dict[str, Any]) -> float | None:
    """When the pod's Ready condition last turned True; None while it is not Ready."""
    for condition in (pod.get("status") or {}).get("conditions") or []:
        if condition.get("type") == "Ready" and condition.get("status") == "True":
            stamp = condition.get("lastTransitionTime")
            return seconds(stamp) if stamp else 0.0
    return None


def available(pod: dict[str, Any], min_ready_seconds: int, at: float) -> bool:
    """podutil.IsPodAvailable: Ready, and for minReadySeconds (scaled) already."""
    since = _ready_since(pod)
    if since is None:
        return False
    return min_ready_seconds == 0 or since + min_ready_seconds * TIME_SCALE < at


def _deletion_order(pod: dict[str, Any]) -> tuple[Any, ...]:
    """controller.ActivePods' order: the pod to delete first sorts first."""
    status = pod.get("status") or {}
    since = _ready_since(pod)
    restarts = sum(int(c.get("restartCount") or 0) for c in status.get("containerStatuses") or [])
    created = pod["metadata"].get("creationTimestamp")
    return (bool((pod.get("spec") or {}).get("nodeName")), PHASE_RANK.get(status.get("phase", "Pending"), 0), since is not None,
            -(since or 0.0), -restarts, -(seconds(created) if created else 0.0), pod["metadata"]["name"])


def _replica_set(cluster: Cluster, replica_set: dict[str, Any]) -> None:
    if terminating(replica_set):
        return
    namespace, name = replica_set["metadata"]["namespace"], replica_set["metadata"]["name"]
    pods = [p for p in cluster.store.list(PODS, namespace) if owned_by(p, replica_set) and not terminating(p)]
    spec = replica_set.get("spec") or {}
    wanted = int(spec.get("replicas", 1))
    for _ in range(wanted - len(pods)):
        new_pod(cluster, replica_set, f"{name}-{random_suffix()}")
    if len(pods) > wanted:
        for pod in sorted(pods, key=_deletion_order)[: len(pods) - wanted]:
            cluster.store.delete_raw("", "pods", namespace, pod["metadata"]["name"])
            cluster.event(replica_set, "SuccessfulDelete", f"Deleted pod: {pod['metadata']['name']}", component="replicaset-controller")
    pods = [p for p in cluster.store.list(PODS, namespace) if owned_by(p, replica_set) and not terminating(p)]
    min_ready = int(spec.get("minReadySeconds") or 0)
    at = time.time()
    ready = sum(1 for p in pods if is_ready(p))
    available_count = sum(1 for p in pods if available(p, min_ready, at))
    if available_count < ready:
        cluster.pending = True  # a Ready pod becomes available when minReadySeconds have passed
    status = {"replicas": len(pods), "fullyLabeledReplicas": len(pods), "readyReplicas": ready, "availableReplicas": available_count,
              "observedGeneration": replica_set["metadata"].get("generation", 1)}
    status = {k: v for k, v in status.items() if v or k in ("replicas", "observedGeneration")}
    if failure := _replica_failure(cluster, replica_set, short=len(pods) < wanted):
        status["conditions"] = [failure]
    if status != (replica_set.get("status") or {}):
        replica_set["status"] = status
        cluster.save(REPLICASETS, replica_set)


def _replica_failure(cluster: Cluster, replica_set: dict[str, Any], short: bool) -> dict[str, Any] | None:
    """calculateStatus' ReplicaFailure: while the set is short of pods because creating them was
    refused (a quota, a LimitRange), the API server's words; kept as it was set, gone once
    nothing fails."""
    uid = str(replica_set["metadata"].get("uid", ""))
    message = cluster.create_failures.get(uid) if short else None
    if message is None:
        cluster.create_failures.pop(uid, None)
        return None
    current = next((c for c in (replica_set.get("status") or {}).get("conditions") or () if c.get("type") == "ReplicaFailure"), None)
    if current is not None:
        return dict(current)
    return {"type": "ReplicaFailure", "status": "True", "lastTransitionTime": now(), "reason": "FailedCreate", "message": message}
