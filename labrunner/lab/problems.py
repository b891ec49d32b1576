"""What is wrong with a lab file, said the way compilers say it.

``labs/networkpolicies/lab.yaml:41:9: steps[3].checks[0].kind: unknown check
kind 'deploymnet-ready' (did you mean 'deployment-ready'?)``: file, line and
column an editor can jump to, the field path, then what was expected.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, kw_only=True, order=True)
class Problem:
    path: Path
    line: int
    """1-based; 0 when the problem is the file as a whole (e.g. it is missing)."""
    column: int
    field: str
    """The field path, ``steps[3].checks[0].kind``; empty for file-level problems."""
    message: str

    def __str__(self) -> str:
        where = display_path(self.path)
        if self.line:
            where += f":{self.line}:{self.column}"
        return f"{where}: {self.field}: {self.message}" if self.field else f"{where}: {self.message}"

    def as_json(self) -> dict[str, object]:
        return {
            "file": display_path(self.path),
            "line": self.line,
            "column": self.column,
            "field": self.field,
            "message": self.message,
        }


class LabInvalid(Exception):
    """A lab could not be loaded; ``problems`` says every reason found, in file order."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems: tuple[Problem, ...] = tuple(sorted(set(problems)))
        super().__init__("\n".join(str(problem) for problem in self.problems))


def display_path(path: Path) -> str:
    """``path`` relative to the working directory when it lies below it."""
    try:
        return os.path.relpath(path) if path.is_absolute() and _below_cwd(path) else str(path)
    except ValueError:  # another drive on Windows
        return str(path)


def _below_cwd(path: Path) -> bool:
    try:
        path.relative_to(Path.cwd())
    except ValueError:
        return False
    return True


def did_you_mean(word: str, choices: Sequence[str]) -> str:
    """`` (did you mean 'x'?)`` for the closest choice, or an empty string."""
    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""
