"""`kubectl get` columns for the autoscaling kinds, as kube-apiserver's printers (pkg/printers/internalversion) give them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Column = tuple[str, str, int]  # as tables.Column: tables imports this module as it loads, so nothing is imported from it here
Row = list[Any]
NAME: Column = ("Name", "string", 0)
AGE: Column = ("Age", "string", 0)


def _quantity(value: Any) -> str:
    return str(value) if value is not None else "<unknown>"


def format_metrics(specs: list[dict[str, Any]], statuses: list[dict[str, Any]]) -> str:
    """formatHPAMetrics: ``cpu: 12%/80%``, ``memory: <unknown>/200Mi``, two at most then ``+ N more...``."""
    if not specs:
        return "<none>"
    shown: list[str] = []
    for index, spec in enumerate(specs):
        current_status = statuses[index] if index < len(statuses) else {}
        kind = spec.get("type")
        if kind in ("Resource", "ContainerResource"):
            field = "resource" if kind == "Resource" else "containerResource"
            source, current = spec.get(field) or {}, ((current_status.get(field) or {}).get("current") or {})
            target = source.get("target") or {}
            name = source.get("name", "")
            if target.get("averageValue") is not None:
                now = _quantity(current.get("averageValue")) if current_status.get(field) else "<unknown>"
                shown.append(f"{name}: {now}/{target['averageValue']}")
            else:
                now = f"{current['averageUtilization']}%" if current.get("averageUtilization") is not None else "<unknown>"
                wanted = f"{target['averageUtilization']}%" if target.get("averageUtilization") is not None else "<auto>"
                shown.append(f"{name}: {now}/{wanted}")
        elif kind == "Pods":
            source, current = spec.get("pods") or {}, ((current_status.get("pods") or {}).get("current") or {})
            shown.append(f"{_quantity(current.get('averageValue'))}/{(source.get('target') or {}).get('averageValue')}")
        elif kind == "Object":
            source, current = spec.get("object") or {}, ((current_status.get("object") or {}).get("current") or {})
            target = source.get("target") or {}
            if target.get("averageValue") is not None:
                shown.append(f"{_quantity(current.get('averageValue'))}/{target['averageValue']} (avg)")
            else:
                shown.append(f"{_quantity(current.get('value'))}/{target.get('value')}")
        elif kind == "External":
            source, current = spec.get("external") or {}, ((current_status.get("external") or {}).get("current") or {})
            target = source.get("target") or {}
            if target.get("averageValue") is not None:
                shown.append(f"{_quantity(current.get('averageValue'))}/{target['averageValue']} (avg)")
            else:
                shown.append(f"{_quantity(current.get('value'))}/{target.get('value')}")
        else:
            shown.append("<unknown type>")
    if len(shown) > 2:
        return f"{', '.join(shown[:2])} + {len(shown) - 2} more..."
    return ", ".join(shown)


def _hpa(obj: dict[str, Any]) -> Row:
    from labrunner.sandbox.tables import age

    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    reference = spec.get("scaleTargetRef") or {}
    minimum = spec.get("minReplicas")
    return [obj["metadata"]["name"], f"{reference.get('kind', '')}/{reference.get('name', '')}",
            format_metrics(spec.get("metrics") or [], status.get("currentMetrics") or []),
            "<unset>" if minimum is None else str(minimum), int(spec.get("maxReplicas") or 0), int(status.get("currentReplicas") or 0), age(obj)]


PRINTERS: dict[str, tuple[list[Column], Callable[[dict[str, Any]], Row]]] = {
    "horizontalpodautoscalers": ([NAME, ("Reference", "string", 0), ("Targets", "string", 0), ("MinPods", "string", 0),
                                  ("MaxPods", "integer", 0), ("Replicas", "integer", 0), AGE], _hpa),
}
