"""Readiness probes run against what the simulated containers do (issue 13 item 6): a probe on a
port nothing listens on fails in the kubelet's words and keeps the pod out of its Service, a
right one passes, and an exec probe reads the container's own files."""

from __future__ import annotations

import json

from tests.sandboxes import Kubectl, eventually

WEB = """
apiVersion: apps/v1
kind: Deployment
metadata: {{name: {name}, namespace: {namespace}}}
spec:
  selector: {{matchLabels: {{app: {name}}}}}
  template:
    metadata: {{labels: {{app: {name}}}}}
    spec:
      containers:
      - name: nginx
        image: nginx:1.27
        ports: [{{name: web, containerPort: {declared}}}]
        readinessProbe: {probe}
"""


def _conditions(kubectl: Kubectl, namespace: str, selector: str) -> list[dict]:
    pods = json.loads(kubectl("get", "pods", "-n", namespace, "-l", selector, "-o", "json").stdout)["items"]
    return [pod for pod in pods if (pod.get("status") or {}).get("phase") == "Running"]


def _unhealthy(kubectl: Kubectl, namespace: str) -> list[str]:
    events = kubectl("get", "events", "-n", namespace, "--field-selector", "reason=Unhealthy", "-o", "json").stdout
    return [item["message"] for item in json.loads(events)["items"]]


def _ready(pod: dict) -> bool:
    return any(c["type"] == "Ready" and c["status"] == "True" for c in pod["status"].get("conditions") or [])


def test_a_readiness_probe_on_the_wrong_port_fails_and_the_service_has_no_endpoint(kubectl: Kubectl, namespace: str) -> None:
    kubectl("create", "namespace", namespace)
    # nginx listens on 80; declaring 8080 does not make it listen there
    kubectl("apply", "-f", "-", stdin=WEB.format(name="wrong", namespace=namespace, declared=8080,
                                                  probe="{tcpSocket: {port: web}, periodSeconds: 1}"))
    kubectl("apply", "-f", "-", stdin=WEB.format(name="right", namespace=namespace, declared=80,
                                                  probe="{httpGet: {path: /, port: web}, periodSeconds: 1}"))
    kubectl("expose", "deployment", "wrong", "--port=80", "--target-port=web", "-n", namespace)
    kubectl("rollout", "status", "deployment/right", "-n", namespace, "--timeout=60s")
    eventually(lambda: bool(_unhealthy(kubectl, namespace)), "an Unhealthy event")
    messages = _unhealthy(kubectl, namespace)
    pod = _conditions(kubectl, namespace, "app=wrong")[0]
    assert messages[0] == f"Readiness probe failed: dial tcp {pod['status']['podIP']}:8080: connect: connection refused"
    assert not _ready(pod) and pod["status"]["containerStatuses"][0]["ready"] is False
    assert all(_ready(p) for p in _conditions(kubectl, namespace, "app=right"))
    slices = json.loads(kubectl("get", "endpointslices", "-n", namespace, "-l", "kubernetes.io/service-name=wrong", "-o", "json").stdout)
    endpoints = [e for s in slices["items"] for e in s.get("endpoints") or []]
    assert endpoints and not any((e.get("conditions") or {}).get("ready") for e in endpoints)
    described = kubectl("describe", "pod", "-n", namespace, pod["metadata"]["name"]).stdout
    assert "Readiness probe failed: dial tcp" in described


def test_an_exec_probe_reads_the_containers_own_files(kubectl: Kubectl, namespace: str) -> None:
    kubectl("create", "namespace", namespace)
    kubectl("run", "waiter", "-n", namespace, "--image=busybox", "--overrides", json.dumps({"spec": {"containers": [{
        "name": "waiter", "image": "busybox", "command": ["sleep", "3600"],
        "readinessProbe": {"exec": {"command": ["cat", "/tmp/ready"]}, "periodSeconds": 1}}]}}))
    eventually(lambda: bool(_unhealthy(kubectl, namespace)), "the exec probe failing")  # a probe ran, and failed
    assert "Readiness probe failed: cat: /tmp/ready: No such file or directory" in _unhealthy(kubectl, namespace)
    assert not _ready(_conditions(kubectl, namespace, "run=waiter")[0])
    kubectl("exec", "-n", namespace, "waiter", "--", "sh", "-c", "echo ok > /tmp/ready")
    kubectl("wait", "-n", namespace, "--for=condition=Ready", "pod/waiter", "--timeout=30s")


def test_a_failing_liveness_probe_restarts_the_container(kubectl: Kubectl, namespace: str) -> None:
    kubectl("create", "namespace", namespace)
    kubectl("apply", "-f", "-", stdin=WEB.format(name="sick", namespace=namespace, declared=80,
                                                  probe="{tcpSocket: {port: web}}").replace(
        "        readinessProbe:", "        livenessProbe: {httpGet: {path: /healthz, port: 80}, periodSeconds: 2, failureThreshold: 2}\n        readinessProbe:"))
    def restarted() -> dict:
        pods = _conditions(kubectl, namespace, "app=sick")
        status: dict = pods[0]["status"]["containerStatuses"][0] if pods else {}
        return status if int(status.get("restartCount") or 0) >= 1 else {}

    eventually(lambda: bool(restarted()), "a restart of the container whose liveness probe fails")
    assert restarted()["lastState"]["terminated"]["exitCode"] == 137
    events = json.loads(kubectl("get", "events", "-n", namespace, "-o", "json").stdout)["items"]
    messages = {(e["reason"], e["message"]) for e in events}
    assert ("Unhealthy", "Liveness probe failed: HTTP probe failed with statuscode: 404") in messages
    assert ("Killing", "Container nginx failed liveness probe, will be restarted") in messages


