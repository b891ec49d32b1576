"""metrics.k8s.io and ``kubectl top`` on the sandbox: quantities as apimachinery writes them,
metrics-server's two-point storage, and real kubectl reading plausible figures."""

from __future__ import annotations

import json
import shutil
from typing import Any

import pytest

from labrunner.sandbox import metrics
from labrunner.sandbox.metrics import Point, cpu_quantity, go_duration, keep_previous, memory_quantity, usage
from tests.sandboxes import Kubectl, eventually

KUBECTL = shutil.which("kubectl")
needs_kubectl = pytest.mark.skipif(KUBECTL is None, reason="kubectl is not on PATH")

BUSY = "while true; do i=0; while [ $i -lt 300 ]; do i=$((i+1)); done; sleep 0.01; done"
"""A loop that computes nearly all the time (its short sleep lets the sandbox's sh go on for ever)."""


def test_quantities_are_written_as_metrics_server_writes_them() -> None:
    assert cpu_quantity(0) == "0"
    assert cpu_quantity(1_043_183) == "1043183n"
    assert cpu_quantity(2_000_000) == "2m"
    assert cpu_quantity(1_500_000) == "1500u"
    assert cpu_quantity(3_000_000_000) == "3"
    assert memory_quantity(3720 * 1024) == "3720Ki"
    assert memory_quantity(350 * 1024 * 1024) == "350Mi"
    assert memory_quantity(1500) == "1500"
    assert go_duration(15.012) == "15.012s"
    assert go_duration(0.75) == "750ms"
    assert go_duration(60) == "1m0s"


def test_usage_needs_two_points_of_one_run() -> None:
    first = Point(start=100.0, timestamp=120.0, cpu=2.0, memory=1024)
    second = Point(start=100.0, timestamp=135.0, cpu=5.0, memory=2048)
    assert usage(second, first) == (200_000_000, 15.0)  # 3 CPU-seconds over 15 s: 200m
    # a restart (a later start) keeps no point behind the new one
    restarted = Point(start=130.0, timestamp=150.0, cpu=0.5, memory=1024)
    assert keep_previous(restarted, second, first, resolution=15.0, fresh=10.0) is None
    # a container 10-15 s old gets a first point at its start, as metrics-server gives it
    fresh = Point(start=138.0, timestamp=150.0, cpu=0.3, memory=1024)
    kept = keep_previous(fresh, None, None, resolution=15.0, fresh=10.0)
    assert kept is not None and (kept.timestamp, kept.cpu) == (138.0, 0.0)
    assert keep_previous(Point(145.0, 150.0, 0.1, 0), None, None, 15.0, 10.0) is None


def test_idle_baselines_are_per_image_and_steady() -> None:
    assert metrics.idle("nginx:1.27").millicores == metrics.IDLE["nginx"].millicores
    assert metrics.idle("mysql:8.0").memory_ki > 300 * 1024
    assert metrics.idle("busybox").millicores == 0.0
    assert metrics.idle("nginxinc/nginx-unprivileged") == metrics.IDLE["nginx"]  # its family's figures


def _top(kubectl: Kubectl, *argv: str) -> list[list[str]]:
    result = kubectl("top", *argv, check=False)
    return [line.split() for line in result.stdout.splitlines()] if result.returncode == 0 else []


def _millicores(text: str) -> int:
    assert text.endswith("m"), text
    return int(text[:-1])


