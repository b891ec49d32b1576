"""Why a node cannot take a pod, said as an instructor would: the field of the pod or the node
responsible and its value, not only the scheduler's reason.

The verdicts are the scheduler's own filters (:mod:`labrunner.sandbox.scheduling`, pure functions
over pod and node dicts, kube-scheduler 1.32's plugins ported), run over what the cluster says;
this module turns each node's failing plugin into words: the taint the pod does not tolerate and
the toleration that almost does, the nodeSelector label the node lacks or holds with another
value, the requests beside what the node has left, the cordon, the pod that holds a host port or
that anti-affinity keeps away.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from labrunner.sandbox.scheduling.framework import Cycle, NodeInfo, Snapshot, Status, run_filters
from labrunner.sandbox.scheduling.matching import node_selector_matches, tolerates, untolerated_taint
from labrunner.sandbox.scheduling.requests import pod_requests

Obj = Mapping[str, Any]
CONTROL_PLANE = "node-role.kubernetes.io/control-plane"


def taint_text(taint: Obj) -> str:
    """``dedicated=gpu:NoSchedule``, ``node-role.kubernetes.io/control-plane:NoSchedule``."""
    value = taint.get("value") or ""
    return f"{taint.get('key', '')}{'=' + value if value else ''}:{taint.get('effect', '')}"


def toleration_text(toleration: Obj) -> str:
    operator = toleration.get("operator") or "Equal"
    key, value, effect = toleration.get("key") or "", toleration.get("value") or "", toleration.get("effect") or ""
    if operator == "Exists":
        text = f"{key or '(every key)'} Exists"
    else:
        text = f"{key}={value}"
    return text + f":{effect or '(every effect)'}"


def _near_toleration(tolerations: Sequence[Obj], taint: Obj) -> str:
    """What is wrong with the toleration meant for ``taint``: the one with its key."""
    for toleration in tolerations:
        if (toleration.get("key") or "") != taint.get("key"):
            continue
        effect = toleration.get("effect") or ""
        if effect and effect != taint.get("effect"):
            return (f"your toleration {toleration_text(toleration)} has effect {effect}, the taint's is "
                    f"{taint.get('effect')}: an effect must match (or be left out to match every effect)")
        operator = toleration.get("operator") or "Equal"
        if operator == "Equal" and (toleration.get("value") or "") != (taint.get("value") or ""):
            mine, theirs = toleration.get("value") or '""', taint.get("value") or '""'
            return (f"your toleration {toleration_text(toleration)} has value {mine}, the taint's is {theirs} "
                    "(operator Equal compares values; Exists ignores them)")
    for toleration in tolerations:
        key = toleration.get("key") or ""
        if key and key.lower() == str(taint.get("key", "")).lower() and key != taint.get("key"):
            return f"your toleration's key {key} is not the taint's key {taint.get('key')} (keys are case-sensitive)"
    if not tolerations:
        return "the pod has no tolerations"
    return "none of the pod's tolerations names its key " + str(taint.get("key"))


def _selector_misses(pod: Obj, node: Obj) -> list[str]:
    labels = ((node.get("metadata") or {}).get("labels") or {})
    misses = []
    for key, value in sorted(((pod.get("spec") or {}).get("nodeSelector") or {}).items()):
        if key not in labels:
            misses.append(f"nodeSelector {key}={value}: the node has no label {key}")
        elif labels[key] != value:
            misses.append(f"nodeSelector {key}={value}: the node has {key}={labels[key]}")
    return misses


def _affinity_misses(pod: Obj, node: Obj) -> list[str]:
    required = ((((pod.get("spec") or {}).get("affinity") or {}).get("nodeAffinity") or {})
                .get("requiredDuringSchedulingIgnoredDuringExecution") or {})
    terms = required.get("nodeSelectorTerms") or []
    if not terms or node_selector_matches(required, node):
        return []
    labels = ((node.get("metadata") or {}).get("labels") or {})
    said = []
    for index, term in enumerate(terms):
        for requirement in term.get("matchExpressions") or ():
            key, operator = requirement.get("key", ""), requirement.get("operator", "")
            values = ", ".join(str(v) for v in requirement.get("values") or ())
            has = f"{key}={labels[key]}" if key in labels else f"no label {key}"
            said.append(f"nodeAffinity term {index} wants {key} {operator}{' (' + values + ')' if values else ''}: the node has {has}")
    return said or ["no term of the pod's required nodeAffinity matches the node"]


def _quantity(name: str, value: int) -> str:
    """The scheduler counts cpu in millicores and memory in bytes."""
    if name == "cpu":
        return f"{value}m" if value % 1000 else str(value // 1000)
    if name in ("memory", "ephemeral-storage"):
        for unit, size in (("Gi", 1 << 30), ("Mi", 1 << 20), ("Ki", 1 << 10)):
            if value >= size and value % size == 0:
                return f"{value // size}{unit}"
        return str(value)
    return str(value)


def _resources(pod: Obj, info: NodeInfo) -> list[str]:
    asked = pod_requests(pod)
    allocatable = info.allocatable()
    said = []
    for name in sorted(asked):
        value = asked[name]
        free = allocatable.get(name, 0) - info.requested.get(name, 0)
        if value > 0 and value > free:
            others = len(info.pods)
            said.append(f"the pod requests {name} {_quantity(name, value)}; the node has {_quantity(name, max(free, 0))} left of "
                        f"{_quantity(name, allocatable.get(name, 0))} allocatable ({others} pod(s) on it request "
                        f"{_quantity(name, info.requested.get(name, 0))})")
    if len(info.pods) + 1 > allocatable.get("pods", 0):
        said.append(f"the node already runs {len(info.pods)} pods, its allocatable pods")
    return said


def node_reasons(pod: Obj, info: NodeInfo, status: Status) -> list[str]:
    """Why ``info``'s node cannot take ``pod``, given the scheduler's first failing plugin there."""
    node = info.node
    plugin = status.plugin
    if plugin == "NodeUnschedulable":
        return [f"it is cordoned (spec.unschedulable: true): kubectl uncordon {info.name} lets pods on again"]
    if plugin == "TaintToleration":
        tolerations = list((pod.get("spec") or {}).get("tolerations") or ())
        taint = untolerated_taint(info.taints, tolerations, ("NoSchedule", "NoExecute"))
        if taint is None:
            return list(status.reasons)
        if taint.get("key") == CONTROL_PLANE and not any(t.get("key") == CONTROL_PLANE for t in tolerations):
            return [f"it is a control plane ({taint_text(taint)}), kept for the cluster's own pods"]
        return [f"it has the taint {taint_text(taint)}, which the pod does not tolerate: {_near_toleration(tolerations, taint)}"]
    if plugin == "NodeAffinity":
        return _selector_misses(pod, node) + _affinity_misses(pod, node) or list(status.reasons)
    if plugin == "NodeResourcesFit":
        return _resources(pod, info) or list(status.reasons)
    if plugin == "NodePorts":
        return [f"another pod on it holds a hostPort the pod asks for ({status.reasons[0]})"]
    if plugin == "NodeName":
        return [f"the pod names another node in spec.nodeName ({(pod.get('spec') or {}).get('nodeName')})"]
    return [f"{reason} ({plugin})" if plugin else reason for reason in status.reasons]


def why_pending(pod: dict[str, Any], snapshot: Snapshot) -> list[str]:
    """One line per node: the node, and why it cannot take the pod (the scheduler's filters)."""
    from labrunner.sandbox.scheduling.filters import FILTERS

    feasible, statuses = run_filters(Cycle(pod, snapshot), FILTERS)
    lines = [f"node {name}: {'; '.join(node_reasons(pod, info, statuses[name]))}"
             for info in snapshot.nodes if (name := info.name) in statuses]
    if feasible:
        lines.append(f"node(s) {', '.join(info.name for info in feasible)} could take it now: the scheduler may not have "
                     "tried again yet")
    return lines


def tolerated_by(pod: Obj, taint: Obj) -> bool:
    return any(tolerates(toleration, taint) for toleration in (pod.get("spec") or {}).get("tolerations") or ())
