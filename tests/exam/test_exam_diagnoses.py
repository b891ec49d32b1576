"""An exam keeps its diagnoses to itself until the candidate submits, then gives them whole: a
NetworkPolicy task done with the classic mistake (podSelector {}) says nothing during the attempt
and, in the review, names the policy, the field, its value and what the task wanted."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from labrunner.exam.bank import bank, drawn
from labrunner.sandbox.files import SandboxFiles
from tests.sandboxes import Kubectl

pytestmark = pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not on PATH (task setups use it)")

TASK = "sn-netpol-api-access"
SEED = 1717


def exam(environment: dict[str, str], *argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "labrunner", "exam", *argv], capture_output=True, text=True, env=environment, timeout=240)


def test_a_policy_mistake_is_silent_during_the_attempt_and_named_in_the_review(sandbox: SandboxFiles, kubectl: Kubectl, tmp_path: Path) -> None:
    environment = {**os.environ, "KUBECONFIG": str(sandbox.kubeconfig), "LABRUNNER_STATE_DIR": str(tmp_path / "state"), "LABRUNNER_WARM": "0"}
    started = exam(environment, "start", "--seed", str(SEED), "--minutes", "20", f"--task={TASK}", "--json")
    assert started.returncode == 0, started.stderr
    document = json.loads(started.stdout)
    attempt = document["attempt"]
    names = dict(drawn(next(t for t in bank()[0] if t.id == TASK), SEED).parameter_values)
    namespace, port = names["namespace"], names["port"]
    try:
        # Every pod of the namespace selected where the task asked for the api pods.
        kubectl("-n", namespace, "apply", "-f", "-", stdin=f"""\
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {{name: api-ingress}}
spec:
  podSelector: {{}}
  policyTypes: [Ingress]
  ingress:
  - from:
    - podSelector: {{matchLabels: {{app: frontend}}}}
    ports: [{{protocol: TCP, port: {port}}}]
""")
        during = exam(environment, "status", attempt, "--json")
        assert during.returncode == 0, during.stderr
        assert "podSelector" not in during.stdout and "found" not in during.stdout  # feedback is off until the submission

        submitted = exam(environment, "submit", attempt, "--json")
        result = json.loads(submitted.stdout)
        [task] = result["tasks"]
        ingress = next(s for s in task["subtasks"] if s["id"] == "ingress")
        assert not ingress["passed"]
        assert ingress["found"].startswith(f"api-ingress's podSelector is {{}}, so it selects every pod in {namespace} (")
        assert "the task selects only app=api" in ingress["found"] and "this step" not in ingress["found"]
        review = exam(environment, "review", attempt).stdout
        assert f"api-ingress's podSelector is {{}}, so it selects every pod in {namespace}" in review
    finally:
        exam(environment, "clean", attempt)
