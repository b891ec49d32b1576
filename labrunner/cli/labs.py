"""Commands that read labs: list, show, hint, validate, schema. No cluster needed."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from labrunner import paths
from labrunner.cli.diagnostics import CliError, ExitCode, warn
from labrunner.cli.render import lab_json, lab_markdown, print_markdown, step_json, step_markdown
from labrunner.lab.catalog import LAB_FILE, LabEntry, discover, find
from labrunner.lab.index import LabIndex, signature
from labrunner.lab.model import Lab, Step
from labrunner.lab.problems import LabInvalid, did_you_mean, display_path


def _load(lab_id: str, arguments: argparse.Namespace) -> Lab:
    from labrunner.lab.loader import load_lab

    entry = find(lab_id, paths.lab_roots())
    if entry is None:
        known = [entry.id for entry in discover(paths.lab_roots())]
        raise CliError(
            f"no lab {lab_id!r}" + did_you_mean(lab_id, known),
            hint="labrunner list shows the labs" if known else "no labs found; labrunner doctor shows where labrunner looks",
        )
    parameters = dict(getattr(arguments, "params", []))
    if hasattr(arguments, "context"):  # a command that runs on a cluster: a workshop context names the learner's namespaces
        from labrunner.session.joining import parameters_for, workshop_for_kubeconfig

        workshop = None if getattr(arguments, "sandbox", False) else workshop_for_kubeconfig(arguments.kubeconfig, arguments.context)
        parameters = parameters_for(workshop, lab_id, parameters)
    try:
        return load_lab(entry.directory, parameters)
    except LabInvalid as invalid:
        raise _invalid(lab_id, invalid) from None


def _invalid(lab_id: str, invalid: LabInvalid) -> CliError:
    for problem in invalid.problems:
        print(problem, file=sys.stderr)
    return CliError(f"lab {lab_id!r} is invalid ({len(invalid.problems)} problems)", ExitCode.FAILED)


def _summary(entry: LabEntry) -> dict[str, Any]:
    from labrunner.lab.loader import load_lab

    try:
        lab = load_lab(entry.directory)
    except LabInvalid as invalid:
        return {"id": entry.id, "directory": str(entry.directory), "valid": False, "problems": [p.as_json() for p in invalid.problems]}
    return {**lab_json(lab, with_steps=False), "valid": True}


def summaries(entries: list[LabEntry]) -> list[dict[str, Any]]:
    """Each lab's summary, from the cache when nothing it depends on changed."""
    index = LabIndex(paths.cache_dir() / "lab-index.json")
    rows = []
    for entry in entries:
        digest = signature(entry.directory)
        row = index.get(entry.directory, digest)
        if row is None:
            row = _summary(entry)
            index.put(entry.directory, digest, row)
        rows.append(row)
    index.save()
    return rows


def list_labs(arguments: argparse.Namespace) -> int:
    """The labs grouped by the CKA domain each teaches (its first tag), heaviest domain first,
    with the learner's progress on the context their commands use."""
    rows = summaries(discover(paths.lab_roots()))
    for row in rows:
        if not row["valid"]:
            warn(f"lab {row['id']!r} is invalid; run: labrunner validate {display_path(Path(row['directory']))}")
    context, passed = _progress_of(arguments, [row for row in rows if row["valid"]])
    for row in rows:
        if row["valid"]:
            row["domain"] = _domain_of(row)
            row["passed"] = passed.get(row["id"], 0)
    if arguments.json:
        json.dump(rows, sys.stdout, indent=2)
        print()
        return ExitCode.OK
    if not rows:
        warn("no labs found; labrunner doctor shows where labrunner looks")
        return ExitCode.OK
    from labrunner.lab.domains import DOMAINS

    groups: list[tuple[str, list[dict[str, Any]]]] = []
    for domain in DOMAINS:
        members = [row for row in rows if row["valid"] and row["domain"] == domain.id]
        done, total = sum(row["passed"] for row in members), sum(row["steps"] for row in members)
        heading = f"{domain.title} · {domain.weight} % of the CKA · " + (
            f"{len(members)} lab{'s' if len(members) != 1 else ''}, {done} of {total} steps done" if members else "no lab yet")
        groups.append((heading, members))
    others = [row for row in rows if not row["valid"] or row["domain"] is None]
    if others:
        groups.append(("Other labs", others))
    table = [(row["id"], row["title"], f"{row['steps']} steps", f"~{row['minutes']} min", row["level"], f"{row['passed']}/{row['steps']} done",
              _also(row)) if row["valid"] else (row["id"], "(invalid: see labrunner validate)", "", "", "", "", "")
             for _, members in groups for row in members]
    widths = [max((len(line[column]) for line in table), default=0) for column in range(7)]
    lines = iter(table)
    for heading, members in groups:
        print(heading)
        for _ in members:
            print("  " + "  ".join(cell.ljust(width) for cell, width in zip(next(lines), widths)).rstrip())
        print()
    print(f"Progress on {context}. Open a lab: labrunner tui LAB · read it: labrunner show LAB")
    return ExitCode.OK


def _domain_of(row: dict[str, Any]) -> str | None:
    from labrunner.lab.domains import primary_domain

    domain = primary_domain(row.get("tags") or [])
    return domain.id if domain else None


def _also(row: dict[str, Any]) -> str:
    others = [tag for tag in row.get("tags") or [] if tag != row["domain"]]
    return f"also {', '.join(others)}" if others else ""


