"""A Kubernetes label selector as the text ``kubectl -l`` and the API's ``labelSelector`` take."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def selector_text(selector: Mapping[str, Any] | None) -> str:
    """``matchLabels`` and ``matchExpressions`` both, as apimachinery's
    ``LabelSelectorAsSelector`` turns them into a selector string:
    ``app=web,tier in (a,b),!legacy``. An empty selector is ``""`` (selects everything)."""
    selector = selector or {}
    parts = [f"{key}={value}" for key, value in sorted((selector.get("matchLabels") or {}).items())]
    for expression in selector.get("matchExpressions") or []:
        key, operator = expression.get("key", ""), expression.get("operator", "")
        values = ",".join(sorted(str(v) for v in expression.get("values") or []))
        if operator == "In":
            parts.append(f"{key} in ({values})")
        elif operator == "NotIn":
            parts.append(f"{key} notin ({values})")
        elif operator == "Exists":
            parts.append(key)
        elif operator == "DoesNotExist":
            parts.append(f"!{key}")
    return ",".join(parts)


def labels_text(labels: Mapping[str, str]) -> str:
    return ",".join(f"{k}={v}" for k, v in sorted(labels.items()))
