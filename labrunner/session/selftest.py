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
    """Each step in order: set up (for a step that starts from a prepared state), check,
    solve, check again. Yields a row per step as it is proved. A step with a setup must
    fail after it, whatever earlier steps did: that state is what the learner repairs."""
    lab = session.lab
    for step in lab.steps:
        if on_step:
            on_step(step)
        prepared = session.setup_commands(step)
        set_up = session.set_up(step) if prepared else []
        failed_setup = next((a for a in set_up if a.exit_code != 0), None)
        if failed_setup:
            yield SelftestRow(step.number, step.id, "error", "error", False,
                              f"setup failed: {failed_setup.command}: {failed_setup.output[-200:]}")
            continue
        before = step_status(run_step(step, session.cluster, lab.placeholder_values))
        solved = session.solve(step)
        failed_action = solved.failed_action
        results = solved.outcome.results if solved.outcome else ()
        after = solved.outcome.status if solved.outcome else "error"
        ok = after == "passed" and (before != "passed" or (not prepared and may_pass_before(step))) and failed_action is None
        if ok:
            problem = ""
        elif before == "passed" and prepared:
            problem = "passes right after its setup: the state it hands the learner is not broken"
        elif failed_action:
            problem = f"solution failed: {failed_action.command}: {failed_action.output[-200:]}"
        else:
            problem = next((f"{r.title}: {r.message}" for r in results if r.status != "passed" and not r.advisory),
                           "passes before its solution")
        yield SelftestRow(step.number, step.id, before, after, ok, problem)
