"""The state behind a probe: when a page does not load, the Service its URL names is asked why
before anything else, and the first sentence says it (a Service that does not exist, a selector
that matches no pod, pods none of which is ready, a targetPort they do not listen on)."""

from __future__ import annotations

from typing import Any

import pytest

from labrunner.cluster.kube import KubeCluster
from labrunner.registry import registry
from labrunner.registry.types import CheckContext
from tests.sandboxes import Kubectl, eventually

WEB = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: nginx
        image: nginx:1.27
        ports: [{containerPort: 80}]
"""


def service(selector: str = "web", target: int = 80) -> str:
    return f"""\
apiVersion: v1
kind: Service
metadata: {{name: web}}
spec:
  selector: {{app: {selector}}}
  ports: [{{port: 80, targetPort: {target}}}]
"""


def probe(cluster: KubeCluster, namespace: str) -> tuple[str, str, list[str]]:
    kinds = registry()
    kind = kinds.kind("probe-http")
    assert kind is not None
    arguments: Any = kind.model(kind="probe-http", namespace=namespace, from_labels={"run": "client"}, url="http://web/",
                                expect="reachable", says="a client loads the page")
    status, message, details = kind.run(arguments, CheckContext(cluster))
    return status, message, list(details)


@pytest.fixture
def web(kubectl: Kubectl, namespace: str) -> str:
    kubectl("create", "namespace", namespace)
    kubectl("apply", "-n", namespace, "-f", "-", stdin=WEB)
    kubectl("rollout", "status", "deployment/web", "-n", namespace, "--timeout=60s")
    return namespace


def test_no_service_behind_the_name(cluster: KubeCluster, web: str) -> None:
    status, message, _ = probe(cluster, web)
    assert status == "failed"
    assert message == f"from a pod labelled run=client, http://web/ got bad address 'web', because service web does not exist in {web}"


def test_a_selector_that_matches_no_pod(cluster: KubeCluster, kubectl: Kubectl, web: str) -> None:
    kubectl("apply", "-n", web, "-f", "-", stdin=service(selector="wbe"))
    status, message, details = probe(cluster, web)
    assert status == "failed"
    assert message.startswith("from a pod labelled run=client, http://web/ ")
    assert message.endswith(f", because service web's selector app=wbe matches no pod in {web}; expected: reachable")
    assert any("app=web" in line for line in details)  # the pods that nearly match


def test_a_target_port_the_pods_do_not_listen_on(cluster: KubeCluster, kubectl: Kubectl, web: str) -> None:
    kubectl("apply", "-n", web, "-f", "-", stdin=service(target=8080))
    status, message, details = probe(cluster, web)
    assert status == "failed"
    assert message.endswith(", because service web's targetPort 8080 is no port of its pods; expected: reachable")
    assert "service web sends port 80 to targetPort 8080, but its pods listen on 80/TCP" in details


def test_the_service_as_it_should_be_loads(cluster: KubeCluster, kubectl: Kubectl, web: str) -> None:
    kubectl("apply", "-n", web, "-f", "-", stdin=service())
    eventually(lambda: probe(cluster, web)[0] == "passed", "the page loading through the Service")
