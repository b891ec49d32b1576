"""What a Deployment's containers declare: resource requests and limits, liveness and
readiness probes on a port the container listens on, and a native sidecar (an init
container with ``restartPolicy: Always``) sharing an emptyDir with the app."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from labrunner.cluster import errors
from labrunner.lab.check_args import CheckArgs
from labrunner.lab.fields import KubeName, NonEmptyStr
from labrunner.registry.types import CheckContext, CheckKind, Outcome
from labrunner.topics.basics.workloads import _probe_text
from labrunner.topics.workloads.common import TEMPLATE, containers, find, pod_spec, pods_of, quantity
from labrunner.topics.workloads.rollouts import DeploymentRollout, deployment_rollout

ResourceName = Literal["cpu", "memory", "ephemeral-storage"]


class ContainerResources(CheckArgs):
    """A container of the Deployment (``container``, or its first) requests and is limited to
    the quantities given, compared as quantities (``0.1`` is ``100m``); and it has rolled out."""

    kind: Literal["container-resources"]
    namespace: KubeName
    deployment: KubeName
    container: KubeName | None = None
    requests: dict[ResourceName, NonEmptyStr] = {}
    limits: dict[ResourceName, NonEmptyStr] = {}


class ProbesConfigured(CheckArgs):
    """Each container of the Deployment (or ``container``) has the probes asked for, each on a
    port the container declares; the Deployment has rolled out and no container restarts
    because its liveness probe fails."""

    kind: Literal["probes-configured"]
    namespace: KubeName
    deployment: KubeName
    container: KubeName | None = None
    liveness: bool = True
    readiness: bool = True


class NativeSidecar(CheckArgs):
    """The Deployment runs a native sidecar: an init container with ``restartPolicy: Always``
    that mounts an emptyDir volume one of the app's containers mounts too; and it has rolled out."""

    kind: Literal["native-sidecar"]
    namespace: KubeName
    deployment: KubeName


def _rolled_out(context: CheckContext, namespace: str, name: str, says: str) -> Outcome:
    return deployment_rollout(DeploymentRollout(kind="deployment-rollout", says=says, namespace=namespace, name=name), context)


def _chosen(deployment: Mapping[str, Any], name: str | None) -> list[tuple[int, dict[str, Any]]]:
    everything = containers(deployment, name)
    return everything if name else everything[:1]


def container_resources(args: ContainerResources, context: CheckContext) -> Outcome:
    deployment = find(context.cluster, "deployments", args.deployment, args.namespace)
    if deployment is None:
        return "failed", f"deployment {args.deployment} does not exist in {args.namespace}", []
    chosen = _chosen(deployment, args.container)
    if not chosen:
        return "failed", f"deployment {args.deployment} has no container named {args.container!r}", []
    index, container = chosen[0]
    resources = container.get("resources") or {}
    for section, wanted in (("requests", args.requests), ("limits", args.limits)):
        have = resources.get(section) or {}
        for resource, value in wanted.items():
            path = f"deployment {args.deployment}: {TEMPLATE}.containers[{index}].resources.{section}.{resource}"
            if resource not in have:
                return "failed", f"{path} is not set; this step wants {value}", []
            if quantity(have[resource]) != quantity(value):
                return "failed", f"{path} is {have[resource]!r}; this step wants {value}", _quantity_notes(resource, have[resource], value)
    status, message, details = _rolled_out(context, args.namespace, args.deployment, args.says)
    if status != "passed":
        return status, message, details
    asked = ", ".join(f"{section} {k}={v}" for section, wanted in (("requests", args.requests), ("limits", args.limits))
                      for k, v in wanted.items())
    return "passed", f"container {container.get('name')} of deployment {args.deployment} has {asked}, and has rolled out", []


def _quantity_notes(resource: str, have: Any, wanted: str) -> list[str]:
    """Why a quantity the learner wrote is not the one asked: powers of ten for two, whole CPUs
    for thousandths."""
    had, asked = quantity(have), quantity(wanted)
    if resource == "memory" and str(have).rstrip("MGK") != str(have):
        sizes = (f": {have} is {int(had):,} bytes, {wanted} is {int(asked):,}"
                 if had is not None and asked is not None and had == int(had) and asked == int(asked) else "")
        return [f"M, G are powers of ten; Mi, Gi powers of two{sizes}"]
    if resource == "cpu" and had == (asked or 0) * 1000:
        return [f"{have} is {have} whole CPUs; a thousandth of a CPU is written 1m"]
    return []


