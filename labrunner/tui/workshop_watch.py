"""``labrunner workshop watch WS``: the instructor's screen, the room followed live.

The grid (learners x steps, stuck first, each with their step, time on it, heartbeat and last
failure), learners grouped by the reason their check fails, the timer and the last
announcement, a key to tell the room something, and a projector view with counts and no
names. Enter opens one learner (:mod:`labrunner.tui.workshop_learner`).

Everything shown is :func:`labrunner.workshop.report.status_document` of the
:class:`~labrunner.workshop.reader.RoomWatcher`'s room, the document ``workshop status --json``
prints, recomputed every second (times move while nobody writes). Announce, verify and reset
call what the headless commands call. Cluster work runs in thread workers; a lost cluster or
a refusal is a line on the screen, never a traceback.
"""
from __future__ import annotations

import re
import time
from collections.abc import Callable, Sequence
from typing import Any

from rich.style import Style
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.screen import ModalScreen, Screen
from textual.widgets import DataTable, Footer, Input, OptionList, Static
from textual.widgets.option_list import Option
from textual.worker import get_current_worker

from labrunner.workshop.reader import Room
from labrunner.workshop.records import parse_stamp
from labrunner.workshop.report import StepInfo, status_document

Clock = Callable[[], float]
RETRY_SECONDS = 3.0
"""How soon a room that could not be read is asked for again."""
FAILURE_WIDTH = 20
"""The grid's last-failure column at its narrowest; it takes the width the other columns leave
(the whole message is under the grid, and in the drill-down)."""
LEGEND = "✓ passed  ✗ failing  → current  … in progress  ○ not reached"


# -- messages (posted by the watcher's thread and the workers) ----------------------------------------


class RoomChanged(Message):
    """The watcher saw a record, verification, heartbeat or the workshop record change."""

    def __init__(self, room: Room) -> None:
        super().__init__()
        self.room = room

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, RoomChanged)  # a burst of writes collapses into the latest room


class LabReady(Message):
    def __init__(self, lab: Any) -> None:
        super().__init__()
        self.lab = lab


class RoomUnavailable(Message):
    """The room could not be read (no such workshop, refused, unreachable, an invalid lab)."""

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__()
        self.message, self.hint = message, hint


class Announced(Message):
    def __init__(self, text: str, problem: str = "") -> None:
        super().__init__()
        self.text, self.problem = text, problem


# -- pure renderers ---------------------------------------------------------------------------------------


def clock(seconds: float | None) -> str:
    """``4:07``, ``1:02:03``; ``-`` for None."""
    if seconds is None:
        return "-"
    whole = max(0, int(seconds))
    return f"{whole // 3600}:{whole % 3600 // 60:02d}:{whole % 60:02d}" if whole >= 3600 else f"{whole // 60}:{whole % 60:02d}"


def span(seconds: float) -> str:
    """``12 s``, ``4 min``, ``2 h 05 min``."""
    whole = max(0, int(seconds))
    if whole < 60:
        return f"{whole} s"
    if whole < 3600:
        return f"{whole // 60} min"
    return f"{whole // 3600} h {whole % 3600 // 60:02d} min"


def ago(seconds: float | None) -> str:
    """``12 s ago``, ``4 min ago``; ``never`` for None."""
    return "never" if seconds is None else f"{span(seconds)} ago"


def glyph(status: str | None, current: bool) -> str:
    """A step's cell: the learner's current step is →, unless they passed it."""
    if status == "passed":
        return "✓"
    if current:
        return "→"
    return {"failed": "✗", "error": "✗", "pending": "…"}.get(status or "", "○")


def strip(learner: dict[str, Any], steps: Sequence[StepInfo]) -> str:
    """The learner's steps, one glyph each, in groups of five: ``✓✓✓✓→ ○○○○○ ○○○○○``."""
    current = (learner["current"] or {}).get("id")
    glyphs = "".join(glyph((learner["steps"].get(step.id) or {}).get("status"), step.id == current) for step in steps)
    return " ".join(glyphs[start:start + 5] for start in range(0, len(glyphs), 5))


