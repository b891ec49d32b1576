"""What every check declaration in lab.yaml has, whatever its kind.

A topic's check kinds subclass :class:`CheckArgs` with their ``kind`` tag (a
``Literal``) and their own arguments. The models are strict: unknown keys are
refused, so a typo in a lab file is an error with a line number, not a check that
silently tests nothing.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from labrunner.lab.fields import KubeName, NonEmptyStr


class CheckArgs(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid", frozen=True, use_attribute_docstrings=True)

    says: NonEmptyStr
    """The sentence the learner reads, phrased as the state that should hold:
    "mysql has 1 ready replica"."""

    id: KubeName | None = None
    """A stable name for the check (exam scoring, JSON output). Defaults to
    ``<step-id>.<kind>`` plus a number when a step has several of one kind."""

    advisory: bool = False
    """An advisory check informs (a warning) but never blocks the step."""


COMMON_FIELDS = frozenset(CheckArgs.model_fields) | {"kind"}
"""The fields that are not a kind's own arguments."""
