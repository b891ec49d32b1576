"""What NGINX Gateway Fabric's pods answer: the control plane's health endpoint; its nginx
routes HTTPRoutes (routing comes with the Gateway API's statuses)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from labrunner.sandbox.webapps import NOT_HTTP, Response

if TYPE_CHECKING:
    from labrunner.sandbox.entrypoints import MainProcess
    from labrunner.sandbox.network import Network

_TEXT = (("Content-Type", "text/plain; charset=utf-8"),)


def answer(pod: dict[str, Any], process: MainProcess, method: str, path: str, query: str, headers: dict[str, str],
           client: dict[str, Any], port: int, network: Network, data_root: Path) -> Response:
    if process.image.does == "gateway-controller":
        if path == "/readyz":
            return Response(200, b"ok", headers=_TEXT)
        return Response(404, b"404 page not found\n", headers=_TEXT)
    return Response(NOT_HTTP, b"")
