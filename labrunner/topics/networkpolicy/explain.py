"""Why a probe's connection got the answer it did, in the engine's words: the policy
and rule responsible for the first hop (the Service's pods, on its target port)."""

from __future__ import annotations

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
    return [f"labrunner's policy engine: {verdict.sentence()}"]
