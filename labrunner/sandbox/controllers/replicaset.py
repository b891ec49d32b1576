"""The ReplicaSet controller: pods ``<replicaset>-<5 random characters>`` with an
ownerReference, created up to spec.replicas and the newest deleted above it."""

from __future__ import annotations

from typing import Any

from labrunner.sandbox.controllers.shared import PODS, REPLICASETS, Cluster, is_ready, new_pod, owned_by, terminating
from labrunner.sandbox.names import random_suffix


def reconcile(cluster: Cluster) -> None:
    cluster.each(REPLICASETS, "replicaset-controller", lambda obj: _replica_set(cluster, obj))


def _replica_set(cluster: Cluster, replica_set: dict[str, Any]) -> None:
    if terminating(replica_set):
        return
    namespace, name = replica_set["metadata"]["namespace"], replica_set["metadata"]["name"]
    pods = [p for p in cluster.store.list(PODS, namespace) if owned_by(p, replica_set) and not terminating(p)]
    wanted = int((replica_set.get("spec") or {}).get("replicas", 1))
    for _ in range(wanted - len(pods)):
        new_pod(cluster, replica_set, f"{name}-{random_suffix()}")
    if len(pods) > wanted:
        for pod in sorted(pods, key=lambda p: p["metadata"]["creationTimestamp"], reverse=True)[: len(pods) - wanted]:
            cluster.store.delete_raw("", "pods", namespace, pod["metadata"]["name"])
            cluster.event(replica_set, "SuccessfulDelete", f"Deleted pod: {pod['metadata']['name']}", component="replicaset-controller")
    pods = [p for p in cluster.store.list(PODS, namespace) if owned_by(p, replica_set) and not terminating(p)]
    ready = sum(1 for p in pods if is_ready(p))
    status = {"replicas": len(pods), "fullyLabeledReplicas": len(pods), "readyReplicas": ready, "availableReplicas": ready,
              "observedGeneration": replica_set["metadata"].get("generation", 1)}
    status = {k: v for k, v in status.items() if v or k in ("replicas", "observedGeneration")}
    if status != (replica_set.get("status") or {}):
        replica_set["status"] = status
        cluster.save(REPLICASETS, replica_set)
