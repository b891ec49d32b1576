"""A step's solution and its undoing, as the commands a learner would type, and running them.

Everything labrunner changes on a cluster for the learner goes through ``kubectl``
in a shell, never through the port: the learner can read each command, type it
themselves, and it behaves the same on the sandbox and on a real cluster.
"""

from __future__ import annotations

import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from labrunner.cluster.port import ClusterInfo
from labrunner.cluster.shellenv import learner_environment
from labrunner.lab.model import Lab, SolutionAction, Step


@dataclass(frozen=True)
class ActionResult:
    command: str
    exit_code: int
    output: str


def cluster_kind(info: ClusterInfo) -> str:
    """sandbox, kind, k3d, minikube or other: what an action's ``only_on`` names."""
    if info.is_sandbox:
        return "sandbox"
    context = info.context or ""
    for prefix, kind in (("kind-", "kind"), ("k3d-", "k3d"), ("minikube", "minikube")):
        if context.startswith(prefix):
            return kind
    return "other"


def _commands(lab: Lab, actions: Sequence[SolutionAction], kind: str, *, undo: bool = False) -> list[str]:
    commands = []
    namespace = f"-n {lab.namespace} " if lab.namespace else ""
    for action in actions:
        if action.only_on and kind not in action.only_on:
            continue
        if action.action == "run":
            commands.append(action.target)
        elif undo:
            commands.append(f"kubectl delete --ignore-not-found {namespace}-f {action.target}")
        else:
            commands.append(f"kubectl apply {namespace}-f {action.target}")
    return commands


def solution_commands(lab: Lab, step: Step, kind: str) -> list[str]:
    return _commands(lab, step.solution, kind)


def reset_commands(lab: Lab, step: Step | None, kind: str) -> list[str]:
    """The commands that undo ``step`` (or, with None, the whole lab) on this kind of cluster.

    A step without a declared ``reset`` deletes what its ``apply:`` actions created,
    newest first; a lab without one deletes the namespaces its parameters name.
    """
    if step is None:
        if lab.reset is not None:
            return _commands(lab, lab.reset, kind)
        return [f"kubectl delete namespace {p.value} --ignore-not-found" for p in lab.parameters if p.kind == "namespace"]
    if step.reset is not None:
        return _commands(lab, step.reset, kind)
    return _commands(lab, [a for a in reversed(step.solution) if a.action == "apply"], kind, undo=True)


def run_commands(commands: Sequence[str], info: ClusterInfo, parameters: Mapping[str, str] | None = None,
                 *, timeout: float = 300) -> list[ActionResult]:
    """Run each command in ``sh`` against the port's cluster; stop at the first failure."""
    results = []
    with learner_environment(info.kubeconfig, info.context, parameters) as environment:
        for command in commands:
            try:
                completed = subprocess.run(["sh", "-c", command], capture_output=True, text=True, env=environment,
                                           timeout=timeout, stdin=subprocess.DEVNULL)
            except subprocess.TimeoutExpired:
                results.append(ActionResult(command, 124, f"still running after {timeout:.0f} s; stopped"))
                break
            results.append(ActionResult(command, completed.returncode, (completed.stdout + completed.stderr).strip()))
            if completed.returncode != 0:
                break
    return results
