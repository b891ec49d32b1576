"""One learner of a workshop, for the instructor: their checks as last published (followed live
from the room's screen), their namespaces' pods and events read with the instructor's
credentials, and verify and reset (what ``workshop verify`` and ``workshop reset`` run).
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Footer, Static

from labrunner.tui.workshop_watch import ago, clock, cut, glyph, named, span
from labrunner.workshop.records import parse_stamp
from labrunner.workshop.report import StepInfo

if TYPE_CHECKING:
    from labrunner.tui.workshop_watch import WorkshopWatchScreen


EVENTS_SHOWN = 12


class NamespaceRead(Message):
    """A learner's pods and events as the instructor's credentials see them (or why not)."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text


class LearnerActed(Message):
    """Verify or reset finished (or could not run): what to show."""

    def __init__(self, title: str, text: str, ok: bool) -> None:
        super().__init__()
        self.title, self.text, self.ok = title, text, ok


def learner_text(learner: dict[str, Any], steps: Sequence[StepInfo], now: float, width: int = 70) -> str:
    """A learner's checks as last published: every step, its claim, when, and whether the
    instructor's verification agreed."""
    lines = []
    current = (learner["current"] or {}).get("id")
    for step in steps:
        claim = learner["steps"].get(step.id)
        status = claim["status"] if claim else None
        mark = glyph(status, step.id == current)
        when = ago(now - at) if claim and (at := parse_stamp(claim["at"])) is not None else ""
        source = {"verified": "verified", "disputed": "DISPUTED"}.get(claim["source"], "") if claim else ""
        said = f"{status or ('here' if step.id == current else '')}"
        lines.append(f"{mark} {step.number:>2} {cut(step.title, 34):<34} {said:<7} {when:<11} {source}".rstrip())
        if claim and claim.get("message") and status != "passed":
            lines += textwrap.wrap(claim["message"], width, initial_indent=" " * 7, subsequent_indent=" " * 7)
    return "\n".join(lines)


def pods_and_events(cluster: Any, namespaces: Sequence[str], now: float) -> str:
    """The learner's namespaces as the instructor's credentials read them: each pod's state and
    the recent events (blocking: a worker runs it). A refusal is said, not raised."""
    from labrunner.cluster import errors

    lines: list[str] = []
    for namespace in namespaces:
        lines.append(f"Namespace {namespace}")
        try:
            pods = cluster.list("pods", namespace)
        except errors.ClusterError as failure:
            lines += [f"  pods: {failure.message}", ""]
            continue
        if not pods:
            lines.append("  no pods")
        width = max((len(p["metadata"]["name"]) for p in pods), default=0)
        for pod in sorted(pods, key=lambda p: p["metadata"]["name"]):
            lines.append("  " + pod_line(pod, now, width))
        try:
            events = cluster.events(namespace)
        except errors.ClusterError as failure:
            lines += [f"  events: {failure.message}", ""]
            continue
        recent = sorted(events, key=event_time)[-EVENTS_SHOWN:]
        lines.append("")
        lines.append(f"  Events, newest last ({len(recent)} of {len(events)})" if events else "  no events")
        for event in recent:
            involved = event.get("involvedObject") or {}
            moment = event_time(event)
            mark = "!" if event.get("type") == "Warning" else " "
            lines.append(f"  {mark} {ago(now - moment) if moment else '':>11}  {event.get('reason', '')}  "
                         f"{str(involved.get('kind', '')).lower()}/{involved.get('name', '')}")
            lines.append(f"      {' '.join(str(event.get('message', '')).split())}")
        lines.append("")
    return "\n".join(lines).rstrip() or "no namespaces"


def event_time(event: dict[str, Any]) -> float:
    for field in ("lastTimestamp", "eventTime", "firstTimestamp"):
        moment = parse_stamp(event.get(field))
        if moment is not None:
            return moment
    return parse_stamp((event.get("metadata") or {}).get("creationTimestamp")) or 0.0


