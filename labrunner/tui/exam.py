"""The exam screen: the countdown always in view, the tasks with their points and flags, the
statement with its context and namespace, the candidate's notes per task, copyable names, and
no check feedback until the attempt is submitted (in mastery mode, a task's feedback when the
candidate says they are done with it). Then the review.

Time per task is measured here, from which task is open; it, the notes and the flags are
merged into the attempt's record (``AttemptStore.update``), so ``labrunner exam solution`` in
another terminal and this screen never lose each other's changes.
"""

from __future__ import annotations

import time
from typing import Any

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.screen import ModalScreen, Screen
from textual.widgets import Footer, Markdown, OptionList, Static, TextArea
from textual.widgets.option_list import Option

from labrunner.exam.attempts import Attempt, AttemptStore
from labrunner.lab.domains import BY_ID
from labrunner.lab.model import Lab
from labrunner.tui.dialogs import ConfirmScreen
from labrunner.tui.messages import CopyRequested

WARNINGS = (30, 15, 5)
"""Minutes left at which the candidate is told, as a proctor would."""
SAVE_SECONDS = 10
"""How often time spent and notes are written to the attempt's record."""


class Graded(Message):
    def __init__(self, document: dict[str, Any] | None, problem: str = "") -> None:
        super().__init__()
        self.document, self.problem = document, problem


class TaskFeedback(Message):
    """Mastery mode: one task graded when the candidate is done with it."""

    def __init__(self, number: int, text: str) -> None:
        super().__init__()
        self.number, self.text = number, text


def clock(seconds: float) -> str:
    if seconds <= 0:
        return "0:00:00"
    minutes, rest = divmod(int(seconds), 60)
    return f"{minutes // 60}:{minutes % 60:02d}:{rest:02d}"


