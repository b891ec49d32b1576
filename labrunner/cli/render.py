"""Labs and steps as Markdown and as JSON, for the headless CLI.

Markdown is the one text form: rich renders it on a terminal, and a pipe or a
screen reader gets the Markdown source itself, which reads well as plain text.
"""

from __future__ import annotations

import os
import sys
from typing import Any

from labrunner.lab.model import Lab, Step


def lab_json(lab: Lab, *, with_steps: bool) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": lab.id,
        "title": lab.title,
        "summary": lab.summary,
        "minutes": lab.minutes,
        "level": lab.level,
        "tags": list(lab.tags),
        "requirements": [{"id": r.id, "text": r.text} for r in lab.requirements],
        "parameters": {p.name: {"value": p.value, "default": p.default, "kind": p.kind, "description": p.description} for p in lab.parameters},
        "steps": len(lab.steps),
        "directory": str(lab.directory),
    }
    if with_steps:
        data["steps"] = [{"number": s.number, "id": s.id, "title": s.title, "checks": len(s.checks)} for s in lab.steps]
    return data


def step_json(lab: Lab, step: Step, *, with_solution: bool) -> dict[str, Any]:
    data: dict[str, Any] = {
        "lab": lab.id,
        "number": step.number,
        "id": step.id,
        "title": step.title,
        "instructions": lab.instructions(step),
        "commands": [{"run": c.run, "explain": c.explain, "inside": c.inside, "output": c.output} for c in step.commands],
        "hints": len(step.hints),
        "setup": bool(step.setup),
        "checks": [
            {"id": c.id, "kind": c.kind, "says": c.says, "advisory": c.advisory, "args": _plain(c.args)}
            for c in step.checks
        ],
    }
    if with_solution:
        data["solution"] = [
            {"action": a.action, "target": a.target, "explain": a.explain, "only_on": list(a.only_on)}
            for a in step.solution
        ]
    return data


def lab_markdown(lab: Lab) -> str:
    lines = [f"# {lab.title}", "", lab.summary, ""]
    lines.append(f"**Level** {lab.level} · **Time** about {lab.minutes} min · **Tags** {', '.join(lab.tags)}")
    lines.append("")
    if lab.requirements:
        lines += ["## What you need", ""] + [f"- {r.text}" for r in lab.requirements] + [""]
    if lab.parameters:
        lines += ["## Parameters", ""]
        lines += [f"- `{p.name}` = `{p.value}`: {p.description}" for p in lab.parameters]
        lines.append("")
    lines += ["## Steps", ""]
    lines += [f"{s.number}. **{s.title}** (`{s.id}`)" for s in lab.steps]
    lines += ["", f"_Read a step: labrunner show {lab.id} STEP_"]
    return "\n".join(lines)


def step_markdown(lab: Lab, step: Step, *, with_solution: bool) -> str:
    last = len(lab.steps) - 1
    lines = [f"_{lab.title}, step {step.number} of {last}_", ""]
    if step.setup:
        # Only that there is one: what it does is the fault the learner is to find.
        lines += [f"> This step starts from a state labrunner prepares on your cluster: `labrunner setup {lab.id} {step.id}`"
                  " (the app does it when you open the step).", ""]
    lines += [lab.instructions(step).rstrip(), ""]
    lines += ["## Commands", "", "```sh"]
    for number, command in enumerate(step.commands):
        where = f"[in {command.inside}] " if command.inside else ""
        lines += ([""] if number else []) + [f"# {where}{command.explain}", command.run]
    lines += ["```", ""]
    lines += ["## What labrunner checks", ""]
    lines += [f"- {c.says}" + (" _(advisory)_" if c.advisory else "") for c in step.checks]
    lines.append("")
    if with_solution:
        lines += ["## Solution", "", "```sh"]
        for number, action in enumerate(step.solution):
            namespace = f"-n {lab.namespace} " if lab.namespace else ""
            shell_line = action.target if action.action == "run" else f"kubectl apply {namespace}-f {action.target}"
            comments = [f"# only on: {', '.join(action.only_on)}"] if action.only_on else []
            comments += [f"# {action.explain}"] if action.explain else []
            lines += ([""] if number else []) + comments + [shell_line]
        lines += ["```", ""]
    else:
        lines.append(
            f"_Stuck? labrunner hint {lab.id} {step.id} ({len(step.hints)} hint{'s' if len(step.hints) != 1 else ''});"
            f" labrunner show {lab.id} {step.id} --solution_"
        )
    return "\n".join(lines)


def print_markdown(text: str) -> None:
    """Rendered with rich on a terminal; the Markdown source when piped."""
    if not sys.stdout.isatty() or os.environ.get("TERM") == "dumb":
        print(text)
        return
    from rich.console import Console
    from rich.markdown import Markdown

    Console().print(Markdown(text, code_theme="ansi_dark"))


def _plain(value: Any) -> Any:
    if isinstance(value, dict) or hasattr(value, "items"):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    return value
