"""Who may do what on a step's resources: subjects x verbs, each cell decided and explained by
the engine (the TUI's "Who may do what" view draws it; nothing here knows of Textual)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from labrunner.topics.rbac.evaluate import decide
from labrunner.topics.rbac.model import SERVICE_ACCOUNT_PREFIX, Attributes, Policies
from labrunner.topics.rbac.subjects import SubjectArgs

VERBS = ("get", "list", "watch", "create", "update", "patch", "delete")
DEFAULT_RESOURCES = ("pods", "deployments.apps", "secrets")


@dataclass(frozen=True)
class Row:
    key: str
    subject: SubjectArgs
    resource: str
    """``pods``, ``deployments.apps/scale``."""

    @property
    def label(self) -> str:
        return f"{self.subject.describe()} · {self.resource}"


@dataclass(frozen=True)
class Grid:
    namespace: str
    rows: tuple[Row, ...]
    cells: Mapping[tuple[str, str], tuple[bool, tuple[str, ...]]]
    """(row key, verb) -> (allowed, the engine's explanation)."""

    def explain(self, row_key: str, verb: str) -> list[str]:
        row = next(row for row in self.rows if row.key == row_key)
        allowed, lines = self.cells[(row_key, verb)]
        where = f" in {self.namespace}" if self.namespace else " cluster-wide"
        head = f"{'✓' if allowed else '✗'} {row.subject.describe()} {'may' if allowed else 'may not'} {verb} {row.resource}{where}"
        return [head, *lines]


def _attributes(verb: str, resource: str, namespace: str) -> Attributes:
    reference, _, subresource = resource.partition("/")
    plural, _, group = reference.partition(".")
    return Attributes(verb=verb, api_group=group, resource=plural, subresource=subresource, namespace=namespace)


def subject_from(raw: Any) -> SubjectArgs | None:
    try:
        return SubjectArgs.model_validate(dict(raw)) if isinstance(raw, Mapping) else None
    except ValueError:
        return None


def wanted(checks: Iterable[Mapping[str, Any]]) -> tuple[list[SubjectArgs], list[str]]:
    """The subjects and resources a step's checks ask about (``access`` and ``rbac-grants``)."""
    subjects: list[SubjectArgs] = []
    resources: list[str] = []
    for args in checks:
        subject = subject_from(args.get("subject"))
        if subject is not None and subject not in subjects:
            subjects.append(subject)
        if isinstance(args.get("resource"), str):
            resources.append(args["resource"])
        for rule in args.get("rules") or ():
            if isinstance(rule, Mapping):
                groups = rule.get("apiGroups") or rule.get("api_groups") or [""]
                for resource in rule.get("resources") or ():
                    if "*" not in resource and "*" not in groups:
                        plural, _, sub = str(resource).partition("/")
                        resources.append(f"{plural}.{groups[0]}" + (f"/{sub}" if sub else "") if groups[0] else str(resource))
    return subjects, list(dict.fromkeys(resources))


def bound_subjects(policies: Policies, namespace: str) -> list[SubjectArgs]:
    """Users, groups and service accounts the namespace's RoleBindings name (system groups left out)."""
    found: list[SubjectArgs] = []
    for binding in policies.bindings:
        if binding.kind != "RoleBinding" or binding.namespace != namespace:
            continue
        for subject in binding.subjects:
            if subject.kind == "ServiceAccount":
                found.append(SubjectArgs(serviceaccount=f"{subject.namespace or namespace}:{subject.name}"))
            elif subject.kind == "User" and subject.name.startswith(SERVICE_ACCOUNT_PREFIX) and subject.name.count(":") == 3:
                found.append(SubjectArgs(serviceaccount=subject.name[len(SERVICE_ACCOUNT_PREFIX):]))
            elif subject.kind == "User":
                found.append(SubjectArgs(user=subject.name))
            elif not subject.name.startswith("system:"):
                found.append(SubjectArgs(groups=[subject.name]))
    return found


def build_grid(policies: Policies, namespace: str, subjects: Sequence[SubjectArgs], resources: Sequence[str]) -> Grid:
    everyone = list({subject.describe(): subject for subject in [*subjects, *bound_subjects(policies, namespace)]}.values())
    rows = tuple(Row(key=f"{index}", subject=subject, resource=resource)
                 for index, (subject, resource) in enumerate((s, r) for s in everyone for r in (resources or DEFAULT_RESOURCES)))
    cells: dict[tuple[str, str], tuple[bool, tuple[str, ...]]] = {}
    for row in rows:
        user, groups = row.subject.identity()
        for verb in VERBS:
            verdict = decide(policies, user, groups, _attributes(verb, row.resource, namespace))
            cells[(row.key, verb)] = (verdict.allowed, tuple(verdict.explain()[1:] if not verdict.allowed else
                                                             [verdict.explain()[0].removeprefix("allowed: ")]))
    return Grid(namespace=namespace, rows=rows, cells=cells)
