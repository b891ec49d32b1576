"""The scheduler: kube-scheduler's default profile (``labrunner.sandbox.scheduling``) for every pod
of ``schedulerName: default-scheduler`` without a node.

A pod that fits is bound (PodScheduled, a ``Scheduled`` event). One that fits nowhere stays
Pending with PodScheduled False, reason Unschedulable and the FitError's text, and a Warning
``FailedScheduling`` event (a repeat counted into it, as the event recorder aggregates); it is
tried again when something that decides scheduling changes (a node, a bound pod, a namespace's
labels, a Service or controller selector, a budget) or when it changes itself, and at the latest
after five minutes (podMaxInUnschedulablePodsDuration, scaled), as the scheduling queue moves
unschedulable pods back. Preemption evicts its victims (DisruptionTarget, ``Preempted``) and
nominates the node (``status.nominatedNodeName``).

The scheduler's cache (:class:`_View`) follows the store's writes, so a cycle never lists the
cluster: a bind costs the same with 10 pods as with 1,000.
"""

from __future__ import annotations

import copy
import hashlib
import json
import time
import weakref
from dataclasses import dataclass, field
from typing import Any

from labrunner.sandbox import resources
from labrunner.sandbox.controllers.shared import NAMESPACES, NODES, PODS, SERVICES, Cluster
from labrunner.sandbox.scheduling import NodeInfo, Snapshot, qos_class
from labrunner.sandbox.scheduling import schedule as run_cycle
from labrunner.sandbox.store import NotFound, Store, now
from labrunner.sandbox.timescale import TIME_SCALE

SCHEDULED_AT = "labrunner.dev/scheduled-at"
"""When the pod was bound to its node (the kubelet's stages count from it)."""
COMPONENT = "default-scheduler"
RETRY_AFTER = 300.0
"""podMaxInUnschedulablePodsDuration: an unschedulable pod is tried again after five minutes even if nothing changed."""
FINISHED = ("Succeeded", "Failed")
OWNER_KINDS = {("apps", "replicasets"): "ReplicaSet", ("", "replicationcontrollers"): "ReplicationController",
               ("apps", "statefulsets"): "StatefulSet"}
"""The controllers whose selectors PodTopologySpread's default constraints spread."""
PDBS = resources.lookup("policy", "v1", "poddisruptionbudgets")
VOLUME_KINDS = (("", "persistentvolumeclaims"), ("", "persistentvolumes"), ("storage.k8s.io", "storageclasses"))
"""What the VolumeBinding plugin reads (storage/volumebinding.py), read afresh for a pod with claims."""


def _slim(pod: dict[str, Any]) -> dict[str, Any]:
    """What the scheduler keeps of a bound pod: its own copy, as a cache's object is."""
    metadata = pod.get("metadata") or {}
    return {"metadata": {key: copy.deepcopy(metadata[key]) for key in ("name", "namespace", "uid", "labels", "ownerReferences", "deletionTimestamp",
                                                                         "creationTimestamp") if key in metadata},
            "spec": copy.deepcopy(pod.get("spec") or {}),
            "status": {key: (pod.get("status") or {})[key] for key in ("phase", "startTime") if key in (pod.get("status") or {})}}


def _summary(pod: dict[str, Any]) -> tuple[Any, ...]:
    """What of a bound pod decides where other pods go."""
    metadata = pod.get("metadata") or {}
    return ((pod.get("spec") or {}).get("nodeName"), (pod.get("status") or {}).get("phase") in FINISHED,
            json.dumps(metadata.get("labels") or {}, sort_keys=True), bool(metadata.get("deletionTimestamp")))


@dataclass
class _Attempt:
    generation: int
    spec: str
    at: float


