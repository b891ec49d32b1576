"""``labrunner check LAB STEP``: a step's checks against a cluster, for people and graders.

``--json`` prints exactly ``{"lab", "step", "status", "checks": [{"id", "title",
"status", "message", "details", "hint"}]}``; with ``--all``, ``{"lab", "status",
"passed", "total", "steps": [that document for each step]}``. Exit 0 passed (every
step, with ``--all``), 1 failed (or still pending), 2 could not check.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from labrunner.cli.diagnostics import CliError, ExitCode


def add_commands(commands: Any, lazy: Any) -> None:
    check = commands.add_parser("check", help="check a step against the cluster, and say what is missing",
                                description="Run a step's checks against the cluster (your kubeconfig's, or the sandbox).")
    check.add_argument("lab", help="lab id")
    check.add_argument("step", nargs="?", help="step id or number (0-based); without it, the step you are on")
    check.add_argument("--all", action="store_true",
                       help="check every step, in one process and one connection (for graders); each step's result is recorded")
    check.add_argument("--json", action="store_true", help="print the result as JSON")
    lab_parameters(check)
    cluster_flags(check)
    check.set_defaults(handler=lazy("labrunner.cli.checking", "check"))

    solve = commands.add_parser("solve", help="run a step's solution (the commands a learner would type), then check it",
                                description="Run the solution of STEP, or of every step up to and including --through STEP, then check.")
    solve.add_argument("lab", help="lab id")
    solve.add_argument("step", nargs="?", help="step id or number")
    solve.add_argument("--through", metavar="STEP", help="solve every step from the first up to and including this one")
    cluster_flags(solve, writes=True)
    lab_parameters(solve)
    solve.set_defaults(handler=lazy("labrunner.cli.checking", "solve"))

    setup = commands.add_parser("setup", help="prepare the state a step starts from (a troubleshooting step's broken cluster)",
                                description="Run STEP's setup: the state it hands you to work from, often a broken one to repair. "
                                            "The app does it when you open the step; a solve does it first when needed.")
    setup.add_argument("lab", help="lab id")
    setup.add_argument("step", help="step id or number")
    setup.add_argument("--again", action="store_true", help="run the setup even if it already ran here (reset the step to start it over cleanly)")
    cluster_flags(setup, writes=True)
    lab_parameters(setup)
    setup.set_defaults(handler=lazy("labrunner.cli.checking", "setup"))

    reset = commands.add_parser("reset", help="undo a step (or the whole lab) on the cluster, and forget its result",
                                description="Undo what STEP creates (by default, what its solution applied), or with no STEP "
                                            "the whole lab (its namespaces), printing each command; then forget the results.")
    reset.add_argument("lab", help="lab id")
    reset.add_argument("step", nargs="?", help="step id or number; without it, the whole lab")
    cluster_flags(reset, writes=True)
    lab_parameters(reset)
    reset.set_defaults(handler=lazy("labrunner.cli.checking", "reset"))

    status = commands.add_parser("status", help="every step's last check result, and the step you are on",
                                 description="Every step's last result on this cluster context, from your progress (no cluster call).")
    status.add_argument("lab", help="lab id")
    status.add_argument("--json", action="store_true", help="print the progress as JSON")
    cluster_flags(status)
    lab_parameters(status)
    status.set_defaults(handler=lazy("labrunner.cli.checking", "status"))

    selftest = commands.add_parser("selftest", help="prove a lab: each step fails before its solution and passes after",
                                   description="For every step: run its checks (they must not pass), run its solution, "
                                               "then its checks again (they must pass within a minute). Exit 1 on any violation.")
    selftest.add_argument("lab", help="lab id")
    selftest.add_argument("--json", action="store_true")
    cluster_flags(selftest, writes=True)
    lab_parameters(selftest)
    selftest.set_defaults(handler=lazy("labrunner.cli.checking", "selftest"))


def lab_parameters(command: argparse.ArgumentParser) -> None:
    from labrunner.cli import _parameter

    command.add_argument("-p", "--param", dest="params", action="append", type=_parameter, default=[], metavar="NAME=VALUE",
                         help="run the lab with this parameter value (e.g. namespace=alice-np); progress is kept per value")


def cluster_flags(command: argparse.ArgumentParser, *, writes: bool = False) -> None:
    command.add_argument("--kubeconfig", type=Path, help="use this kubeconfig file")
    command.add_argument("--context", help="use this kubeconfig context")
    command.add_argument("--sandbox", action="store_true", help="use labrunner's built-in sandbox (started if needed)")
    if writes:
        command.add_argument("--yes", action="store_true",
                             help="change the current context's cluster even if it does not look like a local one")
    command.set_defaults(writes=writes)


def open_cluster(arguments: argparse.Namespace) -> Any:
    """The cluster the flags name; the sandbox when asked for, or when there is no kubeconfig at all.
    A cluster that cannot be had is a one-line CliError (exit 2), never a traceback."""
    from labrunner.cluster import errors
    from labrunner.cluster.opening import open_cluster as opening

    try:
        opened = opening(arguments.kubeconfig, arguments.context, sandbox=arguments.sandbox)
    except errors.ClusterError as failure:
        raise CliError(failure.message, ExitCode.FAILED_TO_CHECK, hint=failure.hint or None) from None
    if opened.started_sandbox:
        print(f"labrunner: started the sandbox (export KUBECONFIG={opened.sandbox_kubeconfig} to use it yourself)", file=sys.stderr)
    return opened.cluster


def open_session(arguments: argparse.Namespace, progress: Any = None, lab: Any = None) -> Any:
    """The lab (loaded here unless given), the cluster and the learner's progress on it, as one Session."""
    from labrunner.cli.labs import _load
    from labrunner.session.session import Session

    lab = lab or _load(arguments.lab, arguments)
    if getattr(arguments, "step", None) is not None:
        _step(lab, arguments.step)  # a wrong step number is said before any cluster is started
    cluster = open_cluster(arguments)
    if arguments.writes:
        _refuse_risky(arguments, cluster.info)
    own_record = progress is None  # selftest keeps a scratch record: never the learner's, never shared
    progress = progress or saved_progress()
    from labrunner.session.joining import join, workshop_of

    workshop = workshop_of(cluster.info.kubeconfig, cluster.info.context) if own_record else None
    if workshop is not None and workshop.lab == lab.id:
        import atexit

        joined = join(workshop, cluster, progress)
        progress = joined.progress
        atexit.register(joined.store.close)  # what the command recorded reaches the instructor before it exits
        print(f"labrunner: workshop {workshop.workshop}, learner {workshop.learner}: your progress is shared with the instructor",
              file=sys.stderr)
    elif workshop is not None:
        print(f"labrunner: warning: this is workshop {workshop.workshop}'s context, which runs the lab {workshop.lab}, not {lab.id}; "
              "your progress here stays on this machine", file=sys.stderr)
    session = Session(lab, cluster, progress, in_workshop=workshop is not None and workshop.lab == lab.id)
    if session.images_problem:
        print(f"labrunner: warning: {session.images_problem}", file=sys.stderr)
    return session


