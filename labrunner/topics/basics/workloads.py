"""Workloads: a Deployment or DaemonSet ready, and why not when it is not."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import Field

from labrunner.cluster import errors
from labrunner.cluster.port import ClusterPort
from labrunner.lab.check_args import CheckArgs
from labrunner.lab.fields import KubeName
from labrunner.registry.types import CheckContext, CheckKind, Outcome
from labrunner.topics.basics.selectors import selector_text


class DeploymentReady(CheckArgs):
    """The Deployment has ``replicas`` ready and available replicas; on failure the
    check says why (image pull error, crash loop with log lines, pending reason).
    ``namespace`` may list candidates when installers differ (kube-system or
    calico-system)."""

    kind: Literal["deployment-ready"]
    namespace: KubeName | list[KubeName]
    name: KubeName
    replicas: int | None = Field(default=None, ge=0)
    """Ready replicas required; omitted means "as many as the spec asks"."""


class DaemonSetReady(CheckArgs):
    """The DaemonSet runs a ready pod on every node it schedules to."""

    kind: Literal["daemonset-ready"]
    namespace: KubeName | list[KubeName]
    name: KubeName


def candidates(namespace: str | list[str] | tuple[str, ...]) -> list[str]:
    return list(namespace) if isinstance(namespace, (list, tuple)) else [namespace]


def pod_problems(cluster: ClusterPort, namespace: str, selector: Mapping[str, Any] | None) -> tuple[list[str], bool]:
    """Why a workload's pods are not ready, and whether they are merely still starting."""
    pods = cluster.list("pods", namespace, labels=selector_text(selector))
    problems, starting = [], False
    for pod in pods:
        name = pod["metadata"]["name"]
        status = pod.get("status") or {}
        if not (pod.get("spec") or {}).get("nodeName") and status.get("phase") == "Pending":
            reasons = [c.get("message") for c in status.get("conditions") or [] if c.get("type") == "PodScheduled" and c.get("message")]
            problems.append(f"pod {name} is Pending: {reasons[0] if reasons else 'not scheduled yet'}")
            continue
        for container in status.get("containerStatuses") or []:
            waiting = (container.get("state") or {}).get("waiting") or {}
            reason = waiting.get("reason")
            if reason in ("ErrImagePull", "ImagePullBackOff"):
                problems.append(f"pod {name} cannot pull image {container.get('image')!r} ({reason}): check the image name and tag")
            elif reason == "CrashLoopBackOff":
                try:
                    tail = cluster.logs(name, namespace, container=container.get("name"), tail=5).strip().splitlines()
                except errors.ClusterError:
                    tail = []
                problems.append(f"container {container.get('name')} of pod {name} keeps crashing (CrashLoopBackOff)"
                                + (": last log lines: " + " | ".join(tail) if tail else ""))
            elif reason in ("CreateContainerConfigError", "CreateContainerError"):
                problems.append(f"pod {name}: {waiting.get('message', reason)}")
            elif "running" in (container.get("state") or {}) and not container.get("ready") \
                    and (failing := _readiness_failure(cluster, namespace, pod, str(container.get("name")))):
                problems.append(failing)
            elif reason == "ContainerCreating" or not container.get("ready"):
                starting = True
    return problems, starting


def _readiness_failure(cluster: ClusterPort, namespace: str, pod: Mapping[str, Any], container: str) -> str | None:
    """A running container kept out of its Services by its readiness probe, said as the probe it
    is (``tcpSocket`` port 8080) beside what the kubelet saw (the last ``Readiness probe failed``
    event) and the ports the container declares; None when no probe failed (it is starting)."""
    spec: Mapping[str, Any] = next((c for c in (pod.get("spec") or {}).get("containers") or [] if c.get("name") == container), {})
    probe = spec.get("readinessProbe")
    if not isinstance(probe, dict):
        return None
    name = pod["metadata"]["name"]
    try:
        events = cluster.events(namespace, involved=name)
    except errors.ClusterError:
        return None
    said = [e.get("message", "") for e in events
            if e.get("reason") == "Unhealthy" and str(e.get("message", "")).startswith("Readiness probe failed")]
    if not said:
        return None
    ports = ", ".join(f"{p['name']}={p.get('containerPort')}" if p.get("name") else str(p.get("containerPort"))
                      for p in spec.get("ports") or [])
    return (f"container {container} of pod {name} runs but is not ready: its readinessProbe ({_probe_text(probe)}) fails: "
            f"{said[-1].removeprefix('Readiness probe failed: ')}"
            + (f"; the container declares port(s) {ports}" if ports else "")
            + "; fix the probe in the Deployment's pod template (a new pod replaces this one)")


