"""StatefulSets (issue 14 item 1): pods with a stable identity, made in order, rolled from the
highest ordinal down with ControllerRevisions behind kubectl rollout, and storage per ordinal;
checked with real kubectl on the shared sandbox, and the controller's decisions as pure
functions. Order is shown by what the controller waits for (a readiness probe holding a pod
back) and by the order of its events, never by timing."""

from __future__ import annotations

import json
from typing import Any

from labrunner.sandbox import tables
from labrunner.sandbox.controllers import statefulset as sts
from tests.sandboxes import Kubectl, eventually

GATED = """
apiVersion: v1
kind: Service
metadata: {name: nginx}
spec: {clusterIP: None, selector: {app: web}, ports: [{port: 80}]}
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: web}
spec:
  serviceName: nginx
  replicas: 3
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: nginx
        image: "nginx:1.27"
        readinessProbe: {exec: {command: [cat, /tmp/ready]}, periodSeconds: 1}
"""

PLAIN = """
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: web}
spec:
  serviceName: nginx
  replicas: 3
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: nginx, image: "nginx:1.27"}]
"""


def _get(kubectl: Kubectl, namespace: str, *what: str) -> Any:
    return json.loads(kubectl("get", *what, "-n", namespace, "-o", "json").stdout)


def _pods(kubectl: Kubectl, namespace: str) -> dict[str, dict[str, Any]]:
    return {p["metadata"]["name"]: p for p in _get(kubectl, namespace, "pods")["items"]}


def _ready(pod: dict[str, Any] | None) -> bool:
    return pod is not None and any(c["type"] == "Ready" and c["status"] == "True" for c in pod.get("status", {}).get("conditions", []))


def _held_back(kubectl: Kubectl, namespace: str, pod: dict[str, Any]) -> bool:
    """The readiness probe has failed on this very pod: the kubelet has looked at it, so the
    controller has had many passes in which it was there and not ready."""
    events = _get(kubectl, namespace, "events", "--field-selector", f"involvedObject.uid={pod['metadata']['uid']},reason=Unhealthy")
    return bool(events["items"])


def _controller_events(kubectl: Kubectl, namespace: str) -> list[str]:
    """The StatefulSet's events, oldest first (event names sort by time, as client-go names them)."""
    events = _get(kubectl, namespace, "events", "--field-selector", "involvedObject.kind=StatefulSet")["items"]
    return [e["message"] for e in sorted(events, key=lambda e: e["metadata"]["name"]) if e["reason"] in ("SuccessfulCreate", "SuccessfulDelete")]


def _controller_claim_events(kubectl: Kubectl, namespace: str) -> list[str]:
    events = _get(kubectl, namespace, "events", "--field-selector", "involvedObject.kind=StatefulSet,reason=SuccessfulCreate")["items"]
    return [e["message"] for e in events if " Claim " in e["message"]]


def _revision(pod: dict[str, Any]) -> str:
    return str(pod["metadata"]["labels"]["controller-revision-hash"])


