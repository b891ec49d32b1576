"""The Session on the sandbox: auto-advance, jumping ahead, progressive hints, reset
of every step, the whole lab's reset, and re-checking when the cluster changes."""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
from pathlib import Path

import pytest

from labrunner.cluster.kube import KubeCluster, connect
from labrunner.lab.loader import load_lab
from labrunner.session.actions import run_commands
from labrunner.session.progress import Progress
from labrunner.session.session import Session, StepOutcome
from tests.conftest import REPO

pytestmark = pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not on PATH (solutions and resets use it)")


def session_for(cluster: KubeCluster, tmp_path: Path, namespace: str) -> Session:
    lab = load_lab(REPO / "labs" / "networkpolicies", {"namespace": namespace})
    return Session(lab, cluster, Progress(tmp_path / "progress.sqlite3"))


def kubectl(cluster: KubeCluster, *arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["kubectl", *arguments], capture_output=True, text=True, timeout=60,
                          env={**os.environ, "KUBECONFIG": str(cluster.info.kubeconfig[0])})


def test_a_passing_step_makes_the_next_current_and_jumping_ahead_names_what_is_missing(cluster: KubeCluster, tmp_path: Path) -> None:
    session = session_for(cluster, tmp_path, "jumper")
    assert session.current.id == "preflight"
    assert session.check().status == "passed"
    assert session.current.id == "create-namespace"
    assert session.check().status == "failed"
    assert session.current.id == "create-namespace"

    missing = session.jump(session.lab.step("deny-ingress"))
    assert session.current.id == "deny-ingress"
    assert [outcome.step.id for outcome in missing] == ["create-namespace", "deploy-mysql", "expose-mysql", "deploy-app", "expose-app", "seed-db", "install-calico"]
    assert "jumper" in missing[0].unmet[0].message
    assert any("mysql" in result.message for result in missing[1].unmet)
    assert session.jump(session.lab.step("preflight")) == [] and session.current.id == "preflight"  # back, to a step that passed


def test_hints_come_one_at_a_time_and_are_remembered(cluster: KubeCluster, tmp_path: Path) -> None:
    session = session_for(cluster, tmp_path, "hinted")
    step = session.lab.step("deploy-mysql")
    assert session.hints(step).shown == ()
    first = session.next_hint(step)
    assert first.shown == step.hints[:1] and not first.exhausted
    again = session_for(cluster, tmp_path, "hinted")  # a new session, as after a restart
    assert again.hints(step).shown == step.hints[:1]
    for _ in range(5):
        last = again.next_hint(step)
    assert last.shown == step.hints and last.exhausted


def test_every_step_is_undone_by_its_reset_in_reverse_order(cluster: KubeCluster, tmp_path: Path) -> None:
    session = session_for(cluster, tmp_path, "undoer")
    steps = [s for s in session.lab.steps if s.id != "cleanup"]
    for step in steps:
        solved = session.solve(step)
        assert solved.failed_action is None, solved.failed_action
        assert solved.outcome is not None and solved.outcome.status == "passed", (step.id, solved.outcome.unmet)

    undone = []
    for step in reversed(steps):
        commands = session.reset_commands(step)
        actions = session.reset(step)
        assert all(a.exit_code == 0 for a in actions), (step.id, actions)
        assert session.current.id == step.id
        if commands:
            undone.append(step.id)
            assert session.check(step).status != "passed", f"step {step.id} still passes after its reset"
    assert set(undone) == {s.id for s in steps} - {"preflight", "baseline-probe"}
    assert kubectl(cluster, "get", "namespace", "undoer").returncode != 0


def test_the_whole_lab_reset_deletes_its_namespace_and_forgets_progress(cluster: KubeCluster, tmp_path: Path) -> None:
    session = session_for(cluster, tmp_path, "wholelab")
    for step in session.lab.steps[:2]:
        assert session.solve(step).outcome.status == "passed"  # type: ignore[union-attr]
    assert session.current.id == "deploy-mysql"
    kubectl(cluster, "label", "namespace", "kube-system", "name=kube-system", "--overwrite")
    actions = session.reset()
    assert [a.exit_code for a in actions] == [0] * len(actions)
    assert kubectl(cluster, "get", "namespace", "wholelab").returncode != 0
    assert "name" not in kubectl(cluster, "get", "namespace", "kube-system", "-o", "jsonpath={.metadata.labels}").stdout.replace("metadata.name", "")
    assert session.current.id == "preflight" and session.last_results() == {}


def test_a_failing_reset_keeps_progress_and_says_which_command(cluster: KubeCluster, tmp_path: Path) -> None:
    session = session_for(cluster, tmp_path, "nothere")
    session.progress.record(session.key, "nodeport", "passed", [])
    actions = session.reset(session.lab.step("nodeport"))
    assert actions[-1].exit_code != 0 and "kubectl patch service interpoddemo" in actions[-1].command
    assert "not found" in actions[-1].output
    assert session.last_results()["nodeport"][0] == "passed"


