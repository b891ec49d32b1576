"""A workshop of five learners end to end, on a sandbox of this module's own with RBAC enforced:
init (twice: the second changes nothing), kubeconfigs, learner 1 with their kubeconfig and real
kubectl kept out of learner 2's namespace by the API server's own 403 and working in their own,
learner 1's labrunner publishing through the in-cluster store (and refused learner 2's record),
status, verify (agreeing, then disagreeing with a record that lies), the timer and an announcement
seen with a learner's credentials, doctor, reset, teardown leaving nothing labelled.

The CLI runs in this process (``labrunner.cli.main``): a cold start per command would cost more
than the workshop itself on a busy machine."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.sandboxes import KUBECTL, Kubectl, eventually, kubectl_for, start_sandbox

pytestmark = pytest.mark.skipif(KUBECTL is None, reason="kubectl is not on PATH")

WS = "kcd"
RECORDS = "labrunner-ws-kcd"
LEARNERS = ["01", "02", "03", "04", "05"]


def ns(learner: str) -> str:
    return f"{WS}-{learner}-workloaddemo"


class World:
    def __init__(self, kubeconfig: Path, kubectl: Kubectl, home: Path, out: Path) -> None:
        self.kubeconfig, self.kubectl, self.home, self.out = kubeconfig, kubectl, home, out

    def cli(self, *argv: str, code: int = 0, capsys: pytest.CaptureFixture[str]) -> tuple[str, str]:
        from labrunner.cli import main

        handlers = {number: signal.getsignal(number) for number in (signal.SIGTERM, signal.SIGHUP)}
        capsys.readouterr()
        try:
            returned = main(["workshop", *argv, "--kubeconfig", str(self.kubeconfig)])
        finally:
            for number, handler in handlers.items():
                signal.signal(number, handler)
        out, err = capsys.readouterr()
        assert returned == code, f"workshop {' '.join(argv)} exited {returned}\n{out}\n{err}"
        return out, err

    def learner(self, ident: str, *argv: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        environment = {**os.environ, "KUBECONFIG": str(self.out / f"learner-{ident}.yaml"), "HOME": str(self.home)}
        completed = subprocess.run([KUBECTL or "kubectl", *argv], capture_output=True, text=True, env=environment, timeout=90)
        if check:
            assert completed.returncode == 0, f"learner {ident}: kubectl {' '.join(argv)}: {completed.stderr}"
        return completed

    def port(self, ident: str | None = None) -> Any:
        from labrunner.cluster.kube import connect

        return connect(self.kubeconfig if ident is None else self.out / f"learner-{ident}.yaml")


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    from labrunner.sandbox.control import stop

    files = start_sandbox(tmp_path_factory.mktemp("workshop"))
    home = tmp_path_factory.mktemp("home")
    yield World(files.kubeconfig, kubectl_for(files, home), home, tmp_path_factory.mktemp("handouts") / "out")
    stop(files)


@pytest.fixture(scope="module")
def store(world: World) -> Iterator[Any]:
    """Learner 1's labrunner publishing, with learner 1's credentials (a heartbeat every second)."""
    from labrunner.workshop.store import ClusterProgressStore

    published = ClusterProgressStore(world.port("01"), WS, "01", heartbeat_seconds=1.0)
    yield published
    published.close()


def test_init_makes_the_workshop_and_running_it_again_changes_nothing(world: World, capsys: pytest.CaptureFixture[str]) -> None:
    out, err = world.cli("init", WS, "--lab", "workloads", "--learners", "5", capsys=capsys)
    assert f"created Namespace {RECORDS}" in out and f"created ConfigMap {RECORDS}/workshop (5 learners)" in out
    for learner in LEARNERS:
        for line in (f"created Namespace {ns(learner)}", f"created ResourceQuota {ns(learner)}/labrunner-workshop",
                     f"created LimitRange {ns(learner)}/labrunner-workshop", f"created RoleBinding {ns(learner)}/labrunner-workshop-learner",
                     f"created ServiceAccount {RECORDS}/learner-{learner}", f"created Secret {RECORDS}/learner-{learner}-token",
                     f"created Role {RECORDS}/learner-{learner}", f"created ConfigMap {RECORDS}/progress-{learner}",
                     f"created Lease {RECORDS}/heartbeat-{learner}"):
            assert line in out
    assert "5 learners" in err
    binding = json.loads(world.kubectl("get", "rolebinding", "labrunner-workshop-learner", "-n", ns("02"), "-o", "json").stdout)
    assert binding["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "admin"}
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "learner-02", "namespace": RECORDS}]
    labelled = world.kubectl("get", "namespaces", "-l", f"labrunner.dev/workshop={WS}", "-o", "name").stdout.split()
    assert sorted(labelled) == sorted([f"namespace/{RECORDS}", *(f"namespace/{ns(l)}" for l in LEARNERS)])

    world.kubectl("delete", "limitrange", "labrunner-workshop", "-n", ns("03"))
    again, err = world.cli("init", WS, "--lab", "workloads", "--learners", "5", capsys=capsys)
    assert [line for line in again.splitlines() if not line.startswith("unchanged")] == [
        f"created LimitRange {ns('03')}/labrunner-workshop"]
    assert "1 objects created, 0 put right" in err

    from labrunner.cli import main
    assert main(["workshop", "init", WS, "--lab", "networkpolicies", "--learners", "1", "--kubeconfig", str(world.kubeconfig)]) == 2
    assert "runs lab workloads, not networkpolicies" in capsys.readouterr().err


def test_each_learner_gets_a_private_kubeconfig_pinned_to_their_namespace(world: World, capsys: pytest.CaptureFixture[str]) -> None:
    import yaml

    out, _ = world.cli("kubeconfigs", WS, "--out", str(world.out), "--hours", "2", capsys=capsys)
    assert len(out.splitlines()) == 5
    for learner in LEARNERS:
        path = world.out / f"learner-{learner}.yaml"
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        document = yaml.safe_load(path.read_text())
        context = document["contexts"][0]["context"]
        assert context["namespace"] == ns(learner)
        assert context["extensions"][0]["name"] == "labrunner.dev/workshop"
        assert context["extensions"][0]["extension"]["learner"] == learner
    assert stat.S_IMODE(world.out.stat().st_mode) == 0o700
    sheet = (world.out / "learners.md").read_text()
    assert f"| 07 |" not in sheet and f"`labrunner tui --kubeconfig learner-05.yaml`" in sheet
    expires = out.splitlines()[0].rsplit("expires ", 1)[1]
    from labrunner.workshop.records import parse_stamp
    assert abs((parse_stamp(expires) or 0) - time.time() - 7200) < 120  # the expiry the server returned
    whoami = world.learner("01", "auth", "whoami", "-o", "jsonpath={.status.userInfo.username}").stdout
    assert whoami == f"system:serviceaccount:{RECORDS}:learner-01"


def test_learner_1_is_refused_learner_2_s_namespace_in_the_api_server_s_words(world: World) -> None:
    refused = world.learner("01", "get", "pods", "-n", ns("02"), check=False)
    assert refused.returncode == 1
    assert refused.stderr.strip() == (
        f'Error from server (Forbidden): pods is forbidden: User "system:serviceaccount:{RECORDS}:learner-01" '
        f'cannot list resource "pods" in API group "" in the namespace "{ns("02")}"')
    quota = world.learner("01", "delete", "resourcequota", "labrunner-workshop", check=False)
    assert "cannot delete resource \"resourcequotas\"" in quota.stderr
    account = world.learner("01", "create", "token", "learner-01", "-n", RECORDS, check=False)
    assert "cannot create resource \"serviceaccounts/token\"" in account.stderr


def test_learner_1_works_in_their_own_namespace(world: World) -> None:
    assert world.learner("01", "create", "deployment", "web", "--image=nginx:1.26", "--replicas=2").stdout.strip() == \
        "deployment.apps/web created"
    world.learner("01", "rollout", "status", "deployment/web", "--timeout=60s")
    pods = world.learner("01", "get", "pods", "-o", "json")
    assert len(json.loads(pods.stdout)["items"]) == 2


def test_learner_1_s_labrunner_publishes_and_may_not_write_learner_2_s_record(world: World, store: Any,
                                                                            tmp_path: Path) -> None:
    from labrunner.cluster import errors
    from labrunner.session.progress import FanOut, Progress
    from labrunner.session.session import Session
    from labrunner.workshop.service import load_lab
    from labrunner.workshop.store import ClusterProgressStore, PublishFailed

    lab = load_lab("workloads", {"namespace": ns("01")})
    session = Session(lab, world.port("01"), FanOut(Progress(tmp_path / "local.sqlite3"), store), learner="01")
    assert session.check().status == "passed"  # create-namespace: init made it
    assert session.check_until_passed(lab.step("deploy-web"), 60).status == "passed"
    session.check()  # scale-web: fails (2 of 4)
    store.show_hints(session.key, "scale-web", 1)
    store.flush()
    eventually(lambda: store.snapshot().current == "scale-web", "the record names the current step")
    assert store.problem is None

    learner2 = world.port("02")
    progress2 = world.port().get("configmaps", "progress-02", RECORDS)
    with pytest.raises(errors.Forbidden) as refused:
        world.port("01").update(progress2, RECORDS)
    assert refused.value.message == (f'Error from server (Forbidden): configmaps "progress-02" is forbidden: User '
                                     f'"system:serviceaccount:{RECORDS}:learner-01" cannot update resource "configmaps" in API group "" '
                                     f'in the namespace "{RECORDS}"')
    patched = world.learner("01", "patch", "configmap", "progress-02", "-n", RECORDS, "--type=merge", "-p", '{"data":{"current":"x"}}',
                            check=False)  # kubectl reads the object before it patches: refused there
    assert patched.stderr.strip() == (f'Error from server (Forbidden): configmaps "progress-02" is forbidden: User '
                                      f'"system:serviceaccount:{RECORDS}:learner-01" cannot get resource "configmaps" in API group "" '
                                      f'in the namespace "{RECORDS}"')
    own = world.learner("01", "patch", "configmap", "progress-01", "-n", RECORDS, "--type=merge", "-p", '{"data":{"raised-hand":"true"}}')
    assert own.stdout.strip() == "configmap/progress-01 patched"  # their own record is theirs (a claim)
    store.raise_hand(False)
    impostor = ClusterProgressStore(world.port("01"), WS, "02", heartbeat_seconds=3600)
    impostor.record(session.key, "create-namespace", "passed", [])
    with pytest.raises(PublishFailed) as failed:
        impostor.flush(10)
    assert isinstance(failed.value.cause, errors.Forbidden)
    impostor.close()
    assert learner2.get("configmaps", "progress-02", RECORDS)["data"]["steps"] == "{}"


def test_status_shows_the_room(world: World, store: Any, capsys: pytest.CaptureFixture[str]) -> None:
    out, _ = world.cli("status", WS, "--json", capsys=capsys)
    document = json.loads(out)
    first = next(learner for learner in document["learners"] if learner["id"] == "01")
    assert first["online"] and first["current"]["id"] == "scale-web" and first["passed"] == 2
    assert first["last_failure"]["step"] == "scale-web" and "web" in first["last_failure"]["message"]
    assert first["steps"]["deploy-web"] == {"status": "passed", "at": first["steps"]["deploy-web"]["at"], "message": None,
                                            "source": "self-reported"}
    others = [learner for learner in document["learners"] if learner["id"] != "01"]
    assert len(others) == 4 and all(not l["online"] and l["current"] is None for l in others)
    assert document["counts"]["scale-web"] == 1
    assert document["groups"] == [{"step": "scale-web", "check": first["last_failure"]["check"],
                                   "reason": first["last_failure"]["message"].replace(ns("01"), "{{namespace}}"), "learners": ["01"]}]
    text, _ = world.cli("status", WS, capsys=capsys)
    assert any(line.startswith("01 ") and " 2 scale-web " in line and "  2/15" in line for line in text.splitlines()), text


def test_verify_agrees_then_catches_a_record_that_lies(world: World, store: Any, capsys: pytest.CaptureFixture[str]) -> None:
    out, _ = world.cli("verify", WS, "1", "--json", capsys=capsys)
    document = json.loads(out)
    assert document["agree"] is True
    verdicts = {s["step"]: s for s in document["steps"]}
    assert verdicts["scale-web"]["verified"] == "failed" and verdicts["deploy-web"]["verified"] == "passed"

    from labrunner.session.progress import ProgressKey

    store.record(ProgressKey("workloads", "x", "01"), "scale-web", "passed", [])  # a claim the cluster does not back
    store.flush()
    out, _ = world.cli("verify", WS, "01", "--step", "scale-web", code=1, capsys=capsys)
    assert "claimed passed   verified failed   DISAGREES" in out

    rows = json.loads(world.cli("export", WS, "--json", capsys=capsys)[0])["rows"]
    mine = {row["step"]: row for row in rows if row["learner"] == "01"}
    assert mine["scale-web"]["source"] == "disputed" and mine["deploy-web"]["source"] == "verified"
    assert mine["rolling-update"]["status"] == "" and len(rows) == 5 * 15
    csv_out, _ = world.cli("export", WS, "--csv", capsys=capsys)
    assert csv_out.splitlines()[0].startswith("workshop,learner,name,number,step,title,status")


def test_the_timer_and_announcements_reach_a_learner(world: World, capsys: pytest.CaptureFixture[str]) -> None:
    from labrunner.workshop.reader import WorkshopWatcher

    seen: list[Any] = []
    watcher = WorkshopWatcher(world.port("03"), WS, seen.append, timeout_seconds=5)
    watcher.start()
    try:
        world.cli("timer", WS, "--minutes", "20", "--label", "steps 9-12", capsys=capsys)
        world.cli("announce", WS, "Break at three", capsys=capsys)
        eventually(lambda: bool(seen) and [a.text for a in seen[-1].announcements] == ["Break at three"],
                   "learner 3 sees the announcement")
        assert seen[-1].timer.label == "steps 9-12"
    finally:
        watcher.stop()


def test_doctor_proves_the_api_keeps_learners_apart_and_says_what_the_network_lacks(world: World,
                                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    out, _ = world.cli("doctor", WS, "--json", "--skip-images", code=1, capsys=capsys)
    findings = {f["id"]: f for f in json.loads(out)["findings"]}
    assert findings["api-isolation"]["status"] == "passed" and findings["api-isolation"]["details"] == []
    assert findings["network-policy"]["status"] == "failed"  # a fresh sandbox runs no Calico
    assert findings["cluster-policy"]["status"] == "info" and findings["cluster-policy"]["message"].startswith("none")


def test_reset_puts_one_learner_back_and_their_labrunner_follows(world: World, store: Any, capsys: pytest.CaptureFixture[str]) -> None:
    before = store.version()
    out, err = world.cli("reset", WS, "01", capsys=capsys)
    assert f"$ kubectl delete namespace {ns('01')} --ignore-not-found" in out
    assert f"created Namespace {ns('01')}" in out and f"created ResourceQuota {ns('01')}/labrunner-workshop" in out
    assert "back at the start of the lab" in err
    assert world.learner("01", "get", "deployments", "-o", "name").stdout == ""
    record = json.loads(world.cli("status", WS, "--json", capsys=capsys)[0])
    first = next(learner for learner in record["learners"] if learner["id"] == "01")
    assert first["current"] is None and first["steps"] == {}
    eventually(lambda: store.version() != before, "learner 1's store sees the reset")
    assert world.kubectl("get", "deployments", "-n", ns("02"), "-o", "name").stdout == ""  # nobody else touched


def test_teardown_revokes_the_tokens_and_leaves_nothing_labelled(world: World, store: Any, capsys: pytest.CaptureFixture[str]) -> None:
    store.close()
    out, err = world.cli("teardown", WS, capsys=capsys)
    assert out.splitlines()[0] == f"deleted Secret {RECORDS}/learner-01-token (its learner's tokens are revoked)"
    assert f"deleted Namespace {RECORDS}" in out
    left = world.kubectl("get", "namespaces,configmaps,serviceaccounts,secrets,roles,rolebindings,leases,resourcequotas,limitranges,pods",
                         "-A", "-l", f"labrunner.dev/workshop={WS}", "-o", "name")
    assert left.stdout == ""
    assert "Unauthorized" in world.learner("02", "get", "pods", check=False).stderr
    out, err = world.cli("teardown", WS, capsys=capsys)
    assert out == "" and "nothing labelled" in err
