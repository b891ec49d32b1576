"""``pods-placed``: where a workload's pods landed, and why they did not land where the step wants.

Pods that wait (Pending, no node) are explained node by node with the scheduler's own filters
(:mod:`.why`) beside the scheduler's message. Pods that landed on the wrong node are explained
by the classic mistakes: a toleration taken for an attraction (it lets a pod onto a tainted node,
it never draws it there), a node kept for a workload without a taint keeping the others off,
replicas left unspread for want of anti-affinity (or with only a preferred one).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import Field

from labrunner.cluster import errors
from labrunner.lab.check_args import CheckArgs
from labrunner.lab.fields import KubeName, Labels
from labrunner.registry.types import CheckContext, CheckKind, Outcome
from labrunner.topics.basics.selectors import labels_text
from labrunner.topics.scheduling.why import taint_text, tolerated_by, why_pending

SHOWN = 2
"""Pending pods explained node by node (the others of the workload wait for the same reasons)."""


class PodsPlaced(CheckArgs):
    """At least ``count`` pods of ``namespace`` with ``labels`` are scheduled (and, with
    ``running``, Running), each on a node whose labels include all of ``on`` and none of ``off``;
    with ``spread``, over at least that many distinct nodes."""

    kind: Literal["pods-placed"]
    namespace: KubeName
    labels: Labels = Field(min_length=1)
    count: int = Field(default=1, ge=1)
    on: Labels = {}
    off: Labels = {}
    spread: int | None = Field(default=None, ge=2)
    enforced: bool = False
    """With ``spread``: a rule keeps the pods apart (required podAntiAffinity on kubernetes.io/hostname
    selecting their own labels, or a topologySpreadConstraint on it with DoNotSchedule), not only the
    scheduler's scores."""
    running: bool = True


Obj = dict[str, Any]


def _live(pod: Mapping[str, Any]) -> bool:
    return not (pod.get("metadata") or {}).get("deletionTimestamp") and (pod.get("status") or {}).get("phase") not in ("Succeeded", "Failed")


def _node_labels(nodes: list[Obj]) -> dict[str, dict[str, str]]:
    return {n["metadata"]["name"]: dict((n.get("metadata") or {}).get("labels") or {}) for n in nodes}


def _scheduler_says(pod: Mapping[str, Any]) -> str:
    for condition in (pod.get("status") or {}).get("conditions") or ():
        if condition.get("type") == "PodScheduled" and condition.get("status") == "False" and condition.get("message"):
            return str(condition["message"])
    return ""


def _pending(context: CheckContext, pending: list[Obj], nodes: list[Obj]) -> list[str]:
    from labrunner.sandbox.scheduling.framework import Snapshot

    try:
        everything = context.cluster.list("pods")
        namespaces = {n["metadata"]["name"]: dict((n.get("metadata") or {}).get("labels") or {})
                      for n in context.cluster.list("namespaces")}
    except errors.ClusterError:
        everything, namespaces = pending, {}
    snapshot = Snapshot.build(nodes, everything, namespace_labels=namespaces)
    details: list[str] = []
    said: list[list[str]] = []
    same = 0
    for pod in pending:
        lines = why_pending(pod, snapshot)
        if lines in said:
            same += 1
            continue
        if len(said) == SHOWN:
            continue
        said.append(lines)
        details.append(f"pod {pod['metadata']['name']} waits for a node:")
        details += [f"  {line}" for line in lines]
        if says := _scheduler_says(pod):
            details.append(f"  the scheduler says: {says}")
    others = len(pending) - len(said) - same
    if same:
        details.append(f"{same} more pod(s) wait for the same reasons")
    if others > 0:
        details.append(f"and {others} more pod(s) waiting")
    return details


def _elsewhere(context: CheckContext, args: PodsPlaced) -> list[str]:
    """Pods with those labels in other namespaces (a manifest applied without -n)."""
    try:
        found = context.cluster.list("pods", labels=labels_text(args.labels))
    except errors.ClusterError:
        return []
    counts: dict[str, int] = {}
    for pod in found:
        namespace = str((pod.get("metadata") or {}).get("namespace"))
        if namespace != args.namespace and _live(pod) and all(((pod.get("metadata") or {}).get("labels") or {}).get(k) == v
                                                           for k, v in args.labels.items()):
            counts[namespace] = counts.get(namespace, 0) + 1
    return [f"{count} pod(s) with labels {labels_text(args.labels)} run in namespace {namespace}: made without -n {args.namespace}?"
            for namespace, count in sorted(counts.items())]


def _refused(context: CheckContext, namespace: str) -> list[str]:
    """Why a controller made fewer pods than asked: the API server refused them (a ResourceQuota,
    a LimitRange), as its latest FailedCreate event says."""
    try:
        events = [e for e in context.cluster.events(namespace) if e.get("reason") == "FailedCreate"]
    except errors.ClusterError:
        return []
    if not events:
        return []
    last = max(events, key=lambda e: str(e.get("lastTimestamp") or e.get("eventTime") or ""))
    owner = last.get("involvedObject") or {}
    return [f"{owner.get('kind', 'the controller')} {owner.get('name', '')} could not create them: {last.get('message')}"]


