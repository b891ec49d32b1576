"""Deployment rollouts on the sandbox, driven by the real kubectl: rolling updates in steps
that keep availability and surge within bounds, Recreate, a stuck rollout, revision history,
undo, pause/resume and restart. Never a timing assertion: states are waited for, and the
invariants are checked on every look while a rollout runs."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Callable
from typing import Any

import pytest

from labrunner.sandbox.controllers.deployment import resolve_fenceposts
from tests.sandboxes import eventually as wait_for

KUBECTL = shutil.which("kubectl")
Kubectl = Callable[..., subprocess.CompletedProcess[str]]
pytestmark = pytest.mark.skipif(KUBECTL is None, reason="kubectl is not on PATH")


def deployment_yaml(name: str, image: str, replicas: int, strategy: dict[str, Any] | None = None, **spec: Any) -> str:
    """A Deployment of ``replicas`` nginx pods, as JSON (kubectl apply reads it as YAML)."""
    body: dict[str, Any] = {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
        "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}}, **spec,
                 "template": {"metadata": {"labels": {"app": name}}, "spec": {"containers": [{"name": "nginx", "image": image}]}}},
    }
    if strategy is not None:
        body["spec"]["strategy"] = strategy
    return json.dumps(body)


def as_json(kubectl: Kubectl, *argv: str) -> Any:
    return json.loads(kubectl(*argv, "-o", "json").stdout)


def eventually(condition: Callable[[], bool], what: str = "the cluster reaching that state") -> None:
    wait_for(condition, what)


def scaling_events(kubectl: Kubectl, namespace: str, name: str) -> list[str]:
    """The deployment's ScalingReplicaSet messages, oldest first (event names sort by time)."""
    items = as_json(kubectl, "get", "events", "-n", namespace)["items"]
    mine = [e for e in items if e["reason"] == "ScalingReplicaSet" and e["involvedObject"]["name"] == name]
    return [e["message"] for e in sorted(mine, key=lambda e: e["metadata"]["name"])]