@dataclass
class _View:
    """The scheduler's cache: nodes with their bound pods, and what the plugins read besides."""
    store: Store
    snapshot: Snapshot = field(init=False)
    generation: int = 0
    """Bumped by every change that could make an unschedulable pod fit."""
    bound: dict[str, tuple[str, tuple[Any, ...]]] = field(default_factory=dict)
    """Pod uid -> (its node, its summary)."""
    attempts: dict[str, _Attempt] = field(default_factory=dict)
    events: dict[tuple[str, str], str] = field(default_factory=dict)
    """(pod uid, message) -> the FailedScheduling event recorded for it, to count repeats into."""
    waiting: dict[str, tuple[int, str]] = field(default_factory=dict)
    """The scheduling queue: pod uid -> (priority, creationTimestamp) of each pod waiting for this scheduler."""

    def __post_init__(self) -> None:
        store = self.store
        namespace_labels = {ns["metadata"]["name"]: dict(ns["metadata"].get("labels") or {}) for ns in store.list(NAMESPACES)}
        owners: dict[tuple[str, str, str], dict[str, Any]] = {}
        for (group, plural), kind in OWNER_KINDS.items():
            owner_type = resources.lookup(group, "v1", plural)
            assert owner_type is not None
            for obj in store.list(owner_type):
                owners[(kind, obj["metadata"]["namespace"], obj["metadata"]["name"])] = {"spec": {"selector": (obj.get("spec") or {}).get("selector")}}
        self.snapshot = Snapshot.build(store.list(NODES), [], namespace_labels=namespace_labels,
                                       services=[self._service(s) for s in store.list(SERVICES)], owners=owners,
                                       disruption_budgets=[self._budget(b) for b in store.list(PDBS)] if PDBS else [])
        for pod in store.list(PODS):
            self._pod("ADDED", pod)
        store.listeners.append(self.on_change)

    @staticmethod
    def _service(service: dict[str, Any]) -> dict[str, Any]:
        return {"metadata": {"namespace": service["metadata"].get("namespace"), "name": service["metadata"]["name"]},
                "spec": {"selector": dict((service.get("spec") or {}).get("selector") or {})}}

    @staticmethod
    def _budget(budget: dict[str, Any]) -> dict[str, Any]:
        return {"metadata": {"namespace": budget["metadata"].get("namespace"), "name": budget["metadata"]["name"]},
                "spec": {"selector": copy.deepcopy((budget.get("spec") or {}).get("selector"))},
                "status": {"disruptionsAllowed": (budget.get("status") or {}).get("disruptionsAllowed", 0)}}

    def on_change(self, event: str, group: str, plural: str, obj: dict[str, Any]) -> None:
        if group == "" and plural == "pods":
            self._pod(event, obj)
        elif group == "" and plural == "nodes":
            self._node(event, obj)
        elif group == "" and plural == "namespaces":
            labels = dict(obj["metadata"].get("labels") or {})
            table = dict(self.snapshot.namespace_labels)
            if event == "DELETED":
                table.pop(obj["metadata"]["name"], None)
            elif table.get(obj["metadata"]["name"]) != labels:
                table[obj["metadata"]["name"]] = labels
                self.generation += 1
            self.snapshot.namespace_labels = table
        elif group == "" and plural == "services":
            self._replace("services", obj, None if event == "DELETED" else self._service(obj))
        elif group == "policy" and plural == "poddisruptionbudgets":
            self._replace("disruption_budgets", obj, None if event == "DELETED" else self._budget(obj))
        elif (group, plural) in VOLUME_KINDS:
            self.generation += 1  # a claim bound, a volume made: a pod waiting for them may fit now
        elif (group, plural) in OWNER_KINDS:
            key = (OWNER_KINDS[(group, plural)], obj["metadata"].get("namespace", ""), obj["metadata"]["name"])
            owners = dict(self.snapshot.owners)
            selector = (obj.get("spec") or {}).get("selector")
            if event == "DELETED":
                owners.pop(key, None)
            elif (owners.get(key) or {}).get("spec", {}).get("selector") != selector:
                owners[key] = {"spec": {"selector": copy.deepcopy(selector)}}
                self.generation += 1
            self.snapshot.owners = owners

    def _replace(self, attribute: str, obj: dict[str, Any], slim: dict[str, Any] | None) -> None:
        key = (obj["metadata"].get("namespace"), obj["metadata"]["name"])
        current = list(getattr(self.snapshot, attribute))
        kept = [item for item in current if (item["metadata"].get("namespace"), item["metadata"]["name"]) != key]
        if slim is not None:
            kept.append(slim)
        if kept != current:
            setattr(self.snapshot, attribute, kept)
            self.generation += 1

    def _node(self, event: str, node: dict[str, Any]) -> None:
        name = node["metadata"]["name"]
        info = self.snapshot.node(name)
        if event == "DELETED":
            self.snapshot.nodes = [n for n in self.snapshot.nodes if n.name != name]
            self.generation += 1
            return
        fresh = {"metadata": {"name": name, "labels": dict(node["metadata"].get("labels") or {})},
                 "spec": copy.deepcopy(node.get("spec") or {}), "status": {"allocatable": dict((node.get("status") or {}).get("allocatable") or {})}}
        if info is None:
            added = NodeInfo(fresh)
            self.snapshot.nodes = sorted([*self.snapshot.nodes, added], key=lambda n: n.name)
            self.generation += 1
        elif info.node != fresh:
            info.node = fresh
            self.generation += 1

    def _pod(self, event: str, pod: dict[str, Any]) -> None:
        uid = str(pod["metadata"].get("uid"))
        spec = pod.get("spec") or {}
        if event != "DELETED" and _waits(pod):
            self.waiting[uid] = (int(spec.get("priority") or 0), str(pod["metadata"].get("creationTimestamp") or ""))
        else:
            self.waiting.pop(uid, None)
        summary = _summary(pod)
        previous = self.bound.get(uid)
        if event != "DELETED" and previous is not None and previous[1] == summary:
            return
        if previous is not None:
            info = self.snapshot.node(previous[0])
            if info is not None:
                info.remove(pod)
            del self.bound[uid]
            self.generation += 1
        if event == "DELETED":
            self.attempts.pop(uid, None)
            for key in [key for key in self.events if key[0] == uid]:
                del self.events[key]
            return
        node_name = (pod.get("spec") or {}).get("nodeName")
        info = self.snapshot.node(str(node_name)) if node_name else None
        if info is not None and (pod.get("status") or {}).get("phase") not in FINISHED:
            info.add(_slim(pod))
            self.bound[uid] = (info.name, summary)
            self.generation += 1


