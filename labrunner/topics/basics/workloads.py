"""Workloads: a Deployment or DaemonSet ready, and why not when it is not."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import Field

from labrunner.checks.causes import Cause, Finding, about_in, evidence, root_first
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
    """Why a workload's pods are not ready, the cause of the others first, and whether they are
    merely still starting."""
    findings, starting = pod_findings(cluster, namespace, selector)
    return [_whole(f) for f in root_first(findings)], starting


def _whole(finding: Finding) -> str:
    """A finding said alone in one line, its evidence folded in (``aside``)."""
    return finding.aside or finding.sentence


def pod_findings(cluster: ClusterPort, namespace: str, selector: Mapping[str, Any] | None,
                 pods: list[dict[str, Any]] | None = None) -> tuple[list[Finding], bool]:
    """What keeps each of a workload's pods (``pods``, or those ``selector`` picks) from being
    ready, as findings with their cause (an image that cannot be pulled, a Secret not found, a
    crash, a failing readiness probe), and whether they are merely still starting."""
    if pods is None:
        pods = cluster.list("pods", namespace, labels=selector_text(selector))
    problems: list[Finding] = []
    starting = False
    for pod in pods:
        name = pod["metadata"]["name"]
        status = pod.get("status") or {}
        if not (pod.get("spec") or {}).get("nodeName") and status.get("phase") == "Pending":
            reasons = [c.get("message") for c in status.get("conditions") or [] if c.get("type") == "PodScheduled" and c.get("message")]
            said = reasons[0] if reasons else "not scheduled yet"
            about = about_in(said)
            problems.append(Finding(Cause.MISSING if about else Cause.SCHEDULING, f"pod {name} is Pending: {said}", rank=1, about=about))
            continue
        for container in status.get("containerStatuses") or []:
            waiting = (container.get("state") or {}).get("waiting") or {}
            reason = waiting.get("reason")
            if reason in ("ErrImagePull", "ImagePullBackOff"):
                said = f"pod {name} cannot pull image {container.get('image')!r} ({reason})"
                problems.append(Finding(Cause.MISSING, said, ("check the image name and tag",), rank=3,
                                        about=f"image/{container.get('image')}", aside=f"{said}: check the image name and tag"))
            elif reason == "CrashLoopBackOff":
                try:
                    tail = cluster.logs(name, namespace, container=container.get("name"), tail=5).strip().splitlines()
                except errors.ClusterError:
                    tail = []
                said = f"container {container.get('name')} of pod {name} keeps crashing (CrashLoopBackOff)"
                lines = "last log lines: " + " | ".join(tail)
                problems.append(Finding(Cause.CRASH, said, (lines,) if tail else (), aside=f"{said}: {lines}" if tail else ""))
            elif reason == "CreateContainerConfigError":
                message = str(waiting.get("message", reason))
                problems.append(Finding(Cause.MISSING, f"pod {name}: {message}", rank=4, about=about_in(message)))
            elif reason == "CreateContainerError":
                problems.append(Finding(Cause.CRASH, f"pod {name}: {waiting.get('message', reason)}"))
            elif "running" in (container.get("state") or {}) and not container.get("ready") \
                    and (failing := _readiness_failure(cluster, namespace, pod, str(container.get("name")))):
                problems.append(failing)
            elif reason == "ContainerCreating" or not container.get("ready"):
                starting = True
    return problems, starting


def template_findings(cluster: ClusterPort, namespace: str, spec: Mapping[str, Any]) -> list[Finding]:
    """The objects a pod template refers to that do not exist in ``namespace``, in the order
    Kubernetes meets them: its ServiceAccount (the API server refuses the pods), its claims (no
    node takes them), its ConfigMap and Secret volumes (the kubelet cannot mount them), the
    ConfigMaps and Secrets its containers read (they cannot be created). References marked
    ``optional`` are left out; an object the learner may not read is not claimed missing."""
    seen: dict[tuple[str, str], bool] = {}

    def absent(plural: str, name: str) -> bool:
        if (plural, name) not in seen:
            try:
                cluster.get(plural, name, namespace)
                seen[(plural, name)] = False
            except errors.NotFound:
                seen[(plural, name)] = True
            except errors.ClusterError:
                seen[(plural, name)] = False
        return seen[(plural, name)]

    found: list[Finding] = []

    def missing(rank: int, plural: str, word: str, name: Any, how: str) -> None:
        if isinstance(name, str) and name and absent(plural, name) and not any(f.about == f"{word}/{name}" for f in found):
            found.append(Finding(Cause.MISSING, f"they {how}, which does not exist in {namespace}", rank=rank,
                                 about=f"{word}/{name}", whole=True, aside=f"its pods also {how}, which does not exist in {namespace}"))

    account = spec.get("serviceAccountName") or spec.get("serviceAccount")
    if account and account != "default":
        missing(0, "serviceaccounts", "serviceaccount", account, f"run as serviceaccount {account}")
    volumes = spec.get("volumes") or []
    for volume in volumes:
        claim = (volume.get("persistentVolumeClaim") or {}).get("claimName")
        missing(1, "persistentvolumeclaims", "persistentvolumeclaim", claim, f"mount persistentvolumeclaim {claim} (volume {volume.get('name')})")
    for volume in volumes:
        sources = [("configmaps", "configmap", volume.get("configMap"), "name"), ("secrets", "secret", volume.get("secret"), "secretName")]
        for source in (volume.get("projected") or {}).get("sources") or []:
            sources += [("configmaps", "configmap", source.get("configMap"), "name"), ("secrets", "secret", source.get("secret"), "name")]
        for plural, word, ref, key in sources:
            if isinstance(ref, dict) and not ref.get("optional"):
                missing(2, plural, word, ref.get(key), f"mount {word} {ref.get(key)} (volume {volume.get('name')})")
    for container in (spec.get("initContainers") or []) + (spec.get("containers") or []):
        for variable in container.get("env") or []:
            source = variable.get("valueFrom") or {}
            for plural, word, ref in (("configmaps", "configmap", source.get("configMapKeyRef")), ("secrets", "secret", source.get("secretKeyRef"))):
                if isinstance(ref, dict) and not ref.get("optional"):
                    missing(4, plural, word, ref.get("name"), f"read {word} {ref.get('name')} (env {variable.get('name')})")
        for source in container.get("envFrom") or []:
            for plural, word, ref in (("configmaps", "configmap", source.get("configMapRef")), ("secrets", "secret", source.get("secretRef"))):
                if isinstance(ref, dict) and not ref.get("optional"):
                    missing(4, plural, word, ref.get("name"), f"read {word} {ref.get('name')} (envFrom)")
    return found


def refused_findings(cluster: ClusterPort, namespace: str, owner: Mapping[str, Any]) -> list[Finding]:
    """The controller's ``FailedCreate`` events for ``owner`` (a ReplicaSet, a StatefulSet, a
    DaemonSet): the API server refused its pods (a ServiceAccount that does not exist, a quota)."""
    try:
        events = cluster.events(namespace, involved=owner["metadata"]["name"])
    except errors.ClusterError:
        return []
    said = [str(e.get("message", "")) for e in events if e.get("reason") == "FailedCreate"]
    if not said:
        return []
    about = about_in(said[-1])
    return [Finding(Cause.MISSING if about else Cause.REFUSED, f"{owner.get('kind', 'replicaset').lower()} {owner['metadata']['name']} "
                    f"cannot create pods: {said[-1]}", about=about)]


def workload_findings(cluster: ClusterPort, namespace: str, workload: Mapping[str, Any]) -> tuple[list[Finding], bool]:
    """Everything that keeps a workload's pods from being ready, the cause of the others first:
    what its pod template refers to and does not exist, its controller's refusals, then each
    pod's state; and whether its pods are merely still starting."""
    spec = workload.get("spec") or {}
    findings = template_findings(cluster, namespace, ((spec.get("template") or {}).get("spec")) or {})
    owners: list[Mapping[str, Any]] = [workload]
    pods = cluster.list("pods", namespace, labels=selector_text(spec.get("selector")))
    old: list[dict[str, Any]] = []
    if workload.get("kind") == "Deployment":
        uid = workload["metadata"].get("uid")
        owners = [rs for rs in cluster.list("replicasets", namespace, labels=selector_text(spec.get("selector")))
                  if any(ref.get("uid") == uid for ref in rs["metadata"].get("ownerReferences") or [])]
        owners = sorted(owners, key=_revision)[-1:]
        newest = ((owners[0]["metadata"].get("labels") or {}).get("pod-template-hash") if owners else None)
        if newest:  # the pods of older revisions show what was wrong before: said after the newest's
            old = [p for p in pods if (p["metadata"].get("labels") or {}).get("pod-template-hash") not in (newest, None)]
            pods = [p for p in pods if p not in old]
    for owner in owners:
        findings += refused_findings(cluster, namespace, {"kind": owner.get("kind", "ReplicaSet"), **owner})
    current, starting = pod_findings(cluster, namespace, None, pods)
    ordered = root_first(findings + current)
    if not ordered:  # the newest pods are fine or starting: older ones on their way out are no reason
        return [], starting or bool(old)
    before, _ = pod_findings(cluster, namespace, None, old) if old else ([], False)
    return ordered + [Finding(Cause.COUNT, f"{_whole(f)} (a pod of an earlier revision)", rank=1) for f in root_first(before)], starting


