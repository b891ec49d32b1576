"""The "Who may do what" view: the step's subjects against the verbs, each cell explained by
the RBAC engine, and a failed read said on the screen."""

from __future__ import annotations

import asyncio
from typing import Any

from textual.app import App

from labrunner.topics.rbac.grid import build_grid, wanted
from labrunner.topics.rbac.parse import policies_from_objects
from labrunner.topics.rbac.tui.access import AccessScreen
from tests.tui.test_app import until

OBJECTS = [
    {"kind": "Role", "metadata": {"name": "pod-reader", "namespace": "dev"},
     "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list", "watch"]}]},
    {"kind": "RoleBinding", "metadata": {"name": "reads", "namespace": "dev"},
     "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "pod-reader"},
     "subjects": [{"kind": "ServiceAccount", "name": "deployer", "namespace": "dev"}]},
    {"kind": "RoleBinding", "metadata": {"name": "jane", "namespace": "dev"},
     "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "missing"},
     "subjects": [{"kind": "User", "name": "jane", "apiGroup": "rbac.authorization.k8s.io"}]},
]


class Host(App[None]):
    def __init__(self, load: Any) -> None:
        super().__init__()
        self.load = load

    def on_mount(self) -> None:
        self.push_screen(AccessScreen("dev", self.load, title="Step 3: a Role for the deployer"))


def text_of(app: App[None], selector: str) -> str:
    return str(app.screen.query_one(selector).render())


def test_each_cell_is_decided_and_explained() -> None:
    subjects, resources = wanted([{"subject": {"serviceaccount": "dev:deployer"}, "resource": "pods", "verb": "list"}])

    def load() -> Any:
        return build_grid(policies_from_objects(OBJECTS), "dev", subjects, resources)

    async def scenario() -> None:
        app = Host(load)
        async with app.run_test(size=(130, 36)) as pilot:
            await until(pilot, lambda: "rows in namespace dev" in text_of(app, "#access-header"), 20)
            table: Any = app.screen.query_one("#access-grid")
            assert [str(row.label) for row in table.rows.values()] == ["ServiceAccount dev/deployer · pods", "User jane · pods"]
            assert "✓ ServiceAccount dev/deployer may get pods in dev" in text_of(app, "#access-explanation")
            assert "RoleBinding dev/reads binds Role dev/pod-reader" in text_of(app, "#access-explanation")
            await pilot.press("right", "right", "right")  # get list watch -> create
            assert "✗ ServiceAccount dev/deployer may not create pods in dev" in text_of(app, "#access-explanation")
            assert "allows get, list, watch on pods, not create" in text_of(app, "#access-explanation")
            await pilot.press("down")
            assert "RoleBinding dev/jane binds Role dev/missing to User jane, but that role does not exist" in text_of(app, "#access-explanation")
            await pilot.press("escape")
            assert not isinstance(app.screen, AccessScreen)

    asyncio.run(scenario())


def test_a_read_that_fails_is_said() -> None:
    def load() -> Any:
        raise RuntimeError("labrunner's credentials may not read the RBAC objects")

    async def scenario() -> None:
        app = Host(load)
        async with app.run_test(size=(110, 30)) as pilot:
            await until(pilot, lambda: "Could not read" in text_of(app, "#access-header"), 20)
            assert "may not read the RBAC objects" in text_of(app, "#access-header")

    asyncio.run(scenario())
