"""Services: the right type and port, a selector that finds the pods, a targetPort they listen on."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any, Literal

from pydantic import Field

from labrunner.checks.causes import Cause, Finding, evidence, root_first
from labrunner.cluster import errors
from labrunner.cluster.port import ClusterPort
from labrunner.lab.check_args import CheckArgs
from labrunner.lab.fields import KubeName, Port
from labrunner.registry.types import CheckContext, CheckKind, Outcome
from labrunner.topics.basics.selectors import labels_text, selector_text


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
    chosen = labels_text(selector)
    pods = live_pods(cluster.list("pods", namespace, labels=chosen)) if selector else []
    findings: list[Finding] = []
    intended, owner = pods, "its pods"
    if wrong := wrong_pods(cluster, name, namespace, selector, port, pods):
        finding, intended, owner = wrong
        findings.append(finding)
    if selector and not pods:
        near = context.near_labels(namespace, selector)  # the pods it nearly picks: a misspelt label, another namespace
        if findings:
            findings[0] = replace(findings[0], details=(*((near,) if near else ()), *findings[0].details))
        else:
            findings.append(Finding(Cause.SELECTOR, f"service {name}'s selector {chosen} matches no pod in {namespace}",
                                    (near or "compare it with the pods' labels: kubectl get pods --show-labels -n " + namespace,)))
    if (mismatch := target_port_mismatch(name, args.port, port, intended, owner)) is not None:
        findings.append(Finding(Cause.PORT, mismatch, ("the targetPort must be a port the container listens on: kubectl get pods -o yaml -n "
                                                       + namespace + " shows containerPort",)))
    if findings:
        ordered = root_first(findings)
        return "failed", ordered[0].sentence, evidence(ordered)
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


def target_port_mismatch(name: str, number: int, port: Mapping[str, Any], pods: list[dict[str, Any]], owner: str = "its pods") -> str | None:
    """Why the Service's targetPort reaches no container port of ``pods`` (``owner``: whose they
    are, its own by default); None when it does, or when the pods declare no ports at all (then
    we cannot tell)."""
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
        named = "its pods is" if owner == "its pods" else f"{owner} is"
        return f"service {name} sends port {number} to targetPort {target!r}, but no container port of {named} named {target!r} (they declare {listening})"
    if any(n == int(target) and p == protocol for _, n, p in declared):
        return None
    return f"service {name} sends port {number} to targetPort {target}, but {owner} listen on {listening}"


GENERATED_LABELS = ("pod-template-hash", "controller-revision-hash", "statefulset.kubernetes.io/pod-name", "apps.kubernetes.io/pod-index",
                    "controller-uid", "job-name", "batch.kubernetes.io/controller-uid", "batch.kubernetes.io/job-name",
                    "pod-template-generation")
"""Labels controllers put on the pods they make: never what a learner's selector should name."""

WORKLOADS = (("deployments", "deployment"), ("statefulsets", "statefulset"), ("daemonsets", "daemonset"))


