"""The running lab: one learner, one lab, one cluster context.

What the TUI shows and the headless commands do, in one place: check a step and
remember the result, move on when the current step passes, jump anywhere (saying
which earlier steps left something missing), hints one at a time, solve, reset,
and watching the cluster so the current step is re-checked when it changes.
Every method is blocking and thread-safe enough to run in a worker thread; none
raises a cluster error out of a check (checks never raise), while solve and reset
report failed commands in their results.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

from labrunner.checks.result import CheckResult, Status, step_status
from labrunner.checks.runner import run_check, run_step
from labrunner.cluster.port import ClusterPort
from labrunner.lab.model import Lab, Step
from labrunner.registry import registry
from labrunner.session.actions import ActionResult, cluster_kind, reset_commands, run_commands, setup_commands, solution_commands
from labrunner.session.images import declare_images
from labrunner.session.progress import ProgressKey, ProgressStore, current_step
from labrunner.session.rules import PRACTICE, NotAllowed, Rules
from labrunner.session.watch import ChangeWatcher, namespaces_of

POLL_SECONDS = 4.0
"""How often the checks that read what no watch reports (the registry's ``polled`` kinds:
rows inside a database, a file on the learner's disk) are re-run while a step waits:
``kubectl exec -i ... < db.txt`` changes no object."""


INSTRUCTORS_STEP = ("this step needs cluster-wide rights: in this workshop the instructor does it for the room; "
                    "ask them, or move on to the next step")

SETTLE_SECONDS = 60.0
"""How long solve waits for a step to pass: rollouts and probes take time."""


@dataclass(frozen=True)
class StepOutcome:
    step: Step
    status: Status
    results: tuple[CheckResult, ...]
    checked_at: float = field(default_factory=time.time)

    @property
    def unmet(self) -> tuple[CheckResult, ...]:
        return tuple(r for r in self.results if r.status != "passed")


    def shown(self) -> StepOutcome:
        """What a learner may see when feedback is off: that the step was checked, not the verdict."""
        hidden = tuple(CheckResult(r.id, r.title, "pending", "checked; in this mode the verdict comes at the end", advisory=r.advisory)
                       for r in self.results)
        return StepOutcome(self.step, "pending", hidden, self.checked_at)


@dataclass(frozen=True)
class Grade:
    """Every step checked at once (an exam's final grading)."""

    outcomes: tuple[StepOutcome, ...]

    @property
    def steps_passed(self) -> int:
        return sum(outcome.status == "passed" for outcome in self.outcomes)

    @property
    def checks_passed(self) -> int:
        return sum(r.status == "passed" for outcome in self.outcomes for r in outcome.results if not r.advisory)

    @property
    def checks_total(self) -> int:
        return sum(not r.advisory for outcome in self.outcomes for r in outcome.results)


@dataclass(frozen=True)
class SolveOutcome:
    actions: tuple[ActionResult, ...]
    outcome: StepOutcome | None
    """The step checked after its solution; None when a command failed."""

    @property
    def failed_action(self) -> ActionResult | None:
        return next((a for a in self.actions if a.exit_code != 0), None)


@dataclass(frozen=True)
class Hints:
    step: Step
    shown: tuple[str, ...]
    """The hints the learner has seen so far, in order (the newest last)."""
    total: int

    @property
    def exhausted(self) -> bool:
        return len(self.shown) >= self.total


class Session:
    def __init__(self, lab: Lab, cluster: ClusterPort, progress: ProgressStore, *, rules: Rules = PRACTICE,
                 learner: str = "", attempt: str = "", in_workshop: bool = False) -> None:
        self.lab = lab
        self.in_workshop = in_workshop
        """A workshop learner: the lab's ``scope: cluster`` steps are the instructor's (the learner's
        rights end at their namespaces), so their solutions are not run and a failing one says so."""
        self.cluster = cluster
        self.progress = progress
        self.rules = rules
        self.context = cluster.info.context or "default"
        self.key = ProgressKey(lab.instance_key, self.context, learner, attempt)
        """Progress is kept per lab instance (its parameters), context, learner and attempt."""
        self.kind = cluster_kind(cluster.info)
        self.images_problem: str | None = None
        """Why the lab's declared images could not be handed to the sandbox (its pods with them
        will then fail to pull); None when they were, or there was nothing to hand."""
        try:
            declare_images(lab, cluster.info)  # before any of the lab's commands or checks run
        except OSError as failure:
            self.images_problem = f"could not declare the lab's images to the sandbox: {failure}"
        self._watcher: ChangeWatcher | None = None
        self._check_lock = threading.Lock()
        self._closing = threading.Event()
        self._moves = 0
        """Counts the learner's moves (jumps, resets): a check only moves them on if none happened meanwhile."""
        """Set by :meth:`close`: long waits (a solve's commands, waiting for a step to pass) end early."""

    # -- where the learner is -------------------------------------------------------------

    @property
    def current(self) -> Step:
        return self.lab.step(current_step(self.progress, self.key, [s.id for s in self.lab.steps]))

    def last_results(self) -> dict[str, tuple[str, tuple[dict[str, object], ...]]]:
        """Every step's last recorded status and check results, by step id (as the rules let
        the learner see them: without feedback, only that a step was checked)."""
        records = self.progress.results(self.key).items()
        if not self.rules.feedback:
            return {step: ("pending", ()) for step, _ in records}
        return {step: (record.status, record.checks) for step, record in records}

    def progress_version(self) -> object:
        """Changes whenever progress was written elsewhere (another process, another
        connection): a face polls it to follow a ``labrunner solve`` run in another terminal."""
        return self.progress.version()

    def checked_at(self) -> dict[str, float]:
        """When each step was last checked, here or elsewhere (seconds since the epoch)."""
        return {step: record.checked_at for step, record in self.progress.results(self.key).items()}

    def jump(self, step: Step) -> list[StepOutcome]:
        """Make ``step`` the current one; re-check what the steps before it set up
        and return those that are missing something (their prerequisite checks only)."""
        self.go(step)
        return self.missing_before(step)

    def go(self, step: Step) -> None:
        """Make ``step`` the current one, at once (a UI calls it on the key press). A check
        already running will not move the learner on afterwards."""
        self._moves += 1
        self.progress.move_to(self.key, step.id)

    def missing_before(self, step: Step) -> list[StepOutcome]:
        """The steps before ``step`` whose prerequisite checks do not pass now; nothing when
        feedback is off (an exam): what is missing is a verdict too."""
        if not self.rules.feedback:
            return []
        missing = []
        for earlier in self.lab.steps[: step.number]:
            # Only what later steps build on: a policy, a probe's verdict or an absence is what a
            # later step may rightly change (step 12 deletes step 9's policy).
            checks = [c for c in earlier.checks if registry().is_prerequisite(c) and not c.advisory]
            if not checks:
                continue
            results = tuple(run_check(c, earlier, self.cluster, self.lab.placeholder_values) for c in checks)
            if any(r.status != "passed" for r in results):
                missing.append(StepOutcome(earlier, step_status(list(results)), results))
        return missing

    # -- checking -------------------------------------------------------------------------

    def check(self, step: Step | None = None) -> StepOutcome:
        """Run a step's checks (the current step's by default) and remember the result.
        When the current step passes, the next one becomes current."""
        with self._check_lock:
            moves = self._moves
            current = self.current
            step = step or current
            outcome = self._run_checks(step)
            self._remember(outcome, advance=moves == self._moves and step.id == current.id)
            return outcome if self.rules.feedback else outcome.shown()

    def recheck(self) -> StepOutcome | None:
        """The current step's checks, run because something changed (the cluster, for the
        watch and the poll; the store, for a face following another process). None, and
        nothing recorded, when they were outrun: by the time they end the current step is
        another, or the step was checked elsewhere meanwhile (``labrunner solve`` in another
        terminal). A verdict on a step nobody is on, or older than the store's, must not
        replace what was recorded there since."""
        with self._check_lock:
            moves, started = self._moves, time.time()
            step = self.current
            outcome = self._run_checks(step)
            recorded = self.progress.results(self.key).get(step.id)
            if moves != self._moves or self.current.id != step.id or (recorded is not None and recorded.checked_at > started):
                return None
            self._remember(outcome, advance=True)
            return outcome if self.rules.feedback else outcome.shown()

    def _run_checks(self, step: Step) -> StepOutcome:
        if self.needs_setup(step):
            # Its checks would judge a state the learner has not been handed yet.
            return StepOutcome(step, "pending", (self._not_set_up(step),))
        results = tuple(run_step(step, self.cluster, self.lab.placeholder_values))
        if self.in_workshop and step.scope == "cluster":
            results = tuple(replace(r, hint=INSTRUCTORS_STEP) if r.status != "passed" else r for r in results)
        return StepOutcome(step, step_status(list(results)), results)

    def _remember(self, outcome: StepOutcome, *, advance: bool) -> None:
        """Record the outcome; a pass moves the learner on when ``advance`` (they did not
        go elsewhere while it ran) and the rules auto-advance."""
        step = outcome.step
        self.progress.record(self.key, step.id, outcome.status, [r.as_json() for r in outcome.results])
        if advance and self.rules.auto_advance and outcome.status == "passed" and step.number + 1 < len(self.lab.steps):
            self.progress.move_to(self.key, self.lab.steps[step.number + 1].id)

    def grade(self) -> Grade:
        """Check every step now, in order, and record each result: the final grading of an
        exam (whatever the feedback rule, the grade is the full verdict)."""
        outcomes = []
        with self._check_lock:
            for step in self.lab.steps:
                results = tuple(run_step(step, self.cluster, self.lab.placeholder_values))
                outcome = StepOutcome(step, step_status(list(results)), results)
                self.progress.record(self.key, step.id, outcome.status, [r.as_json() for r in results])
                outcomes.append(outcome)
        return Grade(tuple(outcomes))

    def check_until_passed(self, step: Step, seconds: float = SETTLE_SECONDS,
                           stop: threading.Event | None = None) -> StepOutcome:
        """Check until the step passes or ``seconds`` pass (what a rollout needs)."""
        deadline = time.monotonic() + seconds
        stop = stop or self._closing
        while True:
            outcome = self.check(step)
            if outcome.status == "passed" or time.monotonic() > deadline or stop.is_set() or not self.rules.feedback:
                return outcome
            stop.wait(1.0)

    # -- help -----------------------------------------------------------------------------

    def hints(self, step: Step | None = None) -> Hints:
        step = step or self.current
        if not self.rules.hints:
            return Hints(step, (), 0)
        shown = self.progress.hints_shown(self.key, step.id)
        return Hints(step, step.hints[:shown], len(step.hints))

    def next_hint(self, step: Step | None = None) -> Hints:
        """Reveal one more hint of the step (remembered: the learner sees it again next time)."""
        step = step or self.current
        if not self.rules.hints:
            raise NotAllowed("a hint")
        shown = min(self.progress.hints_shown(self.key, step.id) + 1, len(step.hints))
        self.progress.show_hints(self.key, step.id, shown)
        return Hints(step, step.hints[:shown], len(step.hints))

    # -- a step's starting state ----------------------------------------------------------

    def setup_commands(self, step: Step) -> list[str]:
        """What runs when ``step`` begins on this cluster (nothing, for most steps)."""
        return setup_commands(self.lab, step, self.kind)

    def needs_setup(self, step: Step) -> bool:
        """The step starts from a state labrunner prepares, and it has not been prepared here
        yet (or a reset undid it)."""
        return bool(step.setup) and bool(self.setup_commands(step)) and step.id not in self.progress.set_up_steps(self.key)

    def set_up(self, step: Step, *, on_action: Callable[[str], object] | None = None) -> list[ActionResult]:
        """Hand the learner the step's starting state (often a broken one); what was recorded
        of the step before is forgotten, since it judged another state."""
        actions = self._run(self.setup_commands(step), on_action)
        if all(a.exit_code == 0 for a in actions):
            self.progress.forget(self.key, [step.id])
            self.progress.mark_set_up(self.key, step.id)
        return actions

    def _not_set_up(self, step: Step) -> CheckResult:
        return CheckResult(
            f"{step.id}.setup", "the step's starting state is set up", "pending",
            f"step {step.number} starts from a state labrunner prepares on the cluster, and it has not been prepared "
            f"on {self.context} yet",
            hint=f"open the step in labrunner's app, or run: labrunner setup {self.lab.id} {step.id}")

    # -- changing the cluster -------------------------------------------------------------

    def solution_commands(self, step: Step) -> list[str]:
        if not self.rules.solve:
            raise NotAllowed("the solution")
        if self.in_workshop and step.scope == "cluster":
            raise NotAllowed(f"running step {step.number}'s solution (it needs cluster-wide rights, which in this workshop only "
                             "the instructor has)")
        return solution_commands(self.lab, step, self.kind)

    def reset_commands(self, step: Step | None) -> list[str]:
        if not self.rules.reset:
            raise NotAllowed("a reset")
        if self.in_workshop and (step is None or step.scope == "cluster"):
            raise NotAllowed("undoing " + ("the whole lab" if step is None else f"step {step.number}")
                             + " (it needs cluster-wide rights: in this workshop the instructor resets learners)")
        return reset_commands(self.lab, step, self.kind)

    def solve(self, step: Step, *, on_action: Callable[[str], object] | None = None, settle: float = SETTLE_SECONDS) -> SolveOutcome:
        """Run the step's solution, the commands a learner would type, then check it
        until it passes (or ``settle`` seconds). A step not yet set up is set up first:
        its solution repairs that state."""
        commands = self.solution_commands(step)
        actions = self.set_up(step, on_action=on_action) if self.needs_setup(step) else []
        if any(a.exit_code != 0 for a in actions):
            return SolveOutcome(tuple(actions), None)
        actions += self._run(commands, on_action)
        if any(a.exit_code != 0 for a in actions):
            return SolveOutcome(tuple(actions), None)
        return SolveOutcome(tuple(actions), self.check_until_passed(step, settle))

    def reset(self, step: Step | None = None, *, on_action: Callable[[str], object] | None = None) -> list[ActionResult]:
        """Undo a step (or, with None, the whole lab) and forget its results; the
        step becomes current (the whole lab starts over at its first step)."""
        actions = self._run(self.reset_commands(step), on_action)
        if all(a.exit_code == 0 for a in actions):
            self._moves += 1
            if step is None:
                self.progress.forget(self.key)
            else:
                self.progress.forget(self.key, [step.id])
                self.progress.move_to(self.key, step.id)
        return actions

    def _run(self, commands: Sequence[str], on_action: Callable[[str], object] | None) -> list[ActionResult]:
        results = []
        for command in commands:
            if on_action:
                on_action(command)
            result = run_commands([command], self.cluster.info, self.lab.placeholder_values, stop=self._closing)[0]
            results.append(result)
            if result.exit_code != 0:
                break
        return results

    # -- watching -------------------------------------------------------------------------

    def watch(self, on_outcome: Callable[[StepOutcome, list[str]], object], *, on_error: Callable[[str, bool], object] | None = None,
              quiet: float = 0.3, latest: float = 1.0, poll: float = POLL_SECONDS) -> ChangeWatcher:
        """Re-check the current step whenever the cluster changes (debounced) and hand
        the outcome, with the changes that set it off, to ``on_outcome`` (from a
        background thread). Watches every namespace any step names, so it keeps
        working as the learner moves on. Stop it with :meth:`unwatch`."""
        self.unwatch()
        namespaces = namespaces_of(check.args for step in self.lab.steps for check in step.checks)

        def changed(reasons: list[str]) -> None:
            outcome = self.recheck()
            if outcome is not None:
                on_outcome(outcome, reasons)

        resources = registry().watched(check for step in self.lab.steps for check in step.checks)
        watcher = ChangeWatcher(self.cluster, namespaces, changed, resources=resources, quiet=quiet, latest=latest, on_error=on_error)
        self._watcher = watcher.start()
        threading.Thread(target=self._poll, args=(watcher, on_outcome, poll), name="poll unwatchable checks", daemon=True).start()
        return watcher

    def _poll(self, watcher: ChangeWatcher, on_outcome: Callable[[StepOutcome, list[str]], object], seconds: float) -> None:
        # Only the unwatchable checks run each round (a probe would put a busybox pod in the
        # learner's `kubectl get pods` every few seconds); the whole step when one of them changed.
        while not watcher.wait_stopped(seconds):
            try:
                step = self.current
                checks = [check for check in step.checks if registry().is_polled(check)]
                record = self.progress.results(self.key).get(step.id)
                if not checks or (record is not None and record.status == "passed"):
                    continue
                before = {result["id"]: result for result in (record.checks if record else ())}
                now = [run_check(check, step, self.cluster, self.lab.placeholder_values).as_json() for check in checks]
                if record is not None and all(before.get(result["id"]) == result for result in now):
                    continue
                outcome = self.recheck()
            except Exception:  # the poll must never take the session down; the next round tries again
                continue
            if outcome is not None:
                on_outcome(outcome, [f"re-checked {outcome.step.id}: its checks read what no watch reports"])

    @property
    def closing(self) -> threading.Event:
        """Set once the session is closed; long-running work given it ends early."""
        return self._closing

    def close(self) -> None:
        """The learner is leaving: stop watching, and cut short any solve or wait in progress."""
        self._closing.set()
        self.unwatch()

    def unwatch(self) -> None:
        if self._watcher:
            self._watcher.stop()
            self._watcher = None
