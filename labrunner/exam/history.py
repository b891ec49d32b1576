"""What a candidate's attempts say: scores over time, per domain, and where to practise.

Only scored attempts count towards the domains: one where a solution was revealed is
practice, listed but left out of the trend.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from labrunner.exam.attempts import Attempt
from labrunner.lab.domains import DOMAINS

WEAKEST = 2
"""How many domains the history names as the ones to practise."""


def summarize(attempts: Sequence[Attempt], labs_by_domain: dict[str, list[str]] | None = None) -> dict[str, Any]:
    rows = []
    for attempt in attempts:
        result = attempt.result or {}
        rows.append({"attempt": attempt.attempt, "created": attempt.created, "tasks": len(attempt.tasks),
                     "submitted": attempt.result is not None, "practice": attempt.revealed,
                     "score": result.get("score"), "max": result.get("max"), "percent": result.get("percent"),
                     "passed": result.get("passed"), "domains": result.get("domains", {})})
    scored = [row for row in rows if row["submitted"] and not row["practice"]]
    trend = {}
    for domain in DOMAINS:
        points = [row["domains"][domain.id] for row in scored if domain.id in row["domains"]]
        if points:
            got, most = sum(p["score"] for p in points), sum(p["max"] for p in points)
            trend[domain.id] = {"title": domain.title, "percent": round(100 * got / most, 1) if most else 0.0,
                                "by_attempt": [p["percent"] for p in points]}
    labs = labs_by_domain if labs_by_domain is not None else _labs_by_domain()
    weakest = sorted(trend, key=lambda d: (trend[d]["percent"], d))[:WEAKEST]
    return {"attempts": rows, "domains": trend,
            "weakest": [{"domain": d, "title": trend[d]["title"], "percent": trend[d]["percent"], "labs": labs.get(d, [])} for d in weakest]}


def _labs_by_domain() -> dict[str, list[str]]:
    """The labs that teach each domain (any of their tags), from the lab index."""
    from labrunner import paths
    from labrunner.lab.catalog import discover
    from labrunner.lab.loader import load_lab
    from labrunner.lab.problems import LabInvalid

    found: dict[str, list[str]] = {}
    for entry in discover(paths.lab_roots()):
        try:
            lab = load_lab(entry.directory)
        except LabInvalid:
            continue
        for tag in lab.tags:
            found.setdefault(tag, []).append(lab.id)
    return found
