"""The start screen: which cluster the lab runs on."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import Footer, OptionList, Static
from textual.widgets.option_list import Option

from labrunner.cluster.choices import ClusterChoice
from labrunner.tui.messages import ClusterChosen


class StartScreen(Screen[None]):
    """Lists the kubeconfig's contexts (the current one first) and the sandbox; enter picks one."""

    DEFAULT_CSS = """
    StartScreen { align: center top; }
    StartScreen > Vertical { width: 100; max-width: 100%; height: auto; padding: 1 2; }
    StartScreen #intro { margin-bottom: 1; }
    StartScreen OptionList { height: auto; max-height: 24; }
    StartScreen #progress { margin-top: 1; color: $text-muted; }
    StartScreen #progress.-error { color: $error; }
    """
    BINDINGS = [
        Binding("j", "cursor_down", show=False),
        Binding("k", "cursor_up", show=False),
        Binding("s", "sandbox", "Use the sandbox", id="start.sandbox"),
    ]

    def __init__(self, choices: list[ClusterChoice]) -> None:
        super().__init__()
        self.choices = choices

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static("Which cluster should the lab run on? Labs create namespaces and objects there.", id="intro")
            options = []
            for index, choice in enumerate(self.choices):
                mark = "● " if choice.current else "  "
                detail = f"{choice.server} · namespace {choice.namespace}" if not choice.is_sandbox else "a local API server your kubectl talks to"
                note = f"\n    ⚠ {choice.caution}: asks before changing it" if choice.caution else ""
                options.append(Option(f"{mark}{choice.label}{'  (current context)' if choice.current else ''}\n    {detail}{note}", id=str(index)))
            yield OptionList(*options, id="clusters")
            yield Static("", id="progress")
        yield Footer()

    def action_cursor_down(self) -> None:
        self.query_one(OptionList).action_cursor_down()

    def action_cursor_up(self) -> None:
        self.query_one(OptionList).action_cursor_up()

    def action_sandbox(self) -> None:
        sandbox = next((c for c in self.choices if c.is_sandbox), None)
        if sandbox is not None:
            self.post_message(ClusterChosen(sandbox))

    @on(OptionList.OptionSelected)
    def chosen(self, event: OptionList.OptionSelected) -> None:
        self.post_message(ClusterChosen(self.choices[int(event.option.id or 0)]))

    def say(self, text: str, error: bool = False) -> None:
        progress = self.query_one("#progress", Static)
        progress.update(text)
        progress.set_class(error, "-error")
