"""The lab model: frozen values the rest of labrunner works with.

Built only by :mod:`labrunner.lab.loader`, after validation, with every
``{{parameter}}`` already replaced by its value. Each step and check remembers
where it was declared, so later messages ("check 2 of step deny-ingress") can
point an author at the line. Pure: no I/O beyond reading a step's Markdown.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from labrunner.lab.problems import LabInvalid, Problem
from labrunner.lab.template import render
from labrunner.lab.textfile import FileProblem, read_text

Level = Literal["beginner", "intermediate", "advanced"]


@dataclass(frozen=True, kw_only=True)
class SourceLocation:
    """A place in a file, 1-based like an editor shows it."""

    path: Path
    line: int
    column: int

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.column}"


@dataclass(frozen=True, kw_only=True)
class Command:
    """A command the learner types, and the line that says what it does."""

    run: str
    explain: str
    inside: str | None = None
    """Where to type it, when not in the learner's own shell."""
    output: str | None = None


@dataclass(frozen=True, kw_only=True)
class SolutionAction:
    """One action of a step's solution: run a command or apply a manifest."""

    action: Literal["run", "apply"]
    target: str
    """The command line (``run``) or the manifest's absolute path (``apply``)."""
    explain: str | None = None
    only_on: tuple[str, ...] = ()
    """Kinds of cluster this action is for; empty means every cluster."""


@dataclass(frozen=True, kw_only=True)
class Check:
    """A check declaration: what to verify, and the sentence the learner reads."""

    kind: str
    id: str
    says: str
    advisory: bool
    args: Mapping[str, Any]
    """The kind's arguments as plain data, validated; asset paths are absolute."""
    location: SourceLocation
    arguments: Any = None
    """The same, as the kind's own model (a ``CheckArgs``); None for a check built by
    hand, whose kind then builds it from ``args``."""


@dataclass(frozen=True, kw_only=True)
class Step:
    number: int
    """0-based position in the lab, as the outline numbers steps."""
    id: str
    title: str
    instructions_path: Path
    commands: tuple[Command, ...]
    hints: tuple[str, ...]
    solution: tuple[SolutionAction, ...]
    checks: tuple[Check, ...]
    location: SourceLocation
    reset: tuple[SolutionAction, ...] | None = None
    """How to undo the step; None: delete what its ``apply:`` actions created."""
    setup: tuple[SolutionAction, ...] = ()
    """What runs when the step begins: the state the learner starts from (often broken)."""
    scope: Literal["namespace", "cluster"] = "namespace"
    """``cluster``: it needs cluster-wide rights; a workshop's instructor does it for the room."""


@dataclass(frozen=True, kw_only=True)
class Parameter:
    name: str
    kind: Literal["namespace", "name", "number"]
    description: str
    default: str
    value: str
    """The value this instance of the lab runs with (the default unless overridden)."""


@dataclass(frozen=True, kw_only=True)
class Requirement:
    id: str
    text: str


@dataclass(frozen=True, kw_only=True)
class DeclaredImage:
    """An image the lab uses that the sandbox's table lacks, and what it should run as."""

    name: str
    """The repository, without a tag: ``ghcr.io/acme/shop``."""
    like: str
    """The table's image whose behaviour it borrows (``nginx``, ``php``, ``busybox``...)."""
    ports: tuple[tuple[str, int], ...] = ()
    """(protocol, port) pairs its server listens on; empty: the ``like`` image's."""
    docroot: str | None = None
    command: tuple[str, ...] = ()
    """What it runs when a pod gives no command; empty: the ``like`` image's."""
    location: SourceLocation

    def declaration(self) -> dict[str, Any]:
        """The entry the sandbox reads from ``images.d`` (``{name, like, ports, docroot, command}``)."""
        entry: dict[str, Any] = {"name": self.name, "like": self.like}
        if self.ports:
            entry["ports"] = [port if protocol == "TCP" else {"port": port, "protocol": protocol} for protocol, port in self.ports]
        if self.docroot is not None:
            entry["docroot"] = self.docroot
        if self.command:
            entry["command"] = list(self.command)
        return entry