class NamesScreen(ModalScreen[str | None]):
    """The task's names (namespace, objects, ports), one to copy: exact names, no typos."""

    DEFAULT_CSS = """
    NamesScreen { align: center middle; }
    NamesScreen > OptionList { width: 70; max-width: 95%; height: auto; max-height: 80%; border: thick $accent; }
    """
    BINDINGS = [Binding("escape", "dismiss(None)", "Close", id="names.close")]

    def __init__(self, names: dict[str, str]) -> None:
        super().__init__()
        self.names = names

    def compose(self) -> ComposeResult:
        options = OptionList(*(Option(f"{name}: {value}", id=value) for name, value in self.names.items()))
        options.border_title = "Copy a name (enter)"
        yield options

    @on(OptionList.OptionSelected)
    def chosen(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(str(event.option.id))


class ExamScreen(Screen[None]):
    DEFAULT_CSS = """
    ExamScreen #clock { height: 1; padding: 0 1; background: $panel; text-style: bold; }
    ExamScreen #clock.-late { background: $error 60%; }
    ExamScreen #tasks { width: 34; border: round $panel; }
    ExamScreen #main { width: 1fr; }
    ExamScreen #reading { height: 1fr; border: round $panel; border-title-color: $text-accent; padding: 0 1; }
    ExamScreen #feedback { height: auto; max-height: 12; border: round $success; padding: 0 1; display: none; }
    ExamScreen #feedback.-shown { display: block; }
    ExamScreen #notes { height: 7; border: round $panel; }
    """
    BINDINGS = [
        Binding("n", "next", "Next task", id="exam.next"),
        Binding("p", "previous", "Previous", id="exam.previous"),
        Binding("f", "flag", "Flag", id="exam.flag", tooltip="Mark the task to come back to"),
        Binding("c", "copy_name", "Copy a name", id="exam.copy"),
        Binding("exclamation_mark", "shell", "Shell", key_display="!", id="exam.shell"),
        Binding("d", "done", "Done with task", id="exam.done", tooltip="Mastery mode: this task's feedback"),
        Binding("ctrl+s", "submit", "Submit", id="exam.submit"),
        Binding("escape", "leave", "Leave", id="exam.leave", show=False),
    ]

    def __init__(self, attempt: Attempt, tasks: list[Lab], cluster: Any, store: AttemptStore, context: str) -> None:
        super().__init__()
        self.attempt, self.tasks, self.cluster, self.store, self.context = attempt, tasks, cluster, store, context
        self.current = 0
        self.spent: dict[int, float] = {entry.number: 0.0 for entry in attempt.tasks}
        """Seconds spent per task since the last save (added to the record's on save)."""
        self.opened_at = time.monotonic()
        self.warned: set[int] = set()
        self.submitting = False
        self.last_save = time.monotonic()

    # -- layout ----------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield Static(id="clock", markup=False)
        with Horizontal():
            yield OptionList(*self.task_options(), id="tasks")
            with Vertical(id="main"):
                with VerticalScroll(id="reading"):
                    yield Markdown(id="statement")
                yield Static(id="feedback", markup=False)
                yield TextArea(id="notes")
        yield Footer()

    def task_options(self) -> list[Option]:
        options = []
        for entry in self.attempt.tasks:
            flags = ("⚑" if entry.flagged else " ") + ("👁" if entry.revealed else "")
            options.append(Option(f"{entry.number:>2} {flags} {entry.points:>2} pts\n   {BY_ID[entry.domain].title if entry.domain in BY_ID else entry.domain}",
                                  id=str(entry.number)))
        return options

    def on_mount(self) -> None:
        self.query_one("#tasks", OptionList).border_title = "Tasks"
        self.query_one("#notes", TextArea).border_title = "Your notes for this task (kept with the attempt)"
        self.show_task(0)
        self.tick()
        self.set_interval(1.0, self.tick)

    def on_unmount(self) -> None:
        self.save()

    # -- the clock -------------------------------------------------------------------------------

    def tick(self) -> None:
        left = self.attempt.seconds_left()
        entry = self.attempt.tasks[self.current]
        mode = {"exam": "no feedback until you submit", "mastery": "d: this task's feedback"}.get(self.attempt.mode, self.attempt.mode)
        header = (f"Exam {self.attempt.attempt} · ⏱ {clock(left)} left · task {entry.number} of {len(self.attempt.tasks)} · "
                  f"{sum(t.points for t in self.attempt.tasks)} points · {self.context} · {mode}")
        label = self.query_one("#clock", Static)
        label.update(header)
        label.set_class(left < 5 * 60, "-late")
        for minutes in WARNINGS:
            if left <= minutes * 60 and minutes not in self.warned and left > 0:
                self.warned.add(minutes)
                self.notify(f"{minutes} minutes left.", title="Time", severity="warning" if minutes > 5 else "error", timeout=10)
        if left <= 0 and not self.submitting and self.attempt.result is None:
            self.notify("Time is up: your attempt is submitted as the cluster is now.", title="Time", severity="error", timeout=15)
            self.grade_attempt()
        if time.monotonic() - self.last_save > SAVE_SECONDS:
            self.save()

    def account(self) -> None:
        now = time.monotonic()
        self.spent[self.attempt.tasks[self.current].number] += now - self.opened_at
        self.opened_at = now

    def save(self) -> None:
        """Merge time spent, notes and flags into the record (another terminal may have written it)."""
        self.account()
        spent, self.spent = self.spent, {number: 0.0 for number in self.spent}
        notes = {entry.number: entry.notes for entry in self.attempt.tasks}
        flags = {entry.number: entry.flagged for entry in self.attempt.tasks}

        def merge(record: Attempt) -> None:
            for entry in record.tasks:
                entry.seconds += spent.get(entry.number, 0.0)
                entry.notes = notes.get(entry.number, entry.notes)
                entry.flagged = flags.get(entry.number, entry.flagged)

        try:
            record = self.store.update(self.attempt.attempt, merge)
        except (OSError, KeyError, ValueError) as failure:
            self.notify(f"Could not save your time and notes: {failure}", title="Attempt", severity="error")
            return
        self.last_save = time.monotonic()
        for mine, theirs in zip(self.attempt.tasks, record.tasks):
            mine.revealed, mine.seconds = theirs.revealed, theirs.seconds
        self.attempt.result = record.result

    # -- tasks -----------------------------------------------------------------------------------

    def show_task(self, index: int) -> None:
        self.account()
        self.current = index
        entry, task = self.attempt.tasks[index], self.tasks[index]
        from labrunner.exam.service import statement

        reading = self.query_one("#reading", VerticalScroll)
        reading.border_title = f"Task {entry.number} · {entry.points} points · {BY_ID[entry.domain].title if entry.domain in BY_ID else entry.domain}"
        text = statement(task, self.context)
        head, _, body = text.partition("\n\n")
        self.query_one("#statement", Markdown).update(f"**{head}**\n\n{body}")
        reading.scroll_home(animate=False)
        notes = self.query_one("#notes", TextArea)
        notes.load_text(entry.notes)
        self.query_one("#feedback", Static).remove_class("-shown")
        tasks = self.query_one("#tasks", OptionList)
        if tasks.highlighted != index:
            tasks.highlighted = index
        self.tick()

    @on(OptionList.OptionHighlighted, "#tasks")
    def task_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        if event.option_index != self.current:
            self.show_task(event.option_index)

    @on(TextArea.Changed, "#notes")
    def notes_changed(self, event: TextArea.Changed) -> None:
        self.attempt.tasks[self.current].notes = event.text_area.text

    def action_next(self) -> None:
        if self.current + 1 < len(self.tasks):
            self.show_task(self.current + 1)

    def action_previous(self) -> None:
        if self.current > 0:
            self.show_task(self.current - 1)

    def action_flag(self) -> None:
        entry = self.attempt.tasks[self.current]
        entry.flagged = not entry.flagged
        tasks = self.query_one("#tasks", OptionList)
        tasks.clear_options()
        tasks.add_options(self.task_options())
        tasks.highlighted = self.current
        self.save()

    def action_copy_name(self) -> None:
        task = self.tasks[self.current]
        names = {name: value for name, value in task.parameter_values.items() if name != "assets"}
        names = {"context": self.context, **names}

        def copy(value: str | None) -> None:
            if value:
                self.post_message(CopyRequested(value))

        self.app.push_screen(NamesScreen(names), copy)

    def action_shell(self) -> None:
        from labrunner.session.progress import Progress
        from labrunner.session.rules import EXAM
        from labrunner.session.session import Session
        from labrunner.tui import shell

        task = self.tasks[self.current]
        session = Session(task, self.cluster, Progress(self.store.folder / "progress.sqlite3"), rules=EXAM, attempt=self.attempt.attempt)
        step = task.steps[0]
        environment = shell.environment_for(session, step)
        said = (f"labrunner: exam task {self.attempt.tasks[self.current].number}: kubectl is set to {shell.where(session)}, "
                f"namespace {task.namespace or 'default'}. Type exit to return.\n")
        if shell.in_tmux():
            shell.split_tmux_pane(environment, said, shell.login_shell())
            return
        import subprocess

        with self.app.suspend():
            print(said, flush=True)
            subprocess.run([shell.login_shell()], env=environment, check=False)

    # -- feedback and submitting -----------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "done":
            return self.attempt.mode == "mastery"
        return True

    def action_done(self) -> None:
        self.grade_task(self.current)

    @work(thread=True, exit_on_error=False, group="grade")
    def grade_task(self, index: int) -> None:
        from labrunner.exam.service import grade

        entry = self.attempt.tasks[index]
        [result] = grade(self.attempt, self.cluster, [entry.number])
        lines = [f"Task {entry.number}: {result.points} of {result.max} points"]
        for subtask in result.subtasks:
            lines.append(f"{'✓' if subtask.passed else '✗'} {subtask.title}")
            if not subtask.passed:
                lines.append(f"    {subtask.found}")
        self.post_message(TaskFeedback(entry.number, "\n".join(lines)))

    @on(TaskFeedback)
    def task_feedback(self, message: TaskFeedback) -> None:
        if self.attempt.tasks[self.current].number != message.number:
            return
        feedback = self.query_one("#feedback", Static)
        feedback.update(message.text)
        feedback.add_class("-shown")

    def action_submit(self) -> None:
        left = self.attempt.seconds_left()
        flagged = [str(e.number) for e in self.attempt.tasks if e.flagged]
        body = (f"{clock(left)} left. Your cluster is graded as it is now; the result is final."
                + (f"\nFlagged tasks: {', '.join(flagged)}." if flagged else ""))

        def answered(yes: bool | None) -> None:
            if yes:
                self.grade_attempt()

        self.app.push_screen(ConfirmScreen("Submit your attempt?", body, yes="Submit", safe_default=True), answered)

    @work(thread=True, exclusive=True, exit_on_error=False, group="grade")
    def grade_attempt(self) -> None:
        from labrunner.exam.service import ExamProblem, submit

        self.submitting = True
        self.app.call_from_thread(self.save)
        self.app.call_from_thread(self.notify, "Grading every task against the cluster…", title="Submitting")
        try:
            document = submit(self.store.load(self.attempt.attempt), self.cluster, self.store)
        except ExamProblem as problem:
            self.post_message(Graded(None, problem.message))
            return
        self.post_message(Graded(document))

    @on(Graded)
    def graded(self, message: Graded) -> None:
        self.submitting = False
        if message.document is None:
            self.notify(message.problem, title="Not submitted", severity="error", timeout=15)
            return
        self.app.switch_screen(ReviewScreen(self.store.load(self.attempt.attempt), self.tasks))

    def action_leave(self) -> None:
        self.save()
        self.notify(f"The clock keeps running. Back with: labrunner exam open {self.attempt.attempt}", title="Attempt saved")
        self.app.exit()


class ReviewScreen(Screen[None]):
    """After submitting: the score, the domains, every sub-task with what was found and why it
    matters, the time spent per task and the reference solutions."""

    DEFAULT_CSS = """
    ReviewScreen VerticalScroll { padding: 0 1; }
    """
    BINDINGS = [Binding("q,escape", "app.quit", "Quit", id="review.quit")]

    def __init__(self, attempt: Attempt, tasks: list[Lab]) -> None:
        super().__init__()
        self.attempt, self.tasks = attempt, tasks

    def compose(self) -> ComposeResult:
        from labrunner.exam.review import review_markdown
        from labrunner.exam.service import solution_lines

        by_number = {entry.number: task for entry, task in zip(self.attempt.tasks, self.tasks)}
        with VerticalScroll():
            yield Markdown(review_markdown(self.attempt, lambda entry: solution_lines(by_number[entry.number])))
        yield Footer()


def exam_app(attempt: Attempt, tasks: list[Lab], cluster: Any, store: AttemptStore) -> Any:
    """The app showing the exam (or, once submitted, its review)."""
    from labrunner.tui.app import LabrunnerApp

    class ExamApp(LabrunnerApp):
        def begin(self) -> None:
            self.cluster = cluster
            if attempt.result is not None:
                self.push_screen(ReviewScreen(attempt, tasks))
            else:
                self.push_screen(ExamScreen(attempt, tasks, cluster, store, attempt.cluster.name))

    return ExamApp()


def run_exam(attempt: Attempt, tasks: list[Lab], cluster: Any, store: AttemptStore) -> None:
    import logging

    from labrunner.tui.app import log_file

    path = log_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    logging.basicConfig(filename=path, level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    exam_app(attempt, tasks, cluster, store).run()