def ruler(steps: Sequence[StepInfo]) -> str:
    """The strip's heading: each group of five headed by its first step's number (``0     5     10``)."""
    return " ".join(f"{steps[start].number:<{len(steps[start:start + 5])}}" for start in range(0, len(steps), 5)).rstrip()


def stuck_words(learner: dict[str, Any]) -> str:
    """The reasons a learner is stuck, short (the full sentences are under the grid)."""
    words = []
    failure = learner.get("last_failure") or {}
    for reason in learner["stuck"]:
        kind = reason["kind"]
        if kind == "hand":
            words.append("hand up")
        elif kind == "repeating":
            words.append(f"same failure ×{failure.get('repeats') or '?'}")
        else:
            words.append(kind)
    return ", ".join(words)


def cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: max(0, width - 1)] + "…"


def who(learner: dict[str, Any]) -> str:
    """The learner as the instructor knows them: the roster's name, with the id when it is not
    simply the name's (``Ada Lovelace``, ``ada lovelace (ada-lovelace-2)``, ``07``)."""
    from labrunner.workshop.names import slug

    ident, name = learner["id"], learner["name"]
    return name if name == ident or slug(name) == ident else f"{name} ({ident})"


def named(learner: dict[str, Any]) -> str:
    """The learner with their id always (what ``workshop verify WS ID`` takes)."""
    return learner["id"] if learner["name"] == learner["id"] else f"{learner['name']} ({learner['id']})"


def unplaced(reason: str) -> str:
    """A grouped reason's placeholders (``{{namespace}}``: each learner's own value) as ``‹namespace›``."""
    return re.sub(r"\{\{(\w+)\}\}", r"‹\1›", reason)


def step_label(steps: Sequence[StepInfo], step_id: str) -> str:
    found = next((s for s in steps if s.id == step_id), None)
    return f"step {found.number}, {found.title}" if found else f"step {step_id}"


def group_lines(document: dict[str, Any], steps: Sequence[StepInfo], *, with_names: bool = True) -> list[tuple[str, str]]:
    """(headline, who) per group of learners failing for the same reason, largest first."""
    labels = {learner["id"]: who(learner) for learner in document["learners"]}
    lines = []
    for group in document["groups"]:
        count = len(group["learners"])
        head = f"{count} learner{'s' if count != 1 else ''} fail{'s' if count == 1 else ''} {step_label(steps, group['step'])}: {unplaced(group['reason'])}"
        lines.append((head, ", ".join(labels.get(ident, ident) for ident in group["learners"]) if with_names else ""))
    return lines


def projector_text(document: dict[str, Any], steps: Sequence[StepInfo], width: int = 100) -> str:
    """The room for a projector: per step how many passed it and how many are on it now (with a
    bar), then the failing reasons with their counts; no learner's name or id."""
    learners = document["learners"]
    passed = {step.id: sum(1 for l in learners if (l["steps"].get(step.id) or {}).get("status") == "passed") for step in steps}
    title_width = min(36, max((len(s.title) for s in steps), default=10))
    bar_room = max(5, min(40, width - title_width - 24))
    most = max([1, *document["counts"].values()])
    stuck = sum(1 for l in learners if any(r["kind"] != "offline" for r in l["stuck"]))
    lines = [f"{len(learners)} learners · {sum(1 for l in learners if l['online'])} online · {stuck} stuck", "",
             f"{'':>3} {'step':<{title_width}}  {'passed':>6}  {'here now':<8}"]
    for step in steps:
        count = document["counts"].get(step.id, 0)
        here = f"{count:>4} {'█' * max(1, round(count / most * bar_room))}" if count else f"{'·':>4}"
        lines.append(f"{step.number:>3} {cut(step.title, title_width):<{title_width}}  {passed[step.id] or '·':>6}  {here}".rstrip())
    not_started = sum(1 for l in learners if l["current"] is None)
    if not_started:
        lines.append(f"{'':>3} {'not started':<{title_width}}  {'':>6}  {not_started:>4}")
    lines += ["", "Why checks fail"]
    groups = group_lines(document, steps, with_names=False)
    lines += [f"  {head}" for head, _ in groups] or ["  nobody's check is failing"]
    return "\n".join(lines)


