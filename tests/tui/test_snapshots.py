"""SVG snapshots of the key screens at a fixed size (Textual is pinned, so they are stable).
Review a change with `pytest tests/tui/test_snapshots.py --snapshot-report`, then accept it
with `--snapshot-update` after reading the report."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from labrunner.tui.app import LabrunnerApp
from labrunner.topics.networkpolicy.tui.reach import ReachScreen
from tests.tui.snapshot_apps import WorkspaceApp
from tests.tui.test_app import panel_text, until
from tests.topics.networkpolicy.test_tui_reach import NAMESPACES, ReachApp, lab_pods, lab_policies

SIZE = (120, 36)


def test_start_screen(snap_compare: Any, kubeconfig: Path) -> None:
    assert snap_compare(LabrunnerApp(kubeconfig=kubeconfig), terminal_size=SIZE)


async def _checked_and_hinted(pilot: Any) -> None:
    await until(pilot, lambda: "Not done yet" in panel_text(pilot.app))
    await pilot.press("h")


def test_workspace_with_a_failed_check_and_a_hint(snap_compare: Any, tmp_path: Path) -> None:
    assert snap_compare(WorkspaceApp(tmp_path), terminal_size=SIZE, run_before=_checked_and_hinted)


async def _solution(pilot: Any) -> None:
    await until(pilot, lambda: "Not done yet" in panel_text(pilot.app))
    await pilot.press("s")


def test_solution_asks_before_running(snap_compare: Any, tmp_path: Path) -> None:
    assert snap_compare(WorkspaceApp(tmp_path), terminal_size=SIZE, run_before=_solution)


async def _help(pilot: Any) -> None:
    await until(pilot, lambda: "Not done yet" in panel_text(pilot.app))
    await pilot.press("question_mark")


def test_help_lists_the_keys(snap_compare: Any, tmp_path: Path) -> None:
    assert snap_compare(WorkspaceApp(tmp_path), terminal_size=SIZE, run_before=_help)


def test_who_can_reach_whom(snap_compare: Any) -> None:
    screen = ReachScreen("networkdemo", lambda: (NAMESPACES, lab_pods(), lab_policies("deny-ingress-db", "allow-ingress-db")))

    async def loaded(pilot: Any) -> None:
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()

    assert snap_compare(ReachApp(screen), terminal_size=SIZE, run_before=loaded)


def test_workspace_in_a_classic_80x24_terminal(snap_compare: Any, tmp_path: Path) -> None:
    async def checked(pilot: Any) -> None:
        await until(pilot, lambda: "Not done yet" in panel_text(pilot.app))

    assert snap_compare(WorkspaceApp(tmp_path), terminal_size=(80, 24), run_before=checked)
