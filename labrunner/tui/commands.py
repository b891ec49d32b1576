"""The command palette's entries on the lab workspace (``Screen.COMMANDS``): the step's
actions, the views its checks offer, every step to go to and every command to copy.

Built when the palette opens, from the screen it was opened over, so they always match
the step on screen; the app adds only its own (cluster switching) to Textual's system
commands.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import partial
from typing import TYPE_CHECKING

from textual.command import DiscoveryHit, Hit, Hits, Provider

from labrunner.tui.messages import CopyRequested

if TYPE_CHECKING:
    from labrunner.tui.workspace import WorkspaceScreen

Entry = tuple[str, str, Callable[[], object]]


class WorkspaceCommands(Provider):
    def entries(self) -> Iterator[Entry]:
        from labrunner.tui.workspace import WorkspaceScreen

        screen = self.screen
        if not isinstance(screen, WorkspaceScreen):
            return
        workspace: WorkspaceScreen = screen
        yield "lab: Check the step", "run this step's checks now", workspace.action_check
        if workspace.session.rules.hints:
            yield "lab: Show hint", "reveal one more hint", workspace.action_hint
        if workspace.session.rules.solve:
            yield "lab: Reveal solution", "see the solution, run it after a confirmation", workspace.action_solution
        if workspace.session.rules.reset:
            yield "lab: Reset step", "undo this step on the cluster", workspace.action_reset
        yield "lab: Open a shell", "a shell with kubectl set up for this lab", workspace.action_shell
        for view, _ in workspace.views():
            yield f"lab: {view.label}", view.description, partial(workspace.action_view, view.id)
        for step in workspace.lab.steps:
            yield f"step: {step.number}. {step.title}", "go to this step", partial(workspace.go_to, step)
        for command in workspace.step.commands:
            yield f"copy: {command.run}", command.explain, partial(workspace.post_message, CopyRequested(command.run))

    async def discover(self) -> Hits:
        for name, help_text, callback in self.entries():
            yield DiscoveryHit(name, callback, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for name, help_text, callback in self.entries():
            if (score := matcher.match(name)) > 0:
                yield Hit(score, matcher.highlight(name), callback, help=help_text)
