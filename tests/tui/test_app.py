"""The app driven as a learner drives it (Textual's Pilot): which cluster, the
workspace's keys on the sandbox, and what the screen says back."""

from __future__ import annotations

import asyncio
import os
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from labrunner.tui.app import LabrunnerApp
from labrunner.tui.dialogs import ConfirmScreen, HelpScreen
from labrunner.tui.start import StartScreen
from labrunner.tui.widgets import CheckPanel, StepList
from tests.conftest import REPO
from tests.sandboxes import TIME_SCALE

needs_kubectl = pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not on PATH (solutions use it)")

KUBECONFIG = """\
apiVersion: v1
kind: Config
current-context: kind-demo
contexts:
- {name: kind-demo, context: {cluster: kind-demo, user: u}}
- {name: prod-eu, context: {cluster: prod-eu, user: u, namespace: shop}}
clusters:
- {name: kind-demo, cluster: {server: "https://127.0.0.1:1"}}
- {name: prod-eu, cluster: {server: "https://api.prod.example.com"}}
users:
- {name: u, user: {token: t}}
"""


def text_of(app: LabrunnerApp, selector: str) -> str:
    return str(app.screen.query_one(selector).render())


def panel_text(app: LabrunnerApp) -> str:
    panels = app.screen.query(CheckPanel)
    if not panels or not panels.first().query("#body"):
        return ""  # still mounting
    panel = panels.first()
    return "\n".join(str(panel.query_one(part).render()) for part in ("#verdict", "#body"))


