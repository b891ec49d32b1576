"""What happened, posted by workers (threads) and screens to the app and screens: past
tense, plain data. A screen asks the app for something app-wide by posting a request
here (``CopyRequested``) rather than calling the app's methods."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from textual.message import Message

if TYPE_CHECKING:
    from labrunner.cluster.choices import ClusterChoice
    from labrunner.cluster.port import ClusterPort
    from labrunner.lab.model import Lab
    from labrunner.lab.model import Step
    from labrunner.session.actions import ActionResult
    from labrunner.session.session import StepOutcome


class ClusterConnected(Message):
    def __init__(self, cluster: ClusterPort, started_sandbox: bool) -> None:
        super().__init__()
        self.cluster = cluster
        self.started_sandbox = started_sandbox


class ClusterFailed(Message):
    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__()
        self.message = message
        self.hint = hint


class StepChecked(Message):
    """A step's checks ran (on the learner's key, after a solve, or because the cluster changed)."""

    def __init__(self, outcome: StepOutcome, reasons: tuple[str, ...] = ()) -> None:
        super().__init__()
        self.outcome = outcome
        self.reasons = reasons


class StepJumped(Message):
    """The learner moved to a step; ``missing`` are earlier steps whose prerequisites are not in place."""

    def __init__(self, step: Step, missing: Sequence[StepOutcome]) -> None:
        super().__init__()
        self.step = step
        self.missing = missing


class ProgressChanged(Message):
    """Progress was written elsewhere (``labrunner solve`` in another terminal): the step the
    store says is current, whether that write moved it, and when each step was last checked."""

    def __init__(self, current: str, moved: bool, checked_at: dict[str, float]) -> None:
        super().__init__()
        self.current = current
        self.moved = moved
        self.checked_at = checked_at


class CommandStarted(Message):
    def __init__(self, command: str) -> None:
        super().__init__()
        self.command = command


class CommandsFinished(Message):
    """A solve, reset or setup ended: every command run, with its output."""

    def __init__(self, verb: str, step: Step, actions: tuple[ActionResult, ...], outcome: StepOutcome | None = None) -> None:
        super().__init__()
        self.verb = verb
        self.step = step
        self.actions = actions
        self.outcome = outcome


class WatchFailed(Message):
    def __init__(self, message: str, lost: bool) -> None:
        super().__init__()
        self.message = message
        self.lost = lost
        """The cluster stopped answering (else: a watch was refused, e.g. by RBAC)."""


class CopyRequested(Message):
    """A screen wants ``text`` on the learner's clipboard (the app knows how, per terminal)."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text


class ClusterChosen(Message):
    """The learner picked a cluster to run labs on (the app connects, after a caution if any)."""

    def __init__(self, choice: ClusterChoice) -> None:
        super().__init__()
        self.choice = choice


class LabChosen(Message):
    """The learner picked a lab (the app opens its workspace)."""

    def __init__(self, lab: Lab) -> None:
        super().__init__()
        self.lab = lab


class LabsLoaded(Message):
    """The labs on the search path were read: those that loaded, and what was wrong with the others."""

    def __init__(self, labs: list[Lab], problems: list[str]) -> None:
        super().__init__()
        self.labs = labs
        self.problems = problems
