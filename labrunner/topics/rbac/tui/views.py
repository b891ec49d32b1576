"""The rbac topic's view as the workspace opens it: ``access(session, check) -> Screen``."""

from __future__ import annotations

from typing import Any

from textual.screen import Screen

from labrunner.lab.model import Check
from labrunner.session.session import Session


def access(session: Session, check: Check) -> Screen[Any]:
    """Who may do what: the subjects and resources of the check's step, in its namespace."""
    from labrunner.topics.rbac.grid import build_grid, wanted
    from labrunner.topics.rbac.reading import read_policies
    from labrunner.topics.rbac.tui.access import AccessScreen

    cluster = session.cluster
    named = check.args.get("namespace")
    namespace = named if isinstance(named, str) and named else ""
    step = session.lab.step_of(check)
    subjects, resources = wanted([dict(c.args) for c in (step.checks if step else (check,))])

    def load() -> Any:
        policies, unreadable = read_policies(cluster, namespace or None)
        if policies is None:
            raise RuntimeError(unreadable)
        return build_grid(policies, namespace, subjects, resources)

    title = f"Step {step.number}: {step.title}" if step else ""
    return AccessScreen(namespace, load, title=title)
