"""Which HTTPRoutes attach to which Gateway listeners, and the conditions NGINX Gateway Fabric 1.6
writes for them: pure, objects in, verdicts out.

The Gateway API's rules (apis/v1 and the conformance suite): a parentRef picks listeners by
``sectionName`` and ``port``; a listener admits a route by kind (``allowedRoutes.kinds``, HTTPRoute
and GRPCRoute for HTTP) and namespace (``from: Same``, ``All`` or ``Selector``); the hostnames of
the two must intersect (a listener without hostname takes any). A backendRef in another
namespace needs a ReferenceGrant there from HTTPRoutes of the route's namespace. The reasons and
messages are NGF's (internal/mode/static/state/conditions).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

GROUP = "gateway.networking.k8s.io"
CONTROLLER_NAME = "gateway.nginx.org/nginx-gateway-controller"
SUPPORTED_KINDS = ({"group": GROUP, "kind": "HTTPRoute"}, {"group": GROUP, "kind": "GRPCRoute"})


@dataclass(frozen=True)
class Condition:
    type: str
    status: str
    reason: str
    message: str


ROUTE_ACCEPTED = Condition("Accepted", "True", "Accepted", "The route is accepted")
ROUTE_RESOLVED = Condition("ResolvedRefs", "True", "ResolvedRefs", "All references are resolved")
NOT_ALLOWED = Condition("Accepted", "False", "NotAllowedByListeners", "Route is not allowed by any listener")
NO_HOSTNAME = Condition("Accepted", "False", "NoMatchingListenerHostname", "Listener hostname does not match the Route hostnames")
NO_PARENT = Condition("Accepted", "False", "NoMatchingParent", "Listener is not found for this parent ref")
INVALID_GATEWAY = Condition("Accepted", "False", "InvalidGateway", "Gateway is invalid")


def hostname_matches(listener: str, route: str) -> str | None:
    """The hostname both admit (the more specific), or None."""
    if not listener:
        return route
    if listener == route:
        return route
    if listener.startswith("*.") and not route.startswith("*.") and route.endswith(listener[1:]):
        return route
    if route.startswith("*.") and not listener.startswith("*.") and listener.endswith(route[1:]):
        return listener
    if listener.startswith("*.") and route.startswith("*.") and route.endswith(listener[1:]):
        return route
    return None


def intersect(listener_hostname: str, route_hostnames: list[str]) -> list[str]:
    """The route's hostnames this listener serves; ``*`` when neither names one."""
    if not route_hostnames:
        return [listener_hostname or "*"]
    return [found for host in route_hostnames if (found := hostname_matches(listener_hostname, host)) is not None]


