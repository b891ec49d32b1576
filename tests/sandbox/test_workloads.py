"""The sandbox behaving as a cluster for the lab's first steps: controllers,
scheduler and kubelet, driven by the real kubectl."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from labrunner.sandbox.control import stop
from tests.conftest import REPO
from tests.sandboxes import eventually as wait_for, kubectl_for, start_sandbox

KUBECTL = shutil.which("kubectl")
pytestmark = pytest.mark.skipif(KUBECTL is None, reason="kubectl is not on PATH")
ASSETS = REPO / "assets" / "networkpolicies"


@pytest.fixture(scope="module")
def fresh_kubectl(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[..., subprocess.CompletedProcess[str]]]:
    """A cluster of its own, for installing Calico: that changes every namespace's traffic."""
    files = start_sandbox(tmp_path_factory.mktemp("calico"))
    yield kubectl_for(files, tmp_path_factory.mktemp("home"))
    stop(files)


def as_json(kubectl: Callable[..., subprocess.CompletedProcess[str]], *argv: str) -> Any:
    return json.loads(kubectl(*argv, "-o", "json").stdout)


def eventually(condition: Callable[[], bool]) -> None:
    wait_for(condition, "the cluster reaching that state")


def test_coredns_runs_from_the_start(kubectl) -> None:  # type: ignore[no-untyped-def]
    kubectl("rollout", "status", "deployment/coredns", "-n", "kube-system", "--timeout=30s")
    service = as_json(kubectl, "get", "svc", "kube-dns", "-n", "kube-system")
    assert service["spec"]["clusterIP"] == "10.96.0.10"
    assert service["spec"]["selector"] == {"k8s-app": "kube-dns"}
    eventually(lambda: len(as_json(kubectl, "get", "endpoints", "kube-dns", "-n", "kube-system")["subsets"][0].get("addresses", [])) == 2)
    labels = as_json(kubectl, "get", "ns", "kube-system")["metadata"]["labels"]
    assert labels["kubernetes.io/metadata.name"] == "kube-system"


def test_the_labs_first_five_steps(kubectl, namespace: str) -> None:  # type: ignore[no-untyped-def]
    assert kubectl("create", "namespace", namespace).stdout == f"namespace/{namespace} created\n"
    kubectl("apply", "-n", namespace, "-f", str(ASSETS / "mysqlpod.yaml"))
    assert "successfully rolled out" in kubectl("rollout", "status", "deployment/mysql", "-n", namespace, "--timeout=60s").stdout
    assert kubectl("expose", "deployment", "mysql", "-n", namespace, "--port", "3306").stdout == "service/mysql exposed\n"
    kubectl("apply", "-n", namespace, "-f", str(ASSETS / "app.yaml"))
    kubectl("rollout", "status", "deployment/interpoddemo", "-n", namespace, "--timeout=60s")
    kubectl("expose", "deployment", "interpoddemo", "-n", namespace, "--port", "80")

    pods = kubectl("get", "pods", "-n", namespace).stdout.splitlines()
    assert pods[0].split() == ["NAME", "READY", "STATUS", "RESTARTS", "AGE"]
    rows = [line.split() for line in pods[1:]]
    assert sorted(row[0].rsplit("-", 2)[0] for row in rows) == ["interpoddemo"] * 3 + ["mysql"]
    assert all(row[1:3] == ["1/1", "Running"] for row in rows)
    mysql = next(row[0] for row in rows if row[0].startswith("mysql-"))
    pod = as_json(kubectl, "get", "pod", mysql, "-n", namespace)
    assert pod["metadata"]["ownerReferences"][0]["kind"] == "ReplicaSet"
    assert pod["status"]["podIP"].startswith("10.244.") and pod["spec"]["nodeName"].startswith("labrunner-sandbox-")

    services = kubectl("get", "svc", "-n", namespace).stdout.splitlines()
    assert services[0].split() == ["NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)", "AGE"]
    mysql_service = as_json(kubectl, "get", "svc", "mysql", "-n", namespace)
    assert mysql_service["spec"]["ports"] == [{"port": 3306, "protocol": "TCP", "targetPort": 3306}]
    assert mysql_service["spec"]["clusterIP"].startswith("10.96.")
    eventually(lambda: len(as_json(kubectl, "get", "endpoints", "interpoddemo", "-n", namespace)["subsets"][0].get("addresses", [])) == 3)

    events = kubectl("get", "events", "-n", namespace).stdout
    for reason in ("Scheduled", "Pulled", "Created", "Started", "ScalingReplicaSet", "SuccessfulCreate"):
        assert reason in events, reason


