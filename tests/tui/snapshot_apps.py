"""Apps for the SVG snapshots: the real screens over a recorded cluster, so every
pixel is the same on every machine (no sandbox timing, no absolute paths)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from textual.app import App

from labrunner.cluster import errors
from labrunner.cluster.port import ClusterInfo
from labrunner.lab.loader import load_lab
from labrunner.session.progress import Progress, ProgressKey
from labrunner.session.session import Session
from labrunner.tui.app import LabrunnerApp
from labrunner.tui.workspace import WorkspaceScreen
from tests.conftest import REPO


class RecordedCluster:
    """A cluster as recorded objects: two Ready nodes, no lab namespace yet."""

    def __init__(self) -> None:
        self.info = ClusterInfo(context="labrunner-sandbox", server="https://127.0.0.1:6443", namespace="default", is_sandbox=True)
        self.objects: dict[str, list[dict[str, Any]]] = {
            "namespaces": [{"metadata": {"name": n}, "status": {"phase": "Active"}} for n in ("default", "kube-system", "networkdemp")],
            "nodes": [{"metadata": {"name": f"node-{n}"}, "status": {"conditions": [{"type": "Ready", "status": "True"}]}} for n in (1, 2)],
        }
        self._quiet = threading.Event()
        self.reachable = True

    def _answer(self) -> None:
        if not self.reachable:
            raise errors.Unreachable(self.info.server, "connection refused")

    def version(self) -> dict[str, Any]:
        return {"gitVersion": "v1.32.2"}

    def list(self, kind: str, namespace: str | None = None, **_: Any) -> list[dict[str, Any]]:
        self._answer()
        return list(self.objects.get(kind, []))

    def get(self, kind: str, name: str, namespace: str | None = None) -> dict[str, Any]:
        self._answer()
        for obj in self.objects.get(kind, []):
            if obj["metadata"]["name"] == name:
                return obj
        raise errors.NotFound(f'{kind} "{name}" not found')

    def watch(self, kind: str, namespace: str | None = None, *, timeout_seconds: int = 60,
              cursor: dict[str, str] | None = None) -> Iterator[tuple[str, dict[str, Any]]]:
        self._quiet.wait(timeout_seconds)  # nothing ever changes
        return iter(())


class WorkspaceApp(App[None]):
    """The workspace on step 1 of the NetworkPolicy lab, before the namespace exists."""

    def __init__(self, state: Path) -> None:
        super().__init__()
        lab = load_lab(REPO / "labs" / "networkpolicies")
        progress = Progress(state / "progress.sqlite3")
        progress.record(ProgressKey(lab.id, "labrunner-sandbox"), "preflight", "passed", [])
        progress.move_to(ProgressKey(lab.id, "labrunner-sandbox"), "create-namespace")
        self.session = Session(lab, RecordedCluster(), progress)  # type: ignore[arg-type]

    def on_mount(self) -> None:
        self.push_screen(WorkspaceScreen(self.session))

    copy_command = LabrunnerApp.copy_command
    action_help = LabrunnerApp.action_help
    action_pick_lab = LabrunnerApp.action_pick_lab
    BINDINGS = LabrunnerApp.BINDINGS
