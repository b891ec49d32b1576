"""Proving a task: with a seed's names, after its setup every sub-task fails (no free points,
no state that already satisfies a check), and after its reference solution every sub-task
passes; then what the task made is removed."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from labrunner.cluster.port import ClusterPort
from labrunner.exam.bank import TaskSummary, drawn
from labrunner.exam.grading import grade_task
from labrunner.session.actions import cluster_kind, reset_commands, run_commands
from labrunner.session.progress import ProgressStore
from labrunner.session.session import Session


@dataclass(frozen=True)
class TaskProof:
    id: str
    seed: int
    max: int
    after_setup: int
    after_solution: int
    ok: bool
    problem: str

    def as_json(self) -> dict[str, object]:
        return asdict(self)


def prove(summary: TaskSummary, seed: int, cluster: ClusterPort, progress: ProgressStore) -> TaskProof:
    task = drawn(summary, seed)
    assert task.exam is not None
    step = task.steps[0]
    session = Session(task, cluster, progress, attempt=f"selftest-{seed}")
    maximum = task.exam.points
    try:
        failed = next((a for a in session.set_up(step) if a.exit_code != 0), None)
        if failed:
            return TaskProof(task.id, seed, maximum, 0, 0, False, f"setup failed: {failed.command}: {failed.output[-200:]}")
        before = grade_task(task, 1, cluster)
        free = [s.id for s in before.subtasks if s.passed]
        solved = session.solve(step)
        if solved.failed_action is not None:
            action = solved.failed_action
            return TaskProof(task.id, seed, maximum, before.points, 0, False, f"solution failed: {action.command}: {action.output[-200:]}")
        after = grade_task(task, 1, cluster)
        missed = next((s for s in after.subtasks if not s.passed), None)
        problem = (f"sub-task {free[0]} passes right after the setup" if free else
                   f"sub-task {missed.id} fails after the solution: {missed.found}" if missed else "")
        return TaskProof(task.id, seed, maximum, before.points, after.points, not problem, problem)
    finally:
        run_commands(reset_commands(task, None, cluster_kind(cluster.info)), cluster.info, task.placeholder_values)
