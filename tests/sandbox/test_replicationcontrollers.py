"""ReplicationControllers (issue 14 item 1): the ReplicaSet controller's work with a plain map
selector, checked with real kubectl; and the controller's decisions as pure functions."""

from __future__ import annotations

import json

from labrunner.sandbox import tables
from labrunner.sandbox.store import seconds
from labrunner.sandbox.controllers.replicationcontroller import available, controller_uid, matches, to_delete
from tests.sandboxes import Kubectl, eventually

RC = """
apiVersion: v1
kind: ReplicationController
metadata: {name: web}
spec:
  replicas: 2
  template:
    metadata: {labels: {app: web, tier: front}}
    spec:
      containers: [{name: nginx, image: "nginx:1.27"}]
"""


def _pods(kubectl: Kubectl, namespace: str) -> list[dict]:
    return [p for p in json.loads(kubectl("get", "pods", "-n", namespace, "-o", "json").stdout)["items"]
            if not p["metadata"].get("deletionTimestamp")]


def _rc(kubectl: Kubectl, namespace: str) -> dict:
    return json.loads(kubectl("get", "rc", "web", "-n", namespace, "-o", "json").stdout)


def test_a_replication_controller_keeps_its_replicas_when_a_pod_is_deleted(kubectl: Kubectl, namespace: str) -> None:
    kubectl("create", "namespace", namespace)
    kubectl("apply", "-n", namespace, "-f", "-", stdin=RC)
    eventually(lambda: _rc(kubectl, namespace).get("status", {}).get("readyReplicas") == 2, "both pods ready")
    rc = _rc(kubectl, namespace)
    assert rc["spec"]["selector"] == {"app": "web", "tier": "front"}  # defaulted from the template's labels
    assert rc["status"]["replicas"] == rc["status"]["fullyLabeledReplicas"] == rc["status"]["availableReplicas"] == 2
    pods = _pods(kubectl, namespace)
    assert len(pods) == 2
    for pod in pods:
        assert pod["metadata"]["name"].startswith("web-") and len(pod["metadata"]["name"]) == len("web-") + 5
        owner = pod["metadata"]["ownerReferences"][0]
        assert (owner["kind"], owner["name"], owner["controller"]) == ("ReplicationController", "web", True)
    gone = pods[0]["metadata"]["name"]
    kubectl("delete", "pod", gone, "-n", namespace, "--wait=false")
    eventually(lambda: len(_pods(kubectl, namespace)) == 2 and gone not in {p["metadata"]["name"] for p in _pods(kubectl, namespace)},
               "a replacement pod")
    listed = kubectl("get", "rc", "-n", namespace).stdout.splitlines()
    assert listed[0].split() == ["NAME", "DESIRED", "CURRENT", "READY", "AGE"]
    wide = kubectl("get", "rc", "web", "-n", namespace, "-o", "wide", "--no-headers").stdout.split()
    assert wide[:3] == ["web", "2", "2"] and wide[-3:] == ["nginx", "nginx:1.27", "app=web,tier=front"]
    events = json.loads(kubectl("get", "events", "-n", namespace, "--field-selector", "involvedObject.kind=ReplicationController",
                                "-o", "json").stdout)["items"]
    created = [e["message"] for e in events if e["reason"] == "SuccessfulCreate"]
    assert len(created) == 3 and all(m.startswith("Created pod: web-") for m in created)
    assert {e["source"]["component"] for e in events} == {"replication-controller"}


def test_kubectl_scale_rc_removes_and_adds_pods(kubectl: Kubectl, namespace: str) -> None:
    kubectl("create", "namespace", namespace)
    kubectl("apply", "-n", namespace, "-f", "-", stdin=RC)
    eventually(lambda: len(_pods(kubectl, namespace)) == 2, "two pods")
    assert kubectl("scale", "rc", "web", "-n", namespace, "--replicas=1").stdout == "replicationcontroller/web scaled\n"
    eventually(lambda: len(_pods(kubectl, namespace)) == 1 and _rc(kubectl, namespace)["status"]["replicas"] == 1, "one pod")
    deleted = json.loads(kubectl("get", "events", "-n", namespace, "--field-selector", "reason=SuccessfulDelete", "-o", "json").stdout)
    assert [e["message"].startswith("Deleted pod: web-") for e in deleted["items"]] == [True]
    kubectl("scale", "rc", "web", "-n", namespace, "--replicas=3")
    eventually(lambda: _rc(kubectl, namespace).get("status", {}).get("readyReplicas") == 3, "three ready pods")