def test_pods_come_up_one_at_a_time_in_order_each_waiting_for_the_one_before_to_be_ready(kubectl: Kubectl, namespace: str) -> None:
    kubectl("create", "namespace", namespace)
    kubectl("apply", "-n", namespace, "-f", "-", stdin=GATED)
    for index in range(3):
        name = f"web-{index}"
        eventually(lambda: name in _pods(kubectl, namespace), f"{name} made")
        pod = _pods(kubectl, namespace)[name]
        eventually(lambda: _held_back(kubectl, namespace, pod), f"{name} found not ready")
        assert set(_pods(kubectl, namespace)) == {f"web-{i}" for i in range(index + 1)}  # nothing after it while it is not ready
        kubectl("exec", name, "-n", namespace, "--", "touch", "/tmp/ready")
        eventually(lambda: _ready(_pods(kubectl, namespace).get(name)), f"{name} ready")
    eventually(lambda: _get(kubectl, namespace, "sts", "web").get("status", {}).get("readyReplicas") == 3, "3 ready replicas")

    pods = _pods(kubectl, namespace)
    web1 = pods["web-1"]
    assert (web1["spec"]["hostname"], web1["spec"]["subdomain"]) == ("web-1", "nginx")
    assert web1["metadata"]["labels"]["statefulset.kubernetes.io/pod-name"] == "web-1"
    assert web1["metadata"]["labels"]["apps.kubernetes.io/pod-index"] == "1"
    assert web1["metadata"]["ownerReferences"][0]["kind"] == "StatefulSet"
    assert kubectl("exec", "web-1", "-n", namespace, "--", "hostname").stdout == "web-1\n"
    page = kubectl("exec", "web-0", "-n", namespace, "--", "curl", "-s", f"http://web-2.nginx.{namespace}.svc.cluster.local/").stdout
    assert "Welcome to nginx!" in page  # each pod has its own name under the headless Service

    status = _get(kubectl, namespace, "sts", "web")["status"]
    revision = _revision(web1)
    assert revision.startswith("web-") and {_revision(p) for p in pods.values()} == {revision}
    assert (status["currentRevision"], status["updateRevision"]) == (revision, revision)
    assert (status["replicas"], status["currentReplicas"], status["updatedReplicas"], status["availableReplicas"]) == (3, 3, 3, 3)
    assert _controller_events(kubectl, namespace) == [f"create Pod web-{i} in StatefulSet web successful" for i in range(3)]
    assert kubectl("get", "sts", "-n", namespace).stdout.split()[:5] == ["NAME", "READY", "AGE", "web", "3/3"]
    assert kubectl("rollout", "status", "sts/web", "-n", namespace).stdout == "partitioned roll out complete: 3 new pods have been updated...\n"
    revisions = kubectl("get", "controllerrevisions", "-n", namespace, "--no-headers").stdout.split()
    assert revisions[:3] == [revision, "statefulset.apps/web", "1"]

    # an image change: the highest ordinal first, the next only once the new one is ready
    kubectl("set", "image", "sts/web", "nginx=nginx:1.28", "-n", namespace)
    for index in (2, 1, 0):
        name = f"web-{index}"
        eventually(lambda: _revision(_pods(kubectl, namespace).get(name) or web1) != revision, f"{name} replaced")
        pod = _pods(kubectl, namespace)[name]
        assert pod["spec"]["containers"][0]["image"] == "nginx:1.28"
        eventually(lambda: _held_back(kubectl, namespace, pod), f"the new {name} found not ready")
        assert {n: _revision(p) == revision for n, p in _pods(kubectl, namespace).items()} == {
            f"web-{i}": i < index for i in range(3)}  # the lower ordinals still at the old revision
        kubectl("exec", name, "-n", namespace, "--", "touch", "/tmp/ready")
    eventually(lambda: "rolling update complete" in kubectl("rollout", "status", "sts/web", "-n", namespace, "--watch=false").stdout
               or "partitioned roll out complete" in kubectl("rollout", "status", "sts/web", "-n", namespace, "--watch=false").stdout,
               "the rollout complete")
    status = _get(kubectl, namespace, "sts", "web")["status"]
    assert status["currentRevision"] == status["updateRevision"] != revision
    assert _controller_events(kubectl, namespace)[3:] == [
        f"{verb} Pod web-{i} in StatefulSet web successful" for i in (2, 1, 0) for verb in ("delete", "create")]


def test_scale_down_removes_the_highest_ordinal_first(kubectl: Kubectl, namespace: str) -> None:
    kubectl("create", "namespace", namespace)
    kubectl("apply", "-n", namespace, "-f", "-", stdin=PLAIN)
    eventually(lambda: _get(kubectl, namespace, "sts", "web").get("status", {}).get("readyReplicas") == 3, "3 ready replicas")
    kept = {n: p["metadata"]["uid"] for n, p in _pods(kubectl, namespace).items()}
    assert kubectl("scale", "sts", "web", "--replicas=1", "-n", namespace).stdout == "statefulset.apps/web scaled\n"
    eventually(lambda: set(_pods(kubectl, namespace)) == {"web-0"}, "only web-0 left")
    assert _pods(kubectl, namespace)["web-0"]["metadata"]["uid"] == kept["web-0"]
    assert _controller_events(kubectl, namespace)[-2:] == ["delete Pod web-2 in StatefulSet web successful",
                                                           "delete Pod web-1 in StatefulSet web successful"]
    eventually(lambda: _get(kubectl, namespace, "sts", "web")["status"]["replicas"] == 1, "status replicas 1")