def replica_sets(kubectl: Kubectl, namespace: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = as_json(kubectl, "get", "rs", "-n", namespace)["items"]
    return sorted(items, key=lambda rs: int(rs["metadata"]["annotations"]["deployment.kubernetes.io/revision"]))


def replica_set_states(stream: str) -> list[dict[str, tuple[int, int]]]:
    """What ``kubectl get rs -w -o json`` showed after each event: (spec.replicas,
    status.availableReplicas) by ReplicaSet."""
    decoder, position, state, states = json.JSONDecoder(), 0, {}, []
    while (start := stream.find("{", position)) != -1:
        obj, position = decoder.raw_decode(stream, start)
        state[obj["metadata"]["name"]] = (obj["spec"]["replicas"], obj.get("status", {}).get("availableReplicas", 0))
        states.append(dict(state))
    return states


def first_object(watch: subprocess.Popen[str]) -> str:
    """The lines of the first object a ``-w -o json`` watch printed."""
    assert watch.stdout is not None
    lines = []
    while (line := watch.stdout.readline()) and line != "}\n":
        lines.append(line)
    assert line, "the watch ended before it printed anything"
    return "".join(lines) + line


def condition(deployment: dict[str, Any], kind: str) -> dict[str, Any]:
    return next(c for c in deployment["status"].get("conditions", []) if c["type"] == kind)


def images(kubectl: Kubectl, namespace: str) -> list[str]:
    pods = as_json(kubectl, "get", "pods", "-n", namespace)["items"]
    return sorted(p["spec"]["containers"][0]["image"] for p in pods)


def test_percentages_resolve_as_the_controller_rounds_them() -> None:
    assert resolve_fenceposts("25%", "25%", 4) == (1, 1)
    assert resolve_fenceposts("25%", "25%", 10) == (3, 2)  # surge rounds up, unavailable down
    assert resolve_fenceposts("25%", "25%", 50) == (13, 12)
    assert resolve_fenceposts(0, "10%", 5) == (0, 1)  # both 0: unavailable becomes 1
    assert resolve_fenceposts(1, 0, 4) == (1, 0)


def test_rolling_update_keeps_four_available_and_at_most_five(kubectl: Kubectl, namespace: str) -> None:
    kubectl("create", "namespace", namespace)
    strategy = {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}}
    kubectl("apply", "-n", namespace, "-f", "-", stdin=deployment_yaml("web", "nginx:1.27", 4, strategy))
    kubectl("rollout", "status", "deployment/web", "-n", namespace, "--timeout=60s")
    old = replica_sets(kubectl, namespace)[0]["metadata"]["name"]
    watch = subprocess.Popen([KUBECTL or "kubectl", "get", "rs", "-n", namespace, "-w", "-o", "json"], stdout=subprocess.PIPE,
                             text=True, env={**os.environ, **kubectl.environment})  # type: ignore[attr-defined]
    listed = first_object(watch)  # the watch has listed: it is watching
    kubectl("set", "image", "deployment/web", "nginx=nginx:1.28", "-n", namespace)

    def look() -> bool:
        pods = as_json(kubectl, "get", "pods", "-n", namespace)["items"]
        ready = [p for p in pods if any(c["type"] == "Ready" and c["status"] == "True" for c in p["status"].get("conditions", []))]
        assert len(pods) <= 5, f"{len(pods)} pods, more than replicas + maxSurge"
        assert len(ready) >= 4, f"only {len(ready)} pods available, fewer than replicas - maxUnavailable"
        return len(pods) == 4 and all(p["spec"]["containers"][0]["image"] == "nginx:1.28" for p in ready) and len(ready) == 4

    eventually(look, "the rollout finishing")
    rollout = kubectl("rollout", "status", "deployment/web", "-n", namespace, "--timeout=60s")
    assert rollout.stdout.endswith('deployment "web" successfully rolled out\n')
    watch.terminate()
    seen = replica_set_states(listed + watch.communicate()[0])
    assert any(sum(spec for spec, _ in state.values()) == 5 for state in seen)  # the surge pod was there
    for state in seen:  # as each ReplicaSet write was watched: spec sizes, and pods available by the ReplicaSets' status
        assert sum(spec for spec, _ in state.values()) <= 5, state
        assert sum(available for _, available in state.values()) >= 4, state

    new = replica_sets(kubectl, namespace)[1]["metadata"]["name"]
    assert scaling_events(kubectl, namespace, "web") == [
        f"Scaled up replica set {old} from 0 to 4",
        f"Scaled up replica set {new} from 0 to 1", f"Scaled down replica set {old} from 4 to 3",
        f"Scaled up replica set {new} from 1 to 2", f"Scaled down replica set {old} from 3 to 2",
        f"Scaled up replica set {new} from 2 to 3", f"Scaled down replica set {old} from 2 to 1",
        f"Scaled up replica set {new} from 3 to 4", f"Scaled down replica set {old} from 1 to 0",
    ]
    deployment = as_json(kubectl, "get", "deployment", "web", "-n", namespace)
    assert deployment["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "2"
    assert {k: deployment["status"].get(k) for k in ("replicas", "updatedReplicas", "readyReplicas", "availableReplicas")} == \
        {"replicas": 4, "updatedReplicas": 4, "readyReplicas": 4, "availableReplicas": 4}
    assert deployment["status"]["observedGeneration"] == deployment["metadata"]["generation"]
    assert (condition(deployment, "Available")["reason"], condition(deployment, "Progressing")["reason"]) == \
        ("MinimumReplicasAvailable", "NewReplicaSetAvailable")
    assert condition(deployment, "Progressing")["message"] == f'ReplicaSet "{new}" has successfully progressed.'
    annotations = replica_sets(kubectl, namespace)[1]["metadata"]["annotations"]
    assert (annotations["deployment.kubernetes.io/desired-replicas"], annotations["deployment.kubernetes.io/max-replicas"]) == ("4", "5")


def test_recreate_removes_every_old_pod_before_a_new_one(kubectl: Kubectl, namespace: str) -> None:
    kubectl("create", "namespace", namespace)
    kubectl("apply", "-n", namespace, "-f", "-", stdin=deployment_yaml("web", "nginx:1.27", 3, {"type": "Recreate"}))
    kubectl("rollout", "status", "deployment/web", "-n", namespace, "--timeout=60s")
    kubectl("set", "image", "deployment/web", "nginx=nginx:1.28", "-n", namespace)

    def look() -> bool:
        found = {p["spec"]["containers"][0]["image"] for p in as_json(kubectl, "get", "pods", "-n", namespace)["items"]}
        assert len(found) <= 1, f"old and new pods at once: {found}"
        return found == {"nginx:1.28"}

    eventually(look, "the new pods")
    kubectl("rollout", "status", "deployment/web", "-n", namespace, "--timeout=60s")
    old, new = (rs["metadata"]["name"] for rs in replica_sets(kubectl, namespace))
    assert scaling_events(kubectl, namespace, "web")[1:] == [f"Scaled down replica set {old} from 3 to 0",
                                                             f"Scaled up replica set {new} from 0 to 3"]


def test_a_bad_image_rollout_stays_stuck_then_undo_and_proportional_scaling(kubectl: Kubectl, namespace: str) -> None:
    kubectl("create", "namespace", namespace)
    kubectl("apply", "-n", namespace, "-f", "-", stdin=deployment_yaml("web", "nginx:1.27", 4, progressDeadlineSeconds=60))
    kubectl("rollout", "status", "deployment/web", "-n", namespace, "--timeout=60s")
    kubectl("expose", "deployment", "web", "-n", namespace, "--port", "80")
    kubectl("set", "image", "deployment/web", "nginx=nginx:lastest", "-n", namespace)

    def timed_out() -> bool:
        return condition(as_json(kubectl, "get", "deployment", "web", "-n", namespace), "Progressing")["reason"] == "ProgressDeadlineExceeded"

    eventually(timed_out, "ProgressDeadlineExceeded")
    deployment = as_json(kubectl, "get", "deployment", "web", "-n", namespace)
    old, new = replica_sets(kubectl, namespace)
    progressing = condition(deployment, "Progressing")
    assert (progressing["status"], progressing["message"]) == ("False", f'ReplicaSet "{new["metadata"]["name"]}" has timed out progressing.')
    assert condition(deployment, "Available")["status"] == "True"  # 3 available >= 4 - maxUnavailable 1
    assert (old["spec"]["replicas"], new["spec"]["replicas"]) == (3, 2)  # 25 %: surge 1 above 4, one old pod let go
    assert images(kubectl, namespace) == ["nginx:1.27"] * 3 + ["nginx:lastest"] * 2
    assert "ImagePullBackOff" in kubectl("get", "pods", "-n", namespace).stdout
    endpoints = as_json(kubectl, "get", "endpoints", "web", "-n", namespace)
    assert len(endpoints["subsets"][0]["addresses"]) == 3  # the old pods still serve
    status = kubectl("rollout", "status", "deployment/web", "-n", namespace, "--timeout=10s", check=False)
    assert status.returncode == 1 and 'error: deployment "web" exceeded its progress deadline' in status.stderr

    # Scaling mid-rollout spreads the change in proportion (docs: "Proportional scaling"): 10 allowed, 5 more.
    kubectl("scale", "deployment/web", "--replicas=8", "-n", namespace)
    eventually(lambda: [rs["spec"]["replicas"] for rs in replica_sets(kubectl, namespace)] == [6, 4], "proportional scaling")
    assert scaling_events(kubectl, namespace, "web")[-2:] == [f"Scaled up replica set {old['metadata']['name']} from 3 to 6",
                                                             f"Scaled up replica set {new['metadata']['name']} from 2 to 4"]

    assert kubectl("rollout", "undo", "deployment/web", "-n", namespace).stdout == "deployment.apps/web rolled back\n"
    kubectl("rollout", "status", "deployment/web", "-n", namespace, "--timeout=60s")
    assert images(kubectl, namespace) == ["nginx:1.27"] * 8
    reused = as_json(kubectl, "get", "rs", old["metadata"]["name"], "-n", namespace)["metadata"]["annotations"]
    assert (reused["deployment.kubernetes.io/revision"], reused["deployment.kubernetes.io/revision-history"]) == ("3", "1")
    progressing = condition(as_json(kubectl, "get", "deployment", "web", "-n", namespace), "Progressing")
    assert (progressing["status"], progressing["reason"]) == ("True", "NewReplicaSetAvailable")


def test_history_change_cause_undo_to_revision_and_history_limit(kubectl: Kubectl, namespace: str) -> None:
    kubectl("create", "namespace", namespace)
    kubectl("apply", "-n", namespace, "-f", "-", stdin=deployment_yaml("web", "nginx:1.25", 2, revisionHistoryLimit=2))
    for revision, image in enumerate(("nginx:1.25", "nginx:1.26", "nginx:1.27", "nginx:1.28"), start=1):
        if revision > 1:
            kubectl("set", "image", "deployment/web", f"nginx={image}", "-n", namespace)
        kubectl("annotate", "deployment/web", f"kubernetes.io/change-cause=image {image}", "--overwrite", "-n", namespace)
        kubectl("rollout", "status", "deployment/web", "-n", namespace, "--timeout=60s")
    eventually(lambda: len(replica_sets(kubectl, namespace)) == 3, "the oldest ReplicaSet cleaned up (revisionHistoryLimit 2)")
    history = kubectl("rollout", "history", "deployment/web", "-n", namespace).stdout
    assert history.splitlines()[1:] == ["REVISION  CHANGE-CAUSE", "2         image nginx:1.26", "3         image nginx:1.27",
                                        "4         image nginx:1.28", ""] or history.splitlines()[1:] == [
        "REVISION  CHANGE-CAUSE", "2         image nginx:1.26", "3         image nginx:1.27", "4         image nginx:1.28"]
    two = kubectl("rollout", "history", "deployment/web", "-n", namespace, "--revision=2").stdout
    assert "deployment.apps/web with revision #2" in two and "nginx:1.26" in two and "image nginx:1.26" in two

    assert kubectl("rollout", "undo", "deployment/web", "-n", namespace, "--to-revision=2").stdout == "deployment.apps/web rolled back\n"
    kubectl("rollout", "status", "deployment/web", "-n", namespace, "--timeout=60s")
    assert images(kubectl, namespace) == ["nginx:1.26"] * 2
    deployment = as_json(kubectl, "get", "deployment", "web", "-n", namespace)
    assert deployment["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "5"
    assert deployment["metadata"]["annotations"]["kubernetes.io/change-cause"] == "image nginx:1.26"  # undo brings the RS's annotations back
    lines = kubectl("rollout", "history", "deployment/web", "-n", namespace).stdout.splitlines()
    assert [line.split()[0] for line in lines[2:] if line.strip()] == ["3", "4", "5"]
    missing = kubectl("rollout", "undo", "deployment/web", "-n", namespace, "--to-revision=1", check=False)
    assert missing.returncode == 1 and "unable to find specified revision 1 in history" in missing.stderr


def test_pause_resume_restart_and_set(kubectl: Kubectl, namespace: str) -> None:
    kubectl("create", "namespace", namespace)
    kubectl("create", "deployment", "web", "--image=nginx:1.26", "--replicas=2", "-n", namespace)
    kubectl("rollout", "status", "deployment/web", "-n", namespace, "--timeout=60s")
    kubectl("set", "image", "deployment/web", "nginx=nginx:1.27", "-n", namespace)
    kubectl("rollout", "status", "deployment/web", "-n", namespace, "--timeout=60s")
    assert kubectl("rollout", "pause", "deployment/web", "-n", namespace).stdout == "deployment.apps/web paused\n"
    kubectl("set", "image", "deployment/web", "nginx=nginx:1.28", "-n", namespace)
    kubectl("set", "env", "deployment/web", "MODE=paused", "-n", namespace)
    kubectl("set", "resources", "deployment/web", "--limits=cpu=200m,memory=128Mi", "-n", namespace)
    eventually(lambda: condition(as_json(kubectl, "get", "deployment", "web", "-n", namespace), "Progressing")["reason"] == "DeploymentPaused",
               "the DeploymentPaused condition")
    paused = condition(as_json(kubectl, "get", "deployment", "web", "-n", namespace), "Progressing")
    assert (paused["status"], paused["message"]) == ("Unknown", "Deployment is paused")
    assert len(replica_sets(kubectl, namespace)) == 2 and images(kubectl, namespace) == ["nginx:1.27"] * 2
    undo = kubectl("rollout", "undo", "deployment/web", "-n", namespace, check=False)
    assert "you cannot rollback a paused deployment; resume it first with 'kubectl rollout resume' and try again" in undo.stderr
    restart = kubectl("rollout", "restart", "deployment/web", "-n", namespace, check=False)
    assert "can't restart paused deployment (run rollout resume first)" in restart.stderr

    assert kubectl("rollout", "resume", "deployment/web", "-n", namespace).stdout == "deployment.apps/web resumed\n"
    kubectl("rollout", "status", "deployment/web", "-n", namespace, "--timeout=60s")
    assert len(replica_sets(kubectl, namespace)) == 3  # one rollout for the three changes
    pod = as_json(kubectl, "get", "pods", "-n", namespace)["items"][0]
    assert pod["spec"]["containers"][0]["env"] == [{"name": "MODE", "value": "paused"}]
    assert pod["spec"]["containers"][0]["resources"]["limits"] == {"cpu": "200m", "memory": "128Mi"}

    before = {p["metadata"]["name"] for p in as_json(kubectl, "get", "pods", "-n", namespace)["items"]}
    assert kubectl("rollout", "restart", "deployment/web", "-n", namespace).stdout == "deployment.apps/web restarted\n"
    kubectl("rollout", "status", "deployment/web", "-n", namespace, "--timeout=60s")
    after = as_json(kubectl, "get", "pods", "-n", namespace)["items"]
    eventually(lambda: not before & {p["metadata"]["name"] for p in as_json(kubectl, "get", "pods", "-n", namespace)["items"]},
               "every pod replaced")
    assert "kubectl.kubernetes.io/restartedAt" in after[0]["metadata"]["annotations"]
    assert as_json(kubectl, "get", "deployment", "web", "-n", namespace)["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "4"


def test_pods_count_as_available_only_after_min_ready_seconds(kubectl: Kubectl, namespace: str) -> None:
    kubectl("create", "namespace", namespace)
    kubectl("apply", "-n", namespace, "-f", "-", stdin=deployment_yaml("web", "nginx:1.27", 2, minReadySeconds=30))
    states: set[tuple[int, int]] = set()

    def look() -> bool:
        status = as_json(kubectl, "get", "deployment", "web", "-n", namespace).get("status", {})
        states.add((status.get("readyReplicas", 0), status.get("availableReplicas", 0)))
        return status.get("availableReplicas") == 2

    eventually(look, "the pods becoming available")
    assert (2, 0) in states  # Ready, not yet available: minReadySeconds (30 s, scaled) had not passed
    assert as_json(kubectl, "get", "rs", "-n", namespace)["items"][0]["spec"]["minReadySeconds"] == 30


def test_a_deployment_adopts_the_replica_set_it_left_behind(kubectl: Kubectl, namespace: str) -> None:
    kubectl("create", "namespace", namespace)
    kubectl("create", "deployment", "web", "--image=nginx:1.27", "--replicas=2", "-n", namespace)
    kubectl("rollout", "status", "deployment/web", "-n", namespace, "--timeout=60s")
    pods = {p["metadata"]["name"] for p in as_json(kubectl, "get", "pods", "-n", namespace)["items"]}
    kubectl("delete", "deployment", "web", "-n", namespace, "--cascade=orphan")
    eventually(lambda: "ownerReferences" not in as_json(kubectl, "get", "rs", "-n", namespace)["items"][0]["metadata"], "the orphaned ReplicaSet")
    kubectl("create", "deployment", "web", "--image=nginx:1.27", "--replicas=2", "-n", namespace)
    kubectl("rollout", "status", "deployment/web", "-n", namespace, "--timeout=60s")
    (adopted,) = as_json(kubectl, "get", "rs", "-n", namespace)["items"]
    assert adopted["metadata"]["ownerReferences"][0]["kind"] == "Deployment"
    assert {p["metadata"]["name"] for p in as_json(kubectl, "get", "pods", "-n", namespace)["items"]} == pods