def test_node_port_allocated_and_released(kubectl, namespace: str) -> None:  # type: ignore[no-untyped-def]
    kubectl("create", "namespace", namespace)
    kubectl("create", "deployment", "web", "--image=nginx:1.27", "-n", namespace)
    kubectl("expose", "deployment", "web", "-n", namespace, "--port", "80")
    kubectl("patch", "svc", "web", "-n", namespace, "-p", '{"spec":{"type":"NodePort"}}')
    port = as_json(kubectl, "get", "svc", "web", "-n", namespace)["spec"]["ports"][0]
    assert 30000 <= port["nodePort"] <= 32767
    assert f"80:{port['nodePort']}/TCP" in kubectl("get", "svc", "web", "-n", namespace).stdout
    kubectl("patch", "svc", "web", "-n", namespace, "-p", '{"spec":{"type":"ClusterIP"}}')
    assert "nodePort" not in as_json(kubectl, "get", "svc", "web", "-n", namespace)["spec"]["ports"][0]


def test_an_unknown_image_backs_off_with_the_kubelets_words(kubectl, namespace: str) -> None:  # type: ignore[no-untyped-def]
    kubectl("create", "namespace", namespace)
    kubectl("create", "deployment", "db", "--image=mysqll:8.4", "-n", namespace)
    eventually(lambda: "ImagePullBackOff" in kubectl("get", "pods", "-n", namespace).stdout)
    described = kubectl("describe", "pods", "-n", namespace).stdout
    assert 'Failed to pull image "mysqll:8.4"' in described
    assert "Back-off pulling image" in described
    rollout = kubectl("rollout", "status", "deployment/db", "-n", namespace, "--timeout=2s", check=False)
    assert rollout.returncode != 0


def test_scale_set_image_and_garbage_collection(kubectl, namespace: str) -> None:  # type: ignore[no-untyped-def]
    kubectl("create", "namespace", namespace)
    kubectl("create", "deployment", "web", "--image=nginx:1.27", "--replicas=3", "-n", namespace)
    kubectl("rollout", "status", "deployment/web", "-n", namespace, "--timeout=60s")
    assert kubectl("scale", "deployment", "web", "-n", namespace, "--replicas=1").stdout == "deployment.apps/web scaled\n"
    eventually(lambda: len(as_json(kubectl, "get", "pods", "-n", namespace)["items"]) == 1)
    kubectl("set", "image", "deployment/web", "nginx=nginx:1.28", "-n", namespace)
    kubectl("rollout", "status", "deployment/web", "-n", namespace, "--timeout=60s")
    replica_sets = as_json(kubectl, "get", "rs", "-n", namespace)["items"]
    assert sorted(rs["spec"]["replicas"] for rs in replica_sets) == [0, 1]
    kubectl("delete", "deployment", "web", "-n", namespace)
    eventually(lambda: not as_json(kubectl, "get", "rs", "-n", namespace)["items"] and not as_json(kubectl, "get", "pods", "-n", namespace)["items"])


def test_the_sandbox_calico_daemonset_runs_on_every_node(fresh_kubectl) -> None:  # type: ignore[no-untyped-def]
    kubectl = fresh_kubectl
    kubectl("apply", "-f", str(ASSETS / "calico-sandbox.yaml"))
    assert "successfully rolled out" in kubectl("rollout", "status", "daemonset/calico-node", "-n", "kube-system", "--timeout=60s").stdout
    pods = as_json(kubectl, "get", "pods", "-n", "kube-system", "-l", "k8s-app=calico-node")["items"]
    assert sorted(p["spec"]["nodeName"] for p in pods) == ["labrunner-sandbox-control-plane", "labrunner-sandbox-worker", "labrunner-sandbox-worker2"]
    kubectl("rollout", "status", "deployment/calico-kube-controllers", "-n", "kube-system", "--timeout=60s")


