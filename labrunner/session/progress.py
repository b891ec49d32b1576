"""Each step's last check result, per lab and cluster context, in the state directory.

SQLite rather than a JSON file: every write is one transaction, so a learner's
progress survives ``kill -9`` at any moment, and the TUI and a ``labrunner check``
in another terminal can write at once (WAL, with a busy timeout) without losing
each other's results.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_SCHEMA = """
CREATE TABLE IF NOT EXISTS results (
    lab TEXT NOT NULL, context TEXT NOT NULL, step TEXT NOT NULL,
    status TEXT NOT NULL, checked_at REAL NOT NULL, checks TEXT NOT NULL,
    PRIMARY KEY (lab, context, step));
CREATE TABLE IF NOT EXISTS position (
    lab TEXT NOT NULL, context TEXT NOT NULL, step TEXT NOT NULL,
    PRIMARY KEY (lab, context));
CREATE TABLE IF NOT EXISTS hints (
    lab TEXT NOT NULL, context TEXT NOT NULL, step TEXT NOT NULL, shown INTEGER NOT NULL,
    PRIMARY KEY (lab, context, step));
"""


@dataclass(frozen=True)
class StepRecord:
    step: str
    status: str
    checked_at: float
    checks: tuple[dict[str, Any], ...]


class Progress:
    """The progress store; one per state directory. Cheap to open, safe to share."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        # One connection shared by the TUI's threads (a watch re-checks in the background), serialised by a lock.
        self._db = sqlite3.connect(path, timeout=10, isolation_level=None, check_same_thread=False)
        self._lock = threading.RLock()
        self._prepare()

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
        self._db.executescript(_SCHEMA)

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

    def record(self, lab: str, context: str, step: str, status: str, checks: Iterable[dict[str, Any]]) -> None:
        self._execute("INSERT OR REPLACE INTO results VALUES (?, ?, ?, ?, ?, ?)",
                      (lab, context, step, status, time.time(), json.dumps(list(checks), ensure_ascii=False)))

    def results(self, lab: str, context: str) -> dict[str, StepRecord]:
        rows = self._execute("SELECT step, status, checked_at, checks FROM results WHERE lab = ? AND context = ?", (lab, context))
        return {step: StepRecord(step, status, at, tuple(json.loads(checks))) for step, status, at, checks in rows}

    def move_to(self, lab: str, context: str, step: str) -> None:
        """The learner is now on ``step`` (a jump, or the Session moving on after a pass)."""
        self._execute("INSERT OR REPLACE INTO position VALUES (?, ?, ?)", (lab, context, step))

    def current_step(self, lab: str, context: str, steps: Sequence[str]) -> str:
        """The step the learner is on: where they last moved to (a passed step too: they
        went back to redo it), else the first step whose last result is not a pass.
        When every step has passed, the last one."""
        row = self._execute("SELECT step FROM position WHERE lab = ? AND context = ?", (lab, context))
        if row and row[0][0] in steps:
            return str(row[0][0])
        results = self.results(lab, context)
        return next((step for step in steps if step not in results or results[step].status != "passed"), steps[-1])

    def hints_shown(self, lab: str, context: str, step: str) -> int:
        row = self._execute("SELECT shown FROM hints WHERE lab = ? AND context = ? AND step = ?", (lab, context, step))
        row = row[0] if row else None
        return int(row[0]) if row else 0

    def show_hints(self, lab: str, context: str, step: str, shown: int) -> None:
        """The learner has now seen the first ``shown`` hints of ``step`` (it never goes down)."""
        self._execute("INSERT INTO hints VALUES (?, ?, ?, ?) ON CONFLICT (lab, context, step) "
                      "DO UPDATE SET shown = max(shown, excluded.shown)", (lab, context, step, shown))

    def forget(self, lab: str, context: str, steps: Iterable[str] | None = None) -> None:
        """Drop results (all of the lab's on this context, or only ``steps``'), as after a reset."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")  # all or nothing: autocommit mode would commit each DELETE
            try:
                if steps is None:
                    for table in ("results", "position", "hints"):
                        self._db.execute(f"DELETE FROM {table} WHERE lab = ? AND context = ?", (lab, context))
                else:
                    self._db.executemany("DELETE FROM results WHERE lab = ? AND context = ? AND step = ?",
                                         [(lab, context, step) for step in steps])
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")