def _events(kubectl: Kubectl, namespace: str) -> list[dict]:
    items: list[dict] = json.loads(kubectl("get", "events", "-n", namespace, "-o", "json").stdout)["items"]
    return items


def _first_status(kubectl: Kubectl, namespace: str, selector: str) -> dict:
    pods = _conditions(kubectl, namespace, selector)
    status: dict = pods[0]["status"]["containerStatuses"][0] if pods else {}
    return status


def test_a_startup_probe_that_never_passes_restarts_the_container_and_holds_the_other_probes(kubectl: Kubectl, namespace: str) -> None:
    kubectl("create", "namespace", namespace)
    # nginx never listens on 8080: its startup probe fails twice and the kubelet restarts it;
    # until a startup probe succeeds the liveness and readiness probes do not run at all
    kubectl("apply", "-f", "-", stdin=WEB.format(name="slow", namespace=namespace, declared=8080,
                                                  probe="{tcpSocket: {port: 8080}, periodSeconds: 1}").replace(
        "        readinessProbe:", "        startupProbe: {tcpSocket: {port: 8080}, periodSeconds: 1, failureThreshold: 2}\n"
                                   "        livenessProbe: {tcpSocket: {port: 8080}, periodSeconds: 1}\n        readinessProbe:"))
    eventually(lambda: int(_first_status(kubectl, namespace, "app=slow").get("restartCount") or 0) >= 1, "a restart after the startup probe failed")
    pod = _conditions(kubectl, namespace, "app=slow")[0]
    messages = {(e["reason"], e["message"]) for e in _events(kubectl, namespace)}
    assert ("Unhealthy", f"Startup probe failed: dial tcp {pod['status']['podIP']}:8080: connect: connection refused") in messages
    assert ("Killing", "Container nginx failed startup probe, will be restarted") in messages
    assert not [m for r, m in messages if m.startswith(("Liveness probe failed", "Readiness probe failed"))]
    status = pod["status"]["containerStatuses"][0]
    assert status["started"] is False and status["ready"] is False
    assert "Startup probe failed" in kubectl("describe", "pod", "-n", namespace, pod["metadata"]["name"]).stdout


def test_a_startup_probe_that_passes_lets_the_readiness_probe_run(kubectl: Kubectl, namespace: str) -> None:
    kubectl("create", "namespace", namespace)
    kubectl("apply", "-f", "-", stdin=WEB.format(name="started", namespace=namespace, declared=80,
                                                  probe="{httpGet: {path: /, port: web}, periodSeconds: 1}").replace(
        "        readinessProbe:", "        startupProbe: {httpGet: {path: /, port: 80}, periodSeconds: 1}\n        readinessProbe:"))
    kubectl("rollout", "status", "deployment/started", "-n", namespace, "--timeout=60s")
    status = _first_status(kubectl, namespace, "app=started")
    assert status["started"] is True and status["ready"] is True and status["restartCount"] == 0


def test_readiness_flips_only_after_failure_threshold_failures_in_a_row(kubectl: Kubectl, namespace: str) -> None:
    kubectl("create", "namespace", namespace)
    kubectl("run", "flips", "-n", namespace, "--image=busybox", "--overrides", json.dumps({"spec": {"containers": [{
        "name": "flips", "image": "busybox", "command": ["sh", "-c", "echo ok > /tmp/ready; sleep 3600"],
        "readinessProbe": {"exec": {"command": ["grep", "ok", "/tmp/ready"]}, "periodSeconds": 20, "failureThreshold": 3}}]}}))
    kubectl("wait", "-n", namespace, "--for=condition=Ready", "pod/flips", "--timeout=60s")
    kubectl("exec", "-n", namespace, "flips", "--", "sh", "-c", "echo down > /tmp/ready")

    def failures() -> int:
        return sum(int(e.get("count") or 1) for e in _events(kubectl, namespace)
                   if e["reason"] == "Unhealthy" and e["message"].startswith("Readiness probe failed"))

    eventually(lambda: not _ready(_conditions(kubectl, namespace, "run=flips")[0]), "the pod becoming unready")
    # when it is first seen unready, the kubelet has counted three failed probes in a row (one
    # event, its count going up, as a kubelet's repeated events are aggregated)
    assert failures() >= 3
    assert len([e for e in _events(kubectl, namespace) if e["reason"] == "Unhealthy"]) == 1
    assert "Readiness probe failed:" in kubectl("describe", "pod", "-n", namespace, "flips").stdout
