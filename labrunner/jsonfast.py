"""JSON read at the json module's speed, with the places of a ``List``'s items (``kubectl get
-o json``), and a node tree with marks composed only for the item a finding or an error names.

A ``.json`` file read as YAML (JSON is YAML's flow style) builds a node with marks for every
value, ten times what ``json.loads`` costs; and YAML 1.1 reads some JSON numbers (``1e3``) as
strings. Text that is not one JSON value is left to the YAML reader, which also words errors.
"""

from __future__ import annotations

import bisect
import json
from dataclasses import dataclass
from typing import Any

import yaml

from labrunner import yamlsource

_DECODER = json.JSONDecoder()
_WHITESPACE = " \t\n\r"


@dataclass(frozen=True)
class Item:
    """Where a value starts and ends in the text (offsets), and its 1-based line and column."""

    start: int
    end: int
    line: int
    column: int


@dataclass
class JsonDocument:
    data: Any
    whole: Item
    items: list[Item] | None
    """The places of ``data["items"]``'s elements, when data is an object with an ``items`` list."""


def read_json(text: str) -> JsonDocument | None:
    """The one JSON value ``text`` holds, with places; None when it is not exactly that."""
    if yamlsource._NOT_PRINTABLE.search(text):
        return None
    lines = _LineStarts(text)
    try:
        start = _skip(text, 0)
        data, end = _DECODER.raw_decode(text, start)
    except (json.JSONDecodeError, RecursionError):
        return None
    if _skip(text, end) != len(text):
        return None
    items = None
    if isinstance(data, dict) and isinstance(data.get("items"), list):
        try:
            items = _item_places(text, start, lines)
        except (json.JSONDecodeError, IndexError):  # cannot happen for text raw_decode read whole; be safe
            items = None
        if items is not None and len(items) != len(data["items"]):
            items = None
    return JsonDocument(data, lines.item(start, end), items)


def compose(text: str, item: Item) -> yaml.Node:
    """The node tree of the value at ``item``, its marks those of the whole text."""
    return yamlsource.compose("\n" * (item.line - 1) + " " * (item.column - 1) + text[item.start:item.end])


class _LineStarts:
    def __init__(self, text: str) -> None:
        self.starts = [0]
        position = text.find("\n")
        while position >= 0:
            self.starts.append(position + 1)
            position = text.find("\n", position + 1)

    def item(self, start: int, end: int) -> Item:
        line = bisect.bisect_right(self.starts, start)
        return Item(start, end, line, start - self.starts[line - 1] + 1)


def _skip(text: str, position: int) -> int:
    while position < len(text) and text[position] in _WHITESPACE:
        position += 1
    return position


def _item_places(text: str, start: int, lines: _LineStarts) -> list[Item] | None:
    """Walk the top-level object to its ``items`` array, decoding each element on its own
    (the json module's C scanner) to learn where it starts and ends. The last ``items`` key
    wins, as in the decoded data."""
    found: list[Item] | None = None
    position = _skip(text, start + 1)
    while position < len(text) and text[position] != "}":
        key, position = _DECODER.raw_decode(text, position)
        position = _skip(text, position)
        position = _skip(text, position + 1)  # the ':'
        if key == "items" and text[position] == "[":
            found = []
            position = _skip(text, position + 1)
            while text[position] != "]":
                _, end = _DECODER.raw_decode(text, position)
                found.append(lines.item(position, end))
                position = _skip(text, end)
                if text[position] == ",":
                    position = _skip(text, position + 1)
            position += 1
        else:
            _, position = _DECODER.raw_decode(text, position)
        position = _skip(text, position)
        if text[position] == ",":
            position = _skip(text, position + 1)
    return found
