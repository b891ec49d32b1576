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

from labrunner.lab.domains import BY_ID, DOMAINS, primary_domain
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
    LabPickerScreen #labs { width: 40%; min-width: 36; height: 1fr; border: round $panel; }
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

    def passed(self, lab: Lab) -> int:
        return sum(r.status == "passed" for r in self.progress.results(ProgressKey(lab.instance_key, self.context)).values())

    def compose(self) -> ComposeResult:
        with Horizontal():
            yield OptionList(*self.options(), id="labs")
            with VerticalScroll(id="about"):
                yield Static(id="detail", markup=False)
        yield Footer()

    def options(self) -> list[Option]:
        """The labs under the CKA domain each teaches (heaviest first), each domain a heading
        with the learner's progress in it; labs of no domain last."""
        options: list[Option] = []
        grouped = [(domain, [lab for lab in self.labs if primary_domain(lab.tags) == domain]) for domain in (*DOMAINS, None)]
        for domain, labs in grouped:
            if not labs:
                continue
            done, total = sum(self.passed(lab) for lab in labs), sum(len(lab.steps) for lab in labs)
            heading = f"{domain.title} · {domain.weight} %" if domain else "Other labs"
            options.append(Option(f"{heading}\n{done}/{total} steps done", id=f"domain:{domain.id if domain else ''}", disabled=True))
            options += [Option(f"  {lab.title}\n    ~{lab.minutes} min · {lab.level} · {self.passed(lab)}/{len(lab.steps)} steps done", id=lab.id)
                        for lab in labs]
        return options

    def lab_at(self, index: int | None) -> Lab | None:
        if index is None:
            return None
        option = self.query_one("#labs", OptionList).get_option_at_index(index)
        return next((lab for lab in self.labs if lab.id == option.id), None)

    def on_mount(self) -> None:
        labs = self.query_one("#labs", OptionList)
        labs.border_title = "Labs by CKA domain"
        self.query_one("#about").border_title = "About"
        first = next((index for index in range(labs.option_count) if self.lab_at(index) is not None), None)
        labs.highlighted = first
        self.show(first)
        wanted = {r.id for lab in self.labs for r in lab.requirements}
        self.check_requirements(wanted)

    @work(thread=True, exclusive=True, exit_on_error=False, group="requirements")
    def check_requirements(self, wanted: set[str]) -> None:
        self.post_message(RequirementsChecked(requirement_states(self.cluster, wanted)))

    @on(RequirementsChecked)
    def requirements_checked(self, message: RequirementsChecked) -> None:
        self.states = message.states
        self.show(self.query_one("#labs", OptionList).highlighted)

    def show(self, index: int | None) -> None:
        detail = self.query_one("#detail", Static)
        lab = self.lab_at(index) if self.labs else None
        if lab is None:
            detail.update("No labs found.\n\n" + "\n".join(self.problems) + "\n\nlabrunner doctor shows where labrunner looks.")
            return
        domains = ", ".join(BY_ID[tag].title if tag in BY_ID else tag for tag in lab.tags)
        lines = [lab.title, "", lab.summary, "", f"~{lab.minutes} minutes · {lab.level} · {len(lab.steps)} steps", f"CKA: {domains}", "",
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
        lab = self.lab_at(event.option_index)
        if lab is not None:
            self.post_message(LabChosen(lab))

    def action_cursor_down(self) -> None:
        self.query_one(OptionList).action_cursor_down()

    def action_cursor_up(self) -> None:
        self.query_one(OptionList).action_cursor_up()
