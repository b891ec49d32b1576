"""`kubectl get quota` and `kubectl get limits` columns, as kube-apiserver's printResourceQuota and
printLimitRange give them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from labrunner.sandbox.tables import Column, Row, age

NAME: Column = ("Name", "string", 0)
AGE: Column = ("Age", "string", 0)


def _resource_quotas(obj: dict[str, Any]) -> Row:
    """Each hard resource as ``used/hard``, sorted; ``limits.*`` in the Limit column, the rest in Request."""
    status = obj.get("status") or {}
    used, hard = status.get("used") or {}, status.get("hard") or {}
    request: list[str] = []
    limit: list[str] = []
    for resource in sorted((obj.get("spec") or {}).get("hard") or {}):
        column = limit if resource.split(".")[0] == "limits" and "." in resource else request
        column.append(f"{resource}: {used.get(resource, '0')}/{hard.get(resource, '0')}")
    return [obj["metadata"]["name"], age(obj), ", ".join(request), ", ".join(limit)]


def _limit_ranges(obj: dict[str, Any]) -> Row:
    return [obj["metadata"]["name"], obj["metadata"].get("creationTimestamp", "")]


PRINTERS: dict[str, tuple[list[Column], Callable[[dict[str, Any]], Row]]] = {
    "resourcequotas": ([NAME, AGE, ("Request", "string", 0), ("Limit", "string", 0)], _resource_quotas),
    "limitranges": ([NAME, ("Created At", "date", 0)], _limit_ranges),
}
