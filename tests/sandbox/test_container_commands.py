"""A container runs its own command, over time (issue 13 items 2 and 3): its output is its log as
it is written, and when it ends the restart policy decides: Never leaves the pod Succeeded or
Failed, Always and OnFailure restart it after the kubelet's back-off, with the last run's log
behind ``--previous``."""

from __future__ import annotations

import json
from collections.abc import Callable

from tests.sandboxes import Kubectl, eventually


def _until(check: Callable[[], bool]) -> None:
    eventually(check, "the pod reaching that state")


def _pod(kubectl: Kubectl, namespace: str, name: str) -> dict:
    return json.loads(kubectl("get", "pod", name, "-n", namespace, "-o", "json").stdout)


def test_commands_that_end_end_their_container_as_the_restart_policy_says(kubectl: Kubectl, namespace: str) -> None:
    kubectl("create", "namespace", namespace)
    kubectl("run", "fails", "-n", namespace, "--image=busybox", "--restart=Never", "--", "sh", "-c", "echo about to fail; exit 3")
    kubectl("run", "succeeds", "-n", namespace, "--image=busybox", "--restart=Never", "--", "echo", "done")
    kubectl("run", "crashes", "-n", namespace, "--image=busybox", "--", "sh", "-c", "echo run $(date +%s); exit 1")
    _until(lambda: _pod(kubectl, namespace, "fails")["status"]["phase"] == "Failed")
    _until(lambda: _pod(kubectl, namespace, "succeeds")["status"]["phase"] == "Succeeded")
    terminated = _pod(kubectl, namespace, "fails")["status"]["containerStatuses"][0]["state"]["terminated"]
    assert (terminated["exitCode"], terminated["reason"]) == (3, "Error")
    assert kubectl("logs", "fails", "-n", namespace).stdout == "about to fail\n"
    listed = kubectl("get", "pods", "-n", namespace, "--no-headers").stdout
    assert "Error" in listed and "Completed" in listed
    # Always: the first restart at once, then the kubelet's back-off (10 s, scaled in tests)
    _until(lambda: int(_pod(kubectl, namespace, "crashes")["status"]["containerStatuses"][0]["restartCount"]) >= 2)
    status = _pod(kubectl, namespace, "crashes")["status"]["containerStatuses"][0]
    assert status["lastState"]["terminated"]["exitCode"] == 1
    previous = kubectl("logs", "crashes", "-n", namespace, "--previous").stdout
    assert previous.startswith("run ") and previous.count("\n") == 1
    events = kubectl("get", "events", "-n", namespace, "--field-selector", "reason=BackOff", "-o", "json").stdout
    assert any("Back-off restarting failed container crashes" in e["message"] for e in json.loads(events)["items"])


def test_a_loop_with_sleep_writes_its_log_over_time_and_stops_with_its_pod(kubectl: Kubectl, namespace: str) -> None:
    kubectl("create", "namespace", namespace)
    kubectl("run", "ticker", "-n", namespace, "--image=busybox", "--", "sh", "-c",
            "i=0; while true; do i=$((i+1)); echo tick $i; echo tick $i >> /tmp/ticks; sleep 20; done")
    _until(lambda: "tick 2" in kubectl("logs", "ticker", "-n", namespace, check=False).stdout)
    logged = kubectl("logs", "ticker", "-n", namespace).stdout
    assert logged.startswith("tick 1\ntick 2\n")
    # what the loop writes to its own files, an exec into the same container reads
    assert kubectl("exec", "ticker", "-n", namespace, "--", "head", "-n", "1", "/tmp/ticks").stdout == "tick 1\n"
    assert _pod(kubectl, namespace, "ticker")["status"]["containerStatuses"][0]["restartCount"] == 0
    kubectl("delete", "pod", "ticker", "-n", namespace, "--wait=false")
    _until(lambda: kubectl("get", "pods", "-n", namespace, "-o", "name").stdout == "")


def test_a_busy_loop_is_stopped_and_says_why(kubectl: Kubectl, namespace: str) -> None:
    kubectl("create", "namespace", namespace)
    kubectl("run", "spinner", "-n", namespace, "--image=busybox", "--restart=Never", "--", "sh", "-c", "while true; do :; done")
    _until(lambda: _pod(kubectl, namespace, "spinner")["status"]["phase"] == "Failed")
    assert "stopped this command after 100000 steps" in kubectl("logs", "spinner", "-n", namespace).stdout


def test_a_database_image_without_its_password_setting_exits_as_the_real_one_does(kubectl: Kubectl, namespace: str) -> None:
    kubectl("create", "namespace", namespace)
    kubectl("run", "typo", "-n", namespace, "--image=mysql:8.4", "--env=MYSQL_ROOT_PASWORD=s3cret")  # the classic typo
    kubectl("run", "fine", "-n", namespace, "--image=mysql:8.4", "--env=MYSQL_ROOT_PASSWORD=s3cret")
    kubectl("run", "pg", "-n", namespace, "--image=postgres:16", "--restart=Never")
    _until(lambda: int(_pod(kubectl, namespace, "typo")["status"]["containerStatuses"][0]["restartCount"]) >= 1)
    said = kubectl("logs", "typo", "-n", namespace).stdout
    assert "[ERROR] [Entrypoint]: Database is uninitialized and password option is not specified" in said
    assert "\t- MYSQL_ROOT_PASSWORD" in said
    _until(lambda: _pod(kubectl, namespace, "pg")["status"]["phase"] == "Failed")
    assert kubectl("logs", "pg", "-n", namespace).stdout.startswith("Error: Database is uninitialized and superuser password is not specified.")
    kubectl("wait", "-n", namespace, "--for=condition=Ready", "pod/fine", "--timeout=60s")
    assert "ready for connections" in kubectl("logs", "fine", "-n", namespace).stdout
    assert _pod(kubectl, namespace, "fine")["status"]["containerStatuses"][0]["restartCount"] == 0
