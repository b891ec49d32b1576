"""Progress as a protocol: what a learner has done in a lab, wherever it is kept.

A :class:`ProgressKey` names one run of a lab: the lab instance (its parameters), the
cluster context, the learner and the attempt. A :class:`ProgressStore` keeps, per key,
each step's last result, where the learner is, and how many hints they have seen. The
local SQLite store (:class:`Progress`) is the first implementation; an exam attempt's
record and a workshop's in-cluster record are others, and :class:`FanOut` writes to
several at once (in the manner of kopf's ``MultiProgressStorage``) while reading from
the first.

SQLite rather than a JSON file: every write is one transaction, so a learner's
progress survives ``kill -9`` at any moment, and the TUI and a ``labrunner check``
in another terminal can write at once (WAL, with a busy timeout) without losing
each other's results. :meth:`Progress.version` changes whenever anyone has written,
so a face can follow what another process recorded.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol


@dataclass(frozen=True)
class ProgressKey:
    lab: str
    """The lab instance: ``networkpolicies``, or ``networkpolicies[namespace=alice-np]``."""
    context: str
    """The cluster context the lab runs on."""
    learner: str = ""
    """Who: empty for the person at this terminal; a workshop learner's name otherwise."""
    attempt: str = ""
    """Which attempt: empty for practice; an exam attempt's id otherwise."""


@dataclass(frozen=True)
class StepRecord:
    step: str
    status: str
    checked_at: float
    checks: tuple[dict[str, Any], ...]


class ProgressStore(Protocol):
    """Where progress is kept. Every method is safe to call from several threads."""

    def record(self, key: ProgressKey, step: str, status: str, checks: Iterable[dict[str, Any]]) -> None: ...

    def results(self, key: ProgressKey) -> dict[str, StepRecord]: ...

    def move_to(self, key: ProgressKey, step: str) -> None:
        """The learner is now on ``step`` (a jump, or moving on after a pass)."""
        ...

    def position(self, key: ProgressKey) -> str | None:
        """Where the learner last moved to, if anywhere."""
        ...

    def hints_shown(self, key: ProgressKey, step: str) -> int: ...

    def show_hints(self, key: ProgressKey, step: str, shown: int) -> None:
        """The learner has now seen the first ``shown`` hints of ``step`` (it never goes down)."""
        ...

    def mark_set_up(self, key: ProgressKey, step: str) -> None:
        """The step's setup ran on the cluster: the learner's starting state is there."""
        ...

    def set_up_steps(self, key: ProgressKey) -> set[str]:
        """The steps whose setup has run (and not been undone by a reset since)."""
        ...

    def forget(self, key: ProgressKey, steps: Iterable[str] | None = None) -> None:
        """Drop results (all of the key's, position, hints and setups included, or only
        ``steps``' results and setups)."""
        ...

    def version(self) -> Hashable:
        """Changes whenever another writer (another process, another connection) wrote; this
        store's own writes do not move it. A face polls it to follow progress made elsewhere
        (``labrunner solve`` in another terminal) without re-reading after its own writes."""
        ...

    def close(self) -> None: ...


def current_step(store: ProgressStore, key: ProgressKey, steps: Sequence[str]) -> str:
    """The step the learner is on: where they last moved to (a passed step too: they
    went back to redo it), else the first step whose last result is not a pass.
    When every step has passed, the last one."""
    moved = store.position(key)
    if moved in steps:
        return str(moved)
    results = store.results(key)
    return next((step for step in steps if step not in results or results[step].status != "passed"), steps[-1])


_SCHEMA = """
CREATE TABLE IF NOT EXISTS results (
    lab TEXT NOT NULL, context TEXT NOT NULL, learner TEXT NOT NULL DEFAULT '', attempt TEXT NOT NULL DEFAULT '',
    step TEXT NOT NULL, status TEXT NOT NULL, checked_at REAL NOT NULL, checks TEXT NOT NULL,
    PRIMARY KEY (lab, context, learner, attempt, step));
CREATE TABLE IF NOT EXISTS position (
    lab TEXT NOT NULL, context TEXT NOT NULL, learner TEXT NOT NULL DEFAULT '', attempt TEXT NOT NULL DEFAULT '',
    step TEXT NOT NULL,
    PRIMARY KEY (lab, context, learner, attempt));
CREATE TABLE IF NOT EXISTS hints (
    lab TEXT NOT NULL, context TEXT NOT NULL, learner TEXT NOT NULL DEFAULT '', attempt TEXT NOT NULL DEFAULT '',
    step TEXT NOT NULL, shown INTEGER NOT NULL,
    PRIMARY KEY (lab, context, learner, attempt, step));
CREATE TABLE IF NOT EXISTS setups (
    lab TEXT NOT NULL, context TEXT NOT NULL, learner TEXT NOT NULL DEFAULT '', attempt TEXT NOT NULL DEFAULT '',
    step TEXT NOT NULL, set_up_at REAL NOT NULL,
    PRIMARY KEY (lab, context, learner, attempt, step));
"""

