"""What both faces do with an attempt: start one (draw, set up, start the clock), read a task
as drawn, reveal a solution, grade and record the result, clean up. Blocking calls for a
thread; no output of their own (the faces say what happens, through ``on_task``)."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from labrunner.cluster.port import ClusterPort
from labrunner.exam.attempts import Attempt, AttemptStore, ClusterChoice, TaskEntry, new_attempt_id
from labrunner.exam.bank import RUNS_ON, TaskSummary, drawn, entries, load_task
from labrunner.exam.draw import Candidate, draw_tasks
from labrunner.exam.grading import TaskResult, grade_task, result_document
from labrunner.lab.model import Lab
from labrunner.session.actions import ActionResult, cluster_kind, reset_commands, run_commands
from labrunner.session.progress import ProgressStore
from labrunner.session.rules import EXAM
from labrunner.session.session import Session


SETUP_WORKERS = 4
"""Tasks set up (and graded) at once."""


class ExamProblem(Exception):
    """What stops an attempt's operation, in a sentence for the candidate (and a hint)."""

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.message, self.hint = message, hint


@dataclass(frozen=True)
class StartOptions:
    tasks: int = 16
    minutes: int = 120
    seed: int | None = None
    domains: Sequence[str] = ()
    chosen: Sequence[str] = ()
    """Exactly these task ids, in this order (instead of a draw)."""
    legacy: bool = False
    mode: str = "exam"


@dataclass
class Started:
    attempt: Attempt
    tasks: list[Lab] = field(default_factory=list)
    """Each task as drawn, in the attempt's order."""


def runnable(bank: Sequence[TaskSummary], kind: str, *, legacy: bool) -> list[TaskSummary]:
    return [task for task in bank if task.runtime in RUNS_ON[kind] and (legacy or not task.legacy)]


def start_attempt(bank: Sequence[TaskSummary], cluster: ClusterPort, choice: ClusterChoice, options: StartOptions,
                  store: AttemptStore, progress: ProgressStore, *, seed: int,
                  on_task: Callable[[int, int], object] | None = None) -> Started:
    """Draw the tasks, set each up on the cluster (recording the attempt as it goes), then
    start the clock. Raises ExamProblem when nothing can be drawn or a setup fails."""
    by_id = {task.id: task for task in bank}
    kind = cluster_kind(cluster.info)
    if options.chosen:
        unknown = [t for t in options.chosen if t not in by_id]
        if unknown:
            raise ExamProblem(f"no task {unknown[0]!r} in the bank", "labrunner exam list shows the bank")
        not_here = [t for t in options.chosen if by_id[t].runtime not in RUNS_ON[kind]]
        if not_here:
            raise ExamProblem(f"task {not_here[0]} needs {by_id[not_here[0]].runtime}, and this is a {kind} cluster")
        ids, missing = tuple(options.chosen), {}
    else:
        picked = draw_tasks([Candidate(t.id, t.domain) for t in runnable(bank, kind, legacy=options.legacy)],
                            options.tasks, seed, options.domains)
        ids, missing = picked.ids, dict(picked.missing_weight)
    if not ids:
        raise ExamProblem(f"no task of the bank runs on this {kind} cluster" + (f" in {', '.join(options.domains)}" if options.domains else ""))
    now = time.time()
    attempt = Attempt(attempt=new_attempt_id(now), seed=seed, created=now, deadline=now + options.minutes * 60, minutes=options.minutes,
                      cluster=choice, tasks=[], missing_weight=missing, mode=options.mode)
    started = Started(attempt)
    drawn_tasks = [drawn(by_id[task_id], seed) for task_id in ids]
    done = iter(range(1, len(ids) + 1))

    def set_up(task: Lab) -> ActionResult | None:
        session = Session(task, cluster, progress, rules=EXAM, attempt=attempt.attempt)
        failed = next((a for a in session.set_up(task.steps[0]) if a.exit_code != 0), None)
        if on_task:
            on_task(next(done), len(ids))
        return failed

    # Tasks live in namespaces of their own: their setups run side by side (kubectl's start-up,
    # not the API server, is most of a setup's time).
    with ThreadPoolExecutor(max_workers=SETUP_WORKERS) as pool:
        failures = list(pool.map(set_up, drawn_tasks))
    for number, (task_id, task, failed) in enumerate(zip(ids, drawn_tasks, failures), start=1):
        assert task.exam is not None
        if failed is None:
            attempt.tasks.append(TaskEntry(number=number, id=task_id, domain=by_id[task_id].domain, points=task.exam.points,
                                           namespace=task.namespace or "", parameters=dict(task.parameter_values)))
            started.tasks.append(task)
    store.save(attempt)  # what was set up is on record, so a failed start can be cleaned
    first = next(((task_id, f) for task_id, f in zip(ids, failures) if f is not None), None)
    if first is not None:
        task_id, action = first
        raise ExamProblem(f"task {task_id} could not be set up: `{action.command}` exited {action.exit_code}: "
                          f"{(action.output.splitlines() or ['no output'])[-1]}",
                          f"the tasks set up stay on the cluster; labrunner exam clean {attempt.attempt} removes them")
    # The clock starts once every task is ready to work on.
    attempt.created = time.time()
    attempt.deadline = attempt.created + options.minutes * 60
    store.save(attempt)
    return started


