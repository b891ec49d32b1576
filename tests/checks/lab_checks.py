"""Running a lab step's checks as the session does, for the modules that make a lab's learner
mistakes on a sandbox and assert what labrunner says."""

from __future__ import annotations

from typing import Any

from labrunner.lab.model import Lab
from labrunner.registry import registry
from labrunner.registry.types import CheckContext, Outcome

Results = list[tuple[str, Outcome]]
"""(the check's sentence, its outcome) for each check of a step."""


def step_results(lab: Lab, cluster: Any, step_id: str) -> Results:
    """Each check of the step run through the registry, with the lab's placeholders."""
    kinds = registry()
    context = CheckContext(cluster, dict(lab.placeholder_values))
    found = []
    for check in lab.step(step_id).checks:
        kind = kinds.kind(check.kind)
        assert kind is not None
        found.append((check.says, kind.run(kinds.arguments(check), context)))
    return found


def failing_text(results: Results) -> str:
    """What the failing checks say: each sentence and its details."""
    return "\n".join(f"{outcome[1]}\n" + "\n".join(outcome[2]) for _, outcome in results if outcome[0] != "passed")
