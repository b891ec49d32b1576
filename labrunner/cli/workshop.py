"""``labrunner workshop ...``: an instructor runs a room of learners on one shared cluster, headless.

The instructor's own kubeconfig context (or ``--sandbox``) makes the workshop; each learner gets a
kubeconfig of their own (``workshop kubeconfigs``). Everything lives in the cluster (see
:mod:`labrunner.workshop`); these commands only say what happened. ``status --json`` and
``export --json`` are documents for scripts (:mod:`labrunner.workshop.report`). Exit codes: 0 ok,
1 the answer is no (verify disagrees, doctor found a problem, a reset command failed), 2 usage
or no such workshop, 3 the cluster refused or could not be reached.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from labrunner.cli.diagnostics import CliError, ExitCode, warn


def add_commands(commands: Any, lazy: Any) -> None:
    from labrunner.cli.checking import cluster_flags

    workshop = commands.add_parser("workshop", help="run a room of learners on one shared cluster (instructor)",
                                   description="Workshop mode: a namespace and an identity per learner, their progress published "
                                               "into the cluster, who is stuck and why, verify, reset, export, teardown.")
    verbs = workshop.add_subparsers(dest="verb", metavar="VERB", required=True)

    def verb(name: str, help_text: str, handler: str, *, workshop_name: bool = True) -> argparse.ArgumentParser:
        parser: argparse.ArgumentParser = verbs.add_parser(name, help=help_text, description=help_text)
        if workshop_name:
            parser.add_argument("workshop", metavar="WS", help="the workshop's name (a DNS label, e.g. kcd-paris)")
        cluster_flags(parser)
        parser.set_defaults(handler=lazy("labrunner.cli.workshop", handler))
        return parser

    init = verb("init", "make the workshop (or complete it: running it again fixes what is missing)", "init")
    init.add_argument("--lab", required=True, help="the lab every learner does (labrunner list)")
    init.add_argument("--learners", type=int, metavar="N", help="learners 01..N")
    init.add_argument("--roster", type=Path, metavar="FILE", help="one learner name per line (or a CSV whose first column is the name)")
    init.add_argument("--ends", metavar="HH:MM", help="when the workshop ends (local time; tokens last an hour beyond)")
    init.add_argument("--jobs", type=int, default=4, help="learners set up at once (default 4)")

    kubeconfigs = verb("kubeconfigs", "write one kubeconfig per learner (0600) and a printable sheet", "kubeconfigs")
    kubeconfigs.add_argument("--out", type=Path, required=True, metavar="DIR", help="the folder to write them in")
    kubeconfigs.add_argument("--hours", type=float, help="how long the tokens last (default: until an hour after --ends, else 12)")
    kubeconfigs.add_argument("--learner", action="append", default=[], metavar="ID", help="only this learner (repeatable): a new token")

    status = verb("status", "every learner's step, time on it, last failure, heartbeat; who is stuck and why", "status")
    status.add_argument("--json", action="store_true")

    verb("watch", "the instructor's screen: the room live, who is stuck and why, learners grouped by failing reason, "
                  "one learner's checks, pods and events, verify, reset, announcements, a projector view", "watch")

    verify = verb("verify", "re-run a learner's checks with your credentials and say where their record disagrees", "verify")
    verify.add_argument("learner", metavar="LEARNER")
    verify.add_argument("--step", metavar="S", help="this step, every check (default: the current step, and what earlier ones keep)")
    verify.add_argument("--json", action="store_true")

    reset = verb("reset", "undo a learner's lab (or back to a step) with the lab's reset commands, and reset their record", "reset")
    reset.add_argument("learner", metavar="LEARNER")
    reset.add_argument("--to-step", metavar="S", help="undo each step from the furthest reached back to S, and put them on S")

    timer = verb("timer", "start a countdown every learner sees", "timer")
    timer.add_argument("--minutes", type=float, required=True, metavar="M")
    timer.add_argument("--label", required=True, metavar="TEXT")

    announce = verb("announce", "say something to the whole room", "announce")
    announce.add_argument("text", metavar="TEXT")

    export = verb("export", "every learner's results, each marked self-reported, verified or disputed", "export")
    form = export.add_mutually_exclusive_group(required=True)
    form.add_argument("--csv", action="store_true")
    form.add_argument("--json", action="store_true")

    teardown = verb("teardown", "revoke the learners' tokens and remove everything labelled for the workshop", "teardown")
    teardown.add_argument("--no-wait", action="store_true", help="do not wait for the namespaces to be gone")

    doctor = verb("doctor", "is the cluster ready: learners kept apart, policies enforced, images pullable", "doctor")
    doctor.add_argument("--skip-policy-proof", action="store_true", help="do not run the NetworkPolicy proof (half a minute)")
    doctor.add_argument("--skip-images", action="store_true", help="do not pull the lab's images")
    doctor.add_argument("--json", action="store_true")


# -- shared ------------------------------------------------------------------------------------


@contextmanager
def _said() -> Iterator[None]:
    """The workshop's and the cluster's failures as one line each, with the right exit code."""
    from labrunner.cluster import errors
    from labrunner.lab.problems import LabInvalid
    from labrunner.workshop.kubeconfigs import NoClusterEntry
    from labrunner.workshop.names import BadName
    from labrunner.workshop.reader import NoWorkshop
    from labrunner.workshop.service import WorkshopError

    try:
        yield
    except (WorkshopError, NoWorkshop) as failure:
        raise CliError(failure.message, ExitCode.USAGE, hint=failure.hint or None) from None
    except (BadName, NoClusterEntry) as failure:
        raise CliError(str(failure), ExitCode.USAGE) from None
    except LabInvalid as invalid:
        for problem in invalid.problems:
            print(problem, file=sys.stderr)
        raise CliError(f"the lab is invalid ({len(invalid.problems)} problems)", ExitCode.FAILED) from None
    except errors.ClusterError as failure:
        raise CliError(failure.message, ExitCode.UNAVAILABLE, hint=failure.hint or None) from None


def _cluster(arguments: argparse.Namespace) -> Any:
    from labrunner.cli.checking import open_cluster

    return open_cluster(arguments)


def _name(arguments: argparse.Namespace) -> str:
    from labrunner.workshop.names import BadName, check_workshop

    try:
        return check_workshop(arguments.workshop)
    except BadName as bad:
        raise CliError(str(bad), ExitCode.USAGE) from None


def _print_done(done: Any) -> None:
    sys.stdout.write(f"{done}\n")  # one write: init reports from several threads
    sys.stdout.flush()


def _ends(text: str | None, now: datetime | None = None) -> float | None:
    """``HH:MM`` (local time; tomorrow when it has passed today) or an ISO time, as epoch seconds."""
    if not text:
        return None
    now = now or datetime.now().astimezone()
    try:
        hour, minute = (int(part) for part in text.split(":"))
        moment = now.replace(hour=hour, minute=minute, second=0, microsecond=0)
    except ValueError:
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            raise CliError(f"--ends {text!r}: expected HH:MM (local time) or an ISO 8601 time", ExitCode.USAGE) from None
        return (moment if moment.tzinfo else moment.astimezone()).timestamp()
    if moment <= now:
        moment += timedelta(days=1)
    return moment.timestamp()


def _steps(lab: Any) -> list[Any]:
    from labrunner.workshop.report import StepInfo

    return [StepInfo(step.id, step.number, step.title) for step in lab.steps]


# -- the commands ---------------------------------------------------------------------------------


def init(arguments: argparse.Namespace) -> int:
    from labrunner.cli.labs import _load
    from labrunner.workshop import names, service

    workshop = _name(arguments)
    lab = _load(arguments.lab, argparse.Namespace(params=[]))
    with _said():
        if arguments.roster is not None:
            try:
                learners = names.roster(arguments.roster.read_text(encoding="utf-8"))
            except OSError as failure:
                raise CliError(f"cannot read the roster {arguments.roster}: {failure.strerror}", ExitCode.USAGE) from None
            if arguments.learners is not None and arguments.learners != len(learners):
                raise CliError(f"--learners {arguments.learners} but the roster names {len(learners)}", ExitCode.USAGE)
        elif arguments.learners is not None:
            if not 1 <= arguments.learners <= 999:
                raise CliError("--learners must be between 1 and 999", ExitCode.USAGE)
            learners = [names.Learner(ident, ident) for ident in names.numbered(arguments.learners)]
        else:
            raise CliError("say who the learners are: --learners N or --roster FILE", ExitCode.USAGE)
        ends = _ends(arguments.ends)
        cluster = _cluster(arguments)
        started = time.monotonic()
        made = service.init(cluster, workshop, lab, learners, ends=ends, report=_print_done, jobs=arguments.jobs)
    quota = made.sizing.quota()
    print(f"labrunner: workshop {workshop} ({lab.id}) has {len(made.record.learners)} learners in {names.namespace(workshop)}: "
          f"{made.count('created')} objects created, {made.count('updated')} put right, {made.count('unchanged')} already there "
          f"({time.monotonic() - started:.1f} s)", file=sys.stderr)
    print(f"labrunner: each learner's namespace: quota {', '.join(f'{k}={v}' for k, v in quota.items())}", file=sys.stderr)
    if cluster.info.is_sandbox or "127.0.0.1" in cluster.info.server or "localhost" in cluster.info.server:
        warn(f"the cluster's address {cluster.info.server} is this machine's own: learners on other machines cannot reach it")
    _say_instructor_steps(lab, cluster, made)
    print(f"labrunner: next: labrunner workshop doctor {workshop}; labrunner workshop kubeconfigs {workshop} --out DIR", file=sys.stderr)
    return ExitCode.OK


def _say_instructor_steps(lab: Any, cluster: Any, made: Any) -> None:
    """The lab's cluster-wide steps (scope: cluster), checked for the first learner: learners
    cannot do them, so each is done for the room or the instructor's to do."""
    from labrunner.workshop.instructor_steps import instructor_steps

    first = next(iter(made.record.learners.values()), None)
    if first is None:
        return
    steps = instructor_steps(lab, cluster, dict(first.parameters))
    for found in steps:
        if found.done:
            print(f"labrunner: step {found.step.number} ({found.step.id}) needs cluster-wide rights and is done for the room", file=sys.stderr)
        else:
            warn(f"step {found.step.number} ({found.step.id}) needs cluster-wide rights, which learners do not have, and is not done "
                 f"yet ({found.found}); do it for the room (labrunner show {lab.id} {found.step.id} --solution), or tell learners "
                 "to move past it")


