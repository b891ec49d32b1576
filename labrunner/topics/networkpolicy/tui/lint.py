"""The learner's NetworkPolicy file with the engine's lint findings under the lines they are about.

The same findings as ``labrunner netpol lint``; ``r`` reads the file again after the learner
edits it in their own editor.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.content import Content
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Footer, Static

from labrunner.topics.networkpolicy.files import InputError, read_objects
from labrunner.topics.networkpolicy.lint import Finding, lint

GLYPHS = {"error": "✗", "warning": "⚠", "info": "ℹ"}
"""Severity as text first; colour only repeats it."""
STYLES = {"error": "$text-error", "warning": "$text-warning", "info": "$text-primary"}


@dataclass(frozen=True)
class LintReport:
    path: Path
    lines: tuple[str, ...] = ()
    findings: tuple[Finding, ...] = ()
    problem: str | None = None
    """Why the file could not be linted (missing, unreadable, not YAML), naming the file and line."""
    policies: int = 0
    suggestion: str | None = None
    """The manifest the author most likely meant, when the linter could tell."""

    def summary(self) -> str:
        name = str(self.path)
        if self.problem is not None:
            return self.problem
        if not self.policies:
            return f"No NetworkPolicy in {name}: nothing to lint"
        counts = {severity: sum(1 for f in self.findings if f.severity == severity) for severity in GLYPHS}
        if not self.findings:
            return f"No problems found in {name}"
        words = {"error": ("error", "errors"), "warning": ("warning", "warnings"), "info": ("note", "notes")}
        listed = ", ".join(f"{n} {words[s][n != 1]}" for s, n in counts.items() if n)
        if not counts["error"]:
            return f"No errors found in {name}; {listed} below"
        return f"{name}: {listed}"


def lint_file(path: Path) -> LintReport:
    """Read and lint one file; every failure becomes the report's ``problem``, never an exception."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return LintReport(path, problem=f"No such file: {path}. Create it in your editor, then press r.")
    except IsADirectoryError:
        return LintReport(path, problem=f"{path} is a folder, not a file")
    except (OSError, UnicodeDecodeError) as error:
        return LintReport(path, problem=f"Cannot read {path}: {error}")
    lines = tuple(text.splitlines())
    try:
        objects = read_objects([path])
    except InputError as error:
        where = f"line {error.line}, column {error.column}" if error.line else "the file"
        marker = (Finding("error", str(path), error.line, error.column, "", error.message, "correct it, save, and press r"),) if error.line else ()
        return LintReport(path, lines, marker, problem=f"Cannot read {path} at {where}: {error.message}")
    findings = tuple(lint(objects))
    policies = sum(1 for obj in objects if obj.kind == "NetworkPolicy")
    suggestion = next((f.suggestion for f in findings if f.suggestion), None)
    return LintReport(path, lines, findings, policies=policies, suggestion=suggestion)


class FindingView(Static):
    """One finding, placed right under the line it is about."""

    def __init__(self, finding: Finding) -> None:
        self.finding = finding
        glyph, style = GLYPHS[finding.severity], STYLES[finding.severity]
        field_text = f"{finding.path}: " if finding.path else ""
        content = Content.assemble(
            (f"{glyph} {finding.severity}", f"bold {style}"),
            f"  line {finding.line}, column {finding.column}  ",
            (field_text, "italic"),
            finding.message,
            "\n",
            ("fix: ", "bold"),
            finding.fix,
        )
        super().__init__(content, classes=f"-{finding.severity}")


def listing(report: LintReport) -> Iterator[Widget]:
    """The file in runs of numbered lines, each finding right after its line."""
    width = len(str(max(len(report.lines), 1)))
    by_line: dict[int, list[Finding]] = {}
    for finding in report.findings:
        line = finding.line if 1 <= finding.line <= len(report.lines) else 0
        by_line.setdefault(line, []).append(finding)
    yield from (FindingView(f) for f in by_line.get(0, ()))
    run: list[Content] = []
    for number, text in enumerate(report.lines, start=1):
        run.append(Content.assemble((f"{number:>{width}} │ ", "$text-muted"), text))
        if number in by_line or number == len(report.lines):
            yield Static(Content("\n").join(run), classes="source")
            run = []
            yield from (FindingView(f) for f in by_line.get(number, ()))
    if report.suggestion:
        yield Static("The manifest most likely meant:", classes="suggestion-title")
        yield Static(Content(report.suggestion.rstrip("\n")), classes="suggestion")


class LintScreen(Screen[None]):
    """A NetworkPolicy file and the engine's findings.

    | Key | Action |
    | :- | :- |
    | r | Read and lint the file again. |
    | escape | Back. |
    """

    DEFAULT_CSS = """
    LintScreen { layout: vertical; }
    LintScreen #lint-title { background: $panel; color: $foreground; text-style: bold; padding: 0 1; }
    LintScreen #lint-summary { padding: 0 1; }
    LintScreen #lint-summary.-error { color: $text-error; background: $error-muted; }
    LintScreen #lint-summary.-warning { color: $text-warning; }
    LintScreen #lint-summary.-clean { color: $text-success; }
    LintScreen #lint-listing { height: 1fr; padding: 0 1; }
    LintScreen FindingView { margin: 0 0 0 4; padding: 0 1; border-left: thick $panel; }
    LintScreen FindingView.-error { border-left: thick $error; background: $error-muted; }
    LintScreen FindingView.-warning { border-left: thick $warning; background: $warning-muted; }
    LintScreen FindingView.-info { border-left: thick $primary; background: $primary-muted; }
    LintScreen .suggestion-title { margin-top: 1; text-style: bold; }
    LintScreen .suggestion { color: $text-muted; }
    """

    BINDINGS = [
        Binding("r", "reload", "Re-read", id="lint.reload", tooltip="Read and lint the file again (after editing it)"),
        Binding("escape", "close", "Back", id="lint.close", tooltip="Close this view"),
    ]

    def __init__(self, path: Path) -> None:
        super().__init__()
        self.path = path
        self.title = f"Lint {path.name}"
        self.report: LintReport | None = None
        """The last reading of the file."""

    def compose(self) -> ComposeResult:
        yield Static(f"NetworkPolicy lint: {self.path}", id="lint-title", markup=False)
        yield Static("", id="lint-summary", markup=False)
        yield VerticalScroll(id="lint-listing")
        yield Footer()

    async def on_mount(self) -> None:
        await self.action_reload()

    async def action_reload(self) -> None:
        # In the event loop, not a worker: a local file of a few kilobytes lints in milliseconds,
        # and the learner pressed r to see the answer now.
        self.report = report = lint_file(self.path)
        summary = self.query_one("#lint-summary", Static)
        summary.update(report.summary())
        severities = {f.severity for f in report.findings}
        state = "-error" if report.problem or "error" in severities else "-warning" if severities else "-clean"
        summary.set_classes(state)
        box = self.query_one("#lint-listing", VerticalScroll)
        scroll_y = box.scroll_y  # keep the learner's place across re-reads
        await box.remove_children()
        await box.mount_all(listing(report))
        box.call_after_refresh(box.scroll_to, y=scroll_y, animate=False)

    def action_close(self) -> None:
        self.dismiss()

