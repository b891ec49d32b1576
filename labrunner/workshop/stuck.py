"""Who in the room is stuck, and the reasons several learners share (pure).

A learner is stuck on their current step when any of these holds:

- **slow**: their time on it is over twice the room's median time for that step (the median of
  the learners who passed it), and at least the author's estimate; with nobody through it yet,
  over twice the estimate;
- **repeating**: the same check failed with the same message :data:`REPEATS` times in a row;
- **hand**: they raised their hand;
- **offline**: their heartbeat is older than :data:`STALE_SECONDS` (or they never had one).

Failing learners are also grouped by the reason their check fails, their own names (namespaces
and other parameter values, pod name suffixes, addresses) taken out, so "7 learners fail step 9:
the policy selects app=web and no pod has it" is one line.
"""

from __future__ import annotations

import re
import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from labrunner.workshop.records import ProgressRecord

REPEATS = 3
STALE_SECONDS = 90.0
"""A heartbeat older than this is offline: three missed renewals of 25 s, and some slack."""


@dataclass(frozen=True)
class Seen:
    """One learner as the room sees them: their record, their heartbeat, their parameters."""

    id: str
    record: ProgressRecord
    heartbeat: float | None = None
    """The Lease's renewTime; None: never, or released on a clean exit."""
    parameters: Mapping[str, str] | None = None


@dataclass(frozen=True)
class Reason:
    kind: str
    """slow, repeating, hand or offline."""
    text: str


def online(heartbeat: float | None, now: float, stale: float = STALE_SECONDS) -> bool:
    return heartbeat is not None and now - heartbeat <= stale


def time_on_step(record: ProgressRecord, now: float) -> float | None:
    """Seconds on the current step (None when the learner has not started)."""
    if record.current is None or record.current_since is None:
        return None
    return max(0.0, now - record.current_since)


def step_durations(records: Iterable[ProgressRecord]) -> dict[str, list[float]]:
    """Per step, how long the learners who passed it took (from coming to it to passing it)."""
    durations: dict[str, list[float]] = {}
    for record in records:
        for step, claim in record.steps.items():
            if claim.status == "passed" and claim.at is not None and claim.entered is not None and claim.at >= claim.entered:
                durations.setdefault(step, []).append(claim.at - claim.entered)
    return durations


def slow_threshold(durations: Sequence[float], estimate: float) -> float:
    """Over this many seconds on a step is slow: twice the room's median, at least the author's
    estimate; twice the estimate while nobody has passed it."""
    if not durations:
        return 2 * estimate
    return max(2 * statistics.median(durations), estimate)


def reasons(learner: Seen, now: float, durations: Mapping[str, Sequence[float]], estimate: float,
            *, repeats: int = REPEATS, stale: float = STALE_SECONDS) -> list[Reason]:
    """Why ``learner`` is stuck (empty: they are not), most urgent first."""
    found: list[Reason] = []
    record = learner.record
    if record.raised_hand:
        found.append(Reason("hand", "raised a hand"))
    current = record.current
    claim = record.steps.get(current) if current else None
    if claim is not None and claim.status not in (None, "passed") and claim.repeats >= repeats:
        found.append(Reason("repeating", f"the same failure {claim.repeats} times: {claim.message}"))
    spent = time_on_step(record, now)
    if current and spent is not None and (claim is None or claim.status != "passed"):
        limit = slow_threshold(durations.get(current, ()), estimate)
        if spent > limit:
            found.append(Reason("slow", f"{_minutes(spent)} on {current} (the room's limit: {_minutes(limit)})"))
    if not online(learner.heartbeat, now, stale):
        found.append(Reason("offline", "no heartbeat" if learner.heartbeat is None else f"offline for {_minutes(now - learner.heartbeat)}"))
    return found


def room_reasons(learners: Sequence[Seen], now: float, estimate: float, **options: float) -> dict[str, list[Reason]]:
    """Every learner's reasons, the medians taken over the whole room."""
    durations = step_durations(learner.record for learner in learners)
    return {learner.id: reasons(learner, now, durations, estimate, **options) for learner in learners}  # type: ignore[arg-type]


_KIND_ORDER = {"hand": 0, "repeating": 1, "slow": 2, "offline": 3}


def stuck_first(learners: Sequence[Seen], found: Mapping[str, Sequence[Reason]]) -> list[Seen]:
    """The room sorted for the instructor's eye: the stuck first (by their most urgent reason,
    then the longest on their step), then the others in id order."""
    def key(learner: Seen) -> tuple[int, float, str]:
        mine = found.get(learner.id) or ()
        urgency = min((_KIND_ORDER.get(r.kind, 9) for r in mine), default=99)
        since = learner.record.current_since if learner.record.current_since is not None else float("inf")
        return urgency, since, learner.id

    return sorted(learners, key=key)


# -- grouping by the reason a check fails -----------------------------------------------------------


@dataclass(frozen=True)
class ReasonGroup:
    step: str
    check: str
    reason: str
    """The message with the learners' own names taken out (``{{namespace}}``, ``web-…``)."""
    learners: tuple[str, ...]


_GENERATED = "[bcdfghjklmnpqrstvwxz2456789]"
"""The alphabet of generated name suffixes (no vowels, so words rarely match)."""
_POD_SUFFIX = re.compile(rf"\b([a-z0-9](?:[-a-z0-9]*?[a-z0-9])?)-({_GENERATED}{{6,10}}-)?({_GENERATED}{{5}})\b")
_ADDRESS = re.compile(r"\b\d{1,3}(?:\.\d{1,3}){3}(?::\d+)?\b")
_AGO = re.compile(r"\b\d+(?:\.\d+)?(?:ms|s|m|h)(?: ago)?\b")


def normalise(message: str, parameters: Mapping[str, str] | None = None) -> str:
    """``message`` with what differs from learner to learner taken out: their parameter values
    (longest first) become ``{{name}}``, pods' generated suffixes ``…``, addresses ``<address>``,
    durations ``<time>``."""
    text = message
    for name, value in sorted((parameters or {}).items(), key=lambda item: -len(item[1])):
        if len(value) >= 3:
            text = re.sub(rf"(?<![\w-]){re.escape(value)}(?![\w-])", "{{" + name + "}}", text)
    text = _ADDRESS.sub("<address>", text)
    text = _POD_SUFFIX.sub(_pod_name, text)
    return _AGO.sub("<time>", text)


def _pod_name(match: re.Match[str]) -> str:
    """``web-7d4b9c8f6-x2k9p`` -> ``web-…``; ``backend-https`` stays (no hash, no digit)."""
    if match.group(2) or any(ch.isdigit() for ch in match.group(3)):
        return f"{match.group(1)}-…"
    return match.group(0)


def group_by_reason(learners: Sequence[Seen], *, at_least: int = 1) -> list[ReasonGroup]:
    """Learners whose current step's last check failed, grouped by (step, check, reason); the
    largest groups first. ``at_least`` leaves out smaller groups."""
    groups: dict[tuple[str, str, str], list[str]] = {}
    for learner in learners:
        record = learner.record
        claim = record.steps.get(record.current) if record.current else None
        if claim is None or claim.status in (None, "passed") or not claim.message:
            continue
        key = (record.current or "", claim.check, normalise(claim.message, learner.parameters))
        groups.setdefault(key, []).append(learner.id)
    found = [ReasonGroup(step, check, reason, tuple(sorted(ids))) for (step, check, reason), ids in groups.items() if len(ids) >= at_least]
    return sorted(found, key=lambda g: (-len(g.learners), g.step, g.reason))


def _minutes(seconds: float) -> str:
    seconds = int(seconds)
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"
