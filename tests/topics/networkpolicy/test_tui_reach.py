"""ReachScreen driven with Pilot over the NetworkPolicy lab's own manifests."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable
from typing import Any

import yaml
from textual.app import App
from textual.pilot import Pilot
from textual.widgets import DataTable, Static

from tests.conftest import REPO
from labrunner.cluster.errors import Unreachable
from labrunner.topics.networkpolicy.tui.reach import ReachScreen

ASSETS = REPO / "assets" / "networkpolicies"
NS = "networkdemo"


def _documents(name: str) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all((ASSETS / name).read_text(encoding="utf-8")) if doc]


def _pod(namespace: str, name: str, labels: dict[str, str], ip: str, containers: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {
        "metadata": {"namespace": namespace, "name": name, "labels": labels},
        "spec": {"containers": containers or [{"name": "main", "image": "busybox"}]},
        "status": {"phase": "Running", "podIP": ip},
    }


def lab_pods() -> list[dict[str, Any]]:
    """The pods the lab's Deployments make (template labels and ports), a demopod, a probe, and kube-dns."""
    pods = []
    address = iter(range(10, 250))
    for manifest in ("mysqlpod.yaml", "app.yaml"):
        for doc in _documents(manifest):
            if doc["kind"] != "Deployment":
                continue
            template = doc["spec"]["template"]
            labels = {**template["metadata"]["labels"], "pod-template-hash": "5d8f7c"}
            for replica in range(doc["spec"].get("replicas", 1)):
                name = f"{doc['metadata']['name']}-5d8f7c-{replica}"
                pods.append(_pod(NS, name, labels, f"10.244.0.{next(address)}", template["spec"]["containers"]))
    pods.append(_pod(NS, "demopod", {"run": "demopod"}, f"10.244.0.{next(address)}"))
    pods.append(_pod(NS, "labrunner-probe-x1", {"app.kubernetes.io/managed-by": "labrunner", "run": "probe"}, f"10.244.0.{next(address)}"))
    dns_ports = [{"name": "dns", "containerPort": 53, "protocol": "UDP"}, {"name": "dns-tcp", "containerPort": 53, "protocol": "TCP"},
                 {"name": "metrics", "containerPort": 9153, "protocol": "TCP"}]
    for replica in range(2):
        pods.append(_pod("kube-system", f"coredns-7db6-{replica}", {"k8s-app": "kube-dns", "pod-template-hash": "7db6"},
                         f"10.244.1.{replica + 2}", [{"name": "coredns", "image": "coredns", "ports": dns_ports}]))
    return pods


def lab_policies(*names: str) -> list[dict[str, Any]]:
    policies = []
    for name in names:
        for doc in _documents(f"{name}.yaml"):
            doc["metadata"]["namespace"] = NS  # kubectl apply -n networkdemo
            policies.append(doc)
    return policies


NAMESPACES = [
    {"metadata": {"name": NS, "labels": {"kubernetes.io/metadata.name": NS}}},
    {"metadata": {"name": "kube-system", "labels": {"kubernetes.io/metadata.name": "kube-system"}}},
]


class ReachApp(App[None]):
    def __init__(self, screen: ReachScreen) -> None:
        super().__init__()
        self.reach_screen = screen

    def on_mount(self) -> None:
        self.push_screen(self.reach_screen)


def run(screen: ReachScreen, test: Callable[[Pilot[None], ReachScreen], Awaitable[None]]) -> None:
    async def main() -> None:
        app = ReachApp(screen)
        async with app.run_test(size=(120, 40)) as pilot:
            while not screen.is_mounted:  # pushed from on_mount; its own on_mount starts the worker
                await pilot.pause()
            await settle(pilot)
            await test(pilot, screen)

    asyncio.run(main())


async def settle(pilot: Pilot[None]) -> None:
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


def text(screen: ReachScreen, selector: str) -> str:
    return str(screen.query_one(selector, Static).content)


def row_key(table: DataTable[Any], label_part: str) -> Any:
    found = [key for key, row in table.rows.items() if label_part in str(row.label)]
    assert len(found) == 1, f"rows labelled {[str(r.label) for r in table.rows.values()]}"
    return found[0]


def column_key(table: DataTable[Any], label_part: str) -> Any:
    found = [key for key, column in table.columns.items() if label_part in str(column.label)]
    assert len(found) == 1, f"columns labelled {[str(c.label) for c in table.columns.values()]}"
    return found[0]


def cell(screen: ReachScreen, row: str, column: str) -> str:
    table = screen.query_one("#reach-grid", DataTable)
    return str(table.get_cell(row_key(table, row), column_key(table, column)))


async def choose(pilot: Pilot[None], screen: ReachScreen, row: str, column: str) -> None:
    """Walk the cursor to the cell with the arrow keys, as a learner would, and press enter."""
    table = screen.query_one("#reach-grid", DataTable)
    table.focus()
    target_row = table.get_row_index(row_key(table, row))
    target_column = table.get_column_index(column_key(table, column))
    await pilot.press("home", *["up"] * table.row_count, *["down"] * target_row, *["right"] * target_column, "enter")
    await pilot.pause()


