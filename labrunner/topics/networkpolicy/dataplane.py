"""The NetworkPolicy topic's hook into the sandbox's data plane.

A connection is decided by the engine (egress at the source, ingress at the
destination) over the cluster's namespaces, pods and NetworkPolicies, but only
while a policy-enforcing CNI runs: Calico's ``calico-node`` DaemonSet ready on
every node, in kube-system or calico-system. Before that, policies have no
effect, as on a cluster whose CNI ignores them.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from labrunner.sandbox.dataplane import ALLOWED, Attempt, ClusterObjects, Verdict
from labrunner.topics.networkpolicy.evaluate import evaluate
from labrunner.topics.networkpolicy.parse import ObjectError, cluster_from_objects

CALICO_NAMESPACES = ("kube-system", "calico-system")


class PolicyFilter:
    def active(self, objects: ClusterObjects) -> bool:
        """calico-node is ready on every node it is meant for."""
        for namespace in CALICO_NAMESPACES:
            calico = objects.get("apps", "daemonsets", namespace, "calico-node")
            if calico is None:
                continue
            status = calico.get("status") or {}
            if status.get("desiredNumberScheduled") and status.get("numberReady") == status.get("desiredNumberScheduled"):
                return True
        return False

    def decide(self, attempt: Attempt, objects: ClusterObjects) -> Verdict:
        # The pods on the network: those with an address that are not going away.
        pods = [p for p in objects.list("", "pods") if (p.get("status") or {}).get("podIP") and not p["metadata"].get("deletionTimestamp")]
        everything = [*objects.list("", "namespaces"), *pods, *objects.list("networking.k8s.io", "networkpolicies")]
        try:
            cluster = cluster_from_objects(everything)
            destination = (cluster.pod(_ref(attempt.destination)) if attempt.destination is not None
                           else ipaddress.ip_address(attempt.address))
            verdict = evaluate(cluster, cluster.pod(_ref(attempt.source)), destination, attempt.protocol, attempt.port)  # type: ignore[arg-type]
        except (ObjectError, KeyError, ValueError):
            return ALLOWED  # a policy the engine cannot read does not drop traffic here; lint says why
        return ALLOWED if verdict.allowed else Verdict(False, verdict.sentence())


def _ref(pod: Any) -> str:
    return f"{pod['metadata']['namespace']}/{pod['metadata']['name']}"


POLICY_FILTER = PolicyFilter()
