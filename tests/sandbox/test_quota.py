"""ResourceQuota and LimitRange through real kubectl: what a learner sees when a namespace has
them (the API server's 403 and 422 words, `kubectl describe quota`, a ReplicaSet's FailedCreate
and the Deployment's ReplicaFailure)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.sandboxes import KUBECTL, Kubectl, eventually

pytestmark = [pytest.mark.kubectl, pytest.mark.skipif(KUBECTL is None, reason="needs the kubectl binary on PATH")]


def run(kubectl: Kubectl, namespace: str, name: str, requests: dict[str, str] | None = None,
        limits: dict[str, str] | None = None, check: bool = True) -> Any:
    resources: dict[str, Any] = {}
    if requests:
        resources["requests"] = requests
    if limits:
        resources["limits"] = limits
    overrides = {"spec": {"containers": [{"name": name, "image": "nginx:1.27", "resources": resources}]}}
    return kubectl("run", name, "--image=nginx:1.27", "-n", namespace, f"--overrides={json.dumps(overrides)}", check=check)


def used(kubectl: Kubectl, namespace: str, name: str) -> dict[str, str]:
    found = json.loads(kubectl("get", "quota", name, "-n", namespace, "-o", "json").stdout)
    return dict((found.get("status") or {}).get("used") or {})


def test_a_quota_counts_what_the_namespace_uses_and_refuses_what_would_exceed_it(kubectl: Kubectl, namespace: str) -> None:
    kubectl("create", "namespace", namespace)
    kubectl("create", "quota", "compute", "--hard=pods=2,requests.cpu=1,limits.memory=1Gi,configmaps=5", "-n", namespace)
    eventually(lambda: used(kubectl, namespace, "compute").get("pods") == "0", "the quota controller filling Used")
    assert used(kubectl, namespace, "compute")["configmaps"] == "1"  # kube-root-ca.crt counts, as on any cluster
    missing = run(kubectl, namespace, "bare", check=False)
    assert missing.returncode == 1
    assert missing.stderr.strip() == (f'Error from server (Forbidden): pods "bare" is forbidden: failed quota: compute: '
                                      "must specify limits.memory,requests.cpu")
    run(kubectl, namespace, "one", requests={"cpu": "600m"}, limits={"memory": "512Mi"})
    over = run(kubectl, namespace, "two", requests={"cpu": "600m"}, limits={"memory": "256Mi"}, check=False)
    assert over.stderr.strip() == (f'Error from server (Forbidden): pods "two" is forbidden: exceeded quota: compute, '
                                   "requested: requests.cpu=600m, used: requests.cpu=600m, limited: requests.cpu=1")
    run(kubectl, namespace, "three", requests={"cpu": "400m"}, limits={"memory": "512Mi"})
    eventually(lambda: used(kubectl, namespace, "compute") == {"pods": "2", "requests.cpu": "1", "limits.memory": "1Gi",
                                                               "configmaps": "1"}, "the quota summing both pods")
    table = kubectl("get", "quota", "compute", "-n", namespace).stdout.splitlines()
    assert table[0].split() == ["NAME", "AGE", "REQUEST", "LIMIT"]
    assert "configmaps: 1/5, pods: 2/2, requests.cpu: 1/1" in table[1] and table[1].endswith("limits.memory: 1Gi/1Gi")
    described = kubectl("describe", "quota", "compute", "-n", namespace).stdout
    assert any(line.split() == ["requests.cpu", "1", "1"] for line in described.splitlines()), described
    kubectl("delete", "pod", "three", "-n", namespace, "--wait=false")
    eventually(lambda: used(kubectl, namespace, "compute")["requests.cpu"] == "600m", "the deleted pod's share given back")


def test_a_replicaset_refused_by_the_quota_says_so_in_events_and_conditions(kubectl: Kubectl, namespace: str) -> None:
    kubectl("create", "namespace", namespace)
    kubectl("create", "quota", "two-pods", "--hard=pods=2", "-n", namespace)
    eventually(lambda: used(kubectl, namespace, "two-pods").get("pods") == "0", "the quota controller filling Used")
    kubectl("create", "deployment", "web", "--image=nginx:1.27", "--replicas=3", "-n", namespace)

    def refused() -> list[str]:
        events = kubectl("get", "events", "-n", namespace, "--field-selector", "reason=FailedCreate", "-o",
                         "jsonpath={range .items[*]}{.message}{'\\n'}{end}").stdout
        return [line for line in events.splitlines() if line]

    eventually(lambda: bool(refused()), "a FailedCreate event")
    assert refused()[0].startswith("Error creating: pods \"web-")
    assert refused()[0].endswith("is forbidden: exceeded quota: two-pods, requested: pods=1, used: pods=2, limited: pods=2")
    assert kubectl("get", "pods", "-n", namespace, "-o", "name").stdout.count("pod/") == 2

    def condition() -> dict[str, Any]:
        found = json.loads(kubectl("get", "deployment", "web", "-n", namespace, "-o", "json").stdout)
        return next((c for c in found["status"].get("conditions") or () if c["type"] == "ReplicaFailure"), {})

    eventually(lambda: condition().get("reason") == "FailedCreate", "the Deployment's ReplicaFailure condition")
    assert "exceeded quota: two-pods" in condition()["message"]
    kubectl("scale", "deployment", "web", "--replicas=2", "-n", namespace)
    eventually(lambda: not condition(), "ReplicaFailure gone once nothing fails")


def test_a_limit_range_defaults_limits_and_refuses_what_is_outside_it(kubectl: Kubectl, namespace: str) -> None:
    kubectl("create", "namespace", namespace)
    kubectl("apply", "-n", namespace, "-f", "-", stdin=json.dumps({
        "apiVersion": "v1", "kind": "LimitRange", "metadata": {"name": "cpu"},
        "spec": {"limits": [{"type": "Container", "max": {"cpu": "800m"}, "min": {"cpu": "100m"},
                             "defaultRequest": {"cpu": "200m"}}]}}))
    stored = json.loads(kubectl("get", "limitrange", "cpu", "-n", namespace, "-o", "json").stdout)["spec"]["limits"][0]
    assert stored["default"] == {"cpu": "800m"} and stored["defaultRequest"] == {"cpu": "200m"}
    run(kubectl, namespace, "plain")
    pod = json.loads(kubectl("get", "pod", "plain", "-n", namespace, "-o", "json").stdout)
    assert pod["spec"]["containers"][0]["resources"] == {"limits": {"cpu": "800m"}, "requests": {"cpu": "200m"}}
    assert pod["metadata"]["annotations"]["kubernetes.io/limit-ranger"] == (
        "LimitRanger plugin set: cpu request for container plain; cpu limit for container plain")
    big = run(kubectl, namespace, "big", limits={"cpu": "2"}, check=False)
    assert big.stderr.strip() == 'Error from server (Forbidden): pods "big" is forbidden: maximum cpu usage per Container is 800m, but limit is 2'
    # A limit without a request: the request is the limit (SetDefaults_Pod), before the LimitRange's default.
    run(kubectl, namespace, "capped", limits={"cpu": "300m"})
    capped = json.loads(kubectl("get", "pod", "capped", "-n", namespace, "-o", "json").stdout)
    assert capped["spec"]["containers"][0]["resources"]["requests"] == {"cpu": "300m"}
    upside_down = run(kubectl, namespace, "upside-down", requests={"cpu": "500m"}, limits={"cpu": "200m"}, check=False)
    assert upside_down.stderr.strip() == ('The Pod "upside-down" is invalid: spec.containers[0].resources.requests: Invalid value: '
                                          '"500m": must be less than or equal to cpu limit of 200m')
    broken = kubectl("apply", "-n", namespace, "-f", "-", check=False, stdin=json.dumps({
        "apiVersion": "v1", "kind": "LimitRange", "metadata": {"name": "broken"},
        "spec": {"limits": [{"type": "Container", "min": {"memory": "1Gi"}, "max": {"memory": "512Mi"}}]}}))
    assert 'spec.limits[0].min[memory]: Invalid value: "1Gi": min value 1Gi is greater than max value 512Mi' in broken.stderr


def test_a_workload_whose_template_requests_more_than_its_limit_is_refused(kubectl: Kubectl, namespace: str) -> None:
    kubectl("create", "namespace", namespace)
    kubectl("create", "deployment", "web", "--image=nginx:1.27", "-n", namespace)
    refused = kubectl("set", "resources", "deployment/web", "-n", namespace, "--requests=cpu=1", "--limits=cpu=500m", check=False)
    assert refused.returncode == 1
    assert ('Deployment.apps "web" is invalid: spec.template.spec.containers[0].resources.requests: Invalid value: "1": '
            "must be less than or equal to cpu limit of 500m") in refused.stderr
    job = kubectl("create", "cronjob", "nightly", "--image=busybox:1.36", "--schedule=0 1 * * *", "-n", namespace, "--dry-run=client",
                  "-o", "json")
    manifest = json.loads(job.stdout)
    manifest["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]["resources"] = {
        "requests": {"memory": "1Gi"}, "limits": {"memory": "512Mi"}}
    cron = kubectl("apply", "-n", namespace, "-f", "-", stdin=json.dumps(manifest), check=False)
    assert ("spec.jobTemplate.spec.template.spec.containers[0].resources.requests: Invalid value: \"1Gi\": must be less than or "
            "equal to memory limit of 512Mi") in cron.stderr
