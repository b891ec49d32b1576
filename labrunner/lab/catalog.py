"""Finding labs: which lab folders exist, in search-path order."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
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
        for lab_dir in _lab_dirs(root):
            found.setdefault(lab_dir.name, LabEntry(id=lab_dir.name, directory=lab_dir))
    return sorted(found.values(), key=lambda entry: entry.id)


def _lab_dirs(root: Path) -> Iterator[Path]:
    """Folders of ``root`` with a ``lab.yaml``, even one that cannot be read (a symlink
    loop, a folder): the loader then says what is wrong, rather than the lab vanishing."""
    try:
        children = sorted(root.iterdir())
    except OSError:  # missing or unreadable: no labs here
        return
    for child in children:
        if os.path.lexists(child / LAB_FILE):
            yield child


def find(lab_id: str, roots: Iterable[Path]) -> LabEntry | None:
    return next((entry for entry in discover(roots) if entry.id == lab_id), None)
