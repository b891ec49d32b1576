"""``service-endpoints``: which pods a Service's EndpointSlices list as ready, and which as not ready
(a pod failing its readiness probe stays in the slice with ``ready: false`` and gets no traffic).
Read from the slices as kube-proxy reads them; a pod that is not where it should be is explained by
its labels against the selector, its readiness probe, or its phase."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import Field

from labrunner.lab.check_args import CheckArgs
from labrunner.lab.fields import KubeName
from labrunner.registry.types import CheckContext, CheckKind, Outcome
from labrunner.topics.basics.selectors import labels_text
from labrunner.topics.basics.workloads import _probe_text, pod_problems
from labrunner.topics.services.common import Obj, find, matches, missing


class ServiceEndpoints(CheckArgs):
    """The EndpointSlices of the Service ``service`` in ``namespace`` list exactly ``ready`` ready
    endpoints (when given), and each pod of ``not_ready`` as not ready."""

    kind: Literal["service-endpoints"]
    namespace: KubeName
    service: KubeName
    ready: int | None = Field(default=None, ge=0)
    not_ready: list[KubeName] = Field(default_factory=list)


def _listed(slices: list[Obj]) -> dict[str, tuple[bool, str]]:
    """Pod name -> (ready as the slice says, the slice's name)."""
    found: dict[str, tuple[bool, str]] = {}
    for endpoint_slice in slices:
        for endpoint in endpoint_slice.get("endpoints") or []:
            ref = endpoint.get("targetRef") or {}
            if ref.get("kind", "Pod") == "Pod" and ref.get("name"):
                ready = (endpoint.get("conditions") or {}).get("ready")
                found[str(ref["name"])] = (ready is None or bool(ready), str(endpoint_slice["metadata"]["name"]))
    return found


def _why_ready(pod: Mapping[str, Any]) -> str:
    probes = [(c.get("name"), c.get("readinessProbe")) for c in (pod.get("spec") or {}).get("containers") or []]
    with_probe = [(name, probe) for name, probe in probes if isinstance(probe, dict)]
    if not with_probe:
        return "it has no readinessProbe, so it counts as ready as soon as its containers run"
    return "; ".join(f"container {name}'s readinessProbe ({_probe_text(probe)}) passes" for name, probe in with_probe)


def _absent(cluster: Any, args: ServiceEndpoints, pod_name: str, selector: Mapping[str, str]) -> tuple[str, list[str]]:
    pod = find(cluster, "pods", pod_name, args.namespace)
    if pod is None:
        return missing(cluster, "pods", "pod", pod_name, args.namespace)
    labels = pod["metadata"].get("labels") or {}
    if not matches(labels, selector):
        return (f"pod {pod_name}'s labels {labels_text(labels) or '(none)'} do not match service {args.service}'s selector "
                f"{labels_text(selector)}"), [f"so pod {pod_name} is in no EndpointSlice of service {args.service}"]
    if not (pod.get("status") or {}).get("podIP"):
        return f"pod {pod_name} has no IP yet ({(pod.get('status') or {}).get('phase')}), so no EndpointSlice lists it", []
    return f"pod {pod_name} is in no EndpointSlice of service {args.service} yet", []


def service_endpoints(args: ServiceEndpoints, context: CheckContext) -> Outcome:
    cluster, namespace, name = context.cluster, args.namespace, args.service
    service = find(cluster, "services", name, namespace)
    if service is None:
        said, details = missing(cluster, "services", "service", name, namespace)
        return "failed", said, details
    selector = (service.get("spec") or {}).get("selector") or {}
    slices = cluster.list("endpointslices", namespace, labels=f"kubernetes.io/service-name={name}")
    listed = _listed(slices)
    for pod_name in args.not_ready:
        if pod_name not in listed:
            said, details = _absent(cluster, args, pod_name, selector)
            return "failed", said, details
        ready, slice_name = listed[pod_name]
        if ready:
            pod = find(cluster, "pods", pod_name, namespace) or {}
            return "failed", f"pod {pod_name} is listed ready by service {name}: {_why_ready(pod)}", [
                f"EndpointSlice {slice_name} lists it ready, so kube-proxy sends it traffic"]
    ready_pods = sorted(pod for pod, (ready, _) in listed.items() if ready)
    if args.ready is not None and len(ready_pods) != args.ready:
        said = (f"service {name}'s EndpointSlices list {len(ready_pods)} ready endpoint(s)"
                + (f" ({', '.join(ready_pods)})" if ready_pods else "") + f"; this step wants {args.ready}")
        if len(ready_pods) < args.ready and selector and not cluster.list("pods", namespace, labels=labels_text(selector)):
            near = context.near_labels(namespace, selector)  # the pods it nearly picks
            return "failed", f"service {name}'s selector {labels_text(selector)} matches no pod in {namespace}", [said, *([near] if near else [])]
        if len(ready_pods) < args.ready:
            problems, starting = pod_problems(cluster, namespace, {"matchLabels": dict(selector)} if selector else None)
            problems = [p for p in problems if not any(p.startswith(f"container ") and f" of pod {n} " in p for n in args.not_ready)]
            if problems:
                return "failed", problems[0], [said, *problems[1:]]
            return ("pending" if starting else "failed"), said, []
        return "failed", said, []
    names = ", ".join(sorted({slice_name for _, slice_name in listed.values()})) or "none"
    said = f"service {name}'s EndpointSlice(s) {names} list {len(ready_pods)} ready pod(s)"
    if args.not_ready:
        said += f" and {', '.join(args.not_ready)} as not ready (ready: false): kube-proxy sends {'them' if len(args.not_ready) > 1 else 'it'} no traffic"
    return "passed", said, []


KINDS = (CheckKind(model=ServiceEndpoints, run=service_endpoints, watches=("services", "pods")),)
