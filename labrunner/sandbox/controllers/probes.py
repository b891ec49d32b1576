"""Readiness probes, as the kubelet runs them, against what the simulated containers do.

``tcpSocket`` asks whether anything listens on the port (the image's own servers, or a port
the manifest declares for an image the sandbox has no listeners for); ``httpGet`` also asks
the simulated web server for the path (a status from 200 to 399 passes); ``exec`` runs the
command in the container's sh and its files, as ``kubectl exec`` would. A probe starts after
``initialDelaySeconds`` (scaled by ``LABRUNNER_SANDBOX_TIME_SCALE``, as every simulated wait);
its failures are the kubelet's own texts (``Readiness probe failed: dial tcp 10.244.0.5:8080:
connect: connection refused``). A liveness probe failing for failureThreshold x periodSeconds
(scaled) restarts the container (the kubelet's ``Killing`` event); startup probes are not run.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from labrunner.sandbox.timescale import TIME_SCALE



def readiness_failures(pod: Mapping[str, Any], age: float, network: Any, data_root: Any,
                       lookup: Any, kind: str = "readinessProbe") -> tuple[dict[str, str], set[str]]:
    """(container -> why its ``kind`` probe fails now, containers whose probe has not started yet)."""
    failures: dict[str, str] = {}
    waiting: set[str] = set()
    for container in (pod.get("spec") or {}).get("containers") or []:
        probe = container.get(kind)
        if not isinstance(probe, dict):
            continue
        name = str(container.get("name"))
        if age < float(probe.get("initialDelaySeconds") or 0) * TIME_SCALE:
            waiting.add(name)
            continue
        failed = _failure(pod, container, probe, network, data_root, lookup)
        if failed is not None:
            failures[name] = failed
    return failures, waiting


def _failure(pod: Mapping[str, Any], container: Mapping[str, Any], probe: Mapping[str, Any], network: Any, data_root: Any,
             lookup: Any) -> str | None:
    ip = str((pod.get("status") or {}).get("podIP", ""))
    timeout = float(probe.get("timeoutSeconds") or 1)
    if isinstance(probe.get("tcpSocket"), dict):
        port = _port(container, probe["tcpSocket"].get("port"))
        if port is None:
            return f"dial tcp {ip}:{probe['tcpSocket'].get('port')}: unknown port"
        return None if network.listens(pod, "TCP", port) else f"dial tcp {ip}:{port}: connect: connection refused"
    if isinstance(probe.get("httpGet"), dict):
        get = probe["httpGet"]
        port = _port(container, get.get("port"))
        path = str(get.get("path") or "/")
        url = f"{str(get.get('scheme') or 'HTTP').lower()}://{ip}:{port if port is not None else get.get('port')}{path}"
        if port is None or not network.listens(pod, "TCP", port):
            return f'Get "{url}": dial tcp {ip}:{port}: connect: connection refused'
        from labrunner.sandbox.webapps import serve

        response = serve(dict(pod), path, network, data_root)
        if response.delay >= timeout:
            return f'Get "{url}": context deadline exceeded (Client.Timeout exceeded while awaiting headers)'
        if not 200 <= response.status < 400:
            return f"HTTP probe failed with statuscode: {response.status}"
        return None
    if isinstance(probe.get("exec"), dict):
        return _exec(pod, container, [str(word) for word in probe["exec"].get("command") or []], timeout, data_root, lookup, network)
    return None


def _exec(pod: Mapping[str, Any], container: Mapping[str, Any], command: list[str], timeout: float, data_root: Any,
          lookup: Any, network: Any) -> str | None:
    from labrunner.sandbox import processes
    from labrunner.sandbox.filesystem import files_of

    metadata = pod["metadata"]
    environment = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOSTNAME": str(metadata["name"]), "HOME": "/root"}
    environment.update({str(v.get("name")): str(v["value"]) for v in container.get("env") or [] if "value" in v})
    box = processes.Container(pod=str(metadata["name"]), namespace=str(metadata["namespace"]), name=str(container.get("name")),
                              image=str(container.get("image")), env=environment,
                              data_dir=data_root / str(metadata["namespace"]) / str(metadata["name"]) / str(container.get("name")),
                              pod_object=dict(pod), network=network, data_root=data_root)
    box.files = files_of(box, pod, container, data_root, lookup)
    if not command:
        return "exec: no command given"
    try:
        result = processes.run(command, b"", box)
    except processes.NotFoundInPath as missing:
        return (f'OCI runtime exec failed: exec failed: unable to start container process: exec: "{missing.program}": '
                "executable file not found in $PATH: unknown")
    if result.delay >= timeout:
        return f"command timed out: \"{' '.join(command)}\" timed out after {timeout:.0f}s"
    if result.exit_code != 0:
        return (result.stdout + result.stderr).decode(errors="replace").strip() or f"command exited with {result.exit_code}"
    return None


def _port(container: Mapping[str, Any], port: Any) -> int | None:
    """A probe's port: a number, or the name of one of the container's ports."""
    if isinstance(port, int):
        return port
    if isinstance(port, str) and port.isdigit():
        return int(port)
    for declared in container.get("ports") or []:
        if declared.get("name") == port:
            return int(declared.get("containerPort", 0))
    return None


def liveness_deadline(probe: Mapping[str, Any]) -> float:
    """How long a liveness probe may fail before the kubelet restarts the container (scaled)."""
    return float(probe.get("failureThreshold") or 3) * float(probe.get("periodSeconds") or 10) * TIME_SCALE
