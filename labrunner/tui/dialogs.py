"""Questions and help, as modal screens: a confirmation before anything changes the
cluster, and the key list generated from the bindings the footer shows."""

from __future__ import annotations

from collections.abc import Iterable

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Static


class ConfirmScreen(ModalScreen[bool]):
    """Yes or no, with what will happen spelled out. ``y``/``enter`` yes, ``n``/``escape`` no."""

    DEFAULT_CSS = """
    ConfirmScreen { align: center middle; }
    ConfirmScreen > Vertical {
        width: 90; max-width: 95%; height: auto; max-height: 90%;
        border: thick $warning; background: $surface; padding: 1 2;
    }
    ConfirmScreen #question { text-style: bold; margin-bottom: 1; }
    ConfirmScreen #body { height: auto; max-height: 20; }
    ConfirmScreen Horizontal { height: auto; align-horizontal: right; margin-top: 1; }
    ConfirmScreen Button { margin-left: 2; }
    """
    BINDINGS = [
        Binding("y", "answer(True)", "Yes", id="confirm.yes"),
        Binding("n,escape", "answer(False)", "No", id="confirm.no"),
    ]

    def __init__(self, question: str, body: str = "", yes: str = "Yes", no: str = "Cancel", *, safe_default: bool = False) -> None:
        super().__init__()
        self.question, self.body, self.yes, self.no = question, body, yes, no
        self.safe_default = safe_default
        """Focus "no": a second press of enter must not say yes to something risky."""

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(self.question, id="question", markup=False)
            if self.body:
                with VerticalScroll(id="body"):
                    yield Static(self.body, markup=False)
            with Horizontal():
                yield Button(f"{self.no} (n)", id="no")
                yield Button(f"{self.yes} (y)", id="yes", variant="warning")

    def on_mount(self) -> None:
        self.query_one("#no" if self.safe_default else "#yes", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")

    def action_answer(self, answer: bool) -> None:
        self.dismiss(answer)


class HelpScreen(ModalScreen[None]):
    """Every key of the screen underneath, from the same bindings its footer shows."""

    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll {
        width: 76; max-width: 95%; height: auto; max-height: 90%;
        border: thick $primary; background: $surface; padding: 1 2;
    }
    """
    BINDINGS = [Binding("escape,q,question_mark,f1", "dismiss", "Close", id="help.close")]

    def __init__(self, rows: Iterable[tuple[str, str]], title: str) -> None:
        super().__init__()
        self.rows, self.title_text = list(rows), title

    def compose(self) -> ComposeResult:
        width = max((len(key) for key, _ in self.rows), default=4) + 2
        lines = [self.title_text, ""] + [f"{key:<{width}}{description}" for key, description in self.rows]
        lines += ["", "ctrl+p opens the command palette (lab:, step:, cluster:, copy: ...). Escape closes this.",
                  "Move a key: keymap: {id: keys} in tui.yaml, in labrunner's config folder (labrunner doctor shows it)."]
        with VerticalScroll():
            yield Static("\n".join(lines), markup=False)

    async def action_dismiss(self, result: None = None) -> None:
        self.dismiss(result)


def binding_rows(bindings: Iterable[Binding]) -> list[tuple[str, str]]:
    """(keys, description) for every binding that has a description, as the help lists them."""
    rows = []
    for binding in bindings:
        if binding.description:
            keys = ", ".join(key.replace("question_mark", "?").replace("exclamation_mark", "!") for key in binding.key.split(","))
            rows.append((binding.key_display or keys, binding.description + (f"  [{binding.id}]" if binding.id else "")))
    return rows
