"""The topic's views as the workspace opens them: ``factory(session, check) -> Screen``.

The registry names these by ``module:function`` (see the topic's ``TOPIC.views``), so
nothing outside the TUI imports Textual through them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from textual.screen import Screen

from labrunner.lab.model import Check
from labrunner.session.session import Session


def reach(session: Session, check: Check) -> Screen[Any]:
    """Who can reach whom in the namespace the check is about (the lab's own by default)."""
    from labrunner.topics.networkpolicy.tui.reach import ReachScreen

    cluster = session.cluster
    named = check.args.get("namespace")
    namespace = named if isinstance(named, str) and named else session.lab.namespace or cluster.info.namespace
    step = session.lab.step_of(check)

    def load() -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
        return cluster.list("namespaces"), cluster.list("pods"), cluster.list("networkpolicies")

    title = f"Step {step.number}: {step.title}" if step else ""
    return ReachScreen(namespace, load, title=title)


def lint(session: Session, check: Check) -> Screen[Any]:
    """The learner's own policy file, where the check says it is (relative to where labrunner runs)."""
    from labrunner.topics.networkpolicy.tui.lint import LintScreen

    path = Path(str(check.args["file"])).expanduser()
    return LintScreen(path if path.is_absolute() else Path.cwd() / path)
