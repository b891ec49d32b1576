"""CoreDNS's HTTP endpoints, as the kubelet's probes ask them: ``/health`` of the health plugin
(kubeadm's livenessProbe, :8080) and ``/ready`` of the ready plugin (its readinessProbe, :8181)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from labrunner.sandbox import images
from labrunner.sandbox.coredns.instances import running
from labrunner.sandbox.coredns.plugins.lifecycle import Listener


def answer(pod: Mapping[str, Any], container: Mapping[str, Any], port: int, path: str) -> Any:
    """The endpoint's response (a :class:`labrunner.sandbox.webapps.Response`), or None when the
    container is not a running CoreDNS."""
    from labrunner.sandbox.webapps import Response

    image = images.lookup(str(container.get("image", "")))
    instance = running(pod) if image is not None and image.does == "dns" else None
    if instance is None:
        return None
    for block in instance.config.plugins:
        for plugin in block:
            if not isinstance(plugin, Listener) or plugin.port != port:
                continue
            if plugin.name == "health" and path.split("?")[0] == "/health":
                return Response(200, b"OK")
            if plugin.name == "ready" and path.split("?")[0] == "/ready":
                return Response(200, b"OK")
            if plugin.name == "prometheus" and path.split("?")[0] == "/metrics":
                return Response(200, b"# the labrunner sandbox does not simulate CoreDNS's metrics\n")
            return Response(404, b"404 page not found\n")
    return None
