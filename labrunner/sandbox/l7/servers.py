"""Finding a simulated controller's pods: the ready, running pods whose container's image does
``does`` (``ingress-nginx``, ``gateway-controller``) and whose main process is its server, with
the options its command line gives (what the controller reads its class and flags from)."""

from __future__ import annotations

from typing import Any

from labrunner.sandbox import images
from labrunner.sandbox.controllers.shared import is_ready, terminating


def running_servers(pods: list[dict[str, Any]], does: str) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    from labrunner.sandbox.entrypoints import main_process

    found = []
    for pod in pods:
        if terminating(pod) or not is_ready(pod):
            continue
        for container in (pod.get("spec") or {}).get("containers") or []:
            image = images.lookup(str(container.get("image", "")))
            if image is None or image.does != does:
                continue
            process = main_process(container)
            if process is not None and process.kind == "server":
                found.append((pod, dict(process.options)))
    return found
