"""Proving a lab: each step's checks must not pass before its solution runs, and must pass after.

The rows are what ``labrunner selftest`` prints (as a table or JSON); a lab author runs it
against the sandbox or a real cluster before publishing. The session given should keep its
progress apart from the learner's (proving a lab must not mark every step passed).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass

from labrunner.checks.result import step_status
from labrunner.checks.runner import run_step
from labrunner.lab.model import Step
from labrunner.registry import registry
from labrunner.session.session import Session


@dataclass(frozen=True)
class SelftestRow:
    step: int
    id: str
    before: str
    """The step's status before its solution ran."""
    after: str
    """After its solution ran and the cluster settled (``error`` when the solution failed)."""
    ok: bool
    problem: str
    """Why not ok, in a line: the failing command, the check still failing, or "passes before its solution"."""

    def as_json(self) -> dict[str, object]:
        return asdict(self)


def may_pass_before(step: Step) -> bool:
    """A step whose checks only observe (probes, a reachable cluster) passes before its
    solution when earlier steps did the work; the first step may too (nothing to do yet)."""
    return step.number == 0 or all(registry().observes(check) for check in step.checks)


def selftest(session: Session, *, on_step: Callable[[Step], object] | None = None) -> Iterator[SelftestRow]:
    """Each step in order: check, solve, check again. Yields a row per step as it is proved."""
    lab = session.lab
    for step in lab.steps:
        if on_step:
            on_step(step)
        before = step_status(run_step(step, session.cluster, lab.placeholder_values))
        solved = session.solve(step)
        failed_action = solved.failed_action
        results = solved.outcome.results if solved.outcome else ()
        after = solved.outcome.status if solved.outcome else "error"
        ok = after == "passed" and (before != "passed" or may_pass_before(step)) and failed_action is None
        if ok:
            problem = ""
        elif failed_action:
            problem = f"solution failed: {failed_action.command}: {failed_action.output[-200:]}"
        else:
            problem = next((f"{r.title}: {r.message}" for r in results if r.status != "passed" and not r.advisory),
                           "passes before its solution")
        yield SelftestRow(step.number, step.id, before, after, ok, problem)
