"""The kubelet: on the pod's node, it sets up the pod's volumes, gives the pod an IP
and walks it through the stages of ``kubelet_stages.py``, writing the status, events
and start-up logs each stage names. What it checks before choosing a stage (can every
volume be set up, is every image one the sandbox simulates, does every Secret or
ConfigMap reference resolve) is observed here, so the stage table stays pure; so are
the probes of running containers (``probes.py``), whose results make a container
ready, started, or killed for its restart policy to answer."""

from __future__ import annotations

import dataclasses
import functools
import ipaddress
import math
import time
from pathlib import Path
from typing import Any

from labrunner.sandbox import images
from labrunner.sandbox.controllers import probes
from labrunner.sandbox.controllers.kubelet_stages import FINISHED, STAGES, PodState, Stage, choose, incomplete, is_sidecar
from labrunner.sandbox.controllers.scheduler import SCHEDULED_AT
from labrunner.sandbox.controllers.shared import CONFIG_MAPS, NODES, PODS, SECRETS, Cluster, age
from labrunner.sandbox.store import NotFound, now

MOUNT_BLOCKED: tuple[Stage, ...] = tuple(stage for stage in STAGES if stage.name in ("Finished", "PodInitializing", "ContainerCreating"))
"""The stages of a pod whose volumes cannot be set up: its containers wait in ContainerCreating
(PodInitializing, with init containers: no IP, no image pulled: the kubelet mounts volumes
before it creates the pod's sandbox)."""
FORGET_EVERY = 1.0
"""Seconds between two sweeps of what the kubelet remembers about pods that are gone."""


def observe(cluster: Cluster, pod: dict[str, Any]) -> PodState:
    scheduled_at = (pod["metadata"].get("annotations") or {}).get(SCHEDULED_AT) or pod["metadata"]["creationTimestamp"]
    spec = pod.get("spec") or {}
    containers = [*(spec.get("initContainers") or []), *(spec.get("containers") or [])]
    namespace = pod["metadata"]["namespace"]
    return PodState(
        pod, age(pod, scheduled_at),
        frozenset(str(c.get("name")) for c in containers if not images.known(str(c.get("image", "")))),
        {c.get("name"): problem for c in containers if (problem := _config_problem(cluster, c, namespace))},
    )


def sync(cluster: Cluster, pod: dict[str, Any]) -> None:
    """One look at a scheduled pod: its stage, and the writes that stage asks for (a pod no node
    runs yet is no kubelet's)."""
    if not (pod.get("spec") or {}).get("nodeName"):
        return
    from labrunner.sandbox.controllers.kubelet_admission import admit

    if not admit(cluster, pod):
        return
    _forget_gone(cluster)
    state = observe(cluster, pod)
    runtime = cluster.runtime
    if not state.status.get("podIP") and state.phase not in FINISHED:
        problems = _volume_problems(cluster, pod)
        if problems:
            _mount_blocked(cluster, pod, state, problems)
            return
    unstarted: frozenset[str] = frozenset()
    if state.status.get("podIP") and state.phase not in FINISHED and any(kind in c for c in _probed_containers(state) for kind in probes.KINDS):
        state, unstarted = _probed(cluster, runtime, state)
        state = dataclasses.replace(state, unstarted=unstarted)
    if runtime is not None:
        uid = str(pod["metadata"].get("uid"))
        exits = {str(c.get("name")): ended for c in [*state.init_containers, *state.containers]
                 if (ended := runtime.take_exit(uid, str(c.get("name"))))}
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
    init_statuses = after.init_container_statuses if after.init_container_statuses is not None else state.init_container_statuses
    for entry in [*after.container_statuses, *init_statuses]:
        if entry.get("name") in unstarted and "running" in (entry.get("state") or {}):
            entry["started"] = False  # its startup probe has not succeeded yet
    if any(((s.get("state") or {}).get("waiting") or {}).get("reason") == "CrashLoopBackOff" for s in [*after.container_statuses, *init_statuses]):
        cluster.pending = True  # the back-off ends by itself
    if runtime is not None:
        _run_commands(cluster, runtime, pod, state.init_containers, state.init_container_statuses, init_statuses)
        _run_commands(cluster, runtime, pod, state.containers, state.container_statuses, after.container_statuses)
    unchanged = after.container_statuses == status.get("containerStatuses") and (
        not state.init_containers or init_statuses == status.get("initContainerStatuses"))
    if unchanged and not addressed:
        return
    status["containerStatuses"] = after.container_statuses
    if state.init_containers:
        status["initContainerStatuses"] = init_statuses
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


