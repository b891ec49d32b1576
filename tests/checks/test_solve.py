"""`labrunner solve` types a step's solution for the learner and waits for its checks."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not on PATH (the lab's solutions use it)")


def test_solve_through_a_step_leaves_the_next_one_undone(tmp_path: Path) -> None:
    environment = {**os.environ, "LABRUNNER_STATE_DIR": str(tmp_path / "state"), "HOME": str(tmp_path),
                   "LABRUNNER_SANDBOX_TIME_SCALE": "0.05"}
    environment.pop("KUBECONFIG", None)

    def labrunner(*arguments: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "labrunner", *arguments], capture_output=True, text=True,
                              env=environment, timeout=300)

    try:
        solved = labrunner("solve", "networkpolicies", "--through", "expose-mysql", "--sandbox")
        assert solved.returncode == 0, solved.stderr
        assert "$ kubectl" in solved.stdout
        assert "step 3 passed" in solved.stderr
        done = json.loads(labrunner("check", "networkpolicies", "expose-mysql", "--json", "--sandbox").stdout)
        assert done["status"] == "passed"
        undone = labrunner("check", "networkpolicies", "deploy-app", "--json", "--sandbox")
        assert json.loads(undone.stdout)["status"] == "failed"
        assert undone.returncode == 1
        neither = labrunner("solve", "networkpolicies", "--sandbox")
        assert neither.returncode != 0 and "--through" in neither.stderr
    finally:
        labrunner("sandbox", "stop")
