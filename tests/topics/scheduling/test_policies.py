"""quota-limits, limit-range, disruption-budget and priority-class on recorded clusters: meaning
by quantity under any object name, and each classic mistake named."""

from __future__ import annotations

from typing import Any

from labrunner.registry.types import CheckContext
from labrunner.topics.scheduling.budgets import DisruptionBudget, disruption_budget
from labrunner.topics.scheduling.priorities import PriorityClassArgs, priority_class
from labrunner.topics.scheduling.quotas import LimitRangeArgs, QuotaLimits, limit_range, quota_limits
from tests.fakes import FakeCluster


def obj(kind: str, name: str, namespace: str | None = "lab", **fields: Any) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": name, **({"namespace": namespace} if namespace else {})}
    return {"kind": kind, "metadata": metadata, **fields}


def context(**plurals: list[dict[str, Any]]) -> CheckContext:
    return CheckContext(cluster=FakeCluster(dict(plurals)))


def quota(fake: CheckContext, **hard: str) -> tuple[str, str, list[str]]:
    return quota_limits(QuotaLimits(kind="quota-limits", says="the lab's namespace has a quota", namespace="lab", hard=hard), fake)


def test_quotas_by_quantity_under_any_name_cpu_being_requests_cpu() -> None:
    fake = context(resourcequotas=[obj("ResourceQuota", "compute", spec={"hard": {"cpu": "2000m", "limits.memory": "2Gi"}}),
                                   obj("ResourceQuota", "counts", spec={"hard": {"pods": "10"}})])
    assert quota(fake, **{"requests.cpu": "2", "pods": "10", "limits.memory": "2Gi"})[0] == "passed"
    status, _, details = quota(fake, **{"limits.memory": "2G"})
    assert details == ["ResourceQuota compute limits limits.memory: 2Gi; this step wants limits.memory: 2G "
                       "(2Gi and 2G differ: M is 10^6 bytes, Mi is 2^20)"]
    assert quota(fake, **{"requests.storage": "10Gi"})[2] == ["no ResourceQuota in lab limits requests.storage (quotas: compute, counts)"]
    elsewhere = context(resourcequotas=[obj("ResourceQuota", "compute", "default", spec={"hard": {"pods": "10"}})])
    assert quota(elsewhere, pods="10")[2] == ["ResourceQuota compute is in namespace default: it applies only there"]


def test_a_limit_ranges_default_is_the_limit_and_max_becomes_it() -> None:
    stored = {"type": "Container", "max": {"cpu": "1"}, "default": {"cpu": "1"}, "defaultRequest": {"cpu": "1"}}
    fake = context(limitranges=[obj("LimitRange", "limits", spec={"limits": [stored]})])
    status, _, details = limit_range(LimitRangeArgs(kind="limit-range", says="x", namespace="lab", default_request={"cpu": "250m"}), fake)
    assert details == ["LimitRange limits has defaultRequest.cpu: 1; this step wants 250m (with only max given, the API server makes "
                       "it the default limit and the default limit the default request; give defaultRequest itself)"]
    swapped = context(limitranges=[obj("LimitRange", "limits", spec={"limits": [{"type": "Container", "default": {"memory": "256Mi"},
                                                                                 "defaultRequest": {"memory": "256Mi"}}]})])
    _, _, details = limit_range(LimitRangeArgs(kind="limit-range", says="x", namespace="lab", default={"memory": "256Mi"},
                                               default_request={"memory": "128Mi"}), swapped)
    assert details == ["LimitRange limits has defaultRequest.memory: 256Mi; this step wants 128Mi (defaultRequest equals default: "
                       "when only default is given, the API server copies it into defaultRequest; give defaultRequest itself)"]
    right = limit_range(LimitRangeArgs(kind="limit-range", says="x", namespace="lab", max={"cpu": "1000m"}), fake)
    assert right[0] == "passed"
    pods_only = context(limitranges=[obj("LimitRange", "limits", spec={"limits": [{"type": "Pod", "max": {"cpu": "2"}}]})])
    assert limit_range(LimitRangeArgs(kind="limit-range", says="x", namespace="lab", max={"cpu": "2"}), pods_only)[2] == [
        "their items are of type Pod"]


def pod(name: str, labels: dict[str, str], **spec: Any) -> dict[str, Any]:
    return {"kind": "Pod", "metadata": {"name": name, "namespace": "lab", "labels": labels}, "spec": spec}


def test_a_budget_that_selects_other_labels_and_one_of_the_other_field() -> None:
    web = [pod("web-1", {"app": "web"}), pod("web-2", {"app": "web"})]
    typo = obj("PodDisruptionBudget", "web", spec={"selector": {"matchLabels": {"app": "webb"}}, "minAvailable": 1})
    check = DisruptionBudget(kind="disruption-budget", says="x", namespace="lab", labels={"app": "web"}, min_available=1)
    assert disruption_budget(check, context(poddisruptionbudgets=[typo], pods=web))[2] == [
        "PodDisruptionBudget web selects app=webb, not the pods with app=web (it selects no pod of theirs)"]
    other = obj("PodDisruptionBudget", "web", spec={"selector": {"matchLabels": {"app": "web"}}, "maxUnavailable": 1})
    assert disruption_budget(check, context(poddisruptionbudgets=[other], pods=web))[0] == "passed"  # 2 pods: both keep 1
    three = [*web, pod("web-3", {"app": "web"})]
    assert disruption_budget(check, context(poddisruptionbudgets=[other], pods=three))[2] == [
        "PodDisruptionBudget web sets maxUnavailable: 1; this step wants minAvailable: 1 (for 3 pod(s) they differ: 2 kept healthy "
        "instead of 1)"]
    half = obj("PodDisruptionBudget", "web", spec={"selector": {"matchLabels": {"app": "web"}}, "minAvailable": "50%"})
    assert disruption_budget(check, context(poddisruptionbudgets=[half], pods=web))[0] == "passed"  # 50% of 2, rounded up: 1
    good = obj("PodDisruptionBudget", "web", spec={"selector": {"matchLabels": {"app": "web"}}, "minAvailable": 1},
               status={"expectedPods": 2, "disruptionsAllowed": 1, "currentHealthy": 2, "desiredHealthy": 1})
    assert disruption_budget(check, context(poddisruptionbudgets=[good], pods=web))[0] == "passed"


def test_a_priority_class_of_another_value_and_pods_made_before_it() -> None:
    high = obj("PriorityClass", "high", None, value=1000)
    check = PriorityClassArgs(kind="priority-class", says="x", name="high", value=100000, namespace="lab", labels={"app": "web"})
    old = pod("web-1", {"app": "web"})
    status, _, details = priority_class(check, context(priorityclasses=[high], pods=[old]))
    assert details[0].startswith("PriorityClass high has value 1000; this step wants 100000")
    assert details[1] == "pod web-1 has priorityClassName (none); pods take a class when they are created: let the rollout replace them"
    missing = priority_class(check, context(priorityclasses=[obj("PriorityClass", "system-node-critical", None, value=2000001000)]))
    assert missing[1] == "PriorityClass high does not exist"
    ok = PriorityClassArgs(kind="priority-class", says="x", name="high", value=1000, namespace="lab", labels={"app": "web"})
    assert priority_class(ok, context(priorityclasses=[high], pods=[pod("web-2", {"app": "web"}, priorityClassName="high",
                                                                           priority=1000)]))[0] == "passed"