def _run_commands(cluster: Cluster, runtime: Any, pod: dict[str, Any], containers: list[dict[str, Any]],
                  before: list[dict[str, Any]], statuses: list[dict[str, Any]]) -> None:
    """Start each running container's command (again, after a restart: its log so far becomes
    the previous one, for ``kubectl logs --previous``); stop a sidecar the kubelet stopped."""
    from labrunner.sandbox.runtime import is_run

    earlier = {s.get("name"): s for s in before}
    by_name = {s.get("name"): s for s in statuses}
    for container in containers:
        name = str(container.get("name"))
        status = by_name.get(name) or {}
        running = (status.get("state") or {}).get("running")
        restarts = int(status.get("restartCount") or 0)
        previous = earlier.get(name) or {}
        if running and restarts > int(previous.get("restartCount", restarts) or 0):
            cluster.store.rotate_log(pod["metadata"]["namespace"], pod["metadata"]["name"], name)
        if running and is_run(container):
            runtime.ensure(pod, container, restarts, str(running.get("startedAt") or now()))
        elif "terminated" in (status.get("state") or {}) and "running" in (previous.get("state") or {}):
            runtime.stop(str(pod["metadata"].get("uid")), name)


def _data_root(cluster: Cluster) -> Path:
    return cluster.store.path.parent / "data"


def _probed(cluster: Cluster, runtime: Any, state: PodState) -> tuple[PodState, frozenset[str]]:
    """Run the probes of the running containers that are due, as the prober's workers do (see
    ``probes.py``): every failure is the kubelet's Unhealthy event (a repeat counted into the
    first); a startup probe holds the others back until it succeeds; a liveness or startup probe
    reporting failure gets the container killed (``Killing``), for the restart policy to answer.
    The pod's state with its containers that are not ready, and those not started yet."""
    from labrunner.sandbox.controllers.loop import IDLE

    network = cluster.network
    namespace = state.pod["metadata"]["namespace"]
    uid = str(state.pod["metadata"].get("uid"))
    data_root = _data_root(cluster)

    def lookup(kind: str, name: str) -> Any:
        return network.objects.get("", kind, namespace, name)

    workers: dict[tuple[str, str, int, str], probes.Worker] = cluster.probe_memory.setdefault("workers", {})
    starts: dict[tuple[str, str, int], float] = cluster.probe_memory.setdefault("started", {})
    moment = time.time()
    statuses = {s.get("name"): s for s in [*state.init_container_statuses, *state.container_statuses]}
    unready, unstarted = set(state.unready), set()
    soonest = math.inf
    for container in _probed_containers(state):
        name = str(container.get("name"))
        status = statuses.get(name) or {}
        running = (status.get("state") or {}).get("running")
        if not running:
            continue
        restarts = int(status.get("restartCount") or 0)
        if (uid, name, restarts) not in starts:  # a new run: the last run's probes are done with
            for key in [key for key in starts if key[:2] == (uid, name)]:
                del starts[key]
            for worker_key in [key for key in workers if key[:2] == (uid, name)]:
                del workers[worker_key]
        started = starts.setdefault((uid, name, restarts), moment)
        started_up = True
        for kind in probes.KINDS:
            spec = container.get(kind)
            if not isinstance(spec, dict):
                continue
            worker = workers.get((uid, name, restarts, kind))
            if worker is None:
                worker = workers[(uid, name, restarts, kind)] = probes.new_worker(kind, spec, started)
            if kind == "startupProbe" and worker.result is True:
                continue  # the container has started: its startup probe is done
            ran = probes.tick(worker, spec, moment, functools.partial(probes.failure, state.pod, container, spec, network, data_root, lookup),
                              enabled=started_up)
            if not worker.on_hold:
                soonest = min(soonest, worker.due)
            if ran.failure is not None:
                _counted_event(cluster, state.pod, "Unhealthy", f"{probes.WORDS[kind]} probe failed: {ran.failure}")
            if ran.reported and worker.result is False and kind != "readinessProbe" and runtime is not None:
                what = "liveness" if kind == "livenessProbe" else "startup"
                cluster.event(dict(state.pod), "Killing", f"Container {name} failed {what} probe, will be restarted")
                runtime.kill(uid, name, restarts, str(running.get("startedAt") or now()))
            if kind == "startupProbe":
                started_up = worker.result is True
            elif kind == "readinessProbe" and worker.result is not True:
                unready.add(name)
        if not started_up:
            unready.add(name)
            unstarted.add(name)
    if soonest - moment < IDLE:
        cluster.pending = True  # the next period comes before the loop's idle wake-up would
    return dataclasses.replace(state, unready=frozenset(unready)), frozenset(unstarted)


