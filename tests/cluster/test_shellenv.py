"""A shell set up for a lab: kubectl there uses the chosen context and the lab's
namespace, and the learner's own kubeconfig is never rewritten."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from labrunner.cluster.shellenv import shell_environment, write_pin

KUBECONFIG = """apiVersion: v1
kind: Config
current-context: prod
contexts:
- {name: prod, context: {cluster: prod, user: admin}}
- {name: kind-lab, context: {cluster: kind-lab, user: kind-lab, namespace: default}}
clusters:
- {name: prod, cluster: {server: "https://prod.example.com"}}
- {name: kind-lab, cluster: {server: "https://127.0.0.1:6443"}}
users:
- {name: admin, user: {token: a}}
- {name: kind-lab, user: {token: k}}
"""


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not on PATH")
def test_kubectl_in_the_shell_sees_the_pinned_context_and_namespace(tmp_path: Path) -> None:
    kubeconfig = tmp_path / "config"
    kubeconfig.write_text(KUBECONFIG)
    pin = write_pin(tmp_path / "state" / "pin.yaml", "kind-lab", namespace="alice-np", cluster="kind-lab", user="kind-lab")
    environment = shell_environment([kubeconfig], pin, {"namespace": "alice-np"}, {"LABRUNNER_LAB": "networkpolicies"})

    def kubectl(*arguments: str) -> str:
        return subprocess.run(["kubectl", *arguments], capture_output=True, text=True, env=environment, check=True).stdout.strip()

    assert kubectl("config", "current-context") == "kind-lab"
    assert kubectl("config", "view", "--minify", "-o", "jsonpath={..namespace}") == "alice-np"
    assert kubectl("config", "view", "--minify", "-o", "jsonpath={.clusters[0].cluster.server}") == "https://127.0.0.1:6443"
    assert environment["LAB_NAMESPACE"] == "alice-np" and environment["LABRUNNER_LAB"] == "networkpolicies"
    assert environment["KUBECONFIG"] == os.pathsep.join([str(pin), str(kubeconfig)])
    assert kubeconfig.read_text() == KUBECONFIG