def test_a_partition_holds_the_lower_ordinals_at_the_old_revision_and_undo_goes_back(kubectl: Kubectl, namespace: str) -> None:
    kubectl("create", "namespace", namespace)
    kubectl("apply", "-n", namespace, "-f", "-", stdin=PLAIN)
    eventually(lambda: _get(kubectl, namespace, "sts", "web").get("status", {}).get("readyReplicas") == 3, "3 ready replicas")
    old = _get(kubectl, namespace, "sts", "web")["status"]["currentRevision"]
    web0 = _pods(kubectl, namespace)["web-0"]["metadata"]["uid"]
    kubectl("patch", "sts", "web", "-n", namespace, "-p", '{"spec":{"updateStrategy":{"rollingUpdate":{"partition":1}}}}')
    kubectl("set", "image", "sts/web", "nginx=nginx:1.28", "-n", namespace)
    eventually(lambda: "partitioned roll out complete: 2 new pods" in kubectl("rollout", "status", "sts/web", "-n", namespace,
                                                                              "--watch=false").stdout, "the partitioned roll out")
    pods = _pods(kubectl, namespace)
    status = _get(kubectl, namespace, "sts", "web")["status"]
    assert (status["currentRevision"], status["updatedReplicas"], status["currentReplicas"]) == (old, 2, 1)
    assert {n: _revision(p) for n, p in pods.items()} == {"web-0": old, "web-1": status["updateRevision"], "web-2": status["updateRevision"]}
    assert pods["web-0"]["metadata"]["uid"] == web0 and pods["web-0"]["spec"]["containers"][0]["image"] == "nginx:1.27"
    assert _controller_events(kubectl, namespace)[3:] == [
        f"{verb} Pod web-{i} in StatefulSet web successful" for i in (2, 1) for verb in ("delete", "create")]
    # a pod below the partition deleted by hand comes back at the current revision
    kubectl("delete", "pod", "web-0", "-n", namespace, "--wait=false")
    eventually(lambda: (p := _pods(kubectl, namespace).get("web-0")) is not None and p["metadata"]["uid"] != web0, "web-0 made again")
    assert _revision(_pods(kubectl, namespace)["web-0"]) == old

    history = kubectl("rollout", "history", "sts/web", "-n", namespace).stdout.split()
    assert history[:3] == ["statefulset.apps/web", "REVISION", "CHANGE-CAUSE"] and history[3:] == ["1", "<none>", "2", "<none>"]
    kubectl("patch", "sts", "web", "-n", namespace, "-p", '{"spec":{"updateStrategy":{"rollingUpdate":{"partition":0}}}}')
    assert kubectl("rollout", "undo", "sts/web", "-n", namespace).stdout == "statefulset.apps/web rolled back\n"
    eventually(lambda: {p["spec"]["containers"][0]["image"] for p in _pods(kubectl, namespace).values()} == {"nginx:1.27"}
               and len(_pods(kubectl, namespace)) == 3, "every pod back on nginx:1.27")
    eventually(lambda: _get(kubectl, namespace, "sts", "web")["status"].get("updatedReplicas") == 3, "the undo rolled out")
    assert _get(kubectl, namespace, "sts", "web")["status"]["updateRevision"] == old  # the old revision again, renumbered 3
    assert kubectl("rollout", "history", "sts/web", "-n", namespace).stdout.split()[3:] == ["2", "<none>", "3", "<none>"]


