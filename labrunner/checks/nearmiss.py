"""Near misses: what exists instead of the object or the pods a check looked for, said as an
instructor would ("there is a Deployment mysql in default (applied without -n networkdemo?)").

One service for every check kind (through :class:`labrunner.registry.CheckContext`'s
``near_object`` and ``near_labels``), for the runner (a failing check whose expected object is
absent leads with it) and for exam grading (the review's "you created Service web in default;
the task asked for amber-12ab"). Three things are looked for, cheapest and likeliest first:

- the same name in another namespace (a forgotten ``-n``): one list across namespaces with a
  field selector on the name;
- a similar name in the namespace asked (``mysql-svc`` or ``mysq1`` for ``mysql``): the
  namespace's list, names compared by containment and difflib's ratio;
- a similar name in another namespace, misspelt only (other namespaces hold other apps'
  ``web-*``): one list across namespaces (not for pods and other resources a cluster holds
  thousands of).

A sibling is never a near miss: ``archive`` for ``archive-restored``, ``data-ledger-0`` for
``data-ledger-1`` (the step's new object beside an earlier step's, a StatefulSet's ordinals).

And for a selector that matches no pod, the pods whose labels nearly match it. Every request
may fail (forbidden, a resource the cluster does not serve): that is "nothing found", never an
exception; a lost cluster ends the search.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from labrunner.cluster import errors
from labrunner.cluster.port import ClusterPort

SIMILAR = 0.8
"""difflib's ratio from which two names are one misspelt (``mysq1``/``mysql`` 0.8, ``app-conf``/``app-config`` 0.89)."""
CLOSE_VALUE = 0.6
"""The ratio from which a label's value is a near one (``mysqldb``/``mysql`` 0.83)."""
SHOWN_PLACES = 3
SHOWN_PODS = 2
NOT_LISTED_EVERYWHERE = frozenset({"pods", "events", "replicasets", "endpointslices", "endpoints", "leases"})
"""Resources a cluster holds thousands of: a similar name is looked for only in the namespace asked."""
CONTROLLER_LABELS = frozenset({"pod-template-hash", "controller-revision-hash", "statefulset.kubernetes.io/pod-name",
                               "apps.kubernetes.io/pod-index", "batch.kubernetes.io/controller-uid", "controller-uid",
                               "batch.kubernetes.io/job-name", "job-name", "batch.kubernetes.io/job-completion-index",
                               "pod-template-generation"})
"""Labels controllers add to pods: never the learner's, never shown, never compared."""
LOWERCASE_KINDS = frozenset({"ConfigMap", "DaemonSet", "StatefulSet", "ReplicaSet", "CronJob", "ServiceAccount"})
"""Kinds said in lower case as a subject, as kubectl users type them (``configmap app-conf``)."""

Obj = dict[str, Any]


@dataclass(frozen=True)
class NearMiss:
    """An object a check expected, absent where asked, and the one found instead."""

    kind: str
    """``Service``."""
    name: str
    """The name the step asks for."""
    namespace: str | None
    """Where the step asks for it (None: cluster-scoped)."""
    found: str
    """The name of the object found: ``name`` itself when it is only elsewhere."""
    places: tuple[str | None, ...]
    """Where it was found (newest first); at most :data:`SHOWN_PLACES`."""
    more: int = 0
    """Further namespaces holding it, not listed."""

    @property
    def misplaced(self) -> bool:
        """The same name in another namespace (not a different name)."""
        return self.found == self.name

    @property
    def sentence(self) -> str:
        """The first sentence of a failing check: the object, where it is and what differs."""
        subject = f"{said_kind(self.kind)} {self.name}"
        where = _places(self.places, self.more)
        if self.misplaced:
            return f"{subject} is not in {self.namespace}: there is a {self.kind} {self.name} in {where} (applied without -n {self.namespace}?)"
        asked = f"does not exist in {self.namespace}" if self.namespace else "does not exist"
        if self.places == (self.namespace,):
            there = "there" if self.namespace else ""
            return f"{subject} {asked}; there is a {self.kind} {self.found}{' ' + there if there else ''} (the step asks for the name {self.name})"
        return f"{subject} {asked}; there is a {self.kind} {self.found} in {where} (the step asks for {self.name} in {self.namespace})"

    @property
    def review(self) -> str:
        """The exam review's wording: what the candidate did, then what the task asked."""
        where = _places(self.places, self.more)
        if self.misplaced:
            return f"you created {self.kind} {self.name} in {where}; the task asked for {self.namespace}"
        if self.places == (self.namespace,):
            return f"you created {self.kind} {self.found}" + (f" in {where}" if self.namespace else "") + f"; the task asked for the name {self.name}"
        return f"you created {self.kind} {self.found} in {where}; the task asked for {self.name} in {self.namespace}"

    def said_in(self, text: str) -> bool:
        """Whether ``text`` (a check's own message) already names this near miss: the object
        found and, for one elsewhere, where it is."""
        if self.sentence in text:
            return True
        words = set(re.findall(r"[A-Za-z0-9][A-Za-z0-9.-]*[A-Za-z0-9]|[A-Za-z0-9]", text))
        if not self.misplaced and self.found not in words:
            return False
        elsewhere = [place for place in self.places if place and place != self.namespace]
        return all(place in words for place in elsewhere) and (not self.misplaced or bool(elsewhere))