def saved_progress() -> Any:
    """The learner's progress store; when it cannot be saved (a read-only or full state
    folder) or was damaged, the command still runs and says so once on stderr."""
    from labrunner.session.progress import Progress

    progress = Progress.default()
    if progress.problem:
        print(f"labrunner: warning: {progress.problem}", file=sys.stderr)
    return progress


def _refuse_risky(arguments: argparse.Namespace, info: Any) -> None:
    """Commands that change the cluster do so on a non-local current context only when asked by name."""
    from labrunner.cluster.choices import caution_for

    if info.is_sandbox or arguments.context or arguments.yes:
        return
    caution = caution_for(info.context or "", info.server)
    if caution:
        raise CliError(f"not changing the current context: {caution}", ExitCode.USAGE,
                       hint=f"name it to confirm: --context {info.context} (or --yes); --sandbox uses the built-in cluster")


def _step(lab: Any, key: str) -> Any:
    from labrunner.cli.labs import _step as step_of

    return step_of(lab, key)


def check(arguments: argparse.Namespace) -> int:
    from labrunner.checks.result import GLYPHS

    from labrunner.cli.labs import _load

    lab = _load(arguments.lab, arguments)  # a wrong lab or step is a usage error, said before any cluster
    if arguments.all and arguments.step is not None:
        raise CliError("give a STEP, or --all", ExitCode.USAGE)
    wanted = _step(lab, arguments.step) if arguments.step is not None else None
    try:
        session = open_session(arguments, lab=lab)
    except CliError as failure:
        if not arguments.json:
            raise
        _could_not_check(arguments, lab, wanted, failure)  # a grader always gets a document to read
        return ExitCode.FAILED_TO_CHECK
    if arguments.all:
        return _check_all(arguments, session)
    lab = session.lab
    outcome = session.check(_step(lab, arguments.step) if arguments.step is not None else None)
    step, status, results = outcome.step, outcome.status, outcome.results
    if arguments.json:
        json.dump(_document(lab, step, status, results), sys.stdout, indent=2, ensure_ascii=False)
        print()
    else:
        print(f"{lab.title}, step {step.number}: {step.title} — {status}")
        for result in results:
            print(f"  {GLYPHS[result.status]} {result.title}{' (advisory)' if result.advisory else ''}")
            if result.status != "passed":
                print(f"      {result.message}")
                for detail in result.details:
                    print(f"      {detail}")
        hint = next((r.hint for r in results if r.hint and not r.advisory), None)
        if hint and status != "passed" and not any(hint in r.details for r in results):  # an error's remedy is already a detail
            print(f"\nhint: {hint}")
        if status == "passed" and step.number + 1 < len(lab.steps) and session.current.number == step.number + 1:
            print(f"\nnext: step {step.number + 1}, {lab.steps[step.number + 1].title} (labrunner show {lab.id} {step.number + 1})")
    return {"passed": ExitCode.OK, "failed": ExitCode.FAILED, "pending": ExitCode.FAILED}.get(status, ExitCode.FAILED_TO_CHECK)