def head_text(document: dict[str, Any], lab_title: str, now: float) -> str:
    """The workshop, its timer, who is online, when it ends, and the lab (last: it is cut first)."""
    learners = document["learners"]
    parts = [f"Workshop {document['workshop']}"]
    timer = document["timer"]
    if timer:
        left = timer["left_seconds"]
        parts.append(f"⏱ {timer['label']}: {clock(left)} left" if left > 0 else f"⏱ {timer['label']}: time is up")
    parts.append(f"{len(learners)} learners, {sum(1 for l in learners if l['online'])} online")
    ends = parse_stamp(document["ends"])
    if ends is not None:
        parts.append(f"ends {time.strftime('%H:%M', time.localtime(ends))}, in {span(ends - now)}" if ends > now else "past its end")
    parts.append(lab_title)
    return " · ".join(parts)


def announcement_text(document: dict[str, Any], now: float) -> str:
    said = document["announcements"]
    if not said:
        return "No announcement yet (a: tell the room)."
    last = said[-1]
    return f"Announced {ago(now - (parse_stamp(last['at']) or now))}: {last['text']}" + (f"  ({len(said)} so far)" if len(said) > 1 else "")


# -- dialogs -------------------------------------------------------------------------------------


class AnnounceScreen(ModalScreen[str | None]):
    """What to tell the room: one line (enter sends it on to the confirmation, escape cancels)."""

    DEFAULT_CSS = """
    AnnounceScreen { align: center middle; }
    AnnounceScreen > Vertical { width: 100; max-width: 95%; height: auto; border: thick $accent; background: $surface; padding: 1 2; }
    AnnounceScreen #context { color: $text-muted; margin-bottom: 1; }
    """
    BINDINGS = [Binding("escape", "dismiss(None)", "Cancel", id="announce.cancel")]

    def __init__(self, prefill: str, context: str) -> None:
        super().__init__()
        self.prefill, self.context = prefill, context

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static("Tell the room (every learner's labrunner shows it)", markup=False)
            yield Static(self.context, id="context", markup=False)
            yield Input(self.prefill, placeholder="e.g. Step 9: the policy's podSelector must match the pods' labels", id="text",
                        select_on_focus=False)

    def on_mount(self) -> None:
        field = self.query_one(Input)
        field.focus()
        field.cursor_position = len(field.value)  # typing goes after the prefilled "Step N: "

    @on(Input.Submitted)
    def submitted(self, event: Input.Submitted) -> None:
        self.dismiss(event.value.strip() or None)


# -- the room ---------------------------------------------------------------------------------------------


