"""Kinds served at two versions, stored at one: the API server's conversion.

A request at a served version that is not the storage version reads and writes through a
:class:`ConvertingStore`: objects are converted to the storage version before they are stored
and back before they are answered, as kube-apiserver's conversion does. One kind needs it:
HorizontalPodAutoscaler, stored as autoscaling/v2 and also served as autoscaling/v1 (what
``kubectl autoscale`` creates). autoscaling/v1 carries only a CPU utilization target; the v2
fields it cannot express (other metrics, behavior) are kept on the stored object and dropped
from v1 answers (kube-apiserver keeps them in annotations for round trips: not done here).
Watches at the non-storage version are not converted.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from labrunner.sandbox import resources
from labrunner.sandbox.resources import ResourceType

Convert = Callable[[dict[str, Any], dict[str, Any] | None], dict[str, Any]]
"""(the object, the stored object it replaces or None) -> the converted object."""


def _hpa_v1_to_v2(obj: dict[str, Any], stored: dict[str, Any] | None) -> dict[str, Any]:
    spec = dict(obj.get("spec") or {})
    target = spec.pop("targetCPUUtilizationPercentage", None)
    previous = (stored or {}).get("spec") or {}
    converted = {**spec, **({"behavior": previous["behavior"]} if "behavior" in previous else {})}
    metrics = [m for m in previous.get("metrics") or [] if not _is_cpu_utilization(m)]
    if target is not None:
        metrics.insert(0, {"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": target}}})
    if metrics:
        converted["metrics"] = metrics
    status = dict(obj.get("status") or (stored or {}).get("status") or {})
    status.pop("currentCPUUtilizationPercentage", None)
    return {**obj, "apiVersion": "autoscaling/v2", "spec": converted, **({"status": status} if status else {})}


def _hpa_v2_to_v1(obj: dict[str, Any], stored: dict[str, Any] | None) -> dict[str, Any]:
    spec = obj.get("spec") or {}
    converted = {key: spec[key] for key in ("scaleTargetRef", "minReplicas", "maxReplicas") if key in spec}
    cpu = next((m for m in spec.get("metrics") or [] if _is_cpu_utilization(m)), None)
    if cpu is not None:
        converted["targetCPUUtilizationPercentage"] = cpu["resource"]["target"]["averageUtilization"]
    status = obj.get("status") or {}
    shown = {key: status[key] for key in ("observedGeneration", "lastScaleTime", "currentReplicas", "desiredReplicas") if key in status}
    current = next((m for m in status.get("currentMetrics") or []
                    if m.get("type") == "Resource" and (m.get("resource") or {}).get("name") == "cpu"), None)
    if current is not None and "averageUtilization" in (current["resource"].get("current") or {}):
        shown["currentCPUUtilizationPercentage"] = current["resource"]["current"]["averageUtilization"]
    return {**obj, "apiVersion": "autoscaling/v1", "spec": converted, "status": shown}


def _is_cpu_utilization(metric: dict[str, Any]) -> bool:
    resource = metric.get("resource") or {}
    return metric.get("type") == "Resource" and resource.get("name") == "cpu" and (resource.get("target") or {}).get("type") == "Utilization"


@dataclass(frozen=True)
class Conversion:
    storage_version: str
    to_storage: dict[str, Convert]
    from_storage: dict[str, Convert]


CONVERSIONS: dict[tuple[str, str], Conversion] = {
    ("autoscaling", "horizontalpodautoscalers"): Conversion("v2", {"v1": _hpa_v1_to_v2}, {"v1": _hpa_v2_to_v1}),
}


def storage_of(resource: ResourceType) -> ResourceType | None:
    """The storage version's resource when ``resource`` is served at another version; else None."""
    conversion = CONVERSIONS.get((resource.group, resource.plural))
    if conversion is None or resource.version == conversion.storage_version:
        return None
    return resources.lookup(resource.group, conversion.storage_version, resource.plural)


class ConvertingStore:
    """The store as a request at a non-storage version sees it."""

    def __init__(self, store: Any, served: ResourceType, stored: ResourceType) -> None:
        conversion = CONVERSIONS[(served.group, served.plural)]
        self._store, self._stored = store, stored
        self._in, self._out = conversion.to_storage[served.version], conversion.from_storage[served.version]

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)

    def get(self, resource: ResourceType, namespace: str, name: str) -> dict[str, Any]:
        return self._out(self._store.get(self._stored, namespace, name), None)

    def list(self, resource: ResourceType, namespace: str | None = None) -> list[dict[str, Any]]:
        return [self._out(obj, None) for obj in self._store.list(self._stored, namespace)]

    def _previous(self, obj: dict[str, Any]) -> dict[str, Any] | None:
        metadata = obj.get("metadata") or {}
        try:
            found: dict[str, Any] = self._store.get(self._stored, metadata.get("namespace") or "", metadata.get("name") or "")
            return found
        except Exception:  # noqa: BLE001 - absent: nothing to keep from it
            return None

    def create(self, resource: ResourceType, obj: dict[str, Any], *, dry_run: bool = False) -> dict[str, Any]:
        return self._out(self._store.create(self._stored, self._in(obj, None), dry_run=dry_run), None)

    def update(self, resource: ResourceType, obj: dict[str, Any], *, dry_run: bool = False) -> dict[str, Any]:
        return self._out(self._store.update(self._stored, self._in(obj, self._previous(obj)), dry_run=dry_run), None)

    def delete(self, resource: ResourceType, namespace: str, name: str) -> Any:
        return self._store.delete(self._stored, namespace, name)