def _waits(pod: dict[str, Any]) -> bool:
    """A pod in this scheduler's queue: no node, this scheduler's, not gated, not going."""
    spec = pod.get("spec") or {}
    return not spec.get("nodeName") and (spec.get("schedulerName") or COMPONENT) == COMPONENT and not spec.get("schedulingGates") \
        and not pod["metadata"].get("deletionTimestamp")


def _outranked(view: _View, uid: str, priority: int) -> bool:
    """PrioritySort: another waiting pod of higher priority is due for a cycle (never tried, or
    tried before the cluster last changed), so this one waits for the next pass."""
    for other, (rank, _) in view.waiting.items():
        if other != uid and rank > priority:
            tried = view.attempts.get(other)
            if tried is None or tried.generation != view.generation:
                return True
    return False


_VIEWS: weakref.WeakKeyDictionary[Cluster, _View] = weakref.WeakKeyDictionary()


def _view(cluster: Cluster) -> _View:
    view = _VIEWS.get(cluster)
    if view is None or view.store is not cluster.store:
        view = _VIEWS[cluster] = _View(cluster.store)
    return view


def schedule(cluster: Cluster, pod: dict[str, Any]) -> bool:
    """One scheduling cycle for ``pod`` if it waits for the default scheduler; True when it was
    bound (the kubelet starts it on a later pass)."""
    spec, status = pod.setdefault("spec", {}), pod.setdefault("status", {})
    if spec.get("nodeName") or (spec.get("schedulerName") or COMPONENT) != COMPONENT:
        return False
    if spec.get("schedulingGates"):
        _condition(cluster, pod, "SchedulingGated", "Scheduling is blocked due to non-empty scheduling gates")
        return False
    view = _view(cluster)
    uid = str(pod["metadata"].get("uid"))
    digest = hashlib.sha1(json.dumps(spec, sort_keys=True).encode()).hexdigest()
    last = view.attempts.get(uid)
    if last is not None and last.generation == view.generation and last.spec == digest and time.monotonic() - last.at < RETRY_AFTER * TIME_SCALE:
        return False
    if _outranked(view, uid, int(spec.get("priority") or 0)):
        cluster.pending = True
        return False
    from labrunner.sandbox.controllers.persistentvolume import bind_pod_volumes, scheduler_storage
    from labrunner.sandbox.storage.volumebinding import NAME as VOLUME_BINDING, claim_names

    if claim_names(pod):
        view.snapshot.extras[VOLUME_BINDING] = scheduler_storage(cluster)
    decision = run_cycle(pod, view.snapshot)
    if decision.node is None:
        assert decision.error is not None
        _unschedulable(cluster, view, pod, str(decision.error), decision.nominated)
        if decision.nominated:
            _evict_victims(cluster, pod, decision.nominated, decision.victims)
        view.attempts[uid] = _Attempt(view.generation, digest, time.monotonic())
        return False
    view.attempts.pop(uid, None)
    if not bind_pod_volumes(cluster, pod, decision.node):
        return False  # PreBind waits for its claims to be bound (a volume provisioned on that node)
    name, namespace = pod["metadata"]["name"], pod["metadata"]["namespace"]
    spec["nodeName"] = decision.node
    status["conditions"] = [{"type": "PodScheduled", "status": "True", "lastProbeTime": None, "lastTransitionTime": now()}]
    status["phase"] = "Pending"
    status.pop("nominatedNodeName", None)
    status.setdefault("qosClass", qos_class(pod))
    pod["metadata"].setdefault("annotations", {})[SCHEDULED_AT] = now()
    cluster.save(PODS, pod)
    cluster.event(pod, "Scheduled", f"Successfully assigned {namespace}/{name} to {decision.node}", component=COMPONENT)
    cluster.pending = True
    return True


