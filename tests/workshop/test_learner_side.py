"""A learner in a workshop, with nothing but the kubeconfig the instructor handed out: labrunner
recognises the workshop context, runs the workshop's lab in the learner's own namespaces,
publishes each check to the instructor, and shows the timer and announcements in the app."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import Static

from tests.sandboxes import KUBECTL, eventually, start_sandbox

pytestmark = pytest.mark.skipif(KUBECTL is None, reason="kubectl is not on PATH")

WS = "lrn"


class Room:
    def __init__(self, kubeconfig: Path, handouts: Path, state: Path) -> None:
        self.kubeconfig, self.handouts, self.state = kubeconfig, handouts, state

    def instructor(self, *argv: str) -> dict[str, Any] | str:
        from labrunner.cli import main

        handlers = {number: signal.getsignal(number) for number in (signal.SIGTERM, signal.SIGHUP)}
        try:
            completed = subprocess.run([sys.executable, "-m", "labrunner", "workshop", *argv, "--kubeconfig", str(self.kubeconfig)],
                                       capture_output=True, text=True, timeout=180, env=self.environment())
        finally:
            for number, handler in handlers.items():
                signal.signal(number, handler)
        assert completed.returncode == 0, completed.stderr
        return json.loads(completed.stdout) if "--json" in argv else completed.stdout

    def environment(self, **extra: str) -> dict[str, str]:
        return {**os.environ, "LABRUNNER_STATE_DIR": str(self.state), "LABRUNNER_WARM": "0", "HOME": str(self.state), **extra}

    def learner_file(self, ident: str) -> Path:
        return self.handouts / f"learner-{ident}.yaml"

    def labrunner(self, ident: str, *argv: str) -> subprocess.CompletedProcess[str]:
        """A learner's own labrunner, with their kubeconfig as KUBECONFIG and nothing else."""
        environment = self.environment(KUBECONFIG=str(self.learner_file(ident)))
        return subprocess.run([sys.executable, "-m", "labrunner", *argv], capture_output=True, text=True, env=environment, timeout=180)


@pytest.fixture(scope="module")
def room(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Room]:
    from labrunner.sandbox.control import stop

    files = start_sandbox(tmp_path_factory.mktemp("learner-side"))
    room = Room(files.kubeconfig, tmp_path_factory.mktemp("handouts") / "out", tmp_path_factory.mktemp("state"))
    room.instructor("init", WS, "--lab", "workloads", "--learners", "2")
    room.instructor("kubeconfigs", WS, "--out", str(room.handouts))
    yield room
    stop(files)


def namespace(ident: str) -> str:
    return f"{WS}-{ident}-workloaddemo"


def learner_state(room: Room, ident: str) -> dict[str, Any]:
    status = room.instructor("status", WS, "--json")
    assert isinstance(status, dict)
    return next(learner for learner in status["learners"] if learner["id"] == ident)


def test_a_learner_s_check_runs_in_their_namespace_and_reaches_the_instructor(room: Room) -> None:
    done = room.labrunner("01", "check", "workloads", "create-namespace", "--json")
    assert done.returncode == 0, done.stdout + done.stderr  # the instructor's init made the learner's namespace
    assert f"workshop {WS}, learner 01: your progress is shared with the instructor" in done.stderr
    assert namespace("01") in json.loads(done.stdout)["checks"][0]["message"]

    failing = room.labrunner("01", "check", "workloads", "deploy-web", "--json")
    assert failing.returncode == 1
    reason = json.loads(failing.stdout)["checks"][0]["message"]
    assert namespace("01") in reason

    state = learner_state(room, "01")
    assert state["steps"]["create-namespace"]["status"] == "passed" and state["current"]["id"] == "deploy-web"
    assert state["last_failure"]["message"] == reason
    assert learner_state(room, "02")["steps"] == {}  # learner 2 has done nothing: nothing of 01's is theirs


def test_a_learner_s_app_shows_the_workshop_and_an_announcement_as_it_is_made(room: Room, monkeypatch: pytest.MonkeyPatch) -> None:
    from labrunner.tui.app import LabrunnerApp
    from labrunner.tui.workspace import WorkspaceScreen
    from tests.tui.test_app import until

    monkeypatch.setenv("LABRUNNER_STATE_DIR", str(room.state / "learner-02"))

    async def scenario() -> None:
        app = LabrunnerApp(kubeconfig=room.learner_file("02"), context=f"{WS}-02")
        async with app.run_test(size=(140, 40)) as pilot:
            await until(pilot, lambda: isinstance(app.screen, WorkspaceScreen), seconds=90)
            screen = app.screen
            assert screen.lab.id == "workloads" and screen.lab.namespace == namespace("02")
            await until(pilot, lambda: bool(screen.query("#workshop")))  # composed
            line = screen.query_one("#workshop", Static)
            await until(pilot, lambda: str(line.render()).startswith(f"Workshop {WS} · learner 02"))
            room.instructor("announce", WS, "Break until 11:00")
            await until(pilot, lambda: "📣 Break until 11:00" in str(line.render()), seconds=30)
            room.instructor("timer", WS, "--minutes", "20", "--label", "steps 1-3")
            await until(pilot, lambda: "⏱ steps 1-3: 19:" in str(line.render()) or "⏱ steps 1-3: 20:" in str(line.render()), seconds=30)
        app.leave_workshop()

    asyncio.run(scenario())
    eventually(lambda: learner_state(room, "02")["steps"].get("create-namespace", {}).get("status") == "passed",
               "learner 2's first check, made by the app, published")


def test_the_instructor_s_steps_are_not_the_learner_s_to_solve_or_undo(room: Room) -> None:
    solve = room.labrunner("01", "solve", "workloads", "create-namespace")
    assert solve.returncode == 2
    assert ("running step 0's solution (it needs cluster-wide rights, which in this workshop only the instructor has) "
            "is not allowed in this mode") in solve.stderr
    undo = room.labrunner("01", "reset", "workloads")
    assert undo.returncode == 2 and "in this workshop the instructor resets learners" in undo.stderr


def test_a_failing_cluster_wide_step_says_it_is_the_instructor_s(lab_tree: Any, tmp_path: Path) -> None:
    from labrunner.lab.loader import load_lab
    from labrunner.session.progress import Progress
    from labrunner.session.session import INSTRUCTORS_STEP, Session
    from tests.fakes import FakeCluster
    from tests.session.test_selftest import LAB

    lab = load_lab(lab_tree(LAB.replace("  - id: first\n", "  - id: first\n    scope: cluster\n")))
    session = Session(lab, FakeCluster(), Progress(tmp_path / "p.sqlite3"), in_workshop=True)
    outcome = session.check(lab.step("first"))
    assert outcome.status == "failed" and outcome.results[0].hint == INSTRUCTORS_STEP
    assert session.check(lab.step("second")).results[0].hint != INSTRUCTORS_STEP  # a learner's own step keeps its hint
