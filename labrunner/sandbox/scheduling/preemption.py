"""DefaultPreemption, the PostFilter that runs when no node fits: on each node where preemption
might help (its filter said Unschedulable, not UnschedulableAndUnresolvable), remove every pod
of lower priority, and if the pod then fits, put back as many as still let it fit (the most
important first, PodDisruptionBudget-protected ones before the rest); the node with the fewest
budget violations, then the lowest highest-priority victim, the lowest priority sum and the
fewest victims is nominated (``pkg/scheduler/framework/preemption``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from labrunner.sandbox.scheduling.framework import UNRESOLVABLE, Cycle, NodeInfo, Status, fit_error_text, run_filters
from labrunner.sandbox.scheduling.matching import label_selector

NOT_HELPFUL = "Preemption is not helpful for scheduling"
NO_VICTIMS = "No preemption victims found for incoming pod"


def priority(pod: Mapping[str, Any]) -> int:
    """``corev1helpers.PodPriority``: spec.priority, 0 without one."""
    value = (pod.get("spec") or {}).get("priority")
    return int(value) if isinstance(value, int) else 0


def _start(pod: Mapping[str, Any]) -> str:
    status = pod.get("status") or {}
    return str(status.get("startTime") or (pod.get("metadata") or {}).get("creationTimestamp") or "")


def _more_important_first(pods: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``util.MoreImportantPod``: higher priority, then the earlier started."""
    return sorted(pods, key=lambda pod: (-priority(pod), _start(pod)))


def _violates_budget(pod: Mapping[str, Any], budgets: list[Mapping[str, Any]], allowed: dict[int, int]) -> bool:
    """``filterPodsWithPDBViolation``: evicting the pod takes a budget that selects it below zero."""
    metadata = pod.get("metadata") or {}
    violated = False
    for index, budget in enumerate(budgets):
        if (budget.get("metadata") or {}).get("namespace") != metadata.get("namespace"):
            continue
        selector = (budget.get("spec") or {}).get("selector")
        if not selector or not label_selector(selector)(metadata.get("labels") or {}):
            continue
        allowed[index] = allowed.get(index, int((budget.get("status") or {}).get("disruptionsAllowed") or 0)) - 1
        violated = violated or allowed[index] < 0
    return violated


def _fits(cycle: Cycle, node: NodeInfo) -> Status | None:
    from labrunner.sandbox.scheduling.filters import FILTERS

    trial = Cycle(cycle.pod, cycle.snapshot.with_node(node))
    feasible, statuses = run_filters(trial, FILTERS)
    if any(info.name == node.name for info in feasible):
        return None
    return statuses.get(node.name)


def select_victims(cycle: Cycle, node: NodeInfo) -> tuple[list[dict[str, Any]], int, Status | None]:
    """``SelectVictimsOnNode``: the victims, how many of them violate a budget, or the status
    saying why preemption cannot make the pod fit here."""
    mine = priority(cycle.pod)
    trial = node.clone()
    lower = [pod for pod in node.pods if priority(pod) < mine]
    if not lower:
        return [], 0, Status(UNRESOLVABLE, (NO_VICTIMS,), "DefaultPreemption")
    for pod in lower:
        trial.remove(pod)
    if (status := _fits(cycle, trial)) is not None:
        return [], 0, status
    budgets = list(cycle.snapshot.disruption_budgets)
    allowed: dict[int, int] = {}
    ordered = _more_important_first(lower)
    violating = [pod for pod in ordered if _violates_budget(pod, budgets, allowed)]
    others = [pod for pod in ordered if pod not in violating]
    victims: list[dict[str, Any]] = []
    violations = 0
    for group, counts in ((violating, True), (others, False)):
        for pod in group:
            trial.add(pod)
            if _fits(cycle, trial) is not None:
                trial.remove(pod)
                victims.append(pod)
                violations += counts
    return victims, violations, None


def preempt(cycle: Cycle, statuses: dict[str, Status]) -> tuple[str | None, list[dict[str, Any]], str]:
    """DefaultPreemption.PostFilter: (the node nominated, its victims, the message for the
    FitError: empty when a node was found)."""
    spec = cycle.spec
    if spec.get("preemptionPolicy") == "Never":
        return None, [], "preemption: not eligible due to preemptionPolicy=Never."
    results: dict[str, Status] = {}
    candidates: list[tuple[tuple[int, int, int, int, str], str, list[dict[str, Any]]]] = []
    for node in cycle.snapshot.nodes:
        status = statuses.get(node.name)
        if status is None:
            continue
        if status.code == UNRESOLVABLE:
            results[node.name] = Status(UNRESOLVABLE, (NOT_HELPFUL,), "DefaultPreemption")
            continue
        victims, violations, problem = select_victims(cycle, node)
        if problem is not None:
            results[node.name] = problem
            continue
        priorities = [priority(pod) for pod in victims]
        rank = (violations, max(priorities, default=0), sum(priorities), len(victims), node.name)
        candidates.append((rank, node.name, victims))
    if not candidates:
        return None, [], "preemption: " + fit_error_text(len(results), results.values())
    _, chosen, victims = min(candidates, key=lambda candidate: candidate[0])
    return chosen, victims, ""
