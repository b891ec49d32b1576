"""A step's solution and its undoing, as the commands a learner would type, and running them.

Everything labrunner changes on a cluster for the learner goes through ``kubectl``
in a shell, never through the port: the learner can read each command, type it
themselves, and it behaves the same on the sandbox and on a real cluster.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
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


def setup_commands(lab: Lab, step: Step, kind: str) -> list[str]:
    """What runs when ``step`` begins on this kind of cluster (empty for most steps)."""
    return _commands(lab, step.setup, kind)


def reset_commands(lab: Lab, step: Step | None, kind: str) -> list[str]:
    """The commands that undo ``step`` (or, with None, the whole lab) on this kind of cluster.

    A step without a declared ``reset`` deletes what its ``apply:`` actions created (its
    solution's, then its setup's: newest first); a lab without one deletes the namespaces
    its parameters name.
    """
    if step is None:
        if lab.reset is not None:
            return _commands(lab, lab.reset, kind)
        return [f"kubectl delete namespace {p.value} --ignore-not-found" for p in lab.parameters if p.kind == "namespace"]
    if step.reset is not None:
        return _commands(lab, step.reset, kind)
    applied = [*step.setup, *step.solution]
    return _commands(lab, [a for a in reversed(applied) if a.action == "apply"], kind, undo=True)


def run_commands(commands: Sequence[str], info: ClusterInfo, parameters: Mapping[str, str] | None = None,
                 *, timeout: float = 300, stop: threading.Event | None = None) -> list[ActionResult]:
    """Run each command in ``sh`` against the port's cluster; stop at the first failure,
    after ``timeout`` seconds, or as soon as ``stop`` is set (the learner quit)."""
    results = []
    with learner_environment(info.kubeconfig, info.context, parameters) as environment:
        for command in commands:
            result = _run(command, environment, timeout, stop)
            results.append(result)
            if result.exit_code != 0:
                break
    return results


def _run(command: str, environment: dict[str, str], timeout: float, stop: threading.Event | None) -> ActionResult:
    process = subprocess.Popen(["sh", "-c", command], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               env=environment, stdin=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + timeout
    while True:
        try:
            output, _ = process.communicate(timeout=0.2)
            return ActionResult(command, process.returncode, (output or "").strip())
        except subprocess.TimeoutExpired:
            stopped = stop is not None and stop.is_set()
            if stopped or time.monotonic() > deadline:
                os.killpg(process.pid, signal.SIGTERM)  # the shell and what it started (kubectl rollout status, ...)
                output, _ = process.communicate()
                why = "stopped: labrunner is closing" if stopped else f"still running after {timeout:.0f} s; stopped"
                return ActionResult(command, 124 if not stopped else 130, f"{(output or '').strip()}\n{why}".strip())