def pod_line(pod: dict[str, Any], now: float, width: int = 0) -> str:
    """``web-7d4b-x2k9p  1/1  Running  0 restarts  4 min``, as kubectl get pods says it."""
    status = pod.get("status") or {}
    containers = status.get("containerStatuses") or []
    ready = sum(1 for c in containers if c.get("ready"))
    total = len((pod.get("spec") or {}).get("containers") or []) or len(containers)
    restarts = sum(int(c.get("restartCount") or 0) for c in containers)
    state = status.get("phase") or "Unknown"
    for container in containers:
        waiting = (container.get("state") or {}).get("waiting") or {}
        if waiting.get("reason"):
            state = waiting["reason"]
            break
    if (pod.get("metadata") or {}).get("deletionTimestamp"):
        state = "Terminating"
    started = parse_stamp((pod.get("metadata") or {}).get("creationTimestamp"))
    age = span(now - started) if started else ""
    return f"{pod['metadata']['name']:<{width}}  {ready}/{total}  {state:<17} {restarts} restart{'s' if restarts != 1 else ''}  {age}"


class LearnerScreen(Screen[None]):
    """One learner: their checks as last published (live), their namespaces' pods and events read
    with the instructor's credentials, verify and reset."""

    DEFAULT_CSS = """
    LearnerScreen #head { height: auto; padding: 0 1; background: $panel; text-style: bold; }
    LearnerScreen #stuck { height: auto; padding: 0 1; color: $text-error; }
    LearnerScreen Horizontal { height: 1fr; }
    LearnerScreen #checks { width: 76; border: round $panel; border-title-color: $text-accent; padding: 0 1; }
    LearnerScreen #cluster { width: 1fr; border: round $panel; border-title-color: $text-accent; padding: 0 1; }
    LearnerScreen #acted { display: none; height: auto; max-height: 40%; border: round $success; padding: 0 1; }
    LearnerScreen #acted.-shown { display: block; }
    LearnerScreen #acted.-failed { border: round $error; }
    """
    BINDINGS = [
        Binding("v", "verify", "Verify", id="learner.verify", tooltip="Re-run their checks with your credentials"),
        Binding("x", "reset", "Reset", id="learner.reset", tooltip="Undo their lab and put them back at the start (asks first)"),
        Binding("r", "reload", "Reload pods", id="learner.reload", tooltip="Read their pods and events again"),
        Binding("escape,backspace", "back", "Room", id="learner.back"),
    ]

    def __init__(self, room: WorkshopWatchScreen, learner: str) -> None:
        super().__init__()
        self.room_screen, self.learner = room, learner
        self.busy = ""
        self.shown: object = None

    def compose(self) -> ComposeResult:
        yield Static(id="head", markup=False)
        yield Static(id="stuck", markup=False)
        with Horizontal():
            with VerticalScroll(id="checks"):
                yield Static(id="claims", markup=False)
            with VerticalScroll(id="cluster"):
                yield Static("Reading their pods and events…", id="namespace", markup=False)
        with VerticalScroll(id="acted"):
            yield Static(id="outcome", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#checks").border_title = "Their checks, as last published (self-reported unless verified)"
        self.query_one("#cluster").border_title = "Their pods and events (your credentials)"
        self.show()
        self.set_interval(1.0, self.show)
        self.read_namespace()

    def state(self) -> dict[str, Any] | None:
        document = self.room_screen.document
        return next((l for l in document["learners"] if l["id"] == self.learner), None) if document else None

    def show(self) -> None:
        learner = self.state()
        if learner is None:
            return
        now = self.room_screen.clock()
        current = learner["current"]
        parts = [f"Learner {named(learner)}", ", ".join(learner["namespaces"]),
                 f"online, heartbeat {ago(learner['heartbeat_age'])}" if learner["online"]
                 else f"offline (heartbeat {ago(learner['heartbeat_age'])})",
                 f"step {current['number']} {current['id']} for {clock(learner['on_step_seconds'])}" if current else "not started",
                 f"{learner['passed']}/{learner['total']} passed"]
        self.query_one("#head", Static).update(" · ".join(parts))
        self.query_one("#stuck", Static).update("\n".join(f"Stuck: {r['text']}" for r in learner["stuck"]))
        self.query_one("#claims", Static).update(learner_text(learner, self.room_screen.steps, now))

    @work(thread=True, exclusive=True, exit_on_error=False, group="learner-namespace")
    def read_namespace(self) -> None:
        learner = self.state()
        if learner is not None:
            self.post_message(NamespaceRead(pods_and_events(self.room_screen.cluster, learner["namespaces"], self.room_screen.clock())))

    @on(NamespaceRead)
    def namespace_read(self, message: NamespaceRead) -> None:
        self.query_one("#namespace", Static).update(message.text)

    def action_reload(self) -> None:
        self.query_one("#namespace", Static).update("Reading their pods and events…")
        self.read_namespace()

    def action_back(self) -> None:
        self.app.pop_screen()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("verify", "reset") and self.busy:
            return None  # shown greyed out while one runs
        return True

    def action_verify(self) -> None:
        self.busy = "verify"
        self.refresh_bindings()
        self.say("Verifying", "Re-running their checks with your credentials…", True)
        self.verify()

    @work(thread=True, exclusive=True, exit_on_error=False, group="learner-change")
    def verify(self) -> None:
        """What ``labrunner workshop verify`` does, and says."""
        from labrunner.workshop.verification import verify

        def on_step(step: Any) -> None:
            self.post_message(LearnerActed("Verifying", f"checking step {step.number}, {step.title}…", True))

        try:
            state, verdicts = verify(self.room_screen.cluster, self.room_screen.workshop, self.learner, on_step=on_step)
        except Exception as failure:  # the cluster's, the workshop's or the lab's words
            self.post_message(LearnerActed("Could not verify", getattr(failure, "message", None) or str(failure), False))
            return
        lines = []
        for verdict in verdicts:
            scope = "" if verdict.verified.scope == "full" else "  (what later steps keep)"
            lines.append(f"{'✓ agrees' if verdict.agrees else '✗ DISAGREES':<11} {verdict.step.number:>2}. {verdict.step.id:<26} "
                         f"claimed {verdict.claimed or 'nothing':<8} verified {verdict.verified.status}{scope}")
            if not verdict.agrees and verdict.verified.message:
                lines.append(f"      {verdict.verified.message}")
        agree = all(v.agrees for v in verdicts)
        title = "Verified: their record agrees" if agree else "Verified: their record DISAGREES"
        self.post_message(LearnerActed(title, "\n".join(lines) or "nothing to check: the learner has not started", agree))

    def action_reset(self) -> None:
        from labrunner.tui.dialogs import ConfirmScreen

        learner = self.state()
        if learner is None:
            return
        body = (f"Runs the lab's reset commands with your credentials in {', '.join(learner['namespaces'])}, puts back their "
                "namespaces, quota and binding, and puts them back at the start of the lab. Nobody else is touched; "
                "their labrunner follows within half a minute.")

        def answered(yes: bool | None) -> None:
            if yes:
                self.busy = "reset"
                self.refresh_bindings()
                self.say("Resetting", "Running the lab's reset commands…", True)
                self.reset()

        self.app.push_screen(ConfirmScreen(f"Reset learner {named(learner)}?", body, yes="Reset", safe_default=True), answered)

    @work(thread=True, exclusive=True, exit_on_error=False, group="learner-change")
    def reset(self) -> None:
        """What ``labrunner workshop reset`` does, and says."""
        from labrunner.workshop.verification import reset

        ran: list[str] = []

        def on_command(command: str) -> None:
            ran.append(f"$ {command}")
            self.post_message(LearnerActed("Resetting", "\n".join(ran), True))

        try:
            outcome = reset(self.room_screen.cluster, self.room_screen.workshop, self.learner, on_command=on_command)
        except Exception as failure:
            self.post_message(LearnerActed("Could not reset", getattr(failure, "message", None) or str(failure), False))
            return
        lines = list(ran)
        for action in outcome.failed:
            lines.append(f"✗ exit {action.exit_code}: {' '.join(action.output.split())[:300]}")
        where = f"step {outcome.to.number}, {outcome.to.title}" if outcome.to else "the start of the lab"
        lines.append(f"Learner {outcome.state.id} is back at {where}; their labrunner follows within half a minute.")
        title = "Reset" if not outcome.failed else f"Reset, but {len(outcome.failed)} command(s) failed"
        self.post_message(LearnerActed(title, "\n".join(lines), not outcome.failed))

    @on(LearnerActed)
    def acted(self, message: LearnerActed) -> None:
        if message.title not in ("Verifying", "Resetting"):
            self.busy = ""
            self.refresh_bindings()
            if message.title.startswith("Reset"):
                self.read_namespace()
        self.say(message.title, message.text, message.ok)

    def say(self, title: str, text: str, ok: bool) -> None:
        panel = self.query_one("#acted", VerticalScroll)
        panel.border_title = title
        self.query_one("#outcome", Static).update(text)
        panel.add_class("-shown")
        panel.set_class(not ok, "-failed")
