"""`kubectl get` columns for Ingresses and IngressClasses, as kube-apiserver's printers
(pkg/printers/internalversion: printIngress, printIngressClass) give them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from labrunner.sandbox.tables import Column, Row, age

NAME: Column = ("Name", "string", 0)
AGE: Column = ("Age", "string", 0)
_LOAD_BALANCER_WIDTH = 16


def hosts_text(rules: list[dict[str, Any]]) -> str:
    """formatHosts: at most three hosts, then ``+ N more...``; ``*`` when no rule names one."""
    listed: list[str] = []
    more = False
    for rule in rules:
        if len(listed) == 3:
            more = True
        if not more and rule.get("host"):
            listed.append(str(rule["host"]))
    if not listed:
        return "*"
    text = ",".join(listed)
    return f"{text} + {len(rules) - 3} more..." if more else text


def address_text(status: dict[str, Any], wide: bool = False) -> str:
    """ingressLoadBalancerStatusStringer: the IPs or hostnames, sorted, cut at 16 characters."""
    found = sorted({str(entry.get("ip") or entry.get("hostname") or "") for entry in
                    ((status.get("loadBalancer") or {}).get("ingress") or []) if entry.get("ip") or entry.get("hostname")})
    text = ",".join(found)
    if not wide and len(text) > _LOAD_BALANCER_WIDTH:
        text = text[: _LOAD_BALANCER_WIDTH - 3] + "..."
    return text


def _ingresses(obj: dict[str, Any]) -> Row:
    spec = obj.get("spec") or {}
    ports = "80, 443" if spec.get("tls") else "80"
    return [obj["metadata"]["name"], spec.get("ingressClassName") or "<none>", hosts_text(spec.get("rules") or []),
            address_text(obj.get("status") or {}), ports, age(obj)]


def _ingress_classes(obj: dict[str, Any]) -> Row:
    spec = obj.get("spec") or {}
    parameters = spec.get("parameters")
    shown = "<none>"
    if parameters:
        kind = str(parameters.get("kind", ""))
        if parameters.get("apiGroup"):
            kind = f"{kind}.{parameters['apiGroup']}"
        shown = f"{kind}/{parameters.get('name', '')}"
    return [obj["metadata"]["name"], spec.get("controller", ""), shown, age(obj)]


PRINTERS: dict[str, tuple[list[Column], Callable[[dict[str, Any]], Row]]] = {
    "ingresses": ([NAME, ("Class", "string", 0), ("Hosts", "string", 0), ("Address", "string", 0), ("Ports", "string", 0), AGE], _ingresses),
    "ingressclasses": ([NAME, ("Controller", "string", 0), ("Parameters", "string", 0), AGE], _ingress_classes),
}
