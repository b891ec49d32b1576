"""The DaemonSet controller: one pod per node, labelled with the template's
``controller-revision-hash``; a pod of an older template is replaced."""

from __future__ import annotations

import copy
from typing import Any

from labrunner.sandbox.controllers.shared import DAEMONSETS, NODES, PODS, Cluster, is_ready, new_pod, owned_by, terminating
from labrunner.sandbox.defaults import template_hash
from labrunner.sandbox.names import random_suffix


def reconcile(cluster: Cluster) -> None:
    cluster.each(DAEMONSETS, "daemonset-controller", lambda obj: _daemon_set(cluster, obj))


def _daemon_set(cluster: Cluster, daemon_set: dict[str, Any]) -> None:
    if terminating(daemon_set):
        return
    namespace, name = daemon_set["metadata"]["namespace"], daemon_set["metadata"]["name"]
    revision = template_hash((daemon_set.get("spec") or {}).get("template") or {})
    nodes = [node["metadata"]["name"] for node in cluster.store.list(NODES)]
    pods = [p for p in cluster.store.list(PODS, namespace) if owned_by(p, daemon_set) and not terminating(p)]
    for pod in pods:
        if pod["metadata"].get("labels", {}).get("controller-revision-hash") != revision:
            cluster.store.delete_raw("", "pods", namespace, pod["metadata"]["name"])
            cluster.event(daemon_set, "SuccessfulDelete", f"Deleted pod: {pod['metadata']['name']}", component="daemonset-controller")
    pods = [p for p in cluster.store.list(PODS, namespace) if owned_by(p, daemon_set) and not terminating(p)]
    covered = {p["spec"].get("nodeName") for p in pods}
    spec = daemon_set.setdefault("spec", {})
    template = spec.setdefault("template", {})
    template.setdefault("metadata", {}).setdefault("labels", {})
    for node in nodes:
        if node not in covered:
            labelled = copy.deepcopy(daemon_set)
            labelled["spec"]["template"]["metadata"]["labels"]["controller-revision-hash"] = revision
            new_pod(cluster, labelled, f"{name}-{random_suffix()}", node=node)
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
