"""``labelSelector`` and ``fieldSelector`` query parameters, as the API server reads them."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

Matcher = Callable[[Mapping[str, str]], bool]


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


# -- label selectors, parsed as apimachinery's labels.Parse does (its lexer, its errors) ----------

_SYMBOLS = ("!", "!=", "(", ")", ",", "=", "==", ">", "<")
_SPECIAL = set("!=(),><")
_QUALIFIED_NAME = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
_LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_NAME_RULE = ("must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character "
              "(e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')")
_VALUE_RULE = ("a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end "
               "with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is "
               "'(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')")
_SUBDOMAIN_RULE = ("a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end "
                   "with an alphanumeric character (e.g. 'example.com', regex used for validation is "
                   "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')")
_OPERATORS = {"=": "=", "==": "==", "!=": "!=", ">": "gt", "<": "lt"}
_BINARY = "in, notin, =, ==, !=, gt, lt"


def _tokens(text: str) -> list[str]:
    """The lexer's tokens: symbols, identifiers (``in`` and ``notin`` among them) and "" at the end."""
    found, position = [], 0
    while position < len(text):
        char = text[position]
        if char.isspace():
            position += 1
        elif char in _SPECIAL:
            symbol = char
            while position + len(symbol) < len(text) and symbol + text[position + len(symbol)] in _SYMBOLS:
                symbol += text[position + len(symbol)]
            found.append(symbol)
            position += len(symbol)
        else:
            end = position
            while end < len(text) and not text[end].isspace() and text[end] not in _SPECIAL:
                end += 1
            found.append(text[position:end])
            position = end
    return [*found, ""]


def _is_identifier(token: str) -> bool:
    return token != "" and token not in _SYMBOLS


def _invalid(path: str, value: str, detail: str) -> str:
    return f'{path}: Invalid value: "{value}": {detail}'


def _key_problem(key: str) -> str | None:
    """IsQualifiedName's complaints, as field.Invalid words them (the parser passes a nil path)."""
    parts = key.split("/")
    problems: list[str] = []
    if len(parts) > 2:
        problems.append("a qualified name " + _NAME_RULE + " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')")
    else:
        name = parts[-1]
        if len(parts) == 2:
            if not parts[0]:
                problems.append("prefix part must be non-empty")
            else:
                if len(parts[0]) > 253:
                    problems.append("prefix part must be no more than 253 characters")
                if not _SUBDOMAIN.match(parts[0]):
                    problems.append("prefix part " + _SUBDOMAIN_RULE)
        if not name:
            problems.append("name part must be non-empty")
        elif len(name) > 63:
            problems.append("name part must be no more than 63 characters")
        if not _QUALIFIED_NAME.match(name):
            problems.append("name part " + _NAME_RULE)
    return _invalid("<nil>", key, "; ".join(problems)) if problems else None


def _requirement(key: str, operator: str, values: list[str]) -> Matcher:
    """NewRequirement: the values checked (sorted, as a set's List is) and the matcher."""
    values = sorted(set(values))
    problems = []
    if operator in ("gt", "lt"):
        for index, value in enumerate(values):
            if not re.fullmatch(r"[-+]?[0-9]+", value):
                problems.append(_invalid(f"values[{index}]", value, "for 'Gt', 'Lt' operators, the value must be an integer"))
    for index, value in enumerate(values):
        rules = (["must be no more than 63 characters"] if len(value) > 63 else []) + ([] if _LABEL_VALUE.match(value) else [_VALUE_RULE])
        if rules:
            problems.append(_invalid(f"values[{index}][{key}]", value, "; ".join(rules)))
    if problems:
        raise SelectorError("unable to parse requirement: " + (problems[0] if len(problems) == 1 else "[" + ", ".join(problems) + "]"))
    if operator in ("gt", "lt"):
        return _compare(key, int(values[0]), above=operator == "gt")
    if operator in ("in", "=", "=="):
        return _value_in(key, set(values), negated=False)
    return _value_in(key, set(values), negated=True)


