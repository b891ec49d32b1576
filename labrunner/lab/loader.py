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

import re
import typing
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from labrunner import yamlsource
from labrunner.lab.catalog import LAB_FILE
from labrunner.lab.check_args import COMMON_FIELDS
from labrunner.lab.check_kinds import check_kinds
from labrunner.lab.model import (
    Check,
    Command,
    Lab,
    Parameter,
    Requirement,
    SolutionAction,
    SourceLocation,
    Step,
)
from labrunner.lab.problems import LabInvalid, Problem, did_you_mean
from labrunner.lab.schema import ApplyAction, LabFile, RunAction
from labrunner.lab.template import BUILTIN_PLACEHOLDERS, placeholders_in, render_tree
from labrunner.registry import registry


_PATTERN_MEANINGS = {
    r"^[a-z0-9]+(-[a-z0-9]+)*$": "a slug: lowercase letters and digits in words joined by single hyphens, e.g. 'deny-ingress'",
    r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$": "a Kubernetes name: lowercase letters, digits, '-' and '.', starting and ending with a letter or digit",
    r"^assets/[^\s]+$": "a path under assets/, e.g. 'assets/networkpolicies/app.yaml'",
    r"^[^/\s][^\s]*\.md$": "a Markdown file beside lab.yaml, e.g. 'steps/01-namespace.md'",
    r"^https?://": "an http:// or https:// URL",
    r"^(deployment|statefulset|pod)/[a-z0-9.-]+$": "a workload as kubectl names it, e.g. 'deployment/mysql'",
}

_TYPE_MEANINGS = {
    "string_type": "a string",
    "int_type": "a whole number",
    "bool_type": "true or false",
    "tuple_type": "a list",
    "list_type": "a list",
    "dict_type": "a mapping of keys to values",
    "model_type": "a mapping of keys to values",
    "model_attributes_type": "a mapping of keys to values",
}

_YAML_11_WORDS = {"y", "n", "yes", "no", "on", "off", "true", "false", "null", "~"}


