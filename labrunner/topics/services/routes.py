"""``httproute-routes``: HTTPRoutes attached to a Gateway, with resolved references, send each
request of a step (a host, a path, headers) to the right Service.

Which route and rule takes a request is the Gateway API's precedence, computed by the sandbox's
pure rules (:mod:`labrunner.sandbox.l7.gateway.routing`) over every route of the namespace
attached to the Gateway, so one route or several, Exact or PathPrefix, any order, pass when they
route alike. Attachment and references are judged by the conditions the controller wrote; when
they are not True, the Gateway API's rules (:mod:`labrunner.sandbox.l7.gateway.attachment`) name
the field responsible: a parentRef's namespace or sectionName, the listener's allowedRoutes or
hostname, a backendRef no ReferenceGrant permits."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from labrunner.lab.check_args import CheckArgs
from labrunner.lab.fields import DnsName, KubeName, Port
from labrunner.registry.types import CheckContext, CheckKind, Outcome
from labrunner.sandbox.l7.gateway.attachment import GROUP, NO_HOSTNAME, NO_PARENT, NOT_ALLOWED, ParentVerdict, attach, resolve_backends
from labrunner.sandbox.l7.gateway.routing import Candidate, Matched, choose
from labrunner.topics.basics.selectors import labels_text
from labrunner.topics.services.common import Obj, condition, condition_said, condition_short, find, is_true, listed, missing
from labrunner.topics.services.gateway import INSTALL_CRDS, NO_CRDS


class RouteRequest(BaseModel):
    """A request for the check's host: its ``path`` (with ``headers``) must reach ``service`` (in
    ``service_namespace``, default the route's), on ``port`` when given."""

    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)

    path: str = Field(pattern=r"^/[^\s]*$")
    headers: dict[str, str] = Field(default_factory=dict)
    service: KubeName
    service_namespace: KubeName | None = None
    port: Port | None = None


class HttprouteRoutes(CheckArgs):
    """The HTTPRoutes of ``namespace`` attached to the Gateway ``gateway`` (in ``gateway_namespace``,
    default ``namespace``) send a request for ``host`` and each path of ``requests`` to its Service."""

    kind: Literal["httproute-routes"]
    namespace: KubeName
    gateway: KubeName
    gateway_namespace: KubeName | None = None
    host: DnsName
    requests: list[RouteRequest] = Field(min_length=1)


def _refers(route: Obj, ref: Mapping[str, Any], gateway: Obj) -> bool:
    return bool(ref.get("group", GROUP) == GROUP and ref.get("kind", "Gateway") == "Gateway" and ref.get("name") == gateway["metadata"]["name"]
            and (ref.get("namespace") or route["metadata"]["namespace"]) == gateway["metadata"]["namespace"])


Said = tuple[str, list[str]]
"""A sentence naming the mistake, and what follows it."""


def _parent_misses(route: Obj, gateway: Obj) -> Said | None:
    """A parentRef meant for the Gateway that names it wrongly."""
    name, gateway_name, gateway_namespace = route["metadata"]["name"], gateway["metadata"]["name"], gateway["metadata"]["namespace"]
    for index, ref in enumerate((route.get("spec") or {}).get("parentRefs") or []):
        namespace = ref.get("namespace") or route["metadata"]["namespace"]
        field = f"httproute {name}: spec.parentRefs[{index}]"
        if ref.get("name") == gateway_name and namespace != gateway_namespace:
            fix = [f"set spec.parentRefs[{index}].namespace: {gateway_namespace}"]
            if not ref.get("namespace"):
                return (f"{field}.namespace is not set, so it names gateway {gateway_name!r} in {namespace}, the route's own; gateway "
                        f"{gateway_name} is in {gateway_namespace}"), fix
            return f"{field}.namespace is {namespace}; gateway {gateway_name} is in {gateway_namespace}", fix
        if namespace == gateway_namespace and ref.get("name") != gateway_name:
            return f"{field} names gateway {ref.get('name')!r} in {gateway_namespace}; the Gateway there is {gateway_name}", []
    return None


