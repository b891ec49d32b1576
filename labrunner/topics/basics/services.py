"""Services: the right type and port, a selector that finds the pods, a targetPort they listen on."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import Field

from labrunner.cluster import errors
from labrunner.lab.check_args import CheckArgs
from labrunner.lab.fields import KubeName, Port
from labrunner.registry.types import CheckContext, CheckKind, Outcome
from labrunner.topics.basics.selectors import labels_text


class ServiceExposes(CheckArgs):
    """The Service has this type and port, its selector matches running pods, and
    (unless ``ready_endpoints`` is 0) it has that many ready endpoints."""

    kind: Literal["service-exposes"]
    namespace: KubeName
    name: KubeName
    type: Literal["ClusterIP", "NodePort", "LoadBalancer"] = "ClusterIP"
    port: Port
    target_port: Port | KubeName | None = None
    protocol: Literal["TCP", "UDP", "SCTP"] = "TCP"
    ready_endpoints: int = Field(default=1, ge=0)
    """Minimum number of ready endpoint addresses."""


def service_exposes(args: ServiceExposes, context: CheckContext) -> Outcome:
    cluster, name, namespace = context.cluster, args.name, args.namespace
    try:
        service = cluster.get("services", name, namespace)
    except errors.NotFound:
        return "failed", f"service {name} does not exist in {namespace}", []
    spec = service.get("spec") or {}
    if spec.get("type", "ClusterIP") != args.type:
        return "failed", f"service {name} is of type {spec.get('type', 'ClusterIP')}, not {args.type}", []
    protocol = args.protocol
    port = next((p for p in spec.get("ports") or [] if p.get("port") == args.port and p.get("protocol", "TCP") == protocol), None)
    if port is None:
        listed = ", ".join(f"{p.get('port')}/{p.get('protocol', 'TCP')}" for p in spec.get("ports") or []) or "none"
        return "failed", f"service {name} does not expose {protocol} {args.port} (it exposes {listed})", []
    if args.target_port is not None and port.get("targetPort") != args.target_port:
        return "failed", f"service {name} sends port {args.port} to targetPort {port.get('targetPort')}, not {args.target_port}", []
    if args.type == "NodePort" and not port.get("nodePort"):
        return "pending", f"service {name} has no node port yet", []
    selector = spec.get("selector") or {}
    selector_text = labels_text(selector)
    pods = cluster.list("pods", namespace, labels=selector_text) if selector else []
    if selector and not pods:
        return "failed", f"service {name}'s selector {selector_text} matches no pod in {namespace}", [
            "compare it with the pods' labels: kubectl get pods --show-labels -n " + namespace]
    if (mismatch := target_port_mismatch(name, args.port, port, pods)) is not None:
        return "failed", mismatch, ["the targetPort must be a port the container listens on: kubectl get pods -o yaml -n " + namespace + " shows containerPort"]
    if args.ready_endpoints:
        try:
            endpoints = cluster.get("endpoints", name, namespace)
        except errors.NotFound:
            endpoints = {}
        ready = sum(len(subset.get("addresses") or []) for subset in endpoints.get("subsets") or [])
        if ready < args.ready_endpoints:
            return "pending" if pods else "failed", f"service {name} has {ready} ready endpoint(s), {args.ready_endpoints} needed", []
    shown = f"{args.port}:{port['nodePort']}/{protocol}" if port.get("nodePort") else f"{args.port}/{protocol}"
    return "passed", f"service {name} ({spec.get('type', 'ClusterIP')}, {shown}) reaches {len(pods)} pod(s)", []


def target_port_mismatch(name: str, number: int, port: Mapping[str, Any], pods: list[dict[str, Any]]) -> str | None:
    """Why the Service's targetPort reaches no container port of its pods; None when it
    does, or when the pods declare no ports at all (then we cannot tell)."""
    declared = [(c.get("name"), c.get("containerPort"), c.get("protocol", "TCP"))
                for pod in pods for container in (pod.get("spec") or {}).get("containers") or []
                for c in container.get("ports") or []]
    if not declared:
        return None
    target = port.get("targetPort", port.get("port"))
    protocol = port.get("protocol", "TCP")
    listening = ", ".join(sorted({f"{n}/{p}" + (f" ({label})" if label else "") for label, n, p in declared}))
    if isinstance(target, str) and not target.isdigit():
        if any(label == target and p == protocol for label, _, p in declared):
            return None
        return f"service {name} sends port {number} to targetPort {target!r}, but no container port of its pods is named {target!r} (they declare {listening})"
    if any(n == int(target) and p == protocol for _, n, p in declared):
        return None
    return f"service {name} sends port {number} to targetPort {target}, but its pods listen on {listening}"


KINDS = (
    CheckKind(model=ServiceExposes, run=service_exposes, watches=("services", "pods"), prerequisite=True),
)
