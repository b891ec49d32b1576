"""Steps that start from a prepared state: a step's ``setup`` runs when it begins (the app opens
it, ``labrunner setup``, or a solve needs it), its checks wait for it, its reset undoes it, and
selftest proves that the state it hands over is broken and that the solution repairs it."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from labrunner.cluster.kube import KubeCluster
from labrunner.lab.loader import load_lab
from labrunner.session.progress import Progress
from labrunner.session.selftest import selftest
from labrunner.session.session import Session
from tests.sandboxes import Kubectl, eventually

pytestmark = pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not on PATH (setups and solutions use it)")

LAB = """\
id: demo
title: Repair lab
summary: A lab for tests.
minutes: 10
level: beginner
tags: [troubleshooting]
parameters:
  namespace: {default: demo, kind: namespace, description: where the lab works}
steps:
  - id: namespace
    title: Create the namespace
    instructions: steps/one.md
    commands: [{run: "kubectl create namespace {{namespace}}", explain: creates it}]
    hints: [Namespaces are cluster-scoped.]
    solution: [{run: "kubectl create namespace {{namespace}}"}]
    checks: [{kind: namespace-active, name: "{{namespace}}", says: the namespace is Active}]
  - id: repair
    title: Make web serve
    instructions: steps/one.md
    commands: [{run: "kubectl -n {{namespace}} describe deployment web", explain: what it is waiting for}]
    hints: [Read the events of its pods.]
    setup: [{apply: assets/demo/web.yaml}]
    solution: [{run: "kubectl -n {{namespace}} set image deployment/web web=nginx:1.27"}]
    checks: [{kind: deployment-ready, namespace: "{{namespace}}", name: web, says: web has 1 ready replica}]
"""

WEB = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 1
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: web, image: "nginx:%s"}]
"""


def repair_lab(lab_tree: Callable[..., Path]) -> Path:
    return lab_tree(LAB, {"assets/demo/web.yaml": WEB % "1.27-alpien"})


def session_for(lab_dir: Path, cluster: KubeCluster, tmp_path: Path, namespace: str) -> Session:
    return Session(load_lab(lab_dir, {"namespace": namespace}), cluster, Progress(tmp_path / "progress.sqlite3"))


def test_a_step_waits_for_its_setup_then_is_repaired_and_its_reset_undoes_the_setup(
        lab_tree: Callable[..., Path], cluster: KubeCluster, kubectl: Kubectl, namespace: str, tmp_path: Path) -> None:
    session = session_for(repair_lab(lab_tree), cluster, tmp_path, namespace)
    first, repair = session.lab.steps
    assert session.solve(first).outcome.status == "passed"  # type: ignore[union-attr]

    waiting = session.check(repair)
    assert waiting.status == "pending" and [r.id for r in waiting.results] == ["repair.setup"]
    assert "has not been prepared" in waiting.results[0].message
    assert waiting.results[0].hint == "open the step in labrunner's app, or run: labrunner setup demo repair"
    assert kubectl("get", "deployment", "web", "-n", namespace, check=False).returncode != 0  # checking changed nothing

    assert session.needs_setup(repair)
    assert [a.exit_code for a in session.set_up(repair)] == [0]
    assert not session.needs_setup(repair)
    broken = session.check(repair)
    assert broken.status == "failed" and "1.27-alpien" in broken.results[0].message + " ".join(broken.results[0].details)

    solved = session.solve(repair)  # already set up: only the solution runs
    assert [a.command for a in solved.actions] == [f"kubectl -n {namespace} set image deployment/web web=nginx:1.27"]
    assert solved.outcome is not None and solved.outcome.status == "passed"

    assert session.reset_commands(repair) == [f"kubectl delete --ignore-not-found -n {namespace} -f {session.lab.assets_dir / 'web.yaml'}"]
    assert all(a.exit_code == 0 for a in session.reset(repair))
    eventually(lambda: kubectl("get", "deployment", "web", "-n", namespace, check=False).returncode != 0, "web deleted")
    assert session.needs_setup(repair) and session.check(repair).status == "pending"  # opened again, it starts over