def _attachment_problem(route: Obj, verdict: ParentVerdict, gateway: Obj, labels: Mapping[str, Mapping[str, str]]) -> Said:
    name, gateway_name = route["metadata"]["name"], gateway["metadata"]["name"]
    ref = verdict.parent_ref
    index = ((route.get("spec") or {}).get("parentRefs") or []).index(ref)
    listeners = (gateway.get("spec") or {}).get("listeners") or []
    shown = ", ".join(f"{entry.get('name')} (port {entry.get('port')})" for entry in listeners) or "none"
    if verdict.accepted == NO_PARENT:
        if ref.get("sectionName") is not None and not any(entry.get("name") == ref["sectionName"] for entry in listeners):
            return f"httproute {name}: spec.parentRefs[{index}].sectionName is {ref['sectionName']!r}; gateway {gateway_name} has listeners {shown}", []
        return f"httproute {name}: spec.parentRefs[{index}].port is {ref.get('port')}; gateway {gateway_name} has listeners {shown}", []
    if verdict.accepted == NOT_ALLOWED:
        namespace = route["metadata"]["namespace"]
        for entry in listeners:
            allowed = (entry.get("allowedRoutes") or {}).get("namespaces") or {}
            source = allowed.get("from", "Same")
            if source == "Same":
                return (f"gateway {gateway_name}'s listener {entry.get('name')}: allowedRoutes.namespaces.from is Same (the default), "
                        f"and httproute {name} is in {namespace}"), [
                    f"a listener admits routes from its own namespace ({gateway['metadata']['namespace']}) only, unless its "
                    "allowedRoutes.namespaces say otherwise (from: All, or from: Selector)"]
            if source == "Selector":
                return (f"gateway {gateway_name}'s listener {entry.get('name')}: allowedRoutes.namespaces.selector does not pick namespace "
                        f"{namespace}"), [
                    f"namespace {namespace} is labelled {labels_text(dict(labels.get(namespace, {}))) or 'with nothing'}; the listener admits "
                    "routes from the namespaces its selector picks"]
        return f"no listener of gateway {gateway_name} admits httproute {name} (allowedRoutes: its kinds or namespaces)", []
    if verdict.accepted == NO_HOSTNAME:
        hostnames = ", ".join((route.get("spec") or {}).get("hostnames") or [])
        chosen = [entry for entry in listeners if ref.get("sectionName") in (None, entry.get("name")) and ref.get("port") in (None, entry.get("port"))]
        listener_hosts = ", ".join(f"{entry.get('name')}: {entry.get('hostname') or 'any'}" for entry in chosen)
        return f"httproute {name}: spec.hostnames ({hostnames}) match no hostname of gateway {gateway_name}'s listeners ({listener_hosts})", []
    return f"httproute {name} is not accepted by gateway {gateway_name}: {verdict.accepted.reason}", [str(verdict.accepted.message)]


def _grant_problem(field: str, route: Obj, ref: Mapping[str, Any], grants: list[Obj]) -> Said:
    """Why no ReferenceGrant lets the route's backendRef (at ``field``) refer to the Service in
    another namespace: the grant responsible when there is one, the backendRef otherwise."""
    source, target, service = route["metadata"]["namespace"], str(ref.get("namespace")), str(ref.get("name"))
    refused = f"{field}, service {service} of {target}, is not permitted"
    why = f"no ReferenceGrant in {target} lets HTTPRoutes from {source} refer to Services"
    for grant in grants:
        metadata = grant["metadata"]
        froms: list[Mapping[str, Any]] = (grant.get("spec") or {}).get("from") or []
        tos = (grant.get("spec") or {}).get("to") or []
        if metadata.get("namespace") != target and any(f.get("namespace") == source for f in froms):
            return (f"ReferenceGrant {metadata['name']} is in namespace {metadata.get('namespace')}; a grant for service {service} must be "
                    f"in {target}, beside it"), [f"{refused}: {why}",
                                                 "a grant must be in the namespace of what it lets others refer to"]
        if metadata.get("namespace") != target:
            continue
        if not any(f.get("namespace") == source for f in froms):
            said = ", ".join(str(f.get("namespace")) for f in froms) or "none"
            return f"ReferenceGrant {metadata['name']} lets routes from {said} refer, not from {source} (spec.from[].namespace)", [
                f"{refused}: {why}"]
        if not any(f.get("kind") == "HTTPRoute" and f.get("group") == GROUP for f in froms if f.get("namespace") == source):
            return f"ReferenceGrant {metadata['name']}'s spec.from names no kind HTTPRoute of group {GROUP}", [f"{refused}: {why}"]
        if not any(t.get("kind") == "Service" and t.get("group", "") == "" for t in tos):
            return f"ReferenceGrant {metadata['name']}'s spec.to names no kind Service of the core group (group: \"\")", [f"{refused}: {why}"]
        names = [str(t.get("name")) for t in tos if t.get("kind") == "Service" and t.get("name")]
        if names and service not in names:
            return f"ReferenceGrant {metadata['name']} permits only the Service(s) {', '.join(names)} (spec.to[].name), not {service}", [
                f"{refused}: {why}"]
    return refused, [why]


