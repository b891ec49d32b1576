"""The sandbox's objects, in SQLite (WAL), so a restart keeps every one.

Objects are stored as the JSON the API returns, keyed by (group, resource,
namespace, name); one counter gives every write a new ``resourceVersion``, as
etcd's revision does. The store knows nothing of HTTP: it raises
:class:`AlreadyExists`, :class:`NotFound` and :class:`Conflict`, which the API
layer turns into ``Status`` objects.
"""

from __future__ import annotations

import builtins
import json
import sqlite3
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from labrunner.sandbox.resources import ResourceType

_SCHEMA = """
CREATE TABLE IF NOT EXISTS objects (
    api_group TEXT NOT NULL,
    resource TEXT NOT NULL,
    namespace TEXT NOT NULL,
    name TEXT NOT NULL,
    resource_version INTEGER NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (api_group, resource, namespace, name)
);
CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS logs (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    namespace TEXT NOT NULL,
    pod TEXT NOT NULL,
    container TEXT NOT NULL,
    time TEXT NOT NULL,
    line TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS logs_by_container ON logs (namespace, pod, container, seq);
"""

LogListener = Callable[[str, str, str, str, str], None]
"""Called with (namespace, pod, container, time, line) for every line a container writes."""


class StoreError(Exception):
    def __init__(self, resource: ResourceType, name: str) -> None:
        super().__init__(name)
        self.resource = resource
        self.name = name


class AlreadyExists(StoreError):
    pass


class NotFound(StoreError):
    pass


class Conflict(StoreError):
    pass


def now() -> str:
    """RFC 3339 in UTC with seconds, as Kubernetes writes timestamps."""
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def seconds(stamp: str) -> float:
    """A Kubernetes timestamp (``2026-12-06T04:09:48Z``) as seconds since the epoch;
    ``fromisoformat`` is C and reads the Z, ten times strptime's speed for a table of pods."""
    return datetime.fromisoformat(stamp).timestamp()


Listener = Callable[[str, str, str, dict[str, Any]], None]
"""Called after every write with (event type, group, plural, object)."""


