"""Init containers and native sidecars as a learner meets them with real kubectl: one at a time,
in order, before the app containers (``Init:N/M``, then Running); a file an init container writes
into an emptyDir is the app's; a pod waiting on ``until nslookup mysvc`` starts once the Service
exists; a failing init container is restarted after the back-off (``Init:CrashLoopBackOff``) or,
under restartPolicy Never, fails the pod (``Init:Error``); a sidecar (an init container with
``restartPolicy: Always``) runs beside the app and counts in READY."""

from __future__ import annotations

import json
from typing import Any


from tests.sandboxes import Kubectl, eventually


def _apply(kubectl: Kubectl, namespace: str, manifest: str) -> None:
    kubectl("apply", "-f", "-", stdin=manifest.replace("NAMESPACE", namespace))


def _pod(kubectl: Kubectl, namespace: str, name: str) -> dict[str, Any]:
    return dict(json.loads(kubectl("get", "pod", name, "-n", namespace, "-o", "json").stdout))


def _row(kubectl: Kubectl, namespace: str, name: str) -> list[str]:
    """READY, STATUS and RESTARTS as ``kubectl get pod`` prints them."""
    return kubectl("get", "pod", name, "-n", namespace, "--no-headers").stdout.split()[1:4]


def _events(kubectl: Kubectl, namespace: str, reason: str) -> list[str]:
    listed = json.loads(kubectl("get", "events", "-n", namespace, "--field-selector", f"reason={reason}", "-o", "json").stdout)
    return [str(event["message"]) for event in listed["items"]]


WAITING_WEB = """
apiVersion: v1
kind: Pod
metadata: {name: web, namespace: NAMESPACE}
spec:
  volumes: [{name: site, emptyDir: {}}]
  initContainers:
  - name: wait-for-db
    image: busybox:1.36
    command: [sh, -c, "until nslookup mysvc; do echo waiting for mysvc; sleep 2; done"]
  - name: write-page
    image: busybox:1.36
    command: [sh, -c, "echo hello from the init container > /site/index.html"]
    volumeMounts: [{name: site, mountPath: /site}]
  containers:
  - name: app
    image: nginx:1.27
    volumeMounts: [{name: site, mountPath: /usr/share/nginx/html}]
"""


def test_a_pod_waits_in_init_for_its_service_then_serves_what_its_init_container_wrote(kubectl: Kubectl, namespace: str) -> None:
    kubectl("create", "namespace", namespace)
    _apply(kubectl, namespace, WAITING_WEB)
    eventually(lambda: _row(kubectl, namespace, "web")[:2] == ["0/1", "Init:0/2"], "Init:0/2")
    eventually(lambda: "running" in _pod(kubectl, namespace, "web")["status"]["initContainerStatuses"][0]["state"], "wait-for-db running")
    pod = _pod(kubectl, namespace, "web")
    waiting_for_db, write_page = pod["status"]["initContainerStatuses"]
    assert (waiting_for_db["started"], waiting_for_db["ready"]) == (True, False)
    assert write_page["state"] == {"waiting": {"reason": "PodInitializing"}}
    assert pod["status"]["containerStatuses"][0]["state"] == {"waiting": {"reason": "PodInitializing"}}
    assert pod["status"]["phase"] == "Pending"
    initialized = next(c for c in pod["status"]["conditions"] if c["type"] == "Initialized")
    assert initialized == {**initialized, "status": "False", "reason": "ContainersNotInitialized",
                           "message": "containers with incomplete status: [wait-for-db write-page]"}

    kubectl("create", "service", "clusterip", "mysvc", "--tcp=3306:3306", "-n", namespace)
    kubectl("wait", "pod/web", "-n", namespace, "--for=condition=Ready", "--timeout=60s")
    assert _row(kubectl, namespace, "web") == ["1/1", "Running", "0"]
    pod = _pod(kubectl, namespace, "web")
    assert [(s["name"], s["state"]["terminated"]["reason"], s["state"]["terminated"]["exitCode"], s["ready"])
            for s in pod["status"]["initContainerStatuses"]] == [("wait-for-db", "Completed", 0, True), ("write-page", "Completed", 0, True)]
    assert kubectl("exec", "web", "-n", namespace, "-c", "app", "--", "cat", "/usr/share/nginx/html/index.html").stdout == (
        "hello from the init container\n")
    described = kubectl("describe", "pod", "web", "-n", namespace).stdout
    assert "Init Containers:\n  wait-for-db:" in described and "Initialized                 True" in described
    assert {"Created container wait-for-db", "Created container write-page", "Created container app"} <= set(_events(kubectl, namespace, "Created"))


FAILING = """
apiVersion: v1
kind: Pod
metadata: {name: migrate, namespace: NAMESPACE}
spec:
  restartPolicy: RESTART
  initContainers:
  - name: migrate
    image: busybox:1.36
    command: [sh, -c, "echo cannot reach the database; exit 3"]
  containers:
  - name: app
    image: nginx:1.27
"""


