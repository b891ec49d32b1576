"""The lab picker says what each lab needs and whether this cluster offers it."""

from __future__ import annotations

import asyncio
import shutil

import pytest

from textual.widgets import OptionList

from labrunner.tui.app import LabrunnerApp
from labrunner.tui.picker import LabPickerScreen, requirement_states
from tests.fakes import FakeCluster, named
from tests.tui.test_app import until

REFUSING = FakeCluster({"daemonsets": [named("kindnet", "kube-system", "DaemonSet")]}, refuse='RBAC: user "student" cannot do that')
"""Credentials that may read but not write, on a cluster with kindnet only."""


def test_refused_permissions_and_an_ignoring_cni_are_named() -> None:
    states = requirement_states(REFUSING, {"cluster-admin", "kube-system-write", "netpol-cni"})
    assert states["cluster-admin"][0] == "✗" and "may not create namespaces" in states["cluster-admin"][1]
    assert states["kube-system-write"] == ("✗", 'your credentials may not patch namespaces/kube-system (RBAC: user "student" cannot do that)')
    assert states["netpol-cni"] == ("○", "not yet: kindnet is installed, and it ignores NetworkPolicies")


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not on PATH")
def test_the_picker_checks_the_labs_requirements_on_the_sandbox() -> None:
    async def scenario() -> None:
        app = LabrunnerApp(sandbox=True)
        async with app.run_test(size=(120, 36)) as pilot:
            await until(pilot, lambda: isinstance(app.screen, LabPickerScreen) and bool(app.screen.states))
            picker = app.screen
            assert isinstance(picker, LabPickerScreen)
            labs = picker.query_one("#labs", OptionList)
            # Grouped by CKA domain, heaviest first: each domain a heading that cannot be opened.
            ids = [str(labs.get_option_at_index(index).id) for index in range(labs.option_count)]
            headings = [index for index, option in enumerate(ids) if option.startswith("domain:")]
            by_weight = ["domain:troubleshooting", "domain:cluster-architecture", "domain:services-networking",
                         "domain:workloads-scheduling", "domain:storage"]
            shown = [ids[index] for index in headings]
            assert shown == [domain for domain in by_weight if domain in shown] and set(by_weight[1:]) <= set(shown)
            assert all(labs.get_option_at_index(index).disabled for index in headings)
            assert ids.index("networkpolicies") > ids.index("domain:services-networking") > ids.index("rbac")
            assert "Services and Networking · 20 %" in str(labs.get_option_at_index(ids.index("domain:services-networking")).prompt)
            while labs.highlighted != ids.index("networkpolicies"):
                await pilot.press("down")
            await pilot.pause()
            about = str(picker.query_one("#detail").render())
            assert "CKA: Services and Networking" in about
            assert "✓ permission to create namespaces and cluster-scoped objects: your credentials may create namespaces" in about
            assert "✓ permission to label the kube-system namespace: your credentials may patch namespaces/kube-system" in about
            assert "○ a CNI that enforces NetworkPolicy (Calico, Cilium, ...): not yet: no NetworkPolicy-enforcing" in about
            assert "✓ kubectl on your PATH" in about
            await pilot.press("enter")
            await until(pilot, lambda: type(app.screen).__name__ == "WorkspaceScreen")

    asyncio.run(scenario())