def load_lab(lab_dir: Path, parameters: Mapping[str, str] | None = None) -> Lab:
    """Load and validate the lab in ``lab_dir``.

    Args:
        lab_dir: the folder holding ``lab.yaml``; its parent's parent is the
            content root, whose ``assets/`` folder the lab's files live in.
        parameters: values for the lab's declared parameters (workshop and exam
            modes give each learner their own namespace); defaults otherwise.

    Raises:
        LabInvalid: with every problem found, each naming file, line and field.
    """
    lab_dir = lab_dir.resolve()
    lab_file = lab_dir / LAB_FILE
    try:
        text = lab_file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise LabInvalid([Problem(path=lab_file, line=0, column=0, field="", message="no such file")]) from None
    except (OSError, UnicodeDecodeError) as error:
        raise LabInvalid([Problem(path=lab_file, line=0, column=0, field="", message=f"cannot read: {error}")]) from None
    return _LabReader(lab_file, text, dict(parameters or {})).read()


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
        data = render_tree(document.data, values)
        try:
            lab_file = LabFile.model_validate(data)
        except ValidationError as error:
            self.problems.extend(self.translate(error, data))
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
                if spec.get("kind") == "namespace" and not _is_dns_label(default):
                    self.problem(
                        ("parameters", name, "default"),
                        f"{default!r} is not a valid namespace name (lowercase letters, digits and '-', at most 63)",
                    )
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
            if isinstance(spec, dict) and spec.get("kind") == "namespace" and not _is_dns_label(value):
                self.problems.append(
                    Problem(
                        path=self.lab_file, line=0, column=0, field=f"parameters.{name}",
                        message=f"{value!r} is not a valid namespace name (lowercase letters, digits and '-', at most 63)",
                    )
                )
                continue
            values[name] = value
        values["assets"] = str(self.content_root / "assets" / str(data.get("id", self.lab_dir.name)))
        return values

    def check_placeholders(self, values: Mapping[str, str]) -> None:
        known = sorted(set(values) | set(BUILTIN_PLACEHOLDERS))
        for path, node in yamlsource.scalar_nodes(self.root):
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

    # -- pydantic errors to problems -------------------------------------

    def translate(self, error: ValidationError, data: Any) -> list[Problem]:
        grouped: dict[tuple[str | int, ...], list[tuple[dict[str, Any], bool]]] = {}
        for item in error.errors(include_url=False):
            path, skipped = walkable_path(data, item["loc"], item["type"])
            grouped.setdefault(path, []).append((dict(item), skipped))
        problems = []
        for path, items in grouped.items():
            first, _ = items[0]
            if len(items) > 1 and all(skipped for _, skipped in items):
                message = self.union_message(path, [item for item, _ in items])
                at_key = False
            else:
                message, path, at_key = self.message(path, first)
            located = yamlsource.locate(self.root, path)
            line, column = located.mark(at_key=at_key)
            problems.append(
                Problem(path=self.lab_file, line=line, column=column, field=yamlsource.format_path(path), message=message)
            )
        return problems

    def union_message(self, path: tuple[str | int, ...], items: list[dict[str, Any]]) -> str:
        expected = []
        for item in items:
            meaning = self.expected(item)
            if meaning not in expected:
                expected.append(meaning)
        return "expected " + " or ".join(expected) + self.yaml_surprise(path, items[0])

    def expected(self, item: dict[str, Any]) -> str:
        kind = item["type"]
        if kind in _TYPE_MEANINGS:
            return _TYPE_MEANINGS[kind]
        if kind == "string_pattern_mismatch":
            return _PATTERN_MEANINGS.get(item["ctx"]["pattern"], f"text matching {item['ctx']['pattern']}")
        return item["msg"][0].lower() + item["msg"][1:]

    def message(self, path: tuple[str | int, ...], item: dict[str, Any]) -> tuple[str, tuple[str | int, ...], bool]:
        """The sentence for one error, and where it should point."""
        kind, ctx, value = item["type"], item.get("ctx", {}), item.get("input")
        if kind == "union_tag_invalid":
            tag = ctx.get("tag", "")
            return (
                f"unknown check kind {tag!r}" + (did_you_mean(tag, check_kinds()) or f"; known kinds: {', '.join(check_kinds())}"),
                (*path, "kind"),
                False,
            )
        if kind == "union_tag_not_found":
            return f"missing 'kind': every check names its kind, one of {', '.join(check_kinds())}", path, False
        if kind == "missing":
            return f"missing required field {path[-1]!r}", path, False
        if kind == "extra_forbidden":
            name = str(path[-1])
            allowed = allowed_fields(item["loc"][:-1])
            hint = did_you_mean(name, allowed) or (f"; allowed here: {', '.join(allowed)}" if allowed else "")
            return f"unknown field {name!r}{hint}", path, True
        if kind == "literal_error":
            choices = re.findall(r"'([^']*)'", ctx.get("expected", ""))
            return (
                f"{value!r} is not allowed; expected one of {', '.join(choices)}"
                + (did_you_mean(str(value), choices) if isinstance(value, str) else ""),
                path,
                False,
            )
        if kind in _TYPE_MEANINGS:
            return f"expected {_TYPE_MEANINGS[kind]}, got {_describe(value)}" + self.yaml_surprise(path, item), path, False
        if kind == "string_pattern_mismatch":
            return f"{value!r} is not {self.expected(item)}", path, False
        if kind in ("too_short", "too_long"):
            return _length_message(kind, ctx, value), path, False
        if kind == "value_error":
            return str(ctx.get("error", item["msg"])), path, False
        if kind == "solution_action":
            return item["msg"], path, False
        return item["msg"], path, False

    def yaml_surprise(self, path: tuple[str | int, ...], item: dict[str, Any]) -> str:
        """Explain YAML 1.1 turning an unquoted word or number into something else."""
        if item["type"] not in ("string_type", "union_tag_invalid") and not item["type"].endswith("_type"):
            return ""
        located = yamlsource.locate(self.root, path)
        node = located.node
        if located.walked != len(path) or not isinstance(node, yamlsource.yaml.ScalarNode) or node.style:
            return ""
        value = item.get("input")
        if isinstance(value, bool) or node.value.lower() in _YAML_11_WORDS:
            return f" (YAML reads the unquoted word {node.value} as a boolean; write it in quotes: \"{node.value}\")"
        if isinstance(value, (int, float)) and item["type"] == "string_type":
            return f" (YAML reads the unquoted {node.value} as the number {value}; write it in quotes: \"{node.value}\")"
        return ""

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
            _placeholders=dict(values),
        )

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
        target = (self.content_root / relative).resolve()
        if not target.is_relative_to(self.content_root / "assets"):
            self.problem(path, f"{relative!r} leaves the assets/ folder")
        elif not target.is_file():
            self.problem(path, f"asset file {relative!r} does not exist (looked for {target})")
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
        if not path.resolve().is_relative_to(self.lab_dir):
            self.problem(where, f"{path.name!r} must be inside the lab folder")
            return
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            self.problem(where, f"instructions file {path.relative_to(self.lab_dir)} does not exist (looked for {path})")
            return
        except (OSError, UnicodeDecodeError) as error:
            self.problem(where, f"cannot read {path.name}: {error}")
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