def _check_all(arguments: argparse.Namespace, session: Any) -> int:
    """Every step checked now, in order, on one connection (``Session.grade``)."""
    from labrunner.checks.result import GLYPHS

    lab = session.lab
    outcomes = session.grade().outcomes
    documents = [_document(lab, outcome.step, outcome.status, outcome.results) for outcome in outcomes]
    passed = sum(outcome.status == "passed" for outcome in outcomes)
    status = "passed" if passed == len(outcomes) else ("error" if any(o.status == "error" for o in outcomes) else "failed")
    if arguments.json:
        json.dump({"lab": lab.id, "status": status, "passed": passed, "total": len(outcomes), "steps": documents},
                  sys.stdout, indent=2, ensure_ascii=False)
        print()
    else:
        print(f"{lab.title}: {passed} of {len(outcomes)} steps pass on this cluster now")
        for outcome in outcomes:
            print(f"  {GLYPHS[outcome.status]} {outcome.step.number:>2}. {outcome.step.title}")
            for result in outcome.results:
                if result.status != "passed" and not result.advisory:
                    print(f"        {result.title}: {result.message}")
    return {"passed": ExitCode.OK, "failed": ExitCode.FAILED}.get(status, ExitCode.FAILED_TO_CHECK)


def _document(lab: Any, step: Any, status: str, checks: Any) -> dict[str, Any]:
    """One step's ``check --json`` document."""
    return {"lab": lab.id, "step": step.id, "status": status, "checks": [c.as_json() for c in checks]}


