"""The kubelet's pod lifecycle as a table of stages, in the manner of kwok's
Stage resources (kubernetes-sigs/kwok, ``kustomize/stage/pod``).

A stage has a name, a selector over the pod's state as the kubelet sees it
(phase, container statuses, conditions, time since scheduling, which images the
sandbox cannot run, which Secret or ConfigMap references are missing), a delay
counted from scheduling, and the next state it writes: container statuses,
phase, readiness, events, and whether the containers print their start-up
lines. The first row, in table order, whose selector holds and whose delay has
passed is the pod's stage; rows furthest along a path come first. Everything
here is pure: the kubelet (``kubelet.py``) observes the pod, asks
:func:`choose`, and writes what the stage says when it differs from the pod.

A new pod-wide behaviour is a new row: a selector for when it applies, a delay, and a
function giving the next state. What happens to one container of a running pod (its
readiness probe failing, its command ending and the restart policy answering) is worked
out per container inside the running rows (``_containers``, ``_after_exit``).

A pod with ``initContainers`` is first walked through them, as the kubelet's
``computeInitContainerActions`` does (``_initializing``): one at a time, in order, each to
completion (a failure restarts it after the back-off, or fails the pod under restartPolicy
Never); a native sidecar (an init container with ``restartPolicy: Always``) lets the next one
start once it has started, and keeps running beside the app containers. Until then every
container waits in PodInitializing; the app rows apply once the pod is initialized.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from labrunner.sandbox import images
from labrunner.sandbox.store import now

CREATING_SECONDS = 0.4
"""From scheduled to the container running."""
READY_SECONDS = 0.8
"""From scheduled to the readiness probe passing."""
BACKOFF_SECONDS = 1.0
"""From ErrImagePull to ImagePullBackOff."""
FINISHED = ("Succeeded", "Failed")
PULL_FAILURES = ("ErrImagePull", "ImagePullBackOff")


@dataclass(frozen=True)
class PodState:
    """What the kubelet knows of a pod when it looks: the pod as stored, plus the facts it checked."""

    pod: Mapping[str, Any]
    age: float
    """Seconds since the pod was scheduled."""
    unknown_images: frozenset[str] = frozenset()
    """Names of the containers whose image is not in the sandbox's catalogue (it cannot be pulled)."""
    config_problems: Mapping[str, str] = field(default_factory=dict)
    """Container name -> the kubelet's words for a missing Secret or ConfigMap (or key) it refers to."""
    unready: frozenset[str] = frozenset()
    """Containers whose readiness probe fails, or has not started yet (initialDelaySeconds)."""
    exits: Mapping[str, Any] = field(default_factory=dict)
    """Container name -> how its command's current run ended (a runtime ``Exit``: code, started,
    finished, restart_count), for containers that run their own command."""
    clock: float = 0.0
    """Now, in seconds since the epoch (the back-off before a restart counts from an exit)."""
    unstarted: frozenset[str] = frozenset()
    """Running containers whose startupProbe has not succeeded yet (a sidecar holds the next init container back)."""

    @property
    def containers(self) -> list[dict[str, Any]]:
        return list((self.pod.get("spec") or {}).get("containers") or [])

    @property
    def init_containers(self) -> list[dict[str, Any]]:
        return list((self.pod.get("spec") or {}).get("initContainers") or [])

    @property
    def init_container_statuses(self) -> list[dict[str, Any]]:
        return list(self.status.get("initContainerStatuses") or [])

    def app_names(self) -> set[str]:
        return {str(c.get("name")) for c in self.containers}

    def initialized(self) -> bool:
        """Whether the app containers' turn has come: every init container has completed (a
        sidecar: started), or an app container has been created already (a sidecar restarting
        later does not take the pod back to initializing)."""
        if not self.init_containers:
            return True
        if any(((s.get("state") or {}).get("waiting") or {}).get("reason") != "PodInitializing" for s in self.container_statuses):
            return True
        return not incomplete(self.init_containers, self.init_container_statuses)

    @property
    def status(self) -> Mapping[str, Any]:
        return self.pod.get("status") or {}

    @property
    def phase(self) -> str:
        return str(self.status.get("phase") or "Pending")

    @property
    def container_statuses(self) -> list[dict[str, Any]]:
        return list(self.status.get("containerStatuses") or [])

    def waiting_reasons(self) -> set[str]:
        return {((s.get("state") or {}).get("waiting") or {}).get("reason", "") for s in self.container_statuses}

    def was_running(self) -> bool:
        return any("running" in (s.get("state") or {}) for s in self.container_statuses)


