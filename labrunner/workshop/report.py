"""The room as documents: ``workshop status --json`` and ``workshop export`` (pure renderers,
shared by the CLI and the instructor's screen).

``status --json`` is ``{"workshop", "lab", "ends", "timer", "read_at", "counts", "groups",
"learners": [...]}``, learners stuck-first, each ``{"id", "name", "namespaces", "online",
"heartbeat", "heartbeat_age", "current", "on_step_seconds", "passed", "total", "raised_hand",
"stuck": [{"kind", "text"}], "last_failure", "steps": {id: {"status", "at", "message",
"source"}}}``. Export rows are one per learner and step: claimed status and time, the failing
message, and ``source``: self-reported, verified or disputed.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from labrunner.workshop.reader import LearnerState, Room
from labrunner.workshop.records import source_of, stamp
from labrunner.workshop.stuck import Reason, group_by_reason, online, room_reasons, stuck_first, time_on_step


@dataclass(frozen=True)
class StepInfo:
    id: str
    number: int
    title: str


def estimate_seconds(minutes: int, steps: int) -> float:
    """The author's estimate for one step: the lab's minutes spread over its steps."""
    return minutes * 60 / max(1, steps)


def _last_failure(learner: LearnerState) -> dict[str, Any] | None:
    record = learner.record
    claims = [(step, claim) for step, claim in record.steps.items() if claim.status not in (None, "passed") and claim.message]
    current = [(step, claim) for step, claim in claims if step == record.current]
    chosen = current or sorted(claims, key=lambda item: item[1].at or 0.0)[-1:]
    if not chosen:
        return None
    step, claim = chosen[0]
    return {"step": step, "check": claim.check, "message": claim.message, "repeats": claim.repeats}


def learner_document(learner: LearnerState, steps: Sequence[StepInfo], reasons: Sequence[Reason], now: float) -> dict[str, Any]:
    record = learner.record
    by_id = {step.id: step for step in steps}
    current = by_id.get(record.current or "")
    spent = time_on_step(record, now)
    document_steps = {}
    for step in steps:
        claim = record.steps.get(step.id)
        if claim is None or claim.status is None:
            continue
        document_steps[step.id] = {"status": claim.status, "at": stamp(claim.at) or None, "message": claim.message or None,
                                   "source": source_of(claim, learner.verification.steps.get(step.id))}
    return {
        "id": learner.id, "name": learner.name, "namespaces": list(learner.namespaces),
        "online": online(learner.heartbeat, now), "heartbeat": stamp(learner.heartbeat) or None,
        "heartbeat_age": round(now - learner.heartbeat, 1) if learner.heartbeat is not None else None,
        "current": {"id": current.id, "number": current.number, "title": current.title} if current else None,
        "on_step_seconds": round(spent, 1) if spent is not None else None,
        "passed": sum(1 for s in document_steps.values() if s["status"] == "passed"), "total": len(steps),
        "raised_hand": record.raised_hand, "stuck": [{"kind": r.kind, "text": r.text} for r in reasons],
        "last_failure": _last_failure(learner), "steps": document_steps,
    }


def status_document(room: Room, steps: Sequence[StepInfo], minutes: int, now: float) -> dict[str, Any]:
    seen = room.seen()
    reasons = room_reasons(seen, now, estimate_seconds(minutes, len(steps)))
    order = [s.id for s in stuck_first(seen, reasons)]
    learners = sorted(room.learners, key=lambda learner: order.index(learner.id))
    counts = {step.id: 0 for step in steps}
    for learner in room.learners:
        if learner.record.current in counts:
            counts[learner.record.current] += 1
    workshop = room.workshop
    timer = workshop.timer
    return {
        "workshop": workshop.workshop, "lab": workshop.lab, "ends": stamp(workshop.ends) or None,
        "timer": {"label": timer.label, "ends": stamp(timer.ends), "left_seconds": round(timer.left(now))} if timer else None,
        "announcements": [{"at": stamp(a.at), "text": a.text} for a in workshop.announcements],
        "read_at": stamp(room.read_at), "counts": counts,
        "groups": [{"step": g.step, "check": g.check, "reason": g.reason, "learners": list(g.learners)} for g in group_by_reason(seen)],
        "learners": [learner_document(learner, steps, reasons.get(learner.id, []), now) for learner in learners],
    }


EXPORT_COLUMNS = ("workshop", "learner", "name", "number", "step", "title", "status", "checked_at", "message", "source",
                  "verified_status", "verified_at", "verified_scope")


def export_rows(room: Room, steps: Sequence[StepInfo]) -> list[dict[str, Any]]:
    rows = []
    for learner in room.learners:
        for step in steps:
            claim = learner.record.steps.get(step.id)
            verified = learner.verification.steps.get(step.id)
            rows.append({
                "workshop": room.workshop.workshop, "learner": learner.id, "name": learner.name, "number": step.number,
                "step": step.id, "title": step.title,
                "status": claim.status if claim and claim.status else "", "checked_at": stamp(claim.at) if claim else "",
                "message": claim.message if claim else "", "source": source_of(claim, verified) if claim and claim.status else "",
                "verified_status": verified.status if verified else "", "verified_at": stamp(verified.at) if verified else "",
                "verified_scope": verified.scope if verified else "",
            })
    return rows


def csv_text(rows: Sequence[dict[str, Any]]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=EXPORT_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()