class WorkshopWatchScreen(Screen[None]):
    DEFAULT_CSS = """
    WorkshopWatchScreen #head { height: 1; padding: 0 1; background: $panel; text-style: bold; }
    WorkshopWatchScreen #said { height: 1; padding: 0 1; }
    WorkshopWatchScreen #banner { display: none; height: auto; padding: 0 1; background: $error 30%; }
    WorkshopWatchScreen #banner.-shown { display: block; }
    WorkshopWatchScreen #grid { height: 1fr; border: round $panel; border-title-color: $text-accent; }
    WorkshopWatchScreen #detail { height: auto; max-height: 4; padding: 0 1; color: $text-muted; }
    WorkshopWatchScreen #groups { height: auto; max-height: 40%; border: round $panel; border-title-color: $text-accent; }
    WorkshopWatchScreen #projector { display: none; height: 1fr; border: round $panel; padding: 0 1; }
    WorkshopWatchScreen.-projector #grid, WorkshopWatchScreen.-projector #detail, WorkshopWatchScreen.-projector #groups { display: none; }
    WorkshopWatchScreen.-projector #projector { display: block; }
    """
    BINDINGS = [
        Binding("enter", "open_learner", "Learner", id="watch.learner", tooltip="Their checks, events and pods; verify, reset"),
        Binding("a", "announce", "Tell the room", id="watch.announce", tooltip="Send every learner a hint or an announcement"),
        Binding("p", "projector", "Projector", id="watch.projector", tooltip="Counts per step and per reason, no names"),
        Binding("g", "focus_groups", "Groups", id="watch.groups", tooltip="Learners failing for the same reason"),
        Binding("q", "app.quit", "Quit", id="watch.quit"),
        Binding("j", "cursor('down')", show=False),
        Binding("k", "cursor('up')", show=False),
    ]

    def __init__(self, cluster: Any, workshop: str, *, clock: Clock = time.time) -> None:
        super().__init__()
        self.cluster, self.workshop, self.clock = cluster, workshop, clock
        self.watcher: Any = None
        self.room: Room | None = None
        self.lab: Any = None
        self.steps: list[StepInfo] = []
        self.document: dict[str, Any] | None = None
        self.order: list[str] = []
        self.cells: dict[str, list[str]] = {}
        self.problem = ""
        self.stopped = False

    def compose(self) -> ComposeResult:
        yield Static(f"Workshop {self.workshop}: reading the room…", id="head", markup=False)
        yield Static(id="banner", markup=False)
        yield Static(id="said", markup=False)
        yield DataTable(id="grid", cursor_type="row", zebra_stripes=True)
        yield Static(id="detail", markup=False)
        yield OptionList(id="groups")
        yield Static(id="projector", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        grid = self.query_one("#grid", DataTable)
        grid.border_title = "Learners, stuck first"
        grid.border_subtitle = LEGEND
        self.query_one("#groups", OptionList).border_title = "Failing for the same reason (a tells the room)"
        self.query_one("#projector", Static).border_title = "The room"
        self.follow()
        self.set_interval(1.0, self.render_room)

    def on_unmount(self) -> None:
        self.stopped = True
        if self.watcher is not None:
            self.watcher.stop()

    # -- following the room ------------------------------------------------------------------------

    @work(thread=True, exclusive=True, exit_on_error=False, group="room")
    def follow(self) -> None:
        """Start the watcher (again, every few seconds, while the room cannot be read), then load the lab."""
        from labrunner.cluster import errors
        from labrunner.lab.problems import LabInvalid
        from labrunner.workshop.reader import RoomWatcher
        from labrunner.workshop.service import WorkshopError, load_lab

        def changed(room: Room) -> None:
            self.post_message(RoomChanged(room))

        worker = get_current_worker()
        while not worker.is_cancelled and not self.stopped:
            watcher = RoomWatcher(self.cluster, self.workshop, changed)
            try:
                room = watcher.start()
            except errors.ClusterError as failure:
                hint = ("the instructor's screen reads every learner's record: open it with the context that ran workshop init "
                        "(--context)") if isinstance(failure, errors.Forbidden) else failure.hint
                self.post_message(RoomUnavailable(failure.message, hint))
                deadline = time.monotonic() + RETRY_SECONDS
                while time.monotonic() < deadline and not (worker.is_cancelled or self.stopped):
                    time.sleep(0.1)
                continue
            self.watcher = watcher
            break
        else:
            return
        if self.stopped:
            watcher.stop()
            return
        self.app.call_from_thread(self.query_one("#head", Static).update,
                                  f"Workshop {self.workshop}: loading the lab {room.workshop.lab}…")
        try:
            lab = load_lab(room.workshop.lab)
        except WorkshopError as failure:
            self.post_message(RoomUnavailable(failure.message, failure.hint))
            return
        except LabInvalid as invalid:
            self.post_message(RoomUnavailable(f"the lab {room.workshop.lab} is invalid: {invalid.problems[0] if invalid.problems else ''}"))
            return
        self.post_message(LabReady(lab))

    @on(RoomChanged)
    def room_changed(self, message: RoomChanged) -> None:
        self.room = message.room
        if self.problem and self.watcher is not None and self.watcher.problem is None:
            self.problem = ""
        self.render_room()

    @on(LabReady)
    def lab_ready(self, message: LabReady) -> None:
        self.lab = message.lab
        self.steps = [StepInfo(step.id, step.number, step.title) for step in self.lab.steps]
        self.problem = ""
        grid = self.query_one("#grid", DataTable)
        grid.clear(columns=True)
        grid.add_column("learner", key="learner")
        grid.add_column("online", key="online")
        grid.add_column(f"steps {ruler(self.steps)}", key="steps")
        for label, key in (("step", "current"), ("time on it", "spent"), ("stuck", "stuck"), ("last failure", "failure")):
            grid.add_column(label, key=key)
        self.order, self.cells = [], {}
        self.render_room()

    @on(RoomUnavailable)
    def room_unavailable(self, message: RoomUnavailable) -> None:
        self.problem = f"✗ {message.message}" + (f"\n  {message.hint}" if message.hint else "")
        self.show_banner()

    def show_banner(self) -> None:
        banner = self.query_one("#banner", Static)
        problem = self.problem
        if not problem and self.watcher is not None and self.watcher.problem:
            read = self.room.read_at if self.room else None
            problem = (f"✗ Lost the cluster: {self.watcher.problem}\n  The room as last read ({ago(self.clock() - read) if read else 'never'}); "
                       "following again as soon as it answers.")
        banner.update(problem)
        banner.set_class(bool(problem), "-shown")

    # -- drawing -----------------------------------------------------------------------------------

    def render_room(self) -> None:
        self.show_banner()
        if self.room is None or self.lab is None:
            return
        now = self.clock()
        document = self.document = status_document(self.room, self.steps, self.lab.minutes, now)
        self.query_one("#head", Static).update(head_text(document, self.lab.title, now))
        self.query_one("#said", Static).update(announcement_text(document, now))
        if self.has_class("-projector"):
            self.query_one("#projector", Static).update(projector_text(document, self.steps, self.size.width - 4))
        self.render_grid(document)
        self.render_groups(document)
        self.show_detail()

    def styles_for(self) -> dict[str, Style]:
        variables = self.app.theme_variables

        def colour(name: str, **extra: Any) -> Style:
            try:
                return Style.parse(variables.get(name, "")) + Style(**extra)
            except Exception:  # an ANSI theme's colour names: the glyph alone says it
                return Style(**extra)

        return {"✓": colour("text-success"), "✗": colour("text-error", bold=True), "→": colour("text-accent", bold=True),
                "…": colour("text-warning"), "○": Style(dim=True), "offline": colour("text-warning"), "stuck": colour("text-error", bold=True)}

    def row_for(self, learner: dict[str, Any]) -> list[str]:
        """The learner's cells, the last failure whole (cut to the room left by the caller)."""
        cells = [cut(who(learner), 30), "yes" if learner["online"] else "no", f"      {strip(learner, self.steps)}"]
        where = learner["current"]
        failure = learner["last_failure"]
        cells += [f"{where['number']} {cut(where['id'], 22)}" if where else "not started", clock(learner["on_step_seconds"]),
                  stuck_words(learner), self.own_names_out(learner["id"], failure["message"]) if failure else ""]
        return cells

    def own_names_out(self, ident: str, message: str) -> str:
        """The message with the learner's own parameter values (their namespace) as ``‹namespace›``:
        the row already says whose it is, and the rest of the message fits."""
        try:
            parameters = self.room.learner(ident).parameters if self.room else {}
        except (KeyError, StopIteration):
            return message
        for name, value in sorted(parameters.items(), key=lambda item: -len(item[1])):
            if len(value) >= 3:
                message = re.sub(rf"(?<![\w-]){re.escape(value)}(?![\w-])", f"‹{name}›", message)
        return message

    def render_grid(self, document: dict[str, Any]) -> None:
        grid = self.query_one("#grid", DataTable)
        if not grid.columns:
            return
        styles = self.styles_for()
        keys = [str(key.value) for key in grid.columns]
        rows = {learner["id"]: self.row_for(learner) for learner in document["learners"]}
        order = [learner["id"] for learner in document["learners"]]
        # The last failure takes what the other columns leave (borders, padding and a scrollbar aside).
        used = sum(max([len(str(column.label)), *(len(row[index]) for row in rows.values())]) + 2
                   for index, column in enumerate(list(grid.columns.values())[:-1]))
        room = max(FAILURE_WIDTH, self.size.width - used - 6)
        for row in rows.values():
            row[-1] = cut(row[-1], room)

        def styled(key: str, value: str) -> Text:
            if key == "steps":
                return Text.assemble(*((mark, styles.get(mark, Style())) for mark in value))
            if key == "online" and value == "no" or key == "stuck":
                return Text(value, style=styles["offline" if key == "online" else "stuck"])
            return Text(value)

        if order != self.order:
            highlighted = self.order[grid.cursor_row] if self.order and 0 <= grid.cursor_row < len(self.order) else None
            grid.clear()
            for ident in order:
                grid.add_row(*(styled(key, value) for key, value in zip(keys, rows[ident])), key=ident)
            self.order = order
            if highlighted in order:
                grid.move_cursor(row=order.index(highlighted), animate=False)
        else:
            for ident in order:
                before = self.cells.get(ident, [])
                for index, (key, value) in enumerate(zip(keys, rows[ident])):
                    if index >= len(before) or before[index] != value:
                        grid.update_cell(ident, key, styled(key, value), update_width=True)
        self.cells = rows

    def render_groups(self, document: dict[str, Any]) -> None:
        groups = self.query_one("#groups", OptionList)
        lines = group_lines(document, self.steps)
        prompts = [f"{head}\n    {who}" for head, who in lines] or ["Nobody's check is failing on their current step."]
        if [str(groups.get_option_at_index(i).prompt) for i in range(groups.option_count)] == prompts:
            return
        highlighted = groups.highlighted
        groups.clear_options()
        groups.add_options([Option(Text(prompt), disabled=not lines) for prompt in prompts])
        if lines and highlighted is not None:
            groups.highlighted = min(highlighted, len(lines) - 1)

    def highlighted_learner(self) -> dict[str, Any] | None:
        grid = self.query_one("#grid", DataTable)
        if self.document is None or not self.order or not 0 <= grid.cursor_row < len(self.order):
            return None
        ident = self.order[grid.cursor_row]
        return next((l for l in self.document["learners"] if l["id"] == ident), None)

    def show_detail(self) -> None:
        learner = self.highlighted_learner()
        detail = self.query_one("#detail", Static)
        if learner is None:
            detail.update("")
            return
        said = [f"{who(learner)} · {', '.join(learner['namespaces'])}"]
        said += [reason["text"] for reason in learner["stuck"]]
        failure = learner["last_failure"]
        if failure and not any(r["kind"] == "repeating" for r in learner["stuck"]):
            said.append(f"last failure, {step_label(self.steps, failure['step'])}: {failure['message']}")
        detail.update(" · ".join(said) + " · enter: their checks, events and pods")

    @on(DataTable.RowHighlighted, "#grid")
    def row_highlighted(self) -> None:
        self.show_detail()

    @on(DataTable.RowSelected, "#grid")
    def row_selected(self) -> None:
        self.action_open_learner()

    # -- actions ---------------------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("open_learner", "focus_groups", "cursor") and self.has_class("-projector"):
            return False
        return True

    def action_cursor(self, direction: str) -> None:
        focused = self.focused
        if isinstance(focused, (DataTable, OptionList)):
            focused.action_cursor_down() if direction == "down" else focused.action_cursor_up()

    def action_focus_groups(self) -> None:
        groups = self.query_one("#groups", OptionList)
        if self.focused is groups:
            self.query_one("#grid", DataTable).focus()
        else:
            groups.focus()
            if groups.highlighted is None and self.document and self.document["groups"]:
                groups.highlighted = 0

    def action_projector(self) -> None:
        self.toggle_class("-projector")
        self.refresh_bindings()
        self.render_room()
        if not self.has_class("-projector"):
            self.query_one("#grid", DataTable).focus()

    def action_open_learner(self) -> None:
        learner = self.highlighted_learner()
        if learner is not None and self.lab is not None:
            from labrunner.tui.workshop_learner import LearnerScreen

            self.app.push_screen(LearnerScreen(self, learner["id"]))

    def action_announce(self) -> None:
        if self.document is None:
            self.notify("The room has not been read yet.", severity="warning")
            return
        from labrunner.tui.dialogs import ConfirmScreen

        groups = self.query_one("#groups", OptionList)
        document = self.document
        prefill, context = "", "Your words reach every learner's screen within a few seconds."
        if self.focused is groups and groups.highlighted is not None and groups.highlighted < len(document["groups"]):
            group = document["groups"][groups.highlighted]
            number = next((s.number for s in self.steps if s.id == group["step"]), group["step"])
            prefill = f"Step {number}: "
            context = f"{len(group['learners'])} fail {step_label(self.steps, group['step'])}: {group['reason']}"
        count = len(document["learners"])

        def confirmed(yes: bool | None, text: str) -> None:
            if yes:
                self.announce(text)

        def written(text: str | None) -> None:
            if text:
                self.app.push_screen(ConfirmScreen(f"Send this to all {count} learners?", text, yes="Send"),
                                     lambda yes: confirmed(yes, text))

        self.app.push_screen(AnnounceScreen(prefill, context), written)

    @work(thread=True, exit_on_error=False, group="announce")
    def announce(self, text: str) -> None:
        """What ``labrunner workshop announce`` does: the workshop record read, changed and written."""
        from labrunner.cluster import errors
        from labrunner.workshop.service import WorkshopError, change_workshop

        try:
            change_workshop(self.cluster, self.workshop, lambda record: record.announcing(text, time.time()))
        except (errors.ClusterError, WorkshopError) as failure:
            self.post_message(Announced(text, failure.message))
            return
        self.post_message(Announced(text))

    @on(Announced)
    def announced(self, message: Announced) -> None:
        if message.problem:
            self.notify(message.problem, title="Not announced", severity="error", timeout=15)
        else:
            self.notify(message.text, title="Announced to the room")


# -- the app ------------------------------------------------------------------------------------------------


def watch_app(cluster: Any, workshop: str, *, clock: Clock = time.time) -> Any:
    """The app showing the room (the labrunner app's theme, settings, help and failure handling)."""
    from labrunner.tui.app import LabrunnerApp

    class WatchApp(LabrunnerApp):
        TITLE = f"labrunner workshop {workshop}"

        def begin(self) -> None:
            self.cluster = cluster
            self.push_screen(WorkshopWatchScreen(cluster, workshop, clock=clock))

    return WatchApp()


def run_watch(cluster: Any, workshop: str) -> None:
    import logging

    from labrunner.tui.app import log_file

    path = log_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    logging.basicConfig(filename=path, level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    watch_app(cluster, workshop).run()
