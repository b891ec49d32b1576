"""``labrunner check LAB STEP``: a step's checks against a cluster, for people and graders.

``--json`` prints exactly ``{"lab", "step", "status", "checks": [{"id", "title",
"status", "message", "details", "hint"}]}``. Exit 0 passed, 1 failed (or still
pending), 2 could not check.
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
    check.add_argument("--json", action="store_true", help="print the result as JSON")
    check.add_argument("-p", "--param", dest="params", action="append", default=[], metavar="NAME=VALUE",
                       type=lambda text: tuple(text.split("=", 1)) if "=" in text else (_ for _ in ()).throw(argparse.ArgumentTypeError(f"expected NAME=VALUE, got {text!r}")))
    cluster_flags(check)
    check.set_defaults(handler=lazy("labrunner.cli.checking", "check"))

    solve = commands.add_parser("solve", help="run a step's solution (the commands a learner would type), then check it",
                                description="Run the solution of STEP, or of every step up to and including --through STEP, then check.")
    solve.add_argument("lab", help="lab id")
    solve.add_argument("step", nargs="?", help="step id or number")
    solve.add_argument("--through", metavar="STEP", help="solve every step from the first up to and including this one")
    cluster_flags(solve)
    solve.set_defaults(handler=lazy("labrunner.cli.checking", "solve"), params=[])

    status = commands.add_parser("status", help="every step's last check result, and the step you are on",
                                 description="Every step's last result on this cluster context, from your progress (no cluster call).")
    status.add_argument("lab", help="lab id")
    status.add_argument("--json", action="store_true", help="print the progress as JSON")
    cluster_flags(status)
    status.set_defaults(handler=lazy("labrunner.cli.checking", "status"), params=[])

    selftest = commands.add_parser("selftest", help="prove a lab: each step fails before its solution and passes after",
                                   description="For every step: run its checks (they must not pass), run its solution, "
                                               "then its checks again (they must pass within a minute). Exit 1 on any violation.")
    selftest.add_argument("lab", help="lab id")
    selftest.add_argument("--json", action="store_true")
    cluster_flags(selftest)
    selftest.set_defaults(handler=lazy("labrunner.cli.checking", "selftest"), params=[])


def cluster_flags(command: argparse.ArgumentParser) -> None:
    command.add_argument("--kubeconfig", type=Path, help="use this kubeconfig file")
    command.add_argument("--context", help="use this kubeconfig context")
    command.add_argument("--sandbox", action="store_true", help="use labrunner's built-in sandbox (started if needed)")


def open_cluster(arguments: argparse.Namespace) -> Any:
    """The cluster the flags name; the sandbox when asked for, or when there is no kubeconfig at all.
    A cluster that cannot be reached is a one-line CliError (exit 2), never a traceback."""
    from labrunner.cluster import errors

    try:
        return _open_cluster(arguments)
    except errors.ClusterError as failure:
        raise CliError(failure.message, ExitCode.FAILED_TO_CHECK, hint=failure.hint or None) from None


def _open_cluster(arguments: argparse.Namespace) -> Any:
    from labrunner.cluster import errors
    from labrunner.cluster.kube import connect

    def sandbox() -> Any:
        from labrunner.sandbox.control import SandboxError, start
        from labrunner.sandbox.files import SandboxFiles

        files = SandboxFiles.default()
        try:
            _, started = start(files)
        except SandboxError as failure:
            raise CliError(str(failure), ExitCode.FAILED_TO_CHECK) from None
        if started:
            print(f"labrunner: started the sandbox (export KUBECONFIG={files.kubeconfig} to use it yourself)", file=sys.stderr)
        return connect(files.kubeconfig)

    if arguments.sandbox:
        return sandbox()
    try:
        return connect(arguments.kubeconfig, arguments.context)
    except errors.NoKubeconfig:
        if arguments.kubeconfig or arguments.context:
            raise
        return sandbox()


def check(arguments: argparse.Namespace) -> int:
    from labrunner.checks.result import GLYPHS, step_status
    from labrunner.checks.runner import run_step
    from labrunner.cli.labs import _load, _step

    from labrunner.session.progress import Progress

    lab = _load(arguments.lab, arguments)
    if arguments.step is not None:
        _step(lab, arguments.step)  # a wrong step number is said before any cluster is started
    cluster = open_cluster(arguments)
    progress = Progress.default()
    if arguments.step is None:
        step = _step(lab, progress.current_step(lab.id, cluster.info.context, [s.id for s in lab.steps]))
    else:
        step = _step(lab, arguments.step)
    results = run_step(step, cluster)
    status = step_status(results)
    progress.record(lab.id, cluster.info.context, step.id, status, [r.as_json() for r in results])
    if arguments.json:
        json.dump({"lab": lab.id, "step": step.id, "status": status, "checks": [r.as_json() for r in results]}, sys.stdout, indent=2, ensure_ascii=False)
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
    return {"passed": ExitCode.OK, "failed": ExitCode.FAILED, "pending": ExitCode.FAILED}.get(status, ExitCode.FAILED_TO_CHECK)


def selftest(arguments: argparse.Namespace) -> int:
    import time

    from labrunner.checks.result import step_status
    from labrunner.checks.runner import run_step
    from labrunner.checks.solution import run_solution
    from labrunner.cli.labs import _load

    lab = _load(arguments.lab, arguments)
    cluster = open_cluster(arguments)
    kubeconfig = str(cluster.files[0]) if len(cluster.files) == 1 else ":".join(str(f) for f in cluster.files)
    kind = cluster_kind(cluster.info)
    rows, violations = [], 0
    for step in lab.steps:
        before = step_status(run_step(step, cluster))
        actions = run_solution(lab, step, kubeconfig=kubeconfig, context=arguments.context, cluster_kind=kind)
        failed_action = next((a for a in actions if a.exit_code != 0), None)
        deadline = time.monotonic() + 60
        while True:
            results = run_step(step, cluster)
            after = step_status(results)
            if after == "passed" or time.monotonic() > deadline:
                break
            time.sleep(1)
        # An observation step (nothing to change) may pass before; every other step must not.
        ok = after == "passed" and (before != "passed" or step.number == 0 or _observes(step)) and failed_action is None
        violations += not ok
        problem = "" if ok else (f"solution failed: {failed_action.command}: {failed_action.output[-200:]}" if failed_action
                                 else next((f"{r.title}: {r.message}" for r in results if r.status != "passed" and not r.advisory), "passes before its solution"))
        rows.append({"step": step.number, "id": step.id, "before": before, "after": after, "ok": ok, "problem": problem})
        if not arguments.json:
            print(f"{'ok ' if ok else 'BAD'} {step.number:>2} {step.id:<28} before: {before:<8} after: {after}" + (f"  {problem}" if problem else ""), flush=True)
    if arguments.json:
        json.dump({"lab": lab.id, "violations": violations, "steps": rows}, sys.stdout, indent=2)
        print()
    return ExitCode.OK if violations == 0 else ExitCode.FAILED


def cluster_kind(info: Any) -> str:
    """sandbox, kind, k3d, minikube or other: what a lab's ``only_on`` solution actions name."""
    if info.is_sandbox:
        return "sandbox"
    context = info.context or ""
    for prefix, kind in (("kind-", "kind"), ("k3d-", "k3d"), ("minikube", "minikube")):
        if context.startswith(prefix):
            return kind
    return "other"


