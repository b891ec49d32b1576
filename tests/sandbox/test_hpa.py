"""The HorizontalPodAutoscaler: the replica calculation as replica_calculator.go does it, and
real kubectl watching an HPA explain why it cannot scale, scale a busy Deployment up and back down."""

from __future__ import annotations

import json
import shutil
import textwrap
from typing import Any

import pytest

from labrunner.sandbox.controllers import horizontalpodautoscaler as hpa
from labrunner.sandbox.controllers.horizontalpodautoscaler import MetricError, ScaleEvent, limit_rate, resource_replicas, stabilize
from labrunner.sandbox.printers_autoscaling import format_metrics
from labrunner.sandbox.timescale import TIME_SCALE
from tests.sandboxes import Kubectl, eventually

KUBECTL = shutil.which("kubectl")
needs_kubectl = pytest.mark.skipif(KUBECTL is None, reason="kubectl is not on PATH")
LONG_AGO = "2020-01-01T00:00:00Z"


def _pod(name: str, cpu_request: str | None = "100m", *, phase: str = "Running", ready: str = "True") -> dict[str, Any]:
    resources = {"requests": {"cpu": cpu_request}} if cpu_request else {}
    return {"metadata": {"name": name, "namespace": "n", "uid": name, "labels": {"app": "web"}},
            "spec": {"containers": [{"name": "app", "image": "busybox", "resources": resources}]},
            "status": {"phase": phase, "startTime": LONG_AGO,
                       "conditions": [{"type": "Ready", "status": ready, "lastTransitionTime": LONG_AGO}]}}


class _Server:
    """A metrics server answering fixed CPU usage (millicores) per pod."""

    def __init__(self, usage: dict[str, int]) -> None:
        self.usage = usage

    def pod_metrics(self, pod: dict[str, Any]) -> dict[str, Any] | None:
        name = pod["metadata"]["name"]
        if name not in self.usage:
            return None
        return {"timestamp": "2026-01-01T00:00:00Z", "window": "15s",
                "containers": [{"name": "app", "usage": {"cpu": f"{self.usage[name]}m", "memory": "1Mi"}}]}


def _replicas(pods: list[dict[str, Any]], usage: dict[str, int], current: int, target: int = 50) -> tuple[int, dict[str, Any]]:
    replicas, status, _ = resource_replicas(pods, _Server(usage), current, "cpu", "", {"type": "Utilization", "averageUtilization": target})  # type: ignore[arg-type]
    return replicas, status


def test_utilization_above_target_scales_by_the_ratio() -> None:
    pods = [_pod("a"), _pod("b")]
    assert _replicas(pods, {"a": 100, "b": 100}, 2) == (4, {"averageUtilization": 100, "averageValue": "100m"})
    assert _replicas(pods, {"a": 10, "b": 20}, 2)[0] == 1  # 15 % of 50 %: ceil(0.3 * 2)


def test_within_tolerance_nothing_changes() -> None:
    pods = [_pod("a"), _pod("b")]
    assert _replicas(pods, {"a": 54, "b": 54}, 2)[0] == 2  # 54 % against 50 %: ratio 1.08 <= 1.1


def test_missing_metrics_count_against_the_direction_of_change() -> None:
    pods = [_pod("a"), _pod("b"), _pod("c")]
    # scaling up, the pod without metrics counts as 0 %: (200 + 200 + 0) / 300 = 133 % of 50 %, ceil(2.66 x 3)
    assert _replicas(pods, {"a": 200, "b": 200}, 3)[0] == 8
    # scaling down, it counts as using its whole request: 100 / 300 = 33 %, ceil(0.66 x 3)
    assert _replicas(pods, {"a": 0, "b": 0}, 3)[0] == 2


def test_unready_pods_count_as_idle_on_a_scale_up() -> None:
    pods = [_pod("a"), _pod("b", ready="False")]
    replicas, status = _replicas(pods, {"a": 200, "b": 200}, 2)
    # b's sample is left out (a alone: 200 %), then b counts as 0 %: 100 % of 50 %, ceil(2 x 2)
    assert replicas == 4 and status["averageUtilization"] == 200
    assert _replicas(pods, {"a": 100, "b": 100}, 2)[0] == 2  # 50 % with b at 0 %: within tolerance