def test_data_under_a_volume_claim_template_outlives_the_pod(kubectl: Kubectl, namespace: str) -> None:
    kubectl("create", "namespace", namespace)
    manifest = PLAIN.replace("replicas: 3", "replicas: 2").replace(
        'containers: [{name: nginx, image: "nginx:1.27"}]',
        'containers: [{name: nginx, image: "nginx:1.27", volumeMounts: [{name: www, mountPath: /usr/share/nginx/html}]}]',
    ) + "  volumeClaimTemplates:\n  - metadata: {name: www}\n    spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}\n"
    kubectl("apply", "-n", namespace, "-f", "-", stdin=manifest)
    eventually(lambda: _get(kubectl, namespace, "sts", "web").get("status", {}).get("readyReplicas") == 2, "2 ready replicas")
    pods = _pods(kubectl, namespace)
    assert pods["web-1"]["spec"]["volumes"][0] == {"name": "www", "persistentVolumeClaim": {"claimName": "www-web-1"}}
    for name in ("web-0", "web-1"):
        kubectl("exec", name, "-n", namespace, "--", "sh", "-c", f"echo I am {name} > /usr/share/nginx/html/index.html")
    kubectl("delete", "pod", "web-0", "-n", namespace, "--wait=false")
    uid = pods["web-0"]["metadata"]["uid"]
    eventually(lambda: _ready(p := _pods(kubectl, namespace).get("web-0")) and p is not None and p["metadata"]["uid"] != uid,
               "a new web-0 ready")
    assert kubectl("exec", "web-0", "-n", namespace, "--", "cat", "/usr/share/nginx/html/index.html").stdout == "I am web-0\n"
    assert kubectl("exec", "web-0", "-n", namespace, "--", "curl", "-s", "localhost").stdout == "I am web-0\n"
    claims = {c["metadata"]["name"]: c for c in _get(kubectl, namespace, "pvc")["items"]}
    assert sorted(claims) == ["www-web-0", "www-web-1"]
    assert claims["www-web-0"]["metadata"]["labels"] == {"app": "web"} and claims["www-web-0"]["spec"]["storageClassName"] == "standard"
    assert {c["status"]["phase"] for c in claims.values()} == {"Bound"}
    messages = _controller_claim_events(kubectl, namespace)
    assert messages.count("create Claim www-web-0 Pod web-0 in StatefulSet web success") == 1  # made once, though web-0 was made twice
    kubectl("scale", "sts", "web", "--replicas=1", "-n", namespace)
    eventually(lambda: sorted(_pods(kubectl, namespace)) == ["web-0"], "scaled down to web-0")
    assert sorted(c["metadata"]["name"] for c in _get(kubectl, namespace, "pvc")["items"]) == ["www-web-0", "www-web-1"]  # claims are kept


def test_on_delete_leaves_pods_alone_and_parallel_makes_them_all_at_once(kubectl: Kubectl, namespace: str) -> None:
    kubectl("create", "namespace", namespace)
    kubectl("apply", "-n", namespace, "-f", "-", stdin=PLAIN.replace("replicas: 3", "replicas: 2\n  updateStrategy: {type: OnDelete}"))
    eventually(lambda: _get(kubectl, namespace, "sts", "web").get("status", {}).get("readyReplicas") == 2, "2 ready replicas")
    kubectl("set", "image", "sts/web", "nginx=nginx:1.28", "-n", namespace)
    eventually(lambda: _get(kubectl, namespace, "sts", "web")["status"]["updateRevision"]
               != _get(kubectl, namespace, "sts", "web")["status"]["currentRevision"], "a new update revision")
    kubectl("delete", "pod", "web-0", "-n", namespace, "--wait=false")
    eventually(lambda: _ready(_pods(kubectl, namespace).get("web-0"))
               and _pods(kubectl, namespace)["web-0"]["spec"]["containers"][0]["image"] == "nginx:1.28", "web-0 at the new image")
    assert _pods(kubectl, namespace)["web-1"]["spec"]["containers"][0]["image"] == "nginx:1.27"  # untouched until deleted

    parallel = GATED.replace("name: web}", "name: par}", 1).replace("replicas: 3", "replicas: 3\n  podManagementPolicy: Parallel")
    parallel = parallel.replace("{app: web}", "{app: par}").replace("name: nginx}", "name: par-svc}").replace("serviceName: nginx", "serviceName: par-svc")
    kubectl("apply", "-n", namespace, "-f", "-", stdin=parallel)
    eventually(lambda: {"par-0", "par-1", "par-2"} <= set(_pods(kubectl, namespace)), "all three made though none is ready")
    assert not any(_ready(p) for n, p in _pods(kubectl, namespace).items() if n.startswith("par-"))


