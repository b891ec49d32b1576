"""InterPodAffinity: required pod affinity and anti-affinity over topology domains, the
existing pods' anti-affinity towards the incoming pod, and the preferred terms' score
(``pkg/scheduler/framework/plugins/interpodaffinity``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from labrunner.sandbox.scheduling.framework import UNRESOLVABLE, UNSCHEDULABLE, Cycle, NodeInfo, Status
from labrunner.sandbox.scheduling.matching import Selector, label_selector

NAME = "InterPodAffinity"
HARD_POD_AFFINITY_WEIGHT = 1
"""InterPodAffinityArgs.hardPodAffinityWeight's default."""


@dataclass(frozen=True)
class Term:
    """A PodAffinityTerm as the framework reads it (``framework.AffinityTerm``)."""
    namespaces: frozenset[str]
    namespace_selector: Selector
    selector: Selector
    topology_key: str
    weight: int = 0

    def matches(self, pod: Mapping[str, Any], namespace_labels: Mapping[str, str]) -> bool:
        metadata = pod.get("metadata") or {}
        in_namespace = metadata.get("namespace") in self.namespaces or self.namespace_selector(namespace_labels)
        return bool(in_namespace and self.selector(metadata.get("labels") or {}))


def _term(raw: Mapping[str, Any], namespace: str, weight: int = 0) -> Term:
    namespaces = frozenset(str(n) for n in raw.get("namespaces") or [])
    namespace_selector = raw.get("namespaceSelector")
    if not namespaces and namespace_selector is None:
        namespaces = frozenset({namespace})
    return Term(namespaces, label_selector(namespace_selector), label_selector(raw.get("labelSelector")),
                str(raw.get("topologyKey") or ""), weight)


def terms(pod: Mapping[str, Any], kind: str, preferred: bool = False) -> list[Term]:
    """The pod's ``podAffinity`` or ``podAntiAffinity`` terms, required or preferred (with weights)."""
    namespace = str((pod.get("metadata") or {}).get("namespace") or "default")
    affinity = (((pod.get("spec") or {}).get("affinity") or {}).get(kind) or {})
    if preferred:
        return [_term(item.get("podAffinityTerm") or {}, namespace, int(item.get("weight") or 0))
                for item in affinity.get("preferredDuringSchedulingIgnoredDuringExecution") or []]
    return [_term(item, namespace) for item in affinity.get("requiredDuringSchedulingIgnoredDuringExecution") or []]


@dataclass(frozen=True)
class PodTerms:
    """A pod's four lists of terms (``framework.PodInfo``), parsed once."""
    affinity: tuple[Term, ...]
    anti_affinity: tuple[Term, ...]
    preferred_affinity: tuple[Term, ...]
    preferred_anti_affinity: tuple[Term, ...]

    def __bool__(self) -> bool:
        return bool(self.affinity or self.anti_affinity or self.preferred_affinity or self.preferred_anti_affinity)


def pod_terms(pod: Mapping[str, Any]) -> PodTerms:
    return PodTerms(tuple(terms(pod, "podAffinity")), tuple(terms(pod, "podAntiAffinity")),
                    tuple(terms(pod, "podAffinity", True)), tuple(terms(pod, "podAntiAffinity", True)))


def with_affinity(node: NodeInfo) -> list[tuple[dict[str, Any], PodTerms]]:
    """The node's pods that have affinity terms, with them (kept until the node's pods change)."""
    memo = node.derived.setdefault(NAME, {})
    found = []
    for pod in node.pods:
        uid = str((pod.get("metadata") or {}).get("uid") or id(pod))
        parsed = memo.get(uid)
        if parsed is None:
            parsed = memo[uid] = pod_terms(pod)
        if parsed:
            found.append((pod, parsed))
    return found


Counts = dict[tuple[str, str], int]


def _count(counts: Counts, node: NodeInfo, key: str, value: int) -> None:
    labels = node.labels
    if key in labels:
        pair = (key, labels[key])
        counts[pair] = counts.get(pair, 0) + value


@dataclass
class _State:
    affinity: list[Term]
    anti_affinity: list[Term]
    affinity_counts: Counts
    anti_affinity_counts: Counts
    existing_anti_affinity_counts: Counts