def _condition(cluster: Cluster, pod: dict[str, Any], reason: str, message: str, nominated: str | None = None) -> bool:
    """PodScheduled False with ``reason``; True when the pod was written."""
    status = pod["status"]
    current = next((c for c in status.get("conditions") or [] if c.get("type") == "PodScheduled"), None)
    wanted = {"type": "PodScheduled", "status": "False", "lastProbeTime": None, "reason": reason, "message": message}
    if current is not None and all(current.get(k) == v for k, v in wanted.items() if k != "lastProbeTime") \
            and status.get("nominatedNodeName") == nominated and status.get("qosClass"):
        return False
    stamp = current.get("lastTransitionTime") if current is not None and current.get("status") == "False" else now()
    status["conditions"] = [*(c for c in status.get("conditions") or [] if c.get("type") != "PodScheduled"), {**wanted, "lastTransitionTime": stamp}]
    status["phase"] = "Pending"
    status.setdefault("qosClass", qos_class(pod))
    if nominated:
        status["nominatedNodeName"] = nominated
    else:
        status.pop("nominatedNodeName", None)
    cluster.save(PODS, pod)
    return True


def _unschedulable(cluster: Cluster, view: _View, pod: dict[str, Any], message: str, nominated: str | None) -> None:
    _condition(cluster, pod, "Unschedulable", message, nominated)
    _counted_event(cluster, view, pod, message)


def _counted_event(cluster: Cluster, view: _View, pod: dict[str, Any], message: str) -> None:
    """FailedScheduling, or a repeat of it counted into the one recorded (``(x3 over 2m)``)."""
    from labrunner.sandbox.controllers.events import EVENTS

    assert EVENTS is not None
    namespace, uid = str(pod["metadata"]["namespace"]), str(pod["metadata"].get("uid"))
    name = view.events.get((uid, message))
    if name is not None:
        try:
            event = cluster.store.get(EVENTS, namespace, name)
        except NotFound:
            pass
        else:
            event["count"] = int(event.get("count") or 1) + 1
            event["lastTimestamp"] = now()
            cluster.save(EVENTS, event)
            return
    cluster.event(pod, "FailedScheduling", message, "Warning", component=COMPONENT)
    for event in cluster.store.list(EVENTS, namespace):
        if (event.get("involvedObject") or {}).get("uid") == uid and event.get("reason") == "FailedScheduling" and event.get("message") == message:
            view.events[(uid, message)] = event["metadata"]["name"]


def _evict_victims(cluster: Cluster, preemptor: dict[str, Any], node: str, victims: list[dict[str, Any]]) -> None:
    """prepareCandidate: each victim gets the DisruptionTarget condition, is deleted, and is told
    why (``Preempted``)."""
    for victim in victims:
        namespace, name = victim["metadata"]["namespace"], victim["metadata"]["name"]
        try:
            stored = cluster.store.get(PODS, namespace, name)
        except NotFound:
            continue
        conditions = [c for c in (stored.get("status") or {}).get("conditions") or [] if c.get("type") != "DisruptionTarget"]
        conditions.append({"type": "DisruptionTarget", "status": "True", "lastProbeTime": None, "lastTransitionTime": now(),
                           "reason": "PreemptionByScheduler", "message": f"{COMPONENT}: preempting to accommodate a higher priority pod"})
        stored.setdefault("status", {})["conditions"] = conditions
        cluster.save(PODS, stored)
        cluster.event(stored, "Preempted", f"Preempted by pod {preemptor['metadata'].get('uid')} on node {node}", component=COMPONENT)
        cluster.store.delete(PODS, namespace, name)
    cluster.pending = True
