"""Load ``labs/<id>/lab.yaml`` into a :class:`~labrunner.lab.model.Lab`, or say
precisely what is wrong with it.

The order of work: parse YAML (syntax errors carry their line), check that every
``{{placeholder}}`` is declared, fill the placeholders in, validate the result
against the strict models of :mod:`labrunner.lab.schema`, then check what a
schema cannot see (duplicate step ids, files that do not exist, the id matching
its folder). Every problem found is reported at once, each with
``file:line:column``, the field path and what was expected.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from labrunner import yamlsource
from labrunner.lab import textfile
from labrunner.lab.catalog import LAB_FILE
from labrunner.lab.check_args import COMMON_FIELDS
from labrunner.lab.model import (
    Check,
    Command,
    DeclaredImage,
    Draw,
    ExamSection,
    Lab,
    Parameter,
    Requirement,
    SolutionAction,
    SourceLocation,
    Step,
    Subtask,
)
from labrunner.lab.problems import LabInvalid, Problem, did_you_mean
from labrunner.lab.schema import ApplyAction, ExamFile, ImageFile, LabFile, RunAction
from labrunner.lab.template import BUILTIN_PLACEHOLDERS, placeholders_in, render_tree
from labrunner.lab.validation_errors import ValidationTranslator, is_dns_label
from labrunner.registry import registry



_remembered: dict[tuple[str, tuple[tuple[str, str], ...]], tuple[str, Lab]] = {}
"""Labs loaded with ``remember=True``, by folder and parameters, with the signature of the
files they were read from (a warm server loads each lab once; its forked commands reuse it)."""


def load_lab(lab_dir: Path, parameters: Mapping[str, str] | None = None, *, remember: bool = False) -> Lab:
    """Load and validate the lab in ``lab_dir``.

    Args:
        lab_dir: the folder holding ``lab.yaml``; its parent's parent is the
            content root, whose ``assets/`` folder the lab's files live in.
        parameters: values for the lab's declared parameters (workshop and exam
            modes give each learner their own namespace); defaults otherwise.
        remember: keep the result in this process; a later load of the same folder and
            parameters returns it while no file it was read from has changed.

    Raises:
        LabInvalid: with every problem found, each naming file, line and field.
    """
    from labrunner.lab.index import signature

    lab_dir = textfile.real_path(lab_dir)
    key = (str(lab_dir), tuple(sorted(dict(parameters or {}).items())))
    known = _remembered.get(key)
    digest = signature(lab_dir) if known is not None or remember else ""
    if known is not None and known[0] == digest:
        return known[1]
    lab_file = lab_dir / LAB_FILE
    try:
        text = textfile.read_text(lab_file)
    except textfile.FileProblem as problem:
        raise LabInvalid(
            [Problem(path=lab_file, line=problem.line, column=problem.column, field="", message=problem.message)]
        ) from None
    lab = _LabReader(lab_file, text, dict(parameters or {})).read()
    if remember:
        _remembered[key] = (digest, lab)
    elif known is not None:
        del _remembered[key]
    return lab


class _LabReader:
    def __init__(self, lab_file: Path, text: str, parameter_values: dict[str, str]) -> None:
        self.lab_file = lab_file
        self.lab_dir = lab_file.parent
        self.content_root = self.lab_dir.parent.parent
        self.text = text
        self.requested = parameter_values
        self.problems: list[Problem] = []
        self.root: Any = None

    # -- problems ---------------------------------------------------------

    def problem(self, path: Sequence[str | int], message: str, *, at_key: bool = False) -> None:
        located = yamlsource.locate(self.root, path)
        line, column = located.mark(at_key=at_key)
        self.problems.append(
            Problem(path=self.lab_file, line=line, column=column, field=yamlsource.format_path(path), message=message)
        )

    # -- the work ---------------------------------------------------------

    def read(self) -> Lab:
        try:
            document = yamlsource.parse(self.text)
        except yamlsource.YamlRefused as refused:
            raise LabInvalid(
                [Problem(path=self.lab_file, line=refused.line, column=refused.column, field="", message=refused.message)]
            ) from None
        except yamlsource.YamlSyntaxError as error:
            lines = self.text.splitlines()
            if 0 < error.line <= len(lines) and "\t" in lines[error.line - 1][: error.column]:
                error.message += " (YAML indents with spaces only, and this line has a tab)"
            raise LabInvalid(
                [Problem(path=self.lab_file, line=error.line, column=error.column, field="", message=f"YAML syntax error: {error.message}")]
            ) from None
        if document.root is None or not isinstance(document.data, dict):
            raise LabInvalid(
                [Problem(path=self.lab_file, line=1, column=1, field="", message="expected a mapping with id, title, steps, ... (see docs/lab-format.md)")]
            )
        self.root = document.root
        for duplicate in document.duplicates:
            self.problems.append(
                Problem(
                    path=self.lab_file,
                    line=duplicate.line,
                    column=duplicate.column,
                    field=duplicate.key,
                    message=f"duplicate key {duplicate.key!r} (first at line {duplicate.first_line}); YAML would silently keep only the last",
                )
            )
        values = self.placeholder_values(document.data)
        self.check_placeholders(values)
        declared = document.data.get("parameters")
        numbers = frozenset(name for name, spec in (declared.items() if isinstance(declared, dict) else ())
                            if isinstance(spec, dict) and spec.get("kind") == "number")
        data = render_tree(document.data, values, numbers)
        try:
            lab_file = LabFile.model_validate(data)
        except ValidationError as error:
            self.problems.extend(ValidationTranslator(self.lab_file, self.root).translate(error, data))
            raise LabInvalid(self.problems) from None
        lab = self.build(lab_file, values)
        if self.problems:
            raise LabInvalid(self.problems)
        return lab

    def placeholder_values(self, data: dict[str, Any]) -> dict[str, str]:
        declared = data.get("parameters")
        declared = declared if isinstance(declared, dict) else {}
        values: dict[str, str] = {}
        for name, spec in declared.items():
            default = spec.get("default") if isinstance(spec, dict) else None
            if isinstance(default, str):
                values[name] = default
                if spec.get("kind") == "namespace" and not is_dns_label(default):
                    self.problem(
                        ("parameters", name, "default"),
                        f"{default!r} is not a valid namespace name (lowercase letters, digits and '-', at most 63)",
                    )
                if spec.get("kind") == "number" and not default.isdigit():
                    self.problem(("parameters", name, "default"), f"{default!r} is not a number (digits only, quoted: \"8080\")")
        for name, value in self.requested.items():
            if name not in declared:
                self.problems.append(
                    Problem(
                        path=self.lab_file, line=0, column=0, field=f"parameters.{name}",
                        message=f"this lab has no parameter {name!r}" + did_you_mean(name, list(declared)),
                    )
                )
                continue
            spec = declared[name]
            if isinstance(spec, dict) and spec.get("kind") == "namespace" and not is_dns_label(value):
                self.problems.append(
                    Problem(
                        path=self.lab_file, line=0, column=0, field=f"parameters.{name}",
                        message=f"{value!r} is not a valid namespace name (lowercase letters, digits and '-', at most 63)",
                    )
                )
                continue
            if isinstance(spec, dict) and spec.get("kind") == "number" and not value.isdigit():
                self.problems.append(Problem(path=self.lab_file, line=0, column=0, field=f"parameters.{name}",
                                             message=f"{value!r} is not a number"))
                continue
            values[name] = value
        values["assets"] = str(self.content_root / "assets" / str(data.get("id", self.lab_dir.name)))
        return values

    def check_placeholders(self, values: Mapping[str, str]) -> None:
        known = sorted(set(values) | set(BUILTIN_PLACEHOLDERS))
        for path, node in yamlsource.scalar_nodes(self.root, keys=True):
            if path and path[0] == "parameters":
                if "{{" in node.value:
                    self.problem(path, "parameters cannot refer to other placeholders")
                continue
            for name, _offset in placeholders_in(node.value):
                if name not in known:
                    self.problem(
                        path,
                        f"unknown placeholder {{{{{name}}}}}; declare it under 'parameters' or use one of: "
                        + ", ".join(known) + did_you_mean(name, known),
                    )

    # -- building the model ----------------------------------------------

    def build(self, lab_file: LabFile, values: Mapping[str, str]) -> Lab:
        if lab_file.id != self.lab_dir.name:
            self.problem(("id",), f"the lab id {lab_file.id!r} must match its folder name {self.lab_dir.name!r}")
        steps = []
        seen_steps: dict[str, int] = {}
        seen_checks: dict[str, tuple[int, int]] = {}
        for number, step_file in enumerate(lab_file.steps):
            where = ("steps", number)
            if step_file.id in seen_steps:
                self.problem((*where, "id"), f"duplicate step id {step_file.id!r} (also step {seen_steps[step_file.id]})")
            seen_steps.setdefault(step_file.id, number)
            instructions = self.lab_dir / step_file.instructions
            self.check_markdown((*where, "instructions"), instructions, values)
            solution = self.actions((*where, "solution"), step_file.solution)
            reset = None if step_file.reset is None else self.actions((*where, "reset"), step_file.reset)
            setup = self.actions((*where, "setup"), step_file.setup)
            checks = []
            kind_counts: dict[str, int] = {}
            for index, declaration in enumerate(step_file.checks):
                check_where = (*where, "checks", index)
                kind_counts[declaration.kind] = kind_counts.get(declaration.kind, 0) + 1
                check_id = declaration.id or f"{step_file.id}.{declaration.kind}"
                if declaration.id is None and sum(1 for c in step_file.checks if c.kind == declaration.kind) > 1:
                    check_id += f"-{kind_counts[declaration.kind]}"
                if check_id in seen_checks:
                    self.problem((*check_where, "id"), f"duplicate check id {check_id!r} (also steps[{seen_checks[check_id][0]}].checks[{seen_checks[check_id][1]}])")
                seen_checks.setdefault(check_id, (number, index))
                kind = registry().kind(declaration.kind)
                assert kind is not None  # the union holds only registered kinds
                args = self.resolve_assets(check_where, declaration.model_dump(exclude=COMMON_FIELDS), kind.asset_fields)
                line, column = yamlsource.locate(self.root, check_where).mark()
                checks.append(
                    Check(
                        kind=declaration.kind,
                        id=check_id,
                        says=declaration.says,
                        advisory=declaration.advisory,
                        args=_freeze(args),
                        arguments=declaration.model_copy(update={key: args[key] for key in kind.asset_fields if key in args}),
                        location=SourceLocation(path=self.lab_file, line=line, column=column),
                    )
                )
            line, column = yamlsource.locate(self.root, where).mark()
            steps.append(
                Step(
                    number=number,
                    id=step_file.id,
                    title=step_file.title,
                    instructions_path=instructions,
                    commands=tuple(Command(run=c.run, explain=c.explain, inside=c.inside, output=c.output) for c in step_file.commands),
                    hints=tuple(step_file.hints),
                    solution=solution,
                    reset=reset,
                    setup=setup,
                    scope=step_file.scope,
                    checks=tuple(checks),
                    location=SourceLocation(path=self.lab_file, line=line, column=column),
                )
            )
        parameters = tuple(
            Parameter(
                name=name,
                kind=spec.kind,
                description=spec.description,
                default=spec.default,
                value=values.get(name, spec.default),
            )
            for name, spec in lab_file.parameters.items()
        )
        return Lab(
            id=lab_file.id,
            title=lab_file.title,
            summary=lab_file.summary,
            minutes=lab_file.minutes,
            level=lab_file.level,
            tags=tuple(lab_file.tags),
            requirements=tuple(Requirement(id=r, text=registry().requirement(r).text) for r in lab_file.requirements),  # type: ignore[union-attr]  # the schema admits registered ids only
            parameters=parameters,
            steps=tuple(steps),
            directory=self.lab_dir,
            assets_dir=Path(values["assets"]),
            reset=None if lab_file.reset is None else self.actions(("reset",), lab_file.reset),
            images=self.images(lab_file.images),
            exam=None if lab_file.exam is None else self.exam(lab_file.exam, lab_file, steps),
            _placeholders=dict(values),
        )

    def exam(self, declared: ExamFile, lab_file: LabFile, steps: Sequence[Step]) -> ExamSection:
        """An exam task's section: one step, whose every check one sub-task scores, and draws
        of declared parameters that give valid names."""
        from labrunner.exam.draw import draw_value, pattern_problem

        if len(steps) != 1:
            self.problem(("steps",), f"an exam task has exactly one step (its sub-tasks score its checks); this one has {len(steps)}")
        checks = {check.id for step in steps[:1] for check in step.checks}
        scored: dict[str, int] = {}
        for index, subtask in enumerate(declared.subtasks):
            for position, check_id in enumerate(subtask.checks):
                place: tuple[str | int, ...] = ("exam", "subtasks", index, "checks", position)
                if check_id not in checks:
                    self.problem(place, f"the step has no check {check_id!r}; its checks are: {', '.join(sorted(checks))}"
                                 + did_you_mean(check_id, sorted(checks)))
                elif check_id in scored:
                    self.problem(place, f"check {check_id!r} is already scored by exam.subtasks[{scored[check_id]}]")
                scored.setdefault(check_id, index)
        for check_id in sorted(checks - set(scored)):
            self.problem(("exam", "subtasks"), f"no sub-task scores the step's check {check_id!r}: every check must earn points or be removed")
        ids = [subtask.id for subtask in declared.subtasks]
        for index, subtask_id in enumerate(ids):
            if subtask_id in ids[:index]:
                self.problem(("exam", "subtasks", index, "id"), f"duplicate sub-task id {subtask_id!r}")
        draws = {}
        for name, spec in declared.draw.items():
            where: tuple[str | int, ...] = ("exam", "draw", name)
            parameter = lab_file.parameters.get(name)
            if parameter is None:
                self.problem(where, f"there is no parameter {name!r} to draw" + did_you_mean(name, list(lab_file.parameters)), at_key=True)
                continue
            if (spec.choices is None) == (spec.pattern is None):
                self.problem(where, "give either 'choices' or 'pattern'")
                continue
            if spec.pattern is not None and (problem := pattern_problem(spec.pattern)) is not None:
                self.problem((*where, "pattern"), problem)
                continue
            draw = Draw(choices=tuple(spec.choices or ()), pattern=spec.pattern)
            if parameter.kind == "namespace":
                import random

                samples = list(draw.choices) or [draw_value(draw, random.Random(seed)) for seed in range(3)]
                bad = next((value for value in samples if not is_dns_label(value)), None)
                if bad is not None:
                    self.problem(where, f"draws {bad!r}, which is not a valid namespace name (lowercase letters, digits and '-', at most 63)")
                    continue
            draws[name] = draw
        return ExamSection(
            runtime=declared.runtime,
            legacy=declared.legacy,
            draw=draws,
            subtasks=tuple(Subtask(id=s.id, title=s.title, points=s.points, why=s.why, checks=tuple(s.checks)) for s in declared.subtasks),
        )

    def images(self, declared: Sequence[ImageFile]) -> tuple[DeclaredImage, ...]:
        """The lab's declared images; the same repository twice is a problem (the sandbox
        keys images by repository, so ``ghcr.io/acme/web`` and ``quay.io/acme/web`` are one)."""
        from labrunner.sandbox.images import declaration, repository

        images = []
        seen: dict[str, int] = {}
        for index, image in enumerate(declared):
            where = ("images", index)
            key = repository(image.name)
            if key in seen:
                self.problem((*where, "name"), f"{image.name!r} is declared twice (also images[{seen[key]}]); "
                             f"the sandbox knows an image by its repository ({key!r})")
            seen.setdefault(key, index)
            line, column = yamlsource.locate(self.root, where).mark()
            found = DeclaredImage(
                name=image.name,
                like=image.like,
                ports=tuple(("TCP", port) if isinstance(port, int) else (port.protocol, port.port) for port in image.ports),
                docroot=image.docroot,
                command=tuple(image.command or ()),
                location=SourceLocation(path=self.lab_file, line=line, column=column),
            )
            try:
                declaration(found.declaration())  # what the sandbox will make of it: it must accept it
            except (ValueError, KeyError, TypeError) as refused:
                self.problem(where, f"the sandbox cannot run this declaration: {refused}")
                continue
            images.append(found)
        return tuple(images)

    def actions(self, where: tuple[str | int, ...], declared: Sequence[RunAction | ApplyAction]) -> tuple[SolutionAction, ...]:
        actions = []
        for index, action in enumerate(declared):
            if isinstance(action, ApplyAction):
                target = str(self.asset((*where, index, "apply"), action.apply))
                actions.append(SolutionAction(action="apply", target=target, explain=action.explain, only_on=tuple(action.only_on)))
            else:
                actions.append(SolutionAction(action="run", target=action.run, explain=action.explain, only_on=tuple(action.only_on)))
        return tuple(actions)

    def asset(self, path: Sequence[str | int], relative: str) -> Path:
        target = textfile.real_path(self.content_root / relative)
        if not target.is_relative_to(self.content_root / "assets"):
            self.problem(path, f"{relative!r} leaves the assets/ folder")
        elif (problem := textfile.not_a_file(target)) is not None:
            if problem.missing:
                self.problem(path, f"asset file {relative!r} does not exist (looked for {target})")
            else:
                self.problem(path, f"asset file {relative!r}: {problem.message}")
        return target

    def resolve_assets(self, where: tuple[str | int, ...], args: dict[str, Any], asset_fields: frozenset[str]) -> dict[str, Any]:
        resolved: dict[str, Any] = {}
        for key, value in args.items():
            if isinstance(value, str) and value.startswith("assets/") and key in asset_fields:
                resolved[key] = str(self.asset((*where, key), value))
            elif key in asset_fields and isinstance(value, (list, tuple)):
                resolved[key] = tuple(
                    self.resolve_asset_tree((*where, key, index), item) for index, item in enumerate(value)
                )
            else:
                resolved[key] = value
        return resolved

    def resolve_asset_tree(self, where: tuple[str | int, ...], value: Any) -> Any:
        if isinstance(value, str):
            return str(self.asset(where, value))
        if not isinstance(value, (list, tuple)):
            return value
        return tuple(self.resolve_asset_tree((*where, index), item) for index, item in enumerate(value))

    def check_markdown(self, where: Sequence[str | int], path: Path, values: Mapping[str, str]) -> None:
        if not textfile.real_path(path).is_relative_to(self.lab_dir):
            self.problem(where, f"{path.name!r} must be inside the lab folder")
            return
        try:
            text = textfile.read_text(path)
        except textfile.FileProblem as problem:
            self.markdown_unreadable(where, path, problem)
            return
        known = set(values) | set(BUILTIN_PLACEHOLDERS)
        for line_number, line in enumerate(text.splitlines(), start=1):
            for name, offset in placeholders_in(line):
                if name not in known:
                    self.problems.append(
                        Problem(
                            path=path, line=line_number, column=offset + 1, field="",
                            message=f"unknown placeholder {{{{{name}}}}}; this lab defines: {', '.join(sorted(known))}"
                            + did_you_mean(name, sorted(known)),
                        )
                    )

    def markdown_unreadable(self, where: Sequence[str | int], path: Path, problem: textfile.FileProblem) -> None:
        relative = path.relative_to(self.lab_dir)
        if problem.missing:
            self.problem(where, f"instructions file {relative} does not exist (looked for {path})")
        elif problem.line:
            # A fault in the content: an editor should open the Markdown there, not lab.yaml.
            self.problems.append(Problem(path=path, line=problem.line, column=problem.column, field="", message=problem.message))
        else:
            self.problem(where, f"instructions file {relative}: {problem.message}")


def _freeze(value: Any) -> Any:
    if isinstance(value, dict):
        from types import MappingProxyType

        return MappingProxyType({key: _freeze(item) for key, item in value.items()})
    if isinstance(value, (list, tuple)):
        return tuple(_freeze(item) for item in value)
    return value
