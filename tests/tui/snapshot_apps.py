"""Apps for the SVG snapshots: the real screens over a recorded cluster, so every
pixel is the same on every machine (no sandbox timing, no absolute paths)."""

from __future__ import annotations

from pathlib import Path

from textual.app import App

from labrunner.lab.loader import load_lab
from labrunner.session.progress import Progress, ProgressKey
from labrunner.session.session import Session
from labrunner.tui.app import LabrunnerApp
from labrunner.tui.workspace import WorkspaceScreen
from tests.conftest import REPO
from tests.fakes import FakeCluster, namespace, node


def recorded_cluster() -> FakeCluster:
    """The sandbox as recorded objects: two Ready nodes, no lab namespace yet."""
    return FakeCluster({"namespaces": [namespace(n) for n in ("default", "kube-system", "networkdemp")],
                        "nodes": [node("node-1"), node("node-2")]})


class WorkspaceApp(App[None]):
    """The workspace on step 1 of the NetworkPolicy lab, before the namespace exists."""

    def __init__(self, state: Path) -> None:
        super().__init__()
        lab = load_lab(REPO / "labs" / "networkpolicies")
        progress = Progress(state / "progress.sqlite3")
        progress.record(ProgressKey(lab.id, "labrunner-sandbox"), "preflight", "passed", [])
        progress.move_to(ProgressKey(lab.id, "labrunner-sandbox"), "create-namespace")
        self.cluster = recorded_cluster()
        self.session = Session(lab, self.cluster, progress)

    def on_mount(self) -> None:
        self.push_screen(WorkspaceScreen(self.session))

    copy_command = LabrunnerApp.copy_command
    copy_requested = LabrunnerApp.copy_requested
    action_help = LabrunnerApp.action_help
    action_pick_lab = LabrunnerApp.action_pick_lab
    BINDINGS = LabrunnerApp.BINDINGS
