"""The app: composes the screens and routes what happened between them.

Start (which cluster) -> lab picker -> lab workspace. Connecting, loading labs and
every check run in thread workers; a worker that fails becomes a message on the
screen and a line in the log file, never a traceback.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from textual import on, work
from textual.actions import parse as parse_action
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.screen import Screen
from textual.theme import Theme
from textual.worker import Worker, WorkerState, get_current_worker

from labrunner.cluster.choices import SANDBOX, ClusterChoice, cluster_choices
from labrunner.lab.model import Lab
from labrunner.tui.dialogs import ConfirmScreen, HelpScreen, binding_rows
from labrunner.tui.messages import ClusterChosen, ClusterConnected, ClusterFailed, CopyRequested, LabChosen, LabsLoaded

log = logging.getLogger("labrunner.tui")

HIGH_CONTRAST = Theme(name="labrunner-high-contrast", primary="#ffff00", secondary="#00ffff", accent="#ff00ff",
                      warning="#ffaa00", error="#ff5555", success="#55ff55", foreground="#ffffff", background="#000000",
                      surface="#000000", panel="#303030", dark=True)
"""Pure white on black, saturated state colours: for low vision and washed-out projectors."""


class LabrunnerApp(App[None]):
    TITLE = "labrunner"
    ENABLE_COMMAND_PALETTE = True
    BINDINGS = [
        Binding("f1,question_mark", "help", "Help", key_display="?", id="app.help"),
        Binding("ctrl+q", "quit", "Quit", id="app.quit"),
    ]

    def __init__(self, *, kubeconfig: Path | None = None, context: str | None = None, sandbox: bool = False,
                 lab_id: str | None = None, parameters: dict[str, str] | None = None) -> None:
        super().__init__()
        self.kubeconfig, self.context_name, self.use_sandbox = kubeconfig, context, sandbox
        self.lab_id, self.parameters = lab_id, parameters or {}
        self.cluster: Any = None
        self._progress: Any = None
        self.workshop: Any = None
        """The workshop the chosen context belongs to (a learner's kubeconfig says so), if any."""
        self._joined: Any = None
        self.labs: list[Lab] = []
        self.lab_problems: list[str] = []

    # -- start-up ------------------------------------------------------------------------------

    def register_theme_and_settings(self) -> None:
        self.register_theme(HIGH_CONTRAST)
        self.apply_settings()

    def on_mount(self) -> None:
        # Textual calls every class's on_mount in the MRO: faces that start elsewhere override begin().
        self.register_theme_and_settings()
        self.begin()

    def begin(self) -> None:
        """Start: which cluster (then the lab picker, then the lab)."""
        choices = cluster_choices(self.kubeconfig)
        if self.use_sandbox:
            self.show_start([SANDBOX])
            self.connect(SANDBOX)
        elif self.context_name:
            choice = next((c for c in choices if c.context == self.context_name), None)
            if choice is None:
                self.show_start(choices)
                self.start_screen().say(f"There is no context {self.context_name!r} in your kubeconfig: pick one.", error=True)
            else:
                self.show_start([choice, SANDBOX])  # the sandbox stays one key away if the context fails
                self.choose_cluster(choice)
        elif len(choices) == 1:  # no kubeconfig context at all: the sandbox, without asking
            self.show_start(choices)
            self.connect(SANDBOX)
        else:
            self.show_start(choices)

    def apply_settings(self) -> None:
        from labrunner.tui import settings

        chosen = settings.load()
        if chosen.problem:
            self.notify(chosen.problem, title="Settings", severity="warning", timeout=10)
        if chosen.theme and chosen.theme in self.available_themes:
            self.theme = chosen.theme
        if chosen.keymap:
            self.set_keymap(chosen.keymap)
        self.theme_changed_signal.subscribe(self, lambda theme: settings.save_theme(theme.name))

    def show_start(self, choices: list[ClusterChoice]) -> None:
        from labrunner.tui.start import StartScreen

        self.push_screen(StartScreen(choices))

    def start_screen(self) -> Any:
        from labrunner.tui.start import StartScreen

        return next(screen for screen in reversed(self.screen_stack) if isinstance(screen, StartScreen))

    def choose_cluster(self, choice: ClusterChoice) -> None:
        if choice.caution:
            def answered(go: bool | None) -> None:
                if go:
                    self.connect(choice)

            self.push_screen(ConfirmScreen(f"Run labs on {choice.label}?",
                                           f"{choice.caution}. A lab creates namespaces and objects there, and may "
                                           "install a network plugin or label kube-system. Use a cluster you can break.",
                                           yes="Use it", safe_default=True), answered)
        else:
            self.connect(choice)

    @on(ClusterChosen)
    def cluster_chosen(self, message: ClusterChosen) -> None:
        self.choose_cluster(message.choice)

    @work(thread=True, exclusive=True, exit_on_error=False, group="connect")
    def connect(self, choice: ClusterChoice) -> None:
        from labrunner.cluster import errors
        from labrunner.cluster.opening import open_cluster

        say = self.start_screen().say
        if not choice.is_sandbox:
            self.call_from_thread(say, f"Connecting to {choice.label}…")
        try:
            opened = open_cluster(self.kubeconfig, choice.context, sandbox=choice.is_sandbox,
                                  on_starting_sandbox=lambda: self.call_from_thread(
                                      say, "Starting the sandbox (a local API server, a few seconds)…"))
            opened.cluster.version()
        except errors.ClusterError as failure:
            if not get_current_worker().is_cancelled:
                self.post_message(ClusterFailed(failure.message, failure.hint or None))
            return
        if not get_current_worker().is_cancelled:  # the learner has since chosen another cluster
            self.post_message(ClusterConnected(opened.cluster, opened.started_sandbox))

    @on(ClusterFailed)
    def cluster_failed(self, message: ClusterFailed) -> None:
        self.start_screen().say(f"✗ {message.message}" + (f"\n  {message.hint}" if message.hint else "") +
                                "\n  Pick another cluster, or s for the sandbox.", error=True)

    @on(ClusterConnected)
    def cluster_connected(self, message: ClusterConnected) -> None:
        from labrunner.session.joining import workshop_of

        self.cluster = message.cluster
        self.leave_workshop()
        self.workshop = workshop_of(message.cluster.info.kubeconfig, message.cluster.info.context)
        if self.workshop is not None:
            # The learner's namespaces, and straight into the workshop's lab.
            self.parameters = {**self.workshop.parameters, **self.parameters}
            self.lab_id = self.lab_id or self.workshop.lab
            self.notify(f"Workshop {self.workshop.workshop}: you are learner {self.workshop.learner}; your progress is shared "
                        "with the instructor.", title="Workshop", timeout=10)
        if message.started_sandbox:
            self.notify("The sandbox is running. Your own kubectl can use it: press ! for a shell set up for it.", title="Sandbox")
        self.start_screen().say(f"✓ Connected to {'the sandbox' if message.cluster.info.is_sandbox else message.cluster.info.context}.")
        self.load_labs()

    @work(thread=True, exclusive=True, exit_on_error=False, group="labs")
    def load_labs(self) -> None:
        from labrunner import paths
        from labrunner.lab.catalog import discover
        from labrunner.lab.loader import load_lab
        from labrunner.lab.problems import LabInvalid

        labs, problems = [], []
        for entry in discover(paths.lab_roots()):
            try:
                labs.append(load_lab(entry.directory, self.parameters))
            except LabInvalid as invalid:
                problems += [str(problem) for problem in invalid.problems[:5]]
        self.post_message(LabsLoaded(labs, problems))

    @on(LabsLoaded)
    async def labs_loaded(self, message: LabsLoaded) -> None:
        labs = self.labs = message.labs
        self.lab_problems = message.problems
        wanted = next((lab for lab in labs if lab.id == self.lab_id), None) if self.lab_id else None
        if self.lab_id and wanted is None:
            self.notify(f"No lab {self.lab_id!r}; pick one.", severity="warning")
        await self.show_picker()
        if wanted is not None:
            await self.open_lab(wanted)

    def show_picker(self) -> Any:
        from labrunner.tui.picker import LabPickerScreen

        return self.push_screen(LabPickerScreen(self.labs, self.lab_problems, self.cluster, self.progress(), self.cluster.info.context or "default"))

    def progress(self) -> Any:
        """One progress store for the app's lifetime (one SQLite connection, shared by its threads)."""
        from labrunner.session.progress import Progress

        if self._progress is None:
            self._progress = Progress.default()
            if self._progress.problem:
                self.notify(self._progress.problem, title="Progress", severity="warning", timeout=20)
        return self._progress

    @on(LabChosen)
    async def lab_chosen(self, message: LabChosen) -> None:
        await self.open_lab(message.lab)

    def open_lab(self, lab: Lab) -> Any:
        from labrunner.session.session import Session
        from labrunner.tui.workspace import WorkspaceScreen

        progress = self.progress()
        joined = self.workshop is not None and lab.id == self.workshop.lab
        if joined:
            from labrunner.session.joining import join

            if self._joined is None:
                self._joined = join(self.workshop, self.cluster, progress)
            progress = self._joined.progress
        return self.push_screen(WorkspaceScreen(Session(lab, self.cluster, progress, in_workshop=joined), workshop=self.workshop))

    def leave_workshop(self) -> None:
        """Publish what is queued and release the heartbeat (another cluster, or quitting)."""
        if self._joined is not None:
            self._joined.store.close()
            self._joined = None

    # -- app-wide actions ----------------------------------------------------------------------

    async def action_switch_cluster(self) -> None:
        # Close the lab first: its screen's unmount stops the session's watches.
        while len(self.screen_stack) > 1:
            await self.pop_screen()
        self.cluster = None
        self.show_start(cluster_choices(self.kubeconfig))

    async def action_use_sandbox(self) -> None:
        await self.action_switch_cluster()
        self.connect(SANDBOX)

    def action_pick_lab(self) -> None:
        from labrunner.tui.picker import LabPickerScreen

        if isinstance(self.screen, LabPickerScreen):
            return
        self.pop_screen()

    def action_help(self) -> None:
        screen = self.screen
        # The keys this screen offers now (check_action hides some, e.g. `l` off the repair step).
        offered = [b for b in getattr(screen, "BINDINGS", []) if isinstance(b, Binding)
                   and screen.check_action(*parse_action(b.action)[1:]) is not False]
        rows = binding_rows([*offered, *(b for b in self.BINDINGS if isinstance(b, Binding))])
        self.push_screen(HelpScreen(rows, f"Keys on this screen ({type(screen).__name__.removesuffix('Screen').lower() or 'app'})"))

    @on(CopyRequested)
    def copy_requested(self, message: CopyRequested) -> None:
        self.copy_command(message.text)

    def copy_command(self, text: str) -> None:
        """OSC 52 (what most terminals and ssh sessions understand), pbcopy where
        Apple's Terminal ignores it; the notice says honestly which was used."""
        if os.environ.get("TERM_PROGRAM") == "Apple_Terminal" and shutil.which("pbcopy"):
            subprocess.run(["pbcopy"], input=text.encode(), check=False)
            self.notify(text, title="Copied")
            return
        self.copy_to_clipboard(text)
        advice = " Inside tmux: tmux set -s set-clipboard on." if os.environ.get("TMUX") else ""
        self.notify(f"{text}\nSent to the clipboard (OSC 52). Nothing pasted? Select with Shift held.{advice}", title="Copied")

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        if self.cluster is not None:
            yield SystemCommand("cluster: Switch context", "run labs on another cluster", self.action_switch_cluster)
            yield SystemCommand("cluster: Use sandbox", "the built-in local cluster", self.action_use_sandbox)

    # -- failures --------------------------------------------------------------------------------

    @on(Worker.StateChanged)
    def worker_failed(self, event: Worker.StateChanged) -> None:
        if event.state != WorkerState.ERROR:
            return
        error = event.worker.error
        log.error("worker %s failed", event.worker.name, exc_info=error)
        message = getattr(error, "message", None) or f"{type(error).__name__}: {error}"
        self.notify(f"{message}\n(details in {log_file()})", title=f"{event.worker.group or 'work'} failed", severity="error", timeout=15)


def log_file() -> Path:
    from labrunner.paths import state_dir

    return state_dir() / "labrunner.log"


def run(*, kubeconfig: Path | None = None, context: str | None = None, sandbox: bool = False,
        lab_id: str | None = None, parameters: dict[str, str] | None = None) -> None:
    path = log_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    logging.basicConfig(filename=path, level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    app = LabrunnerApp(kubeconfig=kubeconfig, context=context, sandbox=sandbox, lab_id=lab_id, parameters=parameters)
    try:
        app.run()
    finally:
        app.leave_workshop()


def run_lab(lab: Lab, cluster: Any) -> None:
    """One lab on a cluster already opened, straight into its workspace (an exam task practised
    with feedback, hints and its solution); leaving the workspace leaves the app."""
    path = log_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    logging.basicConfig(filename=path, level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")

    class OneLabApp(LabrunnerApp):
        def begin(self) -> None:
            self.cluster = cluster
            self.open_lab(lab)

        def action_pick_lab(self) -> None:
            self.exit()

    OneLabApp().run()
