"""The watch cache: every write, offered to the watches it concerns, and the last
5000 events, so a watch can resume from a resourceVersion it has seen.

A resumption from before the history answers one ERROR event with a 410 Gone
``Status`` ("too old resource version"), on which clients list again, as with
a real API server's compacted etcd.
"""

from __future__ import annotations

import asyncio
import collections
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from labrunner.sandbox import tables
from labrunner.sandbox.resources import ResourceType
from labrunner.sandbox.selectors import SelectorError, field_selector, label_selector
from labrunner.sandbox.status import status, status_body
from labrunner.sandbox.store import Store

HISTORY = 5000
"""Events kept for watches that resume from a resourceVersion; older ones answer 410 Gone."""
MAX_WATCH_SECONDS = 3600
FRESHNESS_WAIT = 3.0
"""How long a read from a resourceVersion the store has not reached yet waits for it (the watch cache's blockTimeout)."""
_STOP = "STOP"
"""Queued to every watcher when the server shuts down."""


@dataclass(eq=False)
class _Watcher:
    group: str
    plural: str
    namespace: str | None
    matches: Callable[[dict[str, Any]], bool]
    queue: asyncio.Queue[tuple[str, dict[str, Any]]] = field(default_factory=asyncio.Queue)

    def wants(self, group: str, plural: str, obj: dict[str, Any]) -> bool:
        if (group, plural) != (self.group, self.plural):
            return False
        if self.namespace is not None and obj["metadata"].get("namespace") != self.namespace:
            return False
        return self.matches(obj)


class WatchCache:
    def __init__(self, store: Store) -> None:
        self.store = store
        self.history: collections.deque[tuple[int, str, str, str, dict[str, Any]]] = collections.deque(maxlen=HISTORY)
        self.oldest_revision = store.revision()
        self.watchers: set[_Watcher] = set()
        store.listeners.append(self.observe)

    def observe(self, event: str, group: str, plural: str, obj: dict[str, Any]) -> None:
        revision = int(obj["metadata"].get("resourceVersion") or 0)
        if len(self.history) == self.history.maxlen:
            self.oldest_revision = self.history[0][0]
        self.history.append((revision, event, group, plural, obj))
        for watcher in list(self.watchers):
            if watcher.wants(group, plural, obj):
                watcher.queue.put_nowait((event, obj))

    def close(self) -> None:
        """End every watch, so the server can stop without waiting for their timeouts."""
        for watcher in list(self.watchers):
            watcher.queue.put_nowait((_STOP, {}))

    async def serve(self, request: web.Request, resource: ResourceType, namespace: str | None) -> web.StreamResponse:
        """Newline-delimited watch events, chunked; ADDED for what exists first unless
        a resourceVersion asks to resume, then every change until timeoutSeconds."""
        try:
            labels = label_selector(request.query.get("labelSelector", ""))
            fields = field_selector(request.query.get("fieldSelector", ""))
            timeout = min(float(request.query.get("timeoutSeconds") or 1800), MAX_WATCH_SECONDS)
            since_revision = int(request.query.get("resourceVersion") or "0")
        except (SelectorError, ValueError) as error:
            return status(400, "BadRequest", str(error))
        if too_large := await wait_until_fresh(self.store, since_revision):
            return too_large
        as_table = "as=Table" in request.headers.get("Accept", "")
        watcher = _Watcher(resource.group, resource.plural, namespace,
                           lambda obj: labels(obj["metadata"].get("labels") or {}) and fields(obj))
        # Registering and replaying happen with no await in between, so nothing is missed or doubled.
        backlog: list[tuple[str, dict[str, Any]]] = []
        expired = False
        if since_revision == 0:
            backlog = [("ADDED", obj) for obj in self.store.list(resource, namespace) if watcher.matches(obj)]
        elif since_revision < self.oldest_revision:
            expired = True
        else:
            backlog = [(event, obj) for revision, event, group, plural, obj in self.history
                       if revision > since_revision and watcher.wants(group, plural, obj)]
        self.watchers.add(watcher)
        response = web.StreamResponse(headers={"Content-Type": "application/json"})
        response.enable_chunked_encoding()
        try:
            await response.prepare(request)
            if expired:
                gone = status_body(410, "Expired", f"too old resource version: {since_revision} ({self.oldest_revision})")
                await response.write(json.dumps({"type": "ERROR", "object": gone}).encode() + b"\n")
                return response
            first = True
            for event, obj in backlog:
                await response.write(_line(resource, event, obj, as_table, first))
                first = False
            deadline = time.monotonic() + timeout
            while (remaining := deadline - time.monotonic()) > 0:
                if request.transport is None or request.transport.is_closing():
                    break  # the client went away (kubectl got what it waited for)
                try:
                    event, obj = await asyncio.wait_for(watcher.queue.get(), timeout=min(remaining, 1.0))
                except asyncio.TimeoutError:
                    continue
                if event == _STOP:
                    break
                await response.write(_line(resource, event, obj, as_table, first))
                first = False
        except (ConnectionResetError, asyncio.CancelledError):
            pass
        finally:
            self.watchers.discard(watcher)
        return response


async def wait_until_fresh(store: Store, revision: int) -> web.Response | None:
    """None once the store has reached ``revision``; after :data:`FRESHNESS_WAIT` without, the
    API server's 504 (a client asked for a resourceVersion from the future, or another cluster's)."""
    deadline = time.monotonic() + FRESHNESS_WAIT
    while (current := store.revision()) < revision:
        if time.monotonic() >= deadline:
            return status(504, "Timeout", f"Timeout: Too large resource version: {revision}, current: {current}",
                          {"causes": [{"reason": "ResourceVersionTooLarge", "message": "Too large resource version"}], "retryAfterSeconds": 1})
        await asyncio.sleep(0.05)
    return None


def _line(resource: ResourceType, event: str, obj: dict[str, Any], as_table: bool, with_columns: bool) -> bytes:
    shown: dict[str, Any] = obj
    if as_table:
        shown = tables.table(resource.plural, [obj], obj["metadata"].get("resourceVersion", ""))
        if not with_columns:
            shown["columnDefinitions"] = []
    return json.dumps({"type": event, "object": shown}).encode() + b"\n"
