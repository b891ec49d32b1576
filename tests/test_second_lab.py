"""Adding a lab is a folder, and a new check kind one topic module: a second lab with a
kind of its own, shipped as an installed distribution's ``labrunner.topics`` entry point,
is validated, listed, checked and self-tested without a line of labrunner changing."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import REPO
from tests.sandboxes import TIME_SCALE

FIXTURE = REPO / "tests" / "fixtures" / "second_lab"


@pytest.fixture
def environment(tmp_path: Path) -> Iterator[dict[str, str]]:
    content = tmp_path / "content"
    shutil.copytree(FIXTURE / "labs", content / "labs")
    shutil.copytree(FIXTURE / "assets", content / "assets")
    env = {**os.environ, "PYTHONPATH": str(FIXTURE / "site"), "LABRUNNER_LABS_PATH": str(content / "labs"),
           "LABRUNNER_SANDBOX_TIME_SCALE": TIME_SCALE}
    yield env
    subprocess.run([sys.executable, "-m", "labrunner", "sandbox", "stop"], env=env, capture_output=True, timeout=60)


def labrunner(env: dict[str, str], *arguments: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "labrunner", *arguments], env=env, capture_output=True, text=True, timeout=timeout)


def test_the_topic_s_kind_is_in_the_lab_format_and_the_lab_validates(environment: dict[str, str]) -> None:
    listed = labrunner(environment, "list", "--json")
    assert listed.returncode == 0, listed.stderr
    assert {lab["id"] for lab in json.loads(listed.stdout)} >= {"configdata"}
    valid = labrunner(environment, "validate", environment["LABRUNNER_LABS_PATH"])
    assert valid.returncode == 0, valid.stdout + valid.stderr
    schema = json.loads(labrunner(environment, "schema").stdout)
    assert "ConfigMapHasKey" in schema["$defs"]


def test_without_the_topic_the_kind_is_unknown_with_its_line(environment: dict[str, str]) -> None:
    without = {k: v for k, v in environment.items() if k != "PYTHONPATH"}
    invalid = labrunner(without, "validate", environment["LABRUNNER_LABS_PATH"])
    assert invalid.returncode == 1
    assert "lab.yaml:41:" in invalid.stdout + invalid.stderr and "unknown check kind 'configmap-has-key'" in invalid.stdout + invalid.stderr


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not on PATH (the lab's solutions use it)")
def test_the_second_lab_is_checked_and_self_tested_on_the_sandbox(environment: dict[str, str]) -> None:
    failing = labrunner(environment, "check", "configdata", "settings", "--sandbox", "--json")
    assert failing.returncode == 1, failing.stderr
    document = json.loads(failing.stdout)
    assert document["checks"][0]["message"] == "configmap settings does not exist in configdemo"
    proved = labrunner(environment, "selftest", "configdata", "--sandbox", "--json", timeout=300)
    assert proved.returncode == 0, proved.stdout + proved.stderr
    assert [(row["before"], row["after"]) for row in json.loads(proved.stdout)["steps"]] == [("failed", "passed")] * 2
