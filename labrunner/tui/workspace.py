"""The lab workspace: steps, instructions, commands and the live check panel.

Every cluster action is a Session method run in a thread worker, which posts a
message back; handlers here own every widget change. The Session's watch
re-checks the learner's current step when the cluster changes.
"""

from __future__ import annotations

import importlib
import subprocess
from typing import Any

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, ListView, Markdown, Static
from textual.worker import Worker, WorkerState

from labrunner.lab.model import Check, Step
from labrunner.lab.problems import LabInvalid
from labrunner.registry import View, registry
from labrunner.tui.dialogs import ConfirmScreen
from labrunner.session.session import Session, StepOutcome
from labrunner.tui import shell
from labrunner.tui.commands import WorkspaceCommands
from labrunner.tui.messages import (CommandsFinished, CommandStarted, CopyRequested, ProgressChanged, StepChecked,
                                    StepJumped, WatchFailed)
from labrunner.tui.widgets import CheckPanel, CommandItem, CommandList, StepList, outcome_text

FOLLOW_SECONDS = 0.5
"""How often the workspace asks whether progress was written elsewhere (``labrunner solve``
in another terminal): a PRAGMA read, in a thread."""


class WorkspaceScreen(Screen[None]):
    COMMANDS = {WorkspaceCommands}
    DEFAULT_CSS = """
    WorkspaceScreen #status { height: 1; padding: 0 1; background: $panel; }
    WorkspaceScreen #workshop { display: none; height: auto; padding: 0 1; background: $accent 25%; }
    WorkspaceScreen #workshop.-shown { display: block; }
    WorkspaceScreen #banner { display: none; height: auto; padding: 0 1; background: $error 30%; }
    WorkspaceScreen #banner.-shown { display: block; }
    WorkspaceScreen #main { width: 1fr; }
    WorkspaceScreen #reading { height: 3fr; min-height: 5; border: round $panel; border-title-color: $text-accent; }
    WorkspaceScreen #instructions { height: auto; padding: 0 1; }
    WorkspaceScreen CommandList { height: auto; max-height: 25%; }
    WorkspaceScreen CheckPanel { height: 2fr; min-height: 6; }
    """
    BINDINGS = [
        Binding("r", "check", "Check", id="workspace.check", tooltip="Run the step's checks now"),
        Binding("h", "hint", "Hint", id="workspace.hint", tooltip="Reveal one more hint"),
        Binding("s", "solution", "Solution", id="workspace.solution", tooltip="See the solution; run it after a confirmation"),
        Binding("c", "copy", "Copy", id="workspace.copy", tooltip="Copy the highlighted command"),
        Binding("n", "next", "Next step", id="workspace.next"),
        Binding("p", "previous", "Previous", id="workspace.previous", show=False),
        Binding("exclamation_mark", "shell", "Shell", key_display="!", id="workspace.shell", tooltip="A shell set up for this lab"),
        # The views topics offer (the reach grid, the lint view, ...), shown only on steps that offer them.
        *(Binding(view.key, f"view({view.id!r})", view.label, id=f"workspace.{view.id}", tooltip=view.description)
          for view in registry().views),
        Binding("x", "reset", "Reset step", id="workspace.reset"),
        Binding("f2", "app.switch_cluster", "Cluster", id="workspace.cluster"),
        Binding("escape", "app.pick_lab", "Labs", id="workspace.labs", show=False),
        Binding("j", "focus_next_item", show=False),
        Binding("k", "focus_previous_item", show=False),
    ]

    def __init__(self, session: Session, *, workshop: Any = None) -> None:
        super().__init__()
        self.session = session
        self.workshop = workshop
        """The learner's workshop (labrunner.workshop.kubeconfigs.WorkshopContext), if any: its timer
        and announcements are shown under the status line."""
        self.workshop_record: Any = None
        self.workshop_watcher: Any = None
        self.lab = session.lab
        self.step: Step = session.current
        self.outcomes: dict[str, StepOutcome] = {}
        self.ran: dict[str, str] = {}
        """What labrunner last ran for a step (solve or reset), shown under its checks until the learner moves on."""
        self.busy = False
        self.view_screen: Screen[Any] | None = None
        """The topic view open over the workspace, if any (it reloads when the cluster changes)."""
        self.connection = "connecting"
        self.followed: tuple[object, str] | None = None
        """The store's version and current step at the last look (every FOLLOW_SECONDS)."""

    # -- layout -------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield Static(id="status", markup=False)
        yield Static(id="workshop", markup=False)
        yield Static(id="banner", markup=False)
        with Horizontal():
            yield StepList(self.lab.steps, id="steps")
            with Vertical(id="main"):
                with VerticalScroll(id="reading"):
                    yield Markdown(id="instructions")
                yield CommandList([], id="commands")
                yield CheckPanel(id="checks")
        yield Footer()

    def on_mount(self) -> None:
        # Nested containers may still be mounting their children: start once the screen has painted.
        self.call_after_refresh(self.start)

    def start(self) -> None:
        self.query_one("#steps").border_title = "Steps"
        self.query_one("#commands").border_title = "Commands (c copies)"
        self.query_one("#checks").border_title = "Checks"
        self.refresh_steps()
        self.show_step(self.step)
        self.start_watch()
        self.check_step(self.step)
        self.followed = (self.session.progress_version(), self.session.current.id)
        self.set_interval(FOLLOW_SECONDS, self.follow_progress)
        if self.workshop is not None:
            self.follow_workshop()
            self.set_interval(1.0, self.show_workshop)

    def on_unmount(self) -> None:
        self.session.close()  # a worker still solving ends its commands: quitting never waits minutes
        if self.workshop_watcher is not None:
            self.workshop_watcher.stop()

    @work(thread=True, exclusive=True, exit_on_error=False, group="workshop")
    def follow_workshop(self) -> None:
        """The workshop's record (timer, announcements), followed with the learner's own credentials."""
        from labrunner.cluster import errors
        from labrunner.workshop.reader import NoWorkshop, WorkshopWatcher

        def changed(record: Any) -> None:
            self.app.call_from_thread(self.workshop_changed, record)

        watcher = WorkshopWatcher(self.session.cluster, self.workshop.workshop, changed)
        try:
            watcher.start()
        except (NoWorkshop, errors.ClusterError) as failure:
            message = getattr(failure, "message", None) or str(failure)
            self.app.call_from_thread(self.notify, f"The workshop's timer and announcements cannot be read: {message}",
                                      title="Workshop", severity="warning", timeout=15)
            return
        self.workshop_watcher = watcher

    def workshop_changed(self, record: Any) -> None:
        before = self.workshop_record
        self.workshop_record = record
        if before is not None and record.announcements and record.announcements != before.announcements:
            self.notify(record.announcements[-1].text, title="From the instructor", timeout=20)
        self.show_workshop()

    def show_workshop(self) -> None:
        import time

        line = self.query_one("#workshop", Static)
        ws = self.workshop
        parts = [f"Workshop {ws.workshop} · learner {ws.learner}"]
        record = self.workshop_record
        if record is not None:
            now = time.time()
            if record.timer is not None and record.timer.left(now) > 0:
                minutes, seconds = divmod(int(record.timer.left(now)), 60)
                parts.append(f"⏱ {record.timer.label}: {minutes}:{seconds:02d} left")
            elif record.timer is not None:
                parts.append(f"⏱ {record.timer.label}: time is up")
            if record.announcements:
                parts.append(f"📣 {record.announcements[-1].text}")
        line.update(" · ".join(parts))
        line.add_class("-shown")

    def refresh_status(self) -> None:
        info = self.session.cluster.info
        where = "sandbox" if info.is_sandbox else info.context
        state = {"ok": "● connected", "lost": "● unreachable", "connecting": "● connecting"}.get(self.connection, self.connection)
        namespace = self.lab.namespace or info.namespace
        self.query_one("#status", Static).update(
            f"{self.lab.title} · step {self.step.number} of {len(self.lab.steps) - 1} · {where} · namespace {namespace} · {state}")

    def refresh_steps(self) -> None:
        statuses = {step: status for step, (status, _) in self.session.last_results().items()}
        statuses.update({step: outcome.status for step, outcome in self.outcomes.items()})
        self.query_one(StepList).show(statuses, self.session.current.id)

    def show_step(self, step: Step) -> None:
        self.step = step
        self.query_one("#instructions", Markdown).update(self.instructions(step))
        reading = self.query_one("#reading", VerticalScroll)
        reading.scroll_home(animate=False)
        reading.border_title = f"Step {step.number}: {step.title}"
        commands = self.query_one("#commands", CommandList)
        commands.clear()
        commands.extend(CommandItem(command) for command in step.commands)
        steps = self.query_one(StepList)
        steps.index = step.number
        self.refresh_bindings()
        outcome = self.outcomes.get(step.id)
        if outcome is not None:
            self.show_outcome(outcome)
        else:
            self.query_one(CheckPanel).show("… Checking", "\n".join(f"○ {check.says}" for check in step.checks))
        self.refresh_status()

    def instructions(self, step: Step) -> str:
        """The step's Markdown; if its file broke since the lab was loaded, what is wrong with it."""
        try:
            return self.lab.instructions(step)
        except LabInvalid as invalid:
            problems = "\n".join(f"- `{problem}`" for problem in invalid.problems)
            return f"# {step.title}\n\nThe instructions of this step cannot be read now:\n\n{problems}\n"

    def show_outcome(self, outcome: StepOutcome) -> None:
        hints = self.session.hints(outcome.step)
        following = self.lab.steps[outcome.step.number + 1].title if outcome.step.number + 1 < len(self.lab.steps) else None
        verdict, body, state = outcome_text(outcome, hints.shown, hints.total, following)
        if outcome.step.id in self.ran:
            body += "\n\nlabrunner ran:\n" + self.ran[outcome.step.id]
        self.query_one(CheckPanel).show(verdict, body, state)

    # -- workers ------------------------------------------------------------------------------

    @work(thread=True, exclusive=True, exit_on_error=False, group="check")
    def check_step(self, step: Step) -> None:
        if self.prepare(step):
            self.post_message(StepChecked(self.session.check(step)))

    def prepare(self, step: Step) -> bool:
        """In a worker: a step that starts from a prepared state (a broken cluster to repair)
        is set up when the learner first opens it. False when the setup failed (said)."""
        if not self.session.needs_setup(step):
            return True
        self.app.call_from_thread(self.query_one(CheckPanel).show, "… Preparing",
                                  "labrunner is setting up the state this step starts from")
        actions = tuple(self.session.set_up(step))
        if any(a.exit_code != 0 for a in actions):
            self.post_message(CommandsFinished("setup", step, actions))
            return False
        self.app.call_from_thread(self.notify, "The cluster is in the state this step starts from; over to you.",
                                  title=f"Step {step.number} set up")
        return True

    @work(thread=True, exclusive=True, exit_on_error=False, group="check")
    def recheck_current(self) -> None:
        """The current step's checks, dropped if another process outruns them (see Session.recheck)."""
        outcome = self.session.recheck()
        if outcome is not None:
            self.post_message(StepChecked(outcome))

    @work(thread=True, exclusive=True, exit_on_error=False, group="check")
    def jump_to(self, step: Step) -> None:
        self.post_message(StepJumped(step, self.session.missing_before(step)))
        if self.session.current.id == step.id and self.prepare(step):  # not if the learner (or a solve) has moved on meanwhile
            self.post_message(StepChecked(self.session.check(step)))

    @work(thread=True, exit_on_error=False, group="change")
    def solve_step(self, step: Step) -> None:
        solved = self.session.solve(step, on_action=lambda command: self.post_message(CommandStarted(command)))
        self.post_message(CommandsFinished("solve", step, solved.actions, solved.outcome))

    @work(thread=True, exit_on_error=False, group="change")
    def reset_step(self, step: Step) -> None:
        actions = self.session.reset(step, on_action=lambda command: self.post_message(CommandStarted(command)))
        if any(a.exit_code != 0 for a in actions):
            self.post_message(CommandsFinished("reset", step, tuple(actions)))
            return
        if not self.prepare(step):  # a reset step starts over from its setup; a failed one is said by prepare
            return
        self.post_message(CommandsFinished("reset", step, tuple(actions), self.session.check(step)))

    @work(thread=True, exclusive=True, exit_on_error=False, group="follow")
    def follow_progress(self) -> None:
        """Another process wrote progress (``labrunner solve --through 9``): tell the screen
        what the store now says. Our own writes do not move the store's version."""
        if self.followed is None:
            return
        version, current = self.session.progress_version(), self.session.current.id
        if self.session.progress_version() != version:
            return  # written while we read: the next look sees it whole
        before = self.followed
        self.followed = (version, current)
        if version != before[0]:  # only another writer moves the version: our own moves are not news
            self.post_message(ProgressChanged(current, current != before[1], self.session.checked_at()))

    def start_watch(self) -> None:
        self.session.watch(lambda outcome, reasons: self.post_message(StepChecked(outcome, tuple(reasons))),
                           on_error=lambda message, lost: self.post_message(WatchFailed(message, lost)))

    # -- what workers report -------------------------------------------------------------------

    @on(StepChecked)
    def step_checked(self, message: StepChecked) -> None:
        outcome = message.outcome
        self.outcomes[outcome.step.id] = outcome
        lost = next((r for r in outcome.results if r.cluster_lost), None)
        self.set_connection("lost" if lost else "ok", lost.message if lost else "")
        if outcome.step.id == self.step.id:
            self.show_outcome(outcome)
        if message.reasons and self.app.screen is self.view_screen:  # an open view follows the cluster too
            reload = getattr(self.view_screen, "reload", None)
            if callable(reload):
                reload()
        if message.reasons and outcome.status == "passed":
            self.notify(f"Step {outcome.step.number} passed: {outcome.step.title}", title="✓ Passed")
        self.refresh_steps()
        self.refresh_status()

    @on(StepJumped)
    def step_jumped(self, message: StepJumped) -> None:
        if message.missing:
            named = "; ".join(f"step {o.step.number} ({o.step.title}): {o.unmet[0].message}" for o in message.missing[:3])
            self.notify(f"Earlier steps left something missing: {named}", title="Before this step", severity="warning", timeout=12)
        self.refresh_steps()

    @on(ProgressChanged)
    def progress_changed(self, message: ProgressChanged) -> None:
        """Show the store's truth: results checked elsewhere since ours replace ours, and when
        the current step moved elsewhere, the screen follows it."""
        for step, at in message.checked_at.items():
            if step in self.outcomes and self.outcomes[step].checked_at < at:
                del self.outcomes[step]
        if message.moved and not self.busy:
            self.ran.clear()
            self.show_step(self.lab.step(message.current))
        if self.step.id not in self.outcomes:
            if self.step.id == message.current:
                self.recheck_current()  # another process may be working on it: do not record over it
            else:
                self.check_step(self.step)
        self.refresh_steps()
        self.refresh_status()

    @on(CommandStarted)
    def command_started(self, message: CommandStarted) -> None:
        self.query_one(CheckPanel).show("… Running", f"$ {message.command}")

    @on(CommandsFinished)
    def commands_finished(self, message: CommandsFinished) -> None:
        self.busy = False
        failed = next((a for a in message.actions if a.exit_code != 0), None)
        transcript = "\n".join(f"$ {a.command}" + (f"\n{a.output}" if a.output else "") for a in message.actions)
        self.ran[message.step.id] = transcript
        if failed:
            self.query_one(CheckPanel).show(f"✗ The {message.verb} stopped: a command failed (exit {failed.exit_code}).", transcript, "failed")
            return
        if message.verb == "reset":
            self.notify(f"Step {message.step.number} undone" + (f": {len(message.actions)} command(s)" if message.actions else
                                                                   " (nothing to undo on this cluster)"), title="Reset")
        if message.outcome is not None:
            self.post_message(StepChecked(message.outcome))

    @on(Worker.StateChanged)
    def change_ended(self, event: Worker.StateChanged) -> None:
        # A solve or reset that crashed must not leave the keys locked (the app reports the error).
        if event.worker.group == "change" and event.state in (WorkerState.ERROR, WorkerState.CANCELLED):
            self.busy = False

    @on(WatchFailed)
    def watch_failed(self, message: WatchFailed) -> None:
        if message.lost:
            self.set_connection("lost", message.message)
        else:
            self.notify(message.message, title="Not re-checking by itself", severity="warning", timeout=15)

    def set_connection(self, state: str, why: str = "") -> None:
        self.connection = state
        banner = self.query_one("#banner", Static)
        banner.set_class(state == "lost", "-shown")
        if state == "lost":
            banner.update(f"Lost the cluster: {why}\nr retries · F2 switches cluster (or the sandbox) · what you see is the last known state")

    # -- actions --------------------------------------------------------------------------------

    @on(ListView.Selected, "#steps")
    def step_selected(self, event: ListView.Selected) -> None:
        step = getattr(event.item, "step", None)
        if step is not None:
            self.go_to(step)

    def go_to(self, step: Step) -> None:
        self.ran.clear()
        self.session.go(step)  # at once, on the key press: a slow check must not reorder moves
        self.show_step(step)
        self.jump_to(step)

    def action_check(self) -> None:
        self.ran.pop(self.step.id, None)
        self.query_one(CheckPanel).show("… Checking", "")
        self.check_step(self.step)

    def action_next(self) -> None:
        if self.step.number + 1 < len(self.lab.steps):
            self.go_to(self.lab.steps[self.step.number + 1])

    def action_previous(self) -> None:
        if self.step.number > 0:
            self.go_to(self.lab.steps[self.step.number - 1])

    def action_hint(self) -> None:
        hints = self.session.next_hint(self.step)
        outcome = self.outcomes.get(self.step.id)
        if outcome is not None and outcome.status != "passed":
            self.show_outcome(outcome)
        else:
            self.query_one(CheckPanel).show(f"Hint {len(hints.shown)} of {hints.total}", "\n\n".join(hints.shown))
        if hints.exhausted:
            self.notify("That was the last hint; s shows the solution.", title="Hints")

    def action_copy(self) -> None:
        command = self.query_one("#commands", CommandList).selected or (self.step.commands[0] if self.step.commands else None)
        if command is not None:
            self.post_message(CopyRequested(command.run))

    def action_focus_next_item(self) -> None:
        focused = self.focused
        if isinstance(focused, ListView):
            focused.action_cursor_down()

    def action_focus_previous_item(self) -> None:
        focused = self.focused
        if isinstance(focused, ListView):
            focused.action_cursor_up()

    def still_running(self) -> bool:
        if self.busy:
            self.notify("labrunner is still running the previous commands; wait for them to finish.", severity="warning")
        return self.busy

    def action_solution(self) -> None:
        if self.still_running():
            return
        from labrunner.session.rules import NotAllowed

        try:
            commands = self.session.solution_commands(self.step)
        except NotAllowed as refused:
            self.notify(str(refused), title="Solution", severity="warning", timeout=10)
            return
        body = "\n".join(f"$ {command}" for command in commands) or "(nothing to run on this cluster)"

        def answered(run: bool | None) -> None:
            if run:
                self.busy = True
                self.solve_step(self.step)

        self.app.push_screen(ConfirmScreen(f"The solution of step {self.step.number}: {self.step.title}",
                                           f"{body}\n\nRun these commands on {self.where()} now? You can also type them yourself.",
                                           yes="Run them"), answered)

    def action_reset(self) -> None:
        if self.still_running():
            return
        from labrunner.session.rules import NotAllowed

        try:
            commands = self.session.reset_commands(self.step)
        except NotAllowed as refused:
            self.notify(str(refused), title="Reset", severity="warning", timeout=10)
            return
        body = "\n".join(f"$ {command}" for command in commands) or "(nothing to undo on this cluster: the step only becomes current again)"

        def answered(run: bool | None) -> None:
            if run:
                self.busy = True
                self.reset_step(self.step)

        self.app.push_screen(ConfirmScreen(f"Undo step {self.step.number}: {self.step.title}?", f"{body}\n\non {self.where()}", yes="Undo it"),
                             answered)

    def where(self) -> str:
        return shell.where(self.session)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Keys that only make sense on some steps are shown only there."""
        if action == "view":
            return any(view.id == parameters[0] for view, _ in self.views())
        return True

    def views(self) -> list[tuple[View, Check]]:
        """The views this step offers (from its checks' kinds), each with the check it is about."""
        return registry().views_for(self.step.checks, (check for step in self.lab.steps for check in step.checks))

    def action_view(self, identifier: str) -> None:
        offered = next(((view, check) for view, check in self.views() if view.id == identifier), None)
        if offered is None:
            return
        view, check = offered
        module, _, name = view.screen.partition(":")
        factory = getattr(importlib.import_module(module), name)
        self.view_screen = factory(self.session, check)
        self.app.push_screen(self.view_screen, lambda _: self.action_check())

    def action_shell(self) -> None:
        environment = shell.environment_for(self.session, self.step)
        said, program = shell.banner(self.session, self.step), shell.login_shell()
        if shell.in_tmux():
            def answered(split: bool | None) -> None:
                if split:
                    shell.split_tmux_pane(environment, said, program)
                else:
                    self.suspended_shell(program, environment, said)

            self.app.push_screen(ConfirmScreen("Open the shell in a tmux pane beside labrunner?",
                                               "A pane keeps the instructions in view. No: labrunner steps aside until you type exit.",
                                               yes="Split pane", no="Here"), answered)
        else:
            self.suspended_shell(program, environment, said)

    def suspended_shell(self, program: str, environment: dict[str, str], said: str) -> None:
        from textual.app import SuspendNotSupported

        try:
            with self.app.suspend():
                print(said, flush=True)
                subprocess.call([program], env=environment)
        except SuspendNotSupported:
            kubeconfig = environment["KUBECONFIG"]
            self.notify(f"This terminal cannot hand over to a shell. In another terminal: export KUBECONFIG={kubeconfig}",
                        title="Shell", severity="warning", timeout=20)
            return
        self.action_check()
