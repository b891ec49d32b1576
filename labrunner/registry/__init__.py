"""One registry of check kinds and of everything topics offer.

Topics are found, not listed: every module or package directly under
:mod:`labrunner.topics` that defines ``TOPIC``, then every ``labrunner.topics``
entry point of an installed distribution (``name = "module"`` or
``"module:TOPIC"``), so a topic shipped on its own needs no change here. The first
query loads them all once; a kind, resource, requirement or view registered twice
is an error naming both topics.

Everything that used to be a list beside a kind (the session's prerequisite and
polled kinds, the watcher's resources, selftest's observation rule, the TUI's
keys, the port's resources) is a query of :func:`registry`.
"""

from __future__ import annotations

import importlib
import pkgutil
import threading
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from labrunner.registry.types import (
    CheckContext,
    CheckKind,
    Connection,
    Expected,
    Outcome,
    Proof,
    ProofStage,
    Requirement,
    Resource,
    Status,
    Topic,
    View,
)

if TYPE_CHECKING:
    from labrunner.lab.model import Check

__all__ = ["CheckContext", "CheckKind", "Connection", "Expected", "Outcome", "Proof", "ProofStage", "Registry", "RegistryError", "Requirement",
           "Resource", "Status", "Topic", "View", "registry", "reload"]

ENTRY_POINT_GROUP = "labrunner.topics"

NAMED_BY_FIELD = {"deployment": "deployments", "service": "services", "configmap": "configmaps", "secret": "secrets",
                  "statefulset": "statefulsets", "daemonset": "daemonsets", "job": "jobs", "cronjob": "cronjobs",
                  "claim": "persistentvolumeclaims", "pvc": "persistentvolumeclaims", "serviceaccount": "serviceaccounts"}
"""Arguments that name an object the check needs, by the field's name (:meth:`Registry.expected`):
kept to the kinds a learner creates, where the name is unambiguous (``node`` or ``role`` are not:
a node a step deletes, a role that may be a ClusterRole)."""


class RegistryError(Exception):
    """A topic could not be loaded, or two topics claim the same name."""


