"""The scheduling framework's cycle for one pod: a snapshot of the cluster, the filters run on
every node (each node stops at its first failing plugin, as ``RunFilterPlugins`` does), the
feasible nodes scored and the best taken (ties to the first name: the real scheduler draws
among ties at random), and, when none is feasible, preemption and the :class:`FitError`."""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from labrunner.sandbox.scheduling.requests import Resources, pod_requests

UNSCHEDULABLE = "Unschedulable"
UNRESOLVABLE = "UnschedulableAndUnresolvable"
"""framework.Code: preemption may help a node that is Unschedulable, never one that is UnschedulableAndUnresolvable."""
FINISHED = ("Succeeded", "Failed")
PRE_FILTER_FAILED = "PreFilterFailed"
"""The cycle state's key for the Status a PreFilter returned to turn the pod away."""


@dataclass(frozen=True)
class Status:
    code: str
    reasons: tuple[str, ...]
    plugin: str = ""


def fit_error_text(total: int, statuses: Iterable[Status], post_filter: str = "", pre_filter: str = "") -> str:
    """``FitError.Error()``: ``0/N nodes are available:`` and each reason with the number of nodes
    that gave it, sorted as strings, then the PostFilter's (preemption's) message."""
    counted: dict[str, int] = {}
    for status in statuses:
        for reason in status.reasons:
            counted[reason] = counted.get(reason, 0) + 1
    text = f"0/{total} nodes are available:"
    if pre_filter:  # a PreFilter turned the pod away: its message alone, not once per node
        text += f" {pre_filter.removesuffix('.')}."
        counted = {}
    histogram = sorted(f"{count} {reason}" for reason, count in counted.items())
    if histogram:
        text += f" {', '.join(histogram)}."
    if post_filter:
        text += f" {post_filter.removesuffix('.')}."
    return text


@dataclass
class NodeInfo:
    """A node and the pods bound to it (finished pods left out, as the scheduler's informer leaves
    them out), with what they request."""
    node: dict[str, Any]
    pods: list[dict[str, Any]] = field(default_factory=list)
    requested: Resources = field(default_factory=dict)
    non_zero: Resources = field(default_factory=dict)
    derived: dict[str, dict[str, Any]] = field(default_factory=dict)
    """What plugins compute once per pod of the node (a pod's parsed affinity terms), by plugin
    then pod uid; a pod's entries go with it."""

    @property
    def name(self) -> str:
        return str((self.node.get("metadata") or {}).get("name", ""))

    @property
    def labels(self) -> dict[str, str]:
        return dict((self.node.get("metadata") or {}).get("labels") or {})

    @property
    def taints(self) -> list[dict[str, Any]]:
        return list((self.node.get("spec") or {}).get("taints") or [])

    def allocatable(self) -> Resources:
        from labrunner.sandbox.scheduling.requests import amount

        found = (self.node.get("status") or {}).get("allocatable") or {}
        return {str(name): amount(str(name), value) for name, value in found.items()}

    def add(self, pod: dict[str, Any]) -> None:
        self.pods.append(pod)
        for total, asked in ((self.requested, pod_requests(pod)), (self.non_zero, pod_requests(pod, non_zero=True))):
            for name, value in asked.items():
                total[name] = total.get(name, 0) + value

    def remove(self, pod: dict[str, Any]) -> None:
        uid = (pod.get("metadata") or {}).get("uid")
        self.pods = [p for p in self.pods if (p.get("metadata") or {}).get("uid") != uid]
        for memo in self.derived.values():
            memo.pop(str(uid), None)
        for total, asked in ((self.requested, pod_requests(pod)), (self.non_zero, pod_requests(pod, non_zero=True))):
            for name, value in asked.items():
                total[name] = total.get(name, 0) - value

    def clone(self) -> NodeInfo:
        return NodeInfo(self.node, list(self.pods), dict(self.requested), dict(self.non_zero), {k: dict(v) for k, v in self.derived.items()})