def test_missing_requests_are_named() -> None:
    with pytest.raises(MetricError, match="failed to get cpu utilization: missing request for cpu in container app of Pod a"):
        _replicas([_pod("a", None)], {"a": 5}, 1)
    with pytest.raises(MetricError, match="unable to get metrics for resource cpu: no metrics returned from resource metrics API"):
        _replicas([_pod("a")], {}, 1)


def test_stabilization_keeps_the_highest_recent_recommendation_down() -> None:
    recommendations: list[tuple[int, float]] = [(5, 1000.0), (3, 1001.0)]
    held, reason, _ = stabilize(recommendations, 5, 1, 0.0, 300.0, 1002.0)
    assert (held, reason) == (5, "ScaleDownStabilized")
    long_after = 1002.0 + 301 * TIME_SCALE
    assert stabilize(recommendations, 5, 1, 0.0, 300.0, long_after)[0] == 1


def test_policies_limit_the_rate() -> None:
    up = {"selectPolicy": "Max", "policies": [{"type": "Pods", "value": 4, "periodSeconds": 15}, {"type": "Percent", "value": 100, "periodSeconds": 15}]}
    down = {"selectPolicy": "Max", "policies": [{"type": "Pods", "value": 1, "periodSeconds": 60}]}
    assert limit_rate(2, 20, 1, 10, up, down, [], [], 0.0) == (6, "ScaleUpLimit", "the desired replica count is increasing faster than the maximum scale rate")
    assert limit_rate(2, 20, 1, 5, up, down, [], [], 0.0)[:2] == (5, "TooManyReplicas")
    assert limit_rate(5, 1, 1, 10, up, down, [], [], 0.0)[:2] == (4, "ScaleDownLimit")
    # one pod already removed in the period: no more until it passes
    assert limit_rate(4, 1, 1, 10, up, down, [], [ScaleEvent(1, 0.0)], 0.0)[0] == 4


