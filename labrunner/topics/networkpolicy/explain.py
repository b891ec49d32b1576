"""Why a probe's connection got the answer it did, in the engine's words: the policy
and rule responsible for the first hop (the Service's pods, on its target port).

A denied connection whose isolating policies hold a peer that can match nothing in this
cluster (a namespaceSelector no namespace carries the labels of) is explained first by that
peer, in a line starting with "because ": probes put such a line in their first sentence."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlparse

from labrunner.cluster import errors
from labrunner.cluster.port import ClusterPort
from labrunner.registry.types import Connection


def engine_says(cluster: ClusterPort, connection: Connection) -> list[str]:
    """Nothing when the engine cannot tell (an unknown host, a Service without pods)."""
    from labrunner.topics.networkpolicy.evaluate import evaluate
    from labrunner.topics.networkpolicy.model import Cluster, Pod
    from labrunner.topics.networkpolicy.parse import ObjectError, namespace_from_object, pod_from_object, policy_from_object

    namespace, labels = connection.namespace, dict(connection.labels)
    try:
        parsed = urlparse(connection.url)
        parts = (parsed.hostname or "").split(".")
        service_namespace = parts[1] if len(parts) > 1 and parts[1] != "svc" else namespace
        service = cluster.get("services", parts[0], service_namespace)
        spec = service.get("spec") or {}
        selector = spec.get("selector") or {}
        wanted = parsed.port or (443 if parsed.scheme == "https" else 80)
        entry = next((p for p in spec.get("ports") or [] if p.get("port") == wanted), None)
        if not selector or entry is None:
            return []
        pods = [p for p in cluster.list("pods", service_namespace, labels=",".join(f"{k}={v}" for k, v in selector.items()))
                if (p.get("status") or {}).get("podIP")]
        if not pods:
            return []
        destination = pod_from_object(pods[0])
        target = entry.get("targetPort", wanted)
        protocol = entry.get("protocol", "TCP")
        port = target if isinstance(target, int) else destination.named_port(str(target), protocol)
        if port is None:
            return []
        source = Pod(namespace=namespace, name="a pod labelled " + ",".join(f"{k}={v}" for k, v in sorted(labels.items())), labels=labels)
        world = Cluster(namespaces={n.name: n for n in map(namespace_from_object, cluster.list("namespaces"))},
                        pods=(source, destination),
                        policies=tuple(policy_from_object(p) for p in cluster.list("networkpolicies")))
        verdict = evaluate(world, source, destination, protocol, port)
    except (errors.ClusterError, ObjectError, KeyError, ValueError):
        return []
    return [*_dead_peers(world, verdict, destination), f"labrunner's policy engine: {verdict.sentence()}"]


def _dead_peers(world: Any, verdict: Any, destination: Any) -> list[str]:
    """"because P's egress rule 1 has namespaceSelector name=kube-system, which matches no
    namespace (...)", for each side that denied the connection."""
    from labrunner.topics.networkpolicy import wording

    found = []
    for side, other_namespace in ((verdict.egress, destination.namespace), (verdict.ingress, None)):
        if side.allowed or not side.is_pod:
            continue
        for policy in side.isolating:
            for number, rule in enumerate(policy.rules(side.direction), start=1):
                for peer in rule.peers:
                    selector = peer.namespace_selector
                    if selector is None or wording.namespaces_matching(world, selector):
                        continue
                    found.append(f"because {policy.name}'s {side.direction} rule {number}: namespaceSelector "
                                 f"{wording.selector(selector)} matches no namespace")
                    if other_namespace is not None:
                        found.append(f"{other_namespace}'s labels: {wording.labels(dict(world.namespace_labels(other_namespace)))}")
                    return found
    return found
