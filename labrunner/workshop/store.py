"""The learner's side: progress published into the cluster, and a heartbeat.

:class:`ClusterProgressStore` is a :class:`~labrunner.session.progress.ProgressStore` for one
workshop learner. Put it beside the local store with ``FanOut(local, cluster_store)``: the local
SQLite stays the learner's own record (FanOut reads it), and every write is also published into
the ConfigMap ``progress-ID`` in the workshop's namespace, which the learner's Role lets them
``get, update, patch`` and nothing else.

Writes never wait for the network. Each write is queued as a change to the record; one thread
publishes the queue (read, apply every queued change, replace with the resourceVersion read: a
409 Conflict reads again and retries, so an instructor's reset is never overwritten with a stale
copy) and renews the Lease ``heartbeat-ID`` every 20-30 s. A cluster that refuses or does not
answer leaves the changes queued (retried with back-off) and says why in :attr:`problem`.

The record is a claim: the learner may edit their own ConfigMap, so the instructor re-checks
(``labrunner workshop verify``) with their own credentials.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Hashable, Iterable
from typing import Any

from labrunner.cluster import errors
from labrunner.cluster.port import ClusterPort
from labrunner.session.progress import ProgressKey, StepRecord
from labrunner.workshop import names
from labrunner.workshop.records import ProgressRecord, micro_stamp

HEARTBEAT_SECONDS = 25.0
"""The Lease is renewed every 20-30 s (25 s, give or take 5, so a room does not beat in step)."""
LEASE_SECONDS = 60
CONFLICT_RETRIES = 8
QUEUE_LIMIT = 500
"""Changes kept while the cluster cannot be written (the oldest dropped beyond)."""

Change = Callable[[ProgressRecord, float], ProgressRecord]


class PublishFailed(Exception):
    """:meth:`ClusterProgressStore.flush` could not publish: the cluster's error is ``cause``."""

    def __init__(self, message: str, cause: errors.ClusterError | None) -> None:
        super().__init__(message)
        self.cause = cause


