"""What NGINX Gateway Fabric's pods answer: the control plane's ``/readyz``, and its nginx on each
of the programmed Gateway's HTTP listener ports, routing as NGF 1.6 configures it.

A host or path no attached route takes is 404; a rule whose chosen backendRef cannot be resolved
(missing, not permitted, another kind), or a rule without backends, is 500; a Service without
ready endpoints is 502; all nginx's own pages with its version (NGF leaves server_tokens on).
Filters: RequestRedirect (its 301/302 and Location), RequestHeaderModifier and URLRewrite
(hostname, ReplaceFullPath, ReplacePrefixMatch); backendRefs are picked by weight.
"""

from __future__ import annotations

import datetime
import random
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

from labrunner.sandbox.controllers.shared import NAMESPACES, PODS, SERVICES
from labrunner.sandbox.l7.gateway.controller import build, control_planes, kind
from labrunner.sandbox.l7.gateway.routing import Candidate, choose, modified_headers, rewritten_path
from labrunner.sandbox.l7.upstream import forward, nginx_page, service_endpoints
from labrunner.sandbox.webapps import NOT_HTTP, Response

if TYPE_CHECKING:
    from labrunner.sandbox.entrypoints import MainProcess
    from labrunner.sandbox.network import Network

NGINX_VERSION = "1.27.4"
"""The nginx of NGF 1.6.2's data-plane image."""
CONNECT_TIMEOUT = 60.0
"""nginx's proxy_connect_timeout default, which NGF leaves."""
_TEXT = (("Content-Type", "text/plain; charset=utf-8"),)


def answer(pod: dict[str, Any], process: MainProcess, method: str, path: str, query: str, headers: dict[str, str],
           client: dict[str, Any], port: int, network: Network, data_root: Path) -> Response:
    if process.image.does == "gateway-controller":
        if path == "/readyz":
            return Response(200, b"ok", headers=_TEXT)
        return Response(404, b"404 page not found\n", headers=_TEXT)
    store = network.store
    planes = control_planes(store.list(PODS))
    if not planes:
        return Response(NOT_HTTP, b"")

    def list_of(plural: str) -> list[dict[str, Any]]:
        if plural == "namespaces":
            return store.list(NAMESPACES)
        if plural == "services":
            return store.list(SERVICES)
        found = kind(plural)
        return store.list(found) if found is not None else []

    graph = build(planes[0], list_of)
    listeners = {str(listener["name"]): listener for listener in ((graph.gateway or {}).get("spec") or {}).get("listeners") or []}
    candidates = []
    for route in graph.routes:
        uid = str(route["metadata"].get("uid"))
        hostnames: set[str] = set()
        for verdict in graph.verdicts[uid]:
            for name, served in verdict.listeners.items():
                if (listeners.get(name) or {}).get("port") == port:
                    hostnames.update(served)
        for index, _ in enumerate((route.get("spec") or {}).get("rules") or []):
            if hostnames:
                candidates.append(Candidate(route, index, tuple(sorted(hostnames))))
    host = headers.get("Host") or str((pod.get("status") or {}).get("podIP", ""))
    matched = choose(candidates, host, method, path, headers, dict(parse_qsl(query)))
    client_ip = str((client.get("status") or {}).get("podIP", "127.0.0.1"))
    response = _serve(network, data_root, pod, graph, matched, method, path, query, host, port, headers, client_ip)
    _log(network, pod, client_ip, method, path + (f"?{query}" if query else ""), response, headers)
    return Response(response.status, response.body, response.delay, response.headers, reason=response.reason, logged=True)


def _page(status: int) -> Response:
    return nginx_page(status, NGINX_VERSION)


