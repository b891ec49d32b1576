"""Finding labs: which lab folders exist, in search-path order."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

LAB_FILE = "lab.yaml"


@dataclass(frozen=True, kw_only=True)
class LabEntry:
    id: str
    directory: Path


def discover(roots: Iterable[Path]) -> list[LabEntry]:
    """Every lab folder (one holding ``lab.yaml``) under ``roots``, sorted by id;
    when two roots hold the same id, the earlier root wins."""
    found: dict[str, LabEntry] = {}
    for root in roots:
        if not root.is_dir():
            continue
        for lab_file in sorted(root.glob(f"*/{LAB_FILE}")):
            lab_id = lab_file.parent.name
            found.setdefault(lab_id, LabEntry(id=lab_id, directory=lab_file.parent))
    return sorted(found.values(), key=lambda entry: entry.id)


def find(lab_id: str, roots: Iterable[Path]) -> LabEntry | None:
    return next((entry for entry in discover(roots) if entry.id == lab_id), None)