def test_delete_propagation_orphan_and_foreground(kubectl, namespace: str) -> None:  # type: ignore[no-untyped-def]
    kubectl("create", "namespace", namespace)
    for name in ("kept", "gone"):
        kubectl("create", "deployment", name, "--image=nginx:1.27", "--replicas=2", "-n", namespace)
        kubectl("rollout", "status", f"deployment/{name}", "-n", namespace, "--timeout=60s")
    kubectl("delete", "deployment", "kept", "-n", namespace, "--cascade=orphan")
    kubectl("delete", "deployment", "gone", "-n", namespace, "--cascade=foreground")
    eventually(lambda: not any(p["metadata"]["name"].startswith("gone-") for p in as_json(kubectl, "get", "pods", "-n", namespace)["items"]))
    replica_sets = as_json(kubectl, "get", "rs", "-n", namespace)["items"]
    assert [rs["metadata"]["name"].rsplit("-", 1)[0] for rs in replica_sets] == ["kept"]
    assert "ownerReferences" not in replica_sets[0]["metadata"]  # orphaned, still running its pods
    assert len([p for p in as_json(kubectl, "get", "pods", "-n", namespace)["items"] if p["metadata"]["name"].startswith("kept-")]) == 2


def test_server_side_apply_creates_then_updates(kubectl, namespace: str) -> None:  # type: ignore[no-untyped-def]
    kubectl("create", "namespace", namespace)
    policy = str(ASSETS / "allow-ingress-db.yaml")
    assert kubectl("apply", "--server-side", "-n", namespace, "-f", policy).stdout == "networkpolicy.networking.k8s.io/allow-ingress-db serverside-applied\n"
    assert kubectl("apply", "--server-side", "-n", namespace, "-f", policy).stdout == "networkpolicy.networking.k8s.io/allow-ingress-db serverside-applied\n"
    stored = as_json(kubectl, "get", "netpol", "allow-ingress-db", "-n", namespace)
    assert stored["spec"]["ingress"][0]["ports"] == [{"protocol": "TCP", "port": 3306}]
    dry = kubectl("apply", "--dry-run=server", "-n", namespace, "-f", str(ASSETS / "deny-ingress.yaml"))
    assert "(server dry run)" in dry.stdout
    assert "NotFound" in kubectl("get", "netpol", "deny-ingress", "-n", namespace, check=False).stderr


def test_kinds_nothing_acts_on_are_stored_and_a_crds_kinds_appear(kubectl) -> None:  # type: ignore[no-untyped-def]
    data = REPO / "tests" / "sandbox" / "data"
    kubectl("apply", "-f", str(data / "calico-like-crd-rbac-pdb.yaml"))
    kubectl("wait", "--for=condition=established", "crd/ippools.crd.projectcalico.org", "--timeout=10s")
    assert kubectl("apply", "-f", str(data / "ippool.yaml")).stdout == "ippool.crd.projectcalico.org/default-ipv4-ippool created\n"
    assert as_json(kubectl, "get", "ippool", "default-ipv4-ippool")["spec"] == {"cidr": "192.168.0.0/16", "natOutgoing": True}
    assert "ippools" in kubectl("api-resources", "--api-group=crd.projectcalico.org").stdout
    assert as_json(kubectl, "get", "clusterrole", "calico-node")["rules"][0]["verbs"] == ["get", "list", "watch"]
    assert as_json(kubectl, "get", "pdb", "calico-kube-controllers", "-n", "kube-system")["spec"]["maxUnavailable"] == 1
    kubectl("delete", "crd", "ippools.crd.projectcalico.org")
    eventually(lambda: kubectl("get", "ippools", check=False).returncode != 0)
