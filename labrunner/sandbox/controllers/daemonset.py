"""The DaemonSet controller: one pod per node the pod should run on, labelled with the template's
``controller-revision-hash`` and pinned to its node by a required node affinity (``matchFields``
metadata.name) for the scheduler to bind, as the controller has done since 1.12; a pod of an
older template is replaced.

Which nodes is ``nodeShouldRunDaemonPod``'s answer: the template's node affinity and nodeSelector,
and the node's NoSchedule and NoExecute taints against the template's tolerations plus those the
controller adds to every daemon pod (not-ready, unreachable, pressure, unschedulable), so a
DaemonSet runs on a cordoned node but not on a tainted control plane it does not tolerate. A pod
on a node it no longer tolerates (NoExecute) or no longer selects is deleted; one on a node
tainted NoSchedule since keeps running."""

from __future__ import annotations

import copy
from typing import Any

from labrunner.sandbox.controllers.shared import DAEMONSETS, NODES, PODS, Cluster, is_ready, new_pod, owned_by, terminating
from labrunner.sandbox.defaults import template_hash
from labrunner.sandbox.names import random_suffix
from labrunner.sandbox.scheduling.filters import required_node_affinity_matches
from labrunner.sandbox.scheduling.matching import untolerated_taint

DAEMON_TOLERATIONS = (
    ("node.kubernetes.io/not-ready", "NoExecute"), ("node.kubernetes.io/unreachable", "NoExecute"),
    ("node.kubernetes.io/disk-pressure", "NoSchedule"), ("node.kubernetes.io/memory-pressure", "NoSchedule"),
    ("node.kubernetes.io/pid-pressure", "NoSchedule"), ("node.kubernetes.io/unschedulable", "NoSchedule"),
)
"""util.AddOrUpdateDaemonPodTolerations (network-unavailable too for a pod on the host network)."""


def daemon_tolerations(spec: dict[str, Any]) -> list[dict[str, Any]]:
    """The template's tolerations with the daemon pod's own added (each once)."""
    tolerations = list(spec.get("tolerations") or [])
    added = [*DAEMON_TOLERATIONS, *((("node.kubernetes.io/network-unavailable", "NoSchedule"),) if spec.get("hostNetwork") else ())]
    for key, effect in added:
        toleration = {"key": key, "operator": "Exists", "effect": effect}
        if toleration not in tolerations:
            tolerations.append(toleration)
    return tolerations


def target_node(pod: dict[str, Any]) -> str | None:
    """``util.GetTargetNodeName``: the node a daemon pod is bound to, or the one its node affinity names."""
    spec = pod.get("spec") or {}
    if spec.get("nodeName"):
        return str(spec["nodeName"])
    required = (((spec.get("affinity") or {}).get("nodeAffinity") or {}).get("requiredDuringSchedulingIgnoredDuringExecution") or {})
    for term in required.get("nodeSelectorTerms") or []:
        for requirement in term.get("matchFields") or []:
            if requirement.get("key") == "metadata.name" and requirement.get("operator") == "In" and len(requirement.get("values") or []) == 1:
                return str(requirement["values"][0])
    return None


def pinned_to(spec: dict[str, Any], node: str) -> dict[str, Any]:
    """``ReplaceDaemonSetPodNodeNameNodeAffinity``: the pod's required node affinity replaced by
    one term naming ``node`` (its preferred terms and pod affinity kept), so the scheduler binds it there."""
    affinity = copy.deepcopy(spec.get("affinity") or {})
    node_affinity = affinity.setdefault("nodeAffinity", {})
    node_affinity["requiredDuringSchedulingIgnoredDuringExecution"] = {
        "nodeSelectorTerms": [{"matchFields": [{"key": "metadata.name", "operator": "In", "values": [node]}]}]}
    return affinity


def should_run(spec: dict[str, Any], node: dict[str, Any]) -> tuple[bool, bool]:
    """``nodeShouldRunDaemonPod``: (should run, should keep running) for a daemon pod of ``spec``."""
    if not required_node_affinity_matches(spec, node):
        return False, False
    taints = (node.get("spec") or {}).get("taints") or []
    tolerations = daemon_tolerations(spec)
    if untolerated_taint(taints, tolerations, ("NoExecute",)) is not None:
        return False, False
    return untolerated_taint(taints, tolerations, ("NoSchedule",)) is None, True


def reconcile(cluster: Cluster) -> None:
    cluster.each(DAEMONSETS, "daemonset-controller", lambda obj: _daemon_set(cluster, obj))


def _daemon_set(cluster: Cluster, daemon_set: dict[str, Any]) -> None:
    if terminating(daemon_set):
        return
    namespace, name = daemon_set["metadata"]["namespace"], daemon_set["metadata"]["name"]
    revision = template_hash((daemon_set.get("spec") or {}).get("template") or {})
    pod_spec = ((daemon_set.get("spec") or {}).get("template") or {}).get("spec") or {}
    verdicts = {node["metadata"]["name"]: should_run(pod_spec, node) for node in cluster.store.list(NODES)}
    nodes = [name for name, (run, _) in verdicts.items() if run]
    pods = [p for p in cluster.store.list(PODS, namespace) if owned_by(p, daemon_set) and not terminating(p)]
    for pod in pods:
        if pod["metadata"].get("labels", {}).get("controller-revision-hash") != revision or \
                not verdicts.get(str(target_node(pod)), (False, False))[1]:
            cluster.store.delete_raw("", "pods", namespace, pod["metadata"]["name"])
            cluster.event(daemon_set, "SuccessfulDelete", f"Deleted pod: {pod['metadata']['name']}", component="daemonset-controller")
    pods = [p for p in cluster.store.list(PODS, namespace) if owned_by(p, daemon_set) and not terminating(p)]
    covered = {target_node(p) for p in pods}
    spec = daemon_set.setdefault("spec", {})
    template = spec.setdefault("template", {})
    template.setdefault("metadata", {}).setdefault("labels", {})
    for node in nodes:
        if node not in covered:
            labelled = copy.deepcopy(daemon_set)
            labelled["spec"]["template"]["metadata"]["labels"]["controller-revision-hash"] = revision
            labelled["spec"]["template"].setdefault("spec", {})["tolerations"] = daemon_tolerations(pod_spec)
            labelled["spec"]["template"]["spec"]["affinity"] = pinned_to(pod_spec, node)
            new_pod(cluster, labelled, f"{name}-{random_suffix()}")
    pods = [p for p in cluster.store.list(PODS, namespace) if owned_by(p, daemon_set) and not terminating(p)]
    ready = sum(1 for p in pods if is_ready(p))
    status = {"desiredNumberScheduled": len(nodes), "currentNumberScheduled": len(pods), "numberReady": ready,
              "updatedNumberScheduled": len(pods), "numberAvailable": ready, "numberMisscheduled": 0,
              "observedGeneration": daemon_set["metadata"].get("generation", 1)}
    if ready < len(nodes):
        status["numberUnavailable"] = len(nodes) - ready
        cluster.pending = True
    current = {k: v for k, v in (daemon_set.get("status") or {}).items()}
    if status != current:
        fresh = cluster.store.get(DAEMONSETS, namespace, name)
        fresh["status"] = status
        cluster.save(DAEMONSETS, fresh)
