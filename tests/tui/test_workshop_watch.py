"""The instructor's screen (``labrunner workshop watch``) driven with Textual's Pilot, on a sandbox of
this module's own with RBAC enforced: a workshop of five learners from a roster, their progress
published with each learner's own credentials (the in-cluster store, as their labrunner does),
the grid, a failure joining its group while the screen watches, the projector view without
names, an announcement asked for then written to the workshop record, a learner's drill-down
(their checks, pods and events, verify, reset). One SVG snapshot of the grid over a recorded
room at a fixed time."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import DataTable, OptionList, Static

from labrunner.tui.dialogs import ConfirmScreen
from labrunner.tui.workshop_learner import LearnerScreen
from labrunner.tui.workshop_watch import AnnounceScreen, WorkshopWatchScreen, watch_app
from tests.sandboxes import KUBECTL, start_sandbox
from tests.tui.test_app import until

WS = "ww"
ROSTER = ["Ada Lovelace", "Grace Hopper", "Alan Turing", "Katherine Johnson", "Edsger Dijkstra"]
IDS = ["ada-lovelace", "grace-hopper", "alan-turing", "katherine-johnson", "edsger-dijkstra"]
SIZE = (160, 45)


def ns(ident: str) -> str:
    return f"{WS}-{ident}-workloaddemo"


def replicas_message(ident: str) -> str:
    return f"deployment web in {ns(ident)} has 2 ready replicas; this step wants 4"


class Room:
    """The workshop on its sandbox: the instructor's port, and each learner's store publishing with
    their own kubeconfig."""

    def __init__(self, instructor: Any, kubeconfigs: Path) -> None:
        self.instructor, self.kubeconfigs = instructor, kubeconfigs
        self.stores: dict[str, Any] = {}

    def store(self, ident: str) -> Any:
        from labrunner.cluster.kube import connect
        from labrunner.workshop.store import ClusterProgressStore

        if ident not in self.stores:
            self.stores[ident] = ClusterProgressStore(connect(self.kubeconfigs / f"learner-{ident}.yaml"), WS, ident, heartbeat_seconds=5)
        return self.stores[ident]

    def publish(self, ident: str, *, passed: tuple[str, ...] = (), on: str | None = None, failing: str = "", times: int = 1,
                hand: bool = False) -> None:
        from labrunner.session.progress import ProgressKey

        store, key = self.store(ident), ProgressKey("workloads", "x")
        for step in passed:
            store.move_to(key, step)
            store.record(key, step, "passed", [{"id": "done", "status": "passed"}])
        if on is not None:
            store.move_to(key, on)
            for _ in range(times if failing else 0):
                store.record(key, on, "failed", [{"id": "replicas-ready", "status": "failed", "message": failing}])
        if hand:
            store.raise_hand(True)
        store.flush()

    def app(self) -> Any:
        return watch_app(self.instructor, WS)


@pytest.fixture(scope="module")
def room(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Room]:
    from labrunner.cluster.kube import connect
    from labrunner.sandbox.control import stop
    from labrunner.workshop import names, service

    files = start_sandbox(tmp_path_factory.mktemp("workshop-watch"))
    instructor = connect(files.kubeconfig)
    service.init(instructor, WS, service.load_lab("workloads"), names.roster("\n".join(ROSTER)))
    out = tmp_path_factory.mktemp("handouts") / "out"
    service.write_kubeconfigs(instructor, WS, out, hours=1)
    world = Room(instructor, out)
    world.publish("ada-lovelace", passed=("create-namespace", "deploy-web"), on="scale-web", failing=replicas_message("ada-lovelace"), times=3)
    world.publish("alan-turing", passed=("create-namespace",), on="deploy-web", hand=True)
    world.publish("katherine-johnson", passed=("create-namespace", "deploy-web", "scale-web", "rolling-update"), on="bad-image")
    world.publish("edsger-dijkstra", on="create-namespace")
    yield world
    for store in world.stores.values():
        store.close()
    stop(files)


def grid_rows(screen: WorkshopWatchScreen) -> list[list[str]]:
    grid = screen.query_one("#grid", DataTable)
    return [[cell.plain if hasattr(cell, "plain") else str(cell) for cell in grid.get_row_at(index)] for index in range(grid.row_count)]


def groups_text(screen: WorkshopWatchScreen) -> str:
    groups = screen.query_one("#groups", OptionList)
    return "\n".join(str(groups.get_option_at_index(index).prompt) for index in range(groups.option_count))


async def opened(pilot: Any) -> WorkshopWatchScreen:
    app = pilot.app
    await until(pilot, lambda: isinstance(app.screen, WorkshopWatchScreen) and app.screen.query_one("#grid", DataTable).row_count == 5)
    return app.screen  # type: ignore[no-any-return]


def test_the_grid_shows_every_learner_stuck_first_with_their_steps(room: Room) -> None:
    async def scenario() -> None:
        app = room.app()
        async with app.run_test(size=SIZE) as pilot:
            screen = await opened(pilot)
            rows = grid_rows(screen)
            header = [str(column.label) for column in screen.query_one("#grid", DataTable).columns.values()]
            assert header == ["learner", "online", "steps 0     5     10", "step", "time on it", "stuck", "last failure"]
            by_name = {row[0]: row for row in rows}
            assert sorted(by_name) == sorted(ROSTER)
            # A raised hand, the same failure 3 times, no heartbeat (never started); then the others.
            assert [row[0] for row in rows[:3]] == ["Alan Turing", "Ada Lovelace", "Grace Hopper"]
            ada = by_name["Ada Lovelace"]
            assert ada[1:4] == ["yes", "      ✓✓→○○ ○○○○○ ○○○○○", "2 scale-web"]
            assert ada[5] == "same failure ×3" and ada[6].startswith("deployment web in ‹namespace› has 2 ready replicas")
            assert by_name["Alan Turing"][5] == "hand up"
            assert by_name["Katherine Johnson"][2].strip() == "✓✓✓✓→ ○○○○○ ○○○○○"
            assert by_name["Grace Hopper"][1:4] == ["no", "      ○○○○○ ○○○○○ ○○○○○", "not started"]
            head = str(screen.query_one("#head", Static).render())
            assert head.startswith(f"Workshop {WS} · 5 learners, 4 online · Workloads: Deployments")
            detail = str(screen.query_one("#detail", Static).render())
            assert detail.startswith("Alan Turing · ww-alan-turing-workloaddemo · raised a hand")

    asyncio.run(scenario())


def test_a_failure_a_learner_publishes_joins_its_group_while_the_screen_watches(room: Room) -> None:
    async def scenario() -> None:
        app = room.app()
        async with app.run_test(size=SIZE) as pilot:
            screen = await opened(pilot)
            assert groups_text(screen) == ("1 learner fails step 2, Scale the Deployment: deployment web in ‹namespace› has 2 ready "
                                           "replicas; this step wants 4\n    Ada Lovelace")
            room.publish("katherine-johnson", on="bad-image", failing="pod web-7d4b9c8f6-x2k9p is in ImagePullBackOff")
            room.publish("grace-hopper", passed=("create-namespace", "deploy-web"), on="scale-web", failing=replicas_message("grace-hopper"))
            await until(pilot, lambda: groups_text(screen).startswith("2 learners fail step 2"))
            assert groups_text(screen).splitlines() == [
                "2 learners fail step 2, Scale the Deployment: deployment web in ‹namespace› has 2 ready replicas; this step wants 4",
                "    Ada Lovelace, Grace Hopper",
                "1 learner fails step 4, Roll out an image that does not exist: pod web-… is in ImagePullBackOff",
                "    Katherine Johnson"]
            grace = next(row for row in grid_rows(screen) if row[0] == "Grace Hopper")
            assert grace[1:4] == ["yes", "      ✓✓→○○ ○○○○○ ○○○○○", "2 scale-web"]

    asyncio.run(scenario())


def test_the_projector_view_counts_steps_and_reasons_and_names_nobody(room: Room) -> None:
    async def scenario() -> None:
        app = room.app()
        async with app.run_test(size=(120, 40)) as pilot:
            screen = await opened(pilot)
            await pilot.press("p")
            await pilot.pause()
            assert not screen.query_one("#grid").display and screen.query_one("#projector").display
            shown = "\n".join(str(screen.query_one(part, Static).render()) for part in ("#head", "#said", "#projector"))
            assert "Why checks fail" in shown and "learners fail step 2, Scale the Deployment" in shown
            scale = next(line for line in shown.splitlines() if " Scale the Deployment " in line)
            assert scale.split()[:2] == ["2", "Scale"] and "█" in scale
            for person in (*ROSTER, *IDS, *(name.split()[0] for name in ROSTER)):
                assert person not in shown
            await pilot.press("p")
            await pilot.pause()
            assert screen.query_one("#grid").display and screen.focused is screen.query_one("#grid")

    asyncio.run(scenario())


def test_telling_the_room_asks_first_then_the_workshop_record_carries_it(room: Room) -> None:
    from labrunner.workshop.reader import read_workshop

    text = "Step 2: scale to 4"

    async def scenario() -> None:
        app = room.app()
        async with app.run_test(size=SIZE) as pilot:
            screen = await opened(pilot)
            await pilot.press("g")
            await pilot.press("a")
            await until(pilot, lambda: isinstance(app.screen, AnnounceScreen))
            assert app.screen.query_one("Input").value == "Step 2: "  # the highlighted group's step
            await pilot.press(*"scale to 4", "enter")
            await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
            assert app.screen.question == "Send this to all 5 learners?" and app.screen.body == text
            await pilot.press("n")
            assert app.screen is screen and read_workshop(room.instructor, WS).announcements == ()
            await pilot.press("a")
            await until(pilot, lambda: isinstance(app.screen, AnnounceScreen))
            await pilot.press(*"scale to 4", "enter")
            await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
            await pilot.press("y")
            await until(pilot, lambda: str(screen.query_one("#said", Static).render()).startswith("Announced"))
            assert str(screen.query_one("#said", Static).render()).endswith(f": {text}")
        assert [a.text for a in read_workshop(room.instructor, WS).announcements] == [text]

    asyncio.run(scenario())


def test_the_drill_down_shows_a_learner_s_checks_pods_and_events_and_verifies_them(room: Room) -> None:
    async def scenario() -> None:
        app = room.app()
        async with app.run_test(size=SIZE) as pilot:
            screen = await opened(pilot)
            index = next(i for i, row in enumerate(grid_rows(screen)) if row[0] == "Ada Lovelace")
            screen.query_one("#grid", DataTable).move_cursor(row=index)
            await pilot.press("enter")
            await until(pilot, lambda: isinstance(app.screen, LearnerScreen))
            learner = app.screen
            head = str(learner.query_one("#head", Static).render())
            assert head.startswith("Learner Ada Lovelace (ada-lovelace) · ww-ada-lovelace-workloaddemo · online")
            assert "step 2 scale-web for" in head and "2/15 passed" in head
            claims = str(learner.query_one("#claims", Static).render()).splitlines()
            assert claims[0].startswith("✓  0 Create the lab's namespace") and "passed" in claims[0]
            assert claims[2].startswith("→  2 Scale the Deployment") and " failed " in claims[2]
            assert " ".join(line.strip() for line in claims[3:5]).startswith(replicas_message("ada-lovelace"))
            await until(pilot, lambda: "Namespace ww-ada-lovelace-workloaddemo" in str(learner.query_one("#namespace", Static).render()))
            assert "no pods" in str(learner.query_one("#namespace", Static).render())

            await pilot.press("v")  # her record claims deploy-web passed; the cluster has no Deployment
            await until(pilot, lambda: learner.query_one("#acted").border_title.startswith("Verified"), 60)
            outcome = str(learner.query_one("#outcome", Static).render())
            assert learner.query_one("#acted").border_title == "Verified: their record DISAGREES"
            assert any(line.startswith("✗ DISAGREES  1. deploy-web") for line in outcome.splitlines()), outcome
            await until(pilot, lambda: "DISPUTED" in str(learner.query_one("#claims", Static).render()))  # the verification, watched
            await pilot.press("escape")
            assert app.screen is screen

    asyncio.run(scenario())


@pytest.mark.skipif(KUBECTL is None, reason="kubectl is not on PATH (the lab's reset commands use it)")
def test_reset_asks_then_puts_the_learner_back_at_the_start(room: Room) -> None:
    async def scenario() -> None:
        app = room.app()
        async with app.run_test(size=SIZE) as pilot:
            screen = await opened(pilot)
            index = next(i for i, row in enumerate(grid_rows(screen)) if row[0] == "Katherine Johnson")
            screen.query_one("#grid", DataTable).move_cursor(row=index)
            await pilot.press("enter")
            await until(pilot, lambda: isinstance(app.screen, LearnerScreen))
            learner = app.screen
            await pilot.press("x")
            await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
            assert app.screen.question == "Reset learner Katherine Johnson (katherine-johnson)?"
            await pilot.press("y")
            await until(pilot, lambda: learner.query_one("#acted").border_title == "Reset", 90)
            outcome = str(learner.query_one("#outcome", Static).render())
            assert "$ kubectl delete namespace ww-katherine-johnson-workloaddemo --ignore-not-found" in outcome
            assert outcome.endswith("Learner katherine-johnson is back at the start of the lab; their labrunner follows within half a minute.")
            await until(pilot, lambda: "not started" in str(learner.query_one("#head", Static).render()))

    asyncio.run(scenario())


# -- the snapshot: a recorded room at a fixed time ------------------------------------------------------------

T = 1_700_000_000.0


def recorded_room() -> Any:
    """The workshop's records as the cluster would hold them, at fixed times (no sandbox)."""
    from labrunner.workshop import names
    from labrunner.workshop.records import LearnerEntry, ProgressRecord, WorkshopRecord, micro_stamp
    from tests.fakes import FakeCluster

    namespace = names.namespace(WS)
    learners = {ident: LearnerEntry(ident, name, {"namespace": ns(ident)}, (ns(ident),)) for ident, name in zip(IDS, ROSTER)}
    record = WorkshopRecord(WS, "workloads", learners).with_timer(20, "steps 2-4", T - 8 * 60).announcing("Break at three", T - 240)

    def progress(*passed: str, on: str, failing: str = "", times: int = 1, hand: bool = False, since: float = 0) -> ProgressRecord:
        made = ProgressRecord(lab="workloads", learner="x")
        moment = T - 1800
        for step in passed:
            made = made.with_move(step, moment).with_result(step, "passed", [], moment + 60)
            moment += 120
        made = made.with_move(on, T - since)
        for _ in range(times if failing else 0):
            made = made.with_result(on, "failed", [{"id": "replicas-ready", "status": "failed", "message": failing}], T - 30)
        return made.with_hand(hand, T - 20) if hand else made

    records = {
        "ada-lovelace": progress("create-namespace", "deploy-web", on="scale-web", failing=replicas_message("ada-lovelace"), times=3, since=600),
        "grace-hopper": progress("create-namespace", "deploy-web", on="scale-web", failing=replicas_message("grace-hopper"), since=300),
        "alan-turing": progress("create-namespace", on="deploy-web", hand=True, since=900),
        "katherine-johnson": progress("create-namespace", "deploy-web", "scale-web", "rolling-update", on="bad-image", since=60),
    }

    def configmap(name: str, data: dict[str, str]) -> dict[str, Any]:
        return {"kind": "ConfigMap", "metadata": {"name": name, "namespace": namespace, "labels": {names.LABEL: WS}, "resourceVersion": "1"},
                "data": data}

    configmaps = [configmap(names.WORKSHOP_CONFIGMAP, record.encode())]
    configmaps += [configmap(names.progress(ident), made.encode()) for ident, made in records.items()]
    leases = [{"kind": "Lease", "metadata": {"name": names.heartbeat(ident), "namespace": namespace, "labels": {names.LABEL: WS},
                                             "resourceVersion": "1"},
               "spec": {"holderIdentity": ident, "renewTime": micro_stamp(T - 10)}} for ident in records]
    return FakeCluster({"configmaps": configmaps, "leases": leases})


def test_snapshot_of_the_room(snap_compare: Any) -> None:
    cluster = recorded_room()

    async def read(pilot: Any) -> None:
        await opened(pilot)
        await pilot.pause()

    try:
        assert snap_compare(watch_app(cluster, WS, clock=lambda: T), terminal_size=(130, 30), run_before=read)
    finally:
        cluster.quiet.set()  # the watcher's quiet watches end
