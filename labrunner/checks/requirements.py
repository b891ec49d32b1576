"""A lab's requirements, checked on the chosen cluster before the learner picks it."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from labrunner.checks.runner import run_check
from labrunner.cluster.port import ClusterPort
from labrunner.lab.check_args import COMMON_FIELDS
from labrunner.lab.model import Check, SourceLocation, Step
from labrunner.registry import registry


@dataclass(frozen=True)
class RequirementState:
    id: str
    glyph: str
    """✓ met, ✗ not met, ○ not yet (the lab sets it up) or not checkable, ! could not tell."""
    said: str


def requirement_states(cluster: ClusterPort, wanted: Iterable[str]) -> dict[str, RequirementState]:
    """Each requirement's state on this cluster, by id (blocking: run it in a worker)."""
    kinds = registry()
    states: dict[str, RequirementState] = {}
    for identifier in sorted(set(wanted)):
        requirement = kinds.requirement(identifier)
        if requirement is None or requirement.check is None:
            states[identifier] = RequirementState(identifier, "○", "not checked")
            continue
        declaration = dict(requirement.check)
        kind = kinds.kind(str(declaration["kind"]))
        if kind is None:
            states[identifier] = RequirementState(identifier, "!", f"no topic registers the check kind {declaration['kind']!r}")
            continue
        arguments = kind.model.model_validate(declaration)
        here = SourceLocation(path=Path(__file__), line=1, column=1)  # a requirement is declared by a topic, not a lab file
        check = Check(kind=kind.name, id=f"requires.{identifier}", says=arguments.says, advisory=False,
                      args=arguments.model_dump(exclude=COMMON_FIELDS), location=here, arguments=arguments)
        step = Step(number=0, id="requirements", title="requirements", instructions_path=here.path, commands=(), hints=(),
                    solution=(), checks=(check,), location=here)
        result = run_check(check, step, cluster)
        if result.status == "passed":
            states[identifier] = RequirementState(identifier, "✓", result.message)
        elif result.status == "error":
            states[identifier] = RequirementState(identifier, "!", f"could not tell: {result.message}")
        elif requirement.lab_provides:
            states[identifier] = RequirementState(identifier, "○", f"not yet: {result.message}")
        else:
            states[identifier] = RequirementState(identifier, "✗", result.message)
    return states
