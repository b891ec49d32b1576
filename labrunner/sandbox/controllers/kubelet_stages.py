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
"""

from __future__ import annotations

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

    @property
    def containers(self) -> list[dict[str, Any]]:
        return list((self.pod.get("spec") or {}).get("containers") or [])

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


@dataclass(frozen=True)
class Stage:
    name: str
    selector: Callable[[PodState], bool]
    delay: float
    next: Callable[[PodState], Next] | None
    """None: the kubelet leaves the pod as it is."""
    settled: bool = False
    """Nothing more happens to the pod by itself, so the kubelet need not look again soon."""


def _waiting(container: dict[str, Any], reason: str, message: str | None = None) -> dict[str, Any]:
    waiting = {"reason": reason}
    if message is not None:
        waiting["message"] = message
    return {"name": container.get("name"), "image": container.get("image"), "imageID": "", "ready": False,
            "restartCount": 0, "started": False, "state": {"waiting": waiting}}


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
        if container.get("name") not in state.unknown_images:
            continue
        image = str(container.get("image"))
        if first_failure:
            events += [Event("Pulling", f'Pulling image "{container.get("image")}"'),
                       Event("Failed", images.pull_failure(image), "Warning"), Event("Failed", "Error: ErrImagePull", "Warning")]
        if newly_backing_off:
            events += [Event("BackOff", f'Back-off pulling image "{container.get("image")}"'), Event("Failed", "Error: ImagePullBackOff", "Warning")]
    return Next(statuses, events=tuple(events))


def _config_error(state: PodState) -> Next:
    problems = state.config_problems
    statuses = [_waiting(c, "CreateContainerConfigError", problems[c["name"]]) if c.get("name") in problems
                else _waiting(c, "ContainerCreating") for c in state.containers]
    return Next(statuses, events=tuple(Event("Failed", f"Error: {problem}", "Warning") for problem in problems.values()))


def _containers(state: PodState, *, running: bool, ready: bool) -> Next:
    earlier = {s.get("name"): s for s in state.container_statuses}
    uid = str(state.pod["metadata"]["uid"])
    statuses = []
    for container in state.containers:
        entry: dict[str, Any] = {
            "name": container.get("name"), "image": container.get("image"),
            "imageID": f"docker.io/library/{images.repository(str(container.get('image')))}@sha256:simulated",
            "containerID": f"containerd://{uid.replace('-', '')}",
            "ready": ready and str(container.get("name")) not in state.unready, "restartCount": 0, "started": running,
            "state": {"running": {"startedAt": state.status.get("startTime", now())}} if running else {"waiting": {"reason": "ContainerCreating"}},
        }
        if not running:
            del entry["containerID"]  # no container exists yet
        previous = earlier.get(container.get("name")) or {}
        if previous.get("restartCount"):
            entry["restartCount"] = previous["restartCount"]  # restarts after an attached shell exited
        if previous.get("lastState"):
            entry["lastState"] = previous["lastState"]
        if running and "startedAt" in ((previous.get("state") or {}).get("running") or {}):
            entry["state"] = previous["state"]  # the same run goes on
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
    all_ready = ready and all(entry["ready"] for entry in statuses)
    return Next(statuses, ready=all_ready, phase=phase, events=tuple(events), start_logs=starting)


def _start_events(container: Mapping[str, Any]) -> list[Event]:
    return [Event("Pulled", f'Container image "{container.get("image")}" already present on machine'),
            Event("Created", f"Created container {container.get('name')}"), Event("Started", f"Started container {container.get('name')}")]


def backoff_seconds(restarts: int) -> float:
    """The kubelet's wait before restarting a container that has restarted ``restarts`` times:
    none the first time, then 10 s doubling to 5 minutes."""
    return 0.0 if restarts == 0 else float(min(10 * 2 ** (restarts - 1), 300))


def _after_exit(state: PodState, container: Mapping[str, Any], entry: dict[str, Any]) -> list[Event]:
    """A container whose command ended: terminated for good (restartPolicy Never, or OnFailure
    and a success), waiting in CrashLoopBackOff, or running again once the back-off has passed.
    Changes ``entry`` in place; the events the kubelet records."""
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
    policy = str((state.pod.get("spec") or {}).get("restartPolicy") or "Always")
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
    entry.update(state={"running": {"startedAt": now()}}, started=True, restartCount=restarts + 1, lastState={"terminated": terminated})
    return _start_events(container)



def _finished(state: PodState) -> bool:
    return state.phase in FINISHED


def _unknown_image(state: PodState) -> bool:
    return bool(state.unknown_images)


def _missing_config(state: PodState) -> bool:
    return bool(state.config_problems)


def _any(state: PodState) -> bool:
    return True


STAGES: tuple[Stage, ...] = (
    Stage("Finished", _finished, 0.0, None, settled=True),
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
