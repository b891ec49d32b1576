"""What pods use, as the metrics API (metrics-server) reports it and ``kubectl top`` prints it:
``top-pod-saved`` (a file names the pod using the most CPU or memory) and ``metrics-served``
(the API answers at all: the ``metrics-api`` requirement)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from decimal import Decimal
from typing import Any, Literal

from pydantic import Field

from labrunner.cluster import errors
from labrunner.lab.check_args import CheckArgs
from labrunner.lab.fields import KubeName, Labels, NonEmptyStr
from labrunner.registry.types import CheckContext, CheckKind, Outcome
from labrunner.topics.basics.selectors import labels_text
from labrunner.topics.troubleshooting.common import quoted, read_learner_file
from labrunner.topics.workloads.common import quantity

METRICS = "pods.metrics.k8s.io"
NEAR = Decimal("0.1")
"""A pod within this share of the top figure counts as the top too: figures move between scrapes."""


class TopPodSaved(CheckArgs):
    """The file ``file`` holds the name of the pod in ``namespace`` (with ``labels``, when given)
    that uses the most ``resource`` (``cpu``, the default, or ``memory``), as the metrics API
    reports it."""

    kind: Literal["top-pod-saved"]
    file: NonEmptyStr
    """``~`` expanded; relative paths from where labrunner runs."""
    namespace: KubeName
    labels: Labels = Field(default_factory=dict)
    resource: Literal["cpu", "memory"] = "cpu"


class MetricsServed(CheckArgs):
    """The metrics API (``metrics.k8s.io``, served by metrics-server) answers."""

    kind: Literal["metrics-served"]


def _usage(item: Mapping[str, Any]) -> dict[str, Decimal]:
    """A PodMetrics' containers summed, as ``kubectl top pod`` sums them: cores and bytes."""
    total = {"cpu": Decimal(0), "memory": Decimal(0)}
    for container in item.get("containers") or []:
        for resource in total:
            total[resource] += quantity((container.get("usage") or {}).get(resource, "0")) or Decimal(0)
    return total


def _shown(resource: str, value: Decimal) -> str:
    """As ``kubectl top`` prints it: millicores rounded up (Quantity.MilliValue), whole mebibytes."""
    if resource == "cpu":
        return f"{math.ceil(value * 1000)}m CPU"
    return f"{int(value / 2**20)}Mi of memory"


def _read(context: CheckContext, namespace: str, labels: Mapping[str, str]) -> dict[str, dict[str, Decimal]] | tuple[str, list[str]]:
    """Each pod's usage, or why the metrics API gave none (a sentence and its details)."""
    try:
        items = context.cluster.list(METRICS, namespace, labels=labels_text(labels))
    except errors.NotFound:
        return "the cluster does not serve the metrics API (metrics.k8s.io)", ["kubectl top needs metrics-server installed"]
    except errors.ClusterError as error:
        return "the metrics API (metrics.k8s.io) did not answer", [str(error)]
    return {str(item["metadata"]["name"]): _usage(item) for item in items}


def top_pod_saved(args: TopPodSaved, context: CheckContext) -> Outcome:
    namespace, resource = args.namespace, args.resource
    other = "memory" if resource == "cpu" else "cpu"
    saved_file = read_learner_file(args.file)
    if saved_file.text is None:
        return "failed", saved_file.problem, []
    lines = [line.strip() for line in saved_file.lines if line.strip()]
    where = f"in {namespace}" + (f" labelled {labels_text(args.labels)}" if args.labels else "")
    usage = _read(context, namespace, args.labels)
    if isinstance(usage, tuple):
        return "error", usage[0], usage[1]
    running = [str(p["metadata"]["name"]) for p in context.cluster.list("pods", namespace, labels=labels_text(args.labels))
               if (p.get("status") or {}).get("phase") == "Running" and not p["metadata"].get("deletionTimestamp")]
    unmeasured = [pod for pod in running if pod not in usage]
    if not usage or unmeasured:
        return "pending", f"the metrics API has no figures yet for {', '.join(unmeasured) if usage else 'the pods ' + where}", [
            "metrics-server scrapes every 15 s; kubectl top pods shows them once it has"]
    top = max(usage, key=lambda pod: (usage[pod][resource], pod))
    best = usage[top][resource]
    told = f"the pod {where} using the most {'CPU' if resource == 'cpu' else 'memory'} is {top} ({_shown(resource, usage[top][resource])})"
    if not lines:
        return "failed", f"{saved_file.shown} is empty", []
    if len(lines) > 1:
        return "failed", f"{saved_file.shown} holds {len(lines)} lines; this step wants only the pod's name", [
            f"its first line: {quoted(lines[0])}", "kubectl top prints a table: take the NAME of its first row"]
    named = lines[0]
    bare = named.removeprefix("pod/").removeprefix("pods/")
    if "/" in bare and bare.split("/", 1)[0] == namespace:
        bare = bare.split("/", 1)[1]
    if named != bare and bare in usage:
        return "failed", f"{saved_file.shown} holds {named!r}; this step wants the pod's name alone, {bare!r}", []
    if named in usage:
        if named == top or usage[named][resource] >= best * (1 - NEAR):
            return "passed", f"{saved_file.shown} names {named}, {told.removeprefix('the ')}", []
        uses = f"it uses {_shown(resource, usage[named][resource])}"
        hint = (f"{told}: kubectl top pods -n {namespace}" + (f" -l {labels_text(args.labels)}" if args.labels else "")
                + f" --sort-by={resource} lists it first")
        by_other = max(usage, key=lambda pod: (usage[pod][other], pod))
        if named == by_other:
            most = f"the pod using the most {'memory' if other == 'memory' else 'CPU'}, not the most {resource.upper() if resource == 'cpu' else resource}"
            return "failed", f"{saved_file.shown} names {named}, {most}", [uses, hint]
        return "failed", f"{saved_file.shown} names {named}, which uses {_shown(resource, usage[named][resource])}; {top} uses more", [hint]
    owners = [pod for pod in usage if pod.startswith(named + "-")]
    if owners:
        return "failed", f"{saved_file.shown} names {named!r}, the workload; this step wants the name of its pod ({top})", []
    try:
        found = context.cluster.list("pods", None, fields=f"metadata.name={named}")
    except errors.ClusterError:
        found = []
    if found:
        pod = found[0]
        pod_namespace = pod["metadata"].get("namespace")
        if pod_namespace != namespace:
            return "failed", f"{saved_file.shown} names {named}, a pod of namespace {pod_namespace}; this step asks about {namespace}", [told]
        return "failed", f"{saved_file.shown} names {named}, which is not labelled {labels_text(args.labels)}", [told]
    return "failed", f"{saved_file.shown} names {named!r}, which is no pod {where}", ["it may have been replaced since", told]


def metrics_served(args: MetricsServed, context: CheckContext) -> Outcome:
    usage = _read(context, "kube-system", {})
    if isinstance(usage, tuple):
        return "failed", usage[0], usage[1]
    return "passed", "the metrics API answers: kubectl top works", []


KINDS = (
    CheckKind(model=TopPodSaved, run=top_pod_saved, watches=("pods",), polled=True),
    CheckKind(model=MetricsServed, run=metrics_served, observes=True),
)