def kubeconfigs(arguments: argparse.Namespace) -> int:
    from labrunner.workshop import service

    workshop = _name(arguments)
    with _said():
        cluster = _cluster(arguments)
        handouts = service.write_kubeconfigs(cluster, workshop, arguments.out, hours=arguments.hours,
                                             only=arguments.learner)
    for handout in handouts:
        print(f"{handout.file}\t{handout.namespace}\texpires {handout.expires}")
    if not arguments.learner:
        print(f"labrunner: {len(handouts)} kubeconfigs and the sheet {arguments.out / 'learners.md'}; each learner starts with "
              f"labrunner tui --kubeconfig learner-ID.yaml", file=sys.stderr)
    return ExitCode.OK


def _room(arguments: argparse.Namespace) -> tuple[Any, Any, Any]:
    from labrunner.workshop.reader import read_room
    from labrunner.workshop.service import load_lab

    workshop = _name(arguments)
    with _said():
        cluster = _cluster(arguments)
        room = read_room(cluster, workshop)
        lab = load_lab(room.workshop.lab)
    return cluster, room, lab


def status(arguments: argparse.Namespace) -> int:
    from labrunner.workshop.report import status_document

    _, room, lab = _room(arguments)
    document = status_document(room, _steps(lab), lab.minutes, time.time())
    if arguments.json:
        json.dump(document, sys.stdout, indent=2, ensure_ascii=False)
        print()
        return ExitCode.OK
    _print_status(document, lab)
    return ExitCode.OK


