"""``service-backends``: a Service of a type and a port whose endpoints are the ready pods of a
workload. Judged link by link as kube-proxy gets there: the Service's type, headlessness and port,
its selector against the workload's pod template (the selector of another app is named as such),
its targetPort against the ports the containers declare, and the EndpointSlices the controller
wrote."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import Field

from labrunner.checks.causes import Cause, Finding, evidence, root_first
from labrunner.lab.check_args import CheckArgs
from labrunner.lab.fields import KubeName, Port
from labrunner.registry.types import CheckContext, CheckKind, Outcome
from labrunner.topics.basics.selectors import labels_text
from labrunner.topics.basics.workloads import workload_findings
from labrunner.topics.services.common import Obj, declared_ports, find, matches, missing, ports_text, template_labels, workload_of
from labrunner.topics.workloads.common import pod_spec, pods_of

Workload = str
KINDS_OF = {"deployment": "Deployment", "statefulset": "StatefulSet", "daemonset": "DaemonSet"}
WORKLOAD_PATTERN = r"^(deployment|statefulset|daemonset)/[a-z0-9]([-a-z0-9.]*[a-z0-9])?$"


class ServiceBackends(CheckArgs):
    """The Service ``name`` in ``namespace`` is of ``type`` (headless with ``headless``), exposes
    ``port`` (to ``target_port`` when given) and sends it to at least ``ready`` ready pods of the
    workload ``backends`` (``deployment/api``, ``statefulset/cache``)."""

    kind: Literal["service-backends"]
    namespace: KubeName
    name: KubeName
    backends: Workload = Field(pattern=WORKLOAD_PATTERN)
    type: Literal["ClusterIP", "NodePort", "LoadBalancer"] = "ClusterIP"
    headless: bool = False
    port: Port | None = None
    target_port: Port | KubeName | None = None
    ready: int = Field(default=1, ge=0)


RECREATE_HEADLESS = "clusterIP cannot be changed, so delete the Service and create it with clusterIP: None"


def _spec_problem(args: ServiceBackends, service: Obj) -> Outcome | None:
    """(status, sentence, details) when the Service's own spec is not what the step asks."""
    name, spec = args.name, service.get("spec") or {}
    cluster_ip = spec.get("clusterIP")
    if args.headless and cluster_ip != "None":
        return "failed", f"service {name}: spec.clusterIP is {cluster_ip}, not None (this step wants a headless Service)", [
            "a Service with a cluster IP has one virtual address and no DNS record per pod", RECREATE_HEADLESS]
    if not args.headless and cluster_ip == "None":
        return "failed", f"service {name} is headless (spec.clusterIP: None); this step wants a cluster IP", [
            "its name resolves to each ready pod, with no virtual address for kube-proxy to balance"]
    kind = spec.get("type", "ClusterIP")
    if kind != args.type:
        return "failed", f"service {name}: spec.type is {kind}; this step wants {args.type}", []
    if args.port is None:
        return None
    port = next((p for p in spec.get("ports") or [] if p.get("port") == args.port), None)
    if port is None:
        listed = ", ".join(f"{p.get('port')}" for p in spec.get("ports") or []) or "none"
        return "failed", f"service {name}: spec.ports has no port {args.port} (it has {listed})", [
            f"clients connect to the Service's port, {args.port}, and targetPort says where the pods listen"]
    if args.type in ("NodePort", "LoadBalancer") and not port.get("nodePort"):
        return "pending", f"service {name} has no nodePort for port {args.port} yet", []
    return None


def selector_problem(cluster: Any, name: str, namespace: str, selector: Mapping[str, str], kind: str, workload: Obj) -> Finding | None:
    """Why service ``name``'s selector does not pick the pods of ``workload`` (a ``kind``): a
    selector copied from another app (it picks that app's pods), or the labels it differs by."""
    template = template_labels(workload)
    owner = f"{kind} {workload['metadata']['name']}"
    if matches(template, selector):
        return None
    for plural, word in (("deployments", "deployment"), ("statefulsets", "statefulset"), ("daemonsets", "daemonset")):
        for other in cluster.list(plural, namespace):
            if other["metadata"].get("uid") != workload["metadata"].get("uid") and matches(template_labels(other), selector):
                return Finding(Cause.SELECTOR, f"service {name}: spec.selector {labels_text(selector)} selects the pods of {word} "
                                               f"{other['metadata']['name']}, not those of {owner} (labelled {labels_text(template)})",
                               (f"a selector copied from another app: {owner}'s pods are picked by {labels_text(template)}",))
    differing = [(key, value, template.get(key)) for key, value in sorted(selector.items()) if template.get(key) != value]
    said = "; ".join(f"{key}={value}, where the pods have {key}={mine}" if mine is not None else f"{key}={value}, a label the pods do not have"
                     for key, value, mine in differing)
    labelled = f"{owner}'s pods are labelled {labels_text(template)}"
    return Finding(Cause.SELECTOR, f"service {name}: spec.selector has {said}, so it selects none of them", (labelled,),
                   aside=f"service {name}: spec.selector has {said} ({labelled}), so it selects none of them")


