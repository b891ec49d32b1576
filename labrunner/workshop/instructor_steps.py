"""The lab's steps a learner cannot do in a workshop (``scope: cluster``: a CNI, kube-system's
label, cluster-scoped objects): checked once with the instructor's credentials, so ``workshop
init`` can say which are done for the room and which the instructor still has to do."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from labrunner.checks.result import step_status
from labrunner.checks.runner import run_step
from labrunner.cluster.port import ClusterPort
from labrunner.lab.model import Lab, Step


@dataclass(frozen=True)
class InstructorStep:
    step: Step
    done: bool
    found: str
    """The first failing check's message, when not done."""


def instructor_steps(lab: Lab, cluster: ClusterPort, parameters: Mapping[str, str]) -> list[InstructorStep]:
    """Each ``scope: cluster`` step, checked as the instructor with one learner's parameters."""
    found = []
    for step in lab.steps:
        if step.scope != "cluster":
            continue
        results = run_step(step, cluster, {**lab.placeholder_values, **parameters})
        failing = next((r for r in results if r.status != "passed" and not r.advisory), None)
        found.append(InstructorStep(step, step_status(results) == "passed", failing.message if failing else ""))
    return found
