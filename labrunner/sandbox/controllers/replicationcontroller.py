"""The replication controller, as kube-controller-manager runs it (pkg/controller/replication
wraps the ReplicaSet controller): an RC keeps ``spec.replicas`` active pods matching its
equality-based map selector, named ``<rc>-<5 random characters>`` with an ownerReference.

It adopts orphans that match (a pod with no controller), releases pods that stopped matching,
deletes the pods least worth keeping first when there are too many (unscheduled before
scheduled, Pending before Running, not ready before ready, newest first) and writes status:
replicas, fullyLabeledReplicas (pods carrying all of the template's labels), readyReplicas,
availableReplicas (ready for minReadySeconds) and observedGeneration. Events are the
controller's: ``SuccessfulCreate`` "Created pod: web-x2k9q", ``SuccessfulDelete``
"Deleted pod: ...", from component ``replication-controller``.
"""

from __future__ import annotations

import copy
import time
from typing import Any

from labrunner.sandbox import resources
from labrunner.sandbox.controllers.shared import PODS, Cluster, create_pod, is_ready, owner_reference, terminating
from labrunner.sandbox.defaults import workload_defaults
from labrunner.sandbox.names import random_suffix
from labrunner.sandbox.store import seconds

_found = resources.lookup("", "v1", "replicationcontrollers")
assert _found is not None
REPLICATION_CONTROLLERS = _found
COMPONENT = "replication-controller"
FINISHED = ("Succeeded", "Failed")


def reconcile(cluster: Cluster) -> None:
    cluster.each(REPLICATION_CONTROLLERS, COMPONENT, lambda obj: _replication_controller(cluster, obj))


def matches(selector: dict[str, Any], labels: dict[str, Any]) -> bool:
    """An RC's selector is a plain map: every key equal (an empty selector matches nothing, as
    the API server never lets one be stored)."""
    return bool(selector) and all(labels.get(key) == value for key, value in selector.items())


def controller_uid(obj: dict[str, Any]) -> str | None:
    """The uid of ``obj``'s controller (the ownerReference with ``controller: true``), if any."""
    return next((ref.get("uid") for ref in obj["metadata"].get("ownerReferences") or [] if ref.get("controller")), None)


def active(pod: dict[str, Any]) -> bool:
    """controller.FilterActivePods: not being deleted, not finished."""
    return not terminating(pod) and (pod.get("status") or {}).get("phase") not in FINISHED


def deletion_rank(pod: dict[str, Any]) -> tuple[int, int, int, float]:
    """controller.ActivePods' order, the pods to delete first sorting first: unscheduled, then
    Pending before Unknown before Running, not ready before ready, then the newest."""
    phase = (pod.get("status") or {}).get("phase", "Pending")
    return (0 if pod["spec"].get("nodeName") else -1, {"Pending": 0, "Unknown": 1, "Running": 2}.get(phase, 0),
            1 if is_ready(pod) else 0, -seconds(pod["metadata"].get("creationTimestamp") or "1970-01-01T00:00:00Z"))


def to_delete(pods: list[dict[str, Any]], wanted: int) -> list[dict[str, Any]]:
    """The pods above ``wanted`` the controller removes."""
    return sorted(pods, key=deletion_rank)[: max(0, len(pods) - wanted)]


def available(pod: dict[str, Any], min_ready_seconds: int, at: float | None = None) -> bool:
    """podutil.IsPodAvailable: ready, and for at least minReadySeconds."""
    if not is_ready(pod):
        return False
    if min_ready_seconds <= 0:
        return True
    condition = next(c for c in pod["status"]["conditions"] if c.get("type") == "Ready")
    since = condition.get("lastTransitionTime")
    return bool(since) and (at or time.time()) - seconds(since) >= min_ready_seconds


def _replication_controller(cluster: Cluster, rc: dict[str, Any]) -> None:
    if terminating(rc):
        return
    namespace, name, uid = rc["metadata"]["namespace"], rc["metadata"]["name"], rc["metadata"]["uid"]
    spec = rc.get("spec") or {}
    selector = spec.get("selector") or {}
    pods: list[dict[str, Any]] = []
    for pod in cluster.store.list(PODS, namespace):
        owner = controller_uid(pod)
        labels = pod["metadata"].get("labels") or {}
        if owner == uid and not matches(selector, labels):  # released: it no longer matches
            kept = [r for r in pod["metadata"]["ownerReferences"] if r.get("uid") != uid]
            if kept:
                pod["metadata"]["ownerReferences"] = kept
            else:
                del pod["metadata"]["ownerReferences"]
            cluster.save(PODS, pod)
        elif owner is None and matches(selector, labels) and not terminating(pod):  # adopted
            pod["metadata"]["ownerReferences"] = [*(pod["metadata"].get("ownerReferences") or []), owner_reference(rc)]
            cluster.save(PODS, pod)
            pods.append(pod)
        elif owner == uid:
            pods.append(pod)
    pods = [p for p in pods if active(p)]
    wanted = int(spec.get("replicas", 1))
    for _ in range(wanted - len(pods)):
        created = _new_pod(cluster, rc, f"{name}-{random_suffix()}")
        if created is not None:
            pods.append(created)
    if len(pods) > wanted:
        for pod in to_delete(pods, wanted):
            cluster.store.delete_raw("", "pods", namespace, pod["metadata"]["name"])
            cluster.event(rc, "SuccessfulDelete", f"Deleted pod: {pod['metadata']['name']}", component=COMPONENT)
            pods.remove(pod)
    template_labels = ((spec.get("template") or {}).get("metadata") or {}).get("labels") or {}
    min_ready = int(spec.get("minReadySeconds") or 0)
    ready = sum(1 for p in pods if is_ready(p))
    status = {
        "replicas": len(pods),
        "fullyLabeledReplicas": sum(1 for p in pods if matches(template_labels, p["metadata"].get("labels") or {})),
        "readyReplicas": ready,
        "availableReplicas": sum(1 for p in pods if available(p, min_ready)),
        "observedGeneration": rc["metadata"].get("generation", 1),
    }
    status = {k: v for k, v in status.items() if v or k == "replicas"}  # omitempty, as the API's JSON
    if ready > status.get("availableReplicas", 0):
        cluster.pending = True  # minReadySeconds is still running for some
    if status != (rc.get("status") or {}):
        rc["status"] = status
        cluster.save(REPLICATION_CONTROLLERS, rc)


def _new_pod(cluster: Cluster, rc: dict[str, Any], name: str) -> dict[str, Any] | None:
    template = copy.deepcopy((rc.get("spec") or {}).get("template") or {})
    metadata = template.get("metadata") or {}
    pod: dict[str, Any] = {
        "metadata": {"name": name, "namespace": rc["metadata"]["namespace"], "labels": metadata.get("labels") or {},
                     "ownerReferences": [owner_reference(rc)]},
        "spec": template.get("spec") or {},
    }
    if metadata.get("annotations"):
        pod["metadata"]["annotations"] = metadata["annotations"]
    workload_defaults("pods", pod)
    created = create_pod(cluster, rc, pod, COMPONENT)  # None: refused, or the random suffix met an existing name
    if created is not None:
        cluster.event(rc, "SuccessfulCreate", f"Created pod: {name}", component=COMPONENT)
    return created
