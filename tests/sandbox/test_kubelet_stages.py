"""The kubelet's stage table, pod state in, stage and state out: no server, no store."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from labrunner.sandbox.controllers.kubelet_stages import (BACKOFF_SECONDS, CREATING_SECONDS, READY_SECONDS, Event, PodState, choose,
                                                          container_id, incomplete)
from labrunner.sandbox.tables import table


def pod(*images: str, status: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"metadata": {"name": "web-x", "namespace": "demo", "uid": "ab-cd"},
            "spec": {"nodeName": "labrunner-sandbox-worker", "containers": [{"name": f"c{i}", "image": image} for i, image in enumerate(images)]},
            "status": {"phase": "Pending", "startTime": "2026-01-01T00:00:00Z", **(status or {})}}


def state(obj: dict[str, Any], age: float, unknown: tuple[str, ...] = (), problems: dict[str, str] | None = None) -> PodState:
    return PodState(obj, age, frozenset(unknown), problems or {})


def waiting(obj_next: Any) -> list[str]:
    return [s["state"]["waiting"]["reason"] for s in obj_next.container_statuses]


@pytest.mark.parametrize(("age", "unknown", "problems", "expected"), [
    (0.0, (), {}, "ContainerCreating"),
    (CREATING_SECONDS, (), {}, "Running"),
    (READY_SECONDS, (), {}, "Ready"),
    (0.0, ("c0",), {}, "ErrImagePull"),
    (READY_SECONDS, ("c0",), {}, "ErrImagePull"),  # an image that cannot be pulled stops everything else
    (BACKOFF_SECONDS, ("c0",), {}, "ImagePullBackOff"),
    (0.0, (), {"c0": 'secret "db" not found'}, "ContainerCreating"),  # the kubelet finds out when it creates the container
    (READY_SECONDS, (), {"c0": 'secret "db" not found'}, "CreateContainerConfigError"),
])
def test_the_stage_chosen(age: float, unknown: tuple[str, ...], problems: dict[str, str], expected: str) -> None:
    assert choose(state(pod("nginx:1.27"), age, unknown, problems)).name == expected


def test_a_finished_pod_is_left_as_it_is() -> None:
    stage = choose(state(pod("busybox", status={"phase": "Succeeded"}), 60.0))
    assert (stage.name, stage.next, stage.settled) == ("Finished", None, True)


def test_container_creating_then_running_with_the_start_events_once() -> None:
    creating = choose(state(pod("nginx:1.27"), 0.1))
    assert creating.next is not None and not creating.settled
    before = creating.next(state(pod("nginx:1.27"), 0.1))
    assert (waiting(before), before.phase, before.ready, before.events) == (["ContainerCreating"], "Pending", False, ())
    assert "containerID" not in before.container_statuses[0]

    started = pod("nginx:1.27", status={"containerStatuses": before.container_statuses})
    running = choose(state(started, CREATING_SECONDS))
    assert running.next is not None
    after = running.next(state(started, CREATING_SECONDS))
    assert after.phase == "Running" and not after.ready and after.start_logs
    assert after.container_statuses[0]["state"] == {"running": {"startedAt": "2026-01-01T00:00:00Z"}}
    assert after.container_statuses[0]["containerID"] == container_id(started, {"name": "c0"}, 0)
    assert after.container_statuses[0]["containerID"].startswith("containerd://") and len(after.container_statuses[0]["containerID"]) == 77
    assert [e.reason for e in after.events] == ["Pulled", "Created", "Started"]

    ready_pod = pod("nginx:1.27", status={"phase": "Running", "containerStatuses": after.container_statuses})
    ready = choose(state(ready_pod, READY_SECONDS))
    assert ready.settled and ready.next is not None
    final = ready.next(state(ready_pod, READY_SECONDS))
    assert final.ready and final.container_statuses[0]["ready"] and final.events == () and not final.start_logs


def test_an_unknown_image_fails_to_pull_then_backs_off_in_the_kubelets_words() -> None:
    first = choose(state(pod("mysqll:8.4", "busybox"), 0.0, ("c0",)))
    assert first.next is not None and not first.settled
    pulled = first.next(state(pod("mysqll:8.4", "busybox"), 0.0, ("c0",)))
    assert waiting(pulled) == ["ErrImagePull", "ContainerCreating"]
    assert pulled.container_statuses[0]["state"]["waiting"]["message"].startswith('Failed to pull image "mysqll:8.4"')
    assert [(e.reason, e.type) for e in pulled.events] == [("Pulling", "Normal"), ("Failed", "Warning"), ("Failed", "Warning")]
    assert pulled.events[2] == Event("Failed", "Error: ErrImagePull", "Warning")

    failing = pod("mysqll:8.4", "busybox", status={"containerStatuses": pulled.container_statuses})
    backoff = choose(state(failing, BACKOFF_SECONDS, ("c0",)))
    assert backoff.name == "ImagePullBackOff" and backoff.settled and backoff.next is not None
    backing = backoff.next(state(failing, BACKOFF_SECONDS, ("c0",)))
    assert backing.container_statuses[0]["state"]["waiting"] == {"reason": "ImagePullBackOff", "message": 'Back-off pulling image "mysqll:8.4"'}
    assert backing.events == (Event("BackOff", 'Back-off pulling image "mysqll:8.4"'), Event("Failed", "Error: ImagePullBackOff", "Warning"))

    already = pod("mysqll:8.4", "busybox", status={"containerStatuses": backing.container_statuses})
    assert backoff.next(state(already, 5.0, ("c0",))).events == ()  # said once


def test_a_missing_secret_is_a_config_error_that_keeps_being_retried() -> None:
    problems = {"c0": 'secret "db" not found'}
    stage = choose(state(pod("mysql:8.4"), CREATING_SECONDS, (), problems))
    assert stage.name == "CreateContainerConfigError" and not stage.settled and stage.next is not None
    after = stage.next(state(pod("mysql:8.4"), CREATING_SECONDS, (), problems))
    assert after.container_statuses[0]["state"]["waiting"] == {"reason": "CreateContainerConfigError", "message": 'secret "db" not found'}
    assert after.events == (Event("Failed", 'Error: secret "db" not found', "Warning"),) and after.phase is None


def test_restarts_counted_by_an_attached_shell_survive_the_next_stage() -> None:
    earlier = [{"name": "c0", "restartCount": 2, "lastState": {"terminated": {"exitCode": 0}}, "state": {"running": {}}}]
    obj = pod("busybox", status={"phase": "Running", "containerStatuses": earlier})
    after = choose(state(obj, 10.0)).next(state(obj, 10.0))  # type: ignore[misc]
    assert after.container_statuses[0]["restartCount"] == 2 and after.container_statuses[0]["lastState"] == {"terminated": {"exitCode": 0}}
    assert after.events == ()  # it was running already


# -- init containers and native sidecars ------------------------------------------------------


@dataclass(frozen=True)
class Ended:
    """How a run ended, as the runtime reports it (runtime.Exit's fields the stages read)."""

    code: int
    restart_count: int = 0
    started: str = "2026-01-01T00:00:01Z"
    finished: str = "2026-01-01T00:00:02Z"


def init_pod(*init: dict[str, Any], policy: str = "Always", status: dict[str, Any] | None = None) -> dict[str, Any]:
    obj = pod("nginx:1.27", status=status)
    obj["spec"].update(initContainers=[{"image": "busybox:1.36", **c} for c in init], restartPolicy=policy)
    return obj


def step(obj: dict[str, Any], age: float = 5.0, **facts: Any) -> tuple[str, Any]:
    """The stage chosen and what it writes; ``obj``'s status becomes what it writes."""
    now_state = PodState(obj, age, **facts)
    stage = choose(now_state)
    assert stage.next is not None
    after = stage.next(now_state)
    obj["status"]["containerStatuses"] = after.container_statuses
    if after.init_container_statuses is not None:
        obj["status"]["initContainerStatuses"] = after.init_container_statuses
    if after.phase is not None:
        obj["status"]["phase"] = after.phase
    return stage.name, after


def init_states(obj: dict[str, Any]) -> list[str]:
    return [next(iter(s["state"])) + ":" + str(next(iter(s["state"].values())).get("reason", "")) for s in obj["status"]["initContainerStatuses"]]


def not_initialized(obj: dict[str, Any]) -> tuple[str, ...]:
    return incomplete(obj["spec"]["initContainers"], obj["status"]["initContainerStatuses"])


def row(obj: dict[str, Any], initialized: bool = False) -> list[Any]:
    obj = {**obj, "metadata": {**obj["metadata"], "creationTimestamp": "2026-01-01T00:00:00Z"}}
    obj["status"] = {**obj["status"], "conditions": [{"type": "Initialized", "status": "True" if initialized else "False"}]}
    return list(table("pods", [obj], "1")["rows"][0]["cells"][1:4])


def test_init_containers_run_one_at_a_time_in_order_before_the_app() -> None:
    obj = init_pod({"name": "first"}, {"name": "second"})
    name, after = step(obj, age=0.1)
    assert (name, init_states(obj), waiting(after), not_initialized(obj)) == (
        "PodInitializing", ["waiting:PodInitializing", "waiting:PodInitializing"], ["PodInitializing"], ("first", "second"))
    assert row(obj) == ["0/1", "Init:0/2", "0"]

    name, after = step(obj)
    assert (name, init_states(obj), after.phase) == ("Initializing", ["running:", "waiting:PodInitializing"], "Pending")
    assert [(e.reason, e.message) for e in after.events] == [("Pulled", 'Container image "busybox:1.36" already present on machine'),
                                                            ("Created", "Created container first"), ("Started", "Started container first")]
    assert (obj["status"]["initContainerStatuses"][0]["started"], obj["status"]["initContainerStatuses"][0]["ready"]) == (True, False)
    assert step(obj)[1].events == ()  # still running: nothing new

    name, after = step(obj, exits={"first": Ended(0)})  # it completed: the next starts at the same look
    assert init_states(obj) == ["terminated:Completed", "running:"]
    assert obj["status"]["initContainerStatuses"][0]["ready"] is True and [e.message for e in after.events][1] == "Created container second"
    assert row(obj) == ["0/1", "Init:1/2", "0"]

    name, after = step(obj, exits={"first": Ended(0), "second": Ended(0)})
    assert (init_states(obj), waiting(after), not_initialized(obj)) == (["terminated:Completed", "terminated:Completed"], ["PodInitializing"], ())
    assert row(obj, initialized=True) == ["0/1", "PodInitializing", "0"]

    name, after = step(obj, exits={"first": Ended(0), "second": Ended(0)})  # now the app containers' turn
    assert (name, after.phase, after.start_logs) == ("Ready", "Running", True)
    assert [e.message for e in after.events if e.reason == "Started"] == ["Started container c0"]
    assert init_states(obj) == ["terminated:Completed", "terminated:Completed"]  # they stay completed
    assert row(obj, initialized=True) == ["1/1", "Running", "0"]


@pytest.mark.parametrize(("policy", "clock", "expected_state", "phase", "status_column"), [
    ("Never", 0.0, "terminated:Error", "Failed", "Init:Error"),
    ("Always", 1767225602.0, "waiting:CrashLoopBackOff", "Pending", "Init:CrashLoopBackOff"),  # within the 10 s back-off
    ("OnFailure", 1767225602.0, "waiting:CrashLoopBackOff", "Pending", "Init:CrashLoopBackOff"),
    ("Always", 1767225700.0, "running:", "Pending", "Init:0/1"),  # the back-off has passed: it runs again
])
def test_a_failing_init_container_answers_to_the_pods_restart_policy(policy: str, clock: float, expected_state: str, phase: str,
                                                                     status_column: str) -> None:
    obj = init_pod({"name": "migrate"}, policy=policy)
    step(obj)
    obj["status"]["initContainerStatuses"][0]["restartCount"] = 1  # its second run: the back-off is 10 s
    name, after = step(obj, exits={"migrate": Ended(3, restart_count=1)}, clock=clock)
    assert (name, init_states(obj), after.phase, waiting(after)) == ("Initializing", [expected_state], phase, ["PodInitializing"])
    assert row(obj)[1] == status_column
    if policy != "Never":
        assert obj["status"]["initContainerStatuses"][0]["lastState"]["terminated"]["exitCode"] == 3


def test_an_init_container_that_cannot_be_pulled_or_configured_waits_in_the_kubelets_words() -> None:
    obj = init_pod({"name": "fetch", "image": "busybx:1.36"})
    name, after = step(obj, age=0.5, unknown_images=frozenset({"fetch"}))
    assert (init_states(obj), row(obj)[1]) == (["waiting:ErrImagePull"], "Init:ErrImagePull")
    assert [e.reason for e in after.events] == ["Pulling", "Failed", "Failed"]
    name, after = step(obj, age=BACKOFF_SECONDS, unknown_images=frozenset({"fetch"}))
    assert (init_states(obj), row(obj)[1]) == (["waiting:ImagePullBackOff"], "Init:ImagePullBackOff")
    assert step(obj, age=BACKOFF_SECONDS, unknown_images=frozenset({"fetch"}))[1].events == ()  # said once

    obj = init_pod({"name": "seed"})
    step(obj, config_problems={"seed": 'secret "db" not found'})
    assert (init_states(obj), row(obj)[1]) == (["waiting:CreateContainerConfigError"], "Init:CreateContainerConfigError")


def test_a_sidecar_lets_the_next_init_container_start_once_it_started_and_counts_in_ready() -> None:
    obj = init_pod({"name": "proxy", "restartPolicy": "Always"}, {"name": "setup"})
    step(obj)
    assert init_states(obj) == ["running:", "waiting:PodInitializing"]  # started at this look: setup waits for the next
    step(obj)
    assert init_states(obj) == ["running:", "running:"]
    assert row(obj) == ["1/2", "Init:1/2", "0"]  # a started sidecar counts, and is skipped for the Init:N/M count
    step(obj, exits={"setup": Ended(0)})
    name, after = step(obj, exits={"setup": Ended(0)})
    assert (name, after.phase, after.ready) == ("Ready", "Running", True)
    assert row(obj, initialized=True) == ["2/2", "Running", "0"]

    unstarted = init_pod({"name": "proxy", "restartPolicy": "Always", "startupProbe": {"exec": {"command": ["true"]}}}, {"name": "setup"})
    step(unstarted)
    step(unstarted, unstarted=frozenset({"proxy"}))
    assert init_states(unstarted) == ["running:", "waiting:PodInitializing"]  # its startup probe has not passed


def test_a_sidecar_that_ends_is_restarted_and_is_stopped_when_the_app_has_finished() -> None:
    obj = init_pod({"name": "proxy", "restartPolicy": "Always"}, policy="Never")
    step(obj)
    step(obj)
    step(obj)
    name, after = step(obj, exits={"proxy": Ended(1)}, clock=1767225602.0)
    assert (name, init_states(obj), obj["status"]["initContainerStatuses"][0]["restartCount"]) == ("Ready", ["running:"], 1)
    name, after = step(obj, exits={"c0": Ended(0), "proxy": Ended(1)})
    assert (after.phase, init_states(obj)) == ("Succeeded", ["terminated:Error"])
    assert ("Killing", "Stopping container proxy") in [(e.reason, e.message) for e in after.events]


@pytest.mark.parametrize(("init_statuses", "app_state", "initialized", "expected"), [
    ([{"name": "i0", "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}},
      {"name": "i1", "state": {"terminated": {"exitCode": 1, "reason": "Error"}}}], {"waiting": {"reason": "PodInitializing"}}, False, "Init:Error"),
    ([{"name": "i0", "state": {"terminated": {"exitCode": 2}}}], {"waiting": {"reason": "PodInitializing"}}, False, "Init:ExitCode:2"),
    ([{"name": "i0", "state": {"running": {}}}], {"waiting": {"reason": "PodInitializing"}}, False, "Init:0/2"),
    ([{"name": "i0", "state": {"waiting": {"reason": "CrashLoopBackOff"}}}], {"waiting": {"reason": "PodInitializing"}}, False,
     "Init:CrashLoopBackOff"),
    ([{"name": "i0", "state": {"terminated": {"exitCode": 0}}}, {"name": "i1", "state": {"waiting": {"reason": "PodInitializing"}}}],
     {"waiting": {"reason": "PodInitializing"}}, False, "Init:1/2"),
    ([], {"terminated": {"exitCode": 0, "reason": "Completed"}}, True, "Completed"),
    ([], {"terminated": {"exitCode": 137}}, True, "ExitCode:137"),
])
def test_the_status_column_as_print_pod_words_it(init_statuses: list[dict[str, Any]], app_state: dict[str, Any], initialized: bool,
                                                 expected: str) -> None:
    obj = init_pod({"name": "i0"}, {"name": "i1"}, status={"initContainerStatuses": init_statuses,
                                                         "containerStatuses": [{"name": "c0", "state": app_state}]})
    assert row(obj, initialized)[1] == expected


def test_restarts_say_when_the_last_one_was() -> None:
    obj = pod("busybox", status={"containerStatuses": [{"name": "c0", "restartCount": 2, "state": {"running": {}},
                                                        "lastState": {"terminated": {"finishedAt": "2000-01-01T00:00:00Z"}}}]})
    assert str(row(obj, initialized=True)[2]).startswith("2 (") and str(row(obj, initialized=True)[2]).endswith(" ago)")
