"""Which location of ingress-nginx's nginx.conf answers a request: pure, objects in, a choice out.

ingress-nginx turns the Ingresses it serves into nginx ``server`` blocks (one per host; rules
without a host, and every Host no server names, go to the default server ``_``), each with a
``/`` location for its default backend (an Ingress's ``spec.defaultBackend``, else the
controller's own, which answers 404), then one location per path, the oldest Ingress first
(a second Ingress's same host and path is left out). A Prefix path ``/foo`` becomes two
locations, ``= /foo`` and ``/foo/`` (updateServerLocations), which is how "/foo matches /foo and
/foo/bar but not /foobar" comes out of nginx's prefix matching; a Prefix ``/foo/`` stays
``/foo/`` with an exact ``/foo/``, so ingress-nginx does not take ``/foo`` for it, whatever the
Ingress docs' table says. nginx then picks an exact (``=``) location first, otherwise the longest
prefix. When any path of a host has ``use-regex`` or a ``rewrite-target`` (enforceRegexModifier),
every location of that host, Exact ones too, becomes a case-insensitive regex anchored at the
start (``~* "^/foo"``, Prefix paths left unnormalised), tried in the template's order (longest
path first, then descending), the first match winning. ImplementationSpecific paths are plain
nginx prefixes (``/foo`` takes ``/foobar``) or regexes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Any

REWRITE_TARGET = "nginx.ingress.kubernetes.io/rewrite-target"
USE_REGEX = "nginx.ingress.kubernetes.io/use-regex"
DEFAULT_SERVER = "_"


@dataclass(frozen=True)
class Backend:
    namespace: str
    service: str
    port: int | str
    """The Service's port, by number or by name."""

    @property
    def upstream(self) -> str:
        """ingress-nginx's upstream name, as its access log prints it (``default-web-80``)."""
        return f"{self.namespace}-{self.service}-{self.port}"


@dataclass(frozen=True)
class Location:
    path: str
    exact: bool
    backend: Backend | None
    """None: the controller's own default backend (404)."""
    ingress: str = ""
    """``namespace/name`` of the Ingress the location came from ("" for the server's default)."""
    rewrite_target: str | None = None
    regex: bool = False
    default_root: bool = False
    """The server's ``/`` location for its default backend, which a path ``/`` replaces."""


@dataclass(frozen=True)
class Choice:
    server: str
    location: Location
    uri: str
    """The URI sent upstream: the request's, or the one rewrite-target made of it."""


def _backend(namespace: str, backend: dict[str, Any] | None) -> Backend | None:
    service = (backend or {}).get("service")
    if not service:
        return None  # resource backends are not served by ingress-nginx
    port = service.get("port") or {}
    number = port.get("number")
    return Backend(namespace, str(service.get("name", "")), int(number) if isinstance(number, int) else str(port.get("name", "")))


def _created(ingress: dict[str, Any]) -> tuple[str, str, str]:
    metadata = ingress["metadata"]
    return str(metadata.get("creationTimestamp", "")), str(metadata.get("namespace", "")), str(metadata.get("name", ""))


def _needs_rewrite(target: str | None, path: str) -> bool:
    return bool(target) and target != path