def pre_filter(cycle: Cycle) -> set[str] | None:
    """Count, per topology domain, the existing pods the incoming pod's required terms match
    (affinity: pods matching all its terms), and the existing pods whose required anti-affinity
    matches the incoming pod."""
    pod = cycle.pod
    labels_of = cycle.snapshot.namespace_labels
    own_labels = labels_of.get(cycle.namespace, {})
    affinity, anti_affinity = terms(pod, "podAffinity"), terms(pod, "podAntiAffinity")
    state = _State(affinity, anti_affinity, {}, {}, {})
    for node in cycle.snapshot.nodes:
        for existing, parsed in with_affinity(node):
            for term in parsed.anti_affinity:
                if term.matches(pod, own_labels):
                    _count(state.existing_anti_affinity_counts, node, term.topology_key, 1)
        if not affinity and not anti_affinity:
            continue
        for existing in node.pods:
            existing_labels = labels_of.get(str((existing.get("metadata") or {}).get("namespace")), {})
            if affinity and all(term.matches(existing, existing_labels) for term in affinity):
                for term in affinity:
                    _count(state.affinity_counts, node, term.topology_key, 1)
            for term in anti_affinity:
                if term.matches(existing, existing_labels):
                    _count(state.anti_affinity_counts, node, term.topology_key, 1)
    cycle.state[NAME] = state
    return None


def _satisfies_affinity(state: _State, node: NodeInfo, pod: Mapping[str, Any], own_labels: Mapping[str, str]) -> bool:
    labels = node.labels
    pods_exist = True
    for term in state.affinity:
        if term.topology_key not in labels:
            return False  # all topology labels must exist on the node
        if state.affinity_counts.get((term.topology_key, labels[term.topology_key]), 0) <= 0:
            pods_exist = False
    if not pods_exist:
        # The first pod of a series with affinity to itself: no pod anywhere matches, and it matches its own terms.
        return not state.affinity_counts and all(term.matches(pod, own_labels) for term in state.affinity)
    return True


def filter(cycle: Cycle, node: NodeInfo) -> Status | None:  # noqa: A001 (the plugin's extension point)
    state: _State = cycle.state[NAME]
    own_labels = cycle.snapshot.namespace_labels.get(cycle.namespace, {})
    if not _satisfies_affinity(state, node, cycle.pod, own_labels):
        return Status(UNRESOLVABLE, ("node(s) didn't match pod affinity rules",), NAME)
    labels = node.labels
    for term in state.anti_affinity:
        if term.topology_key in labels and state.anti_affinity_counts.get((term.topology_key, labels[term.topology_key]), 0) > 0:
            return Status(UNSCHEDULABLE, ("node(s) didn't match pod anti-affinity rules",), NAME)
    if any(state.existing_anti_affinity_counts.get(pair, 0) > 0 for pair in labels.items()):
        return Status(UNSCHEDULABLE, ("node(s) didn't satisfy existing pods anti-affinity rules",), NAME)
    return None


def score(cycle: Cycle, feasible: list[NodeInfo]) -> dict[str, int]:
    """The preferred terms' weights (and the existing pods' required affinity, at
    hardPodAffinityWeight) summed per topology domain, normalised to 0-100 between the lowest
    and the highest node."""
    pod = cycle.pod
    labels_of = cycle.snapshot.namespace_labels
    own_labels = labels_of.get(cycle.namespace, {})
    preferred_affinity, preferred_anti = terms(pod, "podAffinity", True), terms(pod, "podAntiAffinity", True)
    topology: Counts = {}
    for node in cycle.snapshot.nodes:
        if not node.labels:
            continue
        for existing in node.pods if preferred_affinity or preferred_anti else ():
            existing_labels = labels_of.get(str((existing.get("metadata") or {}).get("namespace")), {})
            for term in preferred_affinity:
                if term.matches(existing, existing_labels):
                    _count(topology, node, term.topology_key, term.weight)
            for term in preferred_anti:
                if term.matches(existing, existing_labels):
                    _count(topology, node, term.topology_key, -term.weight)
        for existing, parsed in with_affinity(node):
            for term in parsed.affinity:
                if term.matches(pod, own_labels):
                    _count(topology, node, term.topology_key, HARD_POD_AFFINITY_WEIGHT)
            for term in parsed.preferred_affinity:
                if term.matches(pod, own_labels):
                    _count(topology, node, term.topology_key, term.weight)
            for term in parsed.preferred_anti_affinity:
                if term.matches(pod, own_labels):
                    _count(topology, node, term.topology_key, -term.weight)
    raw = {node.name: sum(value for (key, domain), value in topology.items() if node.labels.get(key) == domain) for node in feasible}
    low, high = min(raw.values(), default=0), max(raw.values(), default=0)
    return {name: int(100 * (value - low) / (high - low)) if high > low else 0 for name, value in raw.items()}
