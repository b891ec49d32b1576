"""``labrunner exam ...``: a CKA-style attempt in your own terminal, headless.

The contract graders and our tests depend on (``--json`` documents):

- ``exam list``: ``[{"id", "title", "domain", "points", "runtime", "legacy"}]``
- ``exam start``: ``{"attempt", "seed", "deadline", "missing_weight", "tasks": [{"number", "id",
  "domain", "points", "namespace", "statement"}]}``
- ``exam status ATTEMPT``: time left and the tasks with their flags, never a check result
- ``exam submit ATTEMPT``: ``{"attempt", "score", "max", "percent", "passed", "deadline_passed",
  "domains": {...}, "tasks": [{"number", "id", "points", "max", "revealed", "subtasks": [{"id",
  "title", "passed", "points", "found", "why"}]}]}``

``deadline`` is ISO 8601 in UTC. Exit codes as elsewhere: 0 ok (submit: passed), 1 the answer is
no (submit: not passed; selftest: a violation), 2 usage or no cluster.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import sys
import time
from datetime import datetime, timezone
from typing import Any

from labrunner.cli.diagnostics import CliError, ExitCode, warn

DEFAULT_TASKS = 16
DEFAULT_MINUTES = 120


def add_commands(commands: Any, lazy: Any) -> None:
    from labrunner.cli.checking import cluster_flags
    from labrunner.lab.domains import DOMAINS

    exam = commands.add_parser("exam", help="a timed CKA-style attempt: fresh names every time, graded per sub-task",
                               description="Exam mode: draw tasks from the bank by the curriculum's domain weights, set them up on "
                                           "your cluster (or the sandbox), work against the clock, submit, review.")
    verbs = exam.add_subparsers(dest="verb", metavar="VERB", required=True)

    listing = verbs.add_parser("list", help="the task bank: id, title, domain, points, runtime, legacy")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(handler=lazy("labrunner.cli.exam", "list_tasks"))

    start = verbs.add_parser("start", help="draw tasks, set them up on the cluster and start the clock")
    start.add_argument("--tasks", type=int, default=DEFAULT_TASKS, metavar="N", help=f"how many tasks (default {DEFAULT_TASKS})")
    start.add_argument("--minutes", type=int, default=DEFAULT_MINUTES, metavar="M", help=f"time allowed (default {DEFAULT_MINUTES})")
    start.add_argument("--seed", type=int, help="draw this attempt again (the same tasks with the same names)")
    start.add_argument("--domain", action="append", default=[], choices=[d.id for d in DOMAINS], metavar="D",
                       help="only tasks of this domain (repeatable): " + ", ".join(d.id for d in DOMAINS))
    start.add_argument("--task", action="append", default=[], metavar="ID", help="exactly these tasks (repeatable), in this order")
    start.add_argument("--legacy", action="store_true", help="also draw tasks of topics the 2025 curriculum dropped")
    start.add_argument("--mode", choices=["exam", "mastery"], default="exam",
                       help="exam: no feedback until you submit; mastery: each task's feedback when you say you are done with it (in the app)")
    start.add_argument("--open", action="store_true", help="then open the exam screen (the countdown, the tasks, your notes)")
    start.add_argument("--json", action="store_true")
    cluster_flags(start, writes=True)
    start.set_defaults(handler=lazy("labrunner.cli.exam", "start"))

    opening = verbs.add_parser("open", help="the exam screen for an attempt (its review once submitted)")
    opening.add_argument("attempt")
    opening.set_defaults(handler=lazy("labrunner.cli.exam", "open_attempt"))

    practice = verbs.add_parser("practice", help="one task with fresh names in the lab workspace: checks, hints and its solution")
    practice.add_argument("id", help="a task of the bank (labrunner exam list)")
    practice.add_argument("--seed", type=int, help="these names again")
    cluster_flags(practice, writes=True)
    practice.set_defaults(handler=lazy("labrunner.cli.exam", "practice"))

    status = verbs.add_parser("status", help="time left and the tasks with their flags (never a result)")
    status.add_argument("attempt")
    status.add_argument("--json", action="store_true")
    status.set_defaults(handler=lazy("labrunner.cli.exam", "status"))

    solution = verbs.add_parser("solution", help="a task's reference solution with this attempt's names (the attempt becomes practice)")
    solution.add_argument("attempt")
    solution.add_argument("number", type=int)
    solution.set_defaults(handler=lazy("labrunner.cli.exam", "solution"))

    submit = verbs.add_parser("submit", help="grade the cluster as it is now and record the score")
    submit.add_argument("attempt")
    submit.add_argument("--json", action="store_true")
    submit.set_defaults(handler=lazy("labrunner.cli.exam", "submit"))

    review = verbs.add_parser("review", help="a submitted attempt: every sub-task, what was found, why it matters, the solutions")
    review.add_argument("attempt")
    review.set_defaults(handler=lazy("labrunner.cli.exam", "review"))

    history = verbs.add_parser("history", help="your attempts, scores per domain and the labs for your weakest domains")
    history.add_argument("--json", action="store_true")
    history.set_defaults(handler=lazy("labrunner.cli.exam", "history"))

    clean = verbs.add_parser("clean", help="remove what an attempt's tasks made on the cluster (their namespaces)")
    clean.add_argument("attempt")
    clean.set_defaults(handler=lazy("labrunner.cli.exam", "clean"))

    selftest = verbs.add_parser("selftest", help="prove tasks: after setup every sub-task fails, after the solution all pass")
    selftest.add_argument("ids", nargs="*", metavar="ID", help="tasks to prove (default: every task this cluster can run)")
    selftest.add_argument("--seeds", type=int, default=3, help="prove each task with this many seeds (default 3)")
    selftest.add_argument("--jobs", type=int, default=1, help="prove this many tasks at once (each in its own namespaces)")
    selftest.add_argument("--json", action="store_true")
    cluster_flags(selftest, writes=True)
    selftest.set_defaults(handler=lazy("labrunner.cli.exam", "selftest"))


# -- the bank ------------------------------------------------------------------------------


def _bank() -> list[Any]:
    from labrunner.exam.bank import bank

    found, broken = bank()
    for invalid in broken:
        for problem in invalid.problems:
            print(problem, file=sys.stderr)
        warn("an exam task is invalid and left out of the bank (its problems are above)")
    return found


def list_tasks(arguments: argparse.Namespace) -> int:
    from labrunner.lab.domains import BY_ID

    tasks = _bank()
    if arguments.json:
        json.dump([task.as_json() for task in tasks], sys.stdout, indent=2)
        print()
        return ExitCode.OK
    rows = [("TASK", "DOMAIN", "POINTS", "RUNS ON", "")]
    rows += [(t.id, BY_ID[t.domain].title if t.domain in BY_ID else t.domain, str(t.points), t.runtime, "legacy" if t.legacy else "")
             for t in tasks]
    widths = [max(len(row[column]) for row in rows) for column in range(5)]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip())
    return ExitCode.OK


# -- an attempt ----------------------------------------------------------------------------


def _iso(moment: float) -> str:
    return datetime.fromtimestamp(moment, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _store() -> Any:
    from labrunner.exam.attempts import AttemptStore

    return AttemptStore.default()


def _load(attempt_id: str) -> Any:
    try:
        return _store().load(attempt_id)
    except (KeyError, ValueError) as failure:
        raise CliError(str(failure.args[0] if failure.args else failure)) from None


def _progress() -> Any:
    """Exam sessions keep their records (which setups ran) apart from the learner's labs."""
    from labrunner.paths import state_dir
    from labrunner.session.progress import Progress

    return Progress(state_dir() / "exams" / "progress.sqlite3")