def test_grid_shows_the_lab_policies_per_port_and_explains_a_denied_cell() -> None:
    called_from: list[threading.Thread] = []

    def load() -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
        called_from.append(threading.current_thread())
        return NAMESPACES, lab_pods(), lab_policies("deny-ingress-db", "allow-ingress-db")

    async def test(pilot: Pilot[None], screen: ReachScreen) -> None:
        assert called_from and called_from[0] is not threading.main_thread()
        assert text(screen, "#reach-header") == f"{NS}: 2 NetworkPolicies apply (deny-ingress-db, allow-ingress-db)"
        assert cell(screen, "app=interpoddemo ×3", "app=mysql") == "✓ 3306"
        assert cell(screen, "run=demopod", "app=mysql") == "✗ 3306"
        assert cell(screen, "run=demopod", "app=interpoddemo") == "✓ any"  # nothing isolates the web pods
        assert cell(screen, "run=demopod", "kube-dns") == "✓ any"
        assert cell(screen, "app=mysql", "203.0.113.10") == "✓ any"
        assert cell(screen, "app=mysql", "app=mysql") == "— itself"
        table = screen.query_one("#reach-grid", DataTable)
        shown = [str(r.label) for r in table.rows.values()] + [str(c.label) for c in table.columns.values()]
        assert not any("probe" in label for label in shown), shown

        await choose(pilot, screen, "run=demopod", "app=mysql")
        explained = text(screen, "#reach-explanation")
        assert "run=demopod → app=mysql" in explained
        assert "✗ denied on TCP 3306" in explained
        assert "isolated for ingress by deny-ingress-db, allow-ingress-db" in explained
        assert "deny-ingress-db has no ingress rules, so it allows nothing" in explained
        assert "allow-ingress-db rule 1 admits pods app=interpoddemo on TCP 3306, but demopod has run=demopod" in explained

        await choose(pilot, screen, "app=interpoddemo", "app=mysql")
        explained = text(screen, "#reach-explanation")
        assert "✓ allowed on TCP 3306" in explained
        assert "allow-ingress-db rule 1 (pods app=interpoddemo on TCP 3306) admits it" in explained

    run(ReachScreen(NS, load), test)


def test_dns_column_uses_the_dns_ports_and_egress_isolation_shows_per_port() -> None:
    def load() -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
        return NAMESPACES, lab_pods(), lab_policies("deny-all-egress")

    async def test(pilot: Pilot[None], screen: ReachScreen) -> None:
        assert cell(screen, "run=demopod", "kube-dns") == "✗ 53/UDP  ✗ 53"
        assert cell(screen, "run=demopod", "app=mysql") == "✗ 3306"
        await choose(pilot, screen, "run=demopod", "kube-dns")
        explained = text(screen, "#reach-explanation")
        assert "✗ denied on UDP 53" in explained and "✗ denied on TCP 53" in explained
        assert "isolated for egress by deny-all-egress" in explained

    run(ReachScreen(NS, load), test)


def test_no_policy_says_every_connection_is_allowed() -> None:
    async def test(pilot: Pilot[None], screen: ReachScreen) -> None:
        assert text(screen, "#reach-header") == f"no NetworkPolicy in {NS}: every connection is allowed"
        assert cell(screen, "run=demopod", "app=mysql") == "✓ any"

    run(ReachScreen(NS, lambda: (NAMESPACES, lab_pods(), [])), test)


def test_a_failing_load_shows_its_message_not_a_traceback() -> None:
    def load() -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
        raise Unreachable("https://127.0.0.1:6443")

    async def test(pilot: Pilot[None], screen: ReachScreen) -> None:
        error = text(screen, "#reach-error")
        assert "The connection to the server 127.0.0.1:6443 was refused" in error
        assert "labrunner sandbox start" in error  # the error's hint comes along
        assert screen.query_one("#reach-error").display and not screen.query_one("#reach-grid").display
        assert screen.reach is None
        assert pilot.app.screen is screen  # still up, nothing crashed

    run(ReachScreen(NS, load), test)


def test_reload_after_the_policies_change_updates_the_cell() -> None:
    policies = lab_policies("deny-ingress-db")

    async def test(pilot: Pilot[None], screen: ReachScreen) -> None:
        assert cell(screen, "app=interpoddemo", "app=mysql") == "✗ 3306"
        await choose(pilot, screen, "app=interpoddemo", "app=mysql")
        assert "✗ denied on TCP 3306" in text(screen, "#reach-explanation")

        policies.extend(lab_policies("allow-ingress-db"))
        await pilot.press("r")
        await settle(pilot)
        assert cell(screen, "app=interpoddemo", "app=mysql") == "✓ 3306"
        assert "✓ allowed on TCP 3306" in text(screen, "#reach-explanation")  # the cursor stayed on the cell

        policies.clear()
        screen.reload()  # what the app calls when the cluster changes
        await settle(pilot)
        assert text(screen, "#reach-header") == f"no NetworkPolicy in {NS}: every connection is allowed"
        assert cell(screen, "app=interpoddemo", "app=mysql") == "✓ any"

    run(ReachScreen(NS, lambda: (NAMESPACES, lab_pods(), list(policies))), test)


def test_escape_closes_the_screen() -> None:
    async def test(pilot: Pilot[None], screen: ReachScreen) -> None:
        await pilot.press("escape")
        await pilot.pause()
        assert pilot.app.screen is not screen

    run(ReachScreen(NS, lambda: (NAMESPACES, lab_pods(), [])), test)
