"""`labrunner solve` types a step's solution and waits for its checks; `check` without a step,
`status` and `hint` then follow the learner's progress."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from tests.sandboxes import TIME_SCALE

pytestmark = pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not on PATH (the lab's solutions use it)")


def test_solve_through_a_step_then_check_status_and_hint_follow_the_current_step(tmp_path: Path) -> None:
    environment = {**os.environ, "LABRUNNER_STATE_DIR": str(tmp_path / "state"), "HOME": str(tmp_path),
                   "LABRUNNER_SANDBOX_TIME_SCALE": TIME_SCALE}
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
        current = json.loads(labrunner("check", "networkpolicies", "--json", "--sandbox").stdout)
        assert current["step"] == "deploy-app"
        status = json.loads(labrunner("status", "networkpolicies", "--json").stdout)
        assert status["context"] == "labrunner-sandbox" and status["current"] == "deploy-app"
        assert [row["status"] for row in status["steps"][:6]] == ["passed"] * 4 + ["failed", None]
        assert labrunner("status", "networkpolicies").stdout.splitlines()[0].endswith("4 of 20 steps passed")
        hint = labrunner("hint", "networkpolicies").stdout
        assert "step 4" in hint and "Your last check of this step found" in hint and "deployment" in hint
        every = labrunner("check", "networkpolicies", "--all", "--json", "--sandbox")  # a grader's one call
        graded = json.loads(every.stdout)
        assert every.returncode == 1 and (graded["passed"], graded["total"], graded["status"]) == (4, 20, "failed")
        assert [step["status"] for step in graded["steps"][:5]] == ["passed"] * 4 + ["failed"]
        assert graded["steps"][3] == json.loads(labrunner("check", "networkpolicies", "expose-mysql", "--json", "--sandbox").stdout)
        assert json.loads(labrunner("status", "networkpolicies", "--json").stdout)["current"] == "deploy-app"  # grading moves no one
        neither = labrunner("solve", "networkpolicies", "--sandbox")
        assert neither.returncode != 0 and "--through" in neither.stderr

        undone = labrunner("reset", "networkpolicies", "expose-mysql", "--sandbox")
        assert undone.returncode == 0, undone.stderr
        assert "$ kubectl delete service mysql -n networkdemo --ignore-not-found" in undone.stdout
        assert "step 3 is current again" in undone.stderr
        assert json.loads(labrunner("check", "networkpolicies", "--json", "--sandbox").stdout)["step"] == "expose-mysql"
        whole = labrunner("reset", "networkpolicies", "--sandbox")
        assert whole.returncode == 0, whole.stderr
        assert "$ kubectl delete namespace networkdemo --ignore-not-found" in whole.stdout
        status = json.loads(labrunner("status", "networkpolicies", "--json").stdout)
        assert status["passed"] == 0 and status["current"] == "preflight"
        assert json.loads(labrunner("check", "networkpolicies", "create-namespace", "--json", "--sandbox").stdout)["status"] == "failed"
    finally:
        labrunner("sandbox", "stop")