def live_pods(pods: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Pods that are not on their way out (a Service's endpoints are chosen among them)."""
    return [p for p in pods if not p["metadata"].get("deletionTimestamp") and (p.get("status") or {}).get("phase") in ("Pending", "Running")]


def owner_of(pod: Mapping[str, Any]) -> str:
    """``deployment web`` (through its ReplicaSet's name less the pod-template-hash),
    ``statefulset cache``, ``daemonset agent``, ``job report``, or ``pod NAME`` for a bare pod."""
    metadata = pod.get("metadata") or {}
    for ref in metadata.get("ownerReferences") or []:
        kind, owner = str(ref.get("kind", "")), str(ref.get("name", ""))
        if kind == "ReplicaSet":
            suffix = "-" + str((metadata.get("labels") or {}).get("pod-template-hash", ""))
            return f"deployment {owner.removesuffix(suffix)}" if suffix != "-" and owner.endswith(suffix) else f"replicaset {owner}"
        if kind:
            return f"{kind.lower()} {owner}"
    return f"pod {metadata.get('name')}"


def owners_text(pods: list[dict[str, Any]]) -> str:
    """``the pods of deployment web`` (of each owner, three at most), or ``pod x``."""
    owners = sorted({owner_of(p) for p in pods})
    bare = [o for o in owners if o.startswith("pod ")]
    made = [o for o in owners if not o.startswith("pod ")]
    parts = ([f"the pods of {' and '.join(made[:3])}"] if made else []) + bare[:3]
    return " and ".join(parts) + (" and others" if len(made) > 3 or len(bare) > 3 else "")


def shared_labels(pods: list[dict[str, Any]]) -> dict[str, str]:
    """The labels every one of ``pods`` carries, less those their controllers added."""
    if not pods:
        return {}
    labels = [dict((p["metadata"].get("labels") or {})) for p in pods]
    common = {k: v for k, v in labels[0].items() if k not in GENERATED_LABELS and all(other.get(k) == v for other in labels[1:])}
    return common


def _declares(pod: Mapping[str, Any], target: Any, protocol: str) -> bool:
    ports = [c for container in (pod.get("spec") or {}).get("containers") or [] for c in container.get("ports") or []]
    if isinstance(target, str) and not target.isdigit():
        return any(c.get("name") == target and c.get("protocol", "TCP") == protocol for c in ports)
    return any(c.get("containerPort") == int(target) and c.get("protocol", "TCP") == protocol for c in ports)


def _ports_of(pods: list[dict[str, Any]]) -> str:
    return ", ".join(sorted({str(c.get("containerPort")) for pod in pods for container in (pod.get("spec") or {}).get("containers") or []
                             for c in container.get("ports") or []}))


def wrong_pods(cluster: ClusterPort, name: str, namespace: str, selector: Mapping[str, str], port: Mapping[str, Any],
               picked: list[dict[str, Any]]) -> tuple[Finding, list[dict[str, Any]], str] | None:
    """The Service's selector picks the wrong pods (the cause; a targetPort where the picked pods
    do not listen is its symptom): the pods it picks do not declare its targetPort while other
    pods of the namespace do, or the workload named like the Service has pods it does not pick.
    (the finding, the pods it should pick, whose they are) or None. A selector that picks the
    pods of the workload named like the Service is right, and so is one whose pods listen on the
    Service's own port (then the targetPort is what is wrong)."""
    if not selector:
        return None
    said = labels_text(selector)
    namesake = next(((word, found) for plural, word in WORKLOADS if (found := _find(cluster, plural, name, namespace)) is not None), None)
    template: Mapping[str, str] = {}
    if namesake is not None:
        template = (((namesake[1].get("spec") or {}).get("template") or {}).get("metadata") or {}).get("labels") or {}
        if not template or all(template.get(k) == v for k, v in selector.items()):
            return None
    target, protocol = port.get("targetPort", port.get("port")), str(port.get("protocol", "TCP"))
    if picked and _ports_of(picked) and not any(_declares(p, target, protocol) or _declares(p, port.get("port"), protocol) for p in picked):
        listening = [p for p in live_pods(cluster.list("pods", namespace)) if _declares(p, target, protocol)]
        if listening:
            on = f"port {target!r}" if isinstance(target, str) and not target.isdigit() else str(target)
            return (Finding(Cause.SELECTOR, f"service {name}'s selector {said} picks {owners_text(picked)} (listening on {_ports_of(picked)}), "
                                            f"not the ones listening on {on} ({labels_text(shared_labels(listening)) or owners_text(listening)})",
                            (f"those are {owners_text(listening)}: give the Service their labels as its selector",), about=f"service/{name}"),
                    listening, owners_text(listening))
    if namesake is None:
        return None
    word, workload = namesake
    intended = live_pods(cluster.list("pods", namespace, labels=selector_text((workload.get("spec") or {}).get("selector"))))
    whose = f"{word} {name}'s pods"
    if not picked:
        return (Finding(Cause.SELECTOR, f"service {name}'s selector {said} matches no pod in {namespace}",
                        (f"{whose} are labelled {labels_text(template)}",), about=f"service/{name}"), intended, whose)
    return (Finding(Cause.SELECTOR, f"service {name}'s selector {said} picks {owners_text(picked)}, not those of {word} {name} "
                                    f"({labels_text(template)})", about=f"service/{name}"), intended, whose)


def _find(cluster: ClusterPort, plural: str, name: str, namespace: str) -> dict[str, Any] | None:
    try:
        return cluster.get(plural, name, namespace)
    except errors.NotFound:
        return None


KINDS = (
    CheckKind(model=ServiceExposes, run=service_exposes, watches=("services", "pods"), prerequisite=True),
)