def watch(arguments: argparse.Namespace) -> int:
    from labrunner.workshop.reader import read_workshop

    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        raise CliError("the instructor's screen needs a terminal", ExitCode.USAGE,
                       hint=f"for scripts: labrunner workshop status {arguments.workshop} --json")
    workshop = _name(arguments)
    with _said():
        cluster = _cluster(arguments)
        read_workshop(cluster, workshop)  # no such workshop: one line here, before the screen opens
    from labrunner.tui.workshop_watch import run_watch  # Textual, only for this command

    run_watch(cluster, workshop)
    return ExitCode.OK


def _clock(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    seconds = int(seconds)
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}" if seconds >= 3600 else f"{seconds // 60}:{seconds % 60:02d}"


def _print_status(document: dict[str, Any], lab: Any) -> None:
    head = f"Workshop {document['workshop']}: {lab.title}"
    if document["ends"]:
        head += f"; ends {document['ends']}"
    print(head)
    if document["timer"]:
        timer = document["timer"]
        print(f"Timer: {timer['label']}, {_clock(timer['left_seconds'])} left")
    print()
    print(f"{'learner':<14} {'name':<18} {'online':<7} {'step':<28} {'on step':>8} {'passed':>7}  stuck / last failure")
    for learner in document["learners"]:
        current = learner["current"]
        step = f"{current['number']} {current['id']}" if current else "(not started)"
        stuck = "; ".join(s["text"] for s in learner["stuck"])
        failure = learner["last_failure"]
        note = stuck or (f"{failure['step']}: {failure['message']}" if failure else "")
        print(f"{learner['id']:<14} {learner['name'][:18]:<18} {'yes' if learner['online'] else 'no':<7} {step[:28]:<28} "
              f"{_clock(learner['on_step_seconds']):>8} {learner['passed']:>3}/{learner['total']:<3}  {note}")
    if document["groups"]:
        print()
        for group in document["groups"]:
            people = ", ".join(group["learners"])
            print(f"{len(group['learners'])} fail {group['step']} ({group['check']}): {group['reason']}  [{people}]")


def verify(arguments: argparse.Namespace) -> int:
    from labrunner.workshop.verification import verify as run

    workshop = _name(arguments)
    with _said():
        cluster = _cluster(arguments)
        state, verdicts = run(cluster, workshop, arguments.learner, step=arguments.step,
                              on_step=lambda step: print(f"labrunner: checking step {step.number}, {step.title}", file=sys.stderr)
                              if not arguments.json else None)
    if arguments.json:
        json.dump({"workshop": workshop, "learner": state.id, "agree": all(v.agrees for v in verdicts), "steps": [
            {"step": v.step.id, "number": v.step.number, "claimed": v.claimed, "verified": v.verified.status,
             "scope": v.verified.scope, "message": v.verified.message or None, "agrees": v.agrees} for v in verdicts]},
                  sys.stdout, indent=2, ensure_ascii=False)
        print()
    else:
        print(f"Learner {state.id} ({state.name}), checked with your credentials:")
        for v in verdicts:
            mark = "agrees" if v.agrees else "DISAGREES"
            scope = "" if v.verified.scope == "full" else " (what later steps keep)"
            print(f"  {v.step.number:>2}. {v.step.id:<28} claimed {v.claimed or 'nothing':<8} verified {v.verified.status:<8}"
                  f" {mark}{scope}")
            if not v.agrees and v.verified.message:
                print(f"      {v.verified.message}")
        if not verdicts:
            print("  nothing to check: the learner has not started")
    return ExitCode.OK if all(v.agrees for v in verdicts) else ExitCode.FAILED


def reset(arguments: argparse.Namespace) -> int:
    from labrunner.workshop.verification import reset as run

    workshop = _name(arguments)
    with _said():
        cluster = _cluster(arguments)
        outcome = run(cluster, workshop, arguments.learner, to_step=arguments.to_step,
                      on_command=lambda command: print(f"$ {command}", flush=True), report=_print_done)
    for action in outcome.actions:
        if action.exit_code != 0 and action.output:
            print(action.output, file=sys.stderr)
    where = f"step {outcome.to.number}, {outcome.to.title}" if outcome.to else "the start of the lab"
    print(f"labrunner: learner {outcome.state.id} is back at {where}; their labrunner follows within half a minute", file=sys.stderr)
    if outcome.failed:
        warn(f"{len(outcome.failed)} reset command(s) failed (above); the learner's namespaces and record were reset anyway")
        return ExitCode.FAILED
    return ExitCode.OK


def _change(arguments: argparse.Namespace, change: Callable[[Any, float], Any]) -> Any:
    from labrunner.workshop.service import change_workshop

    workshop = _name(arguments)
    with _said():
        cluster = _cluster(arguments)
        return change_workshop(cluster, workshop, lambda record: change(record, time.time()))


def timer(arguments: argparse.Namespace) -> int:
    if arguments.minutes <= 0:
        raise CliError("--minutes must be more than 0", ExitCode.USAGE)
    record = _change(arguments, lambda record, now: record.with_timer(arguments.minutes, arguments.label, now))
    from labrunner.workshop.records import stamp

    print(f"labrunner: timer {record.timer.label!r} runs until {stamp(record.timer.ends)}", file=sys.stderr)
    return ExitCode.OK


def announce(arguments: argparse.Namespace) -> int:
    if not arguments.text.strip():
        raise CliError("say something: workshop announce WS TEXT", ExitCode.USAGE)
    _change(arguments, lambda record, now: record.announcing(arguments.text, now))
    print(f"labrunner: announced to workshop {arguments.workshop}", file=sys.stderr)
    return ExitCode.OK


def export(arguments: argparse.Namespace) -> int:
    from labrunner.workshop.report import csv_text, export_rows

    _, room, lab = _room(arguments)
    rows = export_rows(room, _steps(lab))
    if arguments.csv:
        sys.stdout.write(csv_text(rows))
    else:
        json.dump({"workshop": room.workshop.workshop, "lab": room.workshop.lab, "rows": rows}, sys.stdout, indent=2, ensure_ascii=False)
        print()
    return ExitCode.OK


def teardown(arguments: argparse.Namespace) -> int:
    from labrunner.workshop import service

    workshop = _name(arguments)
    with _said():
        cluster = _cluster(arguments)
        done = service.teardown(cluster, workshop, wait=0 if arguments.no_wait else service.NAMESPACE_GONE_SECONDS, report=_print_done)
    if not done:
        print(f"labrunner: nothing labelled for workshop {workshop} on this cluster", file=sys.stderr)
        return ExitCode.OK
    kinds: dict[str, int] = {}
    for item in done:
        kinds[item.kind] = kinds.get(item.kind, 0) + 1
    print(f"labrunner: workshop {workshop} removed (its learners' tokens revoked first): " + ", ".join(f"{k} {n}" for k, n in kinds.items()),
          file=sys.stderr)
    return ExitCode.OK


def doctor(arguments: argparse.Namespace) -> int:
    from labrunner.workshop.doctor import doctor as run

    workshop = _name(arguments)
    with _said():
        cluster = _cluster(arguments)
        from labrunner.workshop.reader import read_workshop

        read_workshop(cluster, workshop)  # no such workshop: said before any proof runs
        findings = run(cluster, workshop, prove_policy=not arguments.skip_policy_proof, pull_images=not arguments.skip_images,
                       on_stage=lambda doing: print(f"labrunner: {doing}...", file=sys.stderr, flush=True))
    if arguments.json:
        json.dump({"workshop": workshop, "findings": [f.as_json() for f in findings]}, sys.stdout, indent=2, ensure_ascii=False)
        print()
    else:
        marks = {"passed": "✓", "failed": "✗", "error": "!", "info": "i"}
        for finding in findings:
            print(f"{marks.get(finding.status, '?')} {finding.title}: {finding.message}")
            for detail in finding.details:
                print(f"    {detail}")
    return ExitCode.OK if all(f.status in ("passed", "info") for f in findings) else ExitCode.FAILED
