"""The kubelet: on the pod's node, it gives the pod an IP and walks it through
the stages of ``kubelet_stages.py``, writing the status, events and start-up
logs each stage names. What it checks before choosing a stage (is every image
one the sandbox simulates, does every Secret or ConfigMap reference resolve) is
observed here, so the stage table stays pure."""

from __future__ import annotations

import dataclasses
import ipaddress
import time
from typing import Any

from labrunner.sandbox import images
from labrunner.sandbox.controllers.kubelet_stages import PodState, choose
from labrunner.sandbox.controllers.scheduler import SCHEDULED_AT
from labrunner.sandbox.controllers.shared import CONFIG_MAPS, NODES, PODS, SECRETS, Cluster, age
from labrunner.sandbox.store import NotFound, now


def observe(cluster: Cluster, pod: dict[str, Any]) -> PodState:
    scheduled_at = (pod["metadata"].get("annotations") or {}).get(SCHEDULED_AT) or pod["metadata"]["creationTimestamp"]
    containers = (pod.get("spec") or {}).get("containers") or []
    namespace = pod["metadata"]["namespace"]
    return PodState(
        pod, age(pod, scheduled_at),
        frozenset(str(c.get("name")) for c in containers if not images.known(str(c.get("image", "")))),
        {c.get("name"): problem for c in containers if (problem := _config_problem(cluster, c, namespace))},
    )


def sync(cluster: Cluster, pod: dict[str, Any]) -> None:
    """One look at a scheduled pod: its stage, and the writes that stage asks for."""
    state = observe(cluster, pod)
    runtime = cluster.runtime
    if state.pod.get("status", {}).get("podIP") and state.phase == "Running":
        if any("readinessProbe" in c for c in state.containers):
            state = _probed(cluster, state)
        if runtime is not None and any("livenessProbe" in c for c in state.containers):
            _liveness(cluster, runtime, state)
    if runtime is not None:
        uid = str(pod["metadata"].get("uid"))
        exits = {str(c.get("name")): ended for c in state.containers if (ended := runtime.take_exit(uid, str(c.get("name"))))}
        state = dataclasses.replace(state, exits=exits, clock=time.time())
    stage = choose(state)
    if not stage.settled:
        cluster.pending = True
    if stage.next is None:
        return
    status = pod.setdefault("status", {})
    addressed = False
    if not status.get("podIP"):
        node = pod["spec"]["nodeName"]
        status["podIP"] = _allocate_ip(cluster, node)
        status["podIPs"] = [{"ip": status["podIP"]}]
        status["hostIP"] = _node_ip(cluster, node)
        status["startTime"] = now()
        addressed = True
    after = stage.next(dataclasses.replace(state, pod=pod))
    if any(((s.get("state") or {}).get("waiting") or {}).get("reason") == "CrashLoopBackOff" for s in after.container_statuses):
        cluster.pending = True  # the back-off ends by itself
    if runtime is not None:
        _run_commands(cluster, runtime, pod, state, after.container_statuses)
    if after.container_statuses == status.get("containerStatuses") and not addressed:
        return
    status["containerStatuses"] = after.container_statuses
    if after.phase is not None:
        status["phase"] = after.phase
    _set_conditions(pod, ready=after.ready)
    cluster.save(PODS, pod)
    if after.start_logs:
        from labrunner.sandbox.runtime import is_run

        for container in state.containers:
            if runtime is not None and is_run(container):
                continue  # the runtime writes what its start prints
            cluster.store.append_log(pod["metadata"]["namespace"], pod["metadata"]["name"], str(container.get("name")),
                                     images.startup_lines(str(container.get("image")), pod["metadata"]["name"]))
    for event in after.events:
        cluster.event(pod, event.reason, event.message, event.type)


def _run_commands(cluster: Cluster, runtime: Any, pod: dict[str, Any], state: PodState, statuses: list[dict[str, Any]]) -> None:
    """Start each running container's command (again, after a restart: its log so far becomes
    the previous one, for ``kubectl logs --previous``)."""
    from labrunner.sandbox.runtime import is_run

    earlier = {s.get("name"): int(s.get("restartCount") or 0) for s in state.container_statuses}
    for container, status in zip(state.containers, statuses):
        running = (status.get("state") or {}).get("running")
        restarts = int(status.get("restartCount") or 0)
        if running and restarts > earlier.get(container.get("name"), restarts):
            cluster.store.rotate_log(pod["metadata"]["namespace"], pod["metadata"]["name"], str(container.get("name")))
        if running and is_run(container):
            runtime.ensure(pod, container, restarts, str(running.get("startedAt") or now()))


