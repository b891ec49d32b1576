"""Grading an attempt: each task's sub-tasks against the cluster as it is now.

A sub-task earns its points when every check it names passes; what the checks found is
kept for the review beside why the sub-task matters. A failing check whose object is not in
the task's namespace gets the runner's near miss (the same name in another namespace, a
similar name), said first in the candidate's terms ("you created Service web in default; the
task asked for amber-12ab"): that is the exam's most common way to lose points.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from labrunner.checks.result import CheckResult
from labrunner.checks.runner import checked, run_check
from labrunner.cluster.port import ClusterPort
from labrunner.lab.domains import DOMAINS
from labrunner.lab.model import Lab

PASS_PERCENT = 66.0
"""The CKA's pass mark."""


@dataclass(frozen=True)
class SubtaskResult:
    id: str
    title: str
    passed: bool
    points: int
    max: int
    found: str
    why: str

    def as_json(self) -> dict[str, object]:
        return {"id": self.id, "title": self.title, "passed": self.passed, "points": self.points, "found": self.found, "why": self.why}


@dataclass(frozen=True)
class TaskResult:
    number: int
    id: str
    domain: str
    revealed: bool
    subtasks: tuple[SubtaskResult, ...]

    @property
    def points(self) -> int:
        return sum(s.points for s in self.subtasks)

    @property
    def max(self) -> int:
        return sum(s.max for s in self.subtasks)

    def as_json(self) -> dict[str, object]:
        return {"number": self.number, "id": self.id, "points": self.points, "max": self.max, "revealed": self.revealed,
                "subtasks": [s.as_json() for s in self.subtasks]}


def grade_task(task: Lab, number: int, cluster: ClusterPort, *, revealed: bool = False) -> TaskResult:
    """Every sub-task of the drawn ``task``, checked now."""
    assert task.exam is not None
    step = task.steps[0]
    results = {check.id: checked(check, step, cluster, task.placeholder_values) for check in step.checks}
    subtasks = []
    for subtask in task.exam.subtasks:
        mine = [results[check_id] for check_id in subtask.checks]
        passed = all(result.own.status == "passed" for result in mine)
        failing = [result for result in mine if result.own.status != "passed"]
        found = "; ".join(_said(result.own) for result in (failing or mine))
        near = next((result.near_miss for result in failing if result.near_miss), None)
        if near is not None:
            found = f"{near.review} ({found})"
        subtasks.append(SubtaskResult(subtask.id, subtask.title, passed, subtask.points if passed else 0, subtask.points, found, subtask.why))
    domain = task.tags[0]
    return TaskResult(number, task.id, domain, revealed, tuple(subtasks))


def _said(result: CheckResult) -> str:
    """A check's finding for the review, whole: its message, and for a failure what follows it
    (the next mistakes a diagnosis names, its first piece of evidence; a shell check's exit code
    is the script's, not the candidate's: left out). Checks speak of "this step", as in a lab;
    here it is the task."""
    if result.status == "passed":
        said = result.title if result.message == "the script's exit code is as expected" else result.message
    else:
        following = [detail for detail in result.details if not detail.startswith("(the script exited")][:2]
        said = ": ".join([result.message, "; ".join(following)]) if following else result.message
    return _TASK_WORDS.sub("the task", said)


_TASK_WORDS = re.compile(r"\b(this|the) step\b")


def result_document(attempt_id: str, tasks: Sequence[TaskResult], *, deadline_passed: bool) -> dict[str, object]:
    """What ``labrunner exam submit --json`` prints."""
    score, maximum = sum(t.points for t in tasks), sum(t.max for t in tasks)
    percent = round(100 * score / maximum, 1) if maximum else 0.0
    domains: dict[str, dict[str, object]] = {}
    for domain in DOMAINS:
        mine = [t for t in tasks if t.domain == domain.id]
        if mine:
            got, most = sum(t.points for t in mine), sum(t.max for t in mine)
            domains[domain.id] = {"score": got, "max": most, "percent": round(100 * got / most, 1) if most else 0.0}
    return {"attempt": attempt_id, "score": score, "max": maximum, "percent": percent, "passed": percent >= PASS_PERCENT,
            "deadline_passed": deadline_passed, "domains": domains, "tasks": [t.as_json() for t in tasks]}


def check_results(task: Lab, cluster: ClusterPort) -> list[CheckResult]:
    """The task's checks as a practice session shows them (feedback on)."""
    step = task.steps[0]
    return [run_check(check, step, cluster, task.placeholder_values) for check in step.checks]