def _could_not_check(arguments: argparse.Namespace, lab: Any, step: Any, failure: CliError) -> None:
    """The usual ``check --json`` document when no cluster could be had: every check an
    error with the reason, then the one-line diagnostic on stderr as usual."""
    from labrunner.cli.diagnostics import error

    if arguments.all:
        hint = failure.hint or None
        steps = [{"lab": lab.id, "step": s.id, "status": "error",
                  "checks": [{"id": c.id, "title": c.says, "status": "error", "message": failure.message,
                              "details": [hint] if hint else [], "hint": hint} for c in s.checks]} for s in lab.steps]
        json.dump({"lab": lab.id, "status": "error", "passed": 0, "total": len(steps), "steps": steps}, sys.stdout, indent=2, ensure_ascii=False)
        print()
        error(failure.message, hint)
        return
    if step is None:
        from labrunner.session.progress import ProgressKey, current_step

        step = lab.step(current_step(saved_progress(), ProgressKey(lab.instance_key, context_key(arguments)),
                                     [s.id for s in lab.steps]))
    hint = failure.hint or None
    checks = [{"id": check.id, "title": check.says, "status": "error", "message": failure.message,
               "details": [hint] if hint else [], "hint": hint} for check in step.checks]
    json.dump({"lab": lab.id, "step": step.id, "status": "error", "checks": checks}, sys.stdout, indent=2, ensure_ascii=False)
    print()
    error(failure.message, hint)


def selftest(arguments: argparse.Namespace) -> int:
    import tempfile

    from labrunner.session.progress import Progress
    from labrunner.session.selftest import selftest as prove

    # Its own progress: proving a lab must not mark every step passed in the learner's record.
    with tempfile.TemporaryDirectory(prefix="labrunner-selftest-") as scratch:
        progress = Progress(Path(scratch) / "progress.sqlite3")
        session = open_session(arguments, progress)
        rows = []
        try:
            for row in prove(session):
                rows.append(row)
                if not arguments.json:
                    print(f"{'ok ' if row.ok else 'BAD'} {row.step:>2} {row.id:<28} before: {row.before:<8} after: {row.after}"
                          + (f"  {row.problem}" if row.problem else ""), flush=True)
        finally:
            session.close()
            progress.close()
    violations = sum(not row.ok for row in rows)
    if arguments.json:
        json.dump({"lab": session.lab.id, "violations": violations, "steps": [row.as_json() for row in rows]}, sys.stdout, indent=2)
        print()
    return ExitCode.OK if violations == 0 else ExitCode.FAILED


def solve(arguments: argparse.Namespace) -> int:
    from labrunner.cli.labs import _load

    lab = _load(arguments.lab, arguments)
    if bool(arguments.step) == bool(arguments.through):
        raise CliError("give a STEP, or --through STEP")
    last = _step(lab, arguments.step or arguments.through)
    steps = [last] if arguments.step else [s for s in lab.steps if s.number <= last.number]
    arguments.step = None
    session = open_session(arguments, lab=lab)
    status = "passed"
    for step in steps:
        print(f"step {step.number}: {step.title}", file=sys.stderr)
        solved = session.solve(step, on_action=lambda command: print(f"$ {command}", flush=True))
        for action in solved.actions:
            if action.output:
                print(action.output, flush=True)
        if solved.failed_action:
            raise CliError(f"the solution's command failed with exit code {solved.failed_action.exit_code}", ExitCode.FAILED)
        assert solved.outcome is not None
        status = solved.outcome.status
        print(f"step {step.number} {status}", file=sys.stderr)
    return ExitCode.OK if status == "passed" else ExitCode.FAILED


