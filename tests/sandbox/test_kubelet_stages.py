"""The kubelet's stage table, pod state in, stage and state out: no server, no store."""

from __future__ import annotations

from typing import Any

import pytest

from labrunner.sandbox.controllers.kubelet_stages import BACKOFF_SECONDS, CREATING_SECONDS, READY_SECONDS, Event, PodState, choose


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
    assert after.container_statuses[0]["containerID"] == "containerd://abcd"
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
