"""Reading Namespaces, Pods and NetworkPolicies from YAML files, with places.

A PATH is a file or a folder of ``*.yaml``/``*.yml``/``*.json`` files; files may
hold several documents and ``kind: List`` (as ``kubectl get -o yaml`` prints).
Every object keeps its file and node, so errors and lint findings say
``file:line:column``. Text in the block style ``kubectl get -o yaml`` prints is
read fast (:func:`yamlfast.fast_parse_all`, no node tree) and an object's node
is composed from its own lines only when a place must be named: marks for every
node of a 5,000-pod cluster cost ten times what the engine does with it (issue 21).
JSON (``kubectl get -o json``) is read by the json module (:mod:`labrunner.jsonfast`),
its items' nodes likewise composed only when a place is named.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import yaml

from labrunner import jsonfast, yamlfast, yamlsource
from labrunner.topics.networkpolicy.model import Cluster, Namespace, Pod, Policy
from labrunner.topics.networkpolicy.parse import KINDS, ObjectError, namespace_from_object, pod_from_object, policy_from_object


class InputError(Exception):
    """Input the engine cannot use, with its place: ``file:line:column: message``."""

    def __init__(self, file: Path, line: int, column: int, message: str) -> None:
        super().__init__(f"{file}:{line}:{column}: {message}" if line else f"{file}: {message}")
        self.file, self.line, self.column, self.message = file, line, column, message


class SourceObject:
    """One object, its file, and its node tree with marks: given, or composed only when
    a place must be named (reading data is what every command needs, places only errors
    and findings)."""

    __slots__ = ("file", "data", "_node", "_compose", "_start")

    def __init__(self, file: Path, data: dict[str, Any], node: yaml.Node | None = None, *,
                 compose: Callable[[], yaml.Node] | None = None, start: tuple[int, int] | None = None) -> None:
        if node is None and compose is None:
            raise TypeError("a SourceObject needs its node or a way to compose it")
        self.file, self.data = file, data
        self._node, self._compose, self._start = node, compose, start

    @property
    def node(self) -> yaml.Node:
        if self._node is None:
            assert self._compose is not None
            self._node = self._compose()
        return self._node

    def __repr__(self) -> str:
        return f"SourceObject(file={self.file!r}, kind={self.kind!r}, name={(self.data.get('metadata') or {}).get('name')!r})"

    @property
    def kind(self) -> str:
        return str(self.data.get("kind", ""))

    def place(self, path: Sequence[str | int] = ()) -> tuple[int, int]:
        if not path and self._start is not None:
            return self._start
        return yamlsource.locate(self.node, path).mark()

    def where(self, path: Sequence[str | int] = ()) -> str:
        line, column = self.place(path)
        return f"{self.file}:{line}:{column}"


def api_path(path: str) -> tuple[str | int, ...]:
    """``spec.ingress[1].from`` as ``("spec", "ingress", 1, "from")``."""
    elements: list[str | int] = []
    for name, index in re.findall(r"([^.\[\]]+)|\[(\d+)\]", path):
        elements.append(int(index) if index else name)
    return tuple(elements)


def yaml_files(paths: Iterable[Path]) -> list[Path]:
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files += sorted(p for p in path.rglob("*") if p.suffix in (".yaml", ".yml", ".json") and p.is_file())
        elif path.is_file():
            files.append(path)
        else:
            raise InputError(path, 0, 0, "no such file or folder")
    return files


def read_objects(paths: Iterable[Path]) -> list[SourceObject]:
    objects: list[SourceObject] = []
    for file in yaml_files(paths):
        try:
            text = file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            raise InputError(file, 0, 0, f"cannot read: {error}") from None
        json_document = jsonfast.read_json(text) if text.lstrip()[:1] in ("{", "[") else None
        if json_document is not None:
            objects += _flatten_json(file, json_document, text)
            continue
        fast = yamlfast.fast_parse_all(text)
        if fast is not None:
            marks = _LazyMarks(text.split("\n"))
            for fast_document in fast:
                objects += _flatten_fast(file, fast_document, marks)
            continue
        try:
            documents = yamlsource.parse_all(text)
        except yamlsource.YamlSyntaxError as error:
            raise InputError(file, error.line, error.column, f"YAML syntax error: {error.message}") from None
        for document in documents:
            if document.data is None or document.root is None:
                continue
            objects += _flatten(file, document.data, document.root)
    return objects


def _flatten(file: Path, data: Any, node: yaml.Node) -> list[SourceObject]:
    if not isinstance(data, dict):
        line, column = node.start_mark.line + 1, node.start_mark.column + 1
        raise InputError(file, line, column, "expected a Kubernetes object (a mapping with apiVersion and kind)")
    kind = data.get("kind")
    if isinstance(kind, str) and kind.endswith("List") and isinstance(data.get("items"), list):
        items_node = yamlsource.locate(node, ("items",)).node
        found: list[SourceObject] = []
        for index, item in enumerate(data["items"]):
            found += _flatten(file, item, items_node.value[index])
        return found
    obj = SourceObject(file=file, data=data, node=node)
    if kind not in KINDS:
        line, column = obj.place(("kind",))
        raise InputError(file, line, column, f"kind {kind!r} is not one the engine reads ({', '.join(KINDS)}, or a List of them)")
    return [obj]


class _LazyMarks:
    """A fast-read file's lines, composed into nodes span by span when a place is asked."""

    def __init__(self, lines: list[str]) -> None:
        self.lines = lines
        self.composed: dict[yamlfast.Span, yaml.Node] = {}

    def node(self, span: yamlfast.Span, path: Sequence[str | int] = ()) -> yaml.Node:
        if span not in self.composed:
            self.composed[span] = yamlfast.compose_span(self.lines, span)
        return yamlsource.locate(self.composed[span], path).node if path else self.composed[span]