# -- the decisions, without a cluster ----------------------------------------------------------


def _set(replicas: int = 3, policy: str = "OrderedReady", strategy: dict[str, Any] | None = None, **status: Any) -> dict[str, Any]:
    return {"metadata": {"name": "web", "namespace": "ns", "uid": "u1", "generation": 2},
            "apiVersion": "apps/v1", "kind": "StatefulSet",
            "spec": {"replicas": replicas, "serviceName": "nginx", "podManagementPolicy": policy,
                     "updateStrategy": strategy or {"type": "RollingUpdate", "rollingUpdate": {"partition": 0}},
                     "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "c", "image": "nginx"}]}}},
            "status": status}


def _member(index: int, revision: str = "r1", ready: bool = True, phase: str = "Running") -> dict[str, Any]:
    return {"metadata": {"name": f"web-{index}", "labels": {"controller-revision-hash": revision}},
            "status": {"phase": phase, "conditions": [{"type": "Ready", "status": "True" if ready else "False",
                                                       "lastTransitionTime": "2026-01-01T00:00:00Z"}]}}


def test_ordered_ready_makes_the_next_ordinal_only_after_the_ones_before_are_ready() -> None:
    assert sts.plan(_set(), [], "r1") == [("create", 0)]
    assert sts.plan(_set(), [_member(0, ready=False)], "r1") == []
    assert sts.plan(_set(), [_member(0)], "r1") == [("create", 1)]
    assert sts.plan(_set(), [_member(0), _member(2)], "r1") == [("create", 1)]  # a gap is filled first
    assert sts.plan(_set(), [_member(0), _member(1), _member(2)], "r1") == []
    assert sts.plan(_set(policy="Parallel"), [_member(0, ready=False)], "r1") == [("create", 1), ("create", 2)]


def test_a_finished_pod_is_deleted_to_be_made_again() -> None:
    assert sts.plan(_set(), [_member(0, phase="Failed", ready=False)], "r1") == [("delete", 0)]
    assert sts.plan(_set(replicas=1), [_member(0, phase="Succeeded", ready=False)], "r1") == [("delete", 0)]


def test_scale_down_goes_from_the_highest_ordinal_one_at_a_time_when_the_rest_are_healthy() -> None:
    pods = [_member(i) for i in range(4)]
    assert sts.plan(_set(replicas=2), pods, "r1") == [("delete", 3)]
    assert sts.plan(_set(replicas=2, policy="Parallel"), pods, "r1") == [("delete", 3), ("delete", 2)]
    assert sts.plan(_set(replicas=2), [_member(0), _member(1, ready=False), _member(2)], "r1") == []  # web-1 unhealthy: wait
    assert sts.plan(_set(replicas=2), [_member(0), _member(1), _member(2, ready=False)], "r1") == [("delete", 2)]  # the unhealthy one may go


def test_a_rolling_update_replaces_the_highest_ordinal_down_to_the_partition() -> None:
    old = [_member(i, "r1") for i in range(3)]
    assert sts.plan(_set(), old, "r2") == [("delete", 2)]
    assert sts.plan(_set(), [old[0], old[1], _member(2, "r2", ready=False)], "r2") == []  # wait for the new web-2 to be ready
    assert sts.plan(_set(), [old[0], old[1], _member(2, "r2")], "r2") == [("delete", 1)]
    partitioned = _set(strategy={"type": "RollingUpdate", "rollingUpdate": {"partition": 2}})
    assert sts.plan(partitioned, [old[0], old[1], _member(2, "r2")], "r2") == []
    assert sts.plan(_set(strategy={"type": "OnDelete"}), old, "r2") == []


def test_a_missing_pod_below_the_partition_is_made_at_the_current_revision() -> None:
    partitioned = _set(strategy={"type": "RollingUpdate", "rollingUpdate": {"partition": 2}})
    assert sts.wants_current_revision(partitioned, 1) and not sts.wants_current_revision(partitioned, 2)
    assert not sts.wants_current_revision(_set(strategy={"type": "OnDelete"}), 0)
    assert sts.wants_current_revision(_set(strategy={"type": "RollingUpdate"}, currentReplicas=2), 1)


def test_a_pod_has_its_identity_and_a_claim_per_template() -> None:
    stateful_set = _set()
    stateful_set["spec"]["volumeClaimTemplates"] = [{"metadata": {"name": "www"}}]
    stateful_set["spec"]["template"]["spec"]["volumes"] = [{"name": "www", "emptyDir": {}}, {"name": "conf", "emptyDir": {}}]
    pod = sts.new_pod(stateful_set, stateful_set["spec"]["template"], "web-abc", 1)
    assert pod["metadata"]["name"] == "web-1"
    assert pod["metadata"]["labels"] == {"app": "web", "controller-revision-hash": "web-abc", "statefulset.kubernetes.io/pod-name": "web-1",
                                         "apps.kubernetes.io/pod-index": "1"}
    assert (pod["spec"]["hostname"], pod["spec"]["subdomain"]) == ("web-1", "nginx")
    assert pod["spec"]["volumes"] == [{"name": "www", "persistentVolumeClaim": {"claimName": "www-web-1"}}, {"name": "conf", "emptyDir": {}}]
    assert pod["metadata"]["ownerReferences"][0]["uid"] == "u1"


def test_revisions_are_named_by_a_hash_of_the_template_in_safe_characters() -> None:
    data = sts.revision_data(_set())
    assert data["spec"]["template"]["$patch"] == "replace"
    digest = sts.revision_hash(data)
    assert digest == sts.revision_hash(sts.revision_data(_set())) and set(digest) <= set("bcdfghjklmnpqrstvwxz2456789")
    assert sts.revision_hash(data, 1) != digest
    other = _set()
    other["spec"]["template"]["spec"]["containers"][0]["image"] = "nginx:1.28"
    assert sts.revision_hash(sts.revision_data(other)) != digest
    assert sts.ordinal({"metadata": {"name": "web-12"}}, "web") == 12 and sts.ordinal({"metadata": {"name": "webx-1"}}, "web") == -1


def test_status_completes_a_rolling_update_once_every_replica_is_updated_and_ready() -> None:
    midway = sts.status_of(_set(), [_member(0, "r1"), _member(1, "r2"), _member(2, "r2")], "r1", "r2", 0)
    assert (midway["currentRevision"], midway["currentReplicas"], midway["updatedReplicas"]) == ("r1", 1, 2)
    done = sts.status_of(_set(), [_member(i, "r2") for i in range(3)], "r1", "r2", 0)
    assert (done["currentRevision"], done["currentReplicas"], done["readyReplicas"], done["observedGeneration"]) == ("r2", 3, 3, 2)
    assert done["collisionCount"] == 0
    empty = sts.status_of(_set(replicas=0), [], "r1", "r1", 0)
    assert empty["replicas"] == 0 and "readyReplicas" not in empty and empty["availableReplicas"] == 0


def test_get_statefulsets_columns_are_the_printer() -> None:
    table = tables.table("statefulsets", [{**_set(), "status": {"readyReplicas": 2}, "metadata": {"name": "web", "creationTimestamp": "2026-01-01T00:00:00Z"}}], "1")
    assert [c["name"] for c in table["columnDefinitions"]] == ["Name", "Ready", "Age", "Containers", "Images"]
    cells = table["rows"][0]["cells"]
    assert (cells[0], cells[1], cells[3], cells[4]) == ("web", "2/3", "c", "nginx")
