"""NGINX Gateway Fabric 1.6's control plane (``gateway static-mode``) as its pod runs it."""

from __future__ import annotations

from labrunner.sandbox.entrypoints import MainProcess, _port
from labrunner.sandbox.images import Image

SUBCOMMANDS_NOT_SIMULATED = ("provisioner-mode", "sleep", "generate-certs", "controller", "endpoint-picker")


def control_plane_process(image: Image, argv: list[str], flags: dict[str, str], rest: list[str]) -> MainProcess:
    """``gateway static-mode`` serves health and metrics; ``gateway initialize`` (the init
    container) copies its includes and ends."""
    command = rest[0] if rest else ""
    if command == "initialize":
        return MainProcess("exit", image, tuple(argv))
    if command != "static-mode":
        said = (f'Error: unknown command "{command}" for "gateway"' if command not in SUBCOMMANDS_NOT_SIMULATED
                else f"labrunner sandbox: gateway {command} is not simulated (the sandbox runs NGINX Gateway Fabric 1.6's static-mode)")
        return MainProcess("exit", image, tuple(argv), exit_code=1, output=(said,))
    ports = (("TCP", _port(flags.get("health-port"), 8081)), ("TCP", _port(flags.get("metrics-port"), 9113)))
    return MainProcess("server", image, tuple(argv), ports, options=dict(flags))


def reconcile(cluster: object) -> None:
    """Filled in with the Gateway API statuses."""
