"""A proxy's request to a Service's endpoints, as nginx's ``proxy_pass`` to an upstream makes it.

Both simulated proxies (ingress-nginx, NGINX Gateway Fabric) send to the Service's ready pods
directly (they read EndpointSlices, not the cluster IP), each try a connection of the proxy's
pod through the data plane, so a NetworkPolicy that drops it makes the proxy wait its connect
timeout, and one that refuses makes it try the next endpoint (``proxy_next_upstream error
timeout``). What nginx answers when no try succeeds is its own page: 502 after refusals or a
reply that is no HTTP, 504 after timeouts; a Service without ready endpoints is the caller's 503.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from labrunner.sandbox.webapps import NOT_HTTP, Response

if TYPE_CHECKING:
    from labrunner.sandbox.network import Network

REASONS = {400: "Bad Request", 404: "Not Found", 500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Temporarily Unavailable",
           504: "Gateway Time-out"}
"""nginx's reason phrases (ngx_http_status_lines), which its error pages and status lines carry."""

_turns: dict[str, itertools.count[int]] = {}


def nginx_page(status: int, version: str = "") -> Response:
    """nginx's built-in error page; ``version`` empty when the proxy turns server_tokens off."""
    title = f"{status} {REASONS.get(status, 'Error')}"
    signature = f"nginx/{version}" if version else "nginx"
    body = (f"<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n<center><h1>{title}</h1></center>\r\n"
            f"<hr><center>{signature}</center>\r\n</body>\r\n</html>\r\n").encode()
    return Response(status, body, headers=(("Content-Type", "text/html"),), reason=REASONS.get(status, ""))


@dataclass(frozen=True)
class Endpoint:
    pod: dict[str, Any]
    port: int

    @property
    def address(self) -> str:
        return f"{self.pod['status']['podIP']}:{self.port}"


def _ready(pod: dict[str, Any]) -> bool:
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in (pod.get("status") or {}).get("conditions") or [])


def _target_port(pod: dict[str, Any], target: Any, protocol: str) -> int | None:
    if isinstance(target, int):
        return target
    if isinstance(target, str) and target.isdigit():
        return int(target)
    for container in (pod.get("spec") or {}).get("containers") or []:
        for declared in container.get("ports") or []:
            if declared.get("name") == target and declared.get("protocol", "TCP") == protocol:
                return int(declared["containerPort"])
    return None


def service_endpoints(network: Network, namespace: str, name: str, port: int | str) -> list[Endpoint] | None:
    """The ready endpoints of the Service's port (by number or name); None when there is no
    such Service or port (the proxy has no upstream for it)."""
    service = network.objects.get("", "services", namespace, name)
    if service is None:
        return None
    spec = service.get("spec") or {}
    spec_port = next((p for p in spec.get("ports") or [] if (p.get("port") == port if isinstance(port, int) else p.get("name") == port)), None)
    if spec_port is None:
        return None
    selector = spec.get("selector") or {}
    if not selector:
        return []
    found = []
    for pod in network.pods():
        labels = pod["metadata"].get("labels") or {}
        if pod["metadata"]["namespace"] == namespace and _ready(pod) and all(labels.get(k) == v for k, v in selector.items()):
            target = _target_port(pod, spec_port.get("targetPort", spec_port.get("port")), str(spec_port.get("protocol", "TCP")))
            if target is not None:
                found.append(Endpoint(pod, target))
    return sorted(found, key=lambda endpoint: endpoint.address)


@dataclass(frozen=True)
class Forwarded:
    response: Response
    upstream: str
    """The address answered from (``10.244.1.5:80``), or ``-`` when none answered."""


def forward(network: Network, data_root: Path, proxy: dict[str, Any], key: str, endpoints: list[Endpoint], method: str, uri: str,
            headers: dict[str, str], *, connect_timeout: float, tries: int = 0) -> Forwarded:
    """Send the request to ``endpoints`` in turn (round robin across calls, by ``key``), up to
    ``tries`` of them (0: all), as a connection of the ``proxy`` pod."""
    from labrunner.sandbox.webapps import serve

    if not endpoints:
        return Forwarded(nginx_page(503), "-")
    start = next(_turns.setdefault(key, itertools.count())) % len(endpoints)
    order = endpoints[start:] + endpoints[:start]
    delay, failure = 0.0, 502
    for endpoint in order[: tries or len(order)]:
        connection = network.connect(proxy, str(endpoint.pod["status"]["podIP"]), "TCP", endpoint.port)
        if connection.outcome == "timeout":
            delay, failure = delay + connect_timeout, 504
            continue
        if connection.outcome != "connected" or connection.pod is None:
            failure = 502
            continue
        answer = serve(connection.pod, uri, network, data_root, port=endpoint.port, client=proxy, method=method, headers=headers)
        if answer.status == NOT_HTTP:
            failure = 502
            continue
        network.access_log(connection.pod, proxy, method, uri, answer.status, len(answer.body), headers.get("User-Agent", "-"))
        return Forwarded(Response(answer.status, answer.body, delay + answer.delay, answer.headers, reason=answer.reason), endpoint.address)
    page = nginx_page(failure)
    return Forwarded(Response(page.status, page.body, delay, page.headers, reason=page.reason), "-")
