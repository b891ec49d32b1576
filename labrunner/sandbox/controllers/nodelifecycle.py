"""Three of kube-controller-manager's node controllers.

- The node lifecycle controller's TaintNodesByCondition: a cordoned node (``spec.unschedulable``)
  carries the ``node.kubernetes.io/unschedulable:NoSchedule`` taint, removed when it is
  uncordoned (``kubectl describe node`` shows both).
- The taint eviction controller (``pkg/controller/tainteviction``): a pod on a node with a
  NoExecute taint it does not tolerate is deleted at once; one that tolerates every such taint,
  some for a limited ``tolerationSeconds``, is deleted when the shortest of them has passed
  since the controller saw the taint (scaled by the sandbox's time scale), unless the taint is
  removed first. Each deletion is a ``TaintManagerEviction`` event (``Marking for deletion Pod
  ns/name``) and the DisruptionTarget condition (DeletionByTaintManager) on the pod.
- The pod garbage collector's orphans (``pkg/controller/podgc``): a pod bound to a node that no
  longer exists (``kubectl delete node`` instead of a drain) is deleted once the node has been gone
  for the 40 s quarantine (scaled), with the DisruptionTarget condition (DeletionByPodGC), so its
  controller makes a new one elsewhere.
"""

from __future__ import annotations

import time
from typing import Any

from labrunner.sandbox.controllers.shared import NODES, PODS, Cluster, terminating
from labrunner.sandbox.scheduling.matching import tolerates
from labrunner.sandbox.store import NotFound, now
from labrunner.sandbox.timescale import TIME_SCALE

UNSCHEDULABLE = {"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule"}
COMPONENT = "taint-eviction-controller"
QUARANTINE = 40.0
"""podgc's quarantineTime: how long a node must be gone before its pods are."""


def reconcile(cluster: Cluster) -> None:
    no_execute: dict[str, list[dict[str, Any]]] = {}
    names: set[str] = set()
    for node in cluster.store.list(NODES):
        names.add(node["metadata"]["name"])
        _unschedulable_taint(cluster, node)
        taints = [t for t in (node.get("spec") or {}).get("taints") or [] if t.get("effect") == "NoExecute"]
        if taints:
            no_execute[node["metadata"]["name"]] = taints
    seen: dict[tuple[str, str, str], float] = cluster.probe_memory.setdefault("noexecute_seen", {})
    live: set[tuple[str, str, str]] = set()
    pods = cluster.store.list(PODS)
    _orphans(cluster, pods, names)
    for pod in pods:
        found = no_execute.get(str((pod.get("spec") or {}).get("nodeName") or ""))
        if not found or terminating(pod) or (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed"):
            continue
        uid = str(pod["metadata"].get("uid"))
        deadline = _deadline(cluster, pod, found, seen, live, uid)
        if deadline is not None and deadline <= time.time():
            _evict(cluster, pod)
        elif deadline is not None:
            cluster.pending = True
    for key in [key for key in seen if key not in live]:
        del seen[key]


def _deadline(cluster: Cluster, pod: dict[str, Any], taints: list[dict[str, Any]], seen: dict[tuple[str, str, str], float],
              live: set[tuple[str, str, str]], uid: str) -> float | None:
    """When the pod must go: now for an untolerated taint, the shortest tolerationSeconds after
    the taint was first seen, or None (tolerated for ever)."""
    tolerations = (pod.get("spec") or {}).get("tolerations") or []
    deadline: float | None = None
    for taint in taints:
        matching = [t for t in tolerations if tolerates(t, taint)]
        if not matching:
            return time.time()
        limits = [int(t["tolerationSeconds"]) for t in matching if isinstance(t.get("tolerationSeconds"), int)]
        if not limits or len(limits) < len(matching):
            continue  # one of the tolerations has no limit
        key = (uid, str(taint.get("key", "")), str(taint.get("value", "")))
        live.add(key)
        first = seen.setdefault(key, time.time())
        due = first + max(0, min(limits)) * TIME_SCALE
        deadline = due if deadline is None else min(deadline, due)
    return deadline


def _orphans(cluster: Cluster, pods: list[dict[str, Any]], nodes: set[str]) -> None:
    """podgc's gcOrphaned: the pods of a node gone for longer than the quarantine."""
    gone: dict[str, float] = cluster.probe_memory.setdefault("podgc_gone", {})
    missing = {str(p["spec"]["nodeName"]) for p in pods if (p.get("spec") or {}).get("nodeName") and p["spec"]["nodeName"] not in nodes}
    for name in [name for name in gone if name not in missing]:
        del gone[name]
    for pod in pods:
        node = str((pod.get("spec") or {}).get("nodeName") or "")
        if node not in missing:
            continue
        since = gone.setdefault(node, time.time())
        if time.time() - since < QUARANTINE * TIME_SCALE:
            cluster.pending = True
            continue
        conditions = [c for c in (pod.get("status") or {}).get("conditions") or [] if c.get("type") != "DisruptionTarget"]
        conditions.append({"type": "DisruptionTarget", "status": "True", "lastProbeTime": None, "lastTransitionTime": now(),
                           "reason": "DeletionByPodGC", "message": "PodGC: node no longer exists"})
        pod.setdefault("status", {})["conditions"] = conditions
        if (pod["status"].get("phase") or "Pending") not in ("Succeeded", "Failed"):
            pod["status"]["phase"] = "Failed"
        cluster.save(PODS, pod)
        try:
            cluster.store.delete(PODS, pod["metadata"]["namespace"], pod["metadata"]["name"])
        except NotFound:
            pass


def _evict(cluster: Cluster, pod: dict[str, Any]) -> None:
    namespace, name = pod["metadata"]["namespace"], pod["metadata"]["name"]
    cluster.event(pod, "TaintManagerEviction", f"Marking for deletion Pod {namespace}/{name}", component=COMPONENT)
    conditions = [c for c in (pod.get("status") or {}).get("conditions") or [] if c.get("type") != "DisruptionTarget"]
    conditions.append({"type": "DisruptionTarget", "status": "True", "lastProbeTime": None, "lastTransitionTime": now(),
                       "reason": "DeletionByTaintManager", "message": "Taint manager: deleting due to NoExecute taint"})
    pod.setdefault("status", {})["conditions"] = conditions
    cluster.save(PODS, pod)
    try:
        cluster.store.delete(PODS, namespace, name)
    except NotFound:
        pass


def _unschedulable_taint(cluster: Cluster, node: dict[str, Any]) -> None:
    spec = node.setdefault("spec", {})
    taints = list(spec.get("taints") or [])
    has = any(t.get("key") == UNSCHEDULABLE["key"] and t.get("effect") == "NoSchedule" for t in taints)
    if bool(spec.get("unschedulable")) == has:
        return
    if has:
        taints = [t for t in taints if not (t.get("key") == UNSCHEDULABLE["key"] and t.get("effect") == "NoSchedule")]
    else:
        taints.append(dict(UNSCHEDULABLE))
    if taints:
        spec["taints"] = taints
    else:
        spec.pop("taints", None)
    cluster.save(NODES, node)
