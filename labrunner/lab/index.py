"""A cache of lab summaries, so ``labrunner list`` need not validate every lab,
and import pydantic, on every run (validation costs ~200 ms, start-up is a feature).

An entry is valid while nothing it was computed from has changed: every file in
the lab's folder and its assets folder (path, size, mtime), the modules of
``labrunner.lab`` that define validity, and labrunner's version. The cache is
only ever an optimisation: an unreadable or unwritable cache is ignored.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from labrunner import __version__

_LAB_PACKAGE = Path(__file__).resolve().parent


def _stat_lines(files: Iterable[Path]) -> Iterable[str]:
    for path in sorted(files):
        try:
            stat = path.stat()
        except OSError:
            continue
        yield f"{path}\0{stat.st_size}\0{stat.st_mtime_ns}"


def signature(lab_dir: Path) -> str:
    """What a cached summary of ``lab_dir`` depends on, as a digest."""
    assets = lab_dir.parent.parent / "assets" / lab_dir.name
    files = [p for folder in (lab_dir, assets) if folder.is_dir() for p in folder.rglob("*") if p.is_file()]
    digest = hashlib.sha256(__version__.encode())
    for line in _stat_lines([*files, *_LAB_PACKAGE.glob("*.py")]):
        digest.update(line.encode("utf-8", "surrogateescape"))
    return digest.hexdigest()


class LabIndex:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.entries: dict[str, dict[str, Any]] = {}
        self.changed = False
        try:
            loaded = json.loads(path.read_text(encoding="utf-8"))
            if isinstance(loaded, dict) and isinstance(loaded.get("entries"), dict):
                self.entries = loaded["entries"]
        except (OSError, ValueError):
            pass

    def get(self, lab_dir: Path, digest: str) -> dict[str, Any] | None:
        entry = self.entries.get(str(lab_dir))
        if isinstance(entry, dict) and entry.get("signature") == digest:
            summary = entry.get("summary")
            return summary if isinstance(summary, dict) else None
        return None

    def put(self, lab_dir: Path, digest: str, summary: dict[str, Any]) -> None:
        self.entries[str(lab_dir)] = {"signature": digest, "summary": summary}
        self.changed = True

    def save(self) -> None:
        """Write atomically (a temporary file renamed over the old one)."""
        if not self.changed:
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            descriptor, temporary = tempfile.mkstemp(dir=self.path.parent, prefix=".lab-index.", suffix=".tmp")
            with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
                json.dump({"entries": self.entries}, handle)
            os.replace(temporary, self.path)
        except OSError:
            pass
