"""``labelSelector`` and ``fieldSelector`` query parameters, as the API server reads them."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

Matcher = Callable[[Mapping[str, str]], bool]

_SET = re.compile(r"^\s*(!?)\s*([A-Za-z0-9./_-]+)\s*(?:(notin|in)\s*\(([^)]*)\)|(==|=|!=)\s*([A-Za-z0-9._-]*))?\s*$")


class SelectorError(ValueError):
    pass


def _split(text: str) -> list[str]:
    parts, depth, current = [], 0, ""
    for char in text:
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        if char == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += char
    parts.append(current)
    return [part for part in parts if part.strip()]


def label_selector(text: str) -> Matcher:
    """A predicate over labels for ``app=web,tier in (a,b),!legacy``.

    Raises:
        SelectorError: the text is not a label selector.
    """
    checks: list[Matcher] = []
    for part in _split(text):
        match = _SET.match(part)
        if not match:
            raise SelectorError(f"unable to parse requirement: {part.strip()!r}")
        negated, key, set_operator, values, operator, value = match.groups()
        if negated and (set_operator or operator):
            raise SelectorError(f"unable to parse requirement: {part.strip()!r}")
        if set_operator:
            members = {v.strip() for v in values.split(",") if v.strip()}
            checks.append(_value_in(key, members, negated=set_operator == "notin"))
        elif operator in ("=", "=="):
            checks.append(_value_in(key, {value}, negated=False))
        elif operator == "!=":
            checks.append(_value_in(key, {value}, negated=True))
        else:
            checks.append(_has_key(key, negated=bool(negated)))
    return lambda labels: all(check(labels) for check in checks)


# Functions of their own, so that each check closes over its own key and values
# (a lambda written in the loop would see the last requirement's).
def _value_in(key: str, members: set[str], *, negated: bool) -> Matcher:
    return lambda labels: (labels.get(key) in members) != negated


def _has_key(key: str, *, negated: bool) -> Matcher:
    return lambda labels: (key in labels) != negated


SUPPORTED_FIELDS = {
    "metadata.name": lambda obj: obj["metadata"].get("name", ""),
    "metadata.namespace": lambda obj: obj["metadata"].get("namespace", ""),
    "status.phase": lambda obj: (obj.get("status") or {}).get("phase", ""),
    "spec.nodeName": lambda obj: (obj.get("spec") or {}).get("nodeName", ""),
    "involvedObject.name": lambda obj: (obj.get("involvedObject") or {}).get("name", ""),
    "involvedObject.namespace": lambda obj: (obj.get("involvedObject") or {}).get("namespace", ""),
    "involvedObject.uid": lambda obj: (obj.get("involvedObject") or {}).get("uid", ""),
    "involvedObject.kind": lambda obj: (obj.get("involvedObject") or {}).get("kind", ""),
    "type": lambda obj: obj.get("type", ""),
}


def field_selector(text: str) -> Callable[[dict[str, Any]], bool]:
    """A predicate over objects for ``metadata.name=x,status.phase!=Running``.

    Raises:
        SelectorError: an unsupported field (a real server refuses it too, never ignores it).
    """
    checks: list[Callable[[dict[str, Any]], bool]] = []
    for part in _split(text):
        match = re.match(r"^\s*([A-Za-z.]+)\s*(==|=|!=)\s*(.*?)\s*$", part)
        if not match:
            raise SelectorError(f"invalid selector: {part.strip()!r}")
        name, operator, value = match.groups()
        getter = SUPPORTED_FIELDS.get(name)
        if getter is None:
            raise SelectorError(f'field label not supported: {name}')
        checks.append(_field_is(getter, value, negated=operator == "!="))
    return lambda obj: all(check(obj) for check in checks)


def _field_is(getter: Callable[[dict[str, Any]], Any], value: str, *, negated: bool) -> Callable[[dict[str, Any]], bool]:
    return lambda obj: (getter(obj) == value) != negated
