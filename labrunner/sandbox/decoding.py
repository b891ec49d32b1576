"""Request bodies as kube-apiserver reads them: at most 3 MiB, JSON as Go's encoding/json
parses it (no NaN or Infinity, at most 10,000 levels deep) and its syntax errors in Go's
words, which the API server passes on to the client.

Python's json module accepts NaN and Infinity, which no JSON client can read back (a stored
NaN broke every later list of its namespace); it also recurses once per level, so the server
raises its recursion limit to :data:`RECURSION_LIMIT` and this module refuses deeper bodies
before parsing them, as Go's scanner does.
"""

from __future__ import annotations

import json
import re
from typing import Any

MAX_BODY_BYTES = 3 * 1024 * 1024
"""The API server's MaxRequestBodyBytes; a larger body is a 413 RequestEntityTooLarge."""
MAX_DEPTH = 10_000
"""Go's encoding/json maxNestingDepth."""
RECURSION_LIMIT = 40_000
"""Enough for a body MAX_DEPTH deep through json, copy.deepcopy and the schema walks."""

_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)


class BodyError(ValueError):
    """A body Go's encoding/json would not parse; the message is Go's."""


def _quote_char(char: str) -> str:
    """Go's quoteChar: how its JSON scanner names a character in an error."""
    if char == "'":
        return "'\\''"
    if char == '"':
        return "'\"'"
    quoted = json.dumps(char)[1:-1]
    return f"'{quoted}'"


def _refuse_constant(name: str) -> Any:
    # The first character Go's scanner stops at: -Infinity is a number gone wrong.
    raise BodyError("invalid character 'I' in numeric literal" if name == "-Infinity" else f"invalid character {_quote_char(name[0])} looking for beginning of value")


def _too_deep(text: str) -> str | None:
    if text.count("[") + text.count("{") <= MAX_DEPTH:
        return None  # cannot be deeper: the common case costs two counts
    depth = 0
    for char in re.sub(r"[^\[\]{}]", "", _STRING.sub("", text)):
        depth += 1 if char in "[{" else -1
        if depth > MAX_DEPTH:
            return f"invalid character {_quote_char(char)} exceeded max depth"
    return None


def _container_at(text: str, position: int) -> str:
    """The innermost open bracket before ``position`` (strings skipped): '[' or '{'."""
    stack: list[str] = []
    for char in re.sub(r"[^\[\]{}]", "", _STRING.sub("", text[:position])):
        if char in "[{":
            stack.append(char)
        elif stack:
            stack.pop()
    return stack[-1] if stack else ""


def _go_syntax_error(text: str, error: json.JSONDecodeError) -> str:
    position = error.pos
    if position >= len(text) or error.msg.startswith("Unterminated string"):
        return "unexpected end of JSON input"
    char = _quote_char(text[position])
    message = error.msg
    if message.startswith("Expecting value"):
        return f"invalid character {char} looking for beginning of value"
    if message.startswith("Expecting property name"):
        return f"invalid character {char} looking for beginning of object key string"
    if message.startswith("Expecting ':'"):
        return f"invalid character {char} after object key"
    if message.startswith("Expecting ','"):
        inside = "object key:value pair" if _container_at(text, position) == "{" else "array element"
        return f"invalid character {char} after {inside}"
    if message.startswith("Extra data"):
        return f"invalid character {char} after top-level value"
    if message.startswith("Invalid control character"):
        return f"invalid character {char} in string literal"
    if message.startswith("Invalid \\escape") or message.startswith("Invalid \\u"):
        return f"invalid character {char} in string escape code"
    return f"invalid character {char} looking for beginning of value"


def parse_json(raw: bytes) -> Any:
    """The JSON value in ``raw``.

    Raises:
        BodyError: not JSON to Go (the message is its encoding/json's).
    """
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("utf-8", errors="replace")  # Go reads invalid UTF-8 as U+FFFD
    if not text.strip():
        raise BodyError("unexpected end of JSON input")
    if problem := _too_deep(text):
        raise BodyError(problem)
    try:
        return json.loads(text, parse_constant=_refuse_constant)
    except json.JSONDecodeError as error:
        raise BodyError(_go_syntax_error(text, error)) from None


def summarize(raw: bytes, length: int = 30) -> str:
    """The API server's summarizeData: the start of a body it could not recognise."""
    if not raw:
        return "<empty>"
    if raw[:2] == b"\x1f\x8b":
        return "<gzip>"
    text = raw.decode("utf-8", errors="replace")
    return f"{raw[:length].decode('utf-8', errors='replace')} ..." if len(raw) > length else text


def go_value(value: Any) -> str:
    """A JSON value as Go's fmt prints the map[string]interface{} it decodes to (``%v``)."""
    if value is None:
        return "<nil>"
    if value is True or value is False:
        return "true" if value else "false"
    if isinstance(value, dict):
        return "map[" + " ".join(f"{key}:{go_value(value[key])}" for key in sorted(value)) + "]"
    if isinstance(value, list):
        return "[" + " ".join(go_value(item) for item in value) + "]"
    if isinstance(value, float):
        return f"{value:g}".replace("e+0", "e+").replace("e-0", "e-") if abs(value) >= 1e21 or (value and abs(value) < 1e-4) else repr(value).removesuffix(".0")
    return str(value)