@dataclass(frozen=True, kw_only=True)
class Draw:
    """How an exam draws one parameter's value for an attempt."""

    choices: tuple[str, ...] = ()
    pattern: str | None = None


@dataclass(frozen=True, kw_only=True)
class Subtask:
    id: str
    title: str
    points: int
    why: str
    checks: tuple[str, ...]
    """Ids of the task step's checks; the sub-task passes when all of them pass."""


@dataclass(frozen=True, kw_only=True)
class ExamSection:
    """What makes a one-step lab an exam task."""

    runtime: Literal["sandbox", "cluster", "node"]
    legacy: bool
    draw: Mapping[str, Draw]
    subtasks: tuple[Subtask, ...]

    @property
    def points(self) -> int:
        return sum(subtask.points for subtask in self.subtasks)


@dataclass(frozen=True, kw_only=True)
class Lab:
    id: str
    title: str
    summary: str
    minutes: int
    level: Level
    tags: tuple[str, ...]
    requirements: tuple[Requirement, ...]
    parameters: tuple[Parameter, ...]
    steps: tuple[Step, ...]
    directory: Path
    assets_dir: Path
    reset: tuple[SolutionAction, ...] | None = None
    """How to undo the whole lab; None: delete the namespaces its parameters name."""
    images: tuple[DeclaredImage, ...] = ()
    """Images the sandbox's table lacks, declared for the sandbox when the lab runs there."""
    exam: ExamSection | None = None
    """Set for an exam task: how it is scored and what each attempt draws."""
    _placeholders: Mapping[str, str] = field(default_factory=dict, repr=False)

    def step(self, key: str | int) -> Step:
        """The step with this id, or at this 0-based number (``"3"`` works too).

        Raises:
            KeyError: no such step; the message lists the valid ids.
        """
        if isinstance(key, int) or key.isdigit():
            number = int(key)
            if 0 <= number < len(self.steps):
                return self.steps[number]
        else:
            for step in self.steps:
                if step.id == key:
                    return step
        raise KeyError(
            f"lab {self.id!r} has no step {key!r}; steps are 0-{len(self.steps) - 1}: "
            + ", ".join(step.id for step in self.steps)
        )

    def step_of(self, check: Check) -> Step | None:
        """The step declaring this check."""
        return next((step for step in self.steps if any(mine is check for mine in step.checks)), None)

    def instructions(self, step: Step) -> str:
        """The step's Markdown with the lab's parameters filled in.

        Raises:
            LabInvalid: the file changed since the lab was loaded, and cannot be read now.
        """
        try:
            text = read_text(step.instructions_path)
        except FileProblem as problem:
            where = step.location
            raise LabInvalid(
                [Problem(path=where.path, line=where.line, column=where.column, field=f"steps[{step.number}].instructions",
                         message=f"{step.instructions_path.name}: {problem.message}")]
            ) from None
        return render(text, self._placeholders)

    @property
    def namespace(self) -> str | None:
        """The lab's own namespace: its first parameter of kind ``namespace``."""
        return next((p.value for p in self.parameters if p.kind == "namespace"), None)

    @property
    def instance_key(self) -> str:
        """The lab as run with these parameters, for progress: ``networkpolicies``, or
        ``networkpolicies[namespace=alice-np]`` (workshop learners sharing a context
        keep their own progress, and resetting one never forgets another's)."""
        changed = [f"{p.name}={p.value}" for p in self.parameters if p.value != p.default]
        return f"{self.id}[{','.join(changed)}]" if changed else self.id

    @property
    def placeholder_values(self) -> Mapping[str, str]:
        """Every ``{{name}}`` and its value, ``assets`` included."""
        return dict(self._placeholders)

    @property
    def parameter_values(self) -> Mapping[str, str]:
        return {parameter.name: parameter.value for parameter in self.parameters}
