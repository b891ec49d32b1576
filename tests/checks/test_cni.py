"""Which network plugin a cluster has, whether it enforces NetworkPolicies, and the proof."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from labrunner.registry import CheckContext
from labrunner.topics.networkpolicy.checks import CniEnforcesPolicy, cni_enforces_policy
from tests.conftest import REPO
from tests.fakes import FakeCluster, named, node
from tests.sandboxes import TIME_SCALE


CNI = CniEnforcesPolicy(kind="cni-enforces-policy", says="a plugin enforces policies")


def nodes(kubelet: str, daemonsets: dict[str, list[str]] | None = None) -> FakeCluster:
    """A cluster of one node and these DaemonSets: enough for plugin detection."""
    return FakeCluster({"nodes": [node("node-1", kubelet=kubelet)],
                        "daemonsets": [named(name, where, "DaemonSet") for where, names in (daemonsets or {}).items() for name in names]})


def test_k3s_built_in_policy_controller_counts_as_enforcing() -> None:
    status, message, _ = cni_enforces_policy(CNI, CheckContext(nodes("v1.31.4+k3s1")))
    assert status == "passed" and "k3s" in message and "--disable-network-policy" in message


def test_kindnet_alone_is_named_as_not_enforcing() -> None:
    status, message, details = cni_enforces_policy(CNI, CheckContext(nodes("v1.32.2", {"kube-system": ["kindnet", "kube-proxy"]})))
    assert status == "failed" and message == "kindnet is installed, and it ignores NetworkPolicies"
    assert details and "Calico" in details[0]


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not on PATH (installing the sandbox's Calico uses it)")
def test_doctor_proves_enforcement_only_once_calico_is_installed(tmp_path: Path) -> None:
    environment = {**os.environ, "LABRUNNER_STATE_DIR": str(tmp_path / "state"), "HOME": str(tmp_path),
                   "LABRUNNER_SANDBOX_TIME_SCALE": TIME_SCALE}
    environment.pop("KUBECONFIG", None)

    def labrunner(*arguments: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "labrunner", *arguments], capture_output=True, text=True, env=environment, timeout=300)

    try:
        without = labrunner("doctor", "--prove-policy", "--sandbox", "--json")
        proof = json.loads(without.stdout)["network_policy"]
        assert without.returncode == 1
        assert proof["plugin"]["status"] == "failed" and proof["proof"]["status"] == "failed"
        assert "NOT enforced" in proof["proof"]["message"]
        kubeconfig = str(tmp_path / "state" / "sandbox" / "kubeconfig")
        subprocess.run(["kubectl", "--kubeconfig", kubeconfig, "apply", "-f", str(REPO / "assets" / "networkpolicies" / "calico-sandbox.yaml")],
                       check=True, capture_output=True, timeout=60)
        subprocess.run(["kubectl", "--kubeconfig", kubeconfig, "rollout", "status", "daemonset/calico-node", "-n", "kube-system", "--timeout=60s"],
                       check=True, capture_output=True, timeout=90)
        with_calico = labrunner("doctor", "--prove-policy", "--sandbox")
        assert with_calico.returncode == 0, with_calico.stdout + with_calico.stderr
        assert "proof       passed: proved: busybox reached nginx, then a deny-all ingress policy stopped it" in with_calico.stdout
        left = subprocess.run(["kubectl", "--kubeconfig", kubeconfig, "get", "namespaces", "-l", "app.kubernetes.io/managed-by=labrunner",
                               "-o", "jsonpath={.items[*].status.phase}"], capture_output=True, text=True).stdout.split()
        assert set(left) <= {"Terminating"}  # both throwaway namespaces are gone or going
    finally:
        labrunner("sandbox", "stop")