async def until(pilot: Any, condition: Callable[[], bool], seconds: float = 60) -> None:
    """Let the app run until ``condition`` holds (workers and watches are real threads)."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("the screen never showed what was expected")
        await pilot.pause(0.05)


def run(coroutine: Any) -> None:
    asyncio.run(coroutine)


def test_the_start_screen_lists_contexts_current_first_and_asks_before_a_production_one(kubeconfig: Path) -> None:

    async def scenario() -> None:
        app = LabrunnerApp(kubeconfig=kubeconfig)
        async with app.run_test(size=(110, 30)) as pilot:
            assert isinstance(app.screen, StartScreen)
            labels = [choice.label for choice in app.screen.choices]
            assert labels[0] == "kind-demo" and "prod-eu" in labels and labels[-1].startswith("labrunner sandbox")
            await pilot.press("down", "enter")  # prod-eu
            assert isinstance(app.screen, ConfirmScreen)
            assert "prod" in str(app.screen.query_one("#body").children[0].render())
            await pilot.press("n")
            assert isinstance(app.screen, StartScreen) and app.cluster is None
            await pilot.press("up", "enter")  # kind-demo, whose server refuses connections
            await until(pilot, lambda: "✗" in text_of(app, "#progress"), 20)
            assert "refused" in text_of(app, "#progress") and "s for the sandbox" in text_of(app, "#progress")

    run(scenario())


@needs_kubectl
def test_the_workspace_follows_the_learner_on_the_sandbox(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LABRUNNER_SANDBOX_TIME_SCALE", TIME_SCALE)

    async def scenario() -> None:
        app = LabrunnerApp(sandbox=True, lab_id="networkpolicies")
        async with app.run_test(size=(140, 44)) as pilot:
            await until(pilot, lambda: type(app.screen).__name__ == "WorkspaceScreen")
            screen: Any = app.screen
            await until(pilot, lambda: "Step passed" in panel_text(app))  # preflight
            assert "step 0 of 19" in text_of(app, "#status") and "sandbox" in text_of(app, "#status")

            await pilot.press("n")
            assert screen.step.id == "create-namespace"
            await until(pilot, lambda: "Not done yet" in panel_text(app))
            assert "namespace networkdemo does not exist" in panel_text(app)

            await pilot.press("h")
            assert f"Hint 1 of {len(screen.step.hints)}: {screen.step.hints[0]}" in panel_text(app)

            await pilot.press("c")
            assert app.clipboard == "kubectl create namespace networkdemo"

            # The learner types the command in another terminal: the watch turns the step green.
            screen.session.cluster.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "networkdemo"}})
            await until(pilot, lambda: "Step passed" in panel_text(app), 20)
            await until(pilot, lambda: "✓  1 Create the lab's namespace" in str(app.screen.query_one(StepList).children[1].query_one("Label").render()))

            await pilot.press("n", "s")
            assert isinstance(app.screen, ConfirmScreen)
            assert "kubectl apply -n networkdemo -f" in str(app.screen.query_one("#body").children[0].render())
            await pilot.press("y")
            await until(pilot, lambda: "Step passed" in panel_text(app) and screen.step.id == "deploy-mysql", 90)
            assert "labrunner ran:\n$ kubectl apply -n networkdemo -f" in panel_text(app)
            assert "deployment.apps/mysql created" in panel_text(app)

            await pilot.press("x")
            assert "kubectl delete --ignore-not-found -n networkdemo -f" in str(app.screen.query_one("#body").children[0].render())
            await pilot.press("y")
            await until(pilot, lambda: "Not done yet" in panel_text(app) and "mysql" in panel_text(app), 60)

            await pilot.press("question_mark")
            assert isinstance(app.screen, HelpScreen)
            shown = str(app.screen.query_one("Static").render())
            assert "r" in shown and "Check" in shown and "Reset step" in shown and "Quit" in shown
            await pilot.press("escape")
            assert app.screen is screen

    run(scenario())


def test_a_lost_cluster_is_a_banner_and_the_app_keeps_what_it_has(tmp_path: Path) -> None:
    from tests.tui.snapshot_apps import WorkspaceApp

    async def scenario() -> None:
        app = WorkspaceApp(tmp_path)
        async with app.run_test(size=(120, 36)) as pilot:
            await until(pilot, lambda: "Not done yet" in panel_text(app))
            banner = app.screen.query_one("#banner")
            assert not banner.has_class("-shown") and "● connected" in text_of(app, "#status")
            app.cluster.reachable = False
            await pilot.press("r")
            await until(pilot, lambda: banner.has_class("-shown"))
            assert "Lost the cluster: The connection to the server 127.0.0.1:6443 was refused" in str(banner.render())
            assert "● unreachable" in text_of(app, "#status")
            assert "Could not check this step" in panel_text(app)
            assert "create-namespace" in [item.step.id for item in app.screen.query_one(StepList).children]
            app.cluster.reachable = True
            await pilot.press("r")
            await until(pilot, lambda: not banner.has_class("-shown"))
            assert "● connected" in text_of(app, "#status")

    run(scenario())


def write_settings(text: str) -> None:
    from labrunner.tui import settings

    settings.settings_file().parent.mkdir(parents=True, exist_ok=True)
    settings.settings_file().write_text(text)


def test_the_theme_is_remembered_and_a_keymap_moves_a_key(kubeconfig: Path) -> None:
    from labrunner.tui import settings

    write_settings("keymap:\n  start.sandbox: ctrl+o\n")

    async def scenario() -> None:
        app = LabrunnerApp(kubeconfig=kubeconfig)
        async with app.run_test(size=(110, 30)) as pilot:
            app.theme = "labrunner-high-contrast"
            await pilot.pause()
            await pilot.press("s")  # moved away: nothing happens
            assert "Starting the sandbox" not in text_of(app, "#progress")
            await pilot.press("ctrl+o")
            await until(pilot, lambda: "sandbox" in text_of(app, "#progress") if isinstance(app.screen, StartScreen) else True)
        assert settings.load().theme == "labrunner-high-contrast"
        assert settings.load().keymap == {"start.sandbox": "ctrl+o"}

        again = LabrunnerApp(kubeconfig=kubeconfig)
        async with again.run_test(size=(110, 30)) as pilot:
            assert again.theme == "labrunner-high-contrast"

    run(scenario())


def test_a_broken_settings_file_is_said_and_the_defaults_apply(kubeconfig: Path) -> None:
    write_settings("theme: [unclosed\n")

    async def scenario() -> None:
        app = LabrunnerApp(kubeconfig=kubeconfig)
        async with app.run_test(size=(110, 30)) as pilot:
            await pilot.pause()
            said = [n.message for n in app._notifications]
            assert any("tui.yaml" in message and "using the defaults" in message for message in said), said
            assert isinstance(app.screen, StartScreen)

    run(scenario())


@needs_kubectl
def test_who_can_reach_whom_follows_the_cluster(monkeypatch: pytest.MonkeyPatch) -> None:
    from labrunner.topics.networkpolicy.tui.reach import ReachScreen

    monkeypatch.setenv("LABRUNNER_SANDBOX_TIME_SCALE", TIME_SCALE)

    async def scenario() -> None:
        app = LabrunnerApp(sandbox=True, lab_id="networkpolicies")
        async with app.run_test(size=(140, 44)) as pilot:
            await until(pilot, lambda: type(app.screen).__name__ == "WorkspaceScreen" and bool(app.screen.query("#instructions")))
            workspace: Any = app.screen
            workspace.go_to(workspace.lab.step("deny-ingress"))
            cluster = workspace.session.cluster
            cluster.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "networkdemo"}})
            await pilot.press("w")
            assert isinstance(app.screen, ReachScreen)
            await until(pilot, lambda: "every connection is allowed" in text_of(app, "#reach-header"), 20)
            cluster.apply({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
                           "metadata": {"name": "deny-ingress", "namespace": "networkdemo"},
                           "spec": {"podSelector": {}, "policyTypes": ["Ingress"]}})
            await until(pilot, lambda: "deny-ingress" in text_of(app, "#reach-header"), 20)
            await pilot.press("escape")
            assert app.screen is workspace

    run(scenario())


def test_the_shell_key_pins_the_context_and_the_lab_namespace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import yaml

    from tests.tui.snapshot_apps import WorkspaceApp

    monkeypatch.delenv("TMUX", raising=False)

    async def scenario() -> None:
        app = WorkspaceApp(tmp_path)
        async with app.run_test(size=(120, 36)) as pilot:
            await until(pilot, lambda: "Not done yet" in panel_text(app))
            await pilot.press("exclamation_mark")  # a headless terminal cannot be handed over: labrunner says what to export
            await until(pilot, lambda: any("export KUBECONFIG=" in n.message for n in app._notifications))
            said = next(n.message for n in app._notifications if "export KUBECONFIG=" in n.message)
            pin = Path(said.split("export KUBECONFIG=")[1].split(os.pathsep)[0])
            assert yaml.safe_load(pin.read_text())["current-context"] == "labrunner-sandbox"

    run(scenario())


def test_the_workspace_follows_progress_written_by_another_process(tmp_path: Path) -> None:
    """``labrunner solve networkpolicies --through 9`` in another terminal: the open workspace
    shows steps 0-9 passed, and moves its arrow and its panel to step 10 by itself (how soon
    is measured in tmux, see docs/architecture.md, not asserted here)."""
    import subprocess
    import sys

    from tests.tui.snapshot_apps import WorkspaceApp

    solve_elsewhere = """
