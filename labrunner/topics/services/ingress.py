"""``ingress-routes``: requests for a host and paths reach the right Services through the Ingresses
of a class, judged by meaning: which location ingress-nginx's generated nginx.conf picks for each
request (the sandbox's pure matching, :mod:`labrunner.sandbox.l7.ingress.matching`), over every
Ingress of the class in the namespace, so one Ingress or two, Prefix or ImplementationSpecific, any
order, all pass when they route alike. A request that goes astray is explained by the field
responsible: the class, the host, a pathType, a backend's Service or port."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from labrunner.lab.check_args import CheckArgs
from labrunner.lab.fields import DnsName, KubeName, Port
from labrunner.registry.types import CheckContext, CheckKind, Outcome
from labrunner.sandbox.l7.ingress.matching import DEFAULT_SERVER, Location, choose, servers
from labrunner.topics.services.common import Obj, listed

DEFAULT_ANNOTATION = "ingressclass.kubernetes.io/is-default-class"
CLASS_ANNOTATION = "kubernetes.io/ingress.class"


class Request(BaseModel):
    """A request for the check's host: its ``path`` must reach ``service`` (on the Service's ``port``)."""

    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)

    path: str = Field(pattern=r"^/[^\s]*$")
    service: KubeName
    port: Port | KubeName | None = None


class IngressRoutes(CheckArgs):
    """Through the Ingresses of ``ingress_class`` in ``namespace``, a request for ``host`` and
    each path of ``requests`` reaches the Service (and port) given."""

    kind: Literal["ingress-routes"]
    namespace: KubeName
    ingress_class: KubeName
    host: DnsName
    requests: list[Request] = Field(min_length=1)


Said = tuple[str, list[str]]
"""A sentence naming the mistake, and what follows it."""
EXACT = "Prefix takes the path and everything below it; Exact, that path alone"


def _class_problem(ingress: Obj, wanted: str, classes: dict[str, Obj]) -> Said | None:
    """Why the Ingress is not one of the class ``wanted`` (None when it is)."""
    name = ingress["metadata"]["name"]
    class_name = (ingress.get("spec") or {}).get("ingressClassName")
    if class_name == wanted:
        return None
    if class_name:
        if class_name not in classes:
            return (f"ingress {name}: spec.ingressClassName is {class_name!r}; no IngressClass {class_name} exists "
                    f"(classes: {', '.join(sorted(classes)) or 'none'}), so no controller serves it"), []
        return f"ingress {name}: spec.ingressClassName is {class_name}, another controller's class; this step's is {wanted}", []
    annotation = (ingress["metadata"].get("annotations") or {}).get(CLASS_ANNOTATION)
    if annotation == wanted:
        return None
    defaults = [n for n, c in classes.items() if ((c.get("metadata") or {}).get("annotations") or {}).get(DEFAULT_ANNOTATION) == "true"]
    said = f"ingress {name}: spec.ingressClassName is not set, and "
    said += (f"it was made before {defaults[0]} became the default class" if defaults else "no IngressClass is the cluster's default")
    details = [] if defaults else ["so no controller is bound to serve it"]
    if ((ingress.get("status") or {}).get("loadBalancer") or {}).get("ingress"):
        details.append("a controller took it anyway, as ingress-nginx does when it runs with --watch-ingress-without-class; "
                       "another cluster's would not")
    return f"{said}; this step's class is {wanted}", [*details, f"set spec.ingressClassName: {wanted}"]


def _where(ingresses: list[Obj], location: Location, host: str) -> tuple[Obj, str, Obj] | None:
    """The Ingress, field path and path entry a location came from."""
    for ingress in ingresses:
        if f"{ingress['metadata'].get('namespace')}/{ingress['metadata']['name']}" != location.ingress:
            continue
        for r, rule in enumerate((ingress.get("spec") or {}).get("rules") or []):
            if (rule.get("host") or DEFAULT_SERVER) != host:
                continue
            for p, entry in enumerate((rule.get("http") or {}).get("paths") or []):
                if str(entry.get("path") or "/") == location.path.rstrip("/") or str(entry.get("path") or "/") == location.path:
                    return ingress, f"spec.rules[{r}].http.paths[{p}]", entry
    return None


def _near_misses(ingresses: list[Obj], host: str, path: str) -> list[str]:
    """Paths of the host that would have taken ``path`` with another pathType (an Exact that was meant as Prefix)."""
    found = []
    for ingress in ingresses:
        for r, rule in enumerate((ingress.get("spec") or {}).get("rules") or []):
            if (rule.get("host") or DEFAULT_SERVER) != host:
                continue
            for p, entry in enumerate((rule.get("http") or {}).get("paths") or []):
                value = str(entry.get("path") or "/")
                prefix = value.rstrip("/")
                if entry.get("pathType") == "Exact" and value != path and (path.startswith(prefix + "/")):
                    found.append(f"ingress {ingress['metadata']['name']}: spec.rules[{r}].http.paths[{p}] path {value} is Exact, so {path} "
                                 "does not match it")
    return found


def _backend_problem(ingress: Obj, field: str, entry: Mapping[str, Any], services: dict[str, Obj], wanted_port: Any) -> Said | None:
    service_ref = ((entry.get("backend") or {}).get("service")) or {}
    name = ingress["metadata"]["name"]
    service = services.get(str(service_ref.get("name")))
    if service is None:
        return (f"ingress {name}: {field}.backend.service.name is {service_ref.get('name')!r}; no Service of that name exists in "
                f"{ingress['metadata']['namespace']}"), [f"Services in {ingress['metadata']['namespace']}: {', '.join(sorted(services)) or 'none'}"]
    port_ref = service_ref.get("port") or {}
    ports = (service.get("spec") or {}).get("ports") or []
    listed_ports = ", ".join(f"{p['name']}={p.get('port')}" if p.get("name") else str(p.get("port")) for p in ports)
    if "name" in port_ref:
        chosen = next((p for p in ports if p.get("name") == port_ref["name"]), None)
        if chosen is None:
            return (f"ingress {name}: {field}.backend.service.port.name is {port_ref['name']!r}; service {service_ref.get('name')} "
                    f"has no port of that name (its ports: {listed_ports})"), []
    else:
        chosen = next((p for p in ports if p.get("port") == port_ref.get("number")), None)
        if chosen is None:
            return (f"ingress {name}: {field}.backend.service.port.number is {port_ref.get('number')}; service {service_ref.get('name')} "
                    f"does not expose it (its ports: {listed_ports})"), []
    if wanted_port is not None and wanted_port not in (chosen.get("port"), chosen.get("name")):
        return f"ingress {name}: {field}.backend.service.port is {port_ref.get('name') or port_ref.get('number')}; this step wants {wanted_port}", []
    return None


def ingress_routes(args: IngressRoutes, context: CheckContext) -> Outcome:
    cluster, namespace, host = context.cluster, args.namespace, args.host.lower().rstrip(".")
    ingresses = listed(cluster, "ingresses", namespace) or []
    classes = {str(c["metadata"]["name"]): c for c in listed(cluster, "ingressclasses") or []}
    if not ingresses:
        elsewhere = [f"ingress {i['metadata']['name']} in {i['metadata'].get('namespace')}" for i in listed(cluster, "ingresses") or []
                     if any((r.get("host") or "") == host for r in (i.get("spec") or {}).get("rules") or [])]
        said = f"no Ingress exists in {namespace}"
        if elsewhere:
            return "failed", f"{said}; {elsewhere[0]} has a rule for {host}", ["an Ingress reaches the Services of its own namespace only"]
        return "failed", said, []
    if args.ingress_class not in classes:
        return "failed", f"no IngressClass {args.ingress_class} exists (classes: {', '.join(sorted(classes)) or 'none'})", [
            "is its controller installed?"]
    ours = [i for i in ingresses if _class_problem(i, args.ingress_class, classes) is None and not i["metadata"].get("deletionTimestamp")]
    outsiders = [problem for i in ingresses if (problem := _class_problem(i, args.ingress_class, classes))]
    others = [sentence for sentence, _ in outsiders[1:]]
    services = {str(s["metadata"]["name"]): s for s in cluster.list("services", namespace)}
    built = servers(ours)
    routed = []
    for request in args.requests:
        choice = choose(built, host, request.path)
        location = choice.location
        wanted = f"{request.path} should reach service {request.service}"
        if choice.server == DEFAULT_SERVER and not any((r.get("host") or "") == host for i in ours for r in (i.get("spec") or {}).get("rules") or []):
            if outsiders:
                return "failed", outsiders[0][0], [*outsiders[0][1], *others]
            hosts = sorted({str(r.get("host") or "*") for i in ours for r in (i.get("spec") or {}).get("rules") or []})
            return "failed", (f"no Ingress of class {args.ingress_class} in {namespace} has a rule for host {host} (their hosts: "
                              f"{', '.join(hosts) or 'none'})"), ["so a request for it gets the default backend's 404"]
        found = _where(ours, location, choice.server) if location.backend is not None else None
        if location.backend is None or location.backend.service != request.service:
            near = _near_misses(ours, choice.server, request.path)
            gets = f"service {location.backend.service}" if location.backend else "the default backend (404)"
            if near:
                return "failed", f"{near[0]}; it should reach service {request.service}", [
                    EXACT, f"{request.path} falls through to {location.path if location.backend else '/'} and gets {gets}", *near[1:]]
            if found is not None and location.backend is not None:
                ingress, field, _ = found
                return "failed", (f"ingress {ingress['metadata']['name']}: {field} (path {location.path.rstrip('/') or '/'}) takes {request.path} "
                                  f"and sends it to service {location.backend.service}: {wanted}"), []
            if outsiders:
                return "failed", outsiders[0][0], [*outsiders[0][1], *others]
            return "failed", f"no path of the Ingresses of class {args.ingress_class} for {host} takes {request.path}: it gets {gets}", [wanted]
        if found is not None and (problem := _backend_problem(found[0], found[1], found[2], services, request.port)):
            return "failed", problem[0], problem[1]
        routed.append((request, found[0] if found else None))
    unpublished = sorted({str(i["metadata"]["name"]) for _, i in routed if i is not None
                          and not ((i.get("status") or {}).get("loadBalancer") or {}).get("ingress")})
    if unpublished:
        return "pending", (f"ingress {', '.join(unpublished)} has no address yet: no controller of class {args.ingress_class} has taken it "
                           "(is its controller's pod ready?)"), []
    said = ", ".join(f"{r.path} -> {r.service}" for r, _ in routed)
    used = ", ".join(sorted({str(i["metadata"]["name"]) for _, i in routed if i is not None}))
    return "passed", f"requests for {host} go {said} (ingress {used}, class {args.ingress_class})", []


KINDS = (CheckKind(model=IngressRoutes, run=ingress_routes, watches=("ingresses", "ingressclasses", "services")),)
