"""YAML read fast for big machine-written files (``kubectl get ... -o yaml``): the data at
once, line by line with no node tree, and a node with marks composed only for the span a
finding or an error must name.

The lab loader and anything small use :mod:`labrunner.yamlsource` (one parse, marks for
every node). This reader declines whatever it is not sure it reads as that parse would
(anchors, tags, block scalars, most flow collections, comments after content, ...): the
caller then falls back to :func:`labrunner.yamlsource.parse_all`, which also words every error.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import yaml

from labrunner import yamlsource

_INDICATORS = frozenset("-?:,[]{}#&*!|>'\"%@`")
# Characters after which the fast reader cannot be sure it reads as PyYAML would (tabs,
# other line breaks, a byte-order mark), so it leaves such text to :func:`~labrunner.yamlsource.parse_all`.
_FAST_UNSURE = re.compile("[\t\r\x85\u2028\u2029\ufeff]")
_STR = "tag:yaml.org,2002:str"
_RESOLVER = yaml.resolver.Resolver()
_CONSTRUCTOR = yaml.constructor.SafeConstructor()


class _NotPlain(Exception):
    """Text the fast reader does not read: :func:`~labrunner.yamlsource.parse_all` reads it (and says what is wrong)."""


@dataclass(frozen=True)
class Span:
    """Where a collection is: its lines (0-based, end exclusive) and its node's start mark."""

    first: int
    end: int
    line: int
    """1-based, as :meth:`labrunner.yamlsource.Located.mark` gives it; so is ``column``."""
    column: int
    item: bool
    """The lines start at the ``-`` of the sequence item the collection is."""


@dataclass
class FastDocument:
    data: Any
    span: Span
    parts: dict[tuple[str | int, ...], Span]
    """Collections at most two levels below the root (a ``kind: List``'s items), by path."""


def fast_parse_all(text: str) -> list[FastDocument] | None:
    """The documents' data, read without building a node tree; None when the text is
    not in the plain block style ``kubectl get -o yaml`` prints (flow collections but
    ``{}``/``[]``, anchors, tags, block and multi-line scalars, escapes, comments after
    content, tabs), which :func:`~labrunner.yamlsource.parse_all` then reads.

    Where it reads, it reads as :func:`~labrunner.yamlsource.parse_all` does: keys as written, scalars
    resolved and constructed by PyYAML's own resolver and constructors, the last of
    duplicate keys kept; empty documents are left out. :func:`compose_span` gives the
    node tree of a :class:`Span` later, with the marks a full parse would have.
    """
    if _FAST_UNSURE.search(text) or yamlsource._NOT_PRINTABLE.search(text):
        return None
    try:
        return _FastReader(text.split("\n")).documents()
    except _NotPlain:
        return None


def compose_span(lines: Sequence[str], span: Span) -> yaml.Node:
    """The node tree of the collection at ``span``, marks as in the whole text's.

    Only the span's lines are parsed; blank lines stand for the ones before, so every
    mark keeps its line (columns are the lines' own).
    """
    try:
        root = yamlsource.compose("\n" * span.first + "\n".join(lines[span.first:span.end]))
    except ValueError:
        raise ValueError(f"no node at lines {span.first + 1}-{span.end}") from None
    return root.value[0] if span.item else root


class _Frame:
    __slots__ = ("indent", "value", "is_map", "path", "first", "line", "column", "item")

    def __init__(self, indent: int, value: Any, path: tuple[str | int, ...] | None, first: int, line: int, column: int, item: bool) -> None:
        self.indent, self.value, self.is_map, self.path = indent, value, isinstance(value, dict), path
        self.first, self.line, self.column, self.item = first, line, column, item


