"""``node-state``: a node's taints, labels and cordon, and a node drained, with the classic
mistakes named (a taint of another effect or value, a label where a taint was meant, a Node
deleted instead of drained, DaemonSet pods left for ``--ignore-daemonsets``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from labrunner.cluster import errors
from labrunner.lab.check_args import CheckArgs
from labrunner.lab.fields import KubeName, LabelKey, Labels, LabelValue
from labrunner.registry.types import CheckContext, CheckKind, Outcome
from labrunner.topics.basics.selectors import labels_text
from labrunner.topics.scheduling.why import taint_text

Effect = Literal["NoSchedule", "PreferNoSchedule", "NoExecute"]


class TaintArgs(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)

    key: LabelKey
    value: LabelValue = ""
    effect: Effect


class NodeState(CheckArgs):
    """Node ``node`` has each of ``taints`` (key, value and effect), none with a key in
    ``untainted``, the ``labels`` given, and is cordoned or not as ``unschedulable`` says; with
    ``drained``, it is cordoned and runs no pod but DaemonSets' and static ones."""

    kind: Literal["node-state"]
    node: KubeName
    taints: list[TaintArgs] = []
    untainted: list[LabelKey] = []
    labels: Labels = {}
    unlabelled: list[LabelKey] = []
    unschedulable: bool | None = None
    drained: bool = False


Said = tuple[str, ...]
"""A mistake: the sentence that names it, then its evidence (why, the command that fixes it)."""


def _taint_problems(args: NodeState, node: Mapping[str, Any]) -> list[Said]:
    has = list((node.get("spec") or {}).get("taints") or ())
    name = args.node
    said = []
    for wanted in args.taints:
        want = {"key": wanted.key, "value": wanted.value, "effect": wanted.effect}
        if any(t.get("key") == wanted.key and (t.get("value") or "") == wanted.value and t.get("effect") == wanted.effect for t in has):
            continue
        same_key = [t for t in has if t.get("key") == wanted.key]
        if same_key:
            theirs = same_key[0]
            if theirs.get("effect") != wanted.effect:
                why = {"PreferNoSchedule": "PreferNoSchedule only discourages the scheduler; NoSchedule forbids",
                       "NoExecute": "NoExecute also evicts the pods already running there"}.get(str(theirs.get("effect")), "")
                said.append((f"node {name} has the taint {taint_text(theirs)}: this step wants effect {wanted.effect}",
                             *([why] if why else [])))
            else:
                said.append((f"node {name} has the taint {taint_text(theirs)}: this step wants the value {wanted.value or '(none)'}",))
            continue
        labels = (node.get("metadata") or {}).get("labels") or {}
        if labels.get(wanted.key) == wanted.value:
            said.append((f"node {name} has the label {wanted.key}={wanted.value} but not the taint {taint_text(want)}",
                         "a label lets pods choose the node, a taint keeps the others off",
                         f"kubectl taint node {name} {taint_text(want)}"))
        else:
            said.append((f"node {name} has no taint {taint_text(want)} (its taints: "
                         f"{', '.join(taint_text(t) for t in has) or 'none'})",))
    for key in args.untainted:
        said += [(f"node {name} still has the taint {taint_text(t)}", f"kubectl taint node {name} {key}- removes it")
                 for t in has if t.get("key") == key]
    return said


def _label_problems(args: NodeState, node: Mapping[str, Any]) -> list[Said]:
    labels = (node.get("metadata") or {}).get("labels") or {}
    said: list[Said] = []
    for key, value in sorted(args.labels.items()):
        if key not in labels:
            near = [k for k in labels if k.lower() == key.lower() or k.split("/")[-1] == key.split("/")[-1]]
            said.append((f"node {args.node} has no label {key}" + (f" (it has {near[0]}={labels[near[0]]})" if near else ""),))
        elif labels[key] != value:
            said.append((f"node {args.node} has {key}={labels[key]}; this step wants {key}={value}",))
    said += [(f"node {args.node} still has the label {key}={labels[key]}", f"kubectl label node {args.node} {key}- removes it")
             for key in args.unlabelled if key in labels]
    return said


