"""Everything the headless CLI writes to stderr, and the code it exits with.

stdout carries data only (tables, Markdown, JSON) so that scripts, graders and
screen readers get exactly what they asked for; diagnostics go to stderr as one
plain line each, ``labrunner: error: ...``, with no colour or panels.
"""

from __future__ import annotations

import sys
from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    FAILED = 1
    """The answer is "no": a lab file is invalid, a check failed."""
    USAGE = 2
    """The question was wrong: bad arguments, an unknown lab or step."""
    FAILED_TO_CHECK = 2
    """``labrunner check``: the checks could not tell (graders' contract: 0 passed, 1 failed, 2 could not check)."""
    UNAVAILABLE = 3
    """No answer could be had: cluster unreachable, credentials expired."""
    INTERRUPTED = 130


class CliError(Exception):
    """A failure the user can act on; ``main`` prints it and exits with ``code``."""

    def __init__(self, message: str, code: ExitCode = ExitCode.USAGE, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.hint = hint


def error(message: str, hint: str | None = None) -> None:
    print(f"labrunner: error: {message}", file=sys.stderr)
    if hint:
        print(f"labrunner: hint: {hint}", file=sys.stderr)


def warn(message: str) -> None:
    print(f"labrunner: warning: {message}", file=sys.stderr)
