"""What a request is about, read from its method and path as the API server's
RequestInfoFactory does: a resource request (verb, group, version, resource,
subresource, namespace, name) or a non-resource one (discovery, /version, ...).
The router and the authoriser read the same answer."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

_NAMESPACE_SUBRESOURCES = ("status", "finalize")
"""``/api/v1/namespaces/NAME/status``: a namespace's own subresources, not a resource in it."""
_VERBS = {"POST": "create", "PUT": "update", "PATCH": "patch", "DELETE": "delete"}


@dataclass(frozen=True)
class RequestInfo:
    path: str
    verb: str
    """get, list, watch, create, update, patch, delete, deletecollection; for a
    non-resource request the HTTP method in lower case."""
    is_resource: bool = False
    group: str = ""
    version: str = ""
    resource: str = ""
    subresource: str = ""
    namespace: str | None = None
    name: str | None = None
    rest: tuple[str, ...] = ()
    """Path segments past the subresource (no such resource exists)."""
    selected_name: str = ""
    """A list or watch whose fieldSelector requires one ``metadata.name`` (``kubectl get pod web
    -w``): the authorizer sees that name, so a rule with ``resourceNames`` may allow it."""


def request_info(method: str, path: str, query: Mapping[str, str]) -> RequestInfo:
    parts = [p for p in path.split("/") if p]
    if parts[:1] == ["api"] and len(parts) >= 3:
        group, version, rest = "", parts[1], parts[2:]
    elif parts[:1] == ["apis"] and len(parts) >= 4:
        group, version, rest = parts[1], parts[2], parts[3:]
    else:
        return RequestInfo(path, method.lower())
    namespace: str | None = None
    if rest[0] == "namespaces" and len(rest) >= 3 and not (len(rest) == 3 and rest[2] in _NAMESPACE_SUBRESOURCES):
        namespace, rest = rest[1], rest[2:]
    name = rest[1] if len(rest) > 1 else None
    selected = ""
    if method == "GET":
        watching = query.get("watch") in ("1", "true")
        verb = "watch" if watching else "get" if name else "list"
        if name is None:
            selected = _exact_name(query.get("fieldSelector", ""))
    elif method == "DELETE" and name is None:
        verb = "deletecollection"
    else:
        verb = _VERBS.get(method, method.lower())
    return RequestInfo(path, verb, True, group, version, rest[0], rest[2] if len(rest) > 2 else "", namespace, name, tuple(rest[3:]), selected)


def _exact_name(selector: str) -> str:
    """``metadata.name=web`` (or ``==``) among a fieldSelector's terms, when it is a valid path segment."""
    for term in selector.split(","):
        key, operator, value = term.partition("==") if "==" in term else term.partition("=")
        if operator and key.strip() == "metadata.name" and not key.endswith("!"):
            value = value.strip()
            return value if value not in ("", ".", "..") and "/" not in value and "%" not in value else ""
    return ""