@needs_kubectl
def test_kubectl_top_pods_and_nodes(kubectl: Kubectl, namespace: str) -> None:
    kubectl("create", "namespace", namespace)
    kubectl("run", "idle", "-n", namespace, "--image=busybox", "--", "sleep", "3600")
    kubectl("run", "busy", "-n", namespace, "--image=busybox", "--", "sh", "-c", BUSY)
    kubectl("run", "web", "-n", namespace, "--image=nginx")

    rows: list[list[str]] = []

    def measured() -> bool:
        nonlocal rows
        rows = _top(kubectl, "pods", "-n", namespace)
        return len(rows) == 4

    eventually(measured, "metrics for the three pods")
    assert rows[0] == ["NAME", "CPU(cores)", "MEMORY(bytes)"]
    by_pod = {row[0]: row for row in rows[1:]}
    assert _millicores(by_pod["idle"][1]) <= 2, by_pod["idle"]  # sleep uses no CPU

    def busy_measured() -> bool:
        rows = _top(kubectl, "pod", "busy", "-n", namespace)
        return len(rows) == 2 and _millicores(rows[1][1]) >= 100  # a busy loop uses a good part of a core

    eventually(busy_measured, "the busy loop reading as busy")
    assert _millicores(by_pod["web"][1]) <= 5 and by_pod["web"][2].endswith("Mi")

    containers = _top(kubectl, "pods", "-n", namespace, "--containers")
    assert containers[0] == ["POD", "NAME", "CPU(cores)", "MEMORY(bytes)"]
    assert ["web", "web"] in [row[:2] for row in containers[1:]]

    everywhere = _top(kubectl, "pods", "-A")
    assert everywhere[0] == ["NAMESPACE", "NAME", "CPU(cores)", "MEMORY(bytes)"]
    assert any(row[0] == "kube-system" and row[1].startswith("coredns-") for row in everywhere[1:])

    only = _top(kubectl, "pod", "-n", namespace, "-l", "run=idle")
    assert [row[0] for row in only[1:]] == ["idle"]

    nodes: list[list[str]] = []

    def nodes_measured() -> bool:
        nonlocal nodes
        nodes = _top(kubectl, "nodes")
        return len(nodes) == 4

    eventually(nodes_measured, "metrics for the three nodes")
    assert nodes[0] == ["NAME", "CPU(cores)", "CPU(%)", "MEMORY(bytes)", "MEMORY(%)"]
    for row in nodes[1:]:
        assert _millicores(row[1]) > 0 and row[2].endswith("%") and row[3].endswith("Mi")


@needs_kubectl
def test_the_metrics_api_answers_as_metrics_server(kubectl: Kubectl, namespace: str) -> None:
    kubectl("create", "namespace", namespace)
    kubectl("run", "web", "-n", namespace, "--image=nginx")
    missing = kubectl("top", "pod", "nothing", "-n", namespace, check=False)
    assert missing.returncode == 1 and 'pods "nothing" not found' in missing.stderr
    found: dict[str, Any] = {}

    def served() -> bool:
        result = kubectl("get", "--raw", f"/apis/metrics.k8s.io/v1beta1/namespaces/{namespace}/pods/web", check=False)
        if result.returncode:
            assert 'pods.metrics.k8s.io "' + namespace + '/web" not found' in result.stderr
            return False
        found.update(json.loads(result.stdout))
        return True

    eventually(served, "the pod's metrics")
    assert found["kind"] == "PodMetrics" and found["metadata"]["name"] == "web"
    assert found["window"].endswith("s") and found["timestamp"].endswith("Z")
    assert found["containers"][0]["name"] == "web" and found["containers"][0]["usage"]["memory"].endswith("Ki")
    groups = json.loads(kubectl("get", "--raw", "/apis").stdout)
    assert {"name": "metrics.k8s.io", "preferredVersion": {"groupVersion": "metrics.k8s.io/v1beta1", "version": "v1beta1"}}.items() <= next(
        group for group in groups["groups"] if group["name"] == "metrics.k8s.io").items()
    assert "PodMetrics" in kubectl("api-resources", "--api-group=metrics.k8s.io").stdout
    table = kubectl("get", "podmetrics", "-n", namespace).stdout.splitlines()
    assert table[0].split() == ["NAME", "CPU", "MEMORY", "WINDOW"]
    refused = kubectl("get", "--raw", "/apis/metrics.k8s.io/v1beta1/pods?watch=true", check=False)
    assert refused.returncode == 1
