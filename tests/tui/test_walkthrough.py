"""The whole NetworkPolicy lab through the TUI on a sandbox, with the keys a learner
uses: for every step, s (see the solution), y (run it), and the check turns green;
n moves on."""

from __future__ import annotations

import asyncio
import shutil
from typing import Any

import pytest

from labrunner.tui.app import LabrunnerApp
from labrunner.tui.dialogs import ConfirmScreen
from labrunner.tui.widgets import StepList
from tests.tui.test_app import panel_text, until
from tests.sandboxes import TIME_SCALE


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not on PATH (solutions use it)")
def test_every_step_of_the_lab_turns_green_with_the_learners_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LABRUNNER_SANDBOX_TIME_SCALE", TIME_SCALE)

    async def scenario() -> None:
        app = LabrunnerApp(sandbox=True, lab_id="networkpolicies")
        async with app.run_test(size=(140, 44)) as pilot:
            await until(pilot, lambda: type(app.screen).__name__ == "WorkspaceScreen")
            screen: Any = app.screen
            passed = []
            for step in screen.lab.steps:
                if screen.step.id != step.id:
                    await pilot.press("n")
                assert screen.step.id == step.id
                await pilot.press("s")
                assert isinstance(app.screen, ConfirmScreen), step.id
                await pilot.press("y")
                # The solve ends with its own check; a watch may have turned the step green before.
                await until(pilot, lambda: not screen.busy and screen.outcomes[step.id].status == "passed" and "Step passed" in panel_text(app), 120)
                passed.append(step.id)
            assert passed == [step.id for step in screen.lab.steps]
            assert "That was the last step" in panel_text(app)
            labels = [str(item.label.render()) for item in app.screen.query_one(StepList).children]
            assert [label for label in labels if label[1] != "✓"] == []

    asyncio.run(scenario())
