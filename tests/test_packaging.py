"""An installed labrunner (a wheel, as `uv tool install` or pipx would install it)
finds and validates the labs it ships, away from the repository."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

from tests.conftest import REPO


def test_the_wheel_ships_the_labs_and_finds_them(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--wheel-dir", str(tmp_path / "dist"), str(REPO)],
        check=True, capture_output=True,
    )
    [wheel] = (tmp_path / "dist").glob("labrunner-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        assert "labrunner/_bundled/labs/networkpolicies/lab.yaml" in names
        assert "labrunner/_bundled/assets/networkpolicies/mysqlpod.yaml" in names
        assert "labrunner/_bundled/exams/svc-expose-deployment/lab.yaml" in names
        archive.extractall(tmp_path / "installed")
    environment = {**os.environ, "PYTHONPATH": str(tmp_path / "installed")}
    completed = subprocess.run(
        [sys.executable, "-m", "labrunner", "list", "--json"],
        cwd=tmp_path, env=environment, capture_output=True, text=True, check=True,
    )
    [lab] = [row for row in json.loads(completed.stdout) if row["id"] == "networkpolicies"]
    assert lab["valid"] is True and lab["steps"] == 20
    assert lab["directory"] == str(tmp_path / "installed" / "labrunner" / "_bundled" / "labs" / "networkpolicies")
    tasks = subprocess.run([sys.executable, "-m", "labrunner", "exam", "list", "--json"],
                           cwd=tmp_path, env=environment, capture_output=True, text=True, check=True)
    assert "svc-expose-deployment" in [task["id"] for task in json.loads(tasks.stdout)]