def _task_of(entry: Any) -> Any:
    """The attempt's task as drawn, or a one-line error."""
    from labrunner.exam.service import ExamProblem, task_of
    from labrunner.lab.problems import LabInvalid

    try:
        return task_of(entry)
    except ExamProblem as problem:
        raise CliError(problem.message) from None
    except LabInvalid as invalid:
        for found in invalid.problems:
            print(found, file=sys.stderr)
        raise CliError(f"task {entry.id} of this attempt is now invalid", ExitCode.FAILED) from None


def statement(task: Any, context: str) -> str:
    from labrunner.exam.service import statement as stated

    return stated(task, context)


def solution_lines(task: Any) -> list[str]:
    from labrunner.exam.service import solution_lines as lines

    return lines(task)


def _cluster_for(attempt: Any) -> Any:
    """The cluster the attempt started on, whatever this shell's KUBECONFIG and context say now."""
    import os

    from labrunner.cli.checking import open_cluster

    choice = attempt.cluster
    flags = argparse.Namespace(kubeconfig=None, context=None if choice.sandbox else choice.context, sandbox=choice.sandbox)
    if choice.sandbox or choice.kubeconfig is None:
        return open_cluster(flags)
    previous = os.environ.get("KUBECONFIG")
    os.environ["KUBECONFIG"] = choice.kubeconfig  # a list of files, as the variable holds them
    try:
        return open_cluster(flags)
    finally:
        if previous is None:
            del os.environ["KUBECONFIG"]
        else:
            os.environ["KUBECONFIG"] = previous