def _backend_problem(route: Obj, rule_index: int, ref_index: int, services: set[tuple[str, str]], grants: list[Obj]) -> Said | None:
    """Why the backendRef cannot be used (the route's ResolvedRefs for it), or None."""
    ref = ((route["spec"]["rules"][rule_index]).get("backendRefs") or [])[ref_index]
    alone = {**route, "spec": {"rules": [{"backendRefs": [ref]}]}}
    found, invalid = resolve_backends(alone, services, grants)
    if not invalid:
        return None
    field = f"httproute {route['metadata']['name']}: spec.rules[{rule_index}].backendRefs[{ref_index}]"
    namespace = ref.get("namespace") or route["metadata"]["namespace"]
    if found.reason == "RefNotPermitted":
        return _grant_problem(field, route, {**ref, "namespace": namespace}, grants)
    if found.reason == "BackendNotFound":
        here = sorted(s for ns, s in services if ns == namespace)
        return f"{field}.name is {ref.get('name')!r}; no Service of that name exists in {namespace}", [f"Services in {namespace}: {', '.join(here) or 'none'}"]
    return f"{field}: {found.reason}", [str(found.message)]


def _rule_text(route: Obj, matched: Matched) -> str:
    path = (matched.match.get("path") or {"type": "PathPrefix", "value": "/"})
    return f"httproute {route['metadata']['name']}: spec.rules[{matched.rule_index}] ({path.get('type', 'PathPrefix')} {path.get('value', '/')})"


EXACT = "PathPrefix takes the path and everything below it; Exact, that path alone"


def _exact_misses(routes: list[Obj], path: str) -> list[str]:
    found = []
    for route in routes:
        for r, rule in enumerate((route.get("spec") or {}).get("rules") or []):
            for m, match in enumerate(rule.get("matches") or []):
                spec = match.get("path") or {}
                value = str(spec.get("value", "/"))
                if spec.get("type") == "Exact" and value != path and path.startswith(value.rstrip("/") + "/"):
                    found.append(f"httproute {route['metadata']['name']}: spec.rules[{r}].matches[{m}].path is Exact {value}, so {path} does "
                                 "not match it")
    return found


def _status_problem(route: Obj, gateway: Obj) -> Outcome | None:
    """(status, sentence, details) when the controller's conditions for this parent are missing or not True."""
    name = route["metadata"]["name"]
    entries = [p for p in (route.get("status") or {}).get("parents") or [] if _refers(route, p.get("parentRef") or {}, gateway)]
    if not entries:
        return "pending", f"no controller has written httproute {name}'s status for gateway {gateway['metadata']['name']} yet", []
    for kind in ("Accepted", "ResolvedRefs"):
        if not any(is_true(entry, kind) for entry in entries):
            found = condition(entries[0], kind)
            return "failed", f"httproute {name} is not {'accepted' if kind == 'Accepted' else 'resolved'}: {condition_short(found)}", (
                condition_said(found))
    return None


