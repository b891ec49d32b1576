"""Near misses on a sandbox: the object a step asks for made under a near name, in another
namespace, or pods labelled nearly as a selector wants. Each mistake is made through the API and
checked through the runner (``run_step``, as the session and the exam run checks); the first
sentence must name the object, where it is and what differs, and the right answer must pass.

One sandbox for the module; each test works in namespaces of its own and deletes what it made
elsewhere (``default``) before it ends."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from labrunner.checks.nearmiss import pods_near_selector
from labrunner.checks.result import CheckResult
from labrunner.checks.runner import run_step
from labrunner.cluster.kube import KubeCluster, connect
from labrunner.lab.loader import load_lab
from labrunner.lab.model import Lab
from labrunner.sandbox.control import stop
from labrunner.sandbox.files import SandboxFiles
from tests.conftest import REPO
from tests.identities import token_kubeconfig
from tests.sandboxes import fresh_name, start_sandbox

MYSQL = (REPO / "assets" / "networkpolicies" / "mysqlpod.yaml").read_text()


@pytest.fixture(scope="module")
def own(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[SandboxFiles, KubeCluster]]:
    files = start_sandbox(tmp_path_factory.mktemp("near-misses"))
    yield files, connect(files.kubeconfig)
    stop(files)


MADE: list[str] = []
"""The namespaces the running test made."""


@pytest.fixture(autouse=True)
def cluster(own: tuple[SandboxFiles, KubeCluster]) -> Iterator[KubeCluster]:
    """The module's cluster; the test's namespaces are gone once it ends (their namesakes would
    be near misses of the next test's objects)."""
    yield own[1]
    for namespace in MADE:
        own[1].delete("namespaces", namespace)
    deadline = time.monotonic() + 20
    while MADE and time.monotonic() < deadline:
        present = {n["metadata"]["name"] for n in own[1].list("namespaces")}
        MADE[:] = [n for n in MADE if n in present]
        time.sleep(0.1)
    assert not MADE, f"namespaces left: {MADE}"


# -- helpers -------------------------------------------------------------------------------------


def namespace(cluster: KubeCluster, name: str) -> str:
    cluster.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
    MADE.append(name)
    return name


def lab(name: str, cluster: KubeCluster, **parameters: str) -> tuple[Lab, str]:
    """The lab with a namespace of the test's own, created."""
    namespace_ = namespace(cluster, fresh_name(name[:4]))
    return load_lab(REPO / "labs" / name, {"namespace": namespace_, **parameters}), namespace_


def apply(cluster: KubeCluster, text: str, namespace: str) -> None:
    for document in yaml.safe_load_all(text):
        if document:
            cluster.apply(document, namespace)


def check(lab: Lab, cluster: KubeCluster, step: str, kind: str | None = None) -> CheckResult:
    results = [r for r in run_step(lab.step(step), cluster) if kind is None or r.id.split(".")[-1].startswith(kind)]
    assert len(results) == 1, results
    return results[0]


def settles(lab: Lab, cluster: KubeCluster, step: str, kind: str | None = None, *, until: Callable[[CheckResult], bool],
            seconds: float = 20) -> CheckResult:
    """The check once ``until`` holds (pods start, endpoints follow), or the last result when it never does."""
    deadline = time.monotonic() + seconds
    while True:
        result = check(lab, cluster, step, kind)
        if until(result) or time.monotonic() > deadline:
            return result
        time.sleep(0.3)


def passes(lab: Lab, cluster: KubeCluster, step: str, kind: str | None = None) -> None:
    result = settles(lab, cluster, step, kind, until=lambda r: r.status == "passed")
    assert result.status == "passed", (result.message, result.details)


def deployment(name: str, labels: dict[str, str], *, replicas: int = 1, image: str = "nginx:1.26", **container: Any) -> dict[str, Any]:
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "labels": labels},
            "spec": {"replicas": replicas, "selector": {"matchLabels": labels},
                     "template": {"metadata": {"labels": labels},
                                  "spec": {"containers": [{"name": "nginx", "image": image, **container}]}}}}


def service(name: str, selector: dict[str, str], port: int) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name}, "spec": {"selector": selector, "ports": [{"port": port}]}}


