"""What every shipped lab's own test module proves the same way: each step has its parts, its
manifests are valid for Kubernetes 1.32 and name no namespace, `labrunner validate` accepts it, and
`labrunner selftest LAB --sandbox` sees every step fail before its solution and pass after."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import kubernetes_validate
import yaml

from labrunner.lab.model import Lab
from tests.sandboxes import TIME_SCALE


def documents(path: Path) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")) if doc]


def assert_every_step_has_its_parts(lab: Lab, *, shows_output: bool = False, explains: bool = False, resets: bool = False) -> None:
    """Instructions that teach (a heading, more than a stub), commands, one to three hints, a
    solution and checks that say what they check; with ``shows_output``, real output in the
    instructions; with ``explains``, every command explained and every step undoable (its reset,
    or a manifest its setup or solution applied, deleted); with ``resets``, a reset of its own on every step."""
    for step in lab.steps:
        text = lab.instructions(step)
        assert text.startswith("# "), f"{step.id}: instructions start with a heading"
        assert len(text.splitlines()) >= 20, f"{step.id}: instructions are more than a stub"
        assert step.commands and 1 <= len(step.hints) <= 3 and step.solution and step.checks, step.id
        assert all(check.says for check in step.checks), step.id
        if shows_output:
            assert "```text" in text, f"{step.id}: instructions show real output"
        if explains:
            assert all(command.explain for command in step.commands), step.id
            # the default reset deletes what the setup's and the solution's apply: actions created
            applied = (*step.setup, *step.solution)
            assert step.reset is not None or any(a.action == "apply" for a in applied), f"{step.id}: says how it is undone"
        if resets:
            assert step.reset is not None, f"{step.id}: says how it is undone"


def assert_manifests_valid(paths: Iterable[Path], *, patches: bool = False) -> None:
    """Strict 1.32 validation, and no namespace written in (the lab's parameter decides it); with
    ``patches``, a ``*-patch.yaml`` is a bare ``spec`` fragment instead."""
    for path in paths:
        for document in documents(path):
            if patches and path.name.endswith("-patch.yaml"):
                assert set(document) == {"spec"}, path.name
                continue
            kubernetes_validate.validate(document, "1.32.0", strict=True)
            assert "namespace" not in document["metadata"], path.name


def assert_valid_through_the_cli(lab_dir: Path) -> None:
    from labrunner.cli import main

    assert main(["validate", str(lab_dir)]) == 0
    assert (lab_dir / "lab.yaml").read_text(encoding="utf-8").startswith("# yaml-language-server: $schema=../lab.schema.json")


def assert_selftest_passes(lab_id: str, order: list[str], state: Path, *parameters: str) -> None:
    """``labrunner selftest LAB --sandbox`` on a sandbox of its own: every step of ``order`` fails
    before its solution and passes after."""
    environment = {**os.environ, "LABRUNNER_SANDBOX_TIME_SCALE": TIME_SCALE, "LABRUNNER_STATE_DIR": str(state)}
    given = [argument for parameter in parameters for argument in ("-p", parameter)]
    try:
        proved = subprocess.run([sys.executable, "-m", "labrunner", "selftest", lab_id, "--sandbox", "--json", *given],
                                env=environment, capture_output=True, text=True, timeout=300)
    finally:
        subprocess.run([sys.executable, "-m", "labrunner", "sandbox", "stop"], env=environment, capture_output=True, timeout=60)
    assert proved.returncode == 0, proved.stdout + proved.stderr
    rows = json.loads(proved.stdout)["steps"]
    assert [row["id"] for row in rows] == order
    assert [(row["before"], row["after"]) for row in rows] == [("failed", "passed")] * len(order)