def httproute_routes(args: HttprouteRoutes, context: CheckContext) -> Outcome:
    cluster, namespace = context.cluster, args.namespace
    gateway_namespace = args.gateway_namespace or namespace
    routes = listed(cluster, "httproutes", namespace)
    if routes is None:
        return "failed", NO_CRDS.format(plural="httproutes"), [INSTALL_CRDS]
    gateway = find(cluster, "gateways", args.gateway, gateway_namespace)
    if gateway is None:
        absent, details = missing(cluster, "gateways", "gateway", args.gateway, gateway_namespace)
        return "failed", absent, details
    if not is_true(gateway.get("status"), "Programmed"):
        programmed = condition(gateway.get("status"), "Programmed")
        return "failed", f"gateway {args.gateway} is not programmed: {condition_short(programmed)}", condition_said(programmed)
    routes = [r for r in routes if not r["metadata"].get("deletionTimestamp")]
    if not routes:
        return "failed", f"no HTTPRoute exists in {namespace}", []
    labels = {str(n["metadata"]["name"]): n["metadata"].get("labels") or {} for n in cluster.list("namespaces")}
    attached: list[tuple[Obj, list[ParentVerdict]]] = []
    problems: list[Said] = []
    for route in routes:
        refs = [ref for ref in (route.get("spec") or {}).get("parentRefs") or [] if _refers(route, ref, gateway)]
        if not refs:
            if miss := _parent_misses(route, gateway):
                problems.append(miss)
            continue
        verdicts = [attach(route, ref, gateway, True, labels) for ref in refs]
        if any(v.listeners for v in verdicts):
            attached.append((route, verdicts))
        else:
            problems.append(_attachment_problem(route, verdicts[0], gateway, labels))
    if not attached:
        if problems:
            return "failed", problems[0][0], [*problems[0][1], *(sentence for sentence, _ in problems[1:])]
        return "failed", f"no HTTPRoute of {namespace} names gateway {args.gateway} of {gateway_namespace} in its spec.parentRefs", []
    candidates = [Candidate(route, index, tuple(sorted({h for v in verdicts for hosts in v.listeners.values() for h in hosts})))
                  for route, verdicts in attached for index, _ in enumerate((route.get("spec") or {}).get("rules") or [])]
    services = {(str(s["metadata"]["namespace"]), str(s["metadata"]["name"])) for s in cluster.list("services")}
    grants = listed(cluster, "referencegrants") or []
    host = args.host.lower().rstrip(".")
    used: dict[str, Obj] = {}
    said: list[str] = []
    for request in args.requests:
        target_namespace = request.service_namespace or namespace
        reach = f"service {request.service}" + (f" of {target_namespace}" if target_namespace != namespace else "")
        wanted = f"{request.path} should reach {reach}"
        matched = choose(candidates, host, "GET", request.path, dict(request.headers), {})
        if matched is None:
            if problems:
                return "failed", problems[0][0], [*problems[0][1], *(sentence for sentence, _ in problems[1:])]
            if misses := _exact_misses([r for r, _ in attached], request.path):
                return "failed", f"{misses[0]}; it should reach {reach}", [EXACT, *misses[1:]]
            served = sorted({h for c in candidates for h in c.hostnames})
            return "failed", (f"no rule of the HTTPRoutes attached to gateway {args.gateway} takes a request for {host}{request.path} "
                              f"(their hostnames: {', '.join(served)})"), ["NGF answers 404", wanted]
        route = matched.route
        refs = matched.rule.get("backendRefs") or []
        index = next((i for i, ref in enumerate(refs) if ref.get("name") == request.service and (ref.get("namespace") or namespace) == target_namespace
                      and ref.get("kind", "Service") == "Service"), None)
        if index is None:
            gets = ", ".join(f"{ref.get('name')}" + (f" of {ref['namespace']}" if ref.get("namespace") else "") for ref in refs) or "no backend"
            lead = f"{_rule_text(route, matched)} takes {request.path} and sends it to {gets}: {wanted}"
            misses = _exact_misses([r for r, _ in attached], request.path)
            if misses:
                return "failed", f"{misses[0]}; it should reach {reach}", [EXACT, f"{_rule_text(route, matched)} takes it and sends it to {gets}", *misses[1:]]
            return "failed", lead, [sentence for sentence, _ in problems]
        if problem := _backend_problem(route, matched.rule_index, index, services, grants):
            return "failed", problem[0], problem[1]
        ref = refs[index]
        if request.port is not None and ref.get("port") != request.port:
            return "failed", (f"httproute {route['metadata']['name']}: spec.rules[{matched.rule_index}].backendRefs[{index}].port is "
                              f"{ref.get('port')}; this step wants {request.port}"), []
        weights = [int(r.get("weight", 1)) for r in refs]
        if weights[index] == 0:
            return "failed", f"httproute {route['metadata']['name']}: spec.rules[{matched.rule_index}].backendRefs[{index}].weight is 0: {wanted}", []
        share = f" ({weights[index]} of {sum(weights)})" if len(refs) > 1 else ""
        used[str(route["metadata"]["name"])] = route
        said.append(f"{request.path} -> {request.service}{share}")
    for route in used.values():
        if status_problem := _status_problem(route, gateway):
            return status_problem
    return "passed", (f"requests for {host} through gateway {args.gateway} go {', '.join(said)} "
                      f"(httproute {', '.join(sorted(used))}: Accepted, ResolvedRefs)"), []


def _watched(args: object) -> tuple[str, ...]:
    return ("httproutes", "gateways", "referencegrants", "services")


KINDS = (
    # polled too: a session that began before the Gateway API's CRDs were installed watches nothing of them
    CheckKind(model=HttprouteRoutes, run=httproute_routes, watches=_watched, polled=True),
)
