"""Reading the room: the instructor's side (every learner's record and heartbeat), and the
learner's side (the ``workshop`` record: timer and announcements).

:func:`read_room` is two list calls (the workshop's ConfigMaps and Leases). :class:`RoomWatcher`
keeps a :class:`Room` current from two watches on the workshop's namespace and calls back on
every change: what the instructor's screen follows. :class:`WorkshopWatcher` follows the
``workshop`` ConfigMap alone, with the ``get, watch`` a learner's Role gives on that one name.
Callbacks run on the watchers' threads.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from labrunner.cluster import errors
from labrunner.cluster.port import ClusterPort
from labrunner.workshop import names
from labrunner.workshop.records import ProgressRecord, Verification, WorkshopRecord, parse_stamp
from labrunner.workshop.stuck import Seen

WATCH_SECONDS = 50


class NoWorkshop(errors.NotFound):
    """The cluster holds no such workshop."""


@dataclass(frozen=True)
class LearnerState:
    id: str
    name: str
    parameters: Mapping[str, str]
    namespaces: tuple[str, ...]
    record: ProgressRecord
    heartbeat: float | None
    """The heartbeat Lease's renewTime (None: never renewed, or released on a clean exit)."""
    verification: Verification

    @property
    def seen(self) -> Seen:
        return Seen(self.id, self.record, self.heartbeat, self.parameters)


@dataclass(frozen=True)
class Room:
    workshop: WorkshopRecord
    learners: tuple[LearnerState, ...]
    read_at: float

    def learner(self, ident: str) -> LearnerState:
        """Raises KeyError: no such learner."""
        return next(learner for learner in self.learners if learner.id == ident)

    def seen(self) -> list[Seen]:
        return [learner.seen for learner in self.learners]


def heartbeat_of(lease: Mapping[str, Any] | None) -> float | None:
    spec = (lease or {}).get("spec") or {}
    if not spec.get("holderIdentity"):
        return None
    return parse_stamp(spec.get("renewTime"))


def room_from(workshop: str, configmaps: Mapping[str, Mapping[str, Any]], leases: Mapping[str, Mapping[str, Any]],
              now: float | None = None) -> Room:
    """The room from the workshop namespace's ConfigMaps and Leases, each by name (pure).

    Raises:
        NoWorkshop: there is no ``workshop`` ConfigMap.
    """
    found = configmaps.get(names.WORKSHOP_CONFIGMAP)
    if found is None:
        raise NoWorkshop(f'workshop "{workshop}" not found: no configmap {names.WORKSHOP_CONFIGMAP} in {names.namespace(workshop)}',
                         "labrunner workshop init makes it")
    record = WorkshopRecord.decode(found.get("data"))
    learners = []
    for ident, entry in record.learners.items():
        progress = configmaps.get(names.progress(ident)) or {}
        verified = configmaps.get(names.verified(ident)) or {}
        learners.append(LearnerState(ident, entry.name, entry.parameters, entry.namespaces,
                                     ProgressRecord.decode(progress.get("data")), heartbeat_of(leases.get(names.heartbeat(ident))),
                                     Verification.decode(verified.get("data"))))
    return Room(record, tuple(learners), time.time() if now is None else now)


