"""A scripted attempt through the headless contract, on the sandbox: start, status, work (one
task right, one in the wrong namespace), submit, review, a revealed solution, history, clean."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from labrunner.exam.bank import bank, drawn
from labrunner.sandbox.files import SandboxFiles
from tests.sandboxes import Kubectl, eventually

pytestmark = pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not on PATH (task setups use it)")

TASKS = ("svc-expose-deployment", "ts-service-no-endpoints")


def exam(environment: dict[str, str], *argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "labrunner", "exam", *argv], capture_output=True, text=True, env=environment, timeout=180)


@pytest.fixture
def environment(sandbox: SandboxFiles, tmp_path: Path) -> dict[str, str]:
    return {**os.environ, "KUBECONFIG": str(sandbox.kubeconfig), "LABRUNNER_STATE_DIR": str(tmp_path / "state"), "LABRUNNER_WARM": "0"}


def names(task: dict[str, Any]) -> dict[str, str]:
    found = drawn(next(t for t in bank()[0] if t.id == task["id"]), SEED)
    return dict(found.parameter_values)


SEED = 4242


def test_an_attempt_scores_what_was_done_and_the_review_names_the_wrong_namespace(environment: dict[str, str], kubectl: Kubectl) -> None:
    started = exam(environment, "start", "--seed", str(SEED), "--minutes", "30", *(f"--task={t}" for t in TASKS), "--json")
    assert started.returncode == 0, started.stderr
    document = json.loads(started.stdout)
    assert set(document) == {"attempt", "seed", "deadline", "missing_weight", "tasks"} and document["seed"] == SEED
    assert document["deadline"].endswith("Z")
    first, second = document["tasks"]
    assert [t["number"] for t in document["tasks"]] == [1, 2] and [t["id"] for t in document["tasks"]] == list(TASKS)
    assert set(first) == {"number", "id", "domain", "points", "namespace", "statement"}
    assert first["statement"].startswith(f"Context: labrunner-sandbox · Namespace: {first['namespace']}\n")
    one, two = names(first), names(second)
    assert one["namespace"] == first["namespace"] and two["namespace"] == second["namespace"]  # the same seed draws the same names
    attempt = document["attempt"]

    status = json.loads(exam(environment, "status", attempt, "--json").stdout)
    assert status["seconds_left"] > 29 * 60 and not status["submitted"] and not status["practice"]
    assert all(set(task) == {"number", "id", "domain", "points", "namespace", "revealed", "flagged"} for task in status["tasks"])

    # Task 2 repaired as asked; task 1's Service made in default, as a candidate who forgot -n would.
    kubectl("-n", two["namespace"], "patch", "service", two["app"], "-p", f'{{"spec":{{"selector":{{"app":"{two["app"]}"}}}}}}')
    kubectl("-n", "default", "create", "deployment", one["app"], "--image=nginx:1.27")
    kubectl("-n", "default", "expose", "deployment", one["app"], "--name", one["service"], "--port", one["port"], "--target-port", "80")
    try:
        eventually(lambda: bool(kubectl("-n", two["namespace"], "get", "endpointslices", "-l", f"kubernetes.io/service-name={two['app']}",
                                        "-o", "jsonpath={.items[*].endpoints[*].addresses}").stdout.strip()), "the Service's endpoints")
        submitted = exam(environment, "submit", attempt, "--json")
        result = json.loads(submitted.stdout)
        assert submitted.returncode == 1  # 6 of 10 points: not passed
        assert (result["score"], result["max"], result["percent"], result["passed"]) == (second["points"], first["points"] + second["points"], 60.0, False)
        assert result["domains"]["troubleshooting"] == {"score": 6, "max": 6, "percent": 100.0}
        assert result["domains"]["services-networking"]["score"] == 0 and result["deadline_passed"] is False
        [missed] = result["tasks"][0]["subtasks"]
        assert set(missed) == {"id", "title", "passed", "points", "found", "why"} and missed["points"] == 0
        assert missed["found"].startswith(f"you created Service {one['service']} in default; the task asked for {one['namespace']}")

        again = exam(environment, "submit", attempt, "--json")
        assert json.loads(again.stdout) == result and "its result stands" in again.stderr

        review = exam(environment, "review", attempt).stdout
        assert f"you created Service {one['service']} in default; the task asked for {one['namespace']}" in review
        assert f"kubectl -n {one['namespace']} expose deployment {one['app']}" in review  # the reference solution, with this attempt's names
    finally:
        kubectl("-n", "default", "delete", "service", one["service"], "--ignore-not-found")
        kubectl("-n", "default", "delete", "deployment", one["app"], "--ignore-not-found")

    revealed = exam(environment, "solution", attempt, "1")
    assert revealed.returncode == 0 and f"-n {one['namespace']}" in revealed.stdout
    history = json.loads(exam(environment, "history", "--json").stdout)
    assert [(row["attempt"], row["practice"], row["percent"]) for row in history["attempts"]] == [(attempt, True, 60.0)]
    assert history["domains"] == {}  # a practice attempt counts in no trend

    cleaned = exam(environment, "clean", attempt)
    assert cleaned.returncode == 0, cleaned.stderr
    for namespace in (one["namespace"], two["namespace"]):
        eventually(lambda: kubectl("get", "namespace", namespace, check=False).returncode != 0, f"namespace {namespace} deleted")


def test_another_seed_draws_other_names_and_status_of_an_unknown_attempt_says_so(environment: dict[str, str]) -> None:
    task = next(t for t in bank()[0] if t.id == TASKS[0])
    assert drawn(task, 1).parameter_values != drawn(task, 2).parameter_values
    unknown = exam(environment, "status", "20990101-0000-beef")
    assert unknown.returncode == 2 and "no exam attempt '20990101-0000-beef'" in unknown.stderr
