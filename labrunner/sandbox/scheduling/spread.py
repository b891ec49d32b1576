"""PodTopologySpread: a pod's ``topologySpreadConstraints`` (``pkg/scheduler/framework/plugins/podtopologyspread``).

DoNotSchedule constraints filter: a node lacking the constraint's topology key is refused
(``node(s) didn't match pod topology spread constraints (missing required label)``), and so is
one where the matching pods in its domain, plus the pod itself if it matches, exceed the smallest
domain's count by more than maxSkew (``node(s) didn't match pod topology spread constraints``);
fewer domains than minDomains make that minimum 0. Pods are counted on the nodes that carry every
constraint's key and match the pod's node affinity and selector (nodeAffinityPolicy Honor, the
default) and, under nodeTaintsPolicy Honor, whose taints it tolerates (Ignore, the default, counts a
tainted control plane as a domain), in the pod's namespace, not terminating; matchLabelKeys add
the pod's own values to the selector. ScheduleAnyway constraints score (see ``scores.py``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from labrunner.sandbox.scheduling.framework import UNRESOLVABLE, UNSCHEDULABLE, Cycle, NodeInfo, Status
from labrunner.sandbox.scheduling.matching import label_selector, untolerated_taint

NAME = "PodTopologySpread"
NOT_MATCH = "node(s) didn't match pod topology spread constraints"


@dataclass(frozen=True)
class Constraint:
    max_skew: int
    topology_key: str
    selector: Callable[[Mapping[str, str]], bool]
    min_domains: int = 1
    honor_affinity: bool = True
    """nodeAffinityPolicy Honor (the default): only nodes the pod's node affinity and selector match count."""
    honor_taints: bool = False
    """nodeTaintsPolicy Honor: only nodes whose taints the pod tolerates count (Ignore, the default: all)."""


def constraints(pod: Mapping[str, Any], when: str) -> list[Constraint]:
    """The pod's constraints with ``whenUnsatisfiable`` ``when``."""
    labels = (pod.get("metadata") or {}).get("labels") or {}
    found = []
    for raw in (pod.get("spec") or {}).get("topologySpreadConstraints") or []:
        if (raw.get("whenUnsatisfiable") or "DoNotSchedule") != when:
            continue
        selector = dict(raw.get("labelSelector") or {}) if raw.get("labelSelector") is not None else None
        keys = [key for key in raw.get("matchLabelKeys") or [] if key in labels]
        if selector is not None and keys:
            selector = {**selector, "matchExpressions": [*(selector.get("matchExpressions") or []),
                                                         *({"key": key, "operator": "In", "values": [labels[key]]} for key in keys)]}
        found.append(Constraint(int(raw.get("maxSkew") or 1), str(raw.get("topologyKey") or ""), label_selector(selector),
                                int(raw.get("minDomains") or 1), raw.get("nodeAffinityPolicy") != "Ignore",
                                raw.get("nodeTaintsPolicy") == "Honor"))
    return found


def counts(cycle: Cycle, found: list[Constraint]) -> list[dict[str, int]]:
    """Per constraint, the matching pods in each domain of the eligible nodes (every domain listed, 0 or more)."""
    from labrunner.sandbox.scheduling.filters import required_node_affinity_matches

    tallies: list[dict[str, int]] = [{} for _ in found]
    tolerations = cycle.spec.get("tolerations") or []
    for node in cycle.snapshot.nodes:
        labels = node.labels
        if not all(c.topology_key in labels for c in found):
            continue
        affine = required_node_affinity_matches(cycle.spec, node.node)
        tolerated = untolerated_taint(node.taints, tolerations, ("NoSchedule", "NoExecute")) is None
        for index, constraint in enumerate(found):
            if (constraint.honor_affinity and not affine) or (constraint.honor_taints and not tolerated):
                continue
            domain = labels[constraint.topology_key]
            tallies[index][domain] = tallies[index].get(domain, 0) + sum(1 for pod in node.pods if _counted(pod, cycle.namespace, constraint))
    return tallies


def _counted(pod: Mapping[str, Any], namespace: str, constraint: Constraint) -> bool:
    metadata = pod.get("metadata") or {}
    return metadata.get("namespace") == namespace and not metadata.get("deletionTimestamp") and constraint.selector(metadata.get("labels") or {})


def pre_filter(cycle: Cycle) -> set[str] | None:
    found = constraints(cycle.pod, "DoNotSchedule")
    cycle.state[NAME] = (found, counts(cycle, found) if found else [])
    return None


def filter(cycle: Cycle, node: NodeInfo) -> Status | None:  # noqa: A001 (the plugin's extension point)
    found, tallies = cycle.state[NAME]
    own = (cycle.pod.get("metadata") or {}).get("labels") or {}
    labels = node.labels
    for constraint, tally in zip(found, tallies):
        if constraint.topology_key not in labels:
            return Status(UNRESOLVABLE, (f"{NOT_MATCH} (missing required label)",), NAME)
        minimum = 0 if len(tally) < constraint.min_domains else min(tally.values(), default=0)
        skew = tally.get(labels[constraint.topology_key], 0) + (1 if constraint.selector(own) else 0) - minimum
        if skew > constraint.max_skew:
            return Status(UNSCHEDULABLE, (NOT_MATCH,), NAME)
    return None
