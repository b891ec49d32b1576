"""A Deployment rolled out as the step asks (replicas, image, strategy), or a rollout stuck
on an image that cannot be pulled; and why not, in the learner's terms."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import Field

from labrunner.cluster import errors
from labrunner.cluster.port import ClusterPort
from labrunner.lab.check_args import CheckArgs
from labrunner.lab.fields import KubeName
from labrunner.registry.types import CheckContext, CheckKind, Outcome
from labrunner.checks.causes import Cause, Finding, evidence, root_first
from labrunner.topics.basics.workloads import pod_problems, workload_findings
from labrunner.topics.workloads.common import TEMPLATE, containers, find, image_key, replica_sets


class DeploymentRollout(CheckArgs):
    """The Deployment ``name`` has rolled out completely: every replica updated, ready and
    available, none of an older ReplicaSet left, not paused; with the ``replicas``,
    ``image`` and rolling-update ``max_surge``/``max_unavailable`` given."""

    kind: Literal["deployment-rollout"]
    namespace: KubeName
    name: KubeName
    replicas: int | None = Field(default=None, ge=0)
    """Replicas its spec must ask for; omitted: whatever it asks."""
    image: str | None = None
    """The image a container of its pod template must run (``nginx:1.27``)."""
    container: KubeName | None = None
    """The container ``image`` applies to; omitted: any container."""
    max_surge: int | str | None = None
    """``spec.strategy.rollingUpdate.maxSurge`` (``1`` or ``"25%"``)."""
    max_unavailable: int | str | None = None
    """``spec.strategy.rollingUpdate.maxUnavailable``."""


class RolloutStuck(CheckArgs):
    """The Deployment's newest ReplicaSet cannot pull its image while pods of the previous
    one still serve: a failed rollout that the strategy kept from becoming an outage."""

    kind: Literal["rollout-stuck"]
    namespace: KubeName
    name: KubeName


_SCALED = re.compile(r"^Scaled (?:up|down) replica set (\S+) from (\d+) to (\d+)$")


def _replica_set_resized(cluster: ClusterPort, namespace: str, deployment: Mapping[str, Any], wanted: int) -> str | None:
    """The ReplicaSet someone scaled to ``wanted`` behind the Deployment's back (the Deployment
    then scaled it back: ``Scaled down replica set web-5d4 from 4 to 2``)."""
    try:
        events = cluster.events(namespace, involved=deployment["metadata"]["name"])
    except errors.ClusterError:
        return None
    current = int((deployment.get("spec") or {}).get("replicas", 1))
    scalings = [match.groups() for event in events if (match := _SCALED.match(str(event.get("message", ""))))]
    for index in range(len(scalings) - 1, -1, -1):
        name, before, after = scalings[index]
        if int(before) == wanted and int(after) == current:
            earlier = [int(to) for other, _, to in scalings[:index] if other == name]
            # The Deployment itself took it to `wanted` (then was scaled down, by kubectl or an HPA):
            # not a ReplicaSet sized by hand. With no earlier event, nothing is claimed.
            return name if earlier and earlier[-1] != wanted else None
    return None


def _autoscaled_by(cluster: ClusterPort, namespace: str, name: str) -> str | None:
    try:
        hpas = cluster.list("horizontalpodautoscalers", namespace)
    except errors.ClusterError:
        return None
    for hpa in hpas:
        ref = (hpa.get("spec") or {}).get("scaleTargetRef") or {}
        if ref.get("kind") == "Deployment" and ref.get("name") == name:
            spec = hpa.get("spec") or {}
            return f"hpa {hpa['metadata']['name']} (min {spec.get('minReplicas', 1)}, max {spec.get('maxReplicas')})"
    return None


def _template_mismatch(args: DeploymentRollout, deployment: Mapping[str, Any]) -> tuple[str, list[str]] | None:
    """What in the Deployment's spec is not as the step asks: the sentence and its evidence."""
    name = args.name
    if args.image is not None:
        chosen = containers(deployment, args.container)
        if not chosen:
            return f"deployment {name} has no container named {args.container!r} in {TEMPLATE}.containers", []
        if not any(image_key(str(c.get("image", ""))) == image_key(args.image) for _, c in chosen):
            index, first = chosen[0]
            return (f"deployment {name}: {TEMPLATE}.containers[{index}].image ({first.get('name')}) is "
                    f"{first.get('image')!r}; this step wants {args.image!r}"), []
    strategy = (deployment.get("spec") or {}).get("strategy") or {}
    if args.max_surge is not None or args.max_unavailable is not None:
        if strategy.get("type", "RollingUpdate") != "RollingUpdate":
            return (f"deployment {name}: spec.strategy.type is {strategy.get('type')!r}; this step wants RollingUpdate",
                    ["Recreate stops every old pod before starting new ones"])
        rolling = strategy.get("rollingUpdate") or {}
        for field, wanted in (("maxSurge", args.max_surge), ("maxUnavailable", args.max_unavailable)):
            have = rolling.get(field, "25%")
            if wanted is not None and str(have) != str(wanted):
                return f"deployment {name}: spec.strategy.rollingUpdate.{field} is {have!r}; this step wants {wanted!r}", []
    return None


def _edited_replica_set(cluster: ClusterPort, namespace: str, deployment: Mapping[str, Any], image: str | None) -> str | None:
    """A ReplicaSet of the Deployment whose template was edited to ``image`` by hand."""
    if image is None:
        return None
    for replica_set in replica_sets(cluster, deployment, namespace):
        if any(image_key(str(c.get("image", ""))) == image_key(image) for _, c in containers(replica_set)):
            return str(replica_set["metadata"]["name"])
    return None


