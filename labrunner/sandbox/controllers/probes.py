"""Probes, as the kubelet's prober (``pkg/kubelet/prober``) runs them, against what the
simulated containers do.

``tcpSocket`` asks whether anything listens on the port (the image's own servers, or a port
the manifest declares for an image the sandbox has no listeners for); ``httpGet`` also asks
the simulated web server for the path (a status from 200 to 399 passes); ``exec`` runs the
command in the container's sh and files, as ``kubectl exec`` would. Failures are the kubelet's
own texts (``dial tcp 10.244.0.5:8080: connect: connection refused``).

Each probe of each run of a container is a :class:`Worker`, as the prober's: it probes every
``periodSeconds`` from ``initialDelaySeconds`` after the container started (both scaled by
``LABRUNNER_SANDBOX_TIME_SCALE``, as every simulated wait) and counts its results in a row: the
result it reports changes after ``failureThreshold`` failures or ``successThreshold``
successes. Before that a readiness probe reports failure (not ready), a liveness probe
success, a startup probe nothing yet. A liveness or startup probe that reports failure is put
on hold until the container is restarted. The kubelet (``kubelet.py``) keeps the workers,
holds liveness and readiness back until a startup probe succeeds, and acts on the results.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from labrunner.sandbox.timescale import TIME_SCALE

KINDS = ("startupProbe", "livenessProbe", "readinessProbe")
"""In the order the kubelet needs them: a startup probe gates the other two."""
WORDS = {"startupProbe": "Startup", "livenessProbe": "Liveness", "readinessProbe": "Readiness"}


@dataclass
class Worker:
    """One probe of one run of a container: its schedule and the results it has counted."""

    kind: str
    due: float
    """When it probes next (seconds since the epoch)."""
    result: bool | None
    """What it reports: True success, False failure, None not known yet (a startup probe's start)."""
    last: bool | None = None
    run: int = 0
    """How many times in a row the probe gave ``last``."""
    on_hold: bool = False


@dataclass(frozen=True)
class Tick:
    """What one look at a worker did."""

    ran: bool = False
    failure: str | None = None
    """The probe's output when it ran and failed."""
    reported: bool = False
    """The worker's result was set by this run (a threshold was reached)."""


def new_worker(kind: str, probe: Mapping[str, Any], started: float) -> Worker:
    """A worker for a container run that started at ``started``: its first probe comes after
    the initial delay, and it reports the prober's initial value until a threshold is reached."""
    initial = {"readinessProbe": False, "livenessProbe": True}.get(kind)
    return Worker(kind, started + _seconds(probe, "initialDelaySeconds", 0), initial)


def tick(worker: Worker, probe: Mapping[str, Any], now: float, run: Callable[[], str | None], *, enabled: bool = True) -> Tick:
    """Probe once if a period has come (``run`` gives the failure, or None for success), count
    the result as the prober's worker does, and schedule the next; periods that passed unseen
    are skipped, as a Go ticker drops ticks. A worker held back (``enabled`` False: the startup
    probe has not succeeded yet) lets its periods pass without probing."""
    if now < worker.due:
        return Tick()
    period = _seconds(probe, "periodSeconds", 10) or 1e-3
    worker.due += ((now - worker.due) // period + 1) * period
    if worker.on_hold or not enabled:
        return Tick()
    failure = run()
    result = failure is None
    if worker.last == result:
        worker.run += 1
    else:
        worker.last, worker.run = result, 1
    threshold = int(probe.get("failureThreshold") or 3) if not result else int(probe.get("successThreshold") or 1)
    if worker.run < threshold:
        return Tick(True, failure)
    worker.result = result
    if not result and worker.kind in ("livenessProbe", "startupProbe"):
        worker.on_hold, worker.run = True, 0  # until a new container: this one will be restarted
    return Tick(True, failure, True)


def _seconds(probe: Mapping[str, Any], field: str, default: float) -> float:
    value = probe.get(field)
    return float(default if value is None else value) * TIME_SCALE


def failure(pod: Mapping[str, Any], container: Mapping[str, Any], probe: Mapping[str, Any], network: Any, data_root: Any,
            lookup: Any) -> str | None:
    """Run ``probe`` once against the container: why it fails, or None when it passes."""
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
        from labrunner.sandbox.coredns.http import answer as coredns_answer
        from labrunner.sandbox.webapps import serve

        headers = {"Host": ip, "User-Agent": "kube-probe/1.32", "Accept": "*/*",
                   **{str(h.get("name")): str(h.get("value")) for h in get.get("httpHeaders") or []}}
        response = coredns_answer(pod, container, port, path) or serve(
            dict(pod), path, network, data_root, port=port, client={"status": {"podIP": str((pod.get("status") or {}).get("hostIP", ""))}},
            headers=headers)
        if response.status == 0:
            return f'Get "{url}": EOF'
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
        return (result.stdout + result.stderr).decode(errors="replace").strip()  # the kubelet says the output, even none
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
