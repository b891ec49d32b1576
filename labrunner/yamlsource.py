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


def compose(text: str) -> yaml.Node:
    """The node tree (with marks) of ``text``'s one document, nothing constructed: for a span
    of a bigger file, padded so its marks are the whole file's.

    Raises:
        ValueError: the text holds no document.
        yaml.YAMLError: it is not YAML.
    """
    loader = _MarkedLoader(text)
    try:
        root = loader.get_single_node()
    finally:
        loader.dispose()
    if root is None:
        raise ValueError("no document")
    return root


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


def scalar_nodes(node: yaml.Node, path: tuple[str | int, ...] = (), *, keys: bool = False) -> Iterator[tuple[tuple[str | int, ...], yaml.ScalarNode]]:
    """Every scalar value node below ``node`` (and every key, with ``keys``), with its path (a
    key's is the path of the value it names)."""
    if isinstance(node, yaml.ScalarNode):
        yield path, node
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            yield from scalar_nodes(item, (*path, index), keys=keys)
    elif isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            where = (*path, getattr(key_node, "value", "?"))
            if keys and isinstance(key_node, yaml.ScalarNode):
                yield where, key_node
            yield from scalar_nodes(value_node, where, keys=keys)
