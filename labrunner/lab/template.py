"""``{{name}}`` placeholders in lab text: finding them and filling them in.

Double braces because lab commands are shell (``$VAR``, ``$(...)``) and kubectl
JSONPath (``{.items[0]}``), which single braces or dollars would collide with.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z0-9_-]+)\s*\}\}")

BUILTIN_PLACEHOLDERS = ("assets",)
"""Always defined: ``{{assets}}`` is the absolute path of the lab's asset folder."""


def placeholders_in(text: str) -> Iterator[tuple[str, int]]:
    """Each placeholder name in ``text`` with its offset."""
    for match in PLACEHOLDER.finditer(text):
        yield match.group(1), match.start()


def render(text: str, values: Mapping[str, str]) -> str:
    """``text`` with every known placeholder replaced; unknown ones stay visible."""
    return PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), text)


def render_tree(data: Any, values: Mapping[str, str], numbers: frozenset[str] = frozenset()) -> Any:
    """A copy of parsed YAML data with placeholders filled in every string value. A value that
    is exactly one placeholder of a parameter in ``numbers`` (``"{{port}}"``) becomes an integer,
    so a drawn port or replica count reaches a check argument as a number."""
    if isinstance(data, str):
        whole = PLACEHOLDER.fullmatch(data.strip())
        if whole and whole.group(1) in numbers and values.get(whole.group(1), "").isdigit():
            return int(values[whole.group(1)])
        return render(data, values)
    if isinstance(data, dict):  # keys too: a label or header name may be drawn ({{label}}: web)
        return {render(key, values) if isinstance(key, str) else key: render_tree(value, values, numbers) for key, value in data.items()}
    if isinstance(data, list):
        return [render_tree(item, values, numbers) for item in data]
    return data