def _attracted(pod: Mapping[str, Any], key: str) -> bool:
    """Whether the pod asks for nodes by ``key`` (nodeSelector or required node affinity)."""
    spec = pod.get("spec") or {}
    if key in (spec.get("nodeSelector") or {}):
        return True
    required = ((spec.get("affinity") or {}).get("nodeAffinity") or {}).get("requiredDuringSchedulingIgnoredDuringExecution") or {}
    return any(requirement.get("key") == key for term in required.get("nodeSelectorTerms") or ()
               for requirement in term.get("matchExpressions") or ())


def _misplaced(args: PodsPlaced, pods: list[Obj], nodes: list[Obj]) -> list[str]:
    labels_of = _node_labels(nodes)
    taints_of = {n["metadata"]["name"]: list((n.get("spec") or {}).get("taints") or ()) for n in nodes}
    details: list[str] = []
    for pod in pods:
        node = str((pod.get("spec") or {}).get("nodeName") or "")
        has = labels_of.get(node, {})
        lacks = {k: v for k, v in args.on.items() if has.get(k) != v}
        holds = {k: v for k, v in args.off.items() if has.get(k) == v}
        name = pod["metadata"]["name"]
        if lacks:
            details.append(f"pod {name} runs on node {node}, which lacks {labels_text(lacks)}")
            wanted = [n for n, labels in labels_of.items() if all(labels.get(k) == v for k, v in args.on.items())]
            unasked = [k for k in lacks if not _attracted(pod, k)]
            tolerated = [t for n in wanted for t in taints_of.get(n, ()) if tolerated_by(pod, t)]
            if unasked and tolerated:
                details.append(f"  the pods tolerate {taint_text(tolerated[0])}, but nothing draws them to "
                               f"{', '.join(wanted)}: a toleration lets a pod onto a tainted node, it never attracts it "
                               f"there; add nodeSelector {labels_text({k: args.on[k] for k in unasked})} (or required node affinity)")
            elif unasked:
                details.append(f"  the pods ask for no node with {labels_text({k: args.on[k] for k in unasked})}: add a nodeSelector "
                               "or required node affinity")
        if holds:
            details.append(f"pod {name} runs on node {node}, which has {labels_text(holds)}: this step keeps it off such nodes")
            taints = [t for t in taints_of.get(node, ()) if t.get("effect") in ("NoSchedule", "NoExecute")]
            if not taints:
                details.append(f"  node {node} has no taint to keep other pods off: kubectl taint node {node} "
                               f"{labels_text(holds)}:NoSchedule")
            elif all(tolerated_by(pod, t) for t in taints):
                details.append(f"  the pods tolerate the node's taint {taint_text(taints[0])}, so it does not keep them off")
            elif not [t for t in taints if t.get("effect") == "NoExecute" and not tolerated_by(pod, t)]:
                owner = _owner_text(pod)
                details.append(f"  the taint {taint_text(taints[0])} came after the pod: NoSchedule keeps new pods off but never "
                               f"moves running ones; start them again{owner}")
    return details


def _owner_text(pod: Mapping[str, Any]) -> str:
    """How to start a pod's workload again: ``kubectl rollout restart deployment/web``."""
    owner = next(iter((pod.get("metadata") or {}).get("ownerReferences") or ()), None)
    if owner is None:
        return " (delete the pod and create it again)"
    if owner.get("kind") == "ReplicaSet":
        deployment = str(owner.get("name", "")).rsplit("-", 1)[0]
        return f" (kubectl rollout restart deployment/{deployment})"
    return f" (kubectl rollout restart {str(owner.get('kind', '')).lower()}/{owner.get('name')})"


def _unspread(args: PodsPlaced, pods: list[Obj]) -> list[str]:
    per_node: dict[str, int] = {}
    for pod in pods:
        node = str((pod.get("spec") or {}).get("nodeName") or "")
        per_node[node] = per_node.get(node, 0) + 1
    if args.spread is None:
        return []
    if len(per_node) >= args.spread:
        return _unenforced(args, pods[0]) if args.enforced else []
    counts = ", ".join(f"{node}: {count}" for node, count in sorted(per_node.items()))
    details = [f"{len(pods)} pod(s) run on {len(per_node)} node(s) ({counts}); this step wants them on at least {args.spread}"]
    spec = pods[0].get("spec") or {}
    anti = (spec.get("affinity") or {}).get("podAntiAffinity") or {}
    if spec.get("topologySpreadConstraints"):
        details.append("  their topologySpreadConstraints allow this: check maxSkew, topologyKey and whenUnsatisfiable")
    elif anti.get("requiredDuringSchedulingIgnoredDuringExecution"):
        terms = anti["requiredDuringSchedulingIgnoredDuringExecution"]
        keys = ", ".join(sorted({str(term.get("topologyKey")) for term in terms}))
        details.append(f"  their required podAntiAffinity (topologyKey {keys}) does not keep them apart: does its labelSelector "
                       f"match the pods' own labels ({labels_text(args.labels)})?")
    elif anti.get("preferredDuringSchedulingIgnoredDuringExecution"):
        details.append("  their podAntiAffinity is only preferred: a wish the scheduler may set aside; required is a rule")
    else:
        details.append("  nothing spreads them: add podAntiAffinity (required, topologyKey kubernetes.io/hostname) or "
                       "topologySpreadConstraints")
    return details


