"""The kubelet's own admission of a pod given its node past the scheduler (``spec.nodeName`` set
when it was created, as in manual scheduling): ``pkg/kubelet/lifecycle/predicate.go`` runs the
scheduler's general filters (node name, node affinity and selector, host ports, resources against
the node's admitted pods) and the node's NoExecute taints; a pod that fails is rejected: Failed,
with the predicate's reason (``OutOfcpu``, ``OutOfmemory``, ``OutOfpods``, ``NodeAffinity``,
``NodePorts``, ``Taint``) and ``Pod was rejected: ...``, and a Warning event with the same words.

A pod the scheduler bound was checked by its filters against the same state, so only pods that
never went through it (no PodScheduled condition) are looked at, once, before their first status."""

from __future__ import annotations

from typing import Any

from labrunner.sandbox.controllers.shared import NODES, PODS, Cluster
from labrunner.sandbox.scheduling import Snapshot
from labrunner.sandbox.scheduling.filters import host_ports, required_node_affinity_matches
from labrunner.sandbox.scheduling.matching import untolerated_taint
from labrunner.sandbox.scheduling.requests import CPU, EPHEMERAL, MEMORY, PODS as PODS_RESOURCE, pod_requests
from labrunner.sandbox.store import NotFound, now


def needs_admission(pod: dict[str, Any]) -> bool:
    status = pod.get("status") or {}
    return not status.get("conditions") and not status.get("podIP") and status.get("phase", "Pending") == "Pending"


def rejection(cluster: Cluster, pod: dict[str, Any]) -> tuple[str, str] | None:
    """(reason, message) when the node rejects the pod, else None."""
    name = str(pod["spec"]["nodeName"])
    try:
        node = cluster.store.get(NODES, "", name)
    except NotFound:
        return None  # no kubelet runs there: the pod waits, as on a real cluster
    uid = pod["metadata"].get("uid")
    others = [p for p in cluster.store.list(PODS) if (p.get("spec") or {}).get("nodeName") == name and p["metadata"].get("uid") != uid]
    info = Snapshot.build([node], others).nodes[0]
    if not required_node_affinity_matches(pod.get("spec") or {}, node):
        return "NodeAffinity", "Predicate NodeAffinity failed: node(s) didn't match Pod's node affinity/selector"
    wanted = host_ports(pod)
    used = [port for other in info.pods for port in host_ports(other)]
    if any(w[1:] == u[1:] and (w[0] == u[0] or "0.0.0.0" in (w[0], u[0])) for w in wanted for u in used):
        return "NodePorts", "Predicate NodePorts failed: node(s) didn't have free ports for the requested pod ports"
    allocatable = info.allocatable()
    if len(info.pods) + 1 > allocatable.get(PODS_RESOURCE, 0):
        return "OutOfpods", (f"Node didn't have enough resource: pods, requested: 1, used: {len(info.pods)}, "
                             f"capacity: {allocatable.get(PODS_RESOURCE, 0)}")
    asked = pod_requests(pod)
    for resource in (CPU, MEMORY, EPHEMERAL, *sorted(set(asked) - {CPU, MEMORY, EPHEMERAL, PODS_RESOURCE})):
        value, held = asked.get(resource, 0), info.requested.get(resource, 0)
        if value > 0 and value > allocatable.get(resource, 0) - held:
            return f"OutOf{resource}", (f"Node didn't have enough resource: {resource}, requested: {value}, used: {held}, "
                                        f"capacity: {allocatable.get(resource, 0)}")
    if untolerated_taint((node.get("spec") or {}).get("taints") or [], (pod.get("spec") or {}).get("tolerations") or [], ("NoExecute",)):
        return "Taint", "Predicate Taint failed"
    return None


def admit(cluster: Cluster, pod: dict[str, Any]) -> bool:
    """True when the kubelet may run the pod; a rejected pod is written Failed, with its event, and
    stays so (no container of it ever runs)."""
    status = pod.get("status") or {}
    if status.get("phase") == "Failed" and str(status.get("message", "")).startswith("Pod was rejected: "):
        return False
    if not needs_admission(pod):
        return True
    found = rejection(cluster, pod)
    if found is None:
        return True
    reason, message = found
    from labrunner.sandbox.scheduling import qos_class

    cluster.event(pod, reason, message, "Warning")
    pod["status"] = {"phase": "Failed", "reason": reason, "message": f"Pod was rejected: {message}", "startTime": now(),
                     "qosClass": (pod.get("status") or {}).get("qosClass") or qos_class(pod)}
    cluster.save(PODS, pod)
    return False