def _liveness(cluster: Cluster, runtime: Any, state: PodState) -> None:
    """Run the liveness probes of running containers; one failing for failureThreshold x
    periodSeconds (scaled) is killed, for the restart policy to restart it."""
    from labrunner.sandbox.controllers.probes import liveness_deadline, readiness_failures

    network = cluster.network
    namespace = state.pod["metadata"]["namespace"]
    uid = str(state.pod["metadata"].get("uid"))
    failures, _ = readiness_failures(state.pod, state.age, network, cluster.store.path.parent / "data",
                                     lambda kind, name: network.objects.get("", kind, namespace, name), kind="livenessProbe")
    since: dict[tuple[str, str, int], float] = cluster.probe_memory.setdefault("liveness_since", {})
    said: dict[tuple[str, str], str] = cluster.probe_memory.setdefault("liveness_said", {})
    statuses = {s.get("name"): s for s in state.container_statuses}
    for container in state.containers:
        name = str(container.get("name"))
        status = statuses.get(name) or {}
        running = (status.get("state") or {}).get("running")
        restarts = int(status.get("restartCount") or 0)
        key = (uid, name, restarts)
        if not running or name not in failures:
            since.pop(key, None)
            continue
        if said.get((uid, name)) != failures[name]:
            said[(uid, name)] = failures[name]
            cluster.event(dict(state.pod), "Unhealthy", f"Liveness probe failed: {failures[name]}", "Warning")
        first = since.setdefault(key, time.time())
        cluster.pending = True  # the deadline passes by itself
        if time.time() - first >= liveness_deadline(container["livenessProbe"]):
            since.pop(key, None)
            said.pop((uid, name), None)
            cluster.event(dict(state.pod), "Killing", f"Container {name} failed liveness probe, will be restarted")
            runtime.kill(uid, name, restarts, str(running.get("startedAt") or now()))


def _probed(cluster: Cluster, state: PodState) -> PodState:
    """The pod's state with its readiness probes run; a probe's new failure is the kubelet's
    Warning event (once per failure text, as a kubelet's repeated events are counted in one)."""
    from labrunner.sandbox.controllers.probes import readiness_failures

    network = cluster.network
    namespace = state.pod["metadata"]["namespace"]
    failures, waiting = readiness_failures(state.pod, state.age, network, cluster.store.path.parent / "data",
                                           lambda kind, name: network.objects.get("", kind, namespace, name))
    said: dict[tuple[str, str], str] = cluster.probe_memory.setdefault("readiness_said", {})
    uid = str(state.pod["metadata"].get("uid"))
    for container, why in failures.items():
        if said.get((uid, container)) != why:
            said[(uid, container)] = why
            cluster.event(dict(state.pod), "Unhealthy", f"Readiness probe failed: {why}", "Warning")
    for container in {c for (u, c) in said if u == uid} - set(failures):
        del said[(uid, container)]
    return PodState(state.pod, state.age, state.unknown_images, state.config_problems, frozenset(failures) | frozenset(waiting))


def _config_problem(cluster: Cluster, container: dict[str, Any], namespace: str) -> str | None:
    """What a real kubelet says when a container's environment names a Secret or
    ConfigMap (or a key of one) that does not exist, unless marked optional."""
    references = []
    for variable in container.get("env") or []:
        source = variable.get("valueFrom") or {}
        for field, resource, kind in (("secretKeyRef", SECRETS, "secret"), ("configMapKeyRef", CONFIG_MAPS, "configmap")):
            if (ref := source.get(field)) and not ref.get("optional"):
                references.append((resource, kind, ref.get("name", ""), ref.get("key")))
    for source in container.get("envFrom") or []:
        for field, resource, kind in (("secretRef", SECRETS, "secret"), ("configMapRef", CONFIG_MAPS, "configmap")):
            if (ref := source.get(field)) and not ref.get("optional"):
                references.append((resource, kind, ref.get("name", ""), None))
    for resource, kind, name, key in references:
        try:
            found = cluster.store.get(resource, namespace, name)
        except NotFound:
            return f'{kind} "{name}" not found'
        if key is not None and key not in {**(found.get("data") or {}), **(found.get("stringData") or {}), **(found.get("binaryData") or {})}:
            return f"couldn't find key {key} in {'Secret' if kind == 'secret' else 'ConfigMap'} {namespace}/{name}"
    return None


def _set_conditions(pod: dict[str, Any], *, ready: bool) -> None:
    stamp = now()
    value = "True" if ready else "False"
    previous = {c["type"]: c for c in (pod["status"].get("conditions") or [])}
    conditions = []
    for kind, state in (("PodReadyToStartContainers", "True"), ("Initialized", "True"), ("Ready", value),
                        ("ContainersReady", value), ("PodScheduled", "True")):
        earlier = previous.get(kind)
        condition = {"type": kind, "status": state,
                     "lastTransitionTime": earlier["lastTransitionTime"] if earlier and earlier.get("status") == state else stamp}
        if state == "False":
            condition["reason"] = "ContainersNotReady"
        conditions.append(condition)
    pod["status"]["conditions"] = conditions


def _node_ip(cluster: Cluster, node_name: str) -> str:
    try:
        node = cluster.store.get(NODES, "", node_name)
    except NotFound:
        return ""
    return next((a["address"] for a in (node.get("status") or {}).get("addresses") or [] if a.get("type") == "InternalIP"), "")


def _allocate_ip(cluster: Cluster, node_name: str) -> str:
    try:
        cidr = cluster.store.get(NODES, "", node_name).get("spec", {}).get("podCIDR", "10.244.0.0/24")
    except NotFound:
        cidr = "10.244.0.0/24"
    used = {(p.get("status") or {}).get("podIP") for p in cluster.store.list(PODS)}
    for address in list(ipaddress.ip_network(cidr).hosts())[1:]:
        if str(address) not in used:
            return str(address)
    return str(ipaddress.ip_network(cidr).network_address + 2)
