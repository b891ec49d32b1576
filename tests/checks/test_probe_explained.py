"""A probe that does not get the answer a step expects says why, in the engine's words:
the policy and rule that deny (or allow) the connection."""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterator

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
NS = "networkdemo"


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KubeCluster]:
    """A cluster of its own: it installs Calico, which changes every namespace's traffic."""
    files = start_sandbox(tmp_path_factory.mktemp("probes"))
    port = connect(files.kubeconfig)
    port.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}})
    for name in ("calico-sandbox.yaml", "mysqlpod.yaml", "app.yaml"):
        for document in yaml.safe_load_all((ASSETS / name).read_text()):
            port.apply(document, NS)
    for name, number in (("interpoddemo", 80), ("mysql", 3306)):
        port.apply({"apiVersion": "v1", "kind": "Service", "metadata": {"name": name},
                    "spec": {"selector": {"app": name}, "ports": [{"port": number}]}}, NS)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not all(
            (d.get("status") or {}).get("readyReplicas") == d["spec"]["replicas"] for d in port.list("deployments", NS)):
        time.sleep(0.3)
    yield port
    stop(files)


def probe(cluster: KubeCluster, step: str) -> tuple[str, str, list[str]]:
    [result] = [r for r in run_step(LAB.step(step), cluster) if r.id.endswith("probe-http")]
    return result.status, result.message, list(result.details)


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not on PATH")
def test_seeding_without_dash_i_says_the_data_is_not_loaded_and_why(cluster: KubeCluster) -> None:
    kubeconfig = str(cluster.info.kubeconfig[0])
    with (ASSETS / "db.txt").open() as sql:  # the classic slip: no -i, so kubectl never passes the file on
        subprocess.run(["kubectl", "--kubeconfig", kubeconfig, "exec", "-n", NS, "deploy/mysql", "--",
                        "sh", "-c", 'exec mysql -uroot -p"$MYSQL_ROOT_PASSWORD"'], stdin=sql, capture_output=True, timeout=60)
    results = {r.id.split(".")[-1]: r for r in run_step(LAB.step("seed-db"), cluster)}
    rows = results["sql-rows"]
    assert rows.status == "failed" and rows.message.startswith("db1.users does not exist in mysql-") and "not loaded yet" in rows.message
    assert any("without -i" in line for line in rows.details)
    page = results["probe-http"]
    assert page.status == "failed" and "MySQL connection failed: Unknown database 'db1'" in page.details


def test_a_web_server_left_closed_names_the_policy_that_denies_it(cluster: KubeCluster) -> None:
    cluster.apply(yaml.safe_load((ASSETS / "deny-ingress.yaml").read_text()), NS)
    time.sleep(1.0)  # the sandbox's Calico programs the policy
    status, message, details = probe(cluster, "allow-ingress-webserver")
    assert status == "failed" and "timed out" in message and "expected: reachable" in message
    [engine] = [line for line in details if line.startswith("labrunner's policy engine:")]
    assert "a pod labelled run=demopod -> networkdemo/interpoddemo-" in engine and "on TCP 80: denied" in engine
    assert "deny-ingress" in engine, engine