def task_of(entry: TaskEntry) -> Lab:
    """The attempt's task as drawn (its recorded names), from the bank.

    Raises:
        ExamProblem: the task left the bank.
        LabInvalid: its file is now broken.
    """
    found = next((e for e in entries() if e.id == entry.id), None)
    if found is None:
        raise ExamProblem(f"task {entry.id} of this attempt is no longer in the bank")
    return load_task(found.directory, entry.parameters)


def statement(task: Lab, context: str) -> str:
    """The task as the candidate reads it: its context and namespace first, as the exam shows them."""
    line = f"Context: {context} · Namespace: {task.namespace}" if task.namespace else f"Context: {context}"
    return f"{line}\n\n{task.instructions(task.steps[0]).strip()}\n"


def solution_lines(task: Lab) -> list[str]:
    namespace = f"-n {task.namespace} " if task.namespace else ""
    lines = []
    for action in task.steps[0].solution:
        if action.explain:
            lines.append(f"# {action.explain}")
        lines.append(action.target if action.action == "run" else f"kubectl apply {namespace}-f {action.target}")
    return lines


def reveal(attempt: Attempt, number: int, store: AttemptStore) -> list[str]:
    """The task's reference solution with this attempt's names; the task is marked revealed
    (the attempt becomes practice). Raises KeyError for a task number it does not have."""
    entry = attempt.task(number)
    lines = solution_lines(task_of(entry))
    if not entry.revealed:
        entry.revealed = True
        store.save(attempt)
    return lines


def grade(attempt: Attempt, cluster: ClusterPort, numbers: Sequence[int] | None = None) -> list[TaskResult]:
    """The attempt's tasks (or only ``numbers``) graded against the cluster as it is now, side
    by side (a probe's pod takes seconds to start; other tasks' checks need not wait for it)."""
    entries = [entry for entry in attempt.tasks if numbers is None or entry.number in numbers]
    with ThreadPoolExecutor(max_workers=SETUP_WORKERS) as pool:
        return list(pool.map(lambda entry: grade_task(task_of(entry), entry.number, cluster, revealed=entry.revealed), entries))


def submit(attempt: Attempt, cluster: ClusterPort, store: AttemptStore) -> dict[str, object]:
    """Grade every task now and record the result (once: a submitted attempt's result stands)."""
    if attempt.result is not None:
        return attempt.result
    now = time.time()
    document = result_document(attempt.attempt, grade(attempt, cluster), deadline_passed=now > attempt.deadline)
    attempt.result, attempt.submitted_at = document, now
    store.save(attempt)
    return document


def clean(attempt: Attempt, cluster: ClusterPort) -> list[ActionResult]:
    """Undo every task of the attempt (its namespaces, and what its reset names)."""
    results = []
    for entry in attempt.tasks:
        task = task_of(entry)
        results += run_commands(reset_commands(task, None, cluster_kind(cluster.info)), cluster.info, task.placeholder_values)
    return results
