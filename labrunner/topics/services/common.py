"""What the Services topic's kinds share: finding an object (and what exists instead when it is
not where it should be: :mod:`labrunner.checks.nearmiss`), a workload's pod template and the
ports it declares, status conditions."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from labrunner.checks.nearmiss import near_object
from labrunner.cluster import errors
from labrunner.cluster.port import ClusterPort

Obj = dict[str, Any]


def find(cluster: ClusterPort, plural: str, name: str, namespace: str | None = None) -> Obj | None:
    try:
        return cluster.get(plural, name, namespace)
    except errors.NotFound:
        return None


def listed(cluster: ClusterPort, plural: str, namespace: str | None = None) -> list[Obj] | None:
    """The objects, or None when the cluster does not serve the resource (its CRD is not installed)."""
    try:
        return cluster.list(plural, namespace)
    except errors.NotFound:
        return None


def missing(cluster: ClusterPort, plural: str, kind: str, name: str, namespace: str) -> tuple[str, list[str]]:
    """``kind name does not exist in namespace``, or the near miss instead (the same name in another
    namespace, a misspelt one); without one, the names that are there."""
    near = near_object(cluster, plural, name, namespace, known_absent=True)
    if near is not None:
        return near.sentence, []
    said = f"{kind} {name} does not exist in {namespace}"
    try:
        here = sorted(str(o["metadata"]["name"]) for o in cluster.list(plural, namespace))
    except errors.ClusterError:
        here = []
    return said, [f"{kind}s in {namespace}: {', '.join(here[:8])}"] if here else []


def workload_of(cluster: ClusterPort, reference: str, namespace: str) -> tuple[str, str, Obj | None]:
    """``deployment/api`` -> (its kind's word, its name, the object or None)."""
    kind, _, name = reference.partition("/")
    plural = {"deployment": "deployments", "statefulset": "statefulsets", "daemonset": "daemonsets"}[kind]
    return kind, name, find(cluster, plural, name, namespace)


def template_labels(workload: Mapping[str, Any]) -> dict[str, str]:
    labels: dict[str, str] = (((workload.get("spec") or {}).get("template") or {}).get("metadata") or {}).get("labels") or {}
    return labels


def declared_ports(pod_spec: Mapping[str, Any]) -> list[tuple[str, int, str]]:
    """(name, number, protocol) of every port the containers declare, native sidecars' too (the
    EndpointSlice controller's FindPort looks there)."""
    found = list(pod_spec.get("containers") or [])
    found += [c for c in pod_spec.get("initContainers") or [] if c.get("restartPolicy") == "Always"]
    return [(str(p.get("name") or ""), int(p.get("containerPort", 0)), str(p.get("protocol", "TCP"))) for c in found for p in c.get("ports") or []]


def ports_text(declared: list[tuple[str, int, str]]) -> str:
    return ", ".join(f"{name}={number}/{protocol}" if name else f"{number}/{protocol}" for name, number, protocol in declared)


def matches(labels: Mapping[str, str] | None, selector: Mapping[str, str]) -> bool:
    return bool(selector) and all((labels or {}).get(key) == value for key, value in selector.items())


def condition(status: Mapping[str, Any] | None, kind: str) -> Obj | None:
    """The condition of ``kind`` (``Accepted``, ``Programmed``...) in a status's conditions."""
    return next((c for c in (status or {}).get("conditions") or [] if c.get("type") == kind), None)


def condition_text(found: Mapping[str, Any] | None) -> str:
    """``Accepted False (NotAllowedByListeners: Route is not allowed by any listener)``."""
    if not found:
        return "not reported"
    return f"{found.get('type')} {found.get('status')} ({found.get('reason')}: {found.get('message')})"


def condition_short(found: Mapping[str, Any] | None) -> str:
    """``Accepted False (NotAllowedByListeners)``: the condition without the controller's message."""
    if not found:
        return "not reported"
    return f"{found.get('type')} {found.get('status')} ({found.get('reason')})"


def condition_said(found: Mapping[str, Any] | None) -> list[str]:
    """The controller's message on the condition, as a detail (none when it wrote none)."""
    message = (found or {}).get("message")
    return [f"its controller says: {message}"] if message else []


def is_true(status: Mapping[str, Any] | None, kind: str) -> bool:
    return (condition(status, kind) or {}).get("status") == "True"
