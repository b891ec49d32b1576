"""Pydantic's validation errors in a lab author's words: each one placed at its line and
column, the field path as written, what was expected (with did-you-mean) and the YAML 1.1
surprises that explain many of them (an unquoted ``no`` is a boolean, ``1:30`` a number)."""

from __future__ import annotations

import re
import typing
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from labrunner import yamlsource
from labrunner.lab.check_kinds import check_kinds
from labrunner.lab.problems import Problem, did_you_mean
from labrunner.lab.schema import LabFile

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


class ValidationTranslator:
    """Turns one lab file's ValidationError into Problems."""

    def __init__(self, lab_file: Path, root: Any) -> None:
        self.lab_file = lab_file
        self.root = root
        """The file's node tree with line/column marks (yamlsource)."""

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
        said = str(item["msg"])
        return said[0].lower() + said[1:]

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


def is_dns_label(value: str) -> bool:
    return bool(re.fullmatch(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?", value)) and len(value) <= 63