def _probe_text(probe: Mapping[str, Any]) -> str:
    if isinstance(probe.get("tcpSocket"), dict):
        return f"tcpSocket port {probe['tcpSocket'].get('port')}"
    if isinstance(probe.get("httpGet"), dict):
        get = probe["httpGet"]
        return f"httpGet {get.get('path') or '/'} on port {get.get('port')}"
    if isinstance(probe.get("exec"), dict):
        return f"exec {' '.join(str(w) for w in probe['exec'].get('command') or [])}"
    return "a probe"


def deployment_ready(args: DeploymentReady, context: CheckContext) -> Outcome:
    cluster = context.cluster
    found = None
    for namespace in candidates(args.namespace):
        try:
            found = (namespace, cluster.get("deployments", args.name, namespace))
            break
        except errors.NotFound:
            continue
    if found is None:
        return "failed", f"deployment {args.name} does not exist in {' or '.join(candidates(args.namespace))}", []
    namespace, deployment = found
    spec, status = deployment.get("spec") or {}, deployment.get("status") or {}
    wanted = args.replicas if args.replicas is not None else int(spec.get("replicas", 1))
    if int(spec.get("replicas", 1)) != wanted:
        return "failed", f"deployment {args.name} asks for {spec.get('replicas', 1)} replica(s); this step wants {wanted}", []
    # kubectl rollout status's guard: a status older than the spec describes the previous
    # version of the Deployment (the learner's edit has not been seen by the controller yet).
    generation, observed = deployment["metadata"].get("generation"), status.get("observedGeneration")
    if generation is not None and (observed is None or int(observed) < int(generation)):
        return "pending", (f"deployment {args.name} was changed and its controller has not caught up yet "
                           f"(observedGeneration {observed if observed is not None else 'none'} < generation {generation})"), []
    ready = int(status.get("readyReplicas", 0))
    updated, total, available = (int(status.get(key, 0)) for key in ("updatedReplicas", "replicas", "availableReplicas"))
    # kubectl rollout status's test of a finished rollout: every replica updated, no old one
    # left, every updated one available (ready old pods alone do not make a rollout done)
    if ready >= wanted and updated >= wanted and total <= updated and available >= updated:
        return "passed", f"deployment {args.name} has {ready}/{wanted} ready replica(s)", []
    problems, _ = pod_problems(cluster, namespace, spec.get("selector"))
    if problems and ready >= wanted:  # a rollout stuck behind pods that still serve, said as kubectl rollout status says it
        progress = (f"{updated} out of {wanted} new replicas have been updated" if updated < wanted
                    else f"{total - updated} old replica(s) are pending termination" if total > updated
                    else f"{available} of {updated} updated replicas are available")
        return "failed", f"deployment {args.name}'s rollout is stuck ({progress}; the old pods still serve): {problems[0]}", problems[1:]
    if problems:
        return "failed", f"deployment {args.name} has {ready}/{wanted} ready replica(s): {problems[0]}", problems[1:]
    return "pending", f"deployment {args.name} has {ready}/{wanted} ready replica(s); its pods are starting", []


def daemonset_ready(args: DaemonSetReady, context: CheckContext) -> Outcome:
    cluster = context.cluster
    for namespace in candidates(args.namespace):
        try:
            daemon_set = cluster.get("daemonsets", args.name, namespace)
        except errors.NotFound:
            continue
        status = daemon_set.get("status") or {}
        desired, ready = int(status.get("desiredNumberScheduled", 0)), int(status.get("numberReady", 0))
        if desired and ready == desired:
            return "passed", f"daemonset {args.name} in {namespace} is ready on {ready}/{desired} node(s)", []
        problems, _ = pod_problems(cluster, namespace, (daemon_set.get("spec") or {}).get("selector"))
        if problems:
            return "failed", f"daemonset {args.name} is ready on {ready}/{desired} node(s): {problems[0]}", problems[1:]
        return "pending", f"daemonset {args.name} is ready on {ready}/{desired} node(s)", []
    return "failed", f"daemonset {args.name} does not exist in {' or '.join(candidates(args.namespace))}", []


KINDS = (
    CheckKind(model=DeploymentReady, run=deployment_ready, watches=("deployments", "pods"), prerequisite=True),
    CheckKind(model=DaemonSetReady, run=daemonset_ready, watches=("daemonsets", "pods"), prerequisite=True),
)
