"""Namespaces: there, gone, labelled."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from labrunner.cluster import errors
from labrunner.lab.check_args import CheckArgs
from labrunner.lab.fields import KubeName, LabelKey, Labels
from labrunner.registry.types import CheckContext, CheckKind, Outcome


class NamespaceActive(CheckArgs):
    """The namespace exists and is Active (not Terminating)."""

    kind: Literal["namespace-active"]
    name: KubeName


class NamespaceAbsent(CheckArgs):
    """The namespace no longer exists (deleted, not merely Terminating)."""

    kind: Literal["namespace-absent"]
    name: KubeName


class NamespaceLabels(CheckArgs):
    """The namespace carries ``present`` labels and lacks the ``absent`` keys."""

    kind: Literal["namespace-labels"]
    name: KubeName
    present: Labels = Field(default_factory=dict)
    absent: list[LabelKey] = Field(default_factory=list)

    @model_validator(mode="after")
    def _asks_something(self) -> NamespaceLabels:
        if not self.present and not self.absent:
            raise ValueError("give 'present' labels, 'absent' keys, or both")
        return self


def namespace_active(args: NamespaceActive, context: CheckContext) -> Outcome:
    cluster = context.cluster
    try:
        namespace = cluster.get("namespaces", args.name)
    except errors.NotFound:
        return "failed", context.near_object("namespaces", args.name, None) or f"namespace {args.name} does not exist", []
    phase = (namespace.get("status") or {}).get("phase", "Active")
    if phase != "Active":
        return "failed", f"namespace {args.name} is {phase}", ["a Terminating namespace disappears shortly; create it again after"]
    return "passed", f"namespace {args.name} is Active", []


def namespace_absent(args: NamespaceAbsent, context: CheckContext) -> Outcome:
    try:
        namespace = context.cluster.get("namespaces", args.name)
    except errors.NotFound:
        return "passed", f"namespace {args.name} is gone", []
    if (namespace.get("status") or {}).get("phase") == "Terminating":
        return "pending", f"namespace {args.name} is Terminating", []
    return "failed", f"namespace {args.name} still exists", []


def namespace_labels(args: NamespaceLabels, context: CheckContext) -> Outcome:
    try:
        labels = context.cluster.get("namespaces", args.name)["metadata"].get("labels") or {}
    except errors.NotFound:
        return "failed", context.near_object("namespaces", args.name, None) or f"namespace {args.name} does not exist", []
    wrong = [f"{k}={v} (it has {k}={labels[k]})" if k in labels else f"{k}={v}" for k, v in args.present.items() if labels.get(k) != v]
    extra = [f"{k}={labels[k]}" for k in args.absent if k in labels]
    problems = ([f"missing label {', '.join(wrong)}"] if wrong else []) + ([f"still labelled {', '.join(extra)}"] if extra else [])
    if problems:
        return "failed", f"namespace {args.name}: " + "; ".join(problems), []
    return "passed", f"namespace {args.name} is labelled as it should be", []


KINDS = (
    CheckKind(model=NamespaceActive, run=namespace_active, watches=("namespaces",), prerequisite=True),
    CheckKind(model=NamespaceAbsent, run=namespace_absent, watches=("namespaces",), expects=lambda args: ()),
    CheckKind(model=NamespaceLabels, run=namespace_labels, watches=("namespaces",), prerequisite=True),
)
