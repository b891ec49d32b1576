"""The watch's re-check of the current step, when another process moves the learner on
while it runs (``labrunner solve`` in another terminal): its verdict is dropped, not
recorded over what the other process recorded since."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from labrunner.lab.loader import load_lab
from labrunner.session.progress import Progress
from labrunner.session.session import Session
from tests.conftest import REPO
from tests.fakes import FakeCluster, namespace


def session_on(tmp_path: Path, cluster: FakeCluster) -> Session:
    session = Session(load_lab(REPO / "labs" / "networkpolicies"), cluster, Progress(tmp_path / "p.sqlite3"))
    session.go(session.lab.step("create-namespace"))
    return session


def test_a_recheck_outrun_by_another_process_records_nothing(tmp_path: Path) -> None:
    cluster = FakeCluster()
    session = session_on(tmp_path, cluster)
    elsewhere = Progress(tmp_path / "p.sqlite3")  # another process's connection to the same store
    reading = cluster.get

    def get(kind: str, name: str, namespace: str | None = None) -> dict[str, Any]:
        elsewhere.record(session.key, "create-namespace", "passed", [])  # it solved the step meanwhile
        elsewhere.move_to(session.key, "deploy-mysql")
        return reading(kind, name, namespace)

    cluster.get = get  # type: ignore[method-assign]
    assert session.recheck() is None
    assert session.progress.results(session.key)["create-namespace"].status == "passed"  # its pass stands
    assert session.current.id == "deploy-mysql"


def test_a_recheck_of_the_step_still_current_records_and_moves_on(tmp_path: Path) -> None:
    cluster = FakeCluster({"namespaces": [namespace("networkdemo")]})
    session = session_on(tmp_path, cluster)
    outcome = session.recheck()
    assert outcome is not None and outcome.status == "passed"
    assert session.progress.results(session.key)["create-namespace"].status == "passed"
    assert session.current.id == "deploy-mysql"


def test_a_recheck_outrun_by_a_result_recorded_elsewhere_records_nothing(tmp_path: Path) -> None:
    """The other process recorded its pass and has not yet moved the learner on."""
    cluster = FakeCluster()
    session = session_on(tmp_path, cluster)
    elsewhere = Progress(tmp_path / "p.sqlite3")
    reading = cluster.get

    def get(kind: str, name: str, namespace: str | None = None) -> dict[str, Any]:
        elsewhere.record(session.key, "create-namespace", "passed", [])
        return reading(kind, name, namespace)

    cluster.get = get  # type: ignore[method-assign]
    assert session.recheck() is None
    assert session.progress.results(session.key)["create-namespace"].status == "passed"