def start(arguments: argparse.Namespace) -> int:
    from labrunner.cli.checking import _refuse_risky, open_cluster
    from labrunner.exam.attempts import ClusterChoice
    from labrunner.exam.service import ExamProblem, StartOptions, start_attempt
    from labrunner.lab.domains import BY_ID

    if arguments.tasks < 1 or arguments.minutes < 1:
        raise CliError("--tasks and --minutes must be at least 1", ExitCode.USAGE)
    bank = _bank()
    known = {task.id for task in bank}
    unknown = [task for task in arguments.task if task not in known]
    if unknown:
        from labrunner.lab.problems import did_you_mean

        raise CliError(f"no task {unknown[0]!r} in the bank" + did_you_mean(unknown[0], sorted(known)), ExitCode.USAGE,
                       hint="labrunner exam list shows the bank")
    cluster = open_cluster(arguments)
    _refuse_risky(arguments, cluster.info)
    seed = arguments.seed if arguments.seed is not None else secrets.randbelow(1_000_000)
    context = cluster.info.context or "default"
    choice = ClusterChoice(sandbox=arguments.sandbox, context=cluster.info.context, name=context,
                           kubeconfig=str(arguments.kubeconfig) if arguments.kubeconfig else os.environ.get("KUBECONFIG"))
    options = StartOptions(tasks=arguments.tasks, minutes=arguments.minutes, seed=seed, domains=tuple(arguments.domain),
                           chosen=tuple(arguments.task), legacy=arguments.legacy, mode=arguments.mode)
    if arguments.open:
        _need_terminal()
    progress = _progress()
    try:
        started = start_attempt(bank, cluster, choice, options, _store(), progress, seed=seed,
                                on_task=None if arguments.json else
                                lambda number, total: print(f"labrunner: setting up task {number} of {total}", file=sys.stderr, flush=True))
    except ExamProblem as problem:
        raise CliError(problem.message, ExitCode.FAILED, hint=problem.hint) from None
    finally:
        progress.close()
    attempt = started.attempt
    missing = attempt.missing_weight
    if missing:
        said = ", ".join(f"{BY_ID[d].title} ({w} % of the exam)" for d, w in missing.items())
        warn(f"this cluster cannot run enough tasks of: {said}; the attempt covers the rest of the curriculum")
    documents: list[dict[str, Any]] = [{"number": entry.number, "id": entry.id, "domain": entry.domain, "points": entry.points, "namespace": task.namespace,
                  "statement": statement(task, context)} for entry, task in zip(attempt.tasks, started.tasks)]
    if arguments.open:
        from labrunner.tui.exam import run_exam

        run_exam(attempt, started.tasks, cluster, _store())
        return ExitCode.OK
    if arguments.json:
        json.dump({"attempt": attempt.attempt, "seed": seed, "deadline": _iso(attempt.deadline), "missing_weight": missing,
                   "tasks": documents}, sys.stdout, indent=2, ensure_ascii=False)
        print()
        return ExitCode.OK
    print(f"Attempt {attempt.attempt} (seed {seed}): {len(documents)} tasks, {sum(t.points for t in attempt.tasks)} points, "
          f"{arguments.minutes} minutes, until {time.strftime('%H:%M', time.localtime(attempt.deadline))}.\n")
    for document in documents:
        print(f"## Task {document['number']} · {document['points']} points · {BY_ID[document['domain']].title}\n")
        print(document["statement"])
    print(f"Submit with: labrunner exam submit {attempt.attempt}   (time left: labrunner exam status {attempt.attempt})")
    return ExitCode.OK


def _need_terminal() -> None:
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        raise CliError("the exam screen needs a terminal", ExitCode.USAGE,
                       hint="headless: labrunner exam status / submit / review")


def open_attempt(arguments: argparse.Namespace) -> int:
    from labrunner.tui.exam import run_exam

    _need_terminal()
    attempt = _load(arguments.attempt)
    tasks = [_task_of(entry) for entry in attempt.tasks]
    run_exam(attempt, tasks, _cluster_for(attempt), _store())
    return ExitCode.OK