def test_watching_rechecks_the_current_step_when_the_learner_changes_the_cluster(cluster: KubeCluster, tmp_path: Path) -> None:
    session = session_for(cluster, tmp_path, "watched")
    session.jump(session.lab.step("create-namespace"))
    seen: list[tuple[StepOutcome, list[str]]] = []
    arrived = threading.Event()

    def on_outcome(outcome: StepOutcome, reasons: list[str]) -> None:
        seen.append((outcome, reasons))
        if outcome.status == "passed":
            arrived.set()

    watcher = session.watch(on_outcome)
    try:
        assert kubectl(cluster, "create", "namespace", "watched").returncode == 0
        assert arrived.wait(30), seen
    finally:
        session.unwatch()
    outcome, reasons = seen[-1]
    assert outcome.step.id == "create-namespace"
    assert any(reason.endswith("namespaces/watched") for reason in reasons)
    assert session.current.id == "deploy-mysql"
    assert watcher.stopped


def test_commands_and_shell_checks_reach_the_session_context_and_see_the_lab_parameters(cluster: KubeCluster, tmp_path: Path) -> None:
    # The learner's current context points elsewhere; labrunner was told to use the sandbox's.
    elsewhere = tmp_path / "elsewhere.yaml"
    elsewhere.write_text(
        "apiVersion: v1\nkind: Config\ncurrent-context: elsewhere\n"
        "contexts: [{name: elsewhere, context: {cluster: nowhere, user: nobody}}]\n"
        "clusters: [{name: nowhere, cluster: {server: 'https://127.0.0.1:1'}}]\nusers: [{name: nobody, user: {token: x}}]\n")
    before = elsewhere.read_bytes()
    files = [elsewhere, *cluster.info.kubeconfig]
    port = connect(Path(os.pathsep.join(map(str, files))), "labrunner-sandbox")
    assert port.info.context == "labrunner-sandbox"
    session = Session(load_lab(REPO / "labs" / "networkpolicies", {"namespace": "shelly"}), port, Progress(tmp_path / "p.sqlite3"))

    [created] = run_commands(["kubectl create namespace $LAB_NAMESPACE"], port.info, session.lab.placeholder_values)
    assert created.exit_code == 0, created.output
    assert kubectl(cluster, "get", "namespace", "shelly").returncode == 0

    from labrunner.checks.runner import run_check
    from labrunner.lab.model import Check

    step = session.lab.step("create-namespace")
    script = 'kubectl get namespace "$LAB_NAMESPACE" && test -f "$LAB_ASSETS/db.txt"'
    passing = Check(kind="shell", id="s", says="a shell check", advisory=False, args={"script": script}, location=step.location)
    assert run_check(passing, step, port, session.lab.placeholder_values).status == "passed"
    failing = Check(kind="shell", id="s", says="a shell check", advisory=False, args={"script": "kubectl get namespace nothere-at-all"},
                    location=step.location)
    result = run_check(failing, step, port, session.lab.placeholder_values)
    assert result.status == "failed" and 'namespaces "nothere-at-all" not found' in result.message  # kubectl's own words lead
    assert result.details == ("(the script exited with 1, expected 0)",)
    assert elsewhere.read_bytes() == before  # the learner's kubeconfig is never rewritten


def test_a_step_whose_checks_no_watch_can_see_is_re_checked_by_polling(cluster: KubeCluster, tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    session = session_for(cluster, tmp_path, "polled")
    step = session.lab.step("fix-broken-policy")  # its policy-lint check reads the learner's file
    session.jump(step)
    assert session.check().status != "passed"
    seen: list[tuple[StepOutcome, list[str]]] = []
    linted = threading.Event()

    def on_outcome(outcome: StepOutcome, reasons: list[str]) -> None:
        seen.append((outcome, reasons))
        if any(r.id.endswith("policy-lint") and r.status == "failed" for r in outcome.results):
            linted.set()

    session.watch(on_outcome, poll=0.2)
    try:
        shutil.copy(REPO / "assets" / "networkpolicies" / "ingress-egress-policy-broken.yaml", tmp_path / "ingress-egress-policy.yaml")
        assert linted.wait(20), seen
    finally:
        session.unwatch()
    outcome, reasons = seen[-1]
    assert outcome.step.id == "fix-broken-policy" and "no watch reports" in reasons[0]
    assert [r.message for r in outcome.results if r.id.endswith("policy-lint")][0].startswith("ingress-egress-policy.yaml has 4 mistakes")


def test_closing_the_session_cuts_a_long_command_short(cluster: KubeCluster, tmp_path: Path) -> None:
    session = session_for(cluster, tmp_path, "closer")
    stopper = threading.Timer(0.5, session.close)
    stopper.start()
    [result] = run_commands(["echo started; sleep 30; echo never"], cluster.info, stop=session.closing)
    assert result.exit_code == 130 and "started" in result.output and "never" not in result.output
    assert result.output.endswith("stopped: labrunner is closing")


def test_a_watch_resumes_where_the_last_one_ended(cluster: KubeCluster) -> None:
    cursor: dict[str, str] = {}
    assert list(cluster.watch("namespaces", timeout_seconds=1, cursor=cursor)) == []
    assert cursor["resourceVersion"]
    kubectl(cluster, "create", "namespace", "in-the-gap")  # while nobody watches
    seen = []
    for event, obj in cluster.watch("namespaces", timeout_seconds=2, cursor=cursor):
        seen.append((event, obj["metadata"]["name"]))
        if obj["metadata"]["name"] == "in-the-gap":
            break
    assert ("ADDED", "in-the-gap") in seen