def test_a_failing_init_container_is_restarted_with_the_kubelets_back_off(kubectl: Kubectl, namespace: str) -> None:
    kubectl("create", "namespace", namespace)
    _apply(kubectl, namespace, FAILING.replace("RESTART", "Always"))
    eventually(lambda: _row(kubectl, namespace, "migrate")[1] == "Init:CrashLoopBackOff", "Init:CrashLoopBackOff")
    status = _pod(kubectl, namespace, "migrate")["status"]
    migrate = status["initContainerStatuses"][0]
    assert migrate["lastState"]["terminated"]["exitCode"] == 3 and migrate["lastState"]["terminated"]["reason"] == "Error"
    assert migrate["restartCount"] >= 1 and migrate["state"]["waiting"]["message"].startswith("back-off ")
    assert status["phase"] == "Pending" and status["containerStatuses"][0]["state"] == {"waiting": {"reason": "PodInitializing"}}
    assert any(message.startswith("Back-off restarting failed container migrate in pod migrate_") for message in _events(kubectl, namespace, "BackOff"))
    assert "Created container app" not in _events(kubectl, namespace, "Created")  # the app never starts


def test_under_restart_policy_never_a_failing_init_container_fails_the_pod(kubectl: Kubectl, namespace: str) -> None:
    kubectl("create", "namespace", namespace)
    _apply(kubectl, namespace, FAILING.replace("RESTART", "Never"))
    eventually(lambda: _pod(kubectl, namespace, "migrate")["status"]["phase"] == "Failed", "the pod failing")
    assert _row(kubectl, namespace, "migrate") == ["0/1", "Init:Error", "0"]
    status = _pod(kubectl, namespace, "migrate")["status"]
    terminated = status["initContainerStatuses"][0]["state"]["terminated"]
    assert (terminated["exitCode"], terminated["reason"]) == (3, "Error")
    assert status["containerStatuses"][0]["state"] == {"waiting": {"reason": "PodInitializing"}}
    assert "Created container app" not in _events(kubectl, namespace, "Created")


def _restarted_migrate(kubectl: Kubectl, namespace: str) -> None:
    kubectl("create", "namespace", namespace)
    _apply(kubectl, namespace, FAILING.replace("RESTART", "Always").replace("exit 3", "sleep 1; exit 3"))
    eventually(lambda: _pod(kubectl, namespace, "migrate")["status"]["initContainerStatuses"][0]["restartCount"] >= 1, "a restart")


def test_kubectl_logs_c_shows_an_init_containers_output(kubectl: Kubectl, namespace: str) -> None:
    _restarted_migrate(kubectl, namespace)
    eventually(lambda: kubectl("logs", "migrate", "-n", namespace, "-c", "migrate", check=False).stdout == "cannot reach the database\n",
               "the init container's log")


def test_kubectl_logs_previous_shows_an_init_containers_last_run(kubectl: Kubectl, namespace: str) -> None:
    _restarted_migrate(kubectl, namespace)
    assert kubectl("logs", "migrate", "-n", namespace, "-c", "migrate", "--previous").stdout == "cannot reach the database\n"


def test_an_init_containers_image_that_cannot_be_pulled_holds_the_pod_in_init(kubectl: Kubectl, namespace: str) -> None:
    kubectl("create", "namespace", namespace)
    _apply(kubectl, namespace, FAILING.replace("RESTART", "Always").replace("busybox:1.36", "busybx:1.36"))
    eventually(lambda: _row(kubectl, namespace, "migrate")[1] == "Init:ImagePullBackOff", "Init:ImagePullBackOff")
    assert any(message.startswith('Failed to pull image "busybx:1.36"') for message in _events(kubectl, namespace, "Failed"))


SIDECAR = """
apiVersion: v1
kind: Pod
metadata: {name: logged, namespace: NAMESPACE}
spec:
  volumes: [{name: logs, emptyDir: {}}]
  initContainers:
  - name: shipper
    image: busybox:1.36
    restartPolicy: Always
    command: [sh, -c, "while true; do cat /var/log/app/app.log > /var/log/app/shipped; sleep 5; done"]
    volumeMounts: [{name: logs, mountPath: /var/log/app}]
  containers:
  - name: app
    image: busybox:1.36
    command: [sh, -c, "echo started > /var/log/app/app.log; sleep 3600"]
    volumeMounts: [{name: logs, mountPath: /var/log/app}]
"""


def test_a_native_sidecar_starts_first_keeps_running_and_counts_in_ready(kubectl: Kubectl, namespace: str) -> None:
    kubectl("create", "namespace", namespace)
    _apply(kubectl, namespace, SIDECAR)
    kubectl("wait", "pod/logged", "-n", namespace, "--for=condition=Ready", "--timeout=60s")
    assert _row(kubectl, namespace, "logged") == ["2/2", "Running", "0"]
    shipper = _pod(kubectl, namespace, "logged")["status"]["initContainerStatuses"][0]
    assert (shipper["started"], shipper["ready"], list(shipper["state"])) == (True, True, ["running"])
    # the sidecar goes on beside the app: it sees the file the app wrote into their shared volume
    eventually(lambda: kubectl("exec", "logged", "-n", namespace, "-c", "app", "--", "cat", "/var/log/app/shipped",
                               check=False).stdout == "started\n", "the sidecar shipping the app's log")