def _selected(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    if any(labels.get(key) != value for key, value in (selector.get("matchLabels") or {}).items()):
        return False
    for expression in selector.get("matchExpressions") or []:
        key, operator, values = expression.get("key"), expression.get("operator"), expression.get("values") or []
        if operator == "In" and labels.get(key) not in values:
            return False
        if operator == "NotIn" and labels.get(key) in values:
            return False
        if operator == "Exists" and key not in labels:
            return False
        if operator == "DoesNotExist" and key in labels:
            return False
    return True


def allows(listener: dict[str, Any], gateway_namespace: str, route_namespace: str, route_kind: str,
           namespace_labels: dict[str, dict[str, str]]) -> bool:
    """Whether the listener's allowedRoutes admit a route of this kind from this namespace."""
    allowed = listener.get("allowedRoutes") or {}
    kinds = allowed.get("kinds") or list(SUPPORTED_KINDS)
    if not any(k.get("kind") == route_kind and k.get("group", GROUP) == GROUP for k in kinds):
        return False
    namespaces = allowed.get("namespaces") or {}
    source = namespaces.get("from", "Same")
    if source == "All":
        return True
    if source == "Selector":
        return _selected(namespaces.get("selector") or {}, namespace_labels.get(route_namespace, {}))
    return route_namespace == gateway_namespace


@dataclass
class ParentVerdict:
    parent_ref: dict[str, Any]
    accepted: Condition
    listeners: dict[str, list[str]] = field(default_factory=dict)
    """The listeners the route attached to, with the hostnames each serves for it."""


def attach(route: dict[str, Any], parent_ref: dict[str, Any], gateway: dict[str, Any] | None, gateway_valid: bool,
           namespace_labels: dict[str, dict[str, str]]) -> ParentVerdict:
    """The route's attachment to one parentRef's Gateway (one NGF processes)."""
    if gateway is None or not gateway_valid:
        return ParentVerdict(parent_ref, INVALID_GATEWAY)
    listeners = (gateway.get("spec") or {}).get("listeners") or []
    section, port = parent_ref.get("sectionName"), parent_ref.get("port")
    candidates = [listener for listener in listeners if (section is None or listener.get("name") == section)
                  and (port is None or listener.get("port") == port)]
    if not candidates:
        return ParentVerdict(parent_ref, NO_PARENT)
    route_namespace = route["metadata"]["namespace"]
    admitted = [listener for listener in candidates if listener.get("protocol") == "HTTP"
                and allows(listener, gateway["metadata"]["namespace"], route_namespace, str(route.get("kind", "HTTPRoute")), namespace_labels)]
    if not admitted:
        return ParentVerdict(parent_ref, NOT_ALLOWED)
    hostnames = [str(h) for h in (route.get("spec") or {}).get("hostnames") or []]
    served = {str(listener["name"]): found for listener in admitted if (found := intersect(str(listener.get("hostname") or ""), hostnames))}
    if not served:
        return ParentVerdict(parent_ref, NO_HOSTNAME)
    return ParentVerdict(parent_ref, ROUTE_ACCEPTED, served)


def granted(grants: list[dict[str, Any]], route_kind: str, route_namespace: str, target_namespace: str, service: str) -> bool:
    """Whether a ReferenceGrant in ``target_namespace`` lets routes of ``route_namespace`` refer to the Service."""
    for grant in grants:
        if grant["metadata"].get("namespace") != target_namespace:
            continue
        spec = grant.get("spec") or {}
        sources = any(f.get("group") == GROUP and f.get("kind") == route_kind and f.get("namespace") == route_namespace for f in spec.get("from") or [])
        targets = any(t.get("group", "") == "" and t.get("kind") == "Service" and t.get("name") in (None, "", service) for t in spec.get("to") or [])
        if sources and targets:
            return True
    return False


def resolve_backends(route: dict[str, Any], services: set[tuple[str, str]], grants: list[dict[str, Any]]) -> tuple[Condition, set[tuple[int, int]]]:
    """ResolvedRefs for the route (its first unresolved reference) and the (rule, backendRef)
    indices that cannot be used (NGF answers 500 for their share of requests)."""
    namespace = route["metadata"]["namespace"]
    kind = str(route.get("kind", "HTTPRoute"))
    condition, invalid = ROUTE_RESOLVED, set()
    for rule_index, rule in enumerate((route.get("spec") or {}).get("rules") or []):
        for ref_index, ref in enumerate(rule.get("backendRefs") or []):
            path = f"spec.rules[{rule_index}].backendRefs[{ref_index}]"
            problem: Condition | None = None
            if ref.get("group", "") != "" or ref.get("kind", "Service") != "Service":
                problem = Condition("ResolvedRefs", "False", "InvalidKind", f'{path}.kind: Unsupported value: "{ref.get("kind")}": supported values: "Service"')
            else:
                target = str(ref.get("namespace") or namespace)
                name = str(ref.get("name", ""))
                if target != namespace and not granted(grants, kind, namespace, target, name):
                    problem = Condition("ResolvedRefs", "False", "RefNotPermitted",
                                        f"{path}.namespace: Forbidden: Backend ref to Service {target}/{name} not permitted by any ReferenceGrant")
                elif (target, name) not in services:
                    problem = Condition("ResolvedRefs", "False", "BackendNotFound", f'{path}.name: Not found: "{name}"')
            if problem is not None:
                invalid.add((rule_index, ref_index))
                if condition is ROUTE_RESOLVED:
                    condition = problem
    return condition, invalid