def _stays(pod: Mapping[str, Any]) -> bool:
    """What drain leaves: DaemonSet pods (with --ignore-daemonsets), mirror pods, finished pods."""
    metadata = pod.get("metadata") or {}
    if any(ref.get("kind") == "DaemonSet" for ref in metadata.get("ownerReferences") or ()):
        return True
    if "kubernetes.io/config.mirror" in (metadata.get("annotations") or {}):
        return True
    return (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed") or bool(metadata.get("deletionTimestamp"))


def _drain_problems(args: NodeState, node: Mapping[str, Any], context: CheckContext) -> list[Said]:
    said: list[Said] = []
    if not (node.get("spec") or {}).get("unschedulable"):
        said.append((f"node {args.node} is not cordoned: drain cordons it first", f"kubectl drain {args.node} --ignore-daemonsets"))
    on_node = [p for p in context.cluster.list("pods", fields=f"spec.nodeName={args.node}") if (p.get("spec") or {}).get("nodeName") == args.node]
    left = [p for p in on_node if not _stays(p)]
    for pod in left[:3]:
        owner = next(iter((pod.get("metadata") or {}).get("ownerReferences") or ()), None)
        by = f" (owned by {owner.get('kind')} {owner.get('name')})" if owner else " (a bare pod: drain needs --force, and it is gone for good)"
        said.append((f"pod {pod['metadata']['namespace']}/{pod['metadata']['name']}{by} still runs on {args.node}",))
    if len(left) > 3:
        said.append((f"and {len(left) - 3} more pod(s)",))
    if left:
        said += [(cause,) for cause in _why_left(context, on_node, left, args.node)]
    return said


def _why_left(context: CheckContext, on_node: list[dict[str, Any]], left: list[dict[str, Any]], node: str) -> list[str]:
    """What stopped a drain: DaemonSet pods without --ignore-daemonsets, or a budget allowing no
    disruption for a pod that is left."""
    causes: list[str] = []
    daemons = [p for p in on_node if any(r.get("kind") == "DaemonSet" for r in (p.get("metadata") or {}).get("ownerReferences") or ())]
    if daemons:
        causes.append(f"kubectl drain stops at DaemonSet pods ({daemons[0]['metadata']['name']}) unless given --ignore-daemonsets: "
                      "they are left in place, their controller would put them back anyway")
    try:
        budgets = context.cluster.list("poddisruptionbudgets")
    except errors.ClusterError:
        budgets = []
    for budget in budgets:
        status = budget.get("status") or {}
        selector = ((budget.get("spec") or {}).get("selector") or {}).get("matchLabels") or {}
        covered = [p for p in left if p["metadata"].get("namespace") == budget["metadata"].get("namespace") and selector
                   and all(((p.get("metadata") or {}).get("labels") or {}).get(k) == v for k, v in selector.items())]
        if covered and not status.get("disruptionsAllowed"):
            causes.append(f"PodDisruptionBudget {budget['metadata']['namespace']}/{budget['metadata']['name']} allows no disruption "
                          f"now ({status.get('currentHealthy', 0)} healthy, {status.get('desiredHealthy', 0)} needed): the eviction of "
                          f"{covered[0]['metadata']['name']} is refused (429) until enough of its pods are ready elsewhere")
            break
    return causes


def node_state(args: NodeState, context: CheckContext) -> Outcome:
    try:
        node = context.cluster.get("nodes", args.node)
    except errors.NotFound:
        names = [n["metadata"]["name"] for n in context.cluster.list("nodes")]
        return "failed", f"node {args.node} does not exist", [
            f"the nodes are {', '.join(names) or 'none'}",
            "deleting a Node object is not draining it: its pods are gone without eviction, and its kubelet registers it again "
            "when it restarts; kubectl drain evicts the pods and cordons the node"]
    problems = _taint_problems(args, node) + _label_problems(args, node)
    cordoned = bool((node.get("spec") or {}).get("unschedulable"))
    if args.unschedulable is not None and cordoned != args.unschedulable:
        problems.append((f"node {args.node} is cordoned (spec.unschedulable: true): kubectl uncordon {args.node}",) if cordoned
                        else (f"node {args.node} is not cordoned: kubectl cordon {args.node}",))
    if args.drained:
        problems += _drain_problems(args, node, context)
    if problems:  # the first mistake is the sentence, its evidence and the others follow it
        return "failed", problems[0][0], [line for said in problems for line in said][1:]
    parts = [taint_text({"key": t.key, "value": t.value, "effect": t.effect}) for t in args.taints]
    parts += [labels_text(args.labels)] if args.labels else []
    parts += ["drained"] if args.drained else (["cordoned"] if args.unschedulable else [])
    return "passed", f"node {args.node} is as this step wants it" + (f": {', '.join(parts)}" if parts else ""), []


KINDS = (CheckKind(model=NodeState, run=node_state, watches=("nodes", "pods")),)
