"""``labrunner doctor --prove-policy``: name the network plugin, then show, rather than infer,
that NetworkPolicies are enforced."""

from __future__ import annotations

import secrets
import time

from labrunner.cluster import errors
from labrunner.cluster.port import ClusterPort
from labrunner.registry.types import Outcome
from labrunner.topics.basics.probes import PROBE_READY_SECONDS, run_in_probe_pod


def find_plugin(cluster: ClusterPort) -> Outcome:
    """Which network plugin runs, and whether it is one that enforces policies: what the
    ``cni-enforces-policy`` check says, without a lab around it."""
    from labrunner.registry.types import CheckContext
    from labrunner.topics.networkpolicy.checks import CniEnforcesPolicy, cni_enforces_policy

    return cni_enforces_policy(CniEnforcesPolicy(kind="cni-enforces-policy", says="a network plugin enforces NetworkPolicies"),
                               CheckContext(cluster))


def prove_policy_enforcement(cluster: ClusterPort) -> Outcome:
    """In a throwaway namespace, a busybox pod reaches an nginx pod, a deny-all ingress
    policy goes in, and the same request must then fail. Creates and deletes a namespace
    and pulls two images, so it runs only when the learner asks for it."""
    namespace = f"labrunner-proof-{secrets.token_hex(3)}"
    labels = {"app.kubernetes.io/managed-by": "labrunner"}
    cluster.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace, "labels": labels}})
    try:
        cluster.apply({"apiVersion": "v1", "kind": "Pod",
                       "metadata": {"name": "server", "namespace": namespace, "labels": {**labels, "app": "proof-server"}},
                       "spec": {"terminationGracePeriodSeconds": 0, "containers": [{"name": "nginx", "image": "nginx:1.27"}]}}, namespace)
        deadline = time.monotonic() + PROBE_READY_SECONDS
        while not (ip := (cluster.get("pods", "server", namespace).get("status") or {}).get("podIP")):
            if time.monotonic() > deadline:
                return "error", f"the nginx pod in {namespace} got no IP within {PROBE_READY_SECONDS:.0f} s", []
            time.sleep(0.3)
        request = ["wget", "-q", "-T", "3", "-O", "-", f"http://{ip}/"]
        _, before_error, before = run_in_probe_pod(cluster, namespace, {"run": "proof-client"}, request)
        if before != 0:
            return "error", f"busybox could not reach nginx even before any policy ({before_error.strip() or before})", []
        cluster.apply({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
                       "metadata": {"name": "deny-all-ingress", "namespace": namespace, "labels": labels},
                       "spec": {"podSelector": {}, "policyTypes": ["Ingress"]}}, namespace)
        time.sleep(1.0)  # the plugin programs the node's rules asynchronously
        _, _, after = run_in_probe_pod(cluster, namespace, {"run": "proof-client"}, request)
        if after == 0:
            return "failed", "a deny-all ingress policy did not stop busybox from reaching nginx: NetworkPolicies are NOT enforced", []
        return "passed", "proved: busybox reached nginx, then a deny-all ingress policy stopped it", []
    finally:
        try:
            cluster.delete("namespaces", namespace)
        except errors.ClusterError:
            pass