@dataclass(frozen=True)
class Event:
    reason: str
    message: str
    type: str = "Normal"


@dataclass(frozen=True)
class Next:
    """The state a stage writes."""

    container_statuses: list[dict[str, Any]]
    ready: bool = False
    phase: str | None = None
    """None: the phase stays as it is (Pending, from the scheduler)."""
    events: tuple[Event, ...] = ()
    """Recorded when the stage changes the pod's status."""
    start_logs: bool = False
    """The containers have just started: their start-up lines go to their logs."""
    init_container_statuses: list[dict[str, Any]] | None = None
    """None: the init containers' statuses stay as they are."""


@dataclass(frozen=True)
class Stage:
    name: str
    selector: Callable[[PodState], bool]
    delay: float
    next: Callable[[PodState], Next] | None
    """None: the kubelet leaves the pod as it is."""
    settled: bool = False
    """Nothing more happens to the pod by itself, so the kubelet need not look again soon."""


def is_sidecar(container: Mapping[str, Any]) -> bool:
    """A native sidecar: an init container with ``restartPolicy: Always`` (Kubernetes 1.29+)."""
    return container.get("restartPolicy") == "Always"


def incomplete(init_containers: list[dict[str, Any]], statuses: list[dict[str, Any]]) -> tuple[str, ...]:
    """The init containers that keep the pod from being initialized, as the kubelet's
    GeneratePodInitializedCondition finds them: a regular one until it completed (ready), a
    sidecar until it started."""
    by_name = {s.get("name"): s for s in statuses}
    return tuple(str(c.get("name")) for c in init_containers
                 if not (by_name.get(c.get("name")) or {}).get("started" if is_sidecar(c) else "ready"))


def _waiting(container: dict[str, Any], reason: str, message: str | None = None) -> dict[str, Any]:
    waiting = {"reason": reason}
    if message is not None:
        waiting["message"] = message
    return {"name": container.get("name"), "image": container.get("image"), "imageID": "", "ready": False,
            "restartCount": 0, "started": False, "state": {"waiting": waiting}}


def _running_entry(state: PodState, container: Mapping[str, Any], ready: bool, started: bool,
                   previous: Mapping[str, Any]) -> dict[str, Any]:
    """A container's status as it runs (the same run as ``previous`` if that was running)."""
    restarts = int(previous.get("restartCount") or 0)
    entry: dict[str, Any] = {
        "name": container.get("name"), "image": container.get("image"),
        "imageID": f"docker.io/library/{images.repository(str(container.get('image')))}@sha256:simulated",
        "containerID": container_id(state.pod, container, restarts),
        "ready": ready, "restartCount": restarts, "started": started,
        "state": {"running": {"startedAt": now()}},
    }
    if previous.get("lastState"):
        entry["lastState"] = previous["lastState"]
    if "startedAt" in ((previous.get("state") or {}).get("running") or {}):
        entry["state"] = previous["state"]  # the same run goes on
    return entry


def container_id(pod: Mapping[str, Any], container: Mapping[str, Any], restarts: int) -> str:
    """The runtime's id for one run of a container: 64 hex digits, new for every run."""
    run = f"{pod['metadata'].get('uid')}/{container.get('name')}/{restarts}"
    return f"containerd://{hashlib.sha256(run.encode()).hexdigest()}"


def _pull_failed(state: PodState, backing_off: bool) -> Next:
    reason = "ImagePullBackOff" if backing_off else "ErrImagePull"
    statuses = []
    for container in state.containers:
        if container.get("name") in state.unknown_images:
            image = str(container.get("image"))
            message = f'Back-off pulling image "{container.get("image")}"' if backing_off else images.pull_failure(image)
            statuses.append(_waiting(container, reason, message))
        else:
            statuses.append(_waiting(container, "ContainerCreating"))
    events: list[Event] = []
    first_failure = not state.waiting_reasons() & set(PULL_FAILURES)
    newly_backing_off = backing_off and "ImagePullBackOff" not in state.waiting_reasons()
    for container in state.containers:
        if container.get("name") in state.unknown_images:
            events += _pull_events(str(container.get("image")), first_failure, newly_backing_off)
    return Next(statuses, events=tuple(events))