def _probed_containers(state: PodState) -> list[dict[str, Any]]:
    """The containers the prober watches: the app containers and the sidecars (regular init
    containers take no probes)."""
    return [*(c for c in state.init_containers if is_sidecar(c)), *state.containers]


def _counted_event(cluster: Cluster, pod: dict[str, Any] | Any, reason: str, message: str, kind: str = "Warning") -> None:
    """Record an event, or count a repeat into the one recorded before, as the kubelet's event
    recorder aggregates identical events (``kubectl describe``: ``(x4 over 40s)``)."""
    from labrunner.sandbox.controllers.events import EVENTS

    assert EVENTS is not None
    names: dict[tuple[str, str, str], str] = cluster.probe_memory.setdefault("event_names", {})
    namespace = str(pod["metadata"]["namespace"])
    uid = str(pod["metadata"].get("uid"))
    key = (uid, reason, message)
    if key in names:
        try:
            event = cluster.store.get(EVENTS, namespace, names[key])
        except NotFound:
            del names[key]
        else:
            event["count"] = int(event.get("count") or 1) + 1
            event["lastTimestamp"] = now()
            cluster.save(EVENTS, event)
            return
    cluster.event(dict(pod), reason, message, kind)
    for event in cluster.store.list(EVENTS, namespace):
        if (event.get("involvedObject") or {}).get("uid") == uid and event.get("reason") == reason and event.get("message") == message:
            names[key] = event["metadata"]["name"]


def _volume_problems(cluster: Cluster, pod: dict[str, Any]) -> dict[str, str]:
    from labrunner.sandbox.volumes import volume_problems

    objects = cluster.network.objects
    namespace = pod["metadata"]["namespace"]
    return volume_problems(pod, _data_root(cluster), lambda kind, name: objects.get("", kind, namespace, name),
                           lambda name: objects.get("", "nodes", "", name))


