"""The endpoints and EndpointSlice controllers: a Service with a selector gets an
Endpoints object and EndpointSlices listing the pods it selects that have an IP, ready
ones as addresses and the others as not ready. Each port is resolved per pod as
FindPort does (a named targetPort through the pod's container ports, native sidecars'
included): a pod where a name resolves to nothing gets no endpoint for that port, so a
misspelt targetPort leaves the Endpoints empty and the pods in a slice without ports,
as kube-controller-manager leaves them (kube-proxy then has no backend for the port)."""

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
    if not selector or spec.get("type") == "ExternalName":
        return  # endpoints of a selector-less service are the user's to write; an ExternalName has none
    pods = [p for p in cluster.store.list(PODS, namespace)
            if all((p["metadata"].get("labels") or {}).get(k) == v for k, v in selector.items())
            and (p.get("status") or {}).get("podIP") and not terminating(p)]

    def address(pod: dict[str, Any]) -> dict[str, Any]:
        return {"ip": pod["status"]["podIP"], "nodeName": pod["spec"].get("nodeName"),
                "targetRef": {"kind": "Pod", "namespace": namespace, "name": pod["metadata"]["name"], "uid": pod["metadata"]["uid"]}}

    def resolved(pod: dict[str, Any]) -> tuple[tuple[tuple[str, Any], ...], ...]:
        """The Service's ports this pod serves, each as its EndpointPort's items (getEndpointPorts)."""
        found = []
        for port in spec.get("ports") or []:
            target = _find_port(pod, port)
            if target is None:
                continue  # "Failed to find port for service": no endpoint of this pod for that port
            entry = {"port": target, "protocol": port.get("protocol", "TCP")}
            if port.get("name"):
                entry["name"] = port["name"]
            found.append(tuple(entry.items()))
        return tuple(found)

    groups: dict[tuple[tuple[tuple[str, Any], ...], ...], list[dict[str, Any]]] = {}
    for pod in pods:
        groups.setdefault(resolved(pod), []).append(pod)
    subsets = []
    for ports_key, members in groups.items():
        if not ports_key and (spec.get("ports") or spec.get("clusterIP") != "None"):
            continue  # a pod serving none of the Service's ports is no endpoint of it
        subset: dict[str, Any] = {}
        if ready_members := [p for p in members if is_ready(p)]:
            subset["addresses"] = [address(p) for p in ready_members]
        if not_ready_members := [p for p in members if not is_ready(p)]:
            subset["notReadyAddresses"] = [address(p) for p in not_ready_members]
        subsets.append(dict(subset, ports=[dict(items) for items in ports_key]))
    endpoints = {"metadata": {"name": name, "namespace": namespace, "labels": service["metadata"].get("labels", {})},
                 "subsets": subsets}
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
    # one slice per set of ports (pods that resolve a named port differently, or not at all, apart),
    # or a placeholder without ports when no pod is selected, as the reconciler keeps them
    wanted_slices = {}
    for number, (ports_key, members) in enumerate(sorted(groups.items(), key=lambda item: -len(item[0])) or [((), [])]):
        suffix = template_hash({"service": name}) if number == 0 else template_hash({"service": name, "ports": repr(ports_key)})
        wanted_slices[f"{name}-{suffix[:5]}"] = {
            "endpoints": [{"addresses": [p["status"]["podIP"]], "conditions": {"ready": is_ready(p), "serving": is_ready(p), "terminating": False},
                           "nodeName": p["spec"].get("nodeName"), "targetRef": address(p)["targetRef"]} for p in members],
            # an EndpointSlice names every port, "" for an unnamed one (kubectl describe reads the name through a pointer)
            "ports": [{"name": "", **dict(items)} for items in ports_key],
        }
    for existing in cluster.store.list(ENDPOINT_SLICES, namespace):
        theirs = existing["metadata"].get("labels") or {}
        if (theirs.get("kubernetes.io/service-name") == name and theirs.get("endpointslice.kubernetes.io/managed-by") == MANAGED_BY
                and existing["metadata"]["name"] not in wanted_slices):
            try:
                cluster.store.delete(ENDPOINT_SLICES, namespace, existing["metadata"]["name"])
            except NotFound:
                pass
    # a slice carries its Service's labels, then the reserved ones (setEndpointSliceLabels)
    labels = {k: v for k, v in (service["metadata"].get("labels") or {}).items() if k not in RESERVED}
    if spec.get("clusterIP") == "None":
        labels[HEADLESS] = ""
    labels.update({"kubernetes.io/service-name": name, "endpointslice.kubernetes.io/managed-by": MANAGED_BY})
    for slice_name, content in wanted_slices.items():
        endpoint_slice = {
            "metadata": {"name": slice_name, "namespace": namespace, "labels": labels, "ownerReferences": [owner_reference(service)]},
            "addressType": "IPv4", **content,
        }
        try:
            current_slice = cluster.store.get(ENDPOINT_SLICES, namespace, slice_name)
            now = (current_slice.get("endpoints"), current_slice.get("ports"), current_slice["metadata"].get("labels"))
            if now != (endpoint_slice["endpoints"], endpoint_slice["ports"], labels):
                current_slice["endpoints"], current_slice["ports"] = endpoint_slice["endpoints"], endpoint_slice["ports"]
                current_slice["metadata"]["labels"] = labels
                cluster.save(ENDPOINT_SLICES, current_slice)
        except NotFound:
            try:
                cluster.store.create(ENDPOINT_SLICES, endpoint_slice)
            except AlreadyExists:
                pass


MANAGED_BY = "endpointslice-controller.k8s.io"
HEADLESS = "service.kubernetes.io/headless"
RESERVED = frozenset({"kubernetes.io/service-name", "endpointslice.kubernetes.io/managed-by", HEADLESS})


def _find_port(pod: dict[str, Any], port: dict[str, Any]) -> Any:
    """The pod's port number for a Service port (FindPort): a number as it is; a name looked up
    in its containers' ports, then its native sidecars' (init containers with restartPolicy
    Always), of the same protocol; None when no port of the pod has that name."""
    target = port.get("targetPort", port.get("port"))
    if not isinstance(target, str) or target.isdigit():
        return int(target) if isinstance(target, str) else target
    protocol = port.get("protocol", "TCP")
    spec = pod.get("spec") or {}
    candidates = list(spec.get("containers") or []) + [c for c in spec.get("initContainers") or [] if c.get("restartPolicy") == "Always"]
    for container in candidates:
        for declared in container.get("ports") or []:
            if declared.get("name") == target and declared.get("protocol", "TCP") == protocol:
                return declared.get("containerPort")
    return None