def test_a_matching_orphan_is_adopted_and_counted(kubectl: Kubectl, namespace: str) -> None:
    kubectl("create", "namespace", namespace)
    kubectl("run", "stray", "-n", namespace, "--image=nginx:1.27", "--labels=app=web,tier=front")
    kubectl("apply", "-n", namespace, "-f", "-", stdin=RC)
    eventually(lambda: _rc(kubectl, namespace).get("status", {}).get("replicas") == 2, "two pods counted")
    stray = json.loads(kubectl("get", "pod", "stray", "-n", namespace, "-o", "json").stdout)
    assert stray["metadata"]["ownerReferences"][0]["name"] == "web"
    eventually(lambda: len(_pods(kubectl, namespace)) == 2, "one pod made beside the adopted one")


# -- the decisions, without a cluster ----------------------------------------------------------


def _pod(name: str, created: str, node: str | None = "node-1", phase: str = "Running", ready: bool = True) -> dict:
    return {"metadata": {"name": name, "creationTimestamp": created},
            "spec": {"nodeName": node} if node else {},
            "status": {"phase": phase, "conditions": [{"type": "Ready", "status": "True" if ready else "False",
                                                       "lastTransitionTime": created}]}}


def test_an_equality_selector_matches_every_key_and_an_empty_one_nothing() -> None:
    assert matches({"app": "web"}, {"app": "web", "tier": "front"})
    assert not matches({"app": "web", "tier": "back"}, {"app": "web", "tier": "front"})
    assert not matches({}, {"app": "web"})


def test_the_pods_deleted_first_are_unscheduled_pending_unready_then_newest() -> None:
    old, new = "2026-01-01T00:00:00Z", "2026-01-01T00:05:00Z"
    pods = [_pod("ready-old", old), _pod("ready-new", new), _pod("unready", old, ready=False),
            _pod("pending", old, phase="Pending", ready=False), _pod("unscheduled", old, node=None, phase="Pending", ready=False)]
    assert [p["metadata"]["name"] for p in to_delete(pods, 0)] == ["unscheduled", "pending", "unready", "ready-new", "ready-old"]
    assert [p["metadata"]["name"] for p in to_delete(pods, 4)] == ["unscheduled"]
    assert to_delete(pods, 9) == []


def test_available_means_ready_for_min_ready_seconds() -> None:
    pod = _pod("p", "2026-01-01T00:00:00Z")
    at = seconds("2026-01-01T00:00:10Z")
    assert available(pod, 0) and available(pod, 10, at) and not available(pod, 11, at)
    assert not available(_pod("q", "2026-01-01T00:00:00Z", ready=False), 0)


def test_the_controller_is_the_owner_reference_marked_controller() -> None:
    pod = {"metadata": {"ownerReferences": [{"uid": "a"}, {"uid": "b", "controller": True}]}}
    assert controller_uid(pod) == "b" and controller_uid({"metadata": {}}) is None


def test_get_rc_and_controllerrevisions_columns_are_the_printers() -> None:
    rc = {"metadata": {"name": "web", "creationTimestamp": "2026-01-01T00:00:00Z"},
          "spec": {"replicas": 3, "selector": {"tier": "front", "app": "web"},
                   "template": {"spec": {"containers": [{"name": "a", "image": "nginx"}, {"name": "b", "image": "busybox"}]}}},
          "status": {"replicas": 2, "readyReplicas": 1}}
    table = tables.table("replicationcontrollers", [rc], "1")
    assert [c["name"] for c in table["columnDefinitions"]] == ["Name", "Desired", "Current", "Ready", "Age", "Containers", "Images", "Selector"]
    assert table["rows"][0]["cells"][:4] == ["web", 3, 2, 1]
    assert table["rows"][0]["cells"][5:] == ["a,b", "nginx,busybox", "app=web,tier=front"]
    revision = {"metadata": {"name": "web-6b9c", "creationTimestamp": "2026-01-01T00:00:00Z",
                             "ownerReferences": [{"apiVersion": "apps/v1", "kind": "StatefulSet", "name": "web", "controller": True}]},
                "revision": 2}
    cells = tables.table("controllerrevisions", [revision], "1")["rows"][0]["cells"]
    assert cells[:3] == ["web-6b9c", "statefulset.apps/web", 2]
    orphan = {"metadata": {"name": "x", "creationTimestamp": "2026-01-01T00:00:00Z"}, "revision": 1}
    assert tables.table("controllerrevisions", [orphan], "1")["rows"][0]["cells"][1] == "<none>"