def _mount_blocked(cluster: Cluster, pod: dict[str, Any], state: PodState, problems: dict[str, str]) -> None:
    """A pod whose volumes cannot be set up waits in ContainerCreating, with the kubelet's
    FailedMount event for each volume (once per text), until a retry succeeds (the ConfigMap is
    created, the hostPath appears)."""
    cluster.pending = True  # the kubelet retries the mount
    said: dict[tuple[str, str], str] = cluster.probe_memory.setdefault("mount_said", {})
    uid = str(pod["metadata"].get("uid"))
    from labrunner.sandbox.volumes import UNMOUNTED

    for volume, why in problems.items():
        message = why if why.startswith((UNMOUNTED, "MountVolume.")) else f'MountVolume.SetUp failed for volume "{volume}" : {why}'
        if said.get((uid, volume)) != message:
            said[(uid, volume)] = message
            cluster.event(pod, "FailedMount", message, "Warning")
    stage = choose(state, MOUNT_BLOCKED)
    if stage.next is None:
        return
    after = stage.next(dataclasses.replace(state, pod=pod))
    status = pod.setdefault("status", {})
    if after.container_statuses == status.get("containerStatuses") and after.init_container_statuses in (None, status.get("initContainerStatuses")):
        return
    status["containerStatuses"] = after.container_statuses
    if after.init_container_statuses is not None:
        status["initContainerStatuses"] = after.init_container_statuses
    _set_conditions(pod, ready=False, sandbox=False)
    cluster.save(PODS, pod)


def _forget_gone(cluster: Cluster) -> None:
    """Forget, now and then, what the kubelet remembers of pods that are gone or finished
    (probe workers, events said)."""
    memory = cluster.probe_memory
    swept = memory.setdefault("swept", {})
    if time.time() - swept.get("at", 0.0) < FORGET_EVERY:
        return
    swept["at"] = time.time()
    live = {str(p["metadata"].get("uid")) for p in cluster.store.list(PODS)
            if not p["metadata"].get("deletionTimestamp") and (p.get("status") or {}).get("phase") not in FINISHED}
    for purpose, remembered in memory.items():
        if purpose != "swept":
            for key in [key for key in remembered if isinstance(key, tuple) and key[0] not in live]:
                del remembered[key]


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


def _set_conditions(pod: dict[str, Any], *, ready: bool, sandbox: bool = True) -> None:
    """The pod's conditions, as the kubelet's status generator words them; ``sandbox`` False: its
    sandbox is not created yet (volumes not set up). Initialized waits for every init container
    (a sidecar: its start) until an app container has started; Ready and ContainersReady name
    the containers (sidecars included) that are not ready."""
    stamp = now()
    spec, status = pod.get("spec") or {}, pod["status"]
    init_containers = spec.get("initContainers") or []
    app_started = any(((s.get("state") or {}).get("waiting") or {}).get("reason") != "PodInitializing" for s in status.get("containerStatuses") or [])
    not_initialized = () if app_started else incomplete(init_containers, status.get("initContainerStatuses") or [])
    readiness = {s.get("name"): s.get("ready") for s in [*(status.get("initContainerStatuses") or []), *(status.get("containerStatuses") or [])]}
    unready = [str(c.get("name")) for c in [*(c for c in init_containers if is_sidecar(c)), *(spec.get("containers") or [])]
               if not readiness.get(c.get("name"))]
    value = "True" if ready else "False"
    previous = {c["type"]: c for c in (status.get("conditions") or [])}
    conditions = []
    for kind, state in (("PodReadyToStartContainers", "True" if sandbox else "False"), ("Initialized", "False" if not_initialized else "True"),
                        ("Ready", value), ("ContainersReady", value), ("PodScheduled", "True")):
        earlier = previous.get(kind)
        condition = {"type": kind, "status": state,
                     "lastTransitionTime": earlier["lastTransitionTime"] if earlier and earlier.get("status") == state else stamp}
        if kind == "Initialized" and not_initialized:
            condition.update(reason="ContainersNotInitialized", message=f"containers with incomplete status: [{' '.join(not_initialized)}]")
        elif state == "False" and kind in ("Ready", "ContainersReady"):
            condition["reason"] = "ContainersNotReady"
            if unready:
                condition["message"] = f"containers with unready status: [{' '.join(unready)}]"
        conditions.append(condition)
    status["conditions"] = conditions


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