def said_kind(kind: str) -> str:
    """A kind as the subject of a sentence: ``deployment``, ``configmap``, ``PersistentVolumeClaim``."""
    return kind.lower() if kind in LOWERCASE_KINDS or sum(c.isupper() for c in kind) <= 1 else kind


def _places(places: Sequence[str | None], more: int) -> str:
    shown = [str(place) for place in places]
    if more:
        return f"{', '.join(shown)} and {more} other namespace{'s' if more > 1 else ''}"
    return shown[0] if len(shown) == 1 else f"{', '.join(shown[:-1])} and {shown[-1]}"


# -- an object -----------------------------------------------------------------------------------


def missing_object(cluster: ClusterPort, plural: str, name: str, namespace: str | None) -> str | None:
    """What exists instead of the absent ``plural`` ``name`` in ``namespace`` (None: cluster-scoped),
    in one sentence; None when it exists or nothing near is found."""
    near = near_object(cluster, plural, name, namespace)
    return near.sentence if near else None


def near_object(cluster: ClusterPort, plural: str, name: str, namespace: str | None, *, known_absent: bool = False) -> NearMiss | None:
    """The near miss of ``missing_object``, as a value (``known_absent``: the caller has just
    been told so; skips the look-up that proves it)."""
    from labrunner.registry import registry

    try:
        resource = registry().resource(plural)
    except KeyError:
        return None
    if not resource.namespaced:
        namespace = None
    elif not namespace:
        return None
    search = _Search(cluster)
    if not known_absent:
        try:
            cluster.get(plural, name, namespace)
            return None
        except errors.NotFound:
            pass
        except errors.ClusterError:
            return None
    if namespace is not None:
        namesakes = [o for o in search.list(plural, None, fields=f"metadata.name={name}") if _name(o) == name]
        if any(_namespace(o) == namespace for o in namesakes):
            return None  # it is there after all (created since the get)
        if namesakes:
            places = [_namespace(o) for o in _newest_first(namesakes)]
            return NearMiss(resource.kind, name, namespace, name, tuple(places[:SHOWN_PLACES]), len(places) - SHOWN_PLACES if len(places) > SHOWN_PLACES else 0)
    here = search.list(plural, namespace)
    if any(_name(o) == name for o in here):
        return None
    close = similar(name, (_name(o) for o in here))
    if close:
        return NearMiss(resource.kind, name, namespace, close[0], (namespace,))
    if namespace is None or plural in NOT_LISTED_EVERYWHERE:
        return None
    everywhere = [o for o in search.list(plural, None) if _namespace(o) != namespace]
    close = similar(name, {_name(o) for o in everywhere}, decorated=False)  # other namespaces hold other apps' web-*
    if not close:
        return None
    places = [_namespace(o) for o in _newest_first(o for o in everywhere if _name(o) == close[0])]
    return NearMiss(resource.kind, name, namespace, close[0], tuple(places[:SHOWN_PLACES]), max(0, len(places) - SHOWN_PLACES))


def similar(name: str, names: Iterable[str], cutoff: float = SIMILAR, *, decorated: bool = True) -> list[str]:
    """The names one would take for ``name`` misspelt (``mysq1``, ``app-conf``) or, with
    ``decorated``, with words added (``mysql-svc``, ``web-deployment``), closest first (``cutoff``:
    difflib's ratio from which a name counts). Never a sibling: a name that is ``name`` without
    its last words (``archive`` for ``archive-restored``: the step's new object beside an earlier
    one) or differs only in a trailing number (``data-ledger-0`` for ``data-ledger-1``,
    ``interpoddemo`` for ``interpoddemo2``)."""
    scored: dict[str, float] = {}
    for other in names:
        if other == name or other in scored or _sibling(name, other):
            continue
        score = difflib.SequenceMatcher(None, name, other).ratio()
        if decorated and _contains(name, other):
            score = max(score, 0.9)
        if score >= cutoff:
            scored[other] = score
    return sorted(scored, key=lambda other: (-scored[other], other))


def _sibling(name: str, other: str) -> bool:
    if name.startswith(other) and name[len(other):len(other) + 1] in ("-", "."):
        return True
    return re.sub(r"-?\d+$", "", name) == re.sub(r"-?\d+$", "", other)


def _contains(one: str, other: str) -> bool:
    """One name's words are a run of the other's (``web`` in ``web-deployment``, ``my-web``)."""
    short, long = sorted((re.split(r"[-.]", one), re.split(r"[-.]", other)), key=len)
    if len(short) == len(long) or len("-".join(short)) < 3:
        return False
    return any(long[i:i + len(short)] == short for i in range(len(long) - len(short) + 1))


# -- pods for a selector -------------------------------------------------------------------------


