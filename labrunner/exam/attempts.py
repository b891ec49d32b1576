"""Exam attempts as records on disk: what was drawn, on which cluster, until when, what the
candidate revealed, flagged and noted, and the graded result once submitted.

One JSON file per attempt in the state folder's ``exams/``, replaced atomically on every
change (a temporary file renamed over it), so an attempt survives a killed terminal and
``labrunner exam status`` in another terminal reads a whole record, never half of one.
"""

from __future__ import annotations

import json
import os
import secrets
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class TaskEntry:
    number: int
    """1-based, as the exam numbers its tasks."""
    id: str
    domain: str
    points: int
    namespace: str
    """The namespace the task's statement names (its first namespace parameter)."""
    parameters: dict[str, str]
    """This attempt's drawn values: the task is loaded with them for setup, solution and grading."""
    revealed: bool = False
    """Its reference solution was shown: the attempt is practice, not a score in the history."""
    flagged: bool = False
    notes: str = ""
    seconds: float = 0.0
    """Time spent with the task open (measured by the app; headless attempts leave it 0)."""


@dataclass
class ClusterChoice:
    """How to open the attempt's cluster again (status, submit, solution in other terminals)."""

    sandbox: bool
    """Opened with ``--sandbox``: the sandbox again, wherever it listens now."""
    kubeconfig: str | None
    """``--kubeconfig`` as given, else the ``KUBECONFIG`` the attempt started with (None: the default file)."""
    context: str | None
    """The context it ran on (pinned: switching contexts in another shell must not move the exam)."""
    name: str
    """What the statements call it: the context's name."""


@dataclass
class Attempt:
    attempt: str
    seed: int
    created: float
    deadline: float
    minutes: int
    cluster: ClusterChoice
    tasks: list[TaskEntry]
    missing_weight: dict[str, int] = field(default_factory=dict)
    mode: str = "exam"
    """``exam`` (no feedback until submitted), ``practice`` (one task, feedback) or ``mastery``
    (timed, each task's feedback when the candidate moves on)."""
    result: dict[str, Any] | None = None
    """The graded document ``exam submit --json`` prints, once submitted."""
    submitted_at: float | None = None

    @property
    def revealed(self) -> bool:
        return any(task.revealed for task in self.tasks)

    def seconds_left(self, now: float | None = None) -> float:
        return self.deadline - (time.time() if now is None else now)

    def task(self, number: int) -> TaskEntry:
        for task in self.tasks:
            if task.number == number:
                return task
        raise KeyError(f"attempt {self.attempt} has tasks 1-{len(self.tasks)}, not {number}")

    def as_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Attempt:
        return cls(**{**data, "cluster": ClusterChoice(**data["cluster"]), "tasks": [TaskEntry(**task) for task in data["tasks"]]})


def new_attempt_id(now: float | None = None) -> str:
    """Sortable by time and short enough to type: ``20261206-2155-3f2a``."""
    return time.strftime("%Y%m%d-%H%M", time.localtime(now)) + "-" + secrets.token_hex(2)


class AttemptStore:
    def __init__(self, folder: Path) -> None:
        self.folder = folder

    @classmethod
    def default(cls) -> AttemptStore:
        from labrunner.paths import state_dir

        return cls(state_dir() / "exams")

    def path(self, attempt_id: str) -> Path:
        if not attempt_id or "/" in attempt_id or attempt_id.startswith("."):
            raise KeyError(f"{attempt_id!r} is not an attempt id")
        return self.folder / f"{attempt_id}.json"

    def save(self, attempt: Attempt) -> None:
        self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        descriptor, temporary = tempfile.mkstemp(dir=self.folder, prefix=f".{attempt.attempt}.", suffix=".tmp")
        try:
            with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
                json.dump(attempt.as_json(), handle, indent=1, ensure_ascii=False)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temporary, self.path(attempt.attempt))
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise

    def update(self, attempt_id: str, change: Callable[[Attempt], None]) -> Attempt:
        """Read the record, change it and write it back under a lock: the app keeps time and
        notes while ``exam solution`` in another terminal marks a task revealed, and neither
        loses the other's change."""
        self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        with open(self.folder / ".lock", "a", encoding="utf-8") as lock:
            try:
                import fcntl

                fcntl.flock(lock, fcntl.LOCK_EX)
            except ImportError:  # Windows: no advisory locks; the last writer wins
                pass
            attempt = self.load(attempt_id)
            change(attempt)
            self.save(attempt)
            return attempt

    def load(self, attempt_id: str) -> Attempt:
        """Raises KeyError (no such attempt, naming the known ones' count) or ValueError (damaged)."""
        path = self.path(attempt_id)
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            known = self.ids()
            raise KeyError(f"no exam attempt {attempt_id!r}" + (f"; the latest is {known[-1]}" if known else "; start one with: labrunner exam start")) from None
        try:
            return Attempt.from_json(json.loads(text))
        except (ValueError, TypeError, KeyError) as damaged:
            raise ValueError(f"the record of attempt {attempt_id} ({path}) is damaged: {damaged}") from None

    def ids(self) -> list[str]:
        try:
            return sorted(p.stem for p in self.folder.glob("*.json"))
        except OSError:
            return []

    def all(self) -> list[Attempt]:
        attempts = []
        for attempt_id in self.ids():
            try:
                attempts.append(self.load(attempt_id))
            except (KeyError, ValueError):
                continue
        return attempts