def test_targets_column() -> None:
    spec = [{"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 50}}}]
    assert format_metrics(spec, []) == "cpu: <unknown>/50%"
    assert format_metrics(spec, [{"type": "Resource", "resource": {"name": "cpu", "current": {"averageUtilization": 12}}}]) == "cpu: 12%/50%"
    memory = [{"type": "Resource", "resource": {"name": "memory", "target": {"type": "AverageValue", "averageValue": "200Mi"}}}]
    assert format_metrics(memory, [{"type": ""}]) == "memory: <unknown>/200Mi"


# -- with real kubectl -------------------------------------------------------------------------

BUSY = "while true; do i=0; while [ $i -lt 300 ]; do i=$((i+1)); done; sleep 0.01; done"


def _apply(kubectl: Kubectl, namespace: str, text: str) -> None:
    kubectl("apply", "-n", namespace, "-f", "-", stdin=textwrap.dedent(text))


def _hpa(kubectl: Kubectl, namespace: str, name: str) -> dict[str, Any]:
    return dict(json.loads(kubectl("get", "hpa", name, "-n", namespace, "-o", "json").stdout))


def _condition(obj: dict[str, Any], kind: str) -> dict[str, Any]:
    return next((c for c in (obj.get("status") or {}).get("conditions") or [] if c["type"] == kind), {})


HPA = """
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: NAME}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: NAME}
  minReplicas: 1
  maxReplicas: 3
  metrics:
  - type: Resource
    resource: {name: cpu, target: {type: Utilization, averageUtilization: 50}}
  behavior:
    scaleDown: {stabilizationWindowSeconds: 15}
"""


@needs_kubectl
def test_an_hpa_without_cpu_requests_says_why(kubectl: Kubectl, namespace: str) -> None:
    kubectl("create", "namespace", namespace)
    kubectl("create", "deployment", "web", "-n", namespace, "--image=nginx")
    _apply(kubectl, namespace, HPA.replace("NAME", "web"))
    table = kubectl("get", "hpa", "-n", namespace).stdout.splitlines()
    assert table[0].split() == ["NAME", "REFERENCE", "TARGETS", "MINPODS", "MAXPODS", "REPLICAS", "AGE"]
    assert "cpu: <unknown>/50%" in table[1]

    def explained() -> bool:
        return "missing request for cpu in container nginx of Pod web-" in _condition(_hpa(kubectl, namespace, "web"), "ScalingActive").get("message", "")

    eventually(explained, "the HPA saying the pods request no CPU")
    active = _condition(_hpa(kubectl, namespace, "web"), "ScalingActive")
    assert active["status"] == "False" and active["reason"] == "FailedGetResourceMetric"
    assert active["message"].startswith("the HPA was unable to compute the replica count: failed to get cpu utilization: missing request for cpu")
    events = kubectl("get", "events", "-n", namespace, "--field-selector", "involvedObject.kind=HorizontalPodAutoscaler").stdout
    assert "FailedGetResourceMetric" in events and "FailedComputeMetricsReplicas" in events


@needs_kubectl
def test_an_hpa_scales_a_busy_deployment_up_and_back_down(kubectl: Kubectl, namespace: str) -> None:
    kubectl("create", "namespace", namespace)
    _apply(kubectl, namespace, f"""
        apiVersion: apps/v1
        kind: Deployment
        metadata: {{name: burn}}
        spec:
          replicas: 1
          selector: {{matchLabels: {{app: burn}}}}
          template:
            metadata: {{labels: {{app: burn}}}}
            spec:
              containers:
              - name: burn
                image: busybox
                resources: {{requests: {{cpu: 100m}}}}
                command: [sh, -c, '{BUSY}']
        """)
    _apply(kubectl, namespace, HPA.replace("NAME", "burn"))

    def scaled_to(replicas: int) -> Any:
        return lambda: _hpa(kubectl, namespace, "burn").get("status", {}).get("currentReplicas") == replicas and json.loads(
            kubectl("get", "deployment", "burn", "-n", namespace, "-o", "json").stdout)["spec"]["replicas"] == replicas

    eventually(scaled_to(3), "the HPA scaling the busy Deployment to its maximum")
    status = _hpa(kubectl, namespace, "burn")["status"]
    # Busy, well above an idle pod's few per cent; how far above depends on the CPU the machine
    # gives the simulated loop (49 % was seen on a loaded 2-core machine, ~100 % on an idle one).
    assert status["currentMetrics"][0]["resource"]["current"]["averageUtilization"] > 25
    assert status["lastScaleTime"].endswith("Z")
    events = kubectl("get", "events", "-n", namespace, "--field-selector", "reason=SuccessfulRescale").stdout
    assert "reason: cpu resource utilization (percentage of request) above target" in events
    assert "cpu: " in kubectl("get", "hpa", "burn", "-n", namespace).stdout

    # The load stops: new pods that only sleep; the HPA scales down once its window has passed.
    kubectl("patch", "deployment", "burn", "-n", namespace, "--type=json",
            "-p", '[{"op": "replace", "path": "/spec/template/spec/containers/0/command", "value": ["sleep", "3600"]}]')
    eventually(scaled_to(1), "the HPA scaling the idle Deployment back down")
    events = kubectl("get", "events", "-n", namespace, "--field-selector", "reason=SuccessfulRescale").stdout
    assert "New size: 1; reason: All metrics below target" in events


def test_kubectl_autoscale_creates_an_autoscaling_v1_hpa_read_back_at_both_versions(kubectl: Kubectl, namespace: str) -> None:
    """kubectl 1.32's autoscale writes autoscaling/v1; the API server stores v2 and answers each
    version in its own shape (conversion.py)."""
    kubectl("create", "namespace", namespace)
    kubectl("create", "deployment", "web", "-n", namespace, "--image=nginx:1.27")
    assert "horizontalpodautoscaler.autoscaling/web autoscaled" in kubectl(
        "autoscale", "deployment", "web", "-n", namespace, "--cpu-percent=50", "--min=1", "--max=4").stdout
    v1 = json.loads(kubectl("get", "--raw", f"/apis/autoscaling/v1/namespaces/{namespace}/horizontalpodautoscalers/web").stdout)
    assert v1["apiVersion"] == "autoscaling/v1" and v1["spec"]["targetCPUUtilizationPercentage"] == 50 and "metrics" not in v1["spec"]
    v2 = json.loads(kubectl("get", "hpa", "web", "-n", namespace, "-o", "json").stdout)
    assert v2["apiVersion"] == "autoscaling/v2"
    assert v2["spec"]["metrics"] == [{"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 50}}}]
    kubectl("patch", "hpa", "web", "-n", namespace, "-p", '{"spec":{"maxReplicas":6}}')
    assert json.loads(kubectl("get", "hpa", "web", "-n", namespace, "-o", "json").stdout)["spec"]["maxReplicas"] == 6
