"""Selftest's verdicts, on the shared fake cluster: a step whose work is already done before
its solution is a defect of the lab, unless the step only observes (the registry says which)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from labrunner.lab.loader import load_lab
from labrunner.lab.model import Step
from labrunner.session.progress import Progress
from labrunner.session.selftest import selftest
from labrunner.session.session import Session, SolveOutcome
from tests.fakes import FakeCluster, namespace

LAB = """\
id: demo
title: Demo lab
summary: A lab for tests.
minutes: 10
level: beginner
tags: [services-networking]
parameters:
  namespace: {default: demo, kind: namespace, description: where the lab works}
steps:
  - id: first
    title: Create the first namespace
    instructions: steps/one.md
    commands: [{run: kubectl create namespace first, explain: creates it}]
    hints: [Namespaces are cluster-scoped.]
    solution: [{run: kubectl create namespace first}]
    checks: [{kind: namespace-active, name: first, says: the namespace first is Active}]
  - id: second
    title: Create the second namespace
    instructions: steps/one.md
    commands: [{run: kubectl create namespace second, explain: creates it}]
    hints: [Namespaces are cluster-scoped.]
    solution: [{run: kubectl create namespace second}]
    checks: [{kind: namespace-active, name: second, says: the namespace second is Active}]
  - id: look
    title: Look at the cluster
    instructions: steps/one.md
    commands: [{run: kubectl version, explain: asks the API server}]
    hints: [It answers.]
    solution: [{run: kubectl version}]
    checks: [{kind: cluster-reachable, says: the cluster answers}]
"""


def proved(lab_tree: Callable[..., Path], tmp_path: Path, cluster: FakeCluster, works: tuple[str, ...] = ("first", "second")) -> dict[str, Any]:
    session = Session(load_lab(lab_tree(LAB)), cluster, Progress(tmp_path / "selftest.sqlite3"))

    def solve(step: Step, **_: Any) -> SolveOutcome:  # what the solution's kubectl command would do
        if step.id in works:
            cluster.apply(namespace(step.id))
        return SolveOutcome((), session.check(step))

    session.solve = solve  # type: ignore[method-assign]
    return {row.id: row for row in selftest(session)}


def test_a_lab_whose_steps_each_do_their_work_is_proved(lab_tree: Callable[..., Path], tmp_path: Path) -> None:
    rows = proved(lab_tree, tmp_path, FakeCluster())
    assert [(row.before, row.after, row.ok) for row in rows.values()] == [
        ("failed", "passed", True), ("failed", "passed", True), ("passed", "passed", True)]  # the look step only observes


def test_a_step_already_done_before_its_solution_is_a_defect(lab_tree: Callable[..., Path], tmp_path: Path) -> None:
    rows = proved(lab_tree, tmp_path, FakeCluster({"namespaces": [namespace("first"), namespace("second")]}))
    assert rows["first"].ok  # the first step may: nothing came before it
    assert not rows["second"].ok and rows["second"].problem == "passes before its solution"
    assert rows["look"].ok


def test_a_step_still_failing_after_its_solution_says_which_check(lab_tree: Callable[..., Path], tmp_path: Path) -> None:
    rows = proved(lab_tree, tmp_path, FakeCluster(), works=("first",))
    assert not rows["second"].ok and rows["second"].after == "failed"
    assert rows["second"].problem == "the namespace second is Active: namespace second does not exist"
