"""What the troubleshooting kinds share: objects looked up without an exception for a missing
one, namesakes in other namespaces, and a file the learner wrote on their own disk."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from labrunner.cluster import errors
from labrunner.cluster.port import ClusterPort
from labrunner.lab.problems import display_path

Obj = dict[str, Any]

MAX_FILE = 1 << 20
"""A learner's answer file is read up to this many bytes (a log or a pod name is far less)."""

TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:\d\d) ")
"""The RFC 3339 prefix ``kubectl logs --timestamps`` puts before each line."""


def find(cluster: ClusterPort, plural: str, name: str, namespace: str | None) -> Obj | None:
    try:
        return cluster.get(plural, name, namespace)
    except errors.NotFound:
        return None


def elsewhere(cluster: ClusterPort, plural: str, name: str, namespace: str) -> list[str]:
    """The other namespaces holding an object of this name (a fix made in the wrong one)."""
    try:
        found = cluster.list(plural, None, fields=f"metadata.name={name}")
    except errors.ClusterError:
        return []
    return sorted(str(o["metadata"].get("namespace")) for o in found if o["metadata"].get("namespace") != namespace)


def matches(labels: Mapping[str, Any] | None, selector: Mapping[str, Any]) -> bool:
    labels = labels or {}
    return all(labels.get(key) == value for key, value in selector.items())


@dataclass(frozen=True)
class LearnerFile:
    """A file the step asked the learner to write, as read now."""

    path: Path
    shown: str
    """The path as the learner typed it (``~/lab/x.log``, ``x.log``); an absolute path below the
    working directory, relative to it."""
    text: str | None
    """None when it cannot be read; ``problem`` says why."""
    problem: str = ""

    @property
    def lines(self) -> list[str]:
        return (self.text or "").splitlines()


def read_learner_file(name: str) -> LearnerFile:
    """The file ``name`` (``~`` expanded, relative paths from where labrunner runs)."""
    path = Path(name).expanduser()
    shown = display_path(path) if Path(name).is_absolute() else name
    if not path.exists():
        return LearnerFile(path, shown, None, f"there is no file {shown} yet")
    if not path.is_file():
        return LearnerFile(path, shown, None, f"{shown} is not a file")
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_FILE + 1)
    except OSError as error:
        return LearnerFile(path, shown, None, f"{shown} cannot be read: {error.strerror or error}")
    if len(data) > MAX_FILE:
        return LearnerFile(path, shown, None, f"{shown} is over 1 MiB: that is more than this step asked to save")
    return LearnerFile(path, shown, data.decode("utf-8", errors="replace"))


def without_timestamp(line: str) -> str:
    """A log line as saved with or without ``kubectl logs --timestamps``."""
    return TIMESTAMP.sub("", line, count=1)


def quoted(line: str, limit: int = 80) -> str:
    return repr(line if len(line) <= limit else line[: limit - 3] + "...")
