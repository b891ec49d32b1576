"""The HTTP answers of the l7 images' servers, by what the image is (called from webapps.serve)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from labrunner.sandbox.webapps import Response

if TYPE_CHECKING:
    from labrunner.sandbox.entrypoints import MainProcess
    from labrunner.sandbox.network import Network


def answer(pod: dict[str, Any], process: MainProcess, method: str, path: str, query: str, headers: dict[str, str],
           client: dict[str, Any], port: int, network: Network, data_root: Path) -> Response:
    does = process.image.does
    if does == "ingress-nginx":
        from labrunner.sandbox.l7.ingress import server as ingress_server

        return ingress_server.answer(pod, process, method, path, query, headers, client, port, network, data_root)
    from labrunner.sandbox.l7.gateway import server as gateway_server

    return gateway_server.answer(pod, process, method, path, query, headers, client, port, network, data_root)