def practice(arguments: argparse.Namespace) -> int:
    """One task as a lab: the workspace with its checks, hints and solution; set up when opened."""
    from labrunner.exam.bank import drawn

    _need_terminal()
    task = next((t for t in _bank() if t.id == arguments.id), None)
    if task is None:
        raise CliError(f"no task {arguments.id!r} in the bank", ExitCode.USAGE, hint="labrunner exam list shows the bank")
    seed = arguments.seed if arguments.seed is not None else secrets.randbelow(1_000_000)
    lab = drawn(task, seed)
    from labrunner.cli.checking import _refuse_risky, open_cluster
    from labrunner.tui.app import run_lab

    cluster = open_cluster(arguments)
    _refuse_risky(arguments, cluster.info)
    print(f"labrunner: practising {task.id} with seed {seed} (again with: --seed {seed})", file=sys.stderr)
    run_lab(lab, cluster)
    return ExitCode.OK


def _left(seconds: float) -> str:
    if seconds <= 0:
        return "time is up"
    minutes, rest = divmod(int(seconds), 60)
    return f"{minutes // 60}:{minutes % 60:02d}:{rest:02d} left"


def status(arguments: argparse.Namespace) -> int:
    attempt = _load(arguments.attempt)
    left = attempt.seconds_left()
    tasks = [{"number": t.number, "id": t.id, "domain": t.domain, "points": t.points, "namespace": t.namespace,
              "revealed": t.revealed, "flagged": t.flagged} for t in attempt.tasks]
    if arguments.json:
        json.dump({"attempt": attempt.attempt, "seed": attempt.seed, "deadline": _iso(attempt.deadline), "seconds_left": max(0, round(left)),
                   "submitted": attempt.submitted_at is not None, "practice": attempt.revealed, "tasks": tasks}, sys.stdout, indent=2)
        print()
        return ExitCode.OK
    state = "submitted" if attempt.submitted_at is not None else _left(left)
    print(f"Attempt {attempt.attempt}: {state} · {len(tasks)} tasks · {sum(t.points for t in attempt.tasks)} points"
          + (" · practice (a solution was revealed)" if attempt.revealed else ""))
    for task in attempt.tasks:
        flags = [flag for flag, on in (("flagged", task.flagged), ("solution revealed", task.revealed)) if on]
        print(f"  {task.number:>2}. {task.id:<32} {task.points:>2} points  namespace {task.namespace}" + (f"  [{', '.join(flags)}]" if flags else ""))
    return ExitCode.OK


def solution(arguments: argparse.Namespace) -> int:
    from labrunner.exam.service import reveal

    attempt = _load(arguments.attempt)
    try:
        entry = attempt.task(arguments.number)
    except KeyError as missing:
        raise CliError(str(missing.args[0]), ExitCode.USAGE) from None
    first_time = not entry.revealed
    _task_of(entry)  # a task that left the bank is said in one line
    lines = reveal(attempt, entry.number, _store())
    if first_time and attempt.submitted_at is None:
        warn(f"task {entry.number}'s solution is revealed: attempt {attempt.attempt} is now practice, not a score in your history")
    print("\n".join(lines))
    return ExitCode.OK