def target_problem(name: str, kind: str, workload: str, index: int, port: Mapping[str, Any], declared: list[tuple[str, int, str]]) -> Finding | None:
    """What is wrong with a Service port's targetPort for the workload's declared container ports (None: nothing)."""
    target, protocol = port.get("targetPort", port.get("port")), str(port.get("protocol", "TCP"))
    if not declared:
        return None  # nothing declared: only the process knows where it listens
    field = f"service {name}: spec.ports[{index}].targetPort"
    if isinstance(target, str) and not target.isdigit():
        if any(label == target and p == protocol for label, _, p in declared):
            return None
        said = f"{field} is {target!r}, a port name no container of {kind} {workload} declares (they declare {ports_text(declared)})"
        consequence = f"so the Service has no endpoint for its port {port.get('port')}"
        return Finding(Cause.PORT, said, (consequence,), aside=f"{said}, {consequence}")
    if any(number == int(target) and p == protocol for _, number, p in declared):
        return None
    said = f"{field} is {target}, but the containers of {kind} {workload} declare {ports_text(declared)}"
    return Finding(Cause.PORT, said, (f"nothing listens on {target}",), aside=f"{said}: nothing listens on {target}")


def ready_endpoints(cluster: Any, name: str, namespace: str, port: Mapping[str, Any] | None, owned: set[str]) -> int:
    """Ready endpoints that are pods of the workload, as kube-proxy reads the EndpointSlices (for a
    port: only slices that carry it)."""
    count = 0
    for endpoint_slice in cluster.list("endpointslices", namespace, labels=f"kubernetes.io/service-name={name}"):
        if port is not None and str(port.get("name") or "") not in {str(p.get("name") or "") for p in endpoint_slice.get("ports") or []}:
            continue
        for endpoint in endpoint_slice.get("endpoints") or []:
            ready = (endpoint.get("conditions") or {}).get("ready")
            if (ready is None or ready) and (endpoint.get("targetRef") or {}).get("name") in owned:
                count += 1
    return count


def service_backends(args: ServiceBackends, context: CheckContext) -> Outcome:
    cluster, namespace, name = context.cluster, args.namespace, args.name
    service = find(cluster, "services", name, namespace)
    if service is None:
        said, details = missing(cluster, "services", "service", name, namespace)
        return "failed", said, details
    if spec_problem := _spec_problem(args, service):
        return spec_problem
    kind, workload_name, workload = workload_of(cluster, args.backends, namespace)
    if workload is None:
        said, details = missing(cluster, f"{kind}s", kind, workload_name, namespace)
        return "failed", said, details
    spec = service.get("spec") or {}
    selector = spec.get("selector") or {}
    if not selector:
        return "failed", f"service {name} has no spec.selector, so no controller gives it endpoints", [
            f"the pods of {kind} {workload_name} are not chosen"]
    findings: list[Finding] = []
    if wrong := selector_problem(cluster, name, namespace, selector, kind, workload):
        findings.append(wrong)
    ports = [(i, p) for i, p in enumerate(spec.get("ports") or []) if args.port is None or p.get("port") == args.port]
    declared = declared_ports(pod_spec(workload))
    for index, port in ports:
        if problem := target_problem(name, kind, workload_name, index, port, declared):
            findings.append(problem)
            break
        target = port.get("targetPort", port.get("port"))
        if args.target_port is not None and str(target) != str(args.target_port):
            wanted = f"the port name {args.target_port}" if isinstance(args.target_port, str) else str(args.target_port)
            findings.append(Finding(Cause.PORT, f"service {name}: spec.ports[{index}].targetPort is {target}; this step wants {wanted}"))
            break
    if findings:  # the selector first: it decides whose ports the targetPort must name
        ordered = root_first(findings)
        return "failed", ordered[0].sentence, evidence(ordered)
    owned = {str(p["metadata"]["name"]) for p in pods_of(cluster, workload, namespace)}
    ready = ready_endpoints(cluster, name, namespace, ports[0][1] if ports else None, owned)
    if ready < args.ready:
        said = f"service {name} has {ready} ready endpoint(s) among the pods of {kind} {workload_name}, {args.ready} needed"
        why, starting = workload_findings(cluster, namespace, {"kind": KINDS_OF[kind], **workload})
        if why and why[0].whole:
            return "failed", f"{kind} {workload_name}'s pods cannot start: {why[0].sentence}", [said, *evidence(why)]
        if why:
            return "failed", why[0].sentence, [said, *evidence(why)]
        return "pending", f"{said}; its pods are starting" if starting or owned else said, []
    shape = "headless" if args.headless else spec.get("type", "ClusterIP")
    shown = ", ".join(f"{p.get('port')}" + (f":{p['nodePort']}" if p.get("nodePort") else "") + f" -> {p.get('targetPort', p.get('port'))}"
                      for _, p in ports)
    return "passed", f"service {name} ({shape}{', ' + shown if shown else ''}) sends to {ready} ready pod(s) of {kind} {workload_name}", []


KINDS = (CheckKind(model=ServiceBackends, run=service_backends, watches=("services", "pods", "deployments", "statefulsets"),
                   prerequisite=True),)