def deployment_rollout(args: DeploymentRollout, context: CheckContext) -> Outcome:
    cluster, name, namespace = context.cluster, args.name, args.namespace
    deployment = find(cluster, "deployments", name, namespace)
    if deployment is None:
        return "failed", f"deployment {name} does not exist in {namespace}", []
    spec, status = deployment.get("spec") or {}, deployment.get("status") or {}
    replicas = int(spec.get("replicas", 1))
    if args.replicas is not None and replicas != args.replicas:
        resized = _replica_set_resized(cluster, namespace, deployment, args.replicas)
        if resized:
            return "failed", (f"deployment {name}: spec.replicas is {replicas}, not {args.replicas}: replicaset {resized} was "
                              f"scaled to {args.replicas} and the Deployment scaled it straight back to {replicas}"), [
                "a ReplicaSet a Deployment owns is the Deployment's to size: scale the Deployment "
                f"(kubectl scale deployment/{name} --replicas={args.replicas})"]
        autoscaler = _autoscaled_by(cluster, namespace, name)
        if autoscaler:
            return "failed", (f"deployment {name}: spec.replicas is {replicas}; this step wants {args.replicas}, but "
                              f"{autoscaler} sets it now"), ["a kubectl scale is undone at the autoscaler's next look"]
        return "failed", f"deployment {name}: spec.replicas is {replicas}; this step wants {args.replicas}", []
    mismatch = _template_mismatch(args, deployment)
    if mismatch:
        edited = _edited_replica_set(cluster, namespace, deployment, args.image)
        details = [f"replicaset {edited} has {args.image} in its template: a ReplicaSet's template is a copy the "
                   f"Deployment made; editing it starts no new pod, and the Deployment never reads it back. "
                   f"Change the Deployment (kubectl set image deployment/{name} ...)"] if edited else []
        return "failed", mismatch[0], [*details, *mismatch[1]]
    if spec.get("paused"):
        return "failed", f"deployment {name}: spec.paused is true: the rollout is paused", [
            "template changes wait and no new ReplicaSet is made", f"resume it: kubectl rollout resume deployment/{name}"]
    generation, observed = deployment["metadata"].get("generation"), status.get("observedGeneration")
    if generation is not None and (observed is None or int(observed) < int(generation)):
        return "pending", f"deployment {name} was changed and its controller has not caught up yet", []
    updated, ready = int(status.get("updatedReplicas", 0)), int(status.get("readyReplicas", 0))
    available, total = int(status.get("availableReplicas", 0)), int(status.get("replicas", 0))
    if updated >= replicas and ready >= replicas and available >= replicas and total == replicas:
        return "passed", f"deployment {name} has rolled out: {ready}/{replicas} ready, all of its newest ReplicaSet", []
    said = f"deployment {name} is rolling out: {updated}/{replicas} updated, {ready} ready, {total - updated} old pod(s) left"
    findings, _ = workload_findings(cluster, namespace, {"kind": "Deployment", **deployment})
    for condition in status.get("conditions") or []:
        if condition.get("type") == "Progressing" and condition.get("reason") == "ProgressDeadlineExceeded":
            # the rollout's state: said after what keeps its pods from being ready
            findings = root_first([*findings, Finding(Cause.COUNT, f"condition Progressing is False (ProgressDeadlineExceeded): "
                                                                   f"{condition.get('message')}")])
    if findings and findings[0].whole:
        return "failed", f"deployment {name}'s new pods cannot start: {findings[0].sentence}", [said, *evidence(findings)]
    if findings:  # the cause leads; the rollout's progress follows its evidence
        return "failed", f"deployment {name} is rolling out: {findings[0].sentence}", evidence(findings, then=[said])
    return "pending", said, []


def rollout_stuck(args: RolloutStuck, context: CheckContext) -> Outcome:
    cluster, name, namespace = context.cluster, args.name, args.namespace
    deployment = find(cluster, "deployments", name, namespace)
    if deployment is None:
        return "failed", f"deployment {name} does not exist in {namespace}", []
    owned = replica_sets(cluster, deployment, namespace)
    if len(owned) < 2:
        return "failed", f"deployment {name} has one ReplicaSet: nothing has been rolled out since it was created", []
    newest, previous = owned[-1], owned[:-1]
    problems, _ = pod_problems(cluster, namespace, (newest.get("spec") or {}).get("selector"))
    pulls = [p for p in problems if "cannot pull image" in p]
    images = ", ".join(str(c.get("image")) for _, c in containers(newest))
    if not pulls:
        return "failed", (f"deployment {name}'s newest replicaset {newest['metadata']['name']} ({images}) has no pod "
                          "failing to pull its image"), ["this step wants a rollout stuck on an image that does not exist"]
    serving = sum(int((rs.get("status") or {}).get("readyReplicas", 0)) for rs in previous)
    if not serving:
        strategy = (deployment.get("spec") or {}).get("strategy") or {}
        rolling = strategy.get("rollingUpdate") or {}
        has = f"spec.strategy.type {strategy.get('type', 'RollingUpdate')}" + (
            f", maxUnavailable {rolling['maxUnavailable']}" if "maxUnavailable" in rolling else "")
        return "failed", f"deployment {name}: no pod of an older ReplicaSet is ready: the bad image took the whole Deployment down", [
            f"is maxUnavailable 100%, or the strategy Recreate? (it has {has})", *pulls]
    return "passed", (f"deployment {name}'s rollout is stuck: replicaset {newest['metadata']['name']} ({images}) cannot "
                      f"pull its image while {serving} pod(s) of the previous version still serve"), pulls


KINDS = (
    CheckKind(model=DeploymentRollout, run=deployment_rollout, watches=("deployments", "replicasets", "pods"), prerequisite=True),
    CheckKind(model=RolloutStuck, run=rollout_stuck, watches=("deployments", "replicasets", "pods")),
)