class Registry:
    def __init__(self, topics: Iterable[Topic]) -> None:
        self.topics: tuple[Topic, ...] = tuple(topics)
        self._resources: dict[str, Resource] = {}
        self._requirements: dict[str, Requirement] = {}
        self._views: dict[str, View] = {}
        self._owners: dict[tuple[str, str], str] = {}
        for topic in self.topics:
            self._claim(topic, "resource", self._resources, [(r.plural, r) for r in topic.resources])
            self._claim(topic, "requirement", self._requirements, [(r.id, r) for r in topic.requirements])
            self._claim(topic, "view", self._views, [(v.id, v) for v in topic.views])
        self._loaded_kinds: dict[str, CheckKind[Any]] | None = None
        self._kind_topics: dict[str, str] = {}
        self._kinds_lock = threading.Lock()

    def _claim(self, topic: Topic, what: str, table: dict[str, Any], items: list[tuple[str, Any]]) -> None:
        for name, item in items:
            if (what, name) in self._owners:
                raise RegistryError(f"the {what} {name!r} is registered by both topic "
                                    f"{self._owners[(what, name)]} and topic {topic.name}")
            self._owners[(what, name)] = topic.name
            table[name] = item

    @property
    def _kinds(self) -> dict[str, CheckKind[Any]]:
        """The check kinds, imported on first use (their models need pydantic)."""
        if self._loaded_kinds is None:
            with self._kinds_lock:
                if self._loaded_kinds is None:
                    kinds: dict[str, CheckKind[Any]] = {}
                    for topic in self.topics:
                        declared = _resolve(topic.kinds, topic.name) if isinstance(topic.kinds, str) else topic.kinds
                        self._claim(topic, "check kind", kinds, [(kind.name, kind) for kind in declared])
                        self._kind_topics.update({kind.name: topic.name for kind in declared})
                    self._check_kinds(kinds)
                    self._loaded_kinds = kinds
        return self._loaded_kinds

    def _check_kinds(self, kinds: dict[str, CheckKind[Any]]) -> None:
        for kind in kinds.values():
            for plural in kind.watches if isinstance(kind.watches, tuple) else ():
                if plural not in self._resources:
                    raise RegistryError(f"check kind {kind.name} watches {plural!r}, a resource no topic registers")
            for view in kind.views:
                if view not in self._views:
                    raise RegistryError(f"check kind {kind.name} offers the view {view!r}, which no topic registers")

    # -- check kinds ------------------------------------------------------------------------

    def kind(self, name: str) -> CheckKind[Any] | None:
        return self._kinds.get(name)

    @property
    def kinds(self) -> tuple[CheckKind[Any], ...]:
        return tuple(self._kinds.values())

    @property
    def kind_names(self) -> tuple[str, ...]:
        return tuple(self._kinds)

    def topic_of(self, kind: str) -> str | None:
        self._kinds  # noqa: B018  # loads them, and who registered each
        return self._kind_topics.get(kind)

    def is_prerequisite(self, check: Check) -> bool:
        kind = self.kind(check.kind)
        return bool(kind and kind.prerequisite)

    def is_polled(self, check: Check) -> bool:
        kind = self.kind(check.kind)
        return bool(kind and kind.polled)

    def observes(self, check: Check) -> bool:
        kind = self.kind(check.kind)
        return bool(kind and kind.observes)

    def watched(self, checks: Iterable[Check]) -> tuple[str, ...]:
        """The resources to watch for these checks, in a stable order."""
        seen: dict[str, None] = {}
        for check in checks:
            kind = self.kind(check.kind)
            if kind is None:
                continue
            watches = kind.watches if isinstance(kind.watches, tuple) else kind.watches(self.arguments(check))
            for plural in watches:
                seen[plural] = None
        return tuple(seen)

    def expected(self, check: Check) -> tuple[Expected, ...]:
        """The objects ``check`` needs to exist, (plural, name, namespace): the kind's ``expects``,
        or when it declares none, derived from its arguments:

        - a ``name`` is an object of the kind's first watched resource, in its ``namespace`` (none
          for a cluster-scoped resource): ``deployment-ready``'s Deployment. Not when the kind
          watches by its arguments, nor when they name a ``resource`` (then ``name`` is of that);
        - an argument named after a kind a learner creates (:data:`NAMED_BY_FIELD`: ``deployment``,
          ``configmap``, ``claim``...) names one, in ``<field>_namespace`` or ``namespace``.
        """
        kind = self.kind(check.kind)
        if kind is None:
            return ()
        arguments = self.arguments(check)
        if kind.expects is not None:
            return tuple(kind.expects(arguments))
        fields = kind.model.model_fields
        namespace = _text(getattr(arguments, "namespace", None)) if "namespace" in fields else None
        found: dict[Expected, None] = {}
        name = _text(getattr(arguments, "name", None)) if "name" in fields and "resource" not in fields else None
        if name and isinstance(kind.watches, tuple) and kind.watches:
            resource = self._resources.get(kind.watches[0])
            if resource is not None and (namespace or not resource.namespaced):
                found[(resource.plural, name, namespace if resource.namespaced else None)] = None
        for field_name in fields:
            plural = NAMED_BY_FIELD.get(field_name)
            value = _text(getattr(arguments, field_name, None)) if plural else None
            if not plural or not value or "/" in value:
                continue
            where = _text(getattr(arguments, f"{field_name}_namespace", None)) or namespace
            if where:
                found[(plural, value, where)] = None
        return tuple(found)

    def arguments(self, check: Check) -> Any:
        """The check's typed arguments (the kind's model), as the loader validated them."""
        if check.arguments is not None:
            return check.arguments
        kind = self.kind(check.kind)
        if kind is None:
            raise KeyError(check.kind)
        return kind.model.model_construct(kind=check.kind, says=check.says, id=check.id, advisory=check.advisory, **check.args)

    @property
    def connection_resources(self) -> tuple[str, ...]:
        return tuple(plural for topic in self.topics for plural in topic.connection_resources)

    # -- resources ----------------------------------------------------------------------------

    def resource(self, plural: str) -> Resource:
        """Raises KeyError for a resource no topic registers."""
        return self._resources[plural]

    @property
    def resources(self) -> tuple[Resource, ...]:
        return tuple(self._resources.values())

    def plural_of(self, kind: str) -> str | None:
        """``NetworkPolicy`` -> ``networkpolicies``."""
        return next((r.plural for r in self._resources.values() if r.kind == kind), None)

    # -- requirements, views, explainers, commands, proofs ------------------------------------

    def requirement(self, identifier: str) -> Requirement | None:
        return self._requirements.get(identifier)

    @property
    def requirements(self) -> tuple[Requirement, ...]:
        return tuple(self._requirements.values())

    def view(self, identifier: str) -> View | None:
        return self._views.get(identifier)

    def views_for(self, checks: Iterable[Check], lab_checks: Iterable[Check] = ()) -> list[tuple[View, Check]]:
        """The views a step's checks offer, each with the check it is about: those the
        step's own kinds offer, and those offered ``also_with`` a kind of the step when
        the lab (``lab_checks``) has a check offering the view (the reach grid on a
        probe step of a NetworkPolicy lab, never on a probe step of a lab without policies)."""
        checks = list(checks)
        offered: dict[str, tuple[View, Check]] = {}
        for check in checks:
            kind = self.kind(check.kind)
            for identifier in kind.views if kind else ():
                offered.setdefault(identifier, (self._views[identifier], check))
        in_lab = {identifier for check in lab_checks for identifier in (getattr(self.kind(check.kind), "views", ()) or ())}
        for view in self._views.values():
            if view.id in offered or view.id not in in_lab:
                continue
            companion = next((check for check in checks if check.kind in view.also_with), None)
            if companion is not None:
                offered[view.id] = (view, companion)
        return list(offered.values())

    @property
    def views(self) -> tuple[View, ...]:
        return tuple(self._views.values())

    def explain_connection(self, cluster: Any, connection: Connection) -> list[str]:
        """What every topic can say of why a probe's connection went as it did."""
        said: list[str] = []
        for topic in self.topics:
            for explainer in topic.explainers:
                said += explainer(cluster, connection)
        return said

    @property
    def commands(self) -> tuple[str, ...]:
        return tuple(topic.commands for topic in self.topics if topic.commands)

    @property
    def proofs(self) -> tuple[Proof, ...]:
        return tuple(proof for topic in self.topics for proof in topic.proofs)

    @property
    def dataplanes(self) -> tuple[str, ...]:
        return tuple(topic.dataplane for topic in self.topics if topic.dataplane)