def submit(arguments: argparse.Namespace) -> int:
    from labrunner.exam.service import submit as grade_and_record

    attempt = _load(arguments.attempt)
    if attempt.result is not None:
        warn(f"attempt {attempt.attempt} was submitted at {time.strftime('%H:%M', time.localtime(attempt.submitted_at))}; its result stands")
        return _print_result(attempt.result, arguments.json)
    document = grade_and_record(attempt, _cluster_for(attempt), _store())
    if document["deadline_passed"]:
        late = int((attempt.submitted_at - attempt.deadline) // 60)
        warn(f"submitted {late} min after the deadline: graded as the cluster is now, which the exam would not allow")
    return _print_result(document, arguments.json)


def _print_result(document: dict[str, Any], as_json: bool) -> int:
    from labrunner.lab.domains import BY_ID

    if as_json:
        json.dump(document, sys.stdout, indent=2, ensure_ascii=False)
        print()
    else:
        verdict = "passed" if document["passed"] else "not passed"
        print(f"Attempt {document['attempt']}: {document['score']} of {document['max']} points, {document['percent']} % — {verdict} (66 % passes)")
        for domain, figures in document["domains"].items():
            print(f"  {BY_ID[domain].title}: {figures['score']}/{figures['max']} ({figures['percent']} %)")
        for task in document["tasks"]:
            print(f"  task {task['number']:>2} {task['id']:<32} {task['points']}/{task['max']}" + ("  (solution revealed)" if task["revealed"] else ""))
        print(f"\nlabrunner exam review {document['attempt']} shows every sub-task with what was found and the solutions")
    return ExitCode.OK if document["passed"] else ExitCode.FAILED


def review(arguments: argparse.Namespace) -> int:
    from labrunner.cli.render import print_markdown
    from labrunner.exam.review import review_markdown

    attempt = _load(arguments.attempt)
    if attempt.result is None:
        raise CliError(f"attempt {attempt.attempt} is not submitted yet; the review comes after: labrunner exam submit {attempt.attempt}")
    print_markdown(review_markdown(attempt, lambda entry: solution_lines(_task_of(entry))))
    return ExitCode.OK


def history(arguments: argparse.Namespace) -> int:
    from labrunner.exam.history import summarize

    report = summarize(_store().all())
    if arguments.json:
        json.dump(report, sys.stdout, indent=2, ensure_ascii=False)
        print()
        return ExitCode.OK
    if not report["attempts"]:
        print("No attempts yet: labrunner exam start")
        return ExitCode.OK
    for row in report["attempts"]:
        score = f"{row['percent']} %" if row["submitted"] else "not submitted"
        kind = " (practice)" if row["practice"] else ""
        print(f"{row['attempt']}  {row['tasks']:>2} tasks  {score}{kind}")
    if report["weakest"]:
        print("\nYour weakest domains, and the labs that teach them:")
        for weak in report["weakest"]:
            labs = ", ".join(weak["labs"]) or "no lab yet"
            print(f"  {weak['title']}: {weak['percent']} % over your scored attempts · labs: {labs}")
    return ExitCode.OK


def clean(arguments: argparse.Namespace) -> int:
    from labrunner.exam.service import ExamProblem, clean as undo

    attempt = _load(arguments.attempt)
    try:
        results = undo(attempt, _cluster_for(attempt))
    except ExamProblem as problem:
        raise CliError(problem.message) from None
    for result in results:
        print(f"$ {result.command}" + (f"\n{result.output}" if result.output else ""))
    failures = sum(result.exit_code != 0 for result in results)
    if failures:
        raise CliError(f"{failures} command(s) failed while cleaning attempt {attempt.attempt}", ExitCode.FAILED)
    return ExitCode.OK


def selftest(arguments: argparse.Namespace) -> int:
    import tempfile
    from pathlib import Path

    from labrunner.cli.checking import _refuse_risky, open_cluster
    from labrunner.exam.bank import RUNS_ON
    from labrunner.exam.selftest import prove
    from labrunner.session.actions import cluster_kind
    from labrunner.session.progress import Progress

    bank = {task.id: task for task in _bank()}
    unknown = [task for task in arguments.ids if task not in bank]
    if unknown:
        raise CliError(f"no task {unknown[0]!r} in the bank", ExitCode.USAGE)
    cluster = open_cluster(arguments)
    _refuse_risky(arguments, cluster.info)
    kind = cluster_kind(cluster.info)
    chosen = [bank[i] for i in arguments.ids] if arguments.ids else [t for t in bank.values() if t.runtime in RUNS_ON[kind]]
    skipped = [t.id for t in chosen if t.runtime not in RUNS_ON[kind]]
    rows = []
    # Tasks side by side, a task's seeds one after another: two draws of one task may share what
    # is cluster-wide in it (CoreDNS's Corefile, a free worker node).
    work = [task for task in chosen if task.id not in skipped]
    with tempfile.TemporaryDirectory(prefix="labrunner-exam-selftest-") as scratch:
        progress = Progress(Path(scratch) / "progress.sqlite3")
        try:
            from concurrent.futures import ThreadPoolExecutor

            with ThreadPoolExecutor(max_workers=max(1, arguments.jobs)) as pool:
                proofs = pool.map(lambda task: [prove(task, seed, cluster, progress) for seed in range(1, arguments.seeds + 1)], work)
                for row in (row for task_rows in proofs for row in task_rows):
                    rows.append(row)
                    if not arguments.json:
                        print(f"{'ok ' if row.ok else 'BAD'} {row.id:<32} seed {row.seed}  after setup {row.after_setup}/{row.max}  "
                              f"after solution {row.after_solution}/{row.max}" + (f"  {row.problem}" if row.problem else ""), flush=True)
        finally:
            progress.close()
    violations = sum(not row.ok for row in rows)
    if skipped:
        warn(f"not proved here (they need another kind of cluster than {kind}): {', '.join(skipped)}")
    if arguments.json:
        json.dump({"violations": violations, "skipped": skipped, "tasks": [row.as_json() for row in rows]}, sys.stdout, indent=2)
        print()
    return ExitCode.OK if violations == 0 else ExitCode.FAILED
