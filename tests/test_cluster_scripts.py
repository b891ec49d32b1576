"""The real-cluster scripts (they cannot run here: no Docker): valid bash, and a
clear message when their tool is missing."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.conftest import REPO

SCRIPTS = sorted((REPO / "scripts" / "cluster").glob("*.sh")) + [REPO / "scripts" / "e2e-real-cluster.sh"]


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda path: path.name)
def test_scripts_are_valid_bash(script: Path) -> None:
    assert subprocess.run(["bash", "-n", str(script)], capture_output=True).returncode == 0


@pytest.mark.parametrize(("script", "tool"), [("kind.sh", "kind"), ("minikube.sh", "minikube"), ("k3d.sh", "k3d")])
def test_a_missing_tool_is_named(script: str, tool: str, tmp_path: Path) -> None:
    import shutil

    bash, dirname = shutil.which("bash"), shutil.which("dirname")
    assert bash and dirname
    (tmp_path / "dirname").symlink_to(dirname)  # a PATH with nothing but what the scripts need before their check
    completed = subprocess.run([bash, str(REPO / "scripts" / "cluster" / script)], capture_output=True, text=True,
                               env={"PATH": str(tmp_path), "HOME": str(tmp_path)})
    assert completed.returncode == 127
    assert f"labrunner: error: {tool} is not installed" in completed.stderr
    assert "labrunner sandbox start" in completed.stderr
