"""The lab picker: every lab, what it asks of the cluster (checked on this one), and your progress."""

from __future__ import annotations

from typing import Any

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Footer, OptionList, Static
from textual.widgets.option_list import Option

from labrunner.lab.model import Lab
from labrunner.session.progress import ProgressKey
from labrunner.tui.messages import LabChosen


class RequirementsChecked(Message):
    def __init__(self, states: dict[str, tuple[str, str]]) -> None:
        super().__init__()
        self.states = states
        """requirement id -> (glyph, sentence)"""


def requirement_states(cluster: Any, wanted: set[str]) -> dict[str, tuple[str, str]]:
    """What this cluster offers, for the requirements the labs name (blocking: a worker runs it)."""
    from labrunner.checks.requirements import requirement_states as states_of

    return {identifier: (state.glyph, state.said) for identifier, state in states_of(cluster, wanted).items()}


class LabPickerScreen(Screen[None]):
    DEFAULT_CSS = """
    LabPickerScreen Horizontal { height: 1fr; }
    LabPickerScreen #labs { width: 44; height: 1fr; border: round $panel; }
    LabPickerScreen #about { width: 1fr; height: 1fr; border: round $panel; padding: 0 1; }
    """
    BINDINGS = [
        Binding("j", "cursor_down", show=False),
        Binding("k", "cursor_up", show=False),
        Binding("f2", "app.switch_cluster", "Cluster", id="picker.cluster"),
    ]

    def __init__(self, labs: list[Lab], problems: list[str], cluster: Any, progress: Any, context: str) -> None:
        super().__init__()
        self.labs, self.problems, self.cluster, self.progress, self.context = labs, problems, cluster, progress, context
        self.states: dict[str, tuple[str, str]] = {}

    def compose(self) -> ComposeResult:
        with Horizontal():
            options = []
            for lab in self.labs:
                passed = sum(r.status == "passed" for r in self.progress.results(ProgressKey(lab.instance_key, self.context)).values())
                options.append(Option(f"{lab.title}\n  ~{lab.minutes} min · {lab.level} · {passed}/{len(lab.steps)} steps done", id=lab.id))
            yield OptionList(*options, id="labs")
            with VerticalScroll(id="about"):
                yield Static(id="detail", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#labs", OptionList).border_title = "Labs"
        self.query_one("#about").border_title = "About"
        self.show(0)
        wanted = {r.id for lab in self.labs for r in lab.requirements}
        self.check_requirements(wanted)

    @work(thread=True, exclusive=True, exit_on_error=False, group="requirements")
    def check_requirements(self, wanted: set[str]) -> None:
        self.post_message(RequirementsChecked(requirement_states(self.cluster, wanted)))

    @on(RequirementsChecked)
    def requirements_checked(self, message: RequirementsChecked) -> None:
        self.states = message.states
        self.show(self.query_one("#labs", OptionList).highlighted or 0)

    def show(self, index: int) -> None:
        detail = self.query_one("#detail", Static)
        if not self.labs:
            detail.update("No labs found.\n\n" + "\n".join(self.problems) + "\n\nlabrunner doctor shows where labrunner looks.")
            return
        lab = self.labs[index]
        lines = [lab.title, "", lab.summary, "", f"~{lab.minutes} minutes · {lab.level} · {len(lab.steps)} steps · {', '.join(lab.tags)}", "",
                 "What it needs from the cluster:"]
        for requirement in lab.requirements:
            glyph, said = self.states.get(requirement.id, ("…", "checking"))
            lines.append(f"  {glyph} {requirement.text}" + (f": {said}" if said else ""))
        done = self.progress.results(ProgressKey(lab.instance_key, self.context))
        if done:
            lines += ["", f"Your progress on {self.context}: {sum(r.status == 'passed' for r in done.values())} of {len(lab.steps)} steps passed."]
        lines += ["", "Enter opens the lab."]
        if self.problems:
            lines += ["", "Labs that could not be loaded:", *self.problems]
        detail.update("\n".join(lines))

    @on(OptionList.OptionHighlighted)
    def highlighted(self, event: OptionList.OptionHighlighted) -> None:
        self.show(event.option_index)

    @on(OptionList.OptionSelected)
    def selected(self, event: OptionList.OptionSelected) -> None:
        self.post_message(LabChosen(self.labs[event.option_index]))

    def action_cursor_down(self) -> None:
        self.query_one(OptionList).action_cursor_down()

    def action_cursor_up(self) -> None:
        self.query_one(OptionList).action_cursor_up()
