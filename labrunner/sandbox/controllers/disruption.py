"""The disruption controller: each PodDisruptionBudget's status, as kube-controller-manager's
``pkg/controller/disruption`` keeps it (expectedPods, desiredHealthy, currentHealthy,
disruptionsAllowed, the DisruptionAllowed condition, disruptedPods the Eviction API reported and
the controller has not yet seen deleted), so that ``kubectl get pdb`` and evictions read it.

An integer minAvailable counts the selected pods; a percentage, or maxUnavailable, counts the
replicas of the pods' controllers (Deployment, ReplicaSet, StatefulSet, ReplicationController),
rounded up as ``GetScaledValueFromIntOrPercent`` rounds."""

from __future__ import annotations

import math
import time
from typing import Any

from labrunner.sandbox import resources
from labrunner.sandbox.controllers.shared import DEPLOYMENTS, PODS, REPLICASETS, Cluster, is_ready, terminating
from labrunner.sandbox.scheduling.matching import label_selector
from labrunner.sandbox.store import NotFound, seconds

PDBS = resources.lookup("policy", "v1", "poddisruptionbudgets")
DELETION_TIMEOUT = 120.0
"""DeletionTimeout: a pod the Eviction API reported as disrupted that still exists after two minutes counts again."""
SCALED = {"ReplicaSet": ("apps", "replicasets"), "StatefulSet": ("apps", "statefulsets"),
          "ReplicationController": ("", "replicationcontrollers"), "Deployment": ("apps", "deployments")}


def reconcile(cluster: Cluster) -> None:
    assert PDBS is not None
    cluster.each(PDBS, "disruption-controller", lambda pdb: _budget(cluster, pdb))


def _scaled(value: Any, total: int) -> int:
    """``intstr.GetScaledValueFromIntOrPercent`` with rounding up."""
    if isinstance(value, str) and value.endswith("%"):
        return math.ceil(int(value[:-1]) * total / 100)
    return int(value)


def _controller_scale(cluster: Cluster, pod: dict[str, Any], seen: dict[str, int]) -> int | None:
    """The replicas of the controller at the top of the pod's owners (a ReplicaSet's Deployment);
    each controller counted once; None for a pod no scalable controller owns."""
    namespace = pod["metadata"]["namespace"]
    owner = next((ref for ref in pod["metadata"].get("ownerReferences") or [] if ref.get("controller")), None)
    if owner is None or owner.get("kind") not in SCALED:
        return None
    group, plural = SCALED[str(owner["kind"])]
    kind = resources.lookup(group, "v1", plural)
    assert kind is not None
    try:
        obj = cluster.store.get(kind, namespace, str(owner.get("name")))
    except NotFound:
        return None
    if kind == REPLICASETS:
        parent = next((ref for ref in obj["metadata"].get("ownerReferences") or [] if ref.get("controller") and ref.get("kind") == "Deployment"), None)
        if parent is not None:
            try:
                obj = cluster.store.get(DEPLOYMENTS, namespace, str(parent.get("name")))
            except NotFound:
                pass
    uid = str(obj["metadata"].get("uid"))
    if uid in seen:
        return 0
    seen[uid] = int((obj.get("spec") or {}).get("replicas", 1))
    return seen[uid]


def _budget(cluster: Cluster, pdb: dict[str, Any]) -> None:
    assert PDBS is not None
    spec, metadata = pdb.get("spec") or {}, pdb["metadata"]
    selector = spec.get("selector")
    matches = label_selector(selector) if selector is not None else (lambda labels: False)
    pods = [p for p in cluster.store.list(PODS, metadata["namespace"]) if matches(p["metadata"].get("labels") or {})]
    status = dict(pdb.get("status") or {})
    disrupted = dict(status.get("disruptedPods") or {})
    names = {p["metadata"]["name"]: p for p in pods}
    for name, stamp in list(disrupted.items()):
        pod = names.get(name)
        if pod is None or terminating(pod) or seconds(str(stamp)) + DELETION_TIMEOUT < time.time():
            del disrupted[name]
    if spec.get("maxUnavailable") is not None or isinstance(spec.get("minAvailable"), str):
        seen: dict[str, int] = {}
        expected = sum(_controller_scale(cluster, pod, seen) or 0 for pod in pods)
        if spec.get("maxUnavailable") is not None:
            desired = max(0, expected - _scaled(spec["maxUnavailable"], expected))
        else:
            desired = _scaled(spec["minAvailable"], expected)
    else:
        expected = len(pods)
        desired = int(spec.get("minAvailable") or 0)
    healthy = sum(1 for p in pods if is_ready(p) and not terminating(p) and p["metadata"]["name"] not in disrupted)
    allowed = max(0, healthy - desired)
    previous: dict[str, Any] = next((c for c in status.get("conditions") or [] if c.get("type") == "DisruptionAllowed"), {})
    condition = {"type": "DisruptionAllowed", "status": "True" if allowed > 0 else "False",
                 "reason": "SufficientPods" if allowed > 0 else "InsufficientPods", "message": "",
                 "observedGeneration": metadata.get("generation", 1)}
    condition["lastTransitionTime"] = previous.get("lastTransitionTime") if previous.get("status") == condition["status"] else _now()
    fresh = {"observedGeneration": metadata.get("generation", 1), "disruptionsAllowed": allowed, "currentHealthy": healthy,
             "desiredHealthy": desired, "expectedPods": expected, "conditions": [condition]}
    if disrupted:
        fresh["disruptedPods"] = disrupted
    if fresh != status:
        pdb["status"] = fresh
        cluster.save(PDBS, pdb)
    if disrupted:
        cluster.pending = True  # a disrupted pod's deadline passes by itself


def _now() -> str:
    from labrunner.sandbox.store import now

    return now()