class Store:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.listeners: list[Listener] = []
        self.log_listeners: list[LogListener] = []
        self.db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.executescript(_SCHEMA)
        self.new = self.db.execute("SELECT COUNT(*) FROM objects").fetchone()[0] == 0

    def close(self) -> None:
        self.db.close()

    def _emit(self, event: str, group: str, plural: str, obj: dict[str, Any]) -> None:
        for listener in list(self.listeners):
            listener(event, group, plural, obj)

    # -- the revision counter -----------------------------------------------------

    def _next_revision(self) -> int:
        row = self.db.execute(
            "INSERT INTO counters (name, value) VALUES ('revision', 1) "
            "ON CONFLICT(name) DO UPDATE SET value = value + 1 RETURNING value"
        ).fetchone()
        return int(row[0])

    def revision(self) -> int:
        row = self.db.execute("SELECT value FROM counters WHERE name = 'revision'").fetchone()
        return int(row[0]) if row else 0

    # -- reads ------------------------------------------------------------------------

    def get(self, resource: ResourceType, namespace: str, name: str) -> dict[str, Any]:
        row = self.db.execute(
            "SELECT body FROM objects WHERE api_group = ? AND resource = ? AND namespace = ? AND name = ?",
            (resource.group, resource.plural, namespace, name),
        ).fetchone()
        if row is None:
            raise NotFound(resource, name)
        return json.loads(row[0])

    def list(self, resource: ResourceType, namespace: str | None = None) -> list[dict[str, Any]]:
        query = "SELECT body FROM objects WHERE api_group = ? AND resource = ?"
        parameters: tuple[Any, ...] = (resource.group, resource.plural)
        if namespace is not None:
            query += " AND namespace = ?"
            parameters += (namespace,)
        return [json.loads(row[0]) for row in self.db.execute(query + " ORDER BY namespace, name", parameters)]

    def in_namespace(self, namespace: str) -> Iterator[tuple[str, str, str]]:
        """(group, resource, name) of every object in ``namespace``."""
        yield from self.db.execute("SELECT api_group, resource, name FROM objects WHERE namespace = ?", (namespace,))

    def counts(self) -> dict[str, int]:
        return {
            f"{resource}.{group}" if group else resource: count
            for group, resource, count in self.db.execute("SELECT api_group, resource, COUNT(*) FROM objects GROUP BY api_group, resource")
        }

    # -- writes ----------------------------------------------------------------------

    def create(self, resource: ResourceType, obj: dict[str, Any], *, dry_run: bool = False) -> dict[str, Any]:
        metadata = obj.setdefault("metadata", {})
        namespace = metadata.get("namespace", "") if resource.namespaced else ""
        name = metadata["name"]
        metadata.pop("resourceVersion", None)
        metadata["uid"] = metadata.get("uid") or str(uuid.uuid4())  # the API's writes give it before defaulting
        metadata["creationTimestamp"] = now()
        if "spec" in obj:
            metadata["generation"] = 1
        obj["apiVersion"], obj["kind"] = resource.api_version, resource.kind
        if dry_run:
            try:
                self.get(resource, namespace, name)
            except NotFound:
                return obj
            raise AlreadyExists(resource, name)
        self.db.execute("BEGIN IMMEDIATE")
        try:
            revision = self._next_revision()
            metadata["resourceVersion"] = str(revision)
            self.db.execute(
                "INSERT INTO objects (api_group, resource, namespace, name, resource_version, body) VALUES (?, ?, ?, ?, ?, ?)",
                (resource.group, resource.plural, namespace, name, revision, json.dumps(obj)),
            )
        except sqlite3.IntegrityError:
            self.db.execute("ROLLBACK")
            raise AlreadyExists(resource, name) from None
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")
        self._emit("ADDED", resource.group, resource.plural, obj)
        return obj

    def update(self, resource: ResourceType, obj: dict[str, Any], *, dry_run: bool = False) -> dict[str, Any]:
        """Replace an object; a ``resourceVersion`` in ``obj`` must be the current one."""
        metadata = obj.setdefault("metadata", {})
        namespace = metadata.get("namespace", "") if resource.namespaced else ""
        name = metadata["name"]
        current = self.get(resource, namespace, name)
        expected = metadata.get("resourceVersion")
        if expected and expected != current["metadata"]["resourceVersion"]:
            raise Conflict(resource, name)
        for kept in ("uid", "creationTimestamp"):
            metadata[kept] = current["metadata"].get(kept)
        if "generation" in current["metadata"]:
            changed = json.dumps(obj.get("spec"), sort_keys=True) != json.dumps(current.get("spec"), sort_keys=True)
            metadata["generation"] = current["metadata"]["generation"] + (1 if changed else 0)
        obj["apiVersion"], obj["kind"] = resource.api_version, resource.kind
        if dry_run:
            return obj
        self.db.execute("BEGIN IMMEDIATE")
        revision = self._next_revision()
        metadata["resourceVersion"] = str(revision)
        self.db.execute(
            "UPDATE objects SET resource_version = ?, body = ? WHERE api_group = ? AND resource = ? AND namespace = ? AND name = ?",
            (revision, json.dumps(obj), resource.group, resource.plural, namespace, name),
        )
        self.db.execute("COMMIT")
        self._emit("MODIFIED", resource.group, resource.plural, obj)
        return obj

    def delete(self, resource: ResourceType, namespace: str, name: str) -> dict[str, Any]:
        obj = self.get(resource, namespace if resource.namespaced else "", name)
        self.delete_raw(resource.group, resource.plural, namespace if resource.namespaced else "", name)
        return obj

    def delete_raw(self, group: str, plural: str, namespace: str, name: str) -> None:
        key = (group, plural, namespace, name)
        row = self.db.execute(
            "SELECT body FROM objects WHERE api_group = ? AND resource = ? AND namespace = ? AND name = ?", key
        ).fetchone()
        if row is None:
            return
        self.db.execute("BEGIN IMMEDIATE")
        self.db.execute("DELETE FROM objects WHERE api_group = ? AND resource = ? AND namespace = ? AND name = ?", key)
        revision = self._next_revision()
        self.db.execute("COMMIT")
        obj = json.loads(row[0])
        obj["metadata"]["resourceVersion"] = str(revision)
        if plural == "pods":
            self.db.execute("DELETE FROM logs WHERE namespace = ? AND pod = ?", (namespace, name))
        self._emit("DELETED", group, plural, obj)

    # -- container logs ------------------------------------------------------------------

    def append_log(self, namespace: str, pod: str, container: str, lines: builtins.list[str]) -> None:
        stamp = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        self.db.executemany(
            "INSERT INTO logs (namespace, pod, container, time, line) VALUES (?, ?, ?, ?, ?)",
            [(namespace, pod, container, stamp, line) for line in lines],
        )
        for line in lines:
            for listener in list(self.log_listeners):
                listener(namespace, pod, container, stamp, line)

    PREVIOUS = "\x00previous"
    """Appended to a container's name for the log of its run before the last restart."""

    def rotate_log(self, namespace: str, pod: str, container: str) -> None:
        """The container restarts: its log becomes the previous run's (``kubectl logs --previous``)."""
        self.db.execute("DELETE FROM logs WHERE namespace = ? AND pod = ? AND container = ?", (namespace, pod, container + self.PREVIOUS))
        self.db.execute("UPDATE logs SET container = ? WHERE namespace = ? AND pod = ? AND container = ?",
                        (container + self.PREVIOUS, namespace, pod, container))

    def read_log(self, namespace: str, pod: str, container: str, tail: int | None = None) -> builtins.list[tuple[str, str]]:
        rows = self.db.execute(
            "SELECT time, line FROM logs WHERE namespace = ? AND pod = ? AND container = ? ORDER BY seq",
            (namespace, pod, container),
        ).fetchall()
        if tail is None:
            return rows
        return rows[-tail:] if tail > 0 else []

    def reset(self) -> None:
        self.db.execute("DELETE FROM objects")
        self.db.execute("DELETE FROM counters")