def test_a_solve_sets_up_a_step_first_when_nobody_has(lab_tree: Callable[..., Path], cluster: KubeCluster, namespace: str, tmp_path: Path) -> None:
    session = session_for(repair_lab(lab_tree), cluster, tmp_path, namespace)
    first, repair = session.lab.steps
    session.solve(first)
    solved = session.solve(repair)
    assert [a.command.split()[:2] for a in solved.actions] == [["kubectl", "apply"], ["kubectl", "-n"]]
    assert solved.outcome is not None and solved.outcome.status == "passed"


def test_selftest_proves_the_setup_breaks_and_the_solution_repairs(lab_tree: Callable[..., Path], cluster: KubeCluster,
                                                                   namespace: str, tmp_path: Path) -> None:
    rows = list(selftest(session_for(repair_lab(lab_tree), cluster, tmp_path, namespace)))
    assert [(row.id, row.before, row.after, row.ok) for row in rows] == [
        ("namespace", "failed", "passed", True), ("repair", "failed", "passed", True)]


def test_selftest_refuses_a_setup_that_hands_over_nothing_broken(lab_tree: Callable[..., Path], cluster: KubeCluster,
                                                                 namespace: str, tmp_path: Path) -> None:
    healthy = LAB.replace("    setup: [{apply: assets/demo/web.yaml}]", '    setup: [{run: "kubectl create namespace {{namespace}}-b"}]')
    healthy = healthy.replace("checks: [{kind: deployment-ready, namespace: \"{{namespace}}\", name: web, says: web has 1 ready replica}]",
                              "checks: [{kind: namespace-active, name: \"{{namespace}}-b\", says: the second namespace is Active}]")
    assert healthy.count("{{namespace}}-b") == 2
    session = session_for(lab_tree(healthy), cluster, tmp_path, namespace)
    try:
        repair = list(selftest(session))[1]
    finally:
        subprocess.run(["kubectl", "delete", "namespace", f"{namespace}-b", "--wait=false"], capture_output=True,
                       env={**os.environ, "KUBECONFIG": str(cluster.info.kubeconfig[0])})
    assert (repair.before, repair.ok) == ("passed", False)
    assert repair.problem == "passes right after its setup: the state it hands the learner is not broken"


def test_the_command_line_sets_a_step_up_without_giving_its_fault_away(lab_tree: Callable[..., Path], sandbox: object,
                                                                      kubectl: Kubectl, namespace: str, tmp_path: Path) -> None:
    lab_dir = repair_lab(lab_tree)
    environment = {**os.environ, **kubectl.environment, "LABRUNNER_LABS_PATH": str(lab_dir.parent),  # type: ignore[attr-defined]
                   "LABRUNNER_STATE_DIR": str(tmp_path / "state")}

    def labrunner(*argv: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "labrunner", *argv, "-p", f"namespace={namespace}"],
                              capture_output=True, text=True, env=environment, timeout=120)

    shown = labrunner("show", "demo", "repair")
    assert "This step starts from a state labrunner prepares on your cluster: `labrunner setup demo repair`" in shown.stdout
    assert "web.yaml" not in shown.stdout and "alpien" not in shown.stdout
    assert json.loads(labrunner("show", "demo", "repair", "--json").stdout)["setup"] is True

    kubectl("create", "namespace", namespace)
    pending = labrunner("check", "demo", "repair")
    assert pending.returncode == 1 and "labrunner setup demo repair" in pending.stdout

    done = labrunner("setup", "demo", "repair")
    assert done.returncode == 0, done.stderr
    assert "web.yaml" not in done.stdout + done.stderr and "is set up on" in done.stderr
    assert kubectl("get", "deployment", "web", "-n", namespace).returncode == 0
    again = labrunner("setup", "demo", "repair")
    assert again.returncode == 0 and "already set up" in again.stderr and "labrunner reset demo repair" in again.stderr
    checked = labrunner("check", "demo", "repair", "--json")
    assert checked.returncode == 1 and json.loads(checked.stdout)["checks"][0]["id"] == "repair.deployment-ready"
    nothing = labrunner("setup", "demo", "namespace")
    assert nothing.returncode == 0 and "nothing to set up" in nothing.stderr
