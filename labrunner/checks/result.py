"""A check's verdict: passed, failed, error (could not tell) or pending, in words."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

Status = Literal["passed", "failed", "error", "pending"]
GLYPHS = {"passed": "✓", "failed": "✗", "error": "!", "pending": "…"}


@dataclass(frozen=True)
class CheckResult:
    id: str
    title: str
    """The sentence the lab declares: the state that should hold."""
    status: Status
    message: str
    """What labrunner found, for this learner, now."""
    details: tuple[str, ...] = field(default_factory=tuple)
    hint: str | None = None
    advisory: bool = False
    cluster_lost: bool = False
    """For an error: the cluster as a whole stopped answering (not one refused request), so
    a UI can tell a lost cluster from a broken check. Not part of the JSON contract."""

    def as_json(self) -> dict[str, Any]:
        return {"id": self.id, "title": self.title, "status": self.status, "message": self.message,
                "details": list(self.details), "hint": self.hint}


def step_status(results: list[CheckResult]) -> Status:
    """A step passes when every non-advisory check passes; an error outranks a failure."""
    blocking = [r for r in results if not r.advisory]
    if any(r.status == "error" for r in blocking):
        return "error"
    if any(r.status == "failed" for r in blocking):
        return "failed"
    if any(r.status == "pending" for r in blocking):
        return "pending"
    return "passed"