def _progress_of(arguments: argparse.Namespace, rows: list[dict[str, Any]]) -> tuple[str, dict[str, int]]:
    """The context progress is read for, and each lab's steps passed there (run with its default
    parameters). No progress file yet: nothing is created, and nothing is done."""
    from labrunner.cli.checking import context_key

    context = context_key(arguments)
    store = paths.state_dir() / "progress.sqlite3"
    if not store.is_file():
        return context, {}
    from labrunner.session.progress import Progress, ProgressKey

    progress = Progress(store)
    try:
        return context, {row["id"]: sum(record.status == "passed" for record in progress.results(ProgressKey(row["id"], context)).values())
                         for row in rows}
    finally:
        progress.close()


def show(arguments: argparse.Namespace) -> int:
    lab = _load(arguments.lab, arguments)
    if arguments.step is None:
        if arguments.json:
            _print_json(lab_json(lab, with_steps=True))
        else:
            print_markdown(lab_markdown(lab))
        return ExitCode.OK
    step = _step(lab, arguments.step)
    try:  # the Markdown is read again, and may have changed since the lab was loaded
        if arguments.json:
            _print_json(step_json(lab, step, with_solution=arguments.solution))
        else:
            print_markdown(step_markdown(lab, step, with_solution=arguments.solution))
    except LabInvalid as invalid:
        raise _invalid(lab.id, invalid) from None
    return ExitCode.OK


def hint(arguments: argparse.Namespace) -> int:
    """The lab's hints for a step, led by what the learner's last check of it found."""
    from labrunner.cli.checking import context_key, saved_progress
    from labrunner.session.progress import ProgressKey, current_step

    lab = _load(arguments.lab, arguments)
    if arguments.level is not None and arguments.level < 1:
        raise CliError("--level starts at 1")
    key = ProgressKey(lab.instance_key, context_key(arguments))
    progress = saved_progress()
    if arguments.step is None:
        step = _step(lab, current_step(progress, key, [s.id for s in lab.steps]))
    else:
        step = _step(lab, arguments.step)
    record = progress.results(key).get(step.id)
    unmet = [c for c in record.checks if c["status"] != "passed"] if record and record.status != "passed" else []
    # Progressive: each call reveals one more hint than the learner has seen (the TUI counts the same way).
    explicit = arguments.level is not None
    level = arguments.level or min(progress.hints_shown(key, step.id) + 1, len(step.hints))
    progress.show_hints(key, step.id, level)
    arguments.level = level
    shown = step.hints[:level]
    if arguments.json:
        _print_json({"lab": lab.id, "step": step.id, "hints": list(shown), "total": len(step.hints),
                     "last_check": {"status": record.status, "unmet": unmet} if record else None})
        return ExitCode.OK
    lines = [f"## Hints for step {step.number}: {step.title}", ""]
    if unmet:
        lines += ["Your last check of this step found:", ""]
        for found in unmet:
            lines.append(f"- {found['message']}" + (f" _Try:_ {found['hint']}" if found.get("hint") and found["hint"] not in shown else ""))
        lines.append("")
    for number, text in enumerate(shown, start=1):
        lines += [f"**Hint {number} of {len(step.hints)}.** {text}", ""]
    if arguments.level < len(step.hints):
        again = f"--level {arguments.level + 1}" if explicit else "again"
        lines.append(f"_Hint {arguments.level + 1} of {len(step.hints)}: labrunner hint {lab.id} {step.id} {again}_")
    else:
        lines.append(f"_No more hints. The solution: labrunner show {lab.id} {step.id} --solution_")
    print_markdown("\n".join(lines))
    return ExitCode.OK


def validate(arguments: argparse.Namespace) -> int:
    lab_dirs: list[Path] = []
    for raw in arguments.paths:
        path = Path(raw)
        # lexists, not is_file: a lab.yaml that is a folder or a symlink loop is a lab the
        # loader can say is broken, not a path that does not exist.
        if path.name == LAB_FILE and os.path.lexists(path):
            lab_dirs.append(path.parent)
        elif os.path.lexists(path / LAB_FILE):
            lab_dirs.append(path)
        elif path.is_dir():
            found = [entry.directory for entry in discover([path])]
            if not found:
                raise CliError(f"{raw}: no lab folders (folders holding {LAB_FILE}) here")
            lab_dirs.extend(found)
        else:
            raise CliError(f"{raw}: no such lab folder or {LAB_FILE}")
    from labrunner.lab.loader import load_lab

    results: list[dict[str, Any]] = []
    for lab_dir in lab_dirs:
        try:
            lab = load_lab(lab_dir)
            results.append({"lab": display_path(lab_dir.resolve()), "valid": True, "steps": len(lab.steps), "problems": []})
        except LabInvalid as invalid:
            results.append({"lab": display_path(lab_dir.resolve()), "valid": False, "problems": invalid.problems})
    invalid_count = sum(1 for result in results if not result["valid"])
    if arguments.json:
        _print_json([{**result, "problems": [p.as_json() for p in result["problems"]]} for result in results])
    else:
        for result in results:
            for problem in result["problems"]:
                print(problem)
        for result in results:
            state = f"valid ({result['steps']} steps)" if result["valid"] else f"{len(result['problems'])} problem(s)"
            print(f"labrunner: {result['lab']}: {state}", file=sys.stderr)
    return ExitCode.FAILED if invalid_count else ExitCode.OK


def schema(arguments: argparse.Namespace) -> int:
    from labrunner.lab.json_schema import lab_json_schema

    _print_json(lab_json_schema())
    return ExitCode.OK


def _step(lab: Lab, key: str) -> Step:
    try:
        return lab.step(key)
    except KeyError as missing:
        raise CliError(str(missing.args[0])) from None


def _print_json(data: Any) -> None:
    json.dump(data, sys.stdout, indent=2, ensure_ascii=False)
    print()