def _observes(step: Any) -> bool:
    """A step whose checks only observe (probes), so they may pass before it."""
    return all(check.kind in ("probe-http", "probe-dns", "cluster-reachable", "nodes-ready", "command-available") for check in step.checks)


def solve(arguments: argparse.Namespace) -> int:
    import time

    from labrunner.checks.result import step_status
    from labrunner.checks.runner import run_step
    from labrunner.checks.solution import run_solution
    from labrunner.cli.labs import _load, _step

    lab = _load(arguments.lab, arguments)
    if bool(arguments.step) == bool(arguments.through):
        raise CliError("give a STEP, or --through STEP")
    last = _step(lab, arguments.step or arguments.through)
    steps = [last] if arguments.step else [s for s in lab.steps if s.number <= last.number]
    cluster = open_cluster(arguments)
    from labrunner.session.progress import Progress

    progress = Progress.default()
    kubeconfig = ":".join(str(f) for f in cluster.files)
    status = "passed"
    for step in steps:
        print(f"step {step.number}: {step.title}", file=sys.stderr)
        for action in run_solution(lab, step, kubeconfig=kubeconfig, context=arguments.context, cluster_kind=cluster_kind(cluster.info)):
            print(f"$ {action.command}", flush=True)
            if action.output:
                print(action.output, flush=True)
            if action.exit_code != 0:
                raise CliError(f"the solution's command failed with exit code {action.exit_code}", ExitCode.FAILED)
        deadline = time.monotonic() + 60
        while (status := step_status(results := run_step(step, cluster))) != "passed" and time.monotonic() < deadline:
            time.sleep(1)
        progress.record(lab.id, cluster.info.context, step.id, status, [r.as_json() for r in results])
        print(f"step {step.number} {status}", file=sys.stderr)
    return ExitCode.OK if status == "passed" else ExitCode.FAILED


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
    from labrunner.session.progress import Progress

    lab = _load(arguments.lab, arguments)
    context = context_key(arguments)
    progress = Progress.default()
    results = progress.results(lab.id, context)
    current = progress.current_step(lab.id, context, [s.id for s in lab.steps])
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
