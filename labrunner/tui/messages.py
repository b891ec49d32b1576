"""What happened, posted by workers (threads) to the app and screens: past tense, plain data."""

from __future__ import annotations

from typing import Any

from textual.message import Message


class ClusterConnected(Message):
    def __init__(self, cluster: Any, started_sandbox: bool) -> None:
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

    def __init__(self, outcome: Any, reasons: tuple[str, ...] = ()) -> None:
        super().__init__()
        self.outcome = outcome
        self.reasons = reasons


class StepJumped(Message):
    """The learner moved to a step; ``missing`` are earlier steps whose prerequisites are not in place."""

    def __init__(self, step: Any, missing: list[Any]) -> None:
        super().__init__()
        self.step = step
        self.missing = missing


class CommandStarted(Message):
    def __init__(self, command: str) -> None:
        super().__init__()
        self.command = command


class CommandsFinished(Message):
    """A solve or reset ended: every command run, with its output."""

    def __init__(self, verb: str, step: Any, actions: tuple[Any, ...], outcome: Any = None) -> None:
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