def label_selector(text: str) -> Matcher:
    """A predicate over labels for ``app=web,tier in (a,b),!legacy,replicas>2``.

    Raises:
        SelectorError: the text is not a label selector; the message is the API server's.
    """
    tokens = _tokens(text)
    position = 0
    checks: list[Matcher] = []

    def take() -> str:
        nonlocal position
        position += 1
        return tokens[position - 1]

    def requirement() -> Matcher:
        token = take()
        absent = token == "!"
        if absent:
            token = take()
        if not _is_identifier(token):
            raise ValueError(f"found '{token}', expected: identifier")
        key = token
        if problem := _key_problem(key):
            raise ValueError(problem)
        if absent or tokens[position] in ("", ","):
            return _has_key(key, negated=absent)
        symbol = take()
        operator = symbol if symbol in ("in", "notin") else _OPERATORS.get(symbol)
        if operator is None:
            raise ValueError(f"found '{symbol}', expected: {_BINARY}")
        if operator in ("in", "notin"):
            if (opening := take()) != "(":
                raise ValueError(f"found '{opening}' expected: '('")
            values: list[str] = []
            if tokens[position] == ")":
                take()
                values = [""]
            elif _is_identifier(tokens[position]) or tokens[position] == ",":
                while True:  # parseIdentifiersList: a comma with nothing after it is an empty value
                    if _is_identifier(tokens[position]):
                        values.append(take())
                        if tokens[position] != ",":
                            break
                        take()
                        if tokens[position] == ")":
                            values.append("")
                            break
                    elif tokens[position] == ",":
                        take()
                        values.append("")
                    else:
                        raise ValueError(f"found '{tokens[position]}', expected: ',', or identifier")
                if (closing := take()) != ")":
                    raise ValueError(f"found '{closing}', expected: ')'")
            else:
                raise ValueError(f"found '{tokens[position]}', expected: ',', ')' or identifier")
            return _requirement(key, "in" if operator == "in" else "notin", values)
        if tokens[position] in ("", ","):
            return _requirement(key, operator, [""])
        value = take()
        if not _is_identifier(value):
            raise ValueError(f"found '{value}', expected: identifier")
        return _requirement(key, operator, [value])

    while True:
        token = tokens[position]
        if token == "":
            break
        if not (_is_identifier(token) or token == "!"):
            raise SelectorError(f"found '{token}', expected: !, identifier, or 'end of string'")
        try:
            checks.append(requirement())
        except SelectorError:
            raise
        except ValueError as error:
            raise SelectorError(f"unable to parse requirement: {error}") from None
        following = take()
        if following == "":
            break
        if following != ",":
            raise SelectorError(f"found '{following}', expected: ',' or 'end of string'")
        if not (_is_identifier(tokens[position]) or tokens[position] == "!"):
            raise SelectorError(f"found '{tokens[position]}', expected: identifier after ','")
    return lambda labels: all(check(labels) for check in checks)


def _compare(key: str, bound: int, *, above: bool) -> Matcher:
    def matches(labels: Mapping[str, str]) -> bool:
        value = labels.get(key)
        if value is None or not re.fullmatch(r"[-+]?[0-9]+", value):
            return False
        return int(value) > bound if above else int(value) < bound

    return matches


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
    "involvedObject.apiVersion": lambda obj: (obj.get("involvedObject") or {}).get("apiVersion", ""),
    "involvedObject.resourceVersion": lambda obj: (obj.get("involvedObject") or {}).get("resourceVersion", ""),
    "involvedObject.fieldPath": lambda obj: (obj.get("involvedObject") or {}).get("fieldPath", ""),
    "reason": lambda obj: obj.get("reason", ""),
    "source": lambda obj: (obj.get("source") or {}).get("component", ""),
    "reportingComponent": lambda obj: obj.get("reportingComponent", ""),
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
