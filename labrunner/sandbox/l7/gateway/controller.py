"""NGINX Gateway Fabric 1.6's control plane (``gateway static-mode``) as its pod runs it: the
GatewayClass it is told to own, the one Gateway of that class it programs (NGF 1.x runs one
data plane, in its own pod, for one Gateway: a second is ignored as conflicting), the routes'
attachment and the statuses of all three, with NGF's reasons and messages.

Only a ready pod acts; without one, statuses stay as last written ("Waiting for controller"
before any). The Gateway's address is the pod's IP, as NGF reports it when its Service is not a
LoadBalancer with an address.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from typing import Any

from labrunner.sandbox import images, resources
from labrunner.sandbox.controllers.shared import NAMESPACES, PODS, SERVICES, Cluster, is_ready, terminating
from labrunner.sandbox.entrypoints import MainProcess, _port
from labrunner.sandbox.images import Image
from labrunner.sandbox.l7.gateway.attachment import (
    CONTROLLER_NAME, GROUP, SUPPORTED_KINDS, Condition, ParentVerdict, attach, resolve_backends,
)
from labrunner.sandbox.resources import ResourceType

SUBCOMMANDS_NOT_SIMULATED = ("provisioner-mode", "sleep", "generate-certs", "controller", "endpoint-picker")


def control_plane_process(image: Image, argv: list[str], flags: dict[str, str], rest: list[str]) -> MainProcess:
    """``gateway static-mode`` serves health and metrics; ``gateway initialize`` (the init
    container) copies its includes and ends."""
    command = rest[0] if rest else ""
    if command == "initialize":
        return MainProcess("exit", image, tuple(argv))
    if command != "static-mode":
        said = (f'Error: unknown command "{command}" for "gateway"' if command not in SUBCOMMANDS_NOT_SIMULATED
                else f"labrunner sandbox: gateway {command} is not simulated (the sandbox runs NGINX Gateway Fabric 1.6's static-mode)")
        return MainProcess("exit", image, tuple(argv), exit_code=1, output=(said,))
    ports = (("TCP", _port(flags.get("health-port"), 8081)), ("TCP", _port(flags.get("metrics-port"), 9113)))
    return MainProcess("server", image, tuple(argv), ports, options=dict(flags))



@dataclass(frozen=True)
class ControlPlane:
    pod: dict[str, Any]
    class_name: str
    controller_name: str


def control_planes(pods: list[dict[str, Any]]) -> list[ControlPlane]:
    """Every ready pod running ``gateway static-mode``, with the class and name its flags give."""
    from labrunner.sandbox.l7.servers import running_servers

    return [ControlPlane(pod, options.get("gatewayclass", "nginx"), options.get("gateway-ctlr-name", CONTROLLER_NAME))
            for pod, options in running_servers(pods, "gateway-controller")]


def kind(plural: str) -> ResourceType | None:
    """A Gateway API kind, when its CRD is installed (v1, or v1beta1 for ReferenceGrants)."""
    return resources.lookup(GROUP, "v1", plural) or resources.lookup(GROUP, "v1beta1", plural)


def _created(obj: dict[str, Any]) -> tuple[str, str, str]:
    metadata = obj["metadata"]
    return str(metadata.get("creationTimestamp", "")), str(metadata.get("namespace", "")), str(metadata.get("name", ""))


@dataclass
class Graph:
    """What one control plane makes of the cluster: its class, its Gateway, the routes attached."""
    plane: ControlPlane
    gateway_class: dict[str, Any] | None = None
    gateway: dict[str, Any] | None = None
    ignored_gateways: list[dict[str, Any]] = field(default_factory=list)
    verdicts: dict[str, list[ParentVerdict]] = field(default_factory=dict)
    """By route uid: one verdict per parentRef to the programmed Gateway."""
    resolved: dict[str, tuple[Condition, set[tuple[int, int]]]] = field(default_factory=dict)
    routes: list[dict[str, Any]] = field(default_factory=list)


def _refers_to(route: dict[str, Any], ref: dict[str, Any], gateway: dict[str, Any]) -> bool:
    return (ref.get("group", GROUP) == GROUP and ref.get("kind", "Gateway") == "Gateway" and ref.get("name") == gateway["metadata"]["name"]
            and (ref.get("namespace") or route["metadata"]["namespace"]) == gateway["metadata"]["namespace"])


def build(plane: ControlPlane, list_of: Any) -> Graph:
    """``list_of(plural)`` lists a kind (the store's objects; [] for one not served)."""
    graph = Graph(plane)
    graph.gateway_class = next((c for c in list_of("gatewayclasses") if c["metadata"]["name"] == plane.class_name
                                and (c.get("spec") or {}).get("controllerName") == plane.controller_name), None)
    if graph.gateway_class is None:
        return graph
    gateways = sorted((g for g in list_of("gateways") if (g.get("spec") or {}).get("gatewayClassName") == plane.class_name
                       and not terminating(g)), key=_created)
    if not gateways:
        return graph
    graph.gateway, graph.ignored_gateways = gateways[0], gateways[1:]
    labels = {n["metadata"]["name"]: n["metadata"].get("labels") or {} for n in list_of("namespaces")}
    services = {(s["metadata"]["namespace"], s["metadata"]["name"]) for s in list_of("services")}
    grants = list_of("referencegrants")
    for route in sorted(list_of("httproutes"), key=_created):
        refs = [ref for ref in (route.get("spec") or {}).get("parentRefs") or [] if _refers_to(route, ref, graph.gateway)]
        if not refs or terminating(route):
            continue
        graph.routes.append(route)
        uid = str(route["metadata"].get("uid"))
        graph.verdicts[uid] = [attach(route, ref, graph.gateway, True, labels) for ref in refs]
        graph.resolved[uid] = resolve_backends(route, services, grants)
    return graph


def _lister(cluster: Cluster) -> Any:
    def list_of(plural: str) -> list[dict[str, Any]]:
        if plural == "namespaces":
            return cluster.store.list(NAMESPACES)
        if plural == "services":
            return cluster.store.list(SERVICES)
        found = kind(plural)
        return cluster.store.list(found) if found is not None else []

    return list_of


# -- statuses ---------------------------------------------------------------------------------------


def _stamp() -> str:
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _conditions(wanted: list[Condition], previous: list[dict[str, Any]], generation: int) -> list[dict[str, Any]]:
    """metav1 conditions, keeping lastTransitionTime when nothing about one changed."""
    kept = {c.get("type"): c for c in previous}
    written = []
    for condition in wanted:
        before = kept.get(condition.type) or {}
        same = (before.get("status"), before.get("reason"), before.get("message")) == (condition.status, condition.reason, condition.message)
        written.append({"lastTransitionTime": before.get("lastTransitionTime") if same and before.get("lastTransitionTime") != "1970-01-01T00:00:00Z"
                        else _stamp(), "message": condition.message, "observedGeneration": generation,
                        "reason": condition.reason, "status": condition.status, "type": condition.type})
    return written


def _save_status(cluster: Cluster, plural: str, obj: dict[str, Any], status: dict[str, Any]) -> None:
    found = kind(plural)
    if found is None or obj.get("status") == status:
        return
    obj["status"] = status
    cluster.save(found, obj)


CLASS_ACCEPTED = [Condition("Accepted", "True", "Accepted", "GatewayClass is accepted"),
                  Condition("SupportedVersion", "True", "SupportedVersion", "Gateway API CRD versions are supported")]
CLASS_CONFLICT = [Condition("Accepted", "False", "GatewayClassConflict", "The resource is ignored due to a conflicting GatewayClass resource")]
GATEWAY_CONFLICT = [Condition("Accepted", "False", "GatewayConflict", "The resource is ignored due to a conflicting Gateway resource"),
                    Condition("Programmed", "False", "GatewayConflict", "The resource is ignored due to a conflicting Gateway resource")]
LISTENER_OK = [Condition("Accepted", "True", "Accepted", "Listener is accepted"), Condition("Programmed", "True", "Programmed", "Listener is programmed"),
               Condition("ResolvedRefs", "True", "ResolvedRefs", "All references are resolved"),
               Condition("Conflicted", "False", "NoConflicts", "No conflicts")]
NOT_SIMULATED = ("labrunner sandbox: NGINX Gateway Fabric's {protocol} listeners are not simulated (the sandbox serves HTTP listeners); "
                 "on a real cluster this listener would be programmed or refused by NGF itself")


def _listener_conditions(listener: dict[str, Any]) -> list[Condition]:
    if listener.get("protocol") == "HTTP":
        return LISTENER_OK
    message = NOT_SIMULATED.format(protocol=listener.get("protocol"))
    return [Condition("Accepted", "False", "UnsupportedProtocol", message), Condition("Programmed", "False", "Invalid", message),
            Condition("ResolvedRefs", "True", "ResolvedRefs", "All references are resolved"),
            Condition("Conflicted", "False", "NoConflicts", "No conflicts")]


def reconcile(cluster: Cluster) -> None:
    if kind("gatewayclasses") is None:
        _program(None)
        return
    list_of = _lister(cluster)
    planes = control_planes(cluster.store.list(PODS))
    graphs = [build(plane, list_of) for plane in planes]
    for graph in graphs:
        _reconcile_plane(cluster, graph, list_of)
    _program(next((graph for graph in graphs if graph.gateway is not None), None))


def _reconcile_plane(cluster: Cluster, graph: Graph, list_of: Any) -> None:
    plane = graph.plane
    for gateway_class in list_of("gatewayclasses"):
        if (gateway_class.get("spec") or {}).get("controllerName") != plane.controller_name:
            continue
        wanted = CLASS_ACCEPTED if gateway_class["metadata"]["name"] == plane.class_name else CLASS_CONFLICT
        previous = (gateway_class.get("status") or {}).get("conditions") or []
        _save_status(cluster, "gatewayclasses", gateway_class,
                     {**(gateway_class.get("status") or {}), "conditions": _conditions(wanted, previous, int(gateway_class["metadata"].get("generation", 1)))})
    for ignored in graph.ignored_gateways:
        previous = (ignored.get("status") or {}).get("conditions") or []
        _save_status(cluster, "gateways", ignored, {"conditions": _conditions(GATEWAY_CONFLICT, previous, int(ignored["metadata"].get("generation", 1)))})
    gateway = graph.gateway
    if gateway is None:
        return
    attached: dict[str, int] = {}
    for route in graph.routes:
        _route_status(cluster, graph, route, plane, attached)
    listeners = (gateway.get("spec") or {}).get("listeners") or []
    previous_listeners = {entry.get("name"): entry for entry in (gateway.get("status") or {}).get("listeners") or []}
    generation = int(gateway["metadata"].get("generation", 1))
    valid = [listener for listener in listeners if listener.get("protocol") == "HTTP"]
    if valid and len(valid) == len(listeners):
        gateway_conditions = [Condition("Accepted", "True", "Accepted", "Gateway is accepted"), Condition("Programmed", "True", "Programmed", "Gateway is programmed")]
    elif valid:
        gateway_conditions = [Condition("Accepted", "True", "ListenersNotValid", "Gateway has at least one valid listener"),
                              Condition("Programmed", "True", "Programmed", "Gateway is programmed")]
    else:
        gateway_conditions = [Condition("Accepted", "False", "ListenersNotValid", "Gateway has no valid listeners"),
                              Condition("Programmed", "False", "Invalid", "Gateway has no valid listeners")]
    status = {
        "addresses": [{"type": "IPAddress", "value": str(plane.pod["status"]["podIP"])}],
        "conditions": _conditions(gateway_conditions, (gateway.get("status") or {}).get("conditions") or [], generation),
        "listeners": [{
            "attachedRoutes": attached.get(str(listener["name"]), 0) if listener.get("protocol") == "HTTP" else 0,
            "conditions": _conditions(_listener_conditions(listener), (previous_listeners.get(listener["name"]) or {}).get("conditions") or [], generation),
            "name": listener["name"],
            "supportedKinds": _supported_kinds(listener),
        } for listener in listeners],
    }
    _save_status(cluster, "gateways", gateway, status)


def _supported_kinds(listener: dict[str, Any]) -> list[dict[str, str]]:
    if listener.get("protocol") != "HTTP":
        return []
    asked = ((listener.get("allowedRoutes") or {}).get("kinds")) or list(SUPPORTED_KINDS)
    return [{"group": GROUP, "kind": str(k["kind"])} for k in asked if k.get("group", GROUP) == GROUP and k.get("kind") in ("HTTPRoute", "GRPCRoute")]


def _route_status(cluster: Cluster, graph: Graph, route: dict[str, Any], plane: ControlPlane, attached: dict[str, int]) -> None:
    uid = str(route["metadata"].get("uid"))
    resolved, _ = graph.resolved[uid]
    generation = int(route["metadata"].get("generation", 1))
    previous = {(p.get("controllerName"), _ref_key(p.get("parentRef") or {}, route)): p for p in (route.get("status") or {}).get("parents") or []}
    ours = []
    for verdict in graph.verdicts[uid]:
        for listener in verdict.listeners:
            attached[listener] = attached.get(listener, 0) + 1
        ref = verdict.parent_ref
        written_ref = {"group": ref.get("group", GROUP), "kind": ref.get("kind", "Gateway"), "name": ref["name"],
                       "namespace": ref.get("namespace") or route["metadata"]["namespace"]}
        for optional in ("sectionName", "port"):
            if optional in ref:
                written_ref[optional] = ref[optional]
        before = previous.get((plane.controller_name, _ref_key(written_ref, route))) or {}
        ours.append({"conditions": _conditions([verdict.accepted, resolved], before.get("conditions") or [], generation),
                     "controllerName": plane.controller_name, "parentRef": written_ref})
    others = [p for p in (route.get("status") or {}).get("parents") or [] if p.get("controllerName") != plane.controller_name]
    _save_status(cluster, "httproutes", route, {"parents": others + ours})


def _ref_key(ref: dict[str, Any], route: dict[str, Any]) -> tuple[Any, ...]:
    return (ref.get("name"), ref.get("namespace") or route["metadata"]["namespace"], ref.get("sectionName"), ref.get("port"))


_programmed_ports: tuple[tuple[str, int], ...] = ()
"""The ports NGF's nginx listens on: its programmed Gateway's HTTP listeners', as the control
plane last configured it (one data plane per sandbox, as one NGF install per cluster)."""


def data_plane_ports() -> tuple[tuple[str, int], ...]:
    return _programmed_ports


def _program(graph: Graph | None) -> None:
    global _programmed_ports
    gateway = graph.gateway if graph is not None else None
    _programmed_ports = tuple(sorted({("TCP", int(listener["port"])) for listener in ((gateway or {}).get("spec") or {}).get("listeners") or []
                                      if listener.get("protocol") == "HTTP"}))