_lock = threading.Lock()
_loaded: Registry | None = None


def registry() -> Registry:
    """The registry of every topic found (loaded on first use, then kept)."""
    global _loaded
    if _loaded is None:
        with _lock:
            if _loaded is None:
                _loaded = Registry(discover())
    return _loaded


def reload() -> Registry:
    """Find the topics again (tests that install one)."""
    global _loaded
    with _lock:
        _loaded = Registry(discover())
    return _loaded


def discover() -> list[Topic]:
    import labrunner.topics

    names = [f"labrunner.topics.{module.name}" for module in pkgutil.iter_modules(labrunner.topics.__path__)]
    topics = [_topic(name, "TOPIC") for name in sorted(names)]
    for entry in _entry_points():
        module, _, attribute = entry.value.partition(":")
        topics.append(_topic(module.strip(), attribute.strip() or "TOPIC"))
    return [topic for topic in topics if topic is not None]


def _entry_points() -> list[Any]:
    from importlib.metadata import entry_points

    return sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda entry: entry.name)


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _resolve(path: str, topic: str) -> Any:
    """``module:name`` -> the object."""
    module, _, name = path.partition(":")
    try:
        return getattr(importlib.import_module(module), name)
    except Exception as failure:
        raise RegistryError(f"topic {topic}: {path} cannot be loaded: {type(failure).__name__}: {failure}") from failure


def resolve(path: str) -> Any:
    """A ``module:name`` a topic registers (a view's screen, a proof, a data-plane hook)."""
    return _resolve(path, "?")


def _topic(module_name: str, attribute: str) -> Topic | None:
    try:
        module = importlib.import_module(module_name)
    except Exception as failure:
        raise RegistryError(f"the topic {module_name} cannot be loaded: {type(failure).__name__}: {failure}") from failure
    topic = getattr(module, attribute, None)
    if topic is None:
        return None  # a helper module under labrunner/topics, not a topic
    if not isinstance(topic, Topic):
        raise RegistryError(f"{module_name}.{attribute} is not a labrunner.registry.Topic")
    return topic