def servers(ingresses: list[dict[str, Any]]) -> dict[str, list[Location]]:
    """nginx's servers and their locations, by host (``_`` for the default server), in the
    order its template writes them (longest path first, then descending)."""
    built: dict[str, list[Location]] = {DEFAULT_SERVER: [Location("/", False, None, default_root=True)]}
    ordered = sorted(ingresses, key=_created)
    for ingress in ordered:
        namespace = ingress["metadata"].get("namespace", "")
        spec = ingress.get("spec") or {}
        default = _backend(namespace, spec.get("defaultBackend"))
        source = f"{namespace}/{ingress['metadata']['name']}"
        if default is not None and built[DEFAULT_SERVER][0].backend is None:
            built[DEFAULT_SERVER][0] = Location("/", False, default, source, default_root=True)
        for rule in spec.get("rules") or []:
            host = rule.get("host") or DEFAULT_SERVER
            if host not in built:
                built[host] = [Location("/", False, default, source if default else "", default_root=True)]
    regex_hosts: set[str] = set()
    for ingress in ordered:
        metadata = ingress["metadata"]
        namespace, annotations = metadata.get("namespace", ""), metadata.get("annotations") or {}
        source = f"{namespace}/{metadata['name']}"
        target = annotations.get(REWRITE_TARGET)
        use_regex = annotations.get(USE_REGEX) == "true"
        for rule in (ingress.get("spec") or {}).get("rules") or []:
            host = rule.get("host") or DEFAULT_SERVER
            for http_path in (rule.get("http") or {}).get("paths") or []:
                path = str(http_path.get("path") or "/")
                rewrite = target if _needs_rewrite(target, path) else None
                if rewrite or use_regex:
                    regex_hosts.add(host)
                location = Location(path, http_path.get("pathType") == "Exact", _backend(namespace, http_path.get("backend")), source, rewrite)
                _add(built[host], location, http_path.get("pathType") == "Prefix" and not (rewrite or use_regex))
    for host in regex_hosts:
        built[host] = [replace(location, exact=False, regex=True) for location in built[host]]
    for host, locations in built.items():
        by_path = sorted(locations, key=lambda location: location.path, reverse=True)
        built[host] = sorted(by_path, key=lambda location: len(location.path), reverse=True)
    return built


def _add(locations: list[Location], location: Location, prefix: bool) -> None:
    """One path's locations; a Prefix path as updateServerLocations normalises it (``/foo``
    becomes ``/foo/`` and an exact ``/foo``, unless an exact one is there already)."""
    made = [location]
    if prefix and location.path != "/":
        exact_exists = any(present.exact and present.path == location.path for present in locations)
        normalised = replace(location, path=location.path if location.path.endswith("/") else location.path + "/")
        made = [normalised] if exact_exists else [normalised, replace(location, exact=True)]
    for new in made:
        index = next((i for i, present in enumerate(locations) if present.path == new.path and present.exact == new.exact), None)
        if index is None:
            locations.append(new)
        elif locations[index].default_root:
            locations[index] = new  # an Ingress's own `/` takes the server's default
        # otherwise the older Ingress keeps the path


def server_for(built: dict[str, list[Location]], host: str) -> str:
    """nginx's server_name matching: the exact name, then the longest leading wildcard; else ``_``."""
    host = host.split(":")[0].lower().rstrip(".")
    if host in built:
        return host
    # nginx's `*.example.com` takes subdomains at any depth, where the Ingress API speaks of one label
    wildcards = [name for name in built if name.startswith("*.") and host.endswith(name[1:])]
    return max(wildcards, key=len) if wildcards else DEFAULT_SERVER


def choose(built: dict[str, list[Location]], host: str, uri: str) -> Choice:
    """The location of the server for ``host`` that takes ``uri`` (path and query)."""
    server = server_for(built, host)
    locations = built[server]
    path, has_query, query = uri.partition("?")
    chosen = next((location for location in locations if location.exact and location.path == path), None)
    if chosen is None:
        regexes = [location for location in locations if location.regex]
        if regexes:
            chosen = next((location for location in regexes if re.match(_python_regex(location.path), path, re.IGNORECASE)), None)
        if chosen is None:
            prefixes = [location for location in locations if not location.exact and not location.regex and path.startswith(location.path)]
            chosen = max(prefixes, key=lambda location: len(location.path)) if prefixes else locations[-1]
    return Choice(server, chosen, _rewritten(chosen, path) + (f"?{query}" if has_query else ""))


def _python_regex(pattern: str) -> str:
    """nginx's PCRE as Python reads it (the paths learners write: groups, ``(/|$)``, ``.*``)."""
    return "^" + pattern


def _rewritten(location: Location, path: str) -> str:
    """``rewrite "(?i)<path>" <target> break;``: a match replaces the whole URI with the target,
    ``$1``...``$9`` standing for the groups."""
    if not location.rewrite_target:
        return path
    match = re.search(location.path, path, re.IGNORECASE)
    if match is None:
        return path
    groups = match.groups()

    def group(found: re.Match[str]) -> str:
        number = int(found.group(1))
        return (groups[number - 1] or "") if number <= len(groups) else ""

    return re.sub(r"\$(\d)", group, location.rewrite_target)