class _FastReader:
    def __init__(self, lines: list[str]) -> None:
        self.lines = lines
        self.found: list[FastDocument] = []
        self.frames: list[_Frame] = []
        self.parts: dict[tuple[str | int, ...], Span] = {}
        self.root: _Frame | None = None
        self.pending: tuple[_Frame, str | None] | None = None
        """A ``key:`` (or a ``-``) whose value starts on a later line."""
        self.values: dict[str, Any] = {}

    def documents(self) -> list[FastDocument]:
        values = self.values
        top: _Frame | None = None
        for number, line in enumerate(self.lines):
            content = line.lstrip(" ")
            if not content or content[0] == "#":
                continue
            indent = len(line) - len(content)
            content = content.rstrip(" ")
            if " #" in content:
                raise _NotPlain
            # Most lines are one more `key: value` of the mapping the line before was in;
            # :meth:`take` does the same, a few calls slower, which is a third of the time.
            if top is not None and indent == top.indent and top.is_map and self.pending is None:
                split = content.find(": ")
                if split > 0:
                    key = content[:split]
                    text = content[split + 2:].lstrip(" ")
                    if key[0] not in _INDICATORS and key[-1] != " " and split <= 1000 and text and key != "<<":
                        value = values.get(text, values)
                        top.value[key] = self.scalar(text) if value is values else value
                        continue
            if indent == 0 and (content.startswith("---") or content.startswith("...")):
                if content != "---":
                    raise _NotPlain
                self.end_document(number)
                top = None
                continue
            self.take(number, indent, content)
            top = self.frames[-1] if self.frames else None
        self.end_document(len(self.lines))
        return self.found

    def end_document(self, end: int) -> None:
        self.resolve_pending(None)
        while self.frames:
            self.pop(end)
        root = self.root
        if root is not None:
            span = Span(root.first, end, root.line, root.column, False)
            self.found.append(FastDocument(root.value, span, self.parts))
        self.root, self.parts = None, {}

    def pop(self, end: int) -> None:
        frame = self.frames.pop()
        if frame.path:
            self.parts[frame.path] = Span(frame.first, end, frame.line, frame.column, frame.item)

    def open(self, value: Any, indent: int, number: int, column: int, *, item: bool, first: int, child: str | int | None) -> _Frame:
        depth = len(self.frames)
        if depth >= yamlsource.MAX_DEPTH:
            raise _NotPlain  # parse_all refuses it, at the right place
        path: tuple[str | int, ...] | None = ()
        if depth:
            parent_path = self.frames[-1].path
            path = (*parent_path, child) if parent_path is not None and child is not None and depth <= 2 else None
        frame = _Frame(indent, value, path, first, number + 1, column + 1, item)
        self.frames.append(frame)
        return frame

    def resolve_pending(self, line: tuple[int, int, str] | None) -> None:
        """Give the pending ``key:`` or ``-`` its value: null, or the collection ``line`` opens."""
        if self.pending is None:
            return
        owner, key = self.pending
        self.pending = None
        if line is not None:
            number, indent, content = line
            is_item = content == "-" or content.startswith("- ")
            if (is_item and indent >= owner.indent and owner.is_map) or indent > owner.indent:
                value: Any = [] if is_item else {}
                child = key if owner.is_map else len(owner.value)
                self.open(value, indent, number, indent, item=False, first=number, child=child)
                if owner.is_map:
                    owner.value[key] = value
                else:
                    owner.value.append(value)
                return
        if owner.is_map:
            owner.value[key] = None
        else:
            owner.value.append(None)

    def take(self, number: int, indent: int, content: str) -> None:
        self.resolve_pending((number, indent, content))
        is_item = content == "-" or content.startswith("- ")
        frames = self.frames
        while frames and frames[-1].indent > indent:
            self.pop(number)
        if not frames:
            if self.root is not None:
                raise _NotPlain
            self.root = self.open([] if is_item else {}, indent, number, indent, item=False, first=number, child=None)
        top = frames[-1]
        if top.indent != indent:
            raise _NotPlain
        if not top.is_map and not is_item:
            self.pop(number)
            if not frames or frames[-1].indent != indent or not frames[-1].is_map:
                raise _NotPlain
            top = frames[-1]
        if top.is_map:
            if is_item:
                raise _NotPlain
            self.entry(top, number, content)
            return
        rest = content[1:]
        if not rest:
            self.pending = (top, None)
            return
        value = rest.lstrip(" ")
        column = indent + 1 + len(rest) - len(value)
        if value == "-" or value.startswith("- "):
            raise _NotPlain
        if value[0] not in "'\"" and (": " in value or value.endswith(":")):
            mapping: dict[str, Any] = {}
            frame = self.open(mapping, column, number, column, item=True, first=number, child=len(top.value))
            top.value.append(mapping)
            self.entry(frame, number, value)
        else:
            top.value.append(self.scalar(value))

    def entry(self, mapping: _Frame, number: int, content: str) -> None:
        split = content.find(": ")
        if split < 0:
            if not content.endswith(":"):
                raise _NotPlain
            key = content[:-1]
        else:
            key = content[:split]
        first = key[:1]
        if (
            not key or key[-1] == " " or len(key) > 1000 or key == "<<"
            or (first in _INDICATORS and not (first == "-" and key[1:2] not in ("", " ")))
        ):
            raise _NotPlain
        if split < 0:
            self.pending = (mapping, key)
        else:
            mapping.value[key] = self.scalar(content[split + 2:].lstrip(" "))

    def scalar(self, text: str) -> Any:
        known = self.values.get(text, self)
        if known is not self:
            return known
        first = text[0]
        if text == "{}":
            return {}
        if text == "[]":
            return []
        if first == "'":
            inner = text[1:-1]
            if len(text) < 2 or text[-1] != "'" or "'" in inner.replace("''", ""):
                raise _NotPlain
            value: Any = inner.replace("''", "'")
        elif first == '"':
            inner = text[1:-1]
            if len(text) < 2 or text[-1] != '"' or '"' in inner or "\\" in inner:
                raise _NotPlain
            value = inner
        else:
            if (first in _INDICATORS and not (first == "-" and text[1:2] not in ("", " "))) or ": " in text or text.endswith(":"):
                raise _NotPlain
            value = _plain_value(text)
        self.values[text] = value
        return value


def _plain_value(text: str) -> Any:
    tag = _RESOLVER.resolve(yaml.ScalarNode, text, (True, False))
    if tag == _STR:
        return text
    construct = yamlsource._MarkedLoader.yaml_constructors.get(tag)
    if construct is None:
        raise _NotPlain
    try:
        return construct(_CONSTRUCTOR, yaml.ScalarNode(tag, text))
    except Exception as error:  # whatever PyYAML's constructor says, parse_all says it with its place
        raise _NotPlain from error