def _flatten_fast(file: Path, document: yamlfast.FastDocument, marks: _LazyMarks) -> list[SourceObject]:
    """As :func:`_flatten`, each object composing its node only if asked for a place.

    An object with a span of its own (a document, an item of its ``items``) composes
    just its lines; one deeper (a List in a List) composes its document's.
    """

    def source(data: Any, path: tuple[str | int, ...]) -> SourceObject:
        span = document.parts.get(path) if path else document.span
        if span is not None:
            return SourceObject(file, data, compose=lambda: marks.node(span), start=(span.line, span.column))
        return SourceObject(file, data, compose=lambda: marks.node(document.span, path))

    return _objects(file, document.data, source)


def _flatten_json(file: Path, document: jsonfast.JsonDocument, text: str) -> list[SourceObject]:
    """As :func:`_flatten`, for JSON read by :func:`jsonfast.read_json`: a List's items know
    where they start and compose their own node when asked for a place; anything deeper asks
    the whole document's node (composed once)."""
    whole: list[yaml.Node] = []

    def whole_node(path: tuple[str | int, ...]) -> yaml.Node:
        if not whole:
            whole.append(jsonfast.compose(text, document.whole))
        return yamlsource.locate(whole[0], path).node if path else whole[0]

    def source(data: Any, path: tuple[str | int, ...]) -> SourceObject:
        if not path:
            place = document.whole
        elif len(path) == 2 and path[0] == "items" and document.items is not None and isinstance(path[1], int):
            place = document.items[path[1]]
        else:
            return SourceObject(file, data, compose=lambda: whole_node(path))
        return SourceObject(file, data, compose=lambda: jsonfast.compose(text, place), start=(place.line, place.column))

    return _objects(file, document.data, source)


def _objects(file: Path, root: Any, source: Callable[[Any, tuple[str | int, ...]], SourceObject]) -> list[SourceObject]:
    """The objects in a document (a List's items, Lists within Lists), in order, each made by
    ``source`` from its data and path."""
    found: list[SourceObject] = []
    pending: list[tuple[Any, tuple[str | int, ...]]] = [(root, ())]
    while pending:
        data, path = pending.pop()
        obj = source(data, path)
        if not isinstance(data, dict):
            line, column = obj.place()
            raise InputError(file, line, column, "expected a Kubernetes object (a mapping with apiVersion and kind)")
        kind = data.get("kind")
        if isinstance(kind, str) and kind.endswith("List") and isinstance(data.get("items"), list):
            pending += reversed([(item, (*path, "items", index)) for index, item in enumerate(data["items"])])
            continue
        if kind not in KINDS:
            line, column = obj.place(("kind",))
            raise InputError(file, line, column, f"kind {kind!r} is not one the engine reads ({', '.join(KINDS)}, or a List of them)")
        found.append(obj)
    return found


def cluster_from_sources(objects: Iterable[SourceObject]) -> tuple[Cluster, dict[int, SourceObject]]:
    """The cluster, and for each policy (by ``id``) the object it was read from.

    Raises:
        InputError: an object the engine cannot read (an invalid CIDR, ...).
    """
    namespaces: dict[str, Namespace] = {}
    pods: list[Pod] = []
    policies: list[Policy] = []
    origins: dict[int, SourceObject] = {}
    for obj in objects:
        try:
            if obj.kind == "Namespace":
                namespace = namespace_from_object(obj.data)
                namespaces[namespace.name] = namespace
            elif obj.kind == "Pod":
                pods.append(pod_from_object(obj.data))
            else:
                policy = policy_from_object(obj.data, source=obj.where())
                policies.append(policy)
                origins[id(policy)] = obj
        except ObjectError as error:
            line, column = obj.place(api_path(error.path))
            raise InputError(obj.file, line, column, f"{error.path}: {error.message}" if error.path else error.message) from None
    return Cluster(namespaces=namespaces, pods=tuple(pods), policies=tuple(policies)), origins


def context_cluster(objects: Iterable[SourceObject]) -> Cluster | None:
    """The namespaces and pods among ``objects`` (unreadable ones skipped), as the
    context a linter judges selectors by; None when there are none."""
    namespaces: dict[str, Namespace] = {}
    pods: list[Pod] = []
    for obj in objects:
        try:
            if obj.kind == "Namespace":
                namespace = namespace_from_object(obj.data)
                namespaces[namespace.name] = namespace
            elif obj.kind == "Pod":
                pods.append(pod_from_object(obj.data))
        except ObjectError:
            continue
    if not namespaces and not pods:
        return None
    return Cluster(namespaces=namespaces, pods=tuple(pods), policies=())


def load_cluster(paths: Iterable[Path]) -> Cluster:
    cluster, _ = cluster_from_sources(read_objects(paths))
    return cluster