def _probe_port(probe: Mapping[str, Any]) -> tuple[str, Any] | None:
    for handler in ("httpGet", "tcpSocket", "grpc"):
        if isinstance(probe.get(handler), dict):
            return handler, probe[handler].get("port")
    return None


def _probe_problem(args: ProbesConfigured, index: int, container: Mapping[str, Any]) -> tuple[str, list[str]] | None:
    declared = container.get("ports") or []
    numbers = {int(p["containerPort"]) for p in declared if "containerPort" in p}
    names = {str(p["name"]) for p in declared if p.get("name")}
    listed = ", ".join(f"{p['name']}={p.get('containerPort')}" if p.get("name") else str(p.get("containerPort")) for p in declared)
    for wanted, field in ((args.liveness, "livenessProbe"), (args.readiness, "readinessProbe")):
        probe = container.get(field)
        path = f"deployment {args.deployment}: {TEMPLATE}.containers[{index}].{field}"
        if not wanted:
            continue
        if not isinstance(probe, dict):
            return f"{path} is not set ({container.get('name')} has no {field})", []
        found = _probe_port(probe)
        if found is None:
            continue  # an exec probe has no port
        handler, port = found
        if isinstance(port, str) and not port.isdigit():
            if port not in names:
                return (f"{path}.{handler}.port is {port!r}, a port name the container does not declare",
                        [f"it declares {listed}" if listed else "it declares no ports"])
        elif declared and int(port) not in numbers:
            return f"{path}.{handler}.port is {port}, but the container listens on {listed}", []
    return None