def _serve(network: Network, data_root: Path, pod: dict[str, Any], graph: Any, matched: Any, method: str, path: str, query: str,
           host: str, port: int, headers: dict[str, str], client_ip: str) -> Response:
    if matched is None:
        return _page(404)
    rule, match = matched.rule, matched.match
    sent = {"Host": host, "X-Forwarded-For": client_ip, "X-Real-IP": client_ip, "X-Forwarded-Proto": "http",
            "X-Forwarded-Host": host.split(":")[0], "X-Forwarded-Port": str(port)}
    sent.update({key: value for key, value in headers.items() if key.lower() not in {k.lower() for k in sent}})
    upstream_path = path
    for filter_ in rule.get("filters") or []:
        kind_of = filter_.get("type")
        if kind_of == "RequestRedirect":
            return _redirect(filter_.get("requestRedirect") or {}, match, host, port, path, query)
        if kind_of == "RequestHeaderModifier":
            sent = modified_headers(sent, filter_.get("requestHeaderModifier") or {})
        elif kind_of == "URLRewrite":
            rewrite = filter_.get("urlRewrite") or {}
            if rewrite.get("hostname"):
                sent = modified_headers(sent, {"set": [{"name": "Host", "value": rewrite["hostname"]}]})
            if rewrite.get("path"):
                upstream_path = rewritten_path(path, match, rewrite["path"])
    refs = list(enumerate(rule.get("backendRefs") or []))
    weighted = [(index, ref) for index, ref in refs if int(ref.get("weight", 1)) > 0]
    if not weighted:
        return _page(500)
    index, ref = random.choices(weighted, weights=[int(ref.get("weight", 1)) for _, ref in weighted])[0]
    _, invalid = graph.resolved[str(matched.route["metadata"].get("uid"))]
    if (matched.rule_index, index) in invalid or ref.get("port") is None:
        return _page(500)
    namespace = str(ref.get("namespace") or matched.route["metadata"]["namespace"])
    endpoints = service_endpoints(network, namespace, str(ref["name"]), int(ref["port"]))
    if not endpoints:
        return _page(502)
    uri = upstream_path + (f"?{query}" if query else "")
    forwarded = forward(network, data_root, pod, f"{pod['metadata'].get('uid')}/{namespace}/{ref['name']}/{ref['port']}", endpoints, method,
                        uri, sent, connect_timeout=CONNECT_TIMEOUT)
    answer_ = forwarded.response
    if answer_.status in (502, 504) and forwarded.upstream == "-":
        page = _page(answer_.status)
        return Response(page.status, page.body, answer_.delay, page.headers, reason=page.reason)
    return answer_


def _redirect(redirect: dict[str, Any], match: dict[str, Any], host: str, port: int, path: str, query: str) -> Response:
    status = int(redirect.get("statusCode", 302))
    scheme = str(redirect.get("scheme") or "http")
    hostname = str(redirect.get("hostname") or host.split(":")[0])
    target_port = redirect.get("port")
    if target_port is None and not redirect.get("scheme"):
        target_port = port
    shown_port = "" if target_port is None or (scheme, int(target_port)) in (("http", 80), ("https", 443)) else f":{target_port}"
    new_path = rewritten_path(path, match, redirect["path"]) if redirect.get("path") else path
    location = f"{scheme}://{hostname}{shown_port}{new_path}" + (f"?{query}" if query else "")
    page = _page(status)
    return Response(status, page.body, headers=(("Content-Type", "text/html"), ("Location", location)), reason="Moved Permanently" if status == 301 else "Found")


def _log(network: Network, pod: dict[str, Any], client_ip: str, method: str, uri: str, response: Response, headers: dict[str, str]) -> None:
    """nginx's combined format, into the nginx container's log."""
    moment = datetime.datetime.now(datetime.timezone.utc).strftime("%d/%b/%Y:%H:%M:%S +0000")
    line = f'{client_ip} - - [{moment}] "{method} {uri} HTTP/1.1" {response.status} {len(response.body)} "-" "{headers.get("User-Agent", "-")}"'
    container = next((c for c in (pod.get("spec") or {}).get("containers") or [] if str(c.get("image", "")).split("@")[0].rsplit(":", 1)[0].endswith("/nginx")), None)
    if container is not None:
        network.store.append_log(pod["metadata"]["namespace"], pod["metadata"]["name"], str(container.get("name", "nginx")), [line])
