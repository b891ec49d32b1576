"""The shipped task bank: every task loads, the curriculum's domains are covered, and every task
the sandbox can run is proved on it (after its setup no sub-task passes; after its solution all do)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from labrunner.exam.bank import bank
from labrunner.sandbox.files import SandboxFiles


def test_every_task_of_the_bank_loads() -> None:
    tasks, broken = bank()
    assert broken == [] and tasks
    assert all(task.points > 0 and task.runtime in ("sandbox", "cluster", "node") for task in tasks)


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not on PATH (task setups and solutions use it)")
def test_every_sandbox_task_is_proved_on_the_sandbox(sandbox: SandboxFiles, tmp_path: Path) -> None:
    tasks, _ = bank()
    environment = {**os.environ, "KUBECONFIG": str(sandbox.kubeconfig), "LABRUNNER_STATE_DIR": str(tmp_path / "state"), "LABRUNNER_WARM": "0"}
    # One seed here (exam selftest's default is three): the draw itself is proved in test_draw.py.
    completed = subprocess.run([sys.executable, "-m", "labrunner", "exam", "selftest", "--seeds", "1", "--jobs", "3", "--json"],
                               capture_output=True, text=True, env=environment, timeout=900)
    report = json.loads(completed.stdout)
    bad = [row for row in report["tasks"] if not row["ok"]]
    assert bad == [], bad
    proved = Counter(row["id"] for row in report["tasks"])
    assert set(proved) == {task.id for task in tasks if task.runtime == "sandbox"}
    assert completed.returncode == 0