@dataclass
class Snapshot:
    """What one scheduling cycle sees of the cluster."""
    nodes: list[NodeInfo]
    namespace_labels: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    """Namespace name -> its labels (pod affinity's namespaceSelector)."""
    services: Sequence[Mapping[str, Any]] = ()
    """Services, whose selectors spread the pods they select (PodTopologySpread's defaults)."""
    owners: Mapping[tuple[str, str, str], Mapping[str, Any]] = field(default_factory=dict)
    """(kind, namespace, name) -> a ReplicaSet, ReplicationController or StatefulSet (the same)."""
    disruption_budgets: Sequence[Mapping[str, Any]] = ()
    """PodDisruptionBudgets, which preemption prefers not to violate."""
    extras: dict[str, Any] = field(default_factory=dict)
    """What further filters need of the cluster (a volume filter's claims), by the filter's name."""

    @classmethod
    def build(cls, nodes: Iterable[dict[str, Any]], pods: Iterable[dict[str, Any]], **more: Any) -> Snapshot:
        infos = {str(node["metadata"]["name"]): NodeInfo(node) for node in nodes}
        for pod in pods:
            bound = (pod.get("spec") or {}).get("nodeName")
            if bound in infos and (pod.get("status") or {}).get("phase") not in FINISHED:
                infos[bound].add(pod)
        return cls(sorted(infos.values(), key=lambda info: info.name), **more)

    def node(self, name: str) -> NodeInfo | None:
        return next((info for info in self.nodes if info.name == name), None)

    def with_node(self, replaced: NodeInfo) -> Snapshot:
        """The same snapshot with one node's pods changed (preemption's dry run)."""
        view = copy.copy(self)
        view.nodes = [replaced if info.name == replaced.name else info for info in self.nodes]
        return view


@dataclass
class Cycle:
    """One pod's scheduling cycle: its snapshot and what PreFilters computed, by plugin."""
    pod: dict[str, Any]
    snapshot: Snapshot
    state: dict[str, Any] = field(default_factory=dict)

    @property
    def spec(self) -> dict[str, Any]:
        return self.pod.get("spec") or {}

    @property
    def namespace(self) -> str:
        return str((self.pod.get("metadata") or {}).get("namespace") or "default")


@dataclass(frozen=True)
class Plugin:
    name: str
    filter: Callable[[Cycle, NodeInfo], Status | None]
    pre_filter: Callable[[Cycle], set[str] | Status | None] | None = None
    """Computes the cycle's state; may return the only node names worth filtering (a
    PreFilterResult: a DaemonSet pod's ``matchFields``), or a Status that turns the pod away from
    every node (VolumeBinding's claim that does not exist)."""


@dataclass
class FitError:
    total: int
    statuses: dict[str, Status]
    post_filter: str = ""
    pre_filter: str = ""

    def __str__(self) -> str:
        return fit_error_text(self.total, self.statuses.values(), self.post_filter, self.pre_filter)


@dataclass
class Decision:
    """A cycle's outcome: the node, or the FitError (and, with preemption, the node nominated and
    the pods to evict for it)."""
    node: str | None = None
    error: FitError | None = None
    nominated: str | None = None
    victims: list[dict[str, Any]] = field(default_factory=list)
    scores: dict[str, int] = field(default_factory=dict)


def run_filters(cycle: Cycle, plugins: Sequence[Plugin]) -> tuple[list[NodeInfo], dict[str, Status]]:
    """PreFilter then Filter: the feasible nodes, and each other node's first failing status."""
    allowed: set[str] | None = None
    narrowing: list[str] = []
    for plugin in plugins:
        if plugin.pre_filter is not None:
            names = plugin.pre_filter(cycle)
            if isinstance(names, Status):  # the pod fits no node: each gets the PreFilter's status
                cycle.state[PRE_FILTER_FAILED] = names
                return [], {info.name: names for info in cycle.snapshot.nodes}
            if names is not None:
                allowed = names if allowed is None else allowed & names
                narrowing.append(plugin.name)
    feasible: list[NodeInfo] = []
    statuses: dict[str, Status] = {}
    for info in cycle.snapshot.nodes:
        if allowed is not None and info.name not in allowed:
            statuses[info.name] = Status(UNRESOLVABLE, (f"node(s) didn't satisfy plugin(s) [{' '.join(sorted(narrowing))}]",))
            continue
        for plugin in plugins:
            status = plugin.filter(cycle, info)
            if status is not None:
                statuses[info.name] = status
                break
        else:
            feasible.append(info)
    return feasible, statuses


def schedule(pod: dict[str, Any], snapshot: Snapshot) -> Decision:
    """One scheduling cycle for ``pod``.

    Returns:
        The node chosen, or the FitError whose text the FailedScheduling event carries (with the
        node preemption nominates and its victims, when evicting lower-priority pods helps).
    """
    from labrunner.sandbox.scheduling.filters import FILTERS
    from labrunner.sandbox.scheduling.preemption import preempt
    from labrunner.sandbox.scheduling.scores import score

    cycle = Cycle(pod, snapshot)
    feasible, statuses = run_filters(cycle, FILTERS)
    if feasible:
        totals = score(cycle, feasible)
        best = max(feasible, key=lambda info: totals[info.name])  # the first name among ties
        return Decision(node=best.name, scores=totals)
    failed = cycle.state.get(PRE_FILTER_FAILED)
    error = FitError(len(snapshot.nodes), statuses, pre_filter=" ".join(failed.reasons) if isinstance(failed, Status) else "")
    nominated, victims, message = preempt(cycle, statuses)
    error.post_filter = message
    return Decision(error=error, nominated=nominated, victims=victims)
