"""The scheduling topic's check kinds on recorded clusters: each classic mistake named by the
field responsible (cases from the Kubernetes docs: taints-and-tolerations, assign-pod-node,
manage-resources-containers, safely-drain-node)."""

from __future__ import annotations

from typing import Any

from labrunner.registry.types import CheckContext
from labrunner.topics.scheduling.nodes import NodeState, node_state
from labrunner.topics.scheduling.placement import PodsPlaced, pods_placed
from tests.fakes import FakeCluster

WORKER_TAINT = {"key": "dedicated", "value": "batch", "effect": "NoSchedule"}
CONTROL_TAINT = {"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}


def node(name: str, labels: dict[str, str] | None = None, taints: list[dict[str, str]] | None = None, cpu: str = "2",
         unschedulable: bool = False) -> dict[str, Any]:
    spec: dict[str, Any] = {"taints": taints} if taints else {}
    if unschedulable:
        spec["unschedulable"] = True
    return {"kind": "Node", "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name, **(labels or {})}}, "spec": spec,
            "status": {"allocatable": {"cpu": cpu, "memory": "4Gi", "pods": "110"}}}


def pod(name: str, node_name: str = "", labels: dict[str, str] | None = None, phase: str = "Running", **spec: Any) -> dict[str, Any]:
    full: dict[str, Any] = {"containers": [{"name": "c", "image": "nginx", **spec.pop("container", {})}], **spec}
    if node_name:
        full["nodeName"] = node_name
    return {"kind": "Pod", "metadata": {"name": name, "namespace": "lab", "uid": name, "labels": labels or {"app": "batch"}},
            "spec": full, "status": {"phase": phase if node_name else "Pending"}}


def cluster() -> FakeCluster:
    return FakeCluster({"nodes": [node("control-plane", taints=[CONTROL_TAINT]), node("worker-1", {"dedicated": "batch"}, [WORKER_TAINT]),
                                  node("worker-2")], "namespaces": [{"kind": "Namespace", "metadata": {"name": "lab"}}]})


def placed(fake: FakeCluster, **args: Any) -> tuple[str, str, list[str]]:
    check = PodsPlaced(kind="pods-placed", says="the batch pods run on the batch node", namespace="lab", labels={"app": "batch"}, **args)
    return pods_placed(check, CheckContext(cluster=fake))


def test_a_toleration_without_a_node_selector_is_named_as_no_attraction() -> None:
    fake = cluster()
    tolerating = [{"key": "dedicated", "operator": "Equal", "value": "batch", "effect": "NoSchedule"}]
    fake.add(pod("batch-1", "worker-2", tolerations=tolerating))
    status, sentence, details = placed(fake, on={"dedicated": "batch"})
    assert status == "failed"
    assert details[0] == "pod batch-1 runs on node worker-2, which lacks dedicated=batch"
    assert "a toleration lets a pod onto a tainted node, it never attracts it there" in details[1]
    assert "nodeSelector dedicated=batch" in details[1]


def test_a_pending_pod_is_explained_node_by_node_with_the_near_toleration() -> None:
    fake = cluster()
    wrong_effect = [{"key": "dedicated", "operator": "Equal", "value": "batch", "effect": "NoExecute"}]
    fake.add(pod("batch-1", nodeSelector={"dedicated": "batch"}, tolerations=wrong_effect))
    status, sentence, details = placed(fake, on={"dedicated": "batch"})
    assert (status, sentence) == ("failed", "1 of 1 pod(s) with labels app=batch wait for a node")
    assert "  node control-plane: it is a control plane (node-role.kubernetes.io/control-plane:NoSchedule), kept for the " \
           "cluster's own pods" in details
    assert any(line.startswith("  node worker-1: it has the taint dedicated=batch:NoSchedule, which the pod does not tolerate: "
                               "your toleration dedicated=batch:NoExecute has effect NoExecute, the taint's is NoSchedule")
               for line in details), details
    assert "  node worker-2: nodeSelector dedicated=batch: the node has no label dedicated" in details


def test_requests_beyond_every_node_are_said_beside_what_is_left() -> None:
    fake = cluster()
    fake.add(pod("other", "worker-2", labels={"app": "other"}, container={"resources": {"requests": {"cpu": "500m"}}}))
    fake.add(pod("batch-1", container={"resources": {"requests": {"cpu": "1800m"}}}))
    _, _, details = placed(fake)
    assert "  node worker-2: the pod requests cpu 1800m; the node has 1500m left of 2 allocatable (1 pod(s) on it request 500m)" in details


def test_a_cordoned_node_and_a_typo_in_the_value() -> None:
    fake = FakeCluster({"nodes": [node("worker-1", {"disktype": "ssd"}, unschedulable=True), node("worker-2", {"disktype": "hdd"})]})
    fake.add(pod("batch-1", nodeSelector={"disktype": "sdd"}))
    _, _, details = placed(fake)
    assert "  node worker-1: it is cordoned (spec.unschedulable: true): kubectl uncordon worker-1 lets pods on again" in details
    assert "  node worker-2: nodeSelector disktype=sdd: the node has disktype=hdd" in details


def test_replicas_on_one_node_are_unspread_for_want_of_anti_affinity() -> None:
    fake = cluster()
    fake.add(pod("web-1", "worker-2"), pod("web-2", "worker-2"))
    status, sentence, details = placed(fake, count=2, spread=2)
    assert status == "failed" and details[0] == "2 pod(s) run on 1 node(s) (worker-2: 2); this step wants them on at least 2"
    assert "nothing spreads them" in details[1]
    preferred = {"podAntiAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [{"weight": 100, "podAffinityTerm": {}}]}}
    fake = cluster()
    fake.add(pod("web-1", "worker-2", affinity=preferred), pod("web-2", "worker-2", affinity=preferred))
    assert "only preferred" in placed(fake, count=2, spread=2)[2][1]


def test_placed_and_running_passes() -> None:
    fake = cluster()
    fake.add(pod("batch-1", "worker-1"), pod("batch-2", "worker-1"))
    assert placed(fake, count=2, on={"dedicated": "batch"}) == ("passed", "2 pod(s) with labels app=batch run on worker-1", [])


def state(fake: FakeCluster, **args: Any) -> tuple[str, str, list[str]]:
    return node_state(NodeState(kind="node-state", says="the node is kept for batch", **args), CheckContext(cluster=fake))


def test_a_taint_of_another_effect_a_label_instead_of_a_taint_and_a_deleted_node() -> None:
    soft = FakeCluster({"nodes": [node("worker-1", {"dedicated": "batch"}, [{**WORKER_TAINT, "effect": "PreferNoSchedule"}])]})
    taint = {"key": "dedicated", "value": "batch", "effect": "NoSchedule"}
    status, sentence, details = state(soft, node="worker-1", taints=[taint])  # the first mistake is the sentence
    assert (sentence, details) == ("node worker-1 has the taint dedicated=batch:PreferNoSchedule: this step wants effect NoSchedule",
                                   ["PreferNoSchedule only discourages the scheduler; NoSchedule forbids"])
    labelled = FakeCluster({"nodes": [node("worker-1", {"dedicated": "batch"})]})
    assert state(labelled, node="worker-1", taints=[taint])[1:] == (
        "node worker-1 has the label dedicated=batch but not the taint dedicated=batch:NoSchedule",
        ["a label lets pods choose the node, a taint keeps the others off", "kubectl taint node worker-1 dedicated=batch:NoSchedule"])
    gone = FakeCluster({"nodes": [node("worker-2")]})
    status, sentence, details = state(gone, node="worker-1", drained=True)
    assert sentence == "node worker-1 does not exist" and "deleting a Node object is not draining it" in details[1]


def test_drained_leaves_only_daemonset_pods() -> None:
    fake = FakeCluster({"nodes": [node("worker-1", unschedulable=True)]})
    daemon = pod("calico-node-x", "worker-1")
    daemon["metadata"]["ownerReferences"] = [{"kind": "DaemonSet", "name": "calico-node"}]
    fake.add(daemon)
    assert state(fake, node="worker-1", drained=True)[0] == "passed"
    web = pod("web-1", "worker-1")
    web["metadata"]["ownerReferences"] = [{"kind": "ReplicaSet", "name": "web-5d4f"}]
    fake.add(web)
    assert state(fake, node="worker-1", drained=True)[1:] == (
        "pod lab/web-1 (owned by ReplicaSet web-5d4f) still runs on worker-1",
        ["kubectl drain stops at DaemonSet pods (calico-node-x) unless given --ignore-daemonsets: they are left in place, their "
         "controller would put them back anyway"])
    uncordoned = FakeCluster({"nodes": [node("worker-1")]})
    assert "is not cordoned" in state(uncordoned, node="worker-1", drained=True)[1]


def test_pods_waiting_for_the_same_reasons_are_explained_once() -> None:
    fake = cluster()
    fake.add(*(pod(f"batch-{n}", nodeSelector={"disktype": "ssd"}) for n in range(4)))
    _, sentence, details = placed(fake, count=4)
    assert sentence == "4 of 4 pod(s) with labels app=batch wait for a node"
    assert details[0] == "pod batch-0 waits for a node:" and details[-1] == "3 more pod(s) wait for the same reasons"
    assert sum(line.startswith("pod ") for line in details) == 1


def test_pods_a_quota_refused_are_said_with_the_controllers_event() -> None:
    fake = cluster()
    refusal: dict[str, Any] = {"reason": "FailedCreate", "lastTimestamp": "2026-12-06T10:00:00Z",
               "involvedObject": {"kind": "ReplicaSet", "name": "batch-5d4f"},
               "message": 'Error creating: pods "batch-5d4f-x2" is forbidden: exceeded quota: q, requested: pods=1, used: pods=2, limited: pods=2'}
    def events(namespace: str, involved: str | None = None) -> list[dict[str, Any]]:
        return [refusal]

    fake.events = events  # type: ignore[method-assign]
    status, sentence, details = placed(fake, count=3)
    assert sentence == "0 pod(s) with labels app=batch in lab; this step wants at least 3"
    assert details == ["ReplicaSet batch-5d4f could not create them: " + refusal["message"]]


def test_pods_left_on_a_node_tainted_after_them_are_told_to_start_again() -> None:
    fake = cluster()
    web = pod("web-5d4f-a", "worker-1", labels={"app": "batch"})
    web["metadata"]["ownerReferences"] = [{"kind": "ReplicaSet", "name": "web-5d4f"}]
    fake.add(web)
    details = placed(fake, off={"dedicated": "batch"})[2]
    assert details[1] == ("  the taint dedicated=batch:NoSchedule came after the pod: NoSchedule keeps new pods off but never moves "
                          "running ones; start them again (kubectl rollout restart deployment/web)")


def test_enforced_spread_needs_a_rule_not_the_scores() -> None:
    fake = cluster()
    fake.add(pod("web-1", "worker-1"), pod("web-2", "worker-2"))
    assert placed(fake, count=2, spread=2)[0] == "passed"
    details = placed(fake, count=2, spread=2, enforced=True)[2]
    assert details[0].startswith("the pods are on 2 or more nodes now only because the scheduler's scores spread them")
    rule = {"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
        {"topologyKey": "kubernetes.io/hostname", "labelSelector": {"matchLabels": {"app": "batch"}}}]}}
    ruled = cluster()
    ruled.add(pod("web-1", "worker-1", affinity=rule), pod("web-2", "worker-2", affinity=rule))
    assert placed(ruled, count=2, spread=2, enforced=True)[0] == "passed"


def test_pods_made_in_another_namespace_are_found_there() -> None:
    fake = cluster()
    stray = pod("batch-1", "worker-2")
    stray["metadata"]["namespace"] = "default"
    fake.add(stray)
    assert placed(fake)[2] == ["1 pod(s) with labels app=batch run in namespace default: made without -n lab?"]