def setup(arguments: argparse.Namespace) -> int:
    session = open_session(arguments)
    step = _step(session.lab, arguments.step)
    where = f"step {step.number}, {step.title}"
    if not step.setup:
        print(f"labrunner: {where} starts from what the steps before it left; it has nothing to set up", file=sys.stderr)
        return ExitCode.OK
    if not session.setup_commands(step):
        print(f"labrunner: {where} sets nothing up on this kind of cluster ({session.kind})", file=sys.stderr)
        return ExitCode.OK
    if not session.needs_setup(step) and not arguments.again:
        print(f"labrunner: {where} is already set up on {session.context}; to start it over: labrunner reset {session.lab.id} {step.id}"
              " (or --again)", file=sys.stderr)
        return ExitCode.OK
    # The commands are not printed: a troubleshooting step's setup is the fault to be found.
    actions = session.set_up(step)
    failed = next((a for a in actions if a.exit_code != 0), None)
    if failed:
        raise CliError(f"setting up {where} stopped: `{failed.command}` failed with exit code {failed.exit_code}: "
                       f"{failed.output.splitlines()[-1] if failed.output else 'no output'}", ExitCode.FAILED)
    session.go(step)
    print(f"labrunner: {where} is set up on {session.context}; read it with: labrunner show {session.lab.id} {step.id}", file=sys.stderr)
    return ExitCode.OK


def reset(arguments: argparse.Namespace) -> int:
    session = open_session(arguments)
    step = _step(session.lab, arguments.step) if arguments.step is not None else None
    what = f"step {step.number}, {step.title}" if step else f"the whole lab {session.lab.id}"
    commands = session.reset_commands(step)
    if not commands:
        print(f"labrunner: {what} changes nothing labrunner can undo on this cluster", file=sys.stderr)
    actions = session.reset(step, on_action=lambda command: print(f"$ {command}", flush=True))
    for action in actions:
        if action.output:
            print(action.output, flush=True)
    failed = next((a for a in actions if a.exit_code != 0), None)
    if failed:
        raise CliError(f"undoing {what} stopped: the command failed with exit code {failed.exit_code}; your progress is kept",
                       ExitCode.FAILED)
    where = f"step {step.number} is current again" if step else f"progress on {session.context} forgotten; the lab starts at step 0"
    print(f"labrunner: reset {what}; {where}", file=sys.stderr)
    return ExitCode.OK


def context_key(arguments: argparse.Namespace) -> str:
    """The context a command would use, read from the kubeconfig without calling the
    cluster (nor starting the sandbox): progress is kept per lab and context."""
    from labrunner.cluster.kubeconfig import inspect
    from labrunner.sandbox.files import SANDBOX_CONTEXT

    if arguments.sandbox:
        return SANDBOX_CONTEXT
    report = inspect({"KUBECONFIG": str(arguments.kubeconfig)} if arguments.kubeconfig else None)
    if not any(path.is_file() for path in report.files):
        return SANDBOX_CONTEXT
    return arguments.context or report.context or SANDBOX_CONTEXT


def status(arguments: argparse.Namespace) -> int:
    from datetime import datetime

    from labrunner.checks.result import GLYPHS
    from labrunner.cli.labs import _load
    from labrunner.session.progress import ProgressKey, current_step

    lab = _load(arguments.lab, arguments)
    context = context_key(arguments)
    progress = saved_progress()
    key = ProgressKey(lab.instance_key, context)
    results = progress.results(key)
    current = current_step(progress, key, [s.id for s in lab.steps])
    passed = sum(results.get(s.id) is not None and results[s.id].status == "passed" for s in lab.steps)
    if arguments.json:
        json.dump({"lab": lab.id, "context": context, "current": current, "passed": passed, "steps": [
            {"number": s.number, "id": s.id, "title": s.title,
             "status": results[s.id].status if s.id in results else None,
             "checked_at": datetime.fromtimestamp(results[s.id].checked_at).astimezone().isoformat(timespec="seconds") if s.id in results else None,
             "checks": list(results[s.id].checks) if s.id in results else []}
            for s in lab.steps]}, sys.stdout, indent=2, ensure_ascii=False)
        print()
        return ExitCode.OK
    print(f"{lab.title} on {context}: {passed} of {len(lab.steps)} steps passed")
    for step in lab.steps:
        record = results.get(step.id)
        mark = GLYPHS.get(record.status, "?") if record else " "
        when = datetime.fromtimestamp(record.checked_at).strftime("%d %b %H:%M") if record else "not checked"
        pointer = "→" if step.id == current else " "
        print(f"{pointer} {mark} {step.number:>2}. {step.title}  ({when})")
    return ExitCode.OK
