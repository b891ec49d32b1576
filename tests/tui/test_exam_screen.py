"""The exam screen with a real attempt on the sandbox: the countdown and the task's context and
namespace in view, flags and notes kept in the attempt's record, names to copy, no feedback
until submitting (with a confirmation), then the review; mastery mode's feedback per task; the
warnings as time runs out, and the submission when it has."""

from __future__ import annotations

import asyncio
import shutil
import time
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import Markdown, OptionList, Static, TextArea

from labrunner.cluster.kube import KubeCluster
from labrunner.exam.attempts import AttemptStore, ClusterChoice
from labrunner.exam.bank import bank
from labrunner.exam.service import StartOptions, start_attempt
from labrunner.session.progress import Progress
from labrunner.tui.dialogs import ConfirmScreen
from labrunner.tui.exam import ExamScreen, NamesScreen, ReviewScreen, exam_app
from tests.tui.test_app import until

pytestmark = pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not on PATH (task setups use it)")

TASKS = ("svc-expose-deployment", "wl-rollout-and-scale")


def started(cluster: KubeCluster, tmp_path: Path, *, mode: str = "exam", minutes: int = 30) -> tuple[Any, AttemptStore]:
    store = AttemptStore(tmp_path / "exams")
    progress = Progress(tmp_path / "progress.sqlite3")
    choice = ClusterChoice(sandbox=False, kubeconfig=str(cluster.info.kubeconfig[0]), context=cluster.info.context, name="labrunner-sandbox")
    result = start_attempt(bank()[0], cluster, choice, StartOptions(chosen=TASKS, minutes=minutes, mode=mode), store, progress,
                           seed=int(time.time()) % 100000)
    progress.close()
    return result, store


def text_of(screen: Any, selector: str) -> str:
    return str(screen.query_one(selector).render())


def test_a_candidate_flags_notes_copies_and_submits_then_reads_the_review(cluster: KubeCluster, tmp_path: Path) -> None:
    begun, store = started(cluster, tmp_path)
    attempt = begun.attempt

    async def scenario() -> None:
        app = exam_app(attempt, begun.tasks, cluster, store)
        async with app.run_test(size=(140, 40)) as pilot:
            await until(pilot, lambda: isinstance(app.screen, ExamScreen))
            screen = app.screen
            clock = text_of(screen, "#clock")
            assert clock.startswith(f"Exam {attempt.attempt} · ⏱ 0:29:") and "task 1 of 2" in clock and "no feedback until you submit" in clock
            statement = screen.query_one("#statement", Markdown)
            assert f"Namespace: {attempt.tasks[0].namespace}" in statement.source
            assert "reach" in statement.source and "✗" not in statement.source and "✓" not in statement.source  # the task, never a verdict

            await pilot.press("f")
            assert store.load(attempt.attempt).tasks[0].flagged
            screen.query_one("#notes", TextArea).focus()
            await pilot.press(*"svc later")
            screen.query_one("#tasks", OptionList).focus()
            await pilot.press("n")
            assert "task 2 of 2" in text_of(screen, "#clock")
            assert f"Namespace: {attempt.tasks[1].namespace}" in screen.query_one("#statement", Markdown).source

            await pilot.press("c")
            await until(pilot, lambda: isinstance(app.screen, NamesScreen))
            names = app.screen.query_one(OptionList)
            assert [str(names.get_option_at_index(i).prompt) for i in range(names.option_count)][:2] == [
                "context: labrunner-sandbox", f"namespace: {attempt.tasks[1].namespace}"]
            await pilot.press("escape")

            await pilot.press("ctrl+s")
            await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
            await pilot.press("y")
            await until(pilot, lambda: isinstance(app.screen, ReviewScreen), seconds=90)
            review = app.screen.query_one(Markdown).source
            assert "0 of 9 points, 0.0 %: not passed" in review
            assert "Your notes: svc later" in review and "Reference solution:" in review
        record = store.load(attempt.attempt)
        assert record.result is not None and record.tasks[0].notes == "svc later" and record.tasks[0].seconds > 0

    asyncio.run(scenario())


def test_mastery_mode_gives_a_task_s_feedback_when_done_and_time_running_out_warns_then_submits(cluster: KubeCluster, tmp_path: Path) -> None:
    begun, store = started(cluster, tmp_path, mode="mastery")
    attempt = begun.attempt

    async def scenario() -> None:
        app = exam_app(attempt, begun.tasks, cluster, store)
        async with app.run_test(size=(140, 40)) as pilot:
            await until(pilot, lambda: isinstance(app.screen, ExamScreen))
            screen = app.screen
            await pilot.press("d")
            feedback = screen.query_one("#feedback", Static)
            await until(pilot, lambda: feedback.has_class("-shown"))
            assert str(feedback.render()).startswith("Task 1: 0 of 4 points\n✗ a ClusterIP Service")

            attempt.deadline = time.time() + 14 * 60  # the 30- and 15-minute warnings are due
            screen.tick()
            await pilot.pause()
            assert sorted(screen.warned) == [15, 30]
            attempt.deadline = time.time() - 1
            screen.tick()
            await until(pilot, lambda: isinstance(app.screen, ReviewScreen), seconds=90)
        assert store.load(attempt.attempt).result is not None

    asyncio.run(scenario())