def _pull_events(image: str, first_failure: bool, newly_backing_off: bool) -> list[Event]:
    events: list[Event] = []
    if first_failure:
        events += [Event("Pulling", f'Pulling image "{image}"'),
                   Event("Failed", images.pull_failure(image), "Warning"), Event("Failed", "Error: ErrImagePull", "Warning")]
    if newly_backing_off:
        events += [Event("BackOff", f'Back-off pulling image "{image}"'), Event("Failed", "Error: ImagePullBackOff", "Warning")]
    return events


def _config_error(state: PodState) -> Next:
    problems = {name: problem for name, problem in state.config_problems.items() if name in state.app_names()}
    statuses = [_waiting(c, "CreateContainerConfigError", problems[c["name"]]) if c.get("name") in problems
                else _waiting(c, "ContainerCreating") for c in state.containers]
    return Next(statuses, events=tuple(Event("Failed", f"Error: {problem}", "Warning") for problem in problems.values()))


def _containers(state: PodState, *, running: bool, ready: bool) -> Next:
    earlier = {s.get("name"): s for s in state.container_statuses}
    statuses = []
    for container in state.containers:
        name = str(container.get("name"))
        previous = earlier.get(container.get("name")) or {}
        if running:
            just_started = "running" not in (previous.get("state") or {})
            # a probe that has not run yet: readiness starts failed, a startup probe holds ``started``
            entry = _running_entry(state, container, ready and name not in state.unready
                                   and not (just_started and "readinessProbe" in container),
                                   not (just_started and "startupProbe" in container), previous)
            if just_started and not state.init_containers:
                entry["state"] = {"running": {"startedAt": state.status.get("startTime", now())}}
        else:
            entry = _waiting(container, "ContainerCreating")
            if previous.get("lastState"):
                entry["lastState"] = previous["lastState"]
        if previous.get("restartCount"):
            entry["restartCount"] = previous["restartCount"]  # restarts after an attached shell exited
        statuses.append(entry)
    events: list[Event] = []
    starting = running and not state.was_running()
    if starting:
        events = [event for c in state.containers for event in _start_events(c)]
    if running:
        for container, entry in zip(state.containers, statuses):
            events += _after_exit(state, container, entry)
    finished = [entry for entry in statuses if "terminated" in entry["state"]]
    phase = "Running" if running else "Pending"
    if running and finished and len(finished) == len(statuses):
        phase = "Succeeded" if all(e["state"]["terminated"]["exitCode"] == 0 for e in finished) else "Failed"
    init_statuses = None
    if state.init_containers:
        init_statuses, sidecar_events = _sidecars(state, stopping=phase in FINISHED)
        events += sidecar_events
    all_ready = ready and all(entry["ready"] for entry in statuses + [
        s for s, c in zip(init_statuses or [], state.init_containers) if is_sidecar(c)])
    return Next(statuses, ready=all_ready, phase=phase, events=tuple(events), start_logs=starting, init_container_statuses=init_statuses)


def _sidecars(state: PodState, *, stopping: bool) -> tuple[list[dict[str, Any]], list[Event]]:
    """The init containers once the pod is initialized: completed ones stay as they are; a
    sidecar keeps running (restarted whenever it ends, after the back-off) until the pod's app
    containers have all ended, when the kubelet stops it."""
    earlier = {s.get("name"): s for s in state.init_container_statuses}
    statuses, events = [], []
    for container in state.init_containers:
        name = str(container.get("name"))
        previous = dict(earlier.get(container.get("name")) or _waiting(container, "PodInitializing"))
        state_now = previous.get("state") or {}
        if not is_sidecar(container) or "terminated" in state_now or "running" not in state_now and not previous.get("lastState"):
            statuses.append(previous)
            continue
        entry = _running_entry(state, container, name not in state.unready, name not in state.unstarted, previous)
        if stopping:
            # the kubelet stops a finished pod's sidecars (SIGTERM, then SIGKILL after the grace period)
            entry.update(ready=False, started=False, state={"terminated": {
                "exitCode": 137, "reason": "Error", "startedAt": (state_now.get("running") or {}).get("startedAt", now()),
                "finishedAt": now(), "containerID": entry["containerID"]}})
            events.append(Event("Killing", f"Stopping container {name}"))
        else:
            events += _after_exit(state, container, entry, "Always")
        statuses.append(entry)
    return statuses, events


def _start_events(container: Mapping[str, Any]) -> list[Event]:
    return [Event("Pulled", f'Container image "{container.get("image")}" already present on machine'),
            Event("Created", f"Created container {container.get('name')}"), Event("Started", f"Started container {container.get('name')}")]