class ClusterProgressStore:
    """One learner's progress in the workshop's namespace (ConfigMap ``progress-ID``, Lease
    ``heartbeat-ID``), written with that learner's credentials.

    ``key`` arguments are accepted for the protocol's sake and not used: one store is one
    learner's record (of the one lab the workshop runs).
    """

    def __init__(self, cluster: ClusterPort, workshop: str, learner: str, *, heartbeat_seconds: float = HEARTBEAT_SECONDS,
                 clock: Callable[[], float] = time.time, on_reset: Callable[[], None] | None = None) -> None:
        self.cluster = cluster
        self.workshop = workshop
        self.learner = learner
        self.namespace = names.namespace(workshop)
        self.heartbeat_seconds = heartbeat_seconds
        self.problem: str | None = None
        """Why progress is not reaching the instructor (None when it is), in words for the learner."""
        self.last_error: errors.ClusterError | None = None
        self._clock = clock
        self._on_reset = on_reset
        self._condition = threading.Condition()
        self._pending: list[Change] = []
        self._publishing = 0
        self._failures = 0
        """Publishes that failed, ever (flush watches it)."""
        self._streak = 0
        """Publishes that failed in a row (the back-off grows with it)."""
        self._record = ProgressRecord(learner=learner)
        self._object: dict[str, Any] | None = None
        self._lease: dict[str, Any] | None = None
        self._epoch: int | None = None
        self._closing = False
        self._next_beat = 0.0
        self._retry_at = 0.0
        self._thread = threading.Thread(target=self._run, name=f"labrunner-workshop-{learner}", daemon=True)
        self._thread.start()

    # -- the ProgressStore protocol ------------------------------------------------------------

    def record(self, key: ProgressKey, step: str, status: str, checks: Iterable[dict[str, Any]]) -> None:
        checks = [dict(check) for check in checks]
        self._change(lambda record, now: record.with_result(step, status, checks, now))

    def results(self, key: ProgressKey) -> dict[str, StepRecord]:
        record = self.snapshot()
        return {step: StepRecord(step, claim.status, claim.at or 0.0,
                                 ({"id": claim.check, "status": claim.status, "message": claim.message},) if claim.check else ())
                for step, claim in record.steps.items() if claim.status is not None}

    def move_to(self, key: ProgressKey, step: str) -> None:
        self._change(lambda record, now: record.with_move(step, now))

    def position(self, key: ProgressKey) -> str | None:
        return self.snapshot().current

    def hints_shown(self, key: ProgressKey, step: str) -> int:
        return self.snapshot().hints.get(step, 0)

    def show_hints(self, key: ProgressKey, step: str, shown: int) -> None:
        self._change(lambda record, now: record.with_hints(step, shown, now))

    def mark_set_up(self, key: ProgressKey, step: str) -> None:
        self._change(lambda record, now: record.with_setup(step, now))

    def set_up_steps(self, key: ProgressKey) -> set[str]:
        return set(self.snapshot().setups)

    def forget(self, key: ProgressKey, steps: Iterable[str] | None = None) -> None:
        chosen = None if steps is None else list(steps)
        self._change(lambda record, now: record.forgetting(chosen, now))

    def version(self) -> Hashable:
        """The record's epoch: it moves when the instructor reset this learner (seen at the
        next publish or heartbeat), never on the learner's own writes."""
        with self._condition:
            return self._epoch or 0

    def close(self) -> None:
        """Publish what is queued (3 s at most), mark the heartbeat released, stop the thread."""
        try:
            self.flush(3.0)
        except (PublishFailed, TimeoutError):
            pass
        with self._condition:
            self._closing = True
            self._condition.notify_all()
        self._thread.join(timeout=5)
        try:
            self._renew(release=True)
        except errors.ClusterError:
            pass

    # -- beyond the protocol ---------------------------------------------------------------------

    def raise_hand(self, raised: bool = True) -> None:
        """Ask the instructor for help (or take the hand down)."""
        self._change(lambda record, now: record.with_hand(raised, now))

    def snapshot(self) -> ProgressRecord:
        """The record as this learner's labrunner knows it: the cluster's last copy, with the
        changes not yet published applied."""
        with self._condition:
            record, pending = self._record, list(self._pending)
        now = self._clock()
        for change in pending:
            record = change(record, now)
        return record

    def flush(self, timeout: float = 10.0) -> None:
        """Publish now and wait until every queued change is in the cluster.

        Raises:
            PublishFailed: the cluster refused or could not be reached (``cause`` says how).
            TimeoutError: still publishing after ``timeout`` seconds.
        """
        deadline = time.monotonic() + timeout
        with self._condition:
            failures = self._failures
            self._retry_at = 0.0
            self._condition.notify_all()
            while self._pending or self._publishing:
                if self._failures != failures:
                    raise PublishFailed(self.problem or "progress could not be published", self.last_error)
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"progress still not published after {timeout:.0f} s")
                self._condition.wait(left)

    def beat(self) -> None:
        """Renew the heartbeat now (the thread does it every 20-30 s).

        Raises:
            errors.ClusterError: the Lease could not be renewed.
        """
        self._renew()

    # -- the thread ---------------------------------------------------------------------------------

    def _change(self, change: Change) -> None:
        with self._condition:
            self._pending.append(change)
            del self._pending[:-QUEUE_LIMIT]
            self._condition.notify_all()

    def _run(self) -> None:
        while True:
            with self._condition:
                while not self._closing:
                    now = time.monotonic()
                    publish = bool(self._pending) and now >= self._retry_at
                    if publish or now >= self._next_beat:
                        break
                    waits = [self._next_beat - now] + ([self._retry_at - now] if self._pending else [])
                    self._condition.wait(max(0.01, min(waits)))
                if self._closing:
                    return
                publish = bool(self._pending) and time.monotonic() >= self._retry_at
                if publish:
                    self._publishing += 1
            if publish:
                self._publish_once()
            if time.monotonic() >= self._next_beat:
                self._next_beat = time.monotonic() + self.heartbeat_seconds + random.uniform(-0.2, 0.2) * self.heartbeat_seconds
                try:
                    self._renew()
                    if not publish:
                        self._refresh()
                except errors.ClusterError as failure:
                    self._failed(failure, "your heartbeat")
                except Exception as failure:  # never the thread's end
                    self._failed(errors.ClusterError(f"{type(failure).__name__}: {failure}"), "your heartbeat")

    def _publish_once(self) -> None:
        try:
            self._publish()
        except Exception as failure:  # a cluster error, or a record no labrunner wrote: never the thread's end
            cause = failure if isinstance(failure, errors.ClusterError) else errors.ClusterError(f"{type(failure).__name__}: {failure}")
            with self._condition:
                self._publishing -= 1
                self._retry_at = time.monotonic() + min(30.0, 2.0 ** min(self._streak, 5))
                self._failures += 1
                self._streak += 1
            self._failed(cause, "your progress")
            return
        with self._condition:
            self._publishing -= 1
            self._condition.notify_all()

    def _failed(self, failure: errors.ClusterError, what: str) -> None:
        with self._condition:
            self.last_error = failure
            self.problem = f"{what} is not reaching the instructor: {failure.message}"
            self._condition.notify_all()

    def _publish(self) -> None:
        for _ in range(CONFLICT_RETRIES):
            with self._condition:
                changes = list(self._pending)
            found = self._object or self.cluster.get("configmaps", names.progress(self.learner), self.namespace)
            base = self._follow_epoch(found)
            with self._condition:
                if self._pending[: len(changes)] != changes:  # the epoch moved: the queue was dropped
                    changes = list(self._pending)
            if not changes:
                return
            now = self._clock()
            record = base
            for change in changes:
                record = change(record, now)
            body = {**found, "data": record.encode()}
            try:
                stored = self.cluster.update(body, self.namespace)
            except errors.Conflict:
                self._object = None  # someone else wrote (the instructor): read again, apply again
                continue
            except errors.ClusterError:
                self._object = None
                raise
            with self._condition:
                self._object = stored
                self._record = ProgressRecord.decode(stored.get("data"))
                del self._pending[: len(changes)]
                self.problem, self.last_error, self._streak = None, None, 0
            return
        raise errors.Conflict(f"configmap {names.progress(self.learner)} kept changing under {CONFLICT_RETRIES} attempts to write it")

    def _refresh(self) -> None:
        """Read the record again (between publishes), to see an instructor's reset."""
        found = self.cluster.get("configmaps", names.progress(self.learner), self.namespace)
        with self._condition:
            self._object = found
        self._follow_epoch(found)

    def _follow_epoch(self, found: dict[str, Any]) -> ProgressRecord:
        record = ProgressRecord.decode(found.get("data"))
        reset = False
        with self._condition:
            if self._epoch is not None and record.epoch != self._epoch:
                self._pending.clear()  # made against the record the instructor just reset
                reset = True
            self._epoch = record.epoch
            self._record = record
        if reset and self._on_reset is not None:
            self._on_reset()
        return record

    def _renew(self, *, release: bool = False) -> None:
        for _ in range(3):
            lease = self._lease or self.cluster.get("leases", names.heartbeat(self.learner), self.namespace)
            spec = dict(lease.get("spec") or {})
            moment = micro_stamp(self._clock())
            if release:
                spec.pop("holderIdentity", None)
            else:
                spec.setdefault("acquireTime", moment)
                spec.update(holderIdentity=self.learner, renewTime=moment, leaseDurationSeconds=LEASE_SECONDS)
            try:
                self._lease = self.cluster.update({**lease, "spec": spec}, self.namespace)
                return
            except errors.Conflict:
                self._lease = None
            except errors.ClusterError:
                self._lease = None
                raise
        raise errors.Conflict(f"lease {names.heartbeat(self.learner)} kept changing")


def learner_record(cluster: ClusterPort, workshop: str, learner: str) -> ProgressRecord:
    """A learner's record as the cluster holds it now (one read)."""
    found = cluster.get("configmaps", names.progress(learner), names.namespace(workshop))
    return ProgressRecord.decode(found.get("data"))


