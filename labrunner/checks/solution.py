"""Running a step's solution: the commands a learner would type, in a shell whose
KUBECONFIG and context point at the chosen cluster."""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass

from labrunner.lab.model import Lab, Step


@dataclass(frozen=True)
class ActionResult:
    command: str
    exit_code: int
    output: str


def solution_commands(lab: Lab, step: Step, cluster_kind: str) -> list[str]:
    commands = []
    for action in step.solution:
        if action.only_on and cluster_kind not in action.only_on:
            continue
        if action.action == "run":
            commands.append(action.target)
        else:
            namespace = f"-n {lab.namespace} " if lab.namespace else ""
            commands.append(f"kubectl apply {namespace}-f {action.target}")
    return commands


def run_solution(lab: Lab, step: Step, *, kubeconfig: str | None, context: str | None, cluster_kind: str, timeout: float = 300) -> list[ActionResult]:
    environment = dict(os.environ)
    if kubeconfig:
        environment["KUBECONFIG"] = kubeconfig
    prefix = f"kubectl config use-context {context} >/dev/null && " if context else ""
    results = []
    for command in solution_commands(lab, step, cluster_kind):
        completed = subprocess.run(["sh", "-c", prefix + command], capture_output=True, text=True, env=environment, timeout=timeout)
        results.append(ActionResult(command, completed.returncode, (completed.stdout + completed.stderr).strip()))
        if completed.returncode != 0:
            break
    return results