def backoff_seconds(restarts: int) -> float:
    """The kubelet's wait before restarting a container that has restarted ``restarts`` times:
    none the first time, then 10 s doubling to 5 minutes."""
    return 0.0 if restarts == 0 else float(min(10 * 2 ** (restarts - 1), 300))


def _after_exit(state: PodState, container: Mapping[str, Any], entry: dict[str, Any], policy: str | None = None) -> list[Event]:
    """A container whose command ended: terminated for good (restartPolicy Never, or OnFailure
    and a success), waiting in CrashLoopBackOff, or running again once the back-off has passed.
    ``policy`` overrides the pod's restartPolicy (an init container's, a sidecar's). Changes
    ``entry`` in place; the events the kubelet records."""
    from datetime import datetime, timezone

    from labrunner.sandbox.timescale import TIME_SCALE

    name = str(container.get("name"))
    ended = state.exits.get(name)
    restarts = int(entry.get("restartCount") or 0)
    if ended is None or ended.restart_count != restarts:
        return []
    reason = getattr(ended, "reason", "") or ("Completed" if ended.code == 0 else "Error")
    terminated = {"exitCode": ended.code, "reason": reason, **({"message": ended.message} if getattr(ended, "message", "") else {}),
                  "startedAt": ended.started, "finishedAt": ended.finished, "containerID": entry.get("containerID", "")}
    # containerd could not start the process: the kubelet says so once per attempt
    failed = [Event("Failed", f"Error: {ended.message}", "Warning")] if reason == "StartError" else []
    policy = policy or str((state.pod.get("spec") or {}).get("restartPolicy") or "Always")
    entry["ready"] = False
    if policy == "Never" or (policy == "OnFailure" and ended.code == 0):
        entry.update(state={"terminated": terminated}, started=False)
        return failed
    finished_at = datetime.strptime(ended.finished, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc).timestamp()
    wait = backoff_seconds(restarts) * TIME_SCALE
    metadata = state.pod["metadata"]
    if state.clock - finished_at < wait:
        entry.update(state={"waiting": {"reason": "CrashLoopBackOff", "message": (
            f"back-off {int(backoff_seconds(restarts))}s restarting failed container={name} "
            f"pod={metadata['name']}_{metadata['namespace']}({metadata.get('uid')})")}}, started=False, lastState={"terminated": terminated})
        return [*failed, Event("BackOff", f"Back-off restarting failed container {name} in pod {metadata['name']}_{metadata['namespace']}"
                                            f"({metadata.get('uid')})", "Warning")]
    entry.update(state={"running": {"startedAt": now()}}, started=True, restartCount=restarts + 1, lastState={"terminated": terminated},
                 containerID=container_id(state.pod, container, restarts + 1))
    return _start_events(container)



def _initializing(state: PodState) -> Next:
    """The init containers' turn, one at a time, as ``computeInitContainerActions`` takes it: the
    first one not yet initialized is started (or pulled, or restarted after its back-off); when
    it completes the next starts in the same look; a sidecar that started lets the next start at
    the following look. A failure under restartPolicy Never fails the pod."""
    earlier = {s.get("name"): s for s in state.init_container_statuses}
    restart_policy = str((state.pod.get("spec") or {}).get("restartPolicy") or "Always")
    statuses: list[dict[str, Any]] = []
    events: list[Event] = []
    failed = False
    reached = True
    for container in state.init_containers:
        name = str(container.get("name"))
        previous = earlier.get(container.get("name")) or {}
        previous_state = previous.get("state") or {}
        if not reached:
            statuses.append(dict(previous) if previous else _waiting(container, "PodInitializing"))
            continue
        if "terminated" in previous_state and not is_sidecar(container):
            statuses.append(dict(previous))  # completed, or failed for good (restartPolicy Never)
            failed = failed or previous_state["terminated"].get("exitCode") != 0
            reached = not failed
            continue
        entry, said = _init_step(state, container, previous, restart_policy)
        statuses.append(entry)
        events += said
        now_state = entry["state"]
        if "terminated" in now_state:
            failed = now_state["terminated"]["exitCode"] != 0
            reached = not failed
        elif is_sidecar(container):
            # the next one starts once this one is seen running and started (its startupProbe passed)
            reached = "running" in now_state and "running" in previous_state and entry["started"]
        else:
            reached = False
    app = [_waiting(c, "PodInitializing") for c in state.containers]
    return Next(app, phase="Failed" if failed else "Pending", events=tuple(events), init_container_statuses=statuses)


