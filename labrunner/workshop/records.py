"""The records a workshop keeps in the cluster, and how they read and write as ConfigMap data.

Small on purpose (100 learners write every few seconds and the instructor reads them all): per
step the status, when, when the learner came to it, the first failing check's one-line message
and how often that same failure repeated; the current step and since when; hints shown; a
raised hand. Logs and details stay on the learner's machine.

Times are epoch seconds in memory and ISO 8601 UTC (``2025-05-04T13:30:05Z``) in the cluster,
so ``kubectl get configmap progress-07 -o yaml`` reads. Every value is a string (ConfigMap
data); the structured ones are compact JSON. Decoding never raises: a record a learner
mangled (they may write their own) reads as what could be understood, and the rest empty.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from typing import Any

MESSAGE_LIMIT = 240
"""A failing check's message is cut to this many characters: one line for the instructor."""
ANNOUNCEMENTS_KEPT = 20


def stamp(moment: float | None) -> str:
    """Epoch seconds as ISO 8601 UTC, to the second; empty for None."""
    if moment is None:
        return ""
    return datetime.fromtimestamp(moment, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def micro_stamp(moment: float) -> str:
    """A Lease's MicroTime: ``2025-05-04T13:30:05.123456Z``."""
    return datetime.fromtimestamp(moment, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_stamp(text: Any) -> float | None:
    """An ISO 8601 time (``Z`` or an offset, fractions allowed) as epoch seconds; None when absent or unreadable."""
    if not isinstance(text, str) or not text:
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.timestamp()


def one_line(message: str | None) -> str:
    text = " ".join((message or "").split())
    return text if len(text) <= MESSAGE_LIMIT else text[: MESSAGE_LIMIT - 1] + "…"


def _json(text: Any, default: Any) -> Any:
    if not isinstance(text, str) or not text:
        return default
    try:
        value = json.loads(text)
    except ValueError:
        return default
    return value if isinstance(value, type(default)) else default


def _dump(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True)


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _number(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


# -- a learner's progress record (ConfigMap progress-ID) -----------------------------------------


@dataclass(frozen=True)
class StepClaim:
    """What a learner's labrunner says about one step."""

    status: str | None = None
    """passed, failed, error, pending; None: never checked (the learner only came to it)."""
    at: float | None = None
    """When it was last checked."""
    entered: float | None = None
    """When the learner last came to this step."""
    check: str = ""
    """The first check that did not pass (its id)."""
    message: str = ""
    """That check's message, one line."""
    repeats: int = 0
    """How many checks in a row failed with this same message."""

    def encode(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.status:
            out["status"] = self.status
        for key, moment in (("at", self.at), ("entered", self.entered)):
            if moment is not None:
                out[key] = stamp(moment)
        if self.check:
            out["check"] = self.check
        if self.message:
            out["message"] = self.message
        if self.repeats:
            out["repeats"] = self.repeats
        return out

    @classmethod
    def decode(cls, data: Any) -> StepClaim:
        if not isinstance(data, dict):
            return cls()
        status = data.get("status")
        return cls(status=status if isinstance(status, str) and status else None, at=parse_stamp(data.get("at")),
                   entered=parse_stamp(data.get("entered")), check=_text(data.get("check")),
                   message=one_line(_text(data.get("message"))), repeats=_number(data.get("repeats")))


def first_unmet(checks: Iterable[Mapping[str, Any]]) -> tuple[str, str]:
    """(id, one-line message) of the first check that did not pass; empty when all passed."""
    for check in checks:
        if check.get("status") != "passed" and not check.get("advisory"):
            return str(check.get("id") or ""), one_line(str(check.get("message") or ""))
    return "", ""


@dataclass(frozen=True)
class ProgressRecord:
    lab: str = ""
    """The lab instance (``workloads[namespace=kcd-07-workloaddemo]``)."""
    learner: str = ""
    current: str | None = None
    current_since: float | None = None
    steps: Mapping[str, StepClaim] = field(default_factory=dict)
    hints: Mapping[str, int] = field(default_factory=dict)
    setups: tuple[str, ...] = ()
    raised_hand: bool = False
    epoch: int = 0
    """Moved by the instructor's reset: a learner's labrunner that sees it move forgets its own copy."""
    updated: float | None = None

    # -- what happens to it (pure: each returns a new record) -----------------------------

    def with_result(self, step: str, status: str, checks: Iterable[Mapping[str, Any]], now: float) -> ProgressRecord:
        if self.current is None:  # a first check says where the learner is, before any move does
            return self.with_move(step, now).with_result(step, status, checks, now)
        before = self.steps.get(step, StepClaim())
        check, message = first_unmet(checks) if status != "passed" else ("", "")
        same = status != "passed" and message != "" and message == before.message and check == before.check
        repeats = before.repeats + 1 if same else (1 if message else 0)
        claim = replace(before, status=status, at=now, check=check, message=message, repeats=repeats)
        return replace(self, steps={**self.steps, step: claim}, updated=now)

    def with_move(self, step: str, now: float) -> ProgressRecord:
        if self.current == step:
            return self
        claim = replace(self.steps.get(step, StepClaim()), entered=now)
        return replace(self, current=step, current_since=now, steps={**self.steps, step: claim}, updated=now)

    def with_hints(self, step: str, shown: int, now: float) -> ProgressRecord:
        if self.hints.get(step, 0) >= shown:
            return self
        return replace(self, hints={**self.hints, step: shown}, updated=now)

    def with_setup(self, step: str, now: float) -> ProgressRecord:
        if step in self.setups:
            return self
        return replace(self, setups=(*self.setups, step), updated=now)

    def with_hand(self, raised: bool, now: float) -> ProgressRecord:
        return replace(self, raised_hand=raised, updated=now)

    def forgetting(self, steps: Iterable[str] | None, now: float) -> ProgressRecord:
        """Without the given steps' results and setups (all of them, position and hints too, for None)."""
        if steps is None:
            return replace(self, current=None, current_since=None, steps={}, hints={}, setups=(), raised_hand=False, updated=now)
        gone = set(steps)
        return replace(self, steps={k: v for k, v in self.steps.items() if k not in gone},
                       setups=tuple(s for s in self.setups if s not in gone), updated=now)

    def reset_to(self, step: str | None, later: Iterable[str], now: float) -> ProgressRecord:
        """The instructor's reset: ``later`` steps forgotten, the learner put on ``step`` (the
        first step for a whole reset: None), the epoch moved so the learner's copy follows."""
        if step is None:
            record = self.forgetting(None, now)
        else:
            record = self.forgetting(later, now)
            record = replace(record, current=None).with_move(step, now)
        return replace(record, raised_hand=False, epoch=self.epoch + 1, updated=now)

    # -- ConfigMap data -----------------------------------------------------------------------

    def encode(self) -> dict[str, str]:
        return {
            "lab": self.lab, "learner": self.learner, "current": self.current or "",
            "current-since": stamp(self.current_since), "raised-hand": "true" if self.raised_hand else "false",
            "steps": _dump({step: claim.encode() for step, claim in self.steps.items()}),
            "hints": _dump(dict(self.hints)), "setups": _dump(list(self.setups)),
            "epoch": str(self.epoch), "updated": stamp(self.updated),
        }

    @classmethod
    def decode(cls, data: Mapping[str, Any] | None) -> ProgressRecord:
        data = data or {}
        steps = _json(data.get("steps"), {})
        hints = _json(data.get("hints"), {})
        epoch = _text(data.get("epoch"))
        return cls(lab=_text(data.get("lab")), learner=_text(data.get("learner")), current=_text(data.get("current")) or None,
                   current_since=parse_stamp(data.get("current-since")),
                   steps={str(k): StepClaim.decode(v) for k, v in steps.items()},
                   hints={str(k): v for k, v in hints.items() if isinstance(v, int) and not isinstance(v, bool)},
                   setups=tuple(s for s in _json(data.get("setups"), []) if isinstance(s, str)),
                   raised_hand=_text(data.get("raised-hand")).lower() == "true",
                   epoch=int(epoch) if epoch.isdigit() else 0, updated=parse_stamp(data.get("updated")))


# -- the instructor's verifications (ConfigMap verified-ID) ----------------------------------------


@dataclass(frozen=True)
class Verified:
    """One step re-checked with the instructor's credentials."""

    status: str
    at: float
    scope: str = "full"
    """``full``: every check of the step; ``prerequisites``: only what later steps build on (an
    earlier step whose other checks a later step may rightly undo)."""
    message: str = ""
    claimed: str | None = None
    """What the learner's record said then."""
    claimed_at: float | None = None

    @property
    def agrees(self) -> bool:
        return (self.claimed == "passed") == (self.status == "passed")

    def encode(self) -> dict[str, Any]:
        out: dict[str, Any] = {"status": self.status, "at": stamp(self.at), "scope": self.scope}
        if self.message:
            out["message"] = self.message
        if self.claimed:
            out["claimed"] = self.claimed
        if self.claimed_at is not None:
            out["claimed-at"] = stamp(self.claimed_at)
        return out

    @classmethod
    def decode(cls, data: Any) -> Verified | None:
        if not isinstance(data, dict) or not isinstance(data.get("status"), str):
            return None
        at = parse_stamp(data.get("at"))
        if at is None:
            return None
        claimed = data.get("claimed")
        return cls(status=data["status"], at=at, scope=_text(data.get("scope")) or "full", message=_text(data.get("message")),
                   claimed=claimed if isinstance(claimed, str) else None, claimed_at=parse_stamp(data.get("claimed-at")))


@dataclass(frozen=True)
class Verification:
    steps: Mapping[str, Verified] = field(default_factory=dict)
    by: str = ""
    """Who verified (the instructor's user, as the API server knows them)."""

    def encode(self) -> dict[str, str]:
        return {"steps": _dump({step: v.encode() for step, v in self.steps.items()}), "by": self.by}

    @classmethod
    def decode(cls, data: Mapping[str, Any] | None) -> Verification:
        data = data or {}
        decoded = {str(k): Verified.decode(v) for k, v in _json(data.get("steps"), {}).items()}
        return cls(steps={k: v for k, v in decoded.items() if v is not None}, by=_text(data.get("by")))


def source_of(claim: StepClaim | None, verified: Verified | None) -> str:
    """How far a step's result can be trusted: ``verified`` (the instructor's check agreed, and the
    claim has not changed since), ``disputed`` (it disagreed), ``self-reported`` otherwise."""
    if verified is None or claim is None or claim.status is None:
        return "self-reported"
    if claim.at is not None and verified.at < claim.at:
        return "self-reported"  # claimed again since the verification
    return "verified" if (claim.status == "passed") == (verified.status == "passed") else "disputed"


# -- the workshop record (ConfigMap workshop) -----------------------------------------------------


@dataclass(frozen=True)
class LearnerEntry:
    id: str
    name: str
    parameters: Mapping[str, str]
    namespaces: tuple[str, ...]


@dataclass(frozen=True)
class Timer:
    label: str
    started: float
    ends: float

    def left(self, now: float) -> float:
        return max(0.0, self.ends - now)


@dataclass(frozen=True)
class Announcement:
    at: float
    text: str


@dataclass(frozen=True)
class WorkshopRecord:
    workshop: str
    lab: str
    learners: Mapping[str, LearnerEntry] = field(default_factory=dict)
    ends: float | None = None
    timer: Timer | None = None
    announcements: tuple[Announcement, ...] = ()

    def with_timer(self, minutes: float, label: str, now: float) -> WorkshopRecord:
        return replace(self, timer=Timer(label, now, now + minutes * 60))

    def announcing(self, text: str, now: float) -> WorkshopRecord:
        kept = (*self.announcements, Announcement(now, one_line(text)))[-ANNOUNCEMENTS_KEPT:]
        return replace(self, announcements=kept)

    def encode(self) -> dict[str, str]:
        learners = {ident: {"name": entry.name, "parameters": dict(entry.parameters), "namespaces": list(entry.namespaces)}
                    for ident, entry in self.learners.items()}
        timer = {"label": self.timer.label, "started": stamp(self.timer.started), "ends": stamp(self.timer.ends)} if self.timer else None
        return {
            "workshop": self.workshop, "lab": self.lab, "ends": stamp(self.ends), "learners": _dump(learners),
            "timer": _dump(timer) if timer else "",
            "announcements": _dump([{"at": stamp(a.at), "text": a.text} for a in self.announcements]),
        }

    @classmethod
    def decode(cls, data: Mapping[str, Any] | None) -> WorkshopRecord:
        data = data or {}
        learners = {}
        for ident, entry in _json(data.get("learners"), {}).items():
            if not isinstance(entry, dict):
                continue
            parameters = entry.get("parameters")
            parameters = parameters if isinstance(parameters, dict) else {}
            namespaces = entry.get("namespaces")
            namespaces = namespaces if isinstance(namespaces, list) else []
            learners[str(ident)] = LearnerEntry(str(ident), _text(entry.get("name")) or str(ident),
                                                {str(k): str(v) for k, v in parameters.items()},
                                                tuple(str(n) for n in namespaces))
        raw_timer = _json(data.get("timer"), {})
        started, ends = parse_stamp(raw_timer.get("started")), parse_stamp(raw_timer.get("ends"))
        timer = Timer(_text(raw_timer.get("label")), started, ends) if started is not None and ends is not None else None
        announcements = tuple(Announcement(at, _text(item.get("text"))) for item in _json(data.get("announcements"), [])
                              if isinstance(item, dict) and (at := parse_stamp(item.get("at"))) is not None)
        return cls(workshop=_text(data.get("workshop")), lab=_text(data.get("lab")), learners=learners,
                   ends=parse_stamp(data.get("ends")), timer=timer, announcements=announcements)


def now() -> float:
    return time.time()
