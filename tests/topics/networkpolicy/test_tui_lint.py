"""LintScreen driven with Pilot over the NetworkPolicy lab's broken and fixed files."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Awaitable, Callable
from pathlib import Path

from textual.app import App
from textual.pilot import Pilot
from textual.widgets import Static

from tests.conftest import REPO
from labrunner.topics.networkpolicy.tui.lint import FindingView, LintScreen

ASSETS = REPO / "assets" / "networkpolicies"
BROKEN = ASSETS / "ingress-egress-policy-broken.yaml"
FIXED = ASSETS / "ingress-egress-policy.yaml"


class LintApp(App[None]):
    def __init__(self, screen: LintScreen) -> None:
        super().__init__()
        self.lint_screen = screen

    def on_mount(self) -> None:
        self.push_screen(self.lint_screen)


def run(path: Path, test: Callable[[Pilot[None], LintScreen], Awaitable[None]]) -> None:
    async def main() -> None:
        screen = LintScreen(path)
        async with LintApp(screen).run_test(size=(120, 40)) as pilot:
            while screen.report is None:  # pushed from on_mount; its own on_mount reads the file
                await pilot.pause()
            await pilot.pause()
            await test(pilot, screen)

    asyncio.run(main())


def summary(screen: LintScreen) -> str:
    return str(screen.query_one("#lint-summary", Static).content)


def shown(widget: Static) -> str:
    return str(widget.content)


def line_above(screen: LintScreen, view: FindingView) -> str:
    """The last source line shown before a finding: the line it sits under."""
    children = list(screen.query_one("#lint-listing").children)
    before = [child for child in children[: children.index(view)] if child.has_class("source")]
    assert before, "the finding is above every line of the file"
    return shown(before[-1]).splitlines()[-1]  # type: ignore[arg-type]


def test_the_broken_lab_file_shows_each_finding_under_its_line() -> None:
    async def test(pilot: Pilot[None], screen: LintScreen) -> None:
        assert summary(screen) == f"{BROKEN}: 4 errors, 1 warning, 1 note"
        views = list(screen.query(FindingView))
        by_field = {view.finding.path: view for view in views}
        misplaced = by_field["spec.ingress[1].namespaceSelector"]
        assert line_above(screen, misplaced) == "19 │   - namespaceSelector:"
        text = shown(misplaced)
        assert text.startswith("✗ error  line 19, column 5  spec.ingress[1].namespaceSelector: unknown field")
        assert "fix: indent `- namespaceSelector:` (line 19) to line up with the peers under `from:` of rule 1 (line 14)" in text
        assert line_above(screen, by_field["egress"]) == "28 │ egress:"
        assert line_above(screen, by_field["spec"]).startswith(" 7 │   podSelector:")
        assert shown(by_field["spec"]).startswith("⚠ warning")
        # every line of the file is there, numbered
        source = "\n".join(shown(w) for w in screen.query(".source").results(Static))
        assert len(source.splitlines()) == len(BROKEN.read_text().splitlines())
        # and the manifest it most likely meant, as `labrunner netpol lint` prints it
        assert "    - namespaceSelector:" in "\n".join(shown(w) for w in screen.query(".suggestion").results(Static))

    run(BROKEN, test)


def test_a_missing_file_is_named_not_a_traceback() -> None:
    missing = ASSETS / "no-such-policy.yaml"

    async def test(pilot: Pilot[None], screen: LintScreen) -> None:
        assert summary(screen).startswith(f"No such file: {missing}")
        assert not list(screen.query(FindingView))
        assert pilot.app.screen is screen

    run(missing, test)


def test_a_yaml_error_names_the_file_and_line_and_marks_the_line(tmp_path: Path) -> None:
    bad = tmp_path / "policy.yaml"
    bad.write_text("apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: x\n spec: {}\n", encoding="utf-8")

    async def test(pilot: Pilot[None], screen: LintScreen) -> None:
        text = summary(screen)
        assert text.startswith(f"Cannot read {bad} at line 5, column 2: YAML syntax error"), text
        [marker] = list(screen.query(FindingView))
        assert line_above(screen, marker) == "5 │  spec: {}"

    run(bad, test)


def test_the_fixed_lab_file_has_no_errors_and_a_clean_file_no_problems() -> None:
    async def fixed(pilot: Pilot[None], screen: LintScreen) -> None:
        # The intended manifest is valid; the linter still warns that it blocks DNS.
        assert summary(screen) == f"No errors found in {FIXED}; 1 warning, 1 note below"
        assert not [view for view in screen.query(FindingView) if view.finding.severity == "error"]

    async def clean(pilot: Pilot[None], screen: LintScreen) -> None:
        assert summary(screen) == f"No problems found in {ASSETS / 'allow-ingress-db.yaml'}"
        assert not list(screen.query(FindingView))

    run(FIXED, fixed)
    run(ASSETS / "allow-ingress-db.yaml", clean)


def test_r_reads_the_file_again_after_the_learner_fixes_it(tmp_path: Path) -> None:
    mine = tmp_path / "mine.yaml"
    shutil.copy(BROKEN, mine)

    async def test(pilot: Pilot[None], screen: LintScreen) -> None:
        assert summary(screen) == f"{mine}: 4 errors, 1 warning, 1 note"
        shutil.copy(FIXED, mine)
        await pilot.press("r")
        await pilot.pause()
        assert summary(screen) == f"No errors found in {mine}; 1 warning, 1 note below"
        assert len(list(screen.query(FindingView))) == 2
        await pilot.press("escape")
        await pilot.pause()
        assert pilot.app.screen is not screen

    run(mine, test)
