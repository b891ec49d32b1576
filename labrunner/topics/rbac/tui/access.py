"""Who may do what: the step's subjects and resources against the verbs, every cell decided
and explained by labrunner's RBAC engine over the objects the cluster holds now.

The cluster is read in a thread worker (``load`` blocks). The grid answers as RBAC does;
the checks themselves ask the cluster (a SubjectAccessReview), so on a cluster with other
authorizers the two may differ, which the legend says.
"""

from __future__ import annotations

from collections.abc import Callable

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.content import Content
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static

from labrunner.topics.rbac.grid import VERBS, Grid

Load = Callable[[], Grid]
LEGEND = "✓ may · ✗ may not · as RBAC decides it (system:masters aside) · enter: explain · r: read again · escape: back"


class AccessScreen(Screen[None]):
    BINDINGS = [Binding("escape", "close", "Back"), Binding("r", "reload", "Read again")]
    DEFAULT_CSS = """
    AccessScreen #access-title { text-style: bold; padding: 0 1; }
    AccessScreen #access-header, AccessScreen #access-legend { color: $text-muted; padding: 0 1; }
    AccessScreen #access-grid { height: auto; max-height: 60%; }
    AccessScreen #access-explain-box { height: 1fr; border-top: solid $primary; padding: 0 1; }
    """

    class Loaded(Message):
        def __init__(self, generation: int, grid: Grid) -> None:
            super().__init__()
            self.generation, self.grid = generation, grid

    class LoadFailed(Message):
        def __init__(self, generation: int, message: str) -> None:
            super().__init__()
            self.generation, self.message = generation, message

    def __init__(self, namespace: str, load: Load, *, title: str = "") -> None:
        super().__init__()
        self.namespace = namespace
        self._load = load
        self.title = title or f"Who may do what in {namespace}"
        self.grid: Grid | None = None
        self._generation = 0
        self._mounted = False

    def compose(self) -> ComposeResult:
        yield Static(self.title or "", id="access-title", markup=False)
        yield Static(f"Reading Roles and bindings for {self.namespace}…", id="access-header", markup=False)
        yield DataTable(id="access-grid", cursor_type="cell")
        yield Static(LEGEND, id="access-legend", markup=False)
        with VerticalScroll(id="access-explain-box"):
            yield Static("", id="access-explanation")
        yield Footer()

    def on_mount(self) -> None:
        self._mounted = True
        self.reload()

    def reload(self) -> None:
        if not self._mounted:
            return
        self._generation += 1
        self._read(self._generation)

    def action_reload(self) -> None:
        self.reload()

    def action_close(self) -> None:
        self.dismiss()

    @work(thread=True, exclusive=True, exit_on_error=False, group="access", description="reading Roles and bindings")
    def _read(self, generation: int) -> None:
        try:
            grid = self._load()
        except Exception as error:  # the caller's load failing is the learner's to read, not a crash
            message = getattr(error, "message", None) or str(error) or type(error).__name__
            self.post_message(self.LoadFailed(generation, str(message)))
            return
        self.post_message(self.Loaded(generation, grid))

    @on(Loaded)
    def _loaded(self, message: Loaded) -> None:
        if message.generation != self._generation:
            return
        self.grid = message.grid
        where = f"namespace {self.namespace}" if self.namespace else "the cluster scope"
        self.query_one("#access-header", Static).update(f"{len(message.grid.rows)} subject·resource rows in {where}")
        self._fill()

    @on(LoadFailed)
    def _failed(self, message: LoadFailed) -> None:
        if message.generation != self._generation:
            return
        self.grid = None
        self.query_one("#access-header", Static).update(f"Could not read the RBAC objects: {message.message}")
        self.query_one("#access-grid", DataTable).clear(columns=True)
        self.query_one("#access-explanation", Static).update("")

    def _fill(self) -> None:
        table = self.query_one("#access-grid", DataTable)
        grid = self.grid
        if grid is None:
            return
        table.clear(columns=True)
        for verb in VERBS:
            table.add_column(verb, key=verb)
        colours = self.app.theme_variables
        allowed_style, denied_style = colours.get("text-success", ""), colours.get("text-error", "")
        for row in grid.rows:
            cells = [Text("✓", style=allowed_style) if grid.cells[(row.key, verb)][0] else Text("✗", style=denied_style)
                     for verb in VERBS]
            table.add_row(*cells, key=row.key, label=row.label)
        self._explain()

    @on(DataTable.CellHighlighted, "#access-grid")
    @on(DataTable.CellSelected, "#access-grid")
    def _cell_chosen(self) -> None:
        self._explain()

    def _explain(self) -> None:
        table = self.query_one("#access-grid", DataTable)
        target = self.query_one("#access-explanation", Static)
        if self.grid is None or not table.row_count:
            target.update("")
            return
        key = table.coordinate_to_cell_key(table.cursor_coordinate)
        lines = self.grid.explain(str(key.row_key.value), str(key.column_key.value))
        head_style = "bold $text-success" if lines[0].startswith("✓") else "bold $text-error"
        target.update(Content("\n").join([Content.styled(lines[0], head_style), *(Content(f"  {line}") for line in lines[1:])]))


