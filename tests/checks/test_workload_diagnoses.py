"""A Deployment whose pods run but never become ready says why: the readiness probe, its field
and value, what the kubelet saw, and the ports the container really declares."""

from __future__ import annotations

from typing import Any

from labrunner.registry.types import CheckContext
from labrunner.topics.basics.workloads import DeploymentReady, deployment_ready
from tests.sandboxes import Kubectl, eventually

WEB = """
apiVersion: apps/v1
kind: Deployment
metadata: {{name: web, namespace: {namespace}}}
spec:
  replicas: 1
  selector: {{matchLabels: {{app: web}}}}
  template:
    metadata: {{labels: {{app: web}}}}
    spec:
      containers:
      - name: nginx
        image: nginx:1.27
        ports: [{{name: http, containerPort: 80}}]
        readinessProbe: {{tcpSocket: {{port: {port}}}, periodSeconds: 1}}
"""


def _check(cluster: Any, namespace: str) -> tuple[str, str]:
    status, message, _ = _outcome(cluster, namespace)
    return status, message


def _outcome(cluster: Any, namespace: str) -> tuple[str, str, list[str]]:
    return deployment_ready(DeploymentReady(kind="deployment-ready", says="web is ready", namespace=namespace, name="web"), CheckContext(cluster))


def test_a_readiness_probe_on_the_wrong_port_is_named_with_the_port_nothing_listens_on(
        kubectl: Kubectl, cluster: Any, namespace: str) -> None:
    kubectl("create", "namespace", namespace)
    kubectl("apply", "-f", "-", stdin=WEB.format(namespace=namespace, port=8080))
    eventually(lambda: _check(cluster, namespace)[0] == "failed", "the check seeing the failing probe")
    _, message, details = _outcome(cluster, namespace)
    assert message.startswith("deployment web has 0/1 ready replica(s): container nginx of pod web-"), message
    assert message.endswith(" fails its readinessProbe (tcpSocket port 8080)"), message
    assert details[0].startswith("it runs, but the kubelet's probe fails: dial tcp ") and details[0].endswith(":8080: connect: connection refused")
    assert details[1] == "the container declares port(s) http=80", details
    kubectl("apply", "-f", "-", stdin=WEB.format(namespace=namespace, port="http"))  # the fix
    eventually(lambda: _check(cluster, namespace)[0] == "passed", "the fixed Deployment becoming ready")