def _revision(obj: Mapping[str, Any]) -> int:
    try:
        return int(((obj.get("metadata") or {}).get("annotations") or {}).get("deployment.kubernetes.io/revision", 0))
    except ValueError:
        return 0


def said_first(subject: str, state: str, finding: Finding) -> str:
    """A workload's first sentence: a finding about its pod template as what its pods cannot do
    (``deployment mysql's pods cannot start: they read secret mysql-root (env ...), which does
    not exist in networkdemo``), any other after the workload's state (``deployment mysql has
    0/1 ready replica(s): pod ... cannot pull image ...``)."""
    if finding.whole:
        return f"{subject}'s pods cannot start: {finding.sentence}"
    return f"{subject} {state}: {finding.sentence}"


def _readiness_failure(cluster: ClusterPort, namespace: str, pod: Mapping[str, Any], container: str) -> Finding | None:
    """A running container kept out of its Services by its readiness probe, said as the probe it
    is (``tcpSocket`` port 8080), with what the kubelet saw (the last ``Readiness probe failed``
    event) and the ports the container declares as evidence; None when no probe failed (it is
    starting)."""
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
    seen = str(said[-1]).removeprefix("Readiness probe failed: ")
    declared = f"the container declares port(s) {ports}" if ports else ""
    fix = "fix the probe in the Deployment's pod template (a new pod replaces this one)"
    return Finding(Cause.NOT_READY, f"container {container} of pod {name} fails its readinessProbe ({_probe_text(probe)})",
                   (f"it runs, but the kubelet's probe fails: {seen}", *([declared] if declared else []), fix),
                   aside=f"container {container} of pod {name} runs but is not ready: its readinessProbe ({_probe_text(probe)}) "
                         f"fails: {seen}" + (f"; {declared}" if declared else "") + f"; {fix}")


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
    findings, _ = workload_findings(cluster, namespace, {"kind": "Deployment", **deployment})
    if findings and ready >= wanted:  # a rollout stuck behind pods that still serve, said as kubectl rollout status says it
        progress = (f"{updated} out of {wanted} new replicas have been updated" if updated < wanted
                    else f"{total - updated} old replica(s) are pending termination" if total > updated
                    else f"{available} of {updated} updated replicas are available")
        first, stuck = findings[0], f"its rollout is stuck ({progress}; the old pods still serve)"
        if first.whole:
            return "failed", f"deployment {args.name}'s new pods cannot start: {first.sentence}", [stuck, *evidence(findings)]
        return "failed", f"deployment {args.name}'s rollout is stuck: {first.sentence}", evidence(findings, then=[stuck])
    if findings:
        return "failed", said_first(f"deployment {args.name}", f"has {ready}/{wanted} ready replica(s)", findings[0]), evidence(findings)
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
        findings, _ = workload_findings(cluster, namespace, {"kind": "DaemonSet", **daemon_set})
        if findings:
            return "failed", said_first(f"daemonset {args.name}", f"is ready on {ready}/{desired} node(s)", findings[0]), evidence(findings)
        return "pending", f"daemonset {args.name} is ready on {ready}/{desired} node(s)", []
    return "failed", f"daemonset {args.name} does not exist in {' or '.join(candidates(args.namespace))}", []


KINDS = (
    CheckKind(model=DeploymentReady, run=deployment_ready, watches=("deployments", "pods"), prerequisite=True),
    CheckKind(model=DaemonSetReady, run=daemonset_ready, watches=("daemonsets", "pods"), prerequisite=True),
)
