"""The lab workspace's parts: the step list, the commands, the check panel, the status line."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from textual.containers import VerticalScroll
from textual.widgets import Label, ListItem, ListView, Static

from labrunner.checks.result import GLYPHS
from labrunner.lab.model import Command, Step

NOT_CHECKED = "○"


class StepItem(ListItem):
    def __init__(self, step: Step) -> None:
        self.label = Label(f"  {step.number:>2} {step.title}", markup=False)  # kept: updated before it is mounted
        super().__init__(self.label)
        self.step = step

    def show(self, status: str | None, current: bool) -> None:
        glyph = GLYPHS.get(status or "", NOT_CHECKED)
        pointer = "→" if current else " "
        self.label.update(f"{pointer}{glyph} {self.step.number:>2} {self.step.title}")
        self.set_class(status == "passed", "-passed")
        self.set_class(status in ("failed", "error"), "-failed")
        self.set_class(current, "-current")


class StepList(ListView):
    """The lab's steps with their state as text (→ current, ✓ ✗ ! … ○), not only colour."""

    DEFAULT_CSS = """
    StepList { width: 32%; min-width: 24; max-width: 44; height: 1fr; border: round $panel; border-title-color: $text-accent; }
    StepList > StepItem Label { width: 1fr; }
    StepList > StepItem.-passed Label { color: $text-success; }
    StepList > StepItem.-failed Label { color: $text-error; }
    StepList > StepItem.-highlight Label { color: $block-cursor-foreground; }
    StepList > StepItem.-current Label { text-style: bold; }
    """

    def __init__(self, steps: Sequence[Step], **kwargs: Any) -> None:
        super().__init__(*(StepItem(step) for step in steps), **kwargs)

    def show(self, statuses: Mapping[str, str], current: str) -> None:
        for item in self.query(StepItem):
            item.show(statuses.get(item.step.id), item.step.id == current)


class CommandItem(ListItem):
    def __init__(self, command: Command) -> None:
        where = f"   (type it in {command.inside})" if command.inside else ""
        super().__init__(Static(f"$ {command.run}\n  {command.explain}{where}", markup=False))
        self.command = command


class CommandList(ListView):
    """The step's commands, one per row; ``c`` copies the highlighted one."""

    DEFAULT_CSS = """
    CommandList { height: auto; border: round $panel; border-title-color: $text-accent; }
    CommandList > CommandItem { padding: 0 1; }
    CommandList > CommandItem Static { width: 1fr; }
    """

    def __init__(self, commands: Sequence[Command], **kwargs: Any) -> None:
        super().__init__(*(CommandItem(command) for command in commands), **kwargs)

    @property
    def selected(self) -> Command | None:
        item = self.highlighted_child
        return item.command if isinstance(item, CommandItem) else None


class CheckPanel(VerticalScroll):
    """What the last check of the step found, check by check, in words."""

    DEFAULT_CSS = """
    CheckPanel { height: 1fr; border: round $panel; padding: 0 1; border-title-color: $text-accent; }
    CheckPanel.-passed { border: round $success; }
    CheckPanel.-failed { border: round $error; }
    CheckPanel #verdict { text-style: bold; }
    """

    def compose(self) -> Any:
        yield Static(id="verdict", markup=False)
        yield Static(id="body", markup=False)

    def show(self, verdict: str, body: str, state: str = "") -> None:
        self.query_one("#verdict", Static).update(verdict)
        self.query_one("#body", Static).update(body)
        for name in ("passed", "failed"):
            self.set_class(state == name, f"-{name}")


def outcome_text(outcome: Any, hints: Sequence[str], total_hints: int, next_title: str | None) -> tuple[str, str, str]:
    """(verdict line, body, state) for a step outcome: each check's sentence and status,
    what was found when it is not met, then the hints revealed so far."""
    status = outcome.status
    if status == "passed":
        verdict = "✓ Step passed." + (f" Press n for the next step: {next_title}." if next_title else " That was the last step: well done!")
    elif status == "error":
        verdict = "! Could not check this step (see below)."
    elif status == "pending":
        verdict = "… Not there yet: still in progress."
    else:
        verdict = "✗ Not done yet."
    lines: list[str] = []
    for result in outcome.results:
        lines.append(f"{GLYPHS[result.status]} {result.title}" + ("  (advisory)" if result.advisory else ""))
        if result.status != "passed":
            lines.append(f"    {result.message}")
            lines += [f"    {detail}" for detail in result.details]
    if hints and status != "passed":
        lines.append("")
        lines += [f"Hint {number} of {total_hints}: {text}" for number, text in enumerate(hints, start=1)]
    if status != "passed":
        more = "h for a hint" if len(hints) < total_hints else "s to see the solution"
        lines += ["", f"r re-checks (it also re-checks by itself when the cluster changes) · {more}"]
    return verdict, "\n".join(lines), "passed" if status == "passed" else "failed" if status in ("failed", "error") else ""