def claim(name: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": name},
            "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}


def configmap(name: str, **data: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": data}


def secret(name: str, **data: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name}, "stringData": data}


# -- an object in another namespace --------------------------------------------------------------


def test_a_deployment_applied_without_n_is_found_in_default(cluster: KubeCluster) -> None:
    policies, ns = lab("networkpolicies", cluster)
    apply(cluster, MYSQL, "default")
    try:
        result = check(policies, cluster, "deploy-mysql")
        assert result.status == "failed"
        assert result.message == f"deployment mysql is not in {ns}: there is a Deployment mysql in default (applied without -n {ns}?)"
        assert result.details[0].startswith("deployment mysql") and "default" not in result.details[0]  # the check's own, below
    finally:
        cluster.delete("deployments", "mysql", "default")
        cluster.delete("secrets", "mysql-root", "default")
    apply(cluster, MYSQL, ns)
    passes(policies, cluster, "deploy-mysql")


def test_a_claim_in_the_wrong_namespace(cluster: KubeCluster) -> None:
    storage, ns = lab("storage", cluster)
    cluster.apply(claim("notes"), "default")
    try:
        result = check(storage, cluster, "claim-waits")
        assert (result.status, result.message) == (
            "failed", f"PersistentVolumeClaim notes is not in {ns}: there is a PersistentVolumeClaim notes in default (applied without -n {ns}?)")
    finally:
        cluster.delete("persistentvolumeclaims", "notes", "default")
    cluster.apply(claim("notes"), ns)
    passes(storage, cluster, "claim-waits")


# -- a near name ----------------------------------------------------------------------------------


@pytest.mark.parametrize("made", ["mysql-svc", "mysq1"])
def test_a_service_under_a_near_name(cluster: KubeCluster, made: str) -> None:
    policies, ns = lab("networkpolicies", cluster)
    apply(cluster, MYSQL, ns)
    cluster.apply(service(made, {"app": "mysql"}, 3306), ns)
    result = check(policies, cluster, "expose-mysql")
    assert result.status == "failed"
    assert result.message == f"service mysql does not exist in {ns}; there is a Service {made} there (the step asks for the name mysql)"
    assert len(result.message.split("; ")[0]) < 160
    cluster.apply(service("mysql", {"app": "mysql"}, 3306), ns)
    passes(policies, cluster, "expose-mysql")


def test_a_configmap_under_a_shortened_name(cluster: KubeCluster) -> None:
    workloads, ns = lab("workloads", cluster)
    cluster.apply(configmap("web-conf", COLOR="blue"), ns)
    cluster.apply(deployment("web", {"app": "web"}, envFrom=[{"configMapRef": {"name": "web-conf"}}]), ns)
    result = check(workloads, cluster, "configmap", "config-consumed-1")
    assert result.status == "failed"
    assert result.message == f"configmap web-config does not exist in {ns}; there is a ConfigMap web-conf there (the step asks for the name web-config)"
    assert result.details[0] == f"configmap web-config does not exist in {ns}"
    cluster.apply(configmap("web-config", COLOR="blue"), ns)
    cluster.apply(deployment("web", {"app": "web"}, envFrom=[{"configMapRef": {"name": "web-config"}}]), ns)
    passes(workloads, cluster, "configmap", "config-consumed-1")


def test_a_misspelt_secret(cluster: KubeCluster) -> None:
    workloads, ns = lab("workloads", cluster)
    cluster.apply(secret("web-secrets", API_TOKEN="s3cret"), ns)
    result = check(workloads, cluster, "secret", "config-consumed-1")
    assert (result.status, result.message) == (
        "failed", f"secret web-secret does not exist in {ns}; there is a Secret web-secrets there (the step asks for the name web-secret)")
    cluster.apply(secret("web-secret", API_TOKEN="s3cret"), ns)
    cluster.apply(deployment("web", {"app": "web"}, envFrom=[{"secretRef": {"name": "web-secret"}}]), ns)
    passes(workloads, cluster, "secret", "config-consumed-1")


def test_a_misspelt_namespace(cluster: KubeCluster) -> None:
    asked = fresh_name("alice") + "-np"
    typo = asked[:-2] + "pn"  # (not a trailing number: two that differ only there are siblings, web-1 and web-2)
    policies = load_lab(REPO / "labs" / "networkpolicies", {"namespace": asked})
    namespace(cluster, typo)
    result = check(policies, cluster, "create-namespace")
    assert (result.status, result.message) == (
        "failed", f"namespace {asked} does not exist; there is a Namespace {typo} (the step asks for the name {asked})")
    namespace(cluster, asked)
    passes(policies, cluster, "create-namespace")


def test_a_decorated_deployment_name_through_a_derived_expectation(cluster: KubeCluster) -> None:
    workloads, ns = lab("workloads", cluster)
    cluster.apply(deployment("web-deployment", {"app": "web"}, replicas=2), ns)
    result = check(workloads, cluster, "deploy-web")
    assert result.status == "failed"
    assert result.message == (f"deployment web does not exist in {ns}; there is a Deployment web-deployment there "
                               "(the step asks for the name web)")
    assert result.details[0].startswith("deployment web ")  # the check's own sentence, kept
    cluster.delete("deployments", "web-deployment", ns)
    cluster.apply(deployment("web", {"app": "web"}, replicas=2), ns)
    passes(workloads, cluster, "deploy-web")


# -- what is no near miss ------------------------------------------------------------------------


def test_the_same_name_as_another_kind_does_not_count(cluster: KubeCluster) -> None:
    workloads, ns = lab("workloads", cluster)
    cluster.apply(configmap("web", index="hello"), ns)
    cluster.apply(service("web", {"app": "web"}, 80), ns)
    result = check(workloads, cluster, "deploy-web")
    assert result.status == "failed" and "there is" not in result.message and "applied without" not in result.message, result.message
    cluster.apply(deployment("web", {"app": "web"}, replicas=2), ns)
    passes(workloads, cluster, "deploy-web")


def test_an_object_where_asked_is_never_a_near_miss(cluster: KubeCluster) -> None:
    policies, ns = lab("networkpolicies", cluster)
    apply(cluster, MYSQL.replace("image: mysql:8.4", "image: mysqll:8.4"), ns)  # wrong for its own reason
    apply(cluster, MYSQL, "default")  # and a namesake elsewhere
    try:
        result = settles(policies, cluster, "deploy-mysql", until=lambda r: "mysqll" in r.message)
        assert result.status == "failed" and "mysqll:8.4" in result.message and "default" not in result.message, result.message
    finally:
        cluster.delete("deployments", "mysql", "default")
        cluster.delete("secrets", "mysql-root", "default")
    apply(cluster, MYSQL, ns)
    passes(policies, cluster, "deploy-mysql")


def test_a_forbidden_list_gives_no_near_miss_and_no_traceback(own: tuple[SandboxFiles, KubeCluster], tmp_path: Path,
                                                              caplog: pytest.LogCaptureFixture) -> None:
    files, cluster = own
    policies, ns = lab("networkpolicies", cluster)
    cluster.apply({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "learner"}}, ns)
    cluster.apply({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": {"name": "work"},
                   "rules": [{"apiGroups": ["", "apps"], "resources": ["*"], "verbs": ["get", "list", "watch"]}]}, ns)
    cluster.apply({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding", "metadata": {"name": "work"},
                   "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "work"},
                   "subjects": [{"kind": "ServiceAccount", "name": "learner", "namespace": ns}]}, ns)
    learner = connect(token_kubeconfig(files, tmp_path / "learner", cluster.create_token("learner", ns, seconds=600)[0]))
    apply(cluster, MYSQL, "default")  # where only an admin could see it
    try:
        with caplog.at_level(logging.WARNING, logger="labrunner"):
            result = check(policies, learner, "deploy-mysql")
        assert result.status == "failed" and "default" not in result.message and "there is" not in result.message, result.message
        assert not [r for r in caplog.records if r.exc_info], [r.getMessage() for r in caplog.records]
        assert "is not in" in check(policies, cluster, "deploy-mysql").message  # an admin is told
    finally:
        cluster.delete("deployments", "mysql", "default")
        cluster.delete("secrets", "mysql-root", "default")


# -- pods near a selector ------------------------------------------------------------------------


def test_pods_labelled_near_a_services_selector(cluster: KubeCluster) -> None:
    _, ns = lab("networkpolicies", cluster)
    apply(cluster, MYSQL.replace("app: mysql", "app: mysqldb"), ns)
    pods: list[str] = []
    deadline = time.monotonic() + 20
    while not pods and time.monotonic() < deadline:
        pods = [p["metadata"]["name"] for p in cluster.list("pods", ns)]
        time.sleep(0.2)
    said = pods_near_selector(cluster, ns, {"app": "mysql"})
    assert said == f"no pod in {ns} carries app=mysql; 1 pod carries app=mysqldb ({pods[0]})"
    assert "pod-template-hash" not in said
    other = namespace(cluster, fresh_name("else"))
    assert pods_near_selector(cluster, other, {"app": "mysqldb"}) == f"no pod in {other} carries app=mysqldb; 1 pod in {ns} does ({pods[0]})"
    assert pods_near_selector(cluster, ns, {"app": "mysqldb"}) is None  # they match
