"""The rules a lab runs under: practice, an exam, a workshop. A value, not a fork of the Session."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Rules:
    hints: bool = True
    """The learner may reveal hints."""
    solve: bool = True
    """The learner may see and run a step's solution."""
    reset: bool = True
    """The learner may undo a step (or the lab) through labrunner."""
    feedback: bool = True
    """A check shows what it found; without feedback it is recorded and the verdict
    waits for the final grading (an exam)."""
    auto_advance: bool = True
    """A pass on the current step makes the next one current."""


PRACTICE = Rules()
EXAM = Rules(hints=False, solve=False, reset=False, feedback=False, auto_advance=False)


class NotAllowed(Exception):
    """What the learner asked for is not allowed by the rules they run under."""

    def __init__(self, what: str) -> None:
        super().__init__(f"{what} is not allowed in this mode")
        self.what = what
