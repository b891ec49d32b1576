"""YAML parsed once into both Python data and a node tree that remembers lines.

PyYAML's composer keeps a start mark on every node; validation errors come back
as paths (``steps, 3, checks, 0, kind``), and :func:`locate` walks the node
tree along such a path to the line and column an editor can jump to.

Mapping keys are constructed as the text the author wrote, so ``on:`` stays the
key ``"on"`` rather than YAML 1.1's ``True``; duplicate keys, which PyYAML would
silently resolve to the last one, are reported.

Text from anyone is parsed: aliases are bounded (a "billion laughs" file is a
few lines whose expansion no walk of the data could finish), and characters
YAML forbids are refused where they are, before the parser sees them.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import re

import yaml

_BaseLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_MERGE = "tag:yaml.org,2002:merge"

ALIAS_LIMIT = 10_000
"""How many values a document's aliases may stand for in all. Anything that walks the
data (placeholders, validation) walks every alias's expansion again; a lab has a couple
of thousand values in all (the shipped one 1,668, and no alias), while a billion-laughs
file crosses this bound within its first few lines."""

MAX_DEPTH = 50
"""How deeply collections may nest. A lab nests about ten deep, a Kubernetes manifest
fifteen or so. Constructing, validating and walking the data recurse four or five
Python frames a level, so the parser's own bound (a thousand) would end in a
RecursionError near 200; 50 leaves most of the stack to whoever called the loader."""

# What the YAML reader refuses (PyYAML's own set): control characters, a lone
# surrogate, U+FFFE/U+FFFF. Found here to say where; the reader gives only an offset.
_NOT_PRINTABLE = re.compile("[^\x09\x0A\x0D\x20-\x7E\x85\xA0-\uD7FF\uE000-\uFFFD\U00010000-\U0010FFFF]")


@dataclass(frozen=True)
class DuplicateKey:
    key: str
    line: int
    column: int
    first_line: int


@dataclass
class YamlDocument:
    data: Any
    root: yaml.Node | None
    duplicates: list[DuplicateKey] = field(default_factory=list)


class YamlSyntaxError(Exception):
    def __init__(self, message: str, line: int, column: int) -> None:
        super().__init__(message)
        self.message = message
        self.line = line
        self.column = column


class YamlRefused(YamlSyntaxError):
    """The text may be well-formed, but is not read: a character YAML forbids, or
    aliases that expand beyond :data:`ALIAS_LIMIT` or into themselves."""


class _MarkedLoader(_BaseLoader):  # type: ignore[misc,valid-type]
    """A safe loader that keeps keys as written and notes duplicate keys."""

    duplicates: list[DuplicateKey]

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        try:
            return super().construct_object(node, deep=deep)
        except (ValueError, TypeError, LookupError, AttributeError, OverflowError) as error:
            # PyYAML's constructors trust explicit tags: ``!!int demo`` is int("demo").
            tag = str(node.tag).replace("tag:yaml.org,2002:", "!!")
            raise yaml.constructor.ConstructorError(
                None, None, f"{_shown(node)} is not a valid {tag}", node.start_mark
            ) from error

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        own = sum(1 for key_node, _value in node.value if key_node.tag != _MERGE)
        self.flatten_mapping(node)
        # Merged entries come first; a key of the mapping's own overriding one is what
        # ``<<:`` is for, so only the mapping's own keys can be duplicates.
        merged = len(node.value) - own
        mapping: dict[Any, Any] = {}
        first_seen: dict[Any, int] = {}
        for index, (key_node, value_node) in enumerate(node.value):
            key = self.key_of(key_node)
            if index >= merged:
                self.note_duplicate(key, key_node, first_seen)
            mapping[key] = self.construct_object(value_node, deep=deep)
        return mapping

    def key_of(self, key_node: yaml.Node) -> Any:
        if isinstance(key_node, yaml.ScalarNode):
            return key_node.value
        return repr(self.construct_object(key_node, deep=True))

    def note_duplicate(self, key: Any, key_node: yaml.Node, first_seen: dict[Any, int]) -> None:
        if key in first_seen:
            mark = key_node.start_mark
            self.duplicates.append(DuplicateKey(str(key), mark.line + 1, mark.column + 1, first_seen[key]))
        first_seen.setdefault(key, key_node.start_mark.line + 1)


def _shown(node: yaml.Node) -> str:
    return repr(node.value) if isinstance(node, yaml.ScalarNode) else "this value"


_MarkedLoader.add_constructor(
    "tag:yaml.org,2002:map",
    lambda loader, node: loader.construct_mapping(node, deep=True),
)


def parse(text: str) -> YamlDocument:
    """Parse one YAML document into data and its node tree.

    Raises:
        YamlSyntaxError: the text is not YAML, or holds more than one document;
            carries the 1-based line and column.
    """
    documents = parse_all(text)
    if len(documents) > 1:
        mark = documents[1].root.start_mark if documents[1].root is not None else None
        line = mark.line + 1 if mark else 1
        raise YamlSyntaxError(f"expected one document, found {len(documents)} (a second one starts here)", line, 1)
    return documents[0] if documents else YamlDocument(data=None, root=None)


def parse_all(text: str) -> list[YamlDocument]:
    """Parse every document of a multi-document stream (``---``), keeping marks.

    Raises:
        YamlSyntaxError: the text is not YAML; carries the 1-based line and column.
        YamlRefused: the text holds a character YAML forbids, or aliases that
            expand too far (see :data:`ALIAS_LIMIT`) or into themselves.
    """
    _refuse_unprintable(text)
    try:
        _bound_aliases(text)
        return _construct_all(text)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        message = " ".join(part for part in (error.context, error.problem) if part)
        line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        raise YamlSyntaxError(message or "invalid YAML", line, column) from error
    except yaml.YAMLError as error:  # unmarked: the reader's faults, which _refuse_unprintable should have found
        raise YamlSyntaxError(str(error).splitlines()[0], 1, 1) from error


def _construct_all(text: str) -> list[YamlDocument]:
    loader = _MarkedLoader(text)
    loader.duplicates = []
    documents = []
    try:
        while loader.check_node():
            root = loader.get_node()
            _bound_depth(root)
            duplicates_before = len(loader.duplicates)
            data = loader.construct_document(root)
            documents.append(YamlDocument(data=data, root=root, duplicates=loader.duplicates[duplicates_before:]))
    finally:
        loader.dispose()
    return documents


def _bound_depth(root: yaml.Node | None) -> None:
    """Refuse collections nested deeper than :data:`MAX_DEPTH`, at the first one too deep.

    Without a stack of our own: recursion is what is being guarded against. Aliases
    are walked through, their expansion already bounded by :func:`_bound_aliases`.
    """
    pending = [(root, 1)] if root is not None else []
    while pending:
        node, depth = pending.pop()
        if not isinstance(node, yaml.CollectionNode):
            continue
        if depth > MAX_DEPTH:
            mark = node.start_mark
            raise YamlRefused(f"nested more than {MAX_DEPTH} levels deep (a lab needs about ten)", mark.line + 1, mark.column + 1)
        children = node.value if isinstance(node, yaml.SequenceNode) else [part for pair in node.value for part in pair]
        pending.extend((child, depth + 1) for child in reversed(children))


def _refuse_unprintable(text: str) -> None:
    found = _NOT_PRINTABLE.search(text)
    if found is None:
        return
    offset = found.start()
    line = text.count("\n", 0, offset) + 1
    column = offset - text.rfind("\n", 0, offset)
    raise YamlRefused(
        f"control character U+{ord(found.group()):04X} is not allowed in YAML (is this a binary file?)", line, column
    )


def _bound_aliases(text: str) -> None:
    """Refuse aliases that stand for more than :data:`ALIAS_LIMIT` values in all, or for
    the collection they are in, at the alias that does so.

    Counted from the parser's events, before any node exists: constructing the data
    can itself blow up (each ``<<: [*a, *a]`` merge doubles a mapping's entries), and
    only events still know where each alias was written.
    """
    if "&" not in text:  # no anchor, so no alias can stand for anything: spare the second parse
        return
    budget = _AliasBudget()
    for event in yaml.parse(text, Loader=_BaseLoader):
        budget.take(event)


class _AliasBudget:
    """Sizes of anchored values, and how many values the aliases so far stood for."""

    def __init__(self) -> None:
        self.anchored: dict[str, int] = {}
        self.open: list[tuple[str | None, int]] = []
        """Each collection being parsed: its anchor, and how many values it holds so far."""
        self.expanded = 0

    def take(self, event: yaml.Event) -> None:
        if isinstance(event, yaml.DocumentStartEvent):
            self.anchored.clear()  # anchors are per document, as the composer has them
            self.expanded = 0
        elif isinstance(event, yaml.CollectionStartEvent):
            self.open.append((event.anchor, 1))
        elif isinstance(event, yaml.CollectionEndEvent):
            anchor, size = self.open.pop()
            self.finished(anchor, size)
        elif isinstance(event, yaml.ScalarEvent):
            self.finished(event.anchor, 1)
        elif isinstance(event, yaml.AliasEvent):
            self.alias(event)

    def finished(self, anchor: str | None, size: int) -> None:
        if anchor is not None:
            self.anchored[anchor] = size
        self.add(size)

    def add(self, size: int) -> None:
        if self.open:
            anchor, held = self.open[-1]
            self.open[-1] = (anchor, held + size)

    def alias(self, event: yaml.AliasEvent) -> None:
        line, column = (event.start_mark.line + 1, event.start_mark.column + 1) if event.start_mark else (1, 1)
        if any(anchor == event.anchor for anchor, _held in self.open):
            raise YamlRefused(
                f"the alias *{event.anchor} is inside the value it refers to (&{event.anchor}): it would never end",
                line,
                column,
            )
        size = self.anchored.get(event.anchor or "", 0)  # an undefined one: the composer says so
        self.expanded += size
        if self.expanded > ALIAS_LIMIT:
            raise YamlRefused(f"too many aliases expanded (more than {ALIAS_LIMIT:,} values): a YAML alias bomb?", line, column)
        self.add(size)


def format_path(path: Sequence[str | int]) -> str:
    """``steps[3].checks[0].kind`` from ``("steps", 3, "checks", 0, "kind")``: the API
    server's field-path syntax."""
    text = ""
    for element in path:
        text += f"[{element}]" if isinstance(element, int) else (f".{element}" if text else str(element))
    return text


@dataclass(frozen=True)
class Located:
    node: yaml.Node
    key_node: yaml.Node | None
    """The key of the last mapping entry walked into, if any."""
    walked: int
    """How many path elements were found in the tree."""

    def mark(self, *, at_key: bool = False) -> tuple[int, int]:
        target = self.key_node if at_key and self.key_node is not None else self.node
        return target.start_mark.line + 1, target.start_mark.column + 1


def locate(root: yaml.Node, path: Sequence[str | int]) -> Located:
    """Walk ``path`` down the node tree as far as it goes."""
    node, key_node, walked = root, None, 0
    for element in path:
        if isinstance(node, yaml.MappingNode) and isinstance(element, str):
            entry = next(
                ((k, v) for k, v in node.value if isinstance(k, yaml.ScalarNode) and k.value == element),
                None,
            )
            if entry is None:
                break
            key_node, node = entry
        elif isinstance(node, yaml.SequenceNode) and isinstance(element, int):
            if not 0 <= element < len(node.value):
                break
            key_node, node = None, node.value[element]
        else:
            break
        walked += 1
    return Located(node=node, key_node=key_node, walked=walked)


def scalar_nodes(node: yaml.Node, path: tuple[str | int, ...] = ()) -> Iterator[tuple[tuple[str | int, ...], yaml.ScalarNode]]:
    """Every scalar value node below ``node`` (keys excluded), with its path."""
    if isinstance(node, yaml.ScalarNode):
        yield path, node
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            yield from scalar_nodes(item, (*path, index))
    elif isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            yield from scalar_nodes(value_node, (*path, getattr(key_node, "value", "?")))


# -- the fast reading: data now, marks when a place must be named ---------------------

_INDICATORS = frozenset("-?:,[]{}#&*!|>'\"%@`")
# Characters after which the fast reader cannot be sure it reads as PyYAML would (tabs,
# other line breaks, a byte-order mark), so it leaves such text to :func:`parse_all`.
_FAST_UNSURE = re.compile("[\t\r\x85\u2028\u2029\ufeff]")
_STR = "tag:yaml.org,2002:str"
_RESOLVER = yaml.resolver.Resolver()
_CONSTRUCTOR = yaml.constructor.SafeConstructor()


class _NotPlain(Exception):
    """Text the fast reader does not read: :func:`parse_all` reads it (and says what is wrong)."""


@dataclass(frozen=True)
class Span:
    """Where a collection is: its lines (0-based, end exclusive) and its node's start mark."""

    first: int
    end: int
    line: int
    """1-based, as :meth:`Located.mark` gives it; so is ``column``."""
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
    content, tabs), which :func:`parse_all` then reads.

    Where it reads, it reads as :func:`parse_all` does: keys as written, scalars
    resolved and constructed by PyYAML's own resolver and constructors, the last of
    duplicate keys kept; empty documents are left out. :func:`compose_span` gives the
    node tree of a :class:`Span` later, with the marks a full parse would have.
    """
    if _FAST_UNSURE.search(text) or _NOT_PRINTABLE.search(text):
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
    text = "\n" * span.first + "\n".join(lines[span.first:span.end])
    loader = _MarkedLoader(text)
    try:
        root = loader.get_single_node()
    finally:
        loader.dispose()
    if root is None:
        raise ValueError(f"no node at lines {span.first + 1}-{span.end}")
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
        if depth >= MAX_DEPTH:
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
    construct = _MarkedLoader.yaml_constructors.get(tag)
    if construct is None:
        raise _NotPlain
    try:
        return construct(_CONSTRUCTOR, yaml.ScalarNode(tag, text))
    except Exception as error:  # whatever PyYAML's constructor says, parse_all says it with its place
        raise _NotPlain from error