def _by_name(items: Sequence[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {str((item.get("metadata") or {}).get("name")): item for item in items}


def read_room(cluster: ClusterPort, workshop: str) -> Room:
    """Every learner's record, verification and heartbeat, now (two list calls).

    Raises:
        NoWorkshop: no such workshop on this cluster.
        errors.ClusterError: the cluster could not be read.
    """
    selector = f"{names.LABEL}={workshop}"
    namespace = names.namespace(workshop)
    configmaps = cluster.list("configmaps", namespace, labels=selector)
    leases = cluster.list("leases", namespace, labels=selector)
    return room_from(workshop, _by_name(configmaps), _by_name(leases))


def read_workshop(cluster: ClusterPort, workshop: str) -> WorkshopRecord:
    """The ``workshop`` record (one get: a learner may read it).

    Raises:
        NoWorkshop: no such workshop on this cluster.
    """
    try:
        found = cluster.get("configmaps", names.WORKSHOP_CONFIGMAP, names.namespace(workshop))
    except errors.NotFound:
        raise NoWorkshop(f'workshop "{workshop}" not found on this cluster') from None
    return WorkshopRecord.decode(found.get("data"))


def _version(obj: Mapping[str, Any]) -> int:
    text = str((obj.get("metadata") or {}).get("resourceVersion") or "0")
    return int(text) if text.isdigit() else 0


class _Follower:
    """One watch, followed on a thread until stopped, starting from a known resourceVersion;
    after 410 Gone or an error it reads everything again (``resync``) and goes on."""

    def __init__(self, cluster: ClusterPort, kind: str, namespace: str, *, fields: str = "",
                 on_event: Callable[[str, dict[str, Any]], None], resync: Callable[[], str],
                 stop: threading.Event, timeout_seconds: int = WATCH_SECONDS) -> None:
        self.cluster, self.kind, self.namespace, self.fields = cluster, kind, namespace, fields
        self.on_event, self.resync, self.stop, self.timeout_seconds = on_event, resync, stop, timeout_seconds
        self.problem: str | None = None
        self.thread = threading.Thread(target=self._run, name=f"labrunner-workshop-watch-{kind}", daemon=True)

    def start(self, version: str) -> None:
        self.cursor = {"resourceVersion": version} if version else {}
        self.thread.start()

    def _run(self) -> None:
        pause = 0.5
        while not self.stop.is_set():
            try:
                if not self.cursor.get("resourceVersion"):
                    version = self.resync()
                    self.cursor = {"resourceVersion": version} if version else {}
                for event, obj in self.cluster.watch(self.kind, self.namespace, timeout_seconds=self.timeout_seconds,
                                                     cursor=self.cursor, fields=self.fields):
                    if self.stop.is_set():
                        return
                    self.on_event(event, obj)
                self.problem, pause = None, 0.5
            except errors.ClusterError as failure:
                self.problem = failure.message
                self.cursor = {}
                self.stop.wait(pause)
                pause = min(pause * 2, 15.0)


class RoomWatcher:
    """The room, kept current: ``on_change(room)`` after every change of a record, a
    verification, the workshop record or a heartbeat (on a watcher thread).

    ``start()`` reads the room once (raising what :func:`read_room` raises) and begins the two
    watches; ``room`` is the latest; ``stop()`` ends them (within ``timeout_seconds``).
    """

    def __init__(self, cluster: ClusterPort, workshop: str, on_change: Callable[[Room], None] | None = None,
                 *, timeout_seconds: int = WATCH_SECONDS) -> None:
        self.cluster, self.workshop, self.on_change = cluster, workshop, on_change
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._objects: dict[str, dict[str, dict[str, Any]]] = {"configmaps": {}, "leases": {}}
        namespace = names.namespace(workshop)
        self._followers = [_Follower(cluster, kind, namespace, on_event=self._event_for(kind), resync=self._resync_for(kind),
                                     stop=self._stop, timeout_seconds=timeout_seconds) for kind in ("configmaps", "leases")]
        self.room: Room | None = None

    @property
    def problem(self) -> str | None:
        """Why the watch is not following (the cluster's words), or None."""
        return next((f.problem for f in self._followers if f.problem), None)

    def start(self) -> Room:
        versions = [self._resync_for(kind)() for kind in ("configmaps", "leases")]
        for follower, version in zip(self._followers, versions):
            follower.start(version)
        assert self.room is not None
        return self.room

    def stop(self) -> None:
        self._stop.set()

    def _resync_for(self, kind: str) -> Callable[[], str]:
        def resync() -> str:
            items = self.cluster.list(kind, names.namespace(self.workshop), labels=f"{names.LABEL}={self.workshop}")
            with self._lock:
                self._objects[kind] = _by_name(items)
                room = self._rebuild()
            self._changed(room)
            return str(max((_version(item) for item in items), default=0) or "")

        return resync

    def _event_for(self, kind: str) -> Callable[[str, dict[str, Any]], None]:
        def event(what: str, obj: dict[str, Any]) -> None:
            metadata = obj.get("metadata") or {}
            if (metadata.get("labels") or {}).get(names.LABEL) != self.workshop:
                return
            name = str(metadata.get("name"))
            with self._lock:
                known = self._objects[kind].get(name)
                if what == "DELETED":
                    self._objects[kind].pop(name, None)
                elif known is None or _version(obj) >= _version(known):
                    self._objects[kind][name] = obj
                else:
                    return
                room = self._rebuild()
            self._changed(room)

        return event

    def _rebuild(self) -> Room | None:
        try:
            self.room = room_from(self.workshop, self._objects["configmaps"], self._objects["leases"])
        except NoWorkshop:
            if self.room is None:
                raise
            return None  # torn down under us: keep showing the last room
        return self.room

    def _changed(self, room: Room | None) -> None:
        if room is not None and self.on_change is not None:
            self.on_change(room)


class WorkshopWatcher:
    """The ``workshop`` record (timer, announcements, end time), followed with a learner's
    credentials: one get, then a watch of that one name. ``on_change(record)`` runs on the
    watcher's thread after every change."""

    def __init__(self, cluster: ClusterPort, workshop: str, on_change: Callable[[WorkshopRecord], None],
                 *, timeout_seconds: int = WATCH_SECONDS) -> None:
        self.cluster, self.workshop, self.on_change = cluster, workshop, on_change
        self._stop = threading.Event()
        self.record: WorkshopRecord | None = None
        self._follower = _Follower(cluster, "configmaps", names.namespace(workshop), fields=f"metadata.name={names.WORKSHOP_CONFIGMAP}",
                                   on_event=self._event, resync=self._resync, stop=self._stop, timeout_seconds=timeout_seconds)

    @property
    def problem(self) -> str | None:
        return self._follower.problem

    def start(self) -> WorkshopRecord:
        """Read the record (raising :class:`NoWorkshop` or the cluster's error) and follow it."""
        version = self._resync()
        self._follower.start(version)
        assert self.record is not None
        return self.record

    def stop(self) -> None:
        self._stop.set()

    def _resync(self) -> str:
        try:
            found = self.cluster.get("configmaps", names.WORKSHOP_CONFIGMAP, names.namespace(self.workshop))
        except errors.NotFound:
            raise NoWorkshop(f'workshop "{self.workshop}" not found on this cluster') from None
        self._event("MODIFIED", found)
        return str((found.get("metadata") or {}).get("resourceVersion") or "")

    def _event(self, what: str, obj: dict[str, Any]) -> None:
        if what == "DELETED":
            return
        self.record = WorkshopRecord.decode(obj.get("data"))
        self.on_change(self.record)
