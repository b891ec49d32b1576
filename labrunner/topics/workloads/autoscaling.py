"""A HorizontalPodAutoscaler scaling a Deployment on CPU, and why it cannot (a container
without a CPU request, a target that does not exist)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import Field

from labrunner.lab.check_args import CheckArgs
from labrunner.lab.fields import KubeName
from labrunner.registry.types import CheckContext, CheckKind, Outcome
from labrunner.topics.workloads.common import TEMPLATE, containers, find


class HpaScales(CheckArgs):
    """A HorizontalPodAutoscaler (any name) scales the Deployment ``deployment`` between
    ``min_replicas`` and ``max_replicas`` on average CPU utilization ``cpu_percent``, and its
    condition ScalingActive is True: it reads the pods' metrics."""

    kind: Literal["hpa-scales"]
    namespace: KubeName
    deployment: KubeName
    min_replicas: int | None = Field(default=None, ge=1)
    max_replicas: int | None = Field(default=None, ge=1)
    cpu_percent: int | None = Field(default=None, ge=1)


def _cpu_target(hpa: Mapping[str, Any]) -> Any:
    for metric in (hpa.get("spec") or {}).get("metrics") or []:
        resource = metric.get("resource") or {}
        if metric.get("type") == "Resource" and resource.get("name") == "cpu":
            return (resource.get("target") or {}).get("averageUtilization")
    return None


def _missing_request(deployment: Mapping[str, Any] | None, name: str, message: str) -> str | None:
    """The containers of the Deployment without a CPU request, when the HPA says one is missing."""
    if deployment is None:
        return None
    bare = [f"{TEMPLATE}.containers[{i}] ({c.get('name')})" for i, c in containers(deployment)
            if "cpu" not in ((c.get("resources") or {}).get("requests") or {})]
    if "missing request for cpu" not in message or not bare:
        return None
    return f"deployment {name}'s {', '.join(bare)} has no resources.requests.cpu"


def hpa_scales(args: HpaScales, context: CheckContext) -> Outcome:
    cluster, namespace, name = context.cluster, args.namespace, args.deployment
    hpas = cluster.list("horizontalpodautoscalers", namespace)
    mine = [h for h in hpas if ((h.get("spec") or {}).get("scaleTargetRef") or {}).get("kind") == "Deployment"
            and h["spec"]["scaleTargetRef"].get("name") == name]
    if not mine:
        if hpas:
            ref = (hpas[0].get("spec") or {}).get("scaleTargetRef") or {}
            return "failed", (f"hpa {hpas[0]['metadata']['name']}: spec.scaleTargetRef is {ref.get('kind')} {ref.get('name')}; "
                              f"this step wants Deployment {name}"), (
                ["a ReplicaSet the Deployment owns is resized back by the Deployment"] if ref.get("kind") == "ReplicaSet" else [])
        return "failed", f"no HorizontalPodAutoscaler in {namespace} scales deployment {name}", []
    hpa = mine[0]
    hpa_name, spec, status = hpa["metadata"]["name"], hpa.get("spec") or {}, hpa.get("status") or {}
    for field, wanted in (("minReplicas", args.min_replicas), ("maxReplicas", args.max_replicas)):
        have = spec.get(field, 1)
        if wanted is not None and have != wanted:
            return "failed", f"hpa {hpa_name}: spec.{field} is {have}; this step wants {wanted}", []
    target = _cpu_target(hpa)
    if args.cpu_percent is not None and target != args.cpu_percent:
        said = "no CPU utilization target" if target is None else f"averageUtilization {target}"
        return "failed", f"hpa {hpa_name}: spec.metrics has {said} for cpu; this step wants {args.cpu_percent}%", []
    conditions = {c.get("type"): c for c in status.get("conditions") or []}
    active = conditions.get("ScalingActive")
    if active is None:
        return "pending", f"hpa {hpa_name} has not looked at its target yet (no ScalingActive condition)", []
    if active.get("status") != "True":
        message = str(active.get("message", ""))
        condition = f"condition ScalingActive is False ({active.get('reason')})"
        bare = _missing_request(find(cluster, "deployments", name, namespace), name, message)
        if bare is None:
            return "failed", f"hpa {hpa_name}: {condition}", [message] if message else []
        return "failed", f"hpa {hpa_name} cannot get CPU utilization: {bare}", [
            f"its {condition}: {message}",
            "the HPA computes CPU utilization as a percentage of each container's CPU request, so without one it has nothing to divide by",
            f"add one: kubectl set resources deployment/{name} --requests=cpu=100m"]
    current = next((m.get("resource", {}).get("current", {}).get("averageUtilization") for m in status.get("currentMetrics") or []
                    if m.get("type") == "Resource"), None)
    return "passed", (f"hpa {hpa_name} scales deployment {name} between {spec.get('minReplicas', 1)} and "
                      f"{spec.get('maxReplicas')} replicas at {target}% CPU; now {status.get('currentReplicas', 0)} "
                      f"replica(s)" + (f" at {current}%" if current is not None else "")), []


KINDS = (
    CheckKind(model=HpaScales, run=hpa_scales, watches=("horizontalpodautoscalers", "deployments", "pods"), polled=True),
)