def _liveness_restarts(context: CheckContext, args: ProbesConfigured, deployment: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Each container restarted for a failing liveness probe: the sentence (the container, its
    restarts and its probe) and what the kubelet said."""
    found = []
    probes = {str(c.get("name")): c.get("livenessProbe") for _, c in containers(deployment)}
    for pod in pods_of(context.cluster, deployment, args.namespace):
        for status in (pod.get("status") or {}).get("containerStatuses") or []:
            if int(status.get("restartCount", 0)) == 0:
                continue
            try:
                events = context.cluster.events(args.namespace, involved=pod["metadata"]["name"])
            except errors.ClusterError:
                events = []
            said = [str(e.get("message")) for e in events if str(e.get("message", "")).startswith("Liveness probe failed")]
            if said:
                probe = probes.get(str(status.get("name")))
                which = f" ({_probe_text(probe)})" if isinstance(probe, dict) else ""
                found.append((f"container {status.get('name')} of pod {pod['metadata']['name']} restarted "
                              f"{status.get('restartCount')} time(s): its livenessProbe{which} fails", said[-1]))
    return found


def probes_configured(args: ProbesConfigured, context: CheckContext) -> Outcome:
    deployment = find(context.cluster, "deployments", args.deployment, args.namespace)
    if deployment is None:
        return "failed", f"deployment {args.deployment} does not exist in {args.namespace}", []
    chosen = containers(deployment, args.container)
    if not chosen:
        return "failed", f"deployment {args.deployment} has no container named {args.container!r}", []
    for index, container in chosen:
        problem = _probe_problem(args, index, container)
        if problem:
            return "failed", problem[0], problem[1]
    status, message, details = _rolled_out(context, args.namespace, args.deployment, args.says)
    if status != "passed":
        return status, message, details
    restarts = _liveness_restarts(context, args, deployment) if args.liveness else []
    if restarts:
        (first, kubelet), rest = restarts[0], restarts[1:]
        return "failed", first, [f"the kubelet: {kubelet}", "the kubelet kills a container whose liveness probe fails; "
                                 "point the probe at a port (and path) the container serves",
                                 *(f"{sentence}: {said}" for sentence, said in rest)]
    probes = " and ".join(p for p, wanted in (("liveness", args.liveness), ("readiness", args.readiness)) if wanted)
    return "passed", f"deployment {args.deployment}'s containers have {probes} probes on their ports, and all are ready", []


def _sidecar_crashing(context: CheckContext, namespace: str, deployment: Mapping[str, Any], name: str) -> tuple[str, list[str]] | None:
    """A sidecar that exits and is restarted (``Init:CrashLoopBackOff``): it must keep running."""
    for pod in pods_of(context.cluster, deployment, namespace):
        for status in (pod.get("status") or {}).get("initContainerStatuses") or []:
            waiting = (status.get("state") or {}).get("waiting") or {}
            if status.get("name") == name and waiting.get("reason") == "CrashLoopBackOff":
                last = ((status.get("lastState") or {}).get("terminated") or {}).get("exitCode")
                return (f"sidecar {name} of pod {pod['metadata']['name']} keeps exiting (Init:CrashLoopBackOff, last exit code {last})",
                        ["a sidecar must run as long as the app; its command ends, so the kubelet keeps restarting it "
                         "and the pod never turns Ready"])
    return None


def native_sidecar(args: NativeSidecar, context: CheckContext) -> Outcome:
    deployment = find(context.cluster, "deployments", args.deployment, args.namespace)
    if deployment is None:
        return "failed", f"deployment {args.deployment} does not exist in {args.namespace}", []
    spec = pod_spec(deployment)
    empty_dirs = {str(v.get("name")) for v in spec.get("volumes") or [] if "emptyDir" in v}
    init = list(enumerate(spec.get("initContainers") or []))
    app = containers(deployment)

    def shared(container: Mapping[str, Any]) -> set[str]:
        return {str(m.get("name")) for m in container.get("volumeMounts") or []} & empty_dirs

    sidecars = [(i, c) for i, c in init if c.get("restartPolicy") == "Always"]
    if not sidecars:
        plain = [(i, c) for i, c in init if shared(c)]
        if plain:
            i, c = plain[0]
            return "failed", f"deployment {args.deployment}: {TEMPLATE}.initContainers[{i}] ({c.get('name')}) has no restartPolicy: Always", [
                "so it is a plain init container: the app starts only after it exits, and a sidecar that tails a log "
                "never does (the pod stays Init:0/1)", "add restartPolicy: Always to that init container"]
        if len(app) > 1:
            sharing = [(i, c) for i, c in app[1:] if shared(c) & shared(app[0][1])]
            i, c = sharing[0] if sharing else app[-1]
            return "failed", (f"deployment {args.deployment}: container {c.get('name')} is under {TEMPLATE}.containers[{i}], "
                              "not initContainers with restartPolicy: Always"), [
                "a native sidecar goes under initContainers with restartPolicy: Always, so it starts before the app, "
                "is stopped after it, and never keeps a Job's pod from completing"]
        return "failed", f"deployment {args.deployment} has no sidecar: no init container with restartPolicy: Always", []
    index, sidecar = sidecars[0]
    if not empty_dirs:
        return "failed", f"deployment {args.deployment}: {TEMPLATE}.volumes has no emptyDir volume for the sidecar and the app to share", []
    if not any(shared(sidecar) & shared(c) for _, c in app):
        mounts = ", ".join(sorted(shared(sidecar))) or "no emptyDir"
        app_mounts = ", ".join(sorted({m for _, c in app for m in shared(c)})) or "no emptyDir"
        return "failed", (f"deployment {args.deployment}: the sidecar {sidecar.get('name')} (initContainers[{index}]) mounts "
                          f"{mounts} and the app's containers mount {app_mounts}: they share no emptyDir volume"), []
    crashing = _sidecar_crashing(context, args.namespace, deployment, str(sidecar.get("name")))
    if crashing:
        return "failed", crashing[0], crashing[1]
    status, message, details = _rolled_out(context, args.namespace, args.deployment, args.says)
    if status != "passed":
        return status, message, details
    return "passed", (f"deployment {args.deployment} runs sidecar {sidecar.get('name')} (an init container with "
                      "restartPolicy: Always) sharing an emptyDir with the app, and has rolled out"), []


KINDS = (
    CheckKind(model=ContainerResources, run=container_resources, watches=("deployments", "replicasets", "pods"), prerequisite=True),
    CheckKind(model=ProbesConfigured, run=probes_configured, watches=("deployments", "replicasets", "pods", "events")),
    CheckKind(model=NativeSidecar, run=native_sidecar, watches=("deployments", "replicasets", "pods")),
)
