"""The default profile's score plugins and their weights (kube-scheduler 1.32): each gives every
feasible node 0-100, normalised as its Go source normalises, and the weighted sum ranks them.
ImageLocality (weight 1) is left out: the sandbox's nodes hold no images, so it would give every
node the same score."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

from labrunner.sandbox.scheduling import interpod, spread
from labrunner.sandbox.scheduling.framework import Cycle, NodeInfo
from labrunner.sandbox.scheduling.matching import label_selector, term_matches, tolerated
from labrunner.sandbox.scheduling.requests import CPU, MEMORY, pod_requests

MAX = 100
HOSTNAME, ZONE = "kubernetes.io/hostname", "topology.kubernetes.io/zone"


def _normalize(raw: dict[str, int], reverse: bool = False) -> dict[str, int]:
    """``helper.DefaultNormalizeScore``: scaled so the highest is 100 (reversed: the lowest)."""
    high = max(raw.values(), default=0)
    if high == 0:
        return {name: MAX if reverse else 0 for name in raw}
    return {name: (MAX - value * MAX // high) if reverse else value * MAX // high for name, value in raw.items()}


def taint_toleration(cycle: Cycle, feasible: list[NodeInfo]) -> dict[str, int]:
    """Fewer PreferNoSchedule taints the pod does not tolerate (with a toleration of that
    effect, or of none) is better."""
    tolerations = [t for t in cycle.spec.get("tolerations") or [] if (t.get("effect") or "PreferNoSchedule") == "PreferNoSchedule"]
    return _normalize({node.name: sum(1 for taint in node.taints if taint.get("effect") == "PreferNoSchedule"
                                      and not tolerated(tolerations, taint)) for node in feasible}, reverse=True)


def node_affinity(cycle: Cycle, feasible: list[NodeInfo]) -> dict[str, int]:
    """The weights of the preferred node affinity terms the node matches."""
    preferred = (((cycle.spec.get("affinity") or {}).get("nodeAffinity") or {})
                 .get("preferredDuringSchedulingIgnoredDuringExecution") or [])
    return _normalize({node.name: sum(int(item.get("weight") or 0) for item in preferred
                                      if term_matches(item.get("preference") or {}, node.node)) for node in feasible})


def _requested_after(cycle: Cycle, node: NodeInfo, non_zero: bool) -> tuple[list[int], list[int]]:
    asked = pod_requests(cycle.pod, non_zero=non_zero)
    allocatable = node.allocatable()
    on_node = node.non_zero if non_zero else node.requested
    return ([on_node.get(name, 0) + asked.get(name, 0) for name in (CPU, MEMORY)], [allocatable.get(name, 0) for name in (CPU, MEMORY)])


def least_allocated(cycle: Cycle, feasible: list[NodeInfo]) -> dict[str, int]:
    """NodeResourcesFit's LeastAllocated strategy: the share of cpu and memory left free (equal
    weights), counting a container without requests as 100m and 200Mi."""
    scores = {}
    for node in feasible:
        requested, allocatable = _requested_after(cycle, node, non_zero=True)
        parts = [((cap - req) * MAX // cap) if req <= cap else 0 for req, cap in zip(requested, allocatable) if cap > 0]
        scores[node.name] = sum(parts) // len(parts) if parts else 0
    return scores


def balanced_allocation(cycle: Cycle, feasible: list[NodeInfo]) -> dict[str, int]:
    """NodeResourcesBalancedAllocation: cpu and memory used in like shares."""
    scores = {}
    for node in feasible:
        requested, allocatable = _requested_after(cycle, node, non_zero=False)
        fractions = [min(req / cap, 1.0) for req, cap in zip(requested, allocatable) if cap > 0]
        spread = abs(fractions[0] - fractions[1]) / 2 if len(fractions) == 2 else 0.0
        scores[node.name] = int((1 - spread) * MAX)
    return scores


def default_selector(cycle: Cycle) -> Callable[[Mapping[str, str]], bool] | None:
    """``helper.DefaultSelector``: the selectors of the Services that select the pod, and of the
    ReplicaSet, ReplicationController or StatefulSet that controls it; None when there is none."""
    labels = (cycle.pod.get("metadata") or {}).get("labels") or {}
    merged: dict[str, str] = {}
    for service in cycle.snapshot.services:
        chosen = (service.get("spec") or {}).get("selector") or {}
        if (service.get("metadata") or {}).get("namespace") == cycle.namespace and chosen \
                and all(labels.get(k) == v for k, v in chosen.items()):
            merged.update(chosen)
    parts: list[Callable[[Mapping[str, str]], bool]] = []
    if merged:
        parts.append(label_selector({"matchLabels": merged}))
    owner = next((ref for ref in (cycle.pod.get("metadata") or {}).get("ownerReferences") or [] if ref.get("controller")), None)
    if owner is not None:
        controller = cycle.snapshot.owners.get((str(owner.get("kind")), cycle.namespace, str(owner.get("name"))))
        selector: Any = ((controller or {}).get("spec") or {}).get("selector")
        if selector and owner.get("kind") == "ReplicationController":
            parts.append(label_selector({"matchLabels": selector}))
        elif selector:
            parts.append(label_selector(selector))
    if not parts:
        return None
    return lambda found: all(part(found) for part in parts)


def pod_topology_spread(cycle: Cycle, feasible: list[NodeInfo]) -> dict[str, int]:
    """PodTopologySpread's score: the pod's ScheduleAnyway constraints, or, for a pod that declares
    none at all, the system defaults (hostname maxSkew 3, zone maxSkew 5) over the pods the default
    selector matches: fewer matching pods in the node's domain is better."""
    constraints: list[tuple[str, int, Callable[[Mapping[str, str]], bool]]]
    if cycle.spec.get("topologySpreadConstraints"):
        constraints = [(c.topology_key, c.max_skew, c.selector) for c in spread.constraints(cycle.pod, "ScheduleAnyway")]
    else:
        selector = default_selector(cycle)
        constraints = [(HOSTNAME, 3, selector), (ZONE, 5, selector)] if selector is not None else []
    if not constraints:
        return {node.name: 0 for node in feasible}
    scored = [node for node in feasible if all(key in node.labels for key, _, _ in constraints)]

    def matching(node: NodeInfo, chosen: Callable[[Mapping[str, str]], bool]) -> int:
        return sum(1 for pod in node.pods if (pod.get("metadata") or {}).get("namespace") == cycle.namespace
                   and not (pod.get("metadata") or {}).get("deletionTimestamp") and chosen((pod.get("metadata") or {}).get("labels") or {}))

    raw: dict[str, int] = {}
    for node in scored:
        total = 0.0
        for key, skew, chosen in constraints:
            domains = {info.labels.get(key) for info in scored}
            weight = math.log(len(domains) + 2)
            count = sum(matching(info, chosen) for info in cycle.snapshot.nodes if info.labels.get(key) == node.labels[key])
            total += count * weight + (skew - 1)
        raw[node.name] = round(total)
    high, low = max(raw.values(), default=0), min(raw.values(), default=0)
    return {node.name: (0 if node.name not in raw else MAX if high == 0 else MAX * (high + low - raw[node.name]) // high) for node in feasible}


SCORES: tuple[tuple[str, Callable[[Cycle, list[NodeInfo]], dict[str, int]], int], ...] = (
    ("TaintToleration", taint_toleration, 3),
    ("NodeAffinity", node_affinity, 2),
    ("NodeResourcesFit", least_allocated, 1),
    ("PodTopologySpread", pod_topology_spread, 2),
    ("InterPodAffinity", interpod.score, 2),
    ("NodeResourcesBalancedAllocation", balanced_allocation, 1),
)
"""(plugin, score, weight) of the default profile."""


def score(cycle: Cycle, feasible: list[NodeInfo]) -> dict[str, int]:
    """Every feasible node's weighted sum."""
    totals = {node.name: 0 for node in feasible}
    for _, plugin, weight in SCORES:
        for name, value in plugin(cycle, feasible).items():
            totals[name] += value * weight
    return totals
