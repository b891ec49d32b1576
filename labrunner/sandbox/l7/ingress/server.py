"""What an ingress-nginx pod answers on its ports: ``/healthz`` on the health port, and on the
HTTP port the Ingresses it serves, routed as its nginx.conf would route them.

The request goes to the chosen location's Service endpoints through the data plane
(:mod:`labrunner.sandbox.l7.upstream`) with the headers ingress-nginx adds (X-Request-ID,
X-Real-IP, X-Forwarded-*); nothing matching is the controller's default backend (404), a Service
missing or without ready endpoints is 503, each nginx's own page without its version
(``server_tokens`` is off). Every request is written to the controller's log in
ingress-nginx's ``log-format-upstream``.
"""

from __future__ import annotations

import datetime
import secrets
from pathlib import Path
from typing import TYPE_CHECKING, Any

from labrunner.sandbox.l7.ingress.controller import Config, config_of, networking, served
from labrunner.sandbox.l7.ingress.matching import Backend, choose, servers
from labrunner.sandbox.l7.upstream import Forwarded, forward, nginx_page, service_endpoints
from labrunner.sandbox.webapps import Response

if TYPE_CHECKING:
    from labrunner.sandbox.entrypoints import MainProcess
    from labrunner.sandbox.network import Network

CONNECT_TIMEOUT = 5.0
"""ingress-nginx's proxy-connect-timeout (seconds), each of its proxy-next-upstream-tries (3)."""
DEFAULT_BACKEND = "upstream-default-backend"


def answer(pod: dict[str, Any], process: MainProcess, method: str, path: str, query: str, headers: dict[str, str],
           client: dict[str, Any], port: int, network: Network, data_root: Path) -> Response:
    config = config_of(pod, dict(process.options))
    if port == config.healthz_port:
        if path == "/healthz":
            return Response(200, b"ok", headers=(("Content-Type", "text/plain; charset=utf-8"),))
        return Response(404, b"404 page not found\n", headers=(("Content-Type", "text/plain; charset=utf-8"),))
    if port != config.http_port:
        return Response(0, b"")  # HTTPS and the webhook speak TLS, which the sandbox does not simulate
    uri = path + (f"?{query}" if query else "")
    host = headers.get("Host") or headers.get("host") or str((pod.get("status") or {}).get("podIP", ""))
    store = network.store
    classes = {c["metadata"]["name"]: c for c in store.list(networking("ingressclasses"))}
    taken = served(config, store.list(networking("ingresses")), classes)
    choice = choose(servers(taken), host, uri)
    request_id = secrets.token_hex(16)
    client_ip = str((client.get("status") or {}).get("podIP", "127.0.0.1"))
    forwarded = _proxy(network, data_root, pod, config, choice.location.backend, method, choice.uri, host, headers, client_ip, request_id)
    _log(network, pod, client_ip, method, uri, forwarded, choice.location.backend, headers, request_id)
    response = forwarded.response
    return Response(response.status, response.body, response.delay, response.headers, reason=response.reason, logged=True)


def _proxy(network: Network, data_root: Path, pod: dict[str, Any], config: Config, backend: Backend | None, method: str, uri: str,
           host: str, headers: dict[str, str], client_ip: str, request_id: str) -> Forwarded:
    if backend is None:
        return Forwarded(nginx_page(404), "127.0.0.1:8181")
    endpoints = service_endpoints(network, backend.namespace, backend.service, backend.port)
    if not endpoints:
        return Forwarded(nginx_page(503), "-")
    sent = {"Host": host, "X-Request-ID": request_id, "X-Real-IP": client_ip, "X-Forwarded-For": client_ip, "X-Forwarded-Host": host,
            "X-Forwarded-Port": str(config.http_port), "X-Forwarded-Proto": "http", "X-Forwarded-Scheme": "http", "X-Scheme": "http"}
    sent.update({key: value for key, value in headers.items() if key.lower() not in {k.lower() for k in sent}})
    return forward(network, data_root, pod, f"{pod['metadata'].get('uid')}/{backend.upstream}", endpoints, method, uri, sent,
                   connect_timeout=CONNECT_TIMEOUT, tries=3)


def _log(network: Network, pod: dict[str, Any], client_ip: str, method: str, uri: str, forwarded: Forwarded, backend: Backend | None,
         headers: dict[str, str], request_id: str) -> None:
    """``$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent"
    $request_length $request_time [$proxy_upstream_name] [$proxy_alternative_upstream_name] $upstream_addr
    $upstream_response_length $upstream_response_time $upstream_status $req_id``"""
    response = forwarded.response
    moment = datetime.datetime.now(datetime.timezone.utc).strftime("%d/%b/%Y:%H:%M:%S +0000")
    upstream = backend.upstream if backend is not None else DEFAULT_BACKEND
    reached = forwarded.upstream != "-"
    length = len(response.body) if reached else "-"
    status = response.status if reached else "-"
    agent = headers.get("User-Agent", "-")
    request_length = len(f"{method} {uri} HTTP/1.1\r\n") + sum(len(f"{k}: {v}\r\n") for k, v in headers.items()) + 2
    line = (f'{client_ip} - - [{moment}] "{method} {uri} HTTP/1.1" {response.status} {len(response.body)} "-" "{agent}" '
            f"{request_length} {response.delay:.3f} [{upstream}] [] {forwarded.upstream} {length} {response.delay:.3f} {status} {request_id}")
    container: dict[str, Any] = next((c for c in (pod.get("spec") or {}).get("containers") or [] if "ingress-nginx" in str(c.get("image", ""))), {})
    network.store.append_log(pod["metadata"]["namespace"], pod["metadata"]["name"], str(container.get("name", "controller")), [line])

