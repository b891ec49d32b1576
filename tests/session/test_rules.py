"""The Session under Rules, against the shared fake cluster (namespaces only): an exam is a
rules value (no hints, no solution, no feedback, no auto-advance), graded at the end."""

from __future__ import annotations

from pathlib import Path

import pytest

from labrunner.cluster.port import ClusterInfo
from labrunner.lab.loader import load_lab
from labrunner.session.progress import Progress
from labrunner.session.rules import EXAM, NotAllowed
from labrunner.session.session import Session
from tests.conftest import REPO
from tests.fakes import FakeCluster, namespace


@pytest.fixture
def exam(tmp_path: Path) -> tuple[Session, FakeCluster]:
    cluster = FakeCluster(info=ClusterInfo(context="fake", server="https://fake", namespace="default", is_sandbox=False))
    lab = load_lab(REPO / "labs" / "networkpolicies")
    return Session(lab, cluster, Progress(tmp_path / "p.sqlite3"), rules=EXAM, attempt="attempt-1"), cluster


def test_an_exam_gives_no_hint_no_solution_and_no_reset(exam: tuple[Session, FakeCluster]) -> None:
    session, _ = exam
    step = session.lab.step("create-namespace")
    assert session.hints(step).total == 0
    for ask in (lambda: session.next_hint(step), lambda: session.solution_commands(step), lambda: session.reset_commands(step)):
        with pytest.raises(NotAllowed):
            ask()


def test_an_exam_check_is_recorded_but_its_verdict_waits_for_the_grade(exam: tuple[Session, FakeCluster]) -> None:
    session, cluster = exam
    step = session.lab.step("create-namespace")
    session.go(step)
    shown = session.check()
    assert shown.status == "pending" and all("verdict comes at the end" in r.message for r in shown.results)
    assert session.last_results() == {"create-namespace": ("pending", ())}
    assert session.progress.results(session.key)["create-namespace"].status == "failed"  # recorded in full
    cluster.add(namespace("networkdemo"))
    assert session.check().status == "pending" and session.current.id == "create-namespace"  # no auto-advance
    grade = session.grade()
    by_step = {outcome.step.id: outcome.status for outcome in grade.outcomes}
    assert by_step["create-namespace"] == "passed" and by_step["deploy-mysql"] == "failed"
    assert 0 < grade.checks_passed < grade.checks_total and grade.steps_passed >= 1


def test_practice_and_exam_progress_are_kept_apart(exam: tuple[Session, FakeCluster], tmp_path: Path) -> None:
    session, cluster = exam
    cluster.add(namespace("networkdemo"))
    session.grade()
    practice = Session(session.lab, cluster, session.progress)  # type: ignore[arg-type]
    assert practice.last_results() == {} and practice.key.attempt == "" and session.key.attempt == "attempt-1"


def test_an_exam_says_no_diagnosis_before_the_grade(exam: tuple[Session, FakeCluster]) -> None:
    """A near miss ('there is a Namespace networkdemp') is a diagnosis: with feedback off it
    is neither in a check's answer nor in what a jump says is missing before a step."""
    session, cluster = exam
    cluster.add(namespace("networkdemp"))
    step = session.lab.step("create-namespace")
    session.go(step)
    shown = session.check()
    assert all("networkdemp" not in r.message and not r.details for r in shown.results)
    assert session.jump(session.lab.step("deploy-app")) == []  # the missing namespace is a verdict too
    [graded] = [o for o in session.grade().outcomes if o.step.id == "create-namespace"]
    assert any("networkdemp" in r.message for r in graded.results)  # the grade says it whole
