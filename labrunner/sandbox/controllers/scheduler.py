"""The scheduler: an unscheduled pod goes to the node running the fewest pods
(ties by name); it is then Pending with PodScheduled, and a Scheduled event."""

from __future__ import annotations

from typing import Any

from labrunner.sandbox.controllers.shared import NODES, PODS, Cluster
from labrunner.sandbox.store import now

SCHEDULED_AT = "labrunner.dev/scheduled-at"
"""When the pod was bound to its node (the kubelet's stages count from it)."""


def schedule(cluster: Cluster, pod: dict[str, Any]) -> bool:
    """Bind ``pod`` if it has no node yet; True when it did (the kubelet starts it on a later pass)."""
    spec, status = pod.setdefault("spec", {}), pod.setdefault("status", {})
    if spec.get("nodeName"):
        return False
    name, namespace = pod["metadata"]["name"], pod["metadata"]["namespace"]
    spec["nodeName"] = _least_loaded_node(cluster)
    status["conditions"] = [{"type": "PodScheduled", "status": "True", "lastTransitionTime": now()}]
    status["phase"] = "Pending"
    status["qosClass"] = "BestEffort"
    pod["metadata"].setdefault("annotations", {})[SCHEDULED_AT] = now()
    cluster.save(PODS, pod)
    cluster.event(pod, "Scheduled", f"Successfully assigned {namespace}/{name} to {spec['nodeName']}", component="default-scheduler")
    cluster.pending = True
    return True


def _least_loaded_node(cluster: Cluster) -> str:
    nodes = [node["metadata"]["name"] for node in cluster.store.list(NODES)]
    load = {node: 0 for node in nodes}
    for pod in cluster.store.list(PODS):
        node = (pod.get("spec") or {}).get("nodeName")
        if node in load:
            load[node] += 1
    return min(nodes, key=lambda node: (load[node], node))
