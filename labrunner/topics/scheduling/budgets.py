"""``disruption-budget``: a PodDisruptionBudget protects a workload's pods during a drain.

Named mistakes: a budget whose selector matches none of the pods (the labels it asks beside the
ones they have), one in another namespace, minAvailable where maxUnavailable was asked (or the
other value), and a budget that allows no disruption at all (a drain would wait forever).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import Field, model_validator

from labrunner.cluster import errors
from labrunner.lab.check_args import CheckArgs
from labrunner.lab.fields import KubeName, Labels
from labrunner.registry.types import CheckContext, CheckKind, Outcome
from labrunner.topics.basics.selectors import labels_text, selector_text

IntOrPercent = int | str


class DisruptionBudget(CheckArgs):
    """A PodDisruptionBudget of ``namespace`` (any name) selects the pods with ``labels`` and
    keeps ``min_available`` of them (or allows ``max_unavailable`` down), an integer or a
    percentage (``"50%"``); compared by meaning: for the pods there are, the number kept healthy."""

    kind: Literal["disruption-budget"]
    namespace: KubeName
    labels: Labels = Field(min_length=1)
    min_available: IntOrPercent | None = None
    max_unavailable: IntOrPercent | None = None

    @model_validator(mode="after")
    def _one(self) -> DisruptionBudget:
        if (self.min_available is None) == (self.max_unavailable is None):
            raise ValueError("give min_available or max_unavailable, not both")
        return self


def _selects(selector: Mapping[str, Any], labels: Mapping[str, str]) -> bool:
    """matchLabels and matchExpressions against a pod's labels (an empty selector: every pod)."""
    if any(labels.get(k) != v for k, v in (selector.get("matchLabels") or {}).items()):
        return False
    for expression in selector.get("matchExpressions") or ():
        key, operator, values = expression.get("key"), expression.get("operator"), expression.get("values") or []
        has = key in labels
        if (operator == "In" and labels.get(key) not in values) or (operator == "NotIn" and has and labels.get(key) in values) \
                or (operator == "Exists" and not has) or (operator == "DoesNotExist" and has):
            return False
    return True


def _scaled(value: Any, total: int) -> int | None:
    """GetScaledValueFromIntOrPercent with rounding up, as the disruption controller scales."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    text = str(value)
    if text.endswith("%") and text[:-1].isdigit():
        return -(-int(text[:-1]) * total // 100)
    return int(text) if text.isdigit() else None


def _desired(spec: Mapping[str, Any], expected: int) -> int | None:
    """How many pods the budget keeps healthy for ``expected`` pods (its desiredHealthy)."""
    if spec.get("minAvailable") is not None:
        return _scaled(spec["minAvailable"], expected)
    if spec.get("maxUnavailable") is not None and (down := _scaled(spec["maxUnavailable"], expected)) is not None:
        return max(expected - down, 0)
    return None


def disruption_budget(args: DisruptionBudget, context: CheckContext) -> Outcome:
    budgets = context.cluster.list("poddisruptionbudgets", args.namespace)
    pods = [p for p in context.cluster.list("pods", args.namespace)
            if all(((p.get("metadata") or {}).get("labels") or {}).get(k) == v for k, v in args.labels.items())]
    field, wanted = ("minAvailable", args.min_available) if args.min_available is not None else ("maxUnavailable", args.max_unavailable)
    problems: list[str] = []
    for budget in budgets:
        name, spec = budget["metadata"]["name"], budget.get("spec") or {}
        selector = spec.get("selector") or {}
        if not _selects(selector, args.labels):
            matched = [p for p in pods if _selects(selector, (p.get("metadata") or {}).get("labels") or {})]
            problems.append(f"PodDisruptionBudget {name} selects {selector_text(selector) or 'every pod'}, "
                            f"not the pods with {labels_text(args.labels)}" + ("" if matched else " (it selects no pod of theirs)"))
            continue
        other = "maxUnavailable" if field == "minAvailable" else "minAvailable"
        expected = len(pods)
        same = _desired(spec, expected) is not None and _desired(spec, expected) == _desired({field: wanted}, expected)
        if field not in spec and other in spec and not same:
            problems.append(f"PodDisruptionBudget {name} sets {other}: {spec[other]}; this step wants {field}: {wanted} "
                            f"(for {expected} pod(s) they differ: {_desired(spec, expected)} kept healthy instead of "
                            f"{_desired({field: wanted}, expected)})")
            continue
        if field in spec and str(spec.get(field)) != str(wanted) and not same:
            problems.append(f"PodDisruptionBudget {name} has {field}: {spec.get(field)}; this step wants {wanted}")
            continue
        status = budget.get("status") or {}
        note = ""
        if status.get("expectedPods") and not status.get("disruptionsAllowed"):
            note = (f" (it allows no disruption now: {status.get('currentHealthy', 0)} healthy of "
                    f"{status.get('desiredHealthy', 0)} needed, so a drain waits until more pods are ready)")
        return "passed", f"PodDisruptionBudget {name} keeps {field} {wanted} of the pods with {labels_text(args.labels)}{note}", []
    if not budgets:
        try:
            elsewhere = [b for b in context.cluster.list("poddisruptionbudgets") if b["metadata"].get("namespace") != args.namespace]
        except errors.ClusterError:
            elsewhere = []
        problems = [f"PodDisruptionBudget {b['metadata']['name']} is in namespace {b['metadata']['namespace']}: it protects "
                    "only the pods there" for b in elsewhere[:3]]
        return "failed", f"no PodDisruptionBudget in {args.namespace}", problems
    return "failed", f"no PodDisruptionBudget of {args.namespace} protects the pods with {labels_text(args.labels)} as asked", problems


KINDS = (CheckKind(model=DisruptionBudget, run=disruption_budget, watches=("poddisruptionbudgets", "pods")),)
