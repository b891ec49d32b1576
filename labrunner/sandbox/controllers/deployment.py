"""The deployment controller: a Deployment owns a ReplicaSet ``<name>-<template hash>``
per template; the current one is scaled to spec.replicas and older ones to 0 at once
(no surge steps, a simplification on purpose). Status: observedGeneration,
updated/ready/available replicas, the Available and Progressing conditions."""

from __future__ import annotations

import copy
from typing import Any

from labrunner.sandbox.controllers.shared import DEPLOYMENTS, REPLICASETS, Cluster, owned_by, owner_reference, terminating
from labrunner.sandbox.defaults import template_hash, workload_defaults
from labrunner.sandbox.store import AlreadyExists, now


def reconcile(cluster: Cluster) -> None:
    cluster.each(DEPLOYMENTS, "deployment-controller", lambda deployment: _deployment(cluster, deployment))


def _deployment(cluster: Cluster, deployment: dict[str, Any]) -> None:
    if terminating(deployment):
        return
    namespace, name = deployment["metadata"]["namespace"], deployment["metadata"]["name"]
    spec = deployment.get("spec") or {}
    template = copy.deepcopy(spec.get("template") or {})
    pod_hash = template_hash(template)
    owned = [rs for rs in cluster.store.list(REPLICASETS, namespace) if owned_by(rs, deployment)]
    current = next((rs for rs in owned if rs["metadata"].get("labels", {}).get("pod-template-hash") == pod_hash), None)
    wanted = int(spec.get("replicas", 1))
    if current is None:
        labels = {**(template.get("metadata") or {}).get("labels", {}), "pod-template-hash": pod_hash}
        template.setdefault("metadata", {})["labels"] = labels
        selector = copy.deepcopy(spec.get("selector") or {})
        selector.setdefault("matchLabels", {})["pod-template-hash"] = pod_hash
        replica_set = {
            "metadata": {"name": f"{name}-{pod_hash}", "namespace": namespace, "labels": labels,
                         "ownerReferences": [owner_reference(deployment)],
                         "annotations": {"deployment.kubernetes.io/revision": str(len(owned) + 1),
                                         "deployment.kubernetes.io/desired-replicas": str(wanted)}},
            "spec": {"replicas": wanted, "selector": selector, "template": template},
        }
        workload_defaults("replicasets", replica_set)
        try:
            cluster.store.create(REPLICASETS, replica_set)
            cluster.event(deployment, "ScalingReplicaSet", f"Scaled up replica set {name}-{pod_hash} from 0 to {wanted}",
                        component="deployment-controller")
        except AlreadyExists:
            pass
    elif int(current["spec"].get("replicas", 1)) != wanted:
        before = int(current["spec"].get("replicas", 1))
        current["spec"]["replicas"] = wanted
        cluster.save(REPLICASETS, current)
        verb = "up" if wanted > before else "down"
        cluster.event(deployment, "ScalingReplicaSet", f"Scaled {verb} replica set {current['metadata']['name']} from {before} to {wanted}",
                    component="deployment-controller")
    for old in owned:
        if old is not current and old["metadata"].get("labels", {}).get("pod-template-hash") != pod_hash and old["spec"].get("replicas"):
            before = old["spec"]["replicas"]
            old["spec"]["replicas"] = 0
            cluster.save(REPLICASETS, old)
            cluster.event(deployment, "ScalingReplicaSet", f"Scaled down replica set {old['metadata']['name']} from {before} to 0",
                        component="deployment-controller")


def reconcile_status(cluster: Cluster) -> None:
    cluster.each(DEPLOYMENTS, "deployment-controller", lambda deployment: _status(cluster, deployment))


def _status(cluster: Cluster, deployment: dict[str, Any]) -> None:
    namespace = deployment["metadata"]["namespace"]
    spec = deployment.get("spec") or {}
    pod_hash = template_hash(spec.get("template") or {})
    owned = [rs for rs in cluster.store.list(REPLICASETS, namespace) if owned_by(rs, deployment)]
    new = [rs for rs in owned if rs["metadata"].get("labels", {}).get("pod-template-hash") == pod_hash]
    total = sum(int((rs.get("status") or {}).get("replicas", 0)) for rs in owned)
    ready = sum(int((rs.get("status") or {}).get("readyReplicas", 0)) for rs in owned)
    updated = sum(int((rs.get("status") or {}).get("replicas", 0)) for rs in new)
    wanted = int(spec.get("replicas", 1))
    complete = updated == wanted and ready >= wanted and total == wanted
    available = ready >= wanted
    stamp = now()
    previous = deployment.get("status") or {}
    conditions = [
        {"type": "Available", "status": "True" if available else "False",
         "reason": "MinimumReplicasAvailable" if available else "MinimumReplicasUnavailable",
         "message": "Deployment has minimum availability." if available else "Deployment does not have minimum availability."},
        {"type": "Progressing", "status": "True",
         "reason": "NewReplicaSetAvailable" if complete else "ReplicaSetUpdated",
         "message": (f'ReplicaSet "{new[0]["metadata"]["name"]}" has successfully progressed.' if complete and new
                     else f'ReplicaSet "{new[0]["metadata"]["name"] if new else ""}" is progressing.')},
    ]
    old_conditions = {c["type"]: c for c in previous.get("conditions") or []}
    for condition in conditions:
        earlier = old_conditions.get(condition["type"])
        if earlier is not None and all(earlier.get(k) == condition[k] for k in ("status", "reason")):
            condition["lastUpdateTime"] = earlier["lastUpdateTime"]
            condition["lastTransitionTime"] = earlier["lastTransitionTime"]
        else:
            condition["lastUpdateTime"] = condition["lastTransitionTime"] = stamp
    status: dict[str, Any] = {
        "observedGeneration": deployment["metadata"].get("generation", 1),
        "replicas": total, "updatedReplicas": updated, "readyReplicas": ready,
        "availableReplicas": ready, "unavailableReplicas": max(0, wanted - ready), "conditions": conditions,
    }
    status = {k: v for k, v in status.items() if v != 0 or k in ("observedGeneration",)}
    if status != previous:
        deployment["status"] = status
        cluster.save(DEPLOYMENTS, deployment)
    if not complete:
        cluster.pending = True
