"""``gateway-class`` and ``gateway-programmed``: a GatewayClass its controller accepted, a Gateway of
it Accepted and Programmed with the listeners a step asks for. The verdict is the status conditions
the controller wrote (so it holds for any implementation); a Gateway without them is explained by
its class (misspelt, another controller's, not accepted) and by what the controller said."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from labrunner.lab.check_args import CheckArgs
from labrunner.lab.fields import DnsName, KubeName, NonEmptyStr, Port
from labrunner.registry.types import CheckContext, CheckKind, Outcome
from labrunner.topics.services.common import Obj, condition, condition_said, condition_short, find, is_true, listed, missing

NO_CRDS = "the cluster serves no {plural}.gateway.networking.k8s.io: the Gateway API's CRDs are not installed"
INSTALL_CRDS = "install them: kubectl apply -f gateway-api-crds.yaml"


class GatewayClass(CheckArgs):
    """The GatewayClass ``name`` exists (with ``controller`` as its controllerName, when given) and
    its controller has accepted it (condition Accepted True)."""

    kind: Literal["gateway-class"]
    name: KubeName
    controller: NonEmptyStr | None = None


class Listener(BaseModel):
    """A listener the Gateway must have: ``port`` and ``protocol``, and ``name`` and ``hostname`` when given."""

    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)

    port: Port
    protocol: Literal["HTTP", "HTTPS", "TLS", "TCP", "UDP"] = "HTTP"
    name: KubeName | None = None
    hostname: DnsName | None = Field(default=None, pattern=r"^(\*\.)?[A-Za-z0-9]([-A-Za-z0-9.]*[A-Za-z0-9])?$")


class GatewayProgrammed(CheckArgs):
    """The Gateway ``name`` in ``namespace``, of the class ``gateway_class`` when given, has each of
    ``listeners`` and is Accepted and Programmed by its controller, those listeners too."""

    kind: Literal["gateway-programmed"]
    namespace: KubeName
    name: KubeName
    gateway_class: KubeName | None = None
    listeners: list[Listener] = Field(default_factory=list)


def class_problem(cluster: Any, class_name: str, controller: str | None = None) -> tuple[str, list[str]] | None:
    """Why a GatewayClass is not one its controller accepted, and the details (None when it is)."""
    classes = listed(cluster, "gatewayclasses")
    if classes is None:
        return NO_CRDS.format(plural="gatewayclasses"), [INSTALL_CRDS]
    found = next((c for c in classes if c["metadata"]["name"] == class_name), None)
    if found is None:
        return f"no GatewayClass {class_name} exists (classes: {', '.join(sorted(str(c['metadata']['name']) for c in classes)) or 'none'})", []
    controller_name = (found.get("spec") or {}).get("controllerName")
    if controller and controller_name != controller:
        return f"gatewayclass {class_name}: spec.controllerName is {controller_name}; this step wants {controller}", []
    accepted = condition(found.get("status"), "Accepted")
    if (accepted or {}).get("status") == "True":
        return None
    details = condition_said(accepted)
    if (accepted or {}).get("reason") in (None, "Pending", "Waiting"):
        details.append(f"no running controller named {controller_name} has taken it (is its pod ready?)")
    return f"gatewayclass {class_name} is not accepted: {condition_short(accepted)}", details


def gateway_class(args: GatewayClass, context: CheckContext) -> Outcome:
    if problem := class_problem(context.cluster, args.name, args.controller):
        return "failed", problem[0], problem[1]
    return "passed", f"gatewayclass {args.name} is accepted by its controller", []


def _listener_problem(gateway: Obj, wanted: Listener) -> tuple[str, list[str]] | None:
    name = gateway["metadata"]["name"]
    listeners = (gateway.get("spec") or {}).get("listeners") or []
    shown = ", ".join(f"{entry.get('name')} ({entry.get('protocol')} {entry.get('port')}"
                      + (f", {entry['hostname']}" if entry.get("hostname") else "") + ")" for entry in listeners) or "none"
    candidates = [entry for entry in listeners if entry.get("port") == wanted.port and entry.get("protocol") == wanted.protocol]
    if not candidates:
        return f"gateway {name} has no {wanted.protocol} listener on port {wanted.port}", [f"its spec.listeners: {shown}"]
    if wanted.name and not any(entry.get("name") == wanted.name for entry in candidates):
        return f"gateway {name}'s {wanted.protocol} listener on port {wanted.port} is named {candidates[0].get('name')}; this step wants {wanted.name}", []
    if wanted.hostname and not any(entry.get("hostname") == wanted.hostname for entry in candidates):
        got = candidates[0].get("hostname")
        return (f"gateway {name}: the hostname of listener {candidates[0].get('name')} is {got or 'not set (any host)'}; "
                f"this step wants {wanted.hostname}"), []
    return None


def _listener_status(gateway: Obj, wanted: Listener) -> Mapping[str, Any] | None:
    listeners = (gateway.get("spec") or {}).get("listeners") or []
    entry = next((e for e in listeners if e.get("port") == wanted.port and e.get("protocol") == wanted.protocol
                  and (not wanted.name or e.get("name") == wanted.name)), None)
    if entry is None:
        return None
    return next((s for s in (gateway.get("status") or {}).get("listeners") or [] if s.get("name") == entry.get("name")), None)


def gateway_programmed(args: GatewayProgrammed, context: CheckContext) -> Outcome:
    cluster, namespace, name = context.cluster, args.namespace, args.name
    if listed(cluster, "gateways", namespace) is None:
        return "failed", NO_CRDS.format(plural="gateways"), [INSTALL_CRDS]
    gateway = find(cluster, "gateways", name, namespace)
    if gateway is None:
        said, details = missing(cluster, "gateways", "gateway", name, namespace)
        return "failed", said, details
    class_name = str((gateway.get("spec") or {}).get("gatewayClassName") or "")
    if args.gateway_class and class_name != args.gateway_class:
        classes = listed(cluster, "gatewayclasses") or []
        names = sorted(str(c["metadata"]["name"]) for c in classes)
        exists = class_name in names
        which = "another controller's class" if exists else "a class that does not exist"
        return "failed", f"gateway {name}: spec.gatewayClassName is {class_name!r}, {which}; this step wants {args.gateway_class}", [
            *([] if exists else [f"GatewayClasses: {', '.join(names) or 'none'}"]),
            f"so the controller of {args.gateway_class} does not program it",
            "gatewayClassName cannot be changed: delete the Gateway and create it again"]
    if problem := class_problem(cluster, class_name):
        return "failed", f"gateway {name}: {problem[0]}", problem[1]
    for wanted in args.listeners:
        if listener := _listener_problem(gateway, wanted):
            return "failed", listener[0], listener[1]
    status = gateway.get("status") or {}
    for kind in ("Accepted", "Programmed"):
        found = condition(status, kind)
        if (found or {}).get("status") != "True":
            said = f"gateway {name} is not {kind.lower()}: {condition_short(found)}"
            details = condition_said(found)
            if (found or {}).get("reason") == "GatewayConflict":
                details.append("NGINX Gateway Fabric 1.x programs one Gateway of its class, the oldest: delete the other or use it")
            if found is None or (found.get("reason") in ("Pending", "Waiting")):
                return "pending", f"{said}; its controller has not taken it yet", details
            return "failed", said, details
    for wanted in args.listeners:
        entry = _listener_status(gateway, wanted)
        if entry is None or not is_true(entry, "Programmed"):
            found = condition(entry, "Programmed") if entry else None
            return "failed", f"gateway {name}'s listener on {wanted.protocol} {wanted.port} is not programmed: {condition_short(found)}", (
                condition_said(found))
    addresses = ", ".join(str(a.get("value")) for a in status.get("addresses") or []) or "no address"
    shown = ", ".join(f"{l.protocol} {l.port}" + (f" {l.hostname}" if l.hostname else "") for l in args.listeners)
    return "passed", f"gateway {name} (class {class_name}) is Accepted and Programmed" + (f", listening on {shown}" if shown else "") + f" ({addresses})", []


KINDS = (
    # polled too: a session that began before the Gateway API's CRDs were installed watches nothing of them
    CheckKind(model=GatewayClass, run=gateway_class, watches=("gatewayclasses", "pods"), prerequisite=True, polled=True),
    CheckKind(model=GatewayProgrammed, run=gateway_programmed, watches=("gateways", "gatewayclasses"), prerequisite=True, polled=True),
)
