"""The state of the cluster behind a probe: the Service its URL names, and whether that Service
can send the connection anywhere. Asked, like every topic's explainer, when a probe's answer is
not the expected one; a line starting with "because " names the cause, and probes put it in
their first sentence (a Service with no pods to send to comes before any policy)."""

from __future__ import annotations

import ipaddress
from typing import Any
from urllib.parse import urlparse

from labrunner.cluster import errors
from labrunner.cluster.port import ClusterPort
from labrunner.registry.types import Connection
from labrunner.topics.basics.selectors import labels_text


def service_state(cluster: ClusterPort, connection: Connection) -> list[str]:
    """Nothing when the URL names no Service of the cluster (an address, a name outside it)."""
    named = _service_of(connection)
    if named is None:
        return []
    name, namespace, port = named
    try:
        try:
            service = cluster.get("services", name, namespace)
        except errors.NotFound:
            return _missing(cluster, name, namespace)
        spec = service.get("spec") or {}
        selector = spec.get("selector") or {}
        if not selector or spec.get("type") == "ExternalName":
            return []  # its endpoints are someone's own (or a DNS alias): nothing to say from here
        pods = cluster.list("pods", namespace, labels=labels_text(selector))
        if not pods:
            from labrunner.checks.nearmiss import pods_near_selector

            near = pods_near_selector(cluster, namespace, selector)
            return [f"because service {name}'s selector {labels_text(selector)} matches no pod in {namespace}", *([near] if near else [])]
        ready = [pod for pod in pods if _ready(pod)]
        if not ready:
            return [f"because none of service {name}'s {len(pods)} pod(s) is ready", "so the Service has no endpoint to send to"]
        entry = next((p for p in spec.get("ports") or [] if port is None or p.get("port") == port), None)
        if entry is not None:
            from labrunner.topics.basics.services import target_port_mismatch

            mismatch = target_port_mismatch(name, int(entry.get("port") or 0), entry, ready)
            if mismatch is not None:
                target = entry.get("targetPort", entry.get("port"))
                return [f"because service {name}'s targetPort {target!r} is no port of its pods", mismatch]
    except errors.ClusterError:
        return []
    return []


def _service_of(connection: Connection) -> tuple[str, str, int | None] | None:
    """(service, namespace, port) of a URL's host as a pod resolves it: ``name``, ``name.ns``,
    ``name.ns.svc`` or ``name.ns.svc.<cluster domain>``."""
    parsed = urlparse(connection.url)
    host = parsed.hostname or ""
    try:
        ipaddress.ip_address(host)
        return None
    except ValueError:
        pass
    parts = host.split(".")
    if not parts[0] or (len(parts) > 2 and parts[2] != "svc"):
        return None
    namespace = parts[1] if len(parts) > 1 else connection.namespace
    try:
        port = parsed.port
    except ValueError:
        port = None
    if port is None and parsed.scheme in ("http", "https"):
        port = 443 if parsed.scheme == "https" else 80
    return parts[0], namespace, port


def _missing(cluster: ClusterPort, name: str, namespace: str) -> list[str]:
    from labrunner.checks.nearmiss import missing_object

    near = missing_object(cluster, "services", name, namespace)
    return [f"because service {name} does not exist in {namespace}", *([near] if near else [])]


def _ready(pod: dict[str, Any]) -> bool:
    conditions = (pod.get("status") or {}).get("conditions") or []
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)
