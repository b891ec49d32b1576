"""Knowing when the cluster changed: watches, not polling, and one call per burst.

A learner's ``kubectl apply`` of a Deployment sets off a burst of events (the
Deployment, its ReplicaSet, each Pod going Pending, ContainerCreating, Running,
the Endpoints): re-running the checks on every one would be wasteful, waiting for
silence could take seconds. A change is reported once the events pause for
``quiet`` seconds, and never later than ``latest`` seconds after the first.
Labrunner's own probe pods are not news: they would set off the checks that made
them, for ever.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from labrunner.cluster import errors
from labrunner.cluster.port import ClusterPort

log = logging.getLogger("labrunner.watch")

OURS = ("app.kubernetes.io/managed-by", "labrunner")
"""The label on the pods labrunner creates for probes."""

ALWAYS_WATCHED = ("namespaces",)
"""Watched whatever the checks: a namespace deleted or recreated changes every check in it.
What else is watched is what the lab's check kinds say they depend on (the registry's
``watches``). No kind should name Endpoints: a probe pod a Service selects would change
them, and set off the check that made the probe, for ever; pod readiness and Service
changes already say when they move."""


UNSERVED_RETRY_SECONDS = 15.0
"""How often a watch of a kind the cluster does not serve (yet) is tried again."""


def namespaces_of(check_args: Iterable[Mapping[str, Any]]) -> set[str]:
    """Every namespace checks with these arguments name."""
    namespaces: set[str] = set()
    for args in check_args:
        named = args.get("namespace")
        namespaces.update(n for n in (named if isinstance(named, (list, tuple)) else [named]) if isinstance(n, str) and n)
    return namespaces


class ChangeWatcher:
    """Watches namespaces, and the workload kinds in ``namespaces``, in background
    threads; calls ``on_change(reasons)``, a list of "MODIFIED pods/mysql-…" lines,
    once per burst, from its own thread.

    One cluster-wide watch per kind, filtered here, rather than one per kind and
    namespace: a lab naming four namespaces would otherwise hold 25 connections."""

    def __init__(self, cluster: ClusterPort, namespaces: Iterable[str], on_change: Callable[[list[str]], object],
                 *, resources: Iterable[str] = (), quiet: float = 0.3, latest: float = 1.0,
                 on_error: Callable[[str, bool], object] | None = None) -> None:
        """``resources``: what to watch besides namespaces (plurals the registry knows);
        namespaced ones only matter in ``namespaces``. ``on_error(message, lost)``: ``lost``
        when the cluster stopped answering, not when a watch is refused (then labrunner
        only re-checks on request)."""
        from labrunner.registry import registry

        self.cluster = cluster
        self.namespaces = frozenset(namespaces)
        known = registry()
        wanted = dict.fromkeys([*ALWAYS_WATCHED, *resources])
        self.cluster_scoped = frozenset(plural for plural in wanted if not known.resource(plural).namespaced)
        self.targets = [plural for plural in wanted if plural in self.cluster_scoped or self.namespaces]
        self.on_change = on_change
        self.on_error = on_error
        self.quiet, self.latest = quiet, latest
        self._stop = threading.Event()
        self._lock = threading.Condition()
        self._pending: list[str] = []
        self._first = self._last = 0.0
        self._threads: list[threading.Thread] = []

    def start(self) -> ChangeWatcher:
        for kind in self.targets:
            thread = threading.Thread(target=self._watch, args=(kind,), name=f"watch {kind}", daemon=True)
            thread.start()
            self._threads.append(thread)
        notifier = threading.Thread(target=self._notify, name="watch notifier", daemon=True)
        notifier.start()
        self._threads.append(notifier)
        return self

    def stop(self) -> None:
        """Stop reporting at once; the watch threads end with their current request."""
        self._stop.set()
        with self._lock:
            self._lock.notify_all()

    @property
    def stopped(self) -> bool:
        return self._stop.is_set()

    def wait_stopped(self, seconds: float) -> bool:
        """Sleep up to ``seconds``, waking at once when stopped; whether it is stopped."""
        return self._stop.wait(seconds)

    def _watch(self, kind: str, namespace: str | None = None) -> None:
        failures = 0
        cursor: dict[str, str] = {}  # where the last watch ended: the next one misses nothing in between
        while not self._stop.is_set():
            try:
                for event, obj in self.cluster.watch(kind, namespace, timeout_seconds=50, cursor=cursor):
                    if self._stop.is_set():
                        return
                    failures = 0
                    metadata = obj.get("metadata") or {}
                    if (metadata.get("labels") or {}).get(OURS[0]) == OURS[1]:
                        continue
                    if kind not in self.cluster_scoped and metadata.get("namespace") not in self.namespaces:
                        continue
                    self._changed(f"{event} {kind}/{metadata.get('name', '?')}")
            except errors.NotFound:
                # A kind this cluster does not serve yet: a lab may install its CRDs (the Gateway API) in a
                # later step. Look again now and then; a watch begun without a cursor starts with every
                # object that exists by then, so nothing made meanwhile is missed.
                cursor.clear()
                self._stop.wait(UNSERVED_RETRY_SECONDS)
            except errors.Forbidden as refused:
                # A learner with a namespace of their own (workshop mode) may not watch cluster-wide:
                # one watch per namespace instead; for namespaces themselves, say so once and stop.
                if namespace is None and kind not in self.cluster_scoped:
                    for each in sorted(self.namespaces):
                        thread = threading.Thread(target=self._watch, args=(kind, each), name=f"watch {kind} {each}", daemon=True)
                        thread.start()
                        self._threads.append(thread)
                elif self.on_error:
                    self.on_error(f"not watching {kind}{' in ' + namespace if namespace else ''}: {refused.message}; r re-checks", False)
                return
            except errors.ClusterError as failure:
                failures += 1
                if self.on_error and failures == 3:
                    self.on_error(f"watching {kind} failed: {failure.message}", failure.cluster_lost)
                self._stop.wait(min(2.0 * failures, 10.0))
            except Exception:  # a watch must never take the session down
                log.exception("watch of %s failed", kind)
                self._stop.wait(5.0)

    def _changed(self, reason: str) -> None:
        with self._lock:
            now = time.monotonic()
            if not self._pending:
                self._first = now
            self._last = now
            self._pending.append(reason)
            self._lock.notify_all()

    def _notify(self) -> None:
        while not self._stop.is_set():
            with self._lock:
                while not self._pending and not self._stop.is_set():
                    self._lock.wait()
                if self._stop.is_set():
                    return
                due = min(self._last + self.quiet, self._first + self.latest)
                wait = due - time.monotonic()
                if wait > 0:
                    self._lock.wait(wait)
                    continue
                reasons, self._pending = self._pending, []
            try:
                self.on_change(reasons)
            except Exception:
                log.exception("reacting to a change failed")