_WHERE = "lab = ? AND context = ? AND learner = ? AND attempt = ?"


def _k(key: ProgressKey) -> tuple[str, str, str, str]:
    return key.lab, key.context, key.learner, key.attempt


def _copy(source: sqlite3.Connection | None, target: sqlite3.Connection) -> bool:
    """Copy what ``source`` holds into ``target``; False when there is nothing readable there."""
    if source is None:
        return False
    try:
        source.backup(target)
    except sqlite3.Error:
        return False
    return True


class Progress:
    """The local progress store; one per state directory. Cheap to open, safe to share."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.RLock()
        self.problem: str | None = None
        """Why progress is not being saved, or was lost, in words for the learner (None when all is well)."""
        try:
            self._open(path)
        except sqlite3.OperationalError as refused:  # a read-only folder, a full disk, a path that cannot be a file
            self._keep_in_memory(refused)
        except sqlite3.DatabaseError as damaged:  # not a database, or a malformed one
            aside = path.with_name(f"{path.name}.damaged-{time.strftime('%Y%m%dT%H%M%S')}")
            self._db.close()
            for suffix in ("", "-wal", "-shm"):
                source = path.with_name(path.name + suffix)
                if source.exists():
                    source.replace(aside.with_name(aside.name + suffix))
            self.problem = f"your progress file {path} was damaged ({damaged}); it is kept as {aside.name} and your progress starts afresh"
            self._open(path)
        except OSError as refused:
            self._keep_in_memory(refused)

    def _open(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        # The owner's alone, as SQLite then makes its -wal and -shm: progress says who
        # did which lab on which cluster.
        os.close(os.open(path, os.O_RDWR | os.O_CREAT, 0o600))
        if path.stat().st_mode & 0o077:
            path.chmod(0o600)
        # One connection shared by the TUI's threads (a watch re-checks in the background), serialised by a lock.
        self._db = sqlite3.connect(path, timeout=10, isolation_level=None, check_same_thread=False)
        self._prepare()
        verdict = self._db.execute("PRAGMA quick_check").fetchone()[0]
        if verdict != "ok":
            raise sqlite3.DatabaseError(f"database disk image is malformed: {verdict}")

    def _keep_in_memory(self, refused: Exception) -> None:
        """Go on without saving: what the file held (if it can be read) and this run's
        progress, in memory. Checks still answer; the faces say progress is not saved."""
        reason = getattr(refused, "strerror", None) or str(refused)
        with self._lock:
            memory = sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False)
            previous: sqlite3.Connection | None = getattr(self, "_db", None)
            if not _copy(previous, memory):  # the open connection first: it sees what the WAL holds
                try:
                    readable = sqlite3.connect(f"file:{self.path}?mode=ro&immutable=1", uri=True)
                except sqlite3.Error:
                    readable = None
                _copy(readable, memory)
                if readable is not None:
                    readable.close()
            if previous is not None:
                previous.close()
            self._db = memory
            self._prepare()
        self.problem = (f"your progress is not being saved: {self.path}: {reason}. Checks still run; to keep progress, "
                        f"make {self.path.parent} writable (or free some space), or set LABRUNNER_STATE_DIR to a folder you can write")

    def _prepare(self) -> None:
        # Switching a new file to WAL takes an exclusive lock and SQLite does not
        # call the busy handler for it: two processes opening a fresh store at the
        # same moment make one fail with "database is locked". Retry that one
        # step; once the file is in WAL mode the switch is a no-op.
        deadline = time.monotonic() + 10
        while True:
            try:
                self._db.execute("PRAGMA journal_mode=WAL")
                break
            except sqlite3.OperationalError as error:
                if "locked" not in str(error) or time.monotonic() > deadline:
                    raise
                time.sleep(0.02)
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._upgrade()
        self._db.executescript(_SCHEMA)

    def _upgrade(self) -> None:
        """A store written before learners and attempts existed: keep its rows, as the local learner's practice."""
        columns = {row[1] for row in self._db.execute("PRAGMA table_info(results)")}
        if not columns or "learner" in columns:
            return
        self._db.execute("BEGIN IMMEDIATE")
        try:
            for table in ("results", "position", "hints"):
                self._db.execute(f"ALTER TABLE {table} RENAME TO old_{table}")
            for statement in filter(str.strip, _SCHEMA.split(";")):  # executescript would commit the transaction
                self._db.execute(statement)
            self._db.execute("INSERT INTO results (lab, context, step, status, checked_at, checks) "
                             "SELECT lab, context, step, status, checked_at, checks FROM old_results")
            self._db.execute("INSERT INTO position (lab, context, step) SELECT lab, context, step FROM old_position")
            self._db.execute("INSERT INTO hints (lab, context, step, shown) SELECT lab, context, step, shown FROM old_hints")
            for table in ("results", "position", "hints"):
                self._db.execute(f"DROP TABLE old_{table}")
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    @classmethod
    def default(cls) -> Progress:
        from labrunner.paths import state_dir

        return cls(state_dir() / "progress.sqlite3")

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def _execute(self, sql: str, parameters: Sequence[Any] = ()) -> list[Any]:
        with self._lock:
            return self._db.execute(sql, parameters).fetchall()

    def _write(self, sql: str, parameters: Sequence[Any] = ()) -> None:
        with self._lock:
            try:
                self._db.execute(sql, parameters)
            except sqlite3.OperationalError as refused:
                if "locked" in str(refused):
                    raise
                self._keep_in_memory(refused)  # the disk filled up, the file became read-only: go on, say so
                self._db.execute(sql, parameters)

    def version(self) -> Hashable:
        # data_version changes when another connection (another process) commits, and
        # not on this connection's own commits: exactly "written elsewhere".
        with self._lock:
            return int(self._db.execute("PRAGMA data_version").fetchone()[0])

    def record(self, key: ProgressKey, step: str, status: str, checks: Iterable[dict[str, Any]]) -> None:
        self._write("INSERT OR REPLACE INTO results VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (*_k(key), step, status, time.time(), json.dumps(list(checks), ensure_ascii=False)))

    def results(self, key: ProgressKey) -> dict[str, StepRecord]:
        rows = self._execute(f"SELECT step, status, checked_at, checks FROM results WHERE {_WHERE}", _k(key))
        return {step: StepRecord(step, status, at, tuple(json.loads(checks))) for step, status, at, checks in rows}

    def move_to(self, key: ProgressKey, step: str) -> None:
        self._write("INSERT OR REPLACE INTO position VALUES (?, ?, ?, ?, ?)", (*_k(key), step))

    def position(self, key: ProgressKey) -> str | None:
        row = self._execute(f"SELECT step FROM position WHERE {_WHERE}", _k(key))
        return str(row[0][0]) if row else None

    def current_step(self, key: ProgressKey, steps: Sequence[str]) -> str:
        return current_step(self, key, steps)

    def hints_shown(self, key: ProgressKey, step: str) -> int:
        row = self._execute(f"SELECT shown FROM hints WHERE {_WHERE} AND step = ?", (*_k(key), step))
        return int(row[0][0]) if row else 0

    def show_hints(self, key: ProgressKey, step: str, shown: int) -> None:
        self._write("INSERT INTO hints VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (lab, context, learner, attempt, step) "
                    "DO UPDATE SET shown = max(shown, excluded.shown)", (*_k(key), step, shown))

    def mark_set_up(self, key: ProgressKey, step: str) -> None:
        self._write("INSERT OR REPLACE INTO setups VALUES (?, ?, ?, ?, ?, ?)", (*_k(key), step, time.time()))

    def set_up_steps(self, key: ProgressKey) -> set[str]:
        return {str(row[0]) for row in self._execute(f"SELECT step FROM setups WHERE {_WHERE}", _k(key))}

    def forget(self, key: ProgressKey, steps: Iterable[str] | None = None) -> None:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")  # all or nothing: autocommit mode would commit each DELETE
            try:
                if steps is None:
                    for table in ("results", "position", "hints", "setups"):
                        self._db.execute(f"DELETE FROM {table} WHERE {_WHERE}", _k(key))
                else:
                    steps = list(steps)
                    for table in ("results", "setups"):
                        self._db.executemany(f"DELETE FROM {table} WHERE {_WHERE} AND step = ?",
                                             [(*_k(key), step) for step in steps])
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")


class FanOut:
    """Writes to every store, reads from the first: the local record stays the learner's
    own while a workshop's or an exam's store receives the same results."""

    def __init__(self, primary: ProgressStore, *others: ProgressStore) -> None:
        self.stores = (primary, *others)
        self.primary = primary

    def record(self, key: ProgressKey, step: str, status: str, checks: Iterable[dict[str, Any]]) -> None:
        checks = list(checks)
        for store in self.stores:
            store.record(key, step, status, checks)

    def results(self, key: ProgressKey) -> dict[str, StepRecord]:
        return self.primary.results(key)

    def move_to(self, key: ProgressKey, step: str) -> None:
        for store in self.stores:
            store.move_to(key, step)

    def position(self, key: ProgressKey) -> str | None:
        return self.primary.position(key)

    def current_step(self, key: ProgressKey, steps: Sequence[str]) -> str:
        return current_step(self, key, steps)

    def hints_shown(self, key: ProgressKey, step: str) -> int:
        return self.primary.hints_shown(key, step)

    def show_hints(self, key: ProgressKey, step: str, shown: int) -> None:
        for store in self.stores:
            store.show_hints(key, step, shown)

    def mark_set_up(self, key: ProgressKey, step: str) -> None:
        for store in self.stores:
            store.mark_set_up(key, step)

    def set_up_steps(self, key: ProgressKey) -> set[str]:
        return self.primary.set_up_steps(key)

    def forget(self, key: ProgressKey, steps: Iterable[str] | None = None) -> None:
        steps = None if steps is None else list(steps)
        for store in self.stores:
            store.forget(key, steps)

    def version(self) -> Hashable:
        return tuple(store.version() for store in self.stores)

    def close(self) -> None:
        for store in self.stores:
            store.close()
