"""``service-routes``: a Service reaches the pods of a Deployment. Judged link by link as
kube-proxy gets there: the Service's selector against the Deployment's pod template (not only
the pods of the moment: a pod relabelled by hand is replaced by one that is not), each
targetPort against the ports its containers declare, and the EndpointSlices the controller
wrote; a Deployment scaled to zero is no backend at all."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from labrunner.checks.causes import Cause, Finding, evidence, root_first
from labrunner.lab.check_args import CheckArgs
from labrunner.lab.fields import KubeName, Port
from labrunner.registry.types import CheckContext, CheckKind, Outcome
from labrunner.topics.basics.selectors import labels_text
from labrunner.topics.basics.workloads import workload_findings
from labrunner.topics.services.backends import ready_endpoints, selector_problem, target_problem
from labrunner.topics.services.common import missing
from labrunner.topics.troubleshooting.common import Obj, elsewhere, find, matches
from labrunner.topics.workloads.common import pod_spec, pods_of


class ServiceRoutes(CheckArgs):
    """The Service ``service`` in ``namespace`` sends its port ``port`` (every port when not
    given) to ready pods of the Deployment ``deployment`` there, on a port they declare."""

    kind: Literal["service-routes"]
    namespace: KubeName
    service: KubeName
    deployment: KubeName
    port: Port | None = None


def _declared(deployment: Mapping[str, Any]) -> list[tuple[str, int, str]]:
    """(name, number, protocol) of every port the pod template's containers declare, native
    sidecars' too (the EndpointSlice controller's FindPort looks there)."""
    spec = pod_spec(deployment)
    declared = [c for c in spec.get("containers") or []]
    declared += [c for c in spec.get("initContainers") or [] if c.get("restartPolicy") == "Always"]
    return [(str(p.get("name") or ""), int(p.get("containerPort", 0)), str(p.get("protocol", "TCP")))
            for c in declared for p in c.get("ports") or []]


def _selector_problem(cluster: Any, service: str, selector: Mapping[str, str], deployment: Obj, namespace: str) -> Finding | None:
    name = deployment["metadata"]["name"]
    template = ((deployment.get("spec") or {}).get("template") or {}).get("metadata", {}).get("labels") or {}
    live = pods_of(cluster, deployment, namespace)
    if not matches(template, selector):
        if live and all(matches(p["metadata"].get("labels"), selector) for p in live):
            said = f"service {service}: spec.selector {labels_text(selector)} selects the pods of deployment {name} only because they were relabelled by hand"
            why = (f"the Deployment's pod template says {labels_text(template)}, so every new pod (a restart, a rollout, a drained node) "
                   "is left out")
            return Finding(Cause.SELECTOR, said, (why,), aside=f"{said}: {why}")
        return selector_problem(cluster, service, namespace, selector, "deployment", deployment)
    owned = {p["metadata"]["name"] for p in live}
    strays = sorted(str(p["metadata"]["name"]) for p in cluster.list("pods", namespace, labels=labels_text(selector))
                    if p["metadata"]["name"] not in owned and not p["metadata"].get("deletionTimestamp")
                    and (p.get("status") or {}).get("phase") in ("Pending", "Running"))
    if strays:
        said = f"service {service}: spec.selector {labels_text(selector)} also selects pod(s) {', '.join(strays[:3])}, which are not of deployment {name}"
        return Finding(Cause.SELECTOR, said, ("the Service would send some requests to them",), aside=f"{said}: the Service would send some requests to them")
    return None


def service_routes(args: ServiceRoutes, context: CheckContext) -> Outcome:
    cluster, namespace = context.cluster, args.namespace
    service = find(cluster, "services", args.service, namespace)
    if service is None:
        said, details = missing(cluster, "services", "service", args.service, namespace)
        return "failed", said, details
    deployment = find(cluster, "deployments", args.deployment, namespace)
    other = elsewhere(cluster, "deployments", args.deployment, namespace)
    beside = [f"the deployment {args.deployment} in {', '.join(other)} is not a backend of service {args.service}: a Service selects "
              f"pods of its own namespace, {namespace}"] if other else []
    if deployment is None:
        return "failed", f"deployment {args.deployment} does not exist in {namespace}", beside
    replicas = int((deployment.get("spec") or {}).get("replicas", 1))
    if replicas == 0:
        return "failed", f"deployment {args.deployment} in {namespace} has spec.replicas 0: no pod serves service {args.service}", beside
    spec = service.get("spec") or {}
    ports = list(enumerate(spec.get("ports") or []))
    if args.port is not None:
        ports = [(i, p) for i, p in ports if p.get("port") == args.port]
        if not ports:
            listed = ", ".join(str(p.get("port")) for p in spec.get("ports") or []) or "none"
            return "failed", f"service {args.service}: spec.ports has no port {args.port} (it has {listed}); its clients connect to {args.port}", [
                "keep that port and send it to the pods' port with targetPort"]
    selector = spec.get("selector") or {}
    if not selector:
        return "failed", f"service {args.service} has no spec.selector, so no controller gives it endpoints", []
    findings: list[Finding] = []
    if wrong := _selector_problem(cluster, args.service, selector, deployment, namespace):
        findings.append(wrong)
    declared = _declared(deployment)
    for index, port in ports:
        if problem := target_problem(args.service, "deployment", args.deployment, index, port, declared):
            findings.append(problem)
            break
    if findings:  # the selector first: it decides whose ports the targetPort must name
        ordered = root_first(findings)
        return "failed", ordered[0].sentence, evidence(ordered)
    live = pods_of(cluster, deployment, namespace)
    owned = {str(p["metadata"]["name"]) for p in live}
    for index, port in ports:
        ready = ready_endpoints(cluster, args.service, namespace, port, owned)
        if ready:
            continue
        said = f"service {args.service} has no ready endpoint for port {port.get('port')}"
        why, _ = workload_findings(cluster, namespace, {"kind": "Deployment", **deployment})
        if why and why[0].whole:
            return "failed", f"deployment {args.deployment}'s pods cannot start: {why[0].sentence}", [said, *evidence(why)]
        if why:
            return "failed", why[0].sentence, [said, *evidence(why)]
        return "pending", f"{said} yet; the pods of {args.deployment} are starting", []
    shown = ", ".join(f"{p.get('port')}->{p.get('targetPort', p.get('port'))}" for _, p in ports)
    return "passed", f"service {args.service} sends {shown} to the ready pods of deployment {args.deployment}", []


KINDS = (CheckKind(model=ServiceRoutes, run=service_routes, watches=("services", "deployments", "pods")),)
