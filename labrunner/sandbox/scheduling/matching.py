"""The matching rules the plugins share: tolerations against taints (``v1helper``), node
selector terms (``nodeaffinity``), label selectors (``metav1.LabelSelectorAsSelector``)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

Obj = Mapping[str, Any]


def tolerates(toleration: Obj, taint: Obj) -> bool:
    """``Toleration.ToleratesTaint``: an empty effect matches every effect, an empty key (with
    Exists) every key; the operator Equal (or none) needs the same value, Exists any."""
    effect = toleration.get("effect") or ""
    if effect and effect != taint.get("effect"):
        return False
    key = toleration.get("key") or ""
    if key and key != taint.get("key"):
        return False
    operator = toleration.get("operator") or "Equal"
    if operator == "Equal":
        return (toleration.get("value") or "") == (taint.get("value") or "")
    return operator == "Exists"


def tolerated(tolerations: Iterable[Obj], taint: Obj) -> bool:
    return any(tolerates(toleration, taint) for toleration in tolerations)


def untolerated_taint(taints: Sequence[Obj], tolerations: Sequence[Obj], effects: tuple[str, ...]) -> Obj | None:
    """``FindMatchingUntoleratedTaint``: the first taint of ``effects`` no toleration tolerates."""
    for taint in taints:
        if taint.get("effect") in effects and not tolerated(tolerations, taint):
            return taint
    return None


def _integer(text: Any) -> int | None:
    try:
        return int(str(text))
    except ValueError:
        return None


def requirement_matches(requirement: Obj, values_of: Mapping[str, str]) -> bool:
    """One NodeSelectorRequirement against a node's labels (or fields): In, NotIn (true without
    the label), Exists, DoesNotExist, Gt and Lt (integers; false without the label)."""
    key = str(requirement.get("key") or "")
    operator = requirement.get("operator")
    values = [str(v) for v in requirement.get("values") or []]
    present = key in values_of
    value = values_of.get(key, "")
    if operator == "In":
        return present and value in values
    if operator == "NotIn":
        return not present or value not in values
    if operator == "Exists":
        return present
    if operator == "DoesNotExist":
        return not present
    if operator in ("Gt", "Lt") and present and len(values) == 1:
        mine, bound = _integer(value), _integer(values[0])
        if mine is None or bound is None:
            return False
        return mine > bound if operator == "Gt" else mine < bound
    return False


def term_matches(term: Obj, node: Obj) -> bool:
    """A NodeSelectorTerm: its matchExpressions (labels) and matchFields (``metadata.name``) all
    hold; a term with neither matches no node."""
    expressions = term.get("matchExpressions") or []
    fields = term.get("matchFields") or []
    if not expressions and not fields:
        return False
    metadata = node.get("metadata") or {}
    labels = metadata.get("labels") or {}
    node_fields = {"metadata.name": str(metadata.get("name", ""))}
    return all(requirement_matches(e, labels) for e in expressions) and all(requirement_matches(f, node_fields) for f in fields)


def node_selector_matches(selector: Obj, node: Obj) -> bool:
    """A NodeSelector: its terms ORed."""
    return any(term_matches(term, node) for term in selector.get("nodeSelectorTerms") or [])


Selector = Callable[[Mapping[str, str]], bool]


def label_selector(selector: Obj | None) -> Selector:
    """``metav1.LabelSelectorAsSelector``: None selects nothing, ``{}`` everything."""
    if selector is None:
        return lambda labels: False
    match_labels = dict(selector.get("matchLabels") or {})
    expressions = list(selector.get("matchExpressions") or [])

    def matches(labels: Mapping[str, str]) -> bool:
        if any(labels.get(key) != value for key, value in match_labels.items()):
            return False
        for expression in expressions:
            key, operator, values = expression.get("key"), expression.get("operator"), expression.get("values") or []
            if operator == "In" and labels.get(key) not in values:
                return False
            if operator == "NotIn" and key in labels and labels[key] in values:
                return False
            if operator == "Exists" and key not in labels:
                return False
            if operator == "DoesNotExist" and key in labels:
                return False
        return True

    return matches