import sys
from pathlib import Path
from labrunner.lab.loader import load_lab
from labrunner.session.progress import Progress, ProgressKey
lab = load_lab(Path(sys.argv[2]) / "labs" / "networkpolicies")
progress, key = Progress(Path(sys.argv[1])), ProgressKey("networkpolicies", "labrunner-sandbox")
for step, following in zip(lab.steps[:10], lab.steps[1:11]):  # what each passing check of a solve writes
    progress.record(key, step.id, "passed", [])
    progress.move_to(key, following.id)
"""

    async def scenario() -> None:
        app = WorkspaceApp(tmp_path)
        async with app.run_test(size=(120, 36)) as pilot:
            await until(pilot, lambda: "Not done yet" in panel_text(app))
            steps = app.screen.query_one(StepList)
            assert str(steps.children[1].label.render()).startswith("→✗")  # type: ignore[attr-defined]
            subprocess.run([sys.executable, "-c", solve_elsewhere, str(tmp_path / "progress.sqlite3"), str(REPO)], check=True)
            await until(pilot, lambda: app.screen.step.number == 10, seconds=30)  # type: ignore[attr-defined]
            marks = [str(item.label.render())[:2] for item in steps.children]  # type: ignore[attr-defined]
            assert marks[:10] == [" ✓"] * 10 and marks[10][0] == "→"
            assert "Step 10: " in str(app.screen.query_one("#reading").border_title)

    run(scenario())


def test_a_step_file_broken_after_loading_is_said_in_the_panel_not_a_crash(tmp_path: Path) -> None:
    import shutil as files

    from textual.app import App

    from labrunner.lab.loader import load_lab
    from labrunner.session.progress import Progress
    from labrunner.session.session import Session
    from labrunner.tui.workspace import WorkspaceScreen
    from tests.fakes import FakeCluster

    for folder in ("labs", "assets"):
        files.copytree(REPO / folder / "networkpolicies", tmp_path / folder / "networkpolicies")
    lab = load_lab(tmp_path / "labs" / "networkpolicies")
    lab.steps[1].instructions_path.write_bytes(b"\xff\xfe not UTF-8 any more")  # an editor saved it as UTF-16 meanwhile
    session = Session(lab, FakeCluster(), Progress(tmp_path / "p.sqlite3"))

    class Workspace(App[None]):
        def on_mount(self) -> None:
            self.push_screen(WorkspaceScreen(session))

    async def scenario() -> None:
        app = Workspace()
        async with app.run_test(size=(120, 36)) as pilot:
            await until(pilot, lambda: isinstance(app.screen, WorkspaceScreen) and "Check your cluster" in str(app.screen.query_one("#reading").border_title))
            await pilot.press("n")
            await until(pilot, lambda: "cannot be read now" in app.screen.query_one("#instructions").source)  # type: ignore[attr-defined]
            assert "not UTF-8 text" in app.screen.query_one("#instructions").source  # type: ignore[attr-defined]

    run(scenario())
