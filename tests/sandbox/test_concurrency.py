"""Twenty kubectl clients at once, creating and deleting: nothing is lost or doubled."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from labrunner.sandbox.files import SandboxFiles

KUBECTL = shutil.which("kubectl")


@pytest.mark.skipif(KUBECTL is None, reason="kubectl is not on PATH")
def test_twenty_concurrent_kubectl_clients_lose_nothing(sandbox: SandboxFiles, namespace: str, tmp_path: Path) -> None:
    environment = {**os.environ, "KUBECONFIG": str(sandbox.kubeconfig), "HOME": str(tmp_path)}

    def kubectl(*argv: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([KUBECTL or "kubectl", *argv], capture_output=True, text=True, env=environment, timeout=120)

    assert kubectl("create", "namespace", namespace).returncode == 0

    def client(number: int) -> list[int]:
        codes = []
        for item in range(5):
            codes.append(kubectl("create", "configmap", f"c{number}-{item}", "-n", namespace, f"--from-literal=n={number}").returncode)
        codes.append(kubectl("delete", "configmap", f"c{number}-0", "-n", namespace).returncode)
        return codes

    with ThreadPoolExecutor(max_workers=20) as pool:
        results = list(pool.map(client, range(20)))
    assert all(code == 0 for codes in results for code in codes)
    names = sorted(item["metadata"]["name"] for item in json.loads(kubectl("get", "cm", "-n", namespace, "-o", "json").stdout)["items"])
    assert names == sorted([*(f"c{n}-{i}" for n in range(20) for i in range(1, 5)), "kube-root-ca.crt"])  # the CA every namespace gets
    versions = [int(item["metadata"]["resourceVersion"]) for item in json.loads(kubectl("get", "cm", "-n", namespace, "-o", "json").stdout)["items"]]
    assert len(set(versions)) == len(versions)  # every write got its own resourceVersion