def pods_near_selector(cluster: ClusterPort, namespace: str, selector: Mapping[str, str]) -> str | None:
    """When ``selector`` (matchLabels) picks no pod in ``namespace``: the pods whose labels nearly
    match (a close value, the value under another key, all but one label), or pods with exactly
    those labels in another namespace, in one sentence; None when a pod matches or none is near."""
    wanted = {str(k): str(v) for k, v in selector.items() if k not in CONTROLLER_LABELS}
    if not wanted:
        return None
    search = _Search(cluster)
    pods = search.list("pods", namespace)
    asked = f"no pod in {namespace} carries {_text(wanted)}"
    groups: dict[str, list[tuple[float, str]]] = {}
    for pod in pods:
        labels = _own_labels(pod)
        if all(labels.get(k) == v for k, v in wanted.items()):
            return None
        closeness = _closeness(wanted, labels)
        if closeness is not None:
            groups.setdefault(_text(_shown(wanted, labels)), []).append((closeness, _name(pod)))
    if groups:
        shown, members = max(groups.items(), key=lambda item: (len(item[1]), max(c for c, _ in item[1]), item[0]))
        others = sum(len(m) for m in groups.values()) - len(members)
        also = f"; {others} other pod{'s' if others > 1 else ''} nearly match{'' if others > 1 else 'es'}" if others else ""
        return f"{asked}; {_count(len(members))} {'carry' if len(members) > 1 else 'carries'} {shown} ({_names(sorted(n for _, n in members))}){also}"
    everywhere = search.list("pods", None, labels=_text(wanted))
    by_place: dict[str, list[str]] = {}
    for pod in everywhere:
        labels = _own_labels(pod)
        if _namespace(pod) != namespace and all(labels.get(k) == v for k, v in wanted.items()):
            by_place.setdefault(str(_namespace(pod)), []).append(_name(pod))
    if not by_place:
        return None
    place, names = max(by_place.items(), key=lambda item: (len(item[1]), item[0]))
    rest = len(by_place) - 1
    also = f" (and in {rest} other namespace{'s' if rest > 1 else ''})" if rest else ""
    return f"{asked}; {_count(len(names))} in {place} {'do' if len(names) > 1 else 'does'} ({_names(sorted(names))}){also}"


def _closeness(wanted: Mapping[str, str], labels: Mapping[str, str]) -> float | None:
    """How near ``labels`` come to ``wanted``: None when not near. Near: every wanted label
    but one is there, and that one has a close value, its value under another key, or (among
    several wanted) is simply absent."""
    misses = [(k, v) for k, v in wanted.items() if labels.get(k) != v]
    if len(misses) != 1:
        return None
    key, value = misses[0]
    if key in labels:
        score = difflib.SequenceMatcher(None, value, labels[key]).ratio()
        if _contains(value, labels[key]):
            score = max(score, 0.9)
        return score if score >= CLOSE_VALUE else None
    if any(v == value for k, v in labels.items() if k not in wanted):
        return 0.7
    return 0.5 if len(wanted) > 1 else None


def _shown(wanted: Mapping[str, str], labels: Mapping[str, str], most: int = 4) -> dict[str, str]:
    """A pod's labels worth showing beside ``wanted``: its values of the wanted keys and its keys
    carrying a wanted value, then the others, at most ``most``."""
    first = [k for k in labels if k in wanted or labels[k] in wanted.values()]
    rest = sorted(k for k in labels if k not in first)
    return {k: labels[k] for k in [*sorted(first), *rest][:most]}


def _own_labels(pod: Mapping[str, Any]) -> dict[str, str]:
    return {str(k): str(v) for k, v in ((pod.get("metadata") or {}).get("labels") or {}).items() if k not in CONTROLLER_LABELS}


def _text(labels: Mapping[str, str]) -> str:
    return ",".join(f"{k}={v}" for k, v in labels.items())


def _count(n: int) -> str:
    return f"{n} pod{'s' if n > 1 else ''}"


def _names(names: Sequence[str]) -> str:
    shown = ", ".join(names[:SHOWN_PODS])
    return f"{shown} and {len(names) - SHOWN_PODS} more" if len(names) > SHOWN_PODS else shown


# -- requests ------------------------------------------------------------------------------------


class _Search:
    """The search's requests: a refused one finds nothing; once the cluster is lost, none is made."""

    def __init__(self, cluster: ClusterPort) -> None:
        self.cluster = cluster
        self.lost = False

    def list(self, plural: str, namespace: str | None, *, labels: str = "", fields: str = "") -> list[Obj]:
        if self.lost:
            return []
        try:
            return self.cluster.list(plural, namespace, labels=labels, fields=fields)
        except errors.ClusterError as failure:
            self.lost = failure.cluster_lost
            return []


def _name(obj: Mapping[str, Any]) -> str:
    return str((obj.get("metadata") or {}).get("name"))


def _namespace(obj: Mapping[str, Any]) -> str | None:
    found = (obj.get("metadata") or {}).get("namespace")
    return str(found) if found else None


def _newest_first(objects: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """Newest first (the learner's latest attempt), then by namespace."""
    ordered = sorted(objects, key=lambda o: str(_namespace(o)))
    return sorted(ordered, key=lambda o: str((o.get("metadata") or {}).get("creationTimestamp") or ""), reverse=True)
