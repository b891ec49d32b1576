"""The whole NetworkPolicy lab proves itself on a fresh sandbox: every step's checks
fail before its solution and pass after (an observation step may pass before)."""

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


def test_selftest_of_the_networkpolicies_lab_on_the_sandbox(tmp_path: Path) -> None:
    environment = {**os.environ, "LABRUNNER_STATE_DIR": str(tmp_path / "state"), "HOME": str(tmp_path),
                   "LABRUNNER_SANDBOX_TIME_SCALE": TIME_SCALE}
    environment.pop("KUBECONFIG", None)
    try:
        completed = subprocess.run([sys.executable, "-m", "labrunner", "selftest", "networkpolicies", "--sandbox", "--json"],
                                   capture_output=True, text=True, env=environment, timeout=600)
    finally:
        subprocess.run([sys.executable, "-m", "labrunner", "sandbox", "stop"], capture_output=True, env=environment)
    report = json.loads(completed.stdout)
    bad = [row for row in report["steps"] if not row["ok"]]
    assert bad == [], bad
    assert [row["after"] for row in report["steps"]] == ["passed"] * 20
    assert sum(row["before"] == "failed" for row in report["steps"]) == 18
    assert completed.returncode == 0