HOSTNAME = "kubernetes.io/hostname"


def _selects_own(selector: Mapping[str, Any], labels: Mapping[str, str]) -> bool:
    if any(labels.get(k) != v for k, v in (selector.get("matchLabels") or {}).items()):
        return False
    for expression in selector.get("matchExpressions") or ():
        key, operator, values = expression.get("key"), expression.get("operator"), expression.get("values") or []
        if (operator == "In" and labels.get(key) not in values) or (operator == "Exists" and key not in labels) \
                or (operator == "NotIn" and labels.get(key) in values) or (operator == "DoesNotExist" and key in labels):
            return False
    return bool(selector)


def _unenforced(args: PodsPlaced, pod: Mapping[str, Any]) -> list[str]:
    """Spread over enough nodes, but by the scheduler's scores only: say what rule is missing."""
    spec = pod.get("spec") or {}
    labels = (pod.get("metadata") or {}).get("labels") or {}
    required = ((spec.get("affinity") or {}).get("podAntiAffinity") or {}).get("requiredDuringSchedulingIgnoredDuringExecution") or []
    if any(term.get("topologyKey") == HOSTNAME and _selects_own(term.get("labelSelector") or {}, labels) for term in required):
        return []
    if any(c.get("topologyKey") == HOSTNAME and c.get("whenUnsatisfiable", "DoNotSchedule") == "DoNotSchedule"
           and _selects_own(c.get("labelSelector") or {}, labels) for c in spec.get("topologySpreadConstraints") or ()):
        return []
    lines = [f"the pods are on {args.spread} or more nodes now only because the scheduler's scores spread them: no rule keeps "
             "them apart"]
    if required:
        term = required[0]
        if term.get("topologyKey") != HOSTNAME:
            lines.append(f"  their required podAntiAffinity has topologyKey {term.get('topologyKey')}, not {HOSTNAME}")
        else:
            lines.append(f"  their required podAntiAffinity selects {term.get('labelSelector')}, but the pods are labelled "
                         f"{labels_text(labels)}")
    elif ((spec.get("affinity") or {}).get("podAntiAffinity") or {}).get("preferredDuringSchedulingIgnoredDuringExecution"):
        lines.append("  their podAntiAffinity is only preferred: a wish the scheduler may set aside; required is a rule")
    else:
        lines.append(f"  add podAntiAffinity required on topologyKey {HOSTNAME} selecting {labels_text(args.labels)}, or a "
                     "topologySpreadConstraint with whenUnsatisfiable: DoNotSchedule")
    return lines


def _waiting_reason(pod: Mapping[str, Any]) -> str:
    for status in (pod.get("status") or {}).get("containerStatuses") or ():
        waiting = (status.get("state") or {}).get("waiting") or {}
        if waiting.get("reason"):
            return f" ({status.get('name')}: {waiting['reason']})"
    return ""


def pods_placed(args: PodsPlaced, context: CheckContext) -> Outcome:
    selector = labels_text(args.labels)
    pods = [p for p in context.cluster.list("pods", args.namespace, labels=selector)
            if _live(p) and all(((p.get("metadata") or {}).get("labels") or {}).get(k) == v for k, v in args.labels.items())]
    nodes = context.cluster.list("nodes")
    pending = [p for p in pods if not (p.get("spec") or {}).get("nodeName")]
    placed = [p for p in pods if (p.get("spec") or {}).get("nodeName")]
    if len(pods) < args.count:
        sentence = f"{len(pods)} pod(s) with labels {selector} in {args.namespace}; this step wants at least {args.count}"
        return "failed", sentence, (_refused(context, args.namespace) + _elsewhere(context, args)
                                    + (_pending(context, pending, nodes) if pending else []))
    if pending:
        return "failed", f"{len(pending)} of {len(pods)} pod(s) with labels {selector} wait for a node", _pending(context, pending, nodes)
    if misplaced := _misplaced(args, placed, nodes):
        return "failed", f"pods with labels {selector} run where this step does not want them", misplaced
    if unspread := _unspread(args, placed):
        return "failed", f"pods with labels {selector} are not spread over {args.spread} nodes", unspread
    if args.running and (starting := [p for p in placed if (p.get("status") or {}).get("phase") != "Running"]):
        return "failed", f"{len(starting)} pod(s) with labels {selector} are placed but not Running yet", [
            f"pod {p['metadata']['name']} on {p['spec']['nodeName']}: {(p.get('status') or {}).get('phase', 'Pending')}{_waiting_reason(p)}"
            for p in starting[:3]]
    where = sorted({str(p["spec"]["nodeName"]) for p in placed})
    return "passed", f"{len(placed)} pod(s) with labels {selector} run on {', '.join(where)}", []


KINDS = (CheckKind(model=PodsPlaced, run=pods_placed, watches=("pods", "nodes")),)
