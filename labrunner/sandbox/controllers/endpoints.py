"""The endpoints and EndpointSlice controllers: a Service with a selector gets an
Endpoints object and one EndpointSlice listing the pods it selects that have an IP,
ready ones as addresses and the others as not ready; named target ports are
resolved through the pods' container ports."""

from __future__ import annotations

from typing import Any

from labrunner.sandbox.controllers.shared import ENDPOINT_SLICES, ENDPOINTS, PODS, SERVICES, Cluster, is_ready, owner_reference, terminating
from labrunner.sandbox.defaults import template_hash
from labrunner.sandbox.store import AlreadyExists, NotFound


def reconcile(cluster: Cluster) -> None:
    cluster.each(SERVICES, "endpoint-controller", lambda obj: _endpoints(cluster, obj))


def _endpoints(cluster: Cluster, service: dict[str, Any]) -> None:
    namespace, name = service["metadata"]["namespace"], service["metadata"]["name"]
    spec = service.get("spec") or {}
    selector = spec.get("selector")
    if not selector:
        return  # endpoints of a selector-less service are the user's to write
    pods = [p for p in cluster.store.list(PODS, namespace)
            if all((p["metadata"].get("labels") or {}).get(k) == v for k, v in selector.items())
            and (p.get("status") or {}).get("podIP") and not terminating(p)]
    ready = [p for p in pods if is_ready(p)]
    not_ready = [p for p in pods if not is_ready(p)]

    def address(pod: dict[str, Any]) -> dict[str, Any]:
        return {"ip": pod["status"]["podIP"], "nodeName": pod["spec"].get("nodeName"),
                "targetRef": {"kind": "Pod", "namespace": namespace, "name": pod["metadata"]["name"], "uid": pod["metadata"]["uid"]}}

    ports = []
    for port in spec.get("ports") or []:
        target = port.get("targetPort", port.get("port"))
        if isinstance(target, str):
            resolved = next((cp.get("containerPort") for p in pods for c in p["spec"].get("containers") or []
                             for cp in c.get("ports") or [] if cp.get("name") == target), None)
            target = resolved or port.get("port")
        entry = {"port": target, "protocol": port.get("protocol", "TCP")}
        if port.get("name"):
            entry["name"] = port["name"]
        ports.append(entry)
    subset: dict[str, Any] = {}
    if ready:
        subset["addresses"] = [address(p) for p in ready]
    if not_ready:
        subset["notReadyAddresses"] = [address(p) for p in not_ready]
    endpoints = {"metadata": {"name": name, "namespace": namespace, "labels": service["metadata"].get("labels", {})},
                 "subsets": [dict(subset, ports=ports)] if subset else []}
    try:
        current = cluster.store.get(ENDPOINTS, namespace, name)
        if current.get("subsets") != endpoints["subsets"]:
            current["subsets"] = endpoints["subsets"]
            cluster.save(ENDPOINTS, current)
    except NotFound:
        try:
            cluster.store.create(ENDPOINTS, endpoints)
        except AlreadyExists:
            pass
    slice_name = f"{name}-{template_hash({'service': name})[:5]}"
    endpoint_slice = {
        "metadata": {"name": slice_name, "namespace": namespace,
                     "labels": {"kubernetes.io/service-name": name, "endpointslice.kubernetes.io/managed-by": "endpointslice-controller.k8s.io"},
                     "ownerReferences": [owner_reference(service)]},
        "addressType": "IPv4",
        "endpoints": [{"addresses": [p["status"]["podIP"]], "conditions": {"ready": is_ready(p), "serving": is_ready(p), "terminating": False},
                       "nodeName": p["spec"].get("nodeName"), "targetRef": address(p)["targetRef"]} for p in pods],
        # an EndpointSlice names every port, "" for an unnamed one (kubectl describe reads the name through a pointer)
        "ports": [{"name": "", **port} for port in ports],
    }
    try:
        current_slice = cluster.store.get(ENDPOINT_SLICES, namespace, slice_name)
        if (current_slice.get("endpoints"), current_slice.get("ports")) != (endpoint_slice["endpoints"], endpoint_slice["ports"]):
            current_slice["endpoints"], current_slice["ports"] = endpoint_slice["endpoints"], endpoint_slice["ports"]
            cluster.save(ENDPOINT_SLICES, current_slice)
    except NotFound:
        try:
            cluster.store.create(ENDPOINT_SLICES, endpoint_slice)
        except AlreadyExists:
            pass
