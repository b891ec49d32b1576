"""Learners' typical mistakes, each diagnosed by the check with the object, field and value."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
import yaml

from labrunner.checks.runner import run_step
from labrunner.cluster.kube import KubeCluster, connect
from labrunner.lab.loader import load_lab
from labrunner.sandbox.control import stop
from tests.conftest import REPO
from tests.sandboxes import start_sandbox

ASSETS = REPO / "assets" / "networkpolicies"
LAB = load_lab(REPO / "labs" / "networkpolicies")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KubeCluster]:
    """A cluster of its own: the lab's namespace networkdemo, as the learner has it, with no other test's objects in it."""
    files = start_sandbox(tmp_path_factory.mktemp("mistakes"))
    port = connect(files.kubeconfig)
    port.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "networkdemo"}})
    yield port
    stop(files)


def messages(cluster: KubeCluster, step: str) -> list[tuple[str, str]]:
    return [(result.status, result.message) for result in run_step(LAB.step(step), cluster)]


def apply_all(cluster: KubeCluster, text: str) -> None:
    for document in yaml.safe_load_all(text):
        cluster.apply(document, "networkdemo")


def settle(seconds: float = 2.5) -> None:
    time.sleep(seconds)  # the sandbox's kubelet takes about a second to start containers


def test_a_misspelt_image_names_the_image(cluster: KubeCluster) -> None:
    apply_all(cluster, (ASSETS / "mysqlpod.yaml").read_text().replace("image: mysql:8.4", "image: mysqll:8.4"))
    settle()
    [(status, message)] = messages(cluster, "deploy-mysql")
    assert status == "failed"
    assert "cannot pull image 'mysqll:8.4' (ImagePullBackOff)" in message or "(ErrImagePull)" in message
    apply_all(cluster, (ASSETS / "mysqlpod.yaml").read_text())
    settle()
    assert messages(cluster, "deploy-mysql")[0][0] == "passed"


def test_a_service_whose_selector_matches_nothing(cluster: KubeCluster) -> None:
    cluster.apply({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "mysql"},
                   "spec": {"selector": {"app": "mysq"}, "ports": [{"port": 3306}]}}, "networkdemo")
    [(status, message)] = messages(cluster, "expose-mysql")
    assert (status, message) == ("failed", "service mysql's selector app=mysq matches no pod in networkdemo")
    cluster.delete("services", "mysql", "networkdemo")


def test_a_service_on_the_wrong_port(cluster: KubeCluster) -> None:
    cluster.apply({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "mysql"},
                   "spec": {"selector": {"app": "mysql"}, "ports": [{"port": 3307, "targetPort": 3306}]}}, "networkdemo")
    [(status, message)] = messages(cluster, "expose-mysql")
    assert (status, message) == ("failed", "service mysql does not expose TCP 3306 (it exposes 3307/TCP)")
    cluster.delete("services", "mysql", "networkdemo")


def test_a_different_but_correct_service_from_yaml_passes(cluster: KubeCluster) -> None:
    cluster.apply({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "mysql"},
                   "spec": {"selector": {"app": "mysql"}, "ports": [{"name": "db", "port": 3306, "targetPort": "mysql"}]}}, "networkdemo")
    settle(1.0)
    assert messages(cluster, "expose-mysql")[0][0] == "passed"


def test_or_instead_of_and_and_a_correct_variant(cluster: KubeCluster) -> None:
    cluster.apply(yaml.safe_load((ASSETS / "deny-ingress-db.yaml").read_text()), "networkdemo")
    wrong = yaml.safe_load((ASSETS / "allow-ingress-db.yaml").read_text())
    wrong["spec"]["ingress"][0]["from"] = [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "networkdemo"}}},
                                           {"podSelector": {"matchLabels": {"app": "interpoddemo"}}}]
    cluster.apply(wrong, "networkdemo")
    results: list[Any] = run_step(LAB.step("allow-ingress-db"), cluster)
    meaning = next(r for r in results if r.id.endswith("policy-meaning"))
    assert meaning.status == "failed"
    assert meaning.message == ("allow-ingress-db's ingress rule 1 also allows from every pod in namespaces "
                               "kubernetes.io/metadata.name=networkdemo, which this step does not")
    named_port = yaml.safe_load((ASSETS / "allow-ingress-db.yaml").read_text())
    named_port["spec"]["ingress"][0]["ports"] = [{"protocol": "TCP", "port": "mysql"}]
    cluster.apply(named_port, "networkdemo")
    meaning = next(r for r in run_step(LAB.step("allow-ingress-db"), cluster) if r.id.endswith("policy-meaning"))
    assert meaning.status == "passed", meaning.message
    for name in ("deny-ingress-db", "allow-ingress-db"):
        cluster.delete("networkpolicies", name, "networkdemo")


def test_an_unreachable_cluster_is_an_error_not_a_failure(tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "down"
    path.write_text(yaml.safe_dump({"apiVersion": "v1", "kind": "Config", "current-context": "c",
                                    "clusters": [{"name": "c", "cluster": {"server": "https://127.0.0.1:1"}}],
                                    "users": [{"name": "u", "user": {"token": "t"}}],
                                    "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u"}}]}))
    [result] = run_step(LAB.step("create-namespace"), connect(path))
    assert result.status == "error"
    assert result.message == "The connection to the server 127.0.0.1:1 was refused - did you specify the right host or port?"