def walkable_path(data: Any, loc: Iterable[str | int], error_type: str) -> tuple[tuple[str | int, ...], bool]:
    """The part of a pydantic error location that exists in the data, plus a
    missing field's name; union member tags (``deployment-ready``, ``str``)
    are dropped. Returns the path and whether anything was dropped."""
    elements = list(loc)
    path: list[str | int] = []
    skipped = False
    current = data
    for position, element in enumerate(elements):
        last = position == len(elements) - 1
        if isinstance(current, dict) and element in current:
            path.append(element)
            current = current[element]
        elif isinstance(current, list) and isinstance(element, int) and 0 <= element < len(current):
            path.append(element)
            current = current[element]
        elif last and error_type == "missing":
            path.append(element)
        else:
            skipped = True
    return tuple(path), skipped


def allowed_fields(loc: Sequence[str | int]) -> list[str]:
    """The field names the model at ``loc`` (a raw pydantic location) accepts."""
    annotation: Any = LabFile
    for element in loc:
        annotation = _step_into(annotation, element)
        if annotation is None:
            return []
    model = _as_model(annotation, None)
    return list(model.model_fields) if model else []


def _step_into(annotation: Any, element: str | int) -> Any:
    model = _as_model(annotation, element)
    if model is not None:
        if isinstance(element, str) and element in model.model_fields:
            return model.model_fields[element].annotation
        return model  # a union tag that selected this model
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is typing.Annotated:
        return _step_into(args[0], element)
    if origin in (tuple, list) and isinstance(element, int):
        return args[0]
    if origin is dict:
        return args[1]
    return None


def _as_model(annotation: Any, tag: str | int | None) -> type[BaseModel] | None:
    """The model ``annotation`` names, choosing a union member by ``tag``."""
    while typing.get_origin(annotation) is typing.Annotated:
        annotation = typing.get_args(annotation)[0]
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    members = typing.get_args(annotation)
    if typing.get_origin(annotation) in (typing.Union, getattr(__import__("types"), "UnionType")):
        for member in members:
            model = _as_model(member, None)
            if model is None:
                continue
            kind = model.model_fields.get("kind")
            kind_values = typing.get_args(kind.annotation) if kind else ()
            if tag in kind_values or tag == model.__name__ or (tag in ("run", "apply") and tag in model.model_fields):
                return model
    return None


def _describe(value: Any) -> str:
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, (int, float)):
        return f"the number {value}"
    if isinstance(value, str):
        return f"the text {value!r}"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if value is None:
        return "nothing (null)"
    return type(value).__name__


def _length_message(kind: str, ctx: Mapping[str, Any], value: Any) -> str:
    count = len(value) if hasattr(value, "__len__") else "?"
    if kind == "too_short":
        least = ctx.get("min_length", 1)
        return f"needs at least {least} item{'s' if least != 1 else ''}, has {count}"
    most = ctx.get("max_length")
    return f"allows at most {most} item{'s' if most != 1 else ''}, has {count}"


def _is_dns_label(value: str) -> bool:
    return bool(re.fullmatch(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?", value)) and len(value) <= 63


def _freeze(value: Any) -> Any:
    if isinstance(value, dict):
        from types import MappingProxyType

        return MappingProxyType({key: _freeze(item) for key, item in value.items()})
    if isinstance(value, (list, tuple)):
        return tuple(_freeze(item) for item in value)
    return value