def _init_step(state: PodState, container: Mapping[str, Any], previous: Mapping[str, Any], restart_policy: str) -> tuple[dict[str, Any], list[Event]]:
    """One init container's next status, its turn having come: its image pulled (or not), its
    Secret and ConfigMap references resolved (or not), started, or its ending answered by its
    restart policy (a sidecar's is Always; a regular one's is the pod's, a success ending it)."""
    name = str(container.get("name"))
    waiting_reason = ((previous.get("state") or {}).get("waiting") or {}).get("reason", "")
    if name in state.unknown_images:
        backing_off = waiting_reason in PULL_FAILURES and state.age >= BACKOFF_SECONDS
        image = str(container.get("image"))
        message = f'Back-off pulling image "{image}"' if backing_off else images.pull_failure(image)
        entry = _waiting(dict(container), "ImagePullBackOff" if backing_off else "ErrImagePull", message)
        return entry, _pull_events(image, waiting_reason not in PULL_FAILURES, backing_off and waiting_reason != "ImagePullBackOff")
    if name in state.config_problems:
        problem = state.config_problems[name]
        said = [] if waiting_reason == "CreateContainerConfigError" else [Event("Failed", f"Error: {problem}", "Warning")]
        return _waiting(dict(container), "CreateContainerConfigError", problem), said
    sidecar = is_sidecar(container)
    first_start = "running" not in (previous.get("state") or {}) and waiting_reason != "CrashLoopBackOff"
    entry = _running_entry(state, container, sidecar and name not in state.unready and not (first_start and "readinessProbe" in container),
                           name not in state.unstarted and not (first_start and "startupProbe" in container), previous)
    if first_start:
        return entry, _start_events(container)
    policy = "Always" if sidecar else ("Never" if restart_policy == "Never" else "OnFailure")
    said = _after_exit(state, container, entry, policy)
    if "terminated" in entry["state"] and entry["state"]["terminated"]["exitCode"] == 0 and not sidecar:
        entry["ready"] = True  # a completed init container counts as ready (the prober manager's rule)
    return entry, said


def _pod_initializing(state: PodState) -> Next:
    """Before the kubelet starts the first init container: every container waits in PodInitializing."""
    return Next([_waiting(c, "PodInitializing") for c in state.containers], phase="Pending",
                init_container_statuses=[_waiting(c, "PodInitializing") for c in state.init_containers])


def _finished(state: PodState) -> bool:
    return state.phase in FINISHED


def _initializing_selector(state: PodState) -> bool:
    return not state.initialized()


def _unknown_image(state: PodState) -> bool:
    return bool(state.unknown_images & state.app_names())


def _missing_config(state: PodState) -> bool:
    return bool(set(state.config_problems) & state.app_names())


def _any(state: PodState) -> bool:
    return True


STAGES: tuple[Stage, ...] = (
    Stage("Finished", _finished, 0.0, None, settled=True),
    # Not settled: each init container's end, or a sidecar's start, moves the pod on.
    Stage("Initializing", _initializing_selector, CREATING_SECONDS, _initializing),
    Stage("PodInitializing", _initializing_selector, 0.0, _pod_initializing),
    Stage("ImagePullBackOff", _unknown_image, BACKOFF_SECONDS, lambda s: _pull_failed(s, backing_off=True), settled=True),
    Stage("ErrImagePull", _unknown_image, 0.0, lambda s: _pull_failed(s, backing_off=False)),
    # Not settled: the kubelet retries, so creating the Secret or ConfigMap starts the container.
    Stage("CreateContainerConfigError", _missing_config, CREATING_SECONDS, _config_error),
    Stage("Ready", _any, READY_SECONDS, lambda s: _containers(s, running=True, ready=True), settled=True),
    Stage("Running", _any, CREATING_SECONDS, lambda s: _containers(s, running=True, ready=False)),
    Stage("ContainerCreating", _any, 0.0, lambda s: _containers(s, running=False, ready=False)),
)


def choose(state: PodState, stages: tuple[Stage, ...] = STAGES) -> Stage:
    for stage in stages:
        if state.age >= stage.delay and stage.selector(state):
            return stage
    raise LookupError("no kubelet stage applies")  # the table ends with a row that always does
