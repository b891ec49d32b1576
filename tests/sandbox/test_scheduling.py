"""The scheduler, seen through real kubectl as a learner sees it: where pods land, why one stays
Pending (its condition, and the FailedScheduling event ``kubectl describe`` shows), and that it
is scheduled once the node it waited for changes. Node changes (labels, taints, cordons) are
made on a sandbox of this module's own, so the shared one keeps three clean nodes."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.sandboxes import KUBECTL, Kubectl, eventually, fresh_name, kubectl_for, start_sandbox

pytestmark = pytest.mark.skipif(KUBECTL is None, reason="kubectl is not on PATH")
CONTROL_PLANE, WORKER, WORKER2 = "labrunner-sandbox-control-plane", "labrunner-sandbox-worker", "labrunner-sandbox-worker2"


@pytest.fixture(scope="module")
def own(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Kubectl]:
    """A sandbox whose nodes the tests may label, taint and cordon."""
    from labrunner.sandbox.control import stop

    files = start_sandbox(tmp_path_factory.mktemp("scheduling"))
    yield kubectl_for(files, tmp_path_factory.mktemp("home"))
    stop(files)


def as_json(kubectl: Kubectl, *argv: str) -> Any:
    return json.loads(kubectl(*argv, "-o", "json").stdout)


def pod_manifest(name: str, namespace: str, **spec: Any) -> str:
    container = {"name": "app", "image": "nginx:1.27", **spec.pop("container", {})}
    return json.dumps({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": namespace, "labels": spec.pop("labels", {})},
                       "spec": {"containers": [container], **spec}})


def scheduled_condition(kubectl: Kubectl, namespace: str, name: str) -> dict[str, Any]:
    pod = as_json(kubectl, "get", "pod", name, "-n", namespace)
    return next((c for c in pod["status"].get("conditions") or [] if c["type"] == "PodScheduled"), {})


def failed_scheduling(kubectl: Kubectl, namespace: str, name: str) -> list[str]:
    events = as_json(kubectl, "get", "events", "-n", namespace, "--field-selector", f"involvedObject.name={name},reason=FailedScheduling")
    return [event["message"] for event in events["items"]]


def node_of(kubectl: Kubectl, namespace: str, name: str) -> str:
    return str(kubectl("get", "pod", name, "-n", namespace, "-o", "jsonpath={.spec.nodeName}").stdout)


def test_the_nodes_are_kubeadm_s_control_plane_and_two_workers_in_zones(kubectl: Kubectl) -> None:
    described = kubectl("describe", "node", CONTROL_PLANE).stdout
    assert "Taints:             node-role.kubernetes.io/control-plane:NoSchedule" in described
    assert "Unschedulable:      false" in described
    assert "Taints:             <none>" in kubectl("describe", "node", WORKER).stdout
    zones = kubectl("get", "nodes", "-L", "topology.kubernetes.io/zone", "--no-headers").stdout.splitlines()
    assert [line.split()[0::5] for line in zones] == [[CONTROL_PLANE, "labrunner-1a"], [WORKER, "labrunner-1a"], [WORKER2, "labrunner-1b"]]
    assert kubectl("get", "node", WORKER, "-o", "jsonpath={.status.allocatable}").stdout == (
        '{"cpu":"2","ephemeral-storage":"20Gi","hugepages-2Mi":"0","memory":"4Gi","pods":"110"}')


def test_coredns_tolerates_the_control_plane_and_runs(kubectl: Kubectl) -> None:
    tolerations = kubectl("get", "deployment", "coredns", "-n", "kube-system", "-o", "jsonpath={.spec.template.spec.tolerations}").stdout
    assert json.loads(tolerations) == [{"key": "CriticalAddonsOnly", "operator": "Exists"},
                                       {"effect": "NoSchedule", "key": "node-role.kubernetes.io/control-plane"}]
    kubectl("rollout", "status", "deployment/coredns", "-n", "kube-system", "--timeout=60s")
    nodes = [p["spec"]["nodeName"] for p in as_json(kubectl, "get", "pods", "-n", "kube-system", "-l", "k8s-app=kube-dns")["items"]]
    assert len(set(nodes)) == 2  # kubeadm's preferred anti-affinity keeps the two replicas apart


def test_workloads_go_to_the_workers_and_spread(kubectl: Kubectl, namespace: str) -> None:
    kubectl("create", "namespace", namespace)
    kubectl("create", "deployment", "web", "--image=nginx:1.27", "--replicas=4", "-n", namespace)
    kubectl("rollout", "status", "deployment/web", "-n", namespace, "--timeout=60s")
    nodes = sorted(p["spec"]["nodeName"] for p in as_json(kubectl, "get", "pods", "-n", namespace)["items"])
    assert nodes == [WORKER, WORKER, WORKER2, WORKER2]
    events = kubectl("get", "events", "-n", namespace, "--field-selector", "reason=Scheduled", "-o", "jsonpath={.items[*].source.component}").stdout
    assert set(events.split()) == {"default-scheduler"}


def test_a_pod_too_big_for_any_node_stays_pending_and_says_why(kubectl: Kubectl, namespace: str) -> None:
    kubectl("create", "namespace", namespace)
    kubectl("apply", "-f", "-", stdin=pod_manifest("big", namespace, container={"resources": {"requests": {"cpu": "3", "memory": "1Gi"}}}))
    message = ("0/3 nodes are available: 1 node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }, 2 Insufficient cpu. "
               "preemption: 0/3 nodes are available: 1 Preemption is not helpful for scheduling, 2 No preemption victims found for incoming pod.")
    eventually(lambda: failed_scheduling(kubectl, namespace, "big") == [message], "the FailedScheduling event")
    condition = scheduled_condition(kubectl, namespace, "big")
    assert (condition["status"], condition["reason"], condition["message"]) == ("False", "Unschedulable", message)
    described = kubectl("describe", "pod", "big", "-n", namespace).stdout
    assert "Node:             <none>" in described and "QoS Class:       Burstable" in described
    assert "Warning  FailedScheduling" in described and "default-scheduler  0/3 nodes are available" in described
    row = kubectl("get", "pod", "big", "-n", namespace, "--no-headers").stdout.split()
    assert row[1:3] == ["0/1", "Pending"]


def test_qos_classes(kubectl: Kubectl, namespace: str) -> None:
    kubectl("create", "namespace", namespace)
    for name, resources in (("guaranteed", {"limits": {"cpu": "100m", "memory": "64Mi"}}), ("burstable", {"requests": {"memory": "64Mi"}}),
                            ("besteffort", {})):
        kubectl("apply", "-f", "-", stdin=pod_manifest(name, namespace, container={"resources": resources}))
    found = kubectl("get", "pods", "-n", namespace, "-o", "jsonpath={range .items[*]}{.metadata.name}={.status.qosClass} {end}").stdout
    assert found.split() == ["besteffort=BestEffort", "burstable=Burstable", "guaranteed=Guaranteed"]


def test_a_selector_nobody_matches_waits_for_a_label(own: Kubectl) -> None:
    namespace = fresh_name()
    own("create", "namespace", namespace)
    own("apply", "-f", "-", stdin=pod_manifest("ssd", namespace, nodeSelector={"disktype": "ssd"}))
    message = ("0/3 nodes are available: 1 node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }, "
               "2 node(s) didn't match Pod's node affinity/selector. preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling.")
    eventually(lambda: failed_scheduling(own, namespace, "ssd") == [message], "the FailedScheduling event")
    own("label", "node", WORKER2, "disktype=ssd")
    try:
        eventually(lambda: node_of(own, namespace, "ssd") == WORKER2, "the pod going to the labelled node")
        own("wait", "--for=condition=Ready", "pod/ssd", "-n", namespace, "--timeout=60s")
    finally:
        own("label", "node", WORKER2, "disktype-")


def test_a_dedicated_node_taint_toleration_and_affinity(own: Kubectl) -> None:
    namespace = fresh_name()
    own("create", "namespace", namespace)
    own("taint", "node", WORKER, "dedicated=gpu:NoSchedule")
    own("label", "node", WORKER, "dedicated=gpu")
    try:
        toleration = [{"key": "dedicated", "operator": "Equal", "value": "gpu", "effect": "NoSchedule"}]
        own("apply", "-f", "-", stdin=pod_manifest("gpu", namespace, tolerations=toleration, nodeSelector={"dedicated": "gpu"}))
        own("apply", "-f", "-", stdin=pod_manifest("other", namespace))
        wrong_effect = [{"key": "dedicated", "operator": "Equal", "value": "gpu", "effect": "NoExecute"}]
        own("apply", "-f", "-", stdin=pod_manifest("mismatch", namespace, tolerations=wrong_effect, nodeSelector={"dedicated": "gpu"}))
        eventually(lambda: node_of(own, namespace, "gpu") == WORKER and node_of(own, namespace, "other") == WORKER2, "placement")
        message = ("0/3 nodes are available: 1 node(s) didn't match Pod's node affinity/selector, 1 node(s) had untolerated taint {dedicated: gpu}, "
                   "1 node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }. "
                   "preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling.")
        eventually(lambda: failed_scheduling(own, namespace, "mismatch") == [message], "the effect mismatch's event")
    finally:
        own("taint", "node", WORKER, "dedicated=gpu:NoSchedule-")
        own("label", "node", WORKER, "dedicated-")
    eventually(lambda: node_of(own, namespace, "mismatch") == WORKER, "the pod scheduled once the taint is gone")


def test_anti_affinity_leaves_the_third_replica_pending_until_a_node_is_uncordoned(own: Kubectl) -> None:
    namespace = fresh_name()
    own("create", "namespace", namespace)
    anti = {"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
        {"labelSelector": {"matchLabels": {"app": "cache"}}, "topologyKey": "kubernetes.io/hostname"}]}}
    deployment = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "cache", "namespace": namespace},
                  "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "cache"}},
                           "template": {"metadata": {"labels": {"app": "cache"}}, "spec": {
                               "affinity": anti, "containers": [{"name": "redis", "image": "redis:7"}]}}}}
    own("apply", "-f", "-", stdin=json.dumps(deployment))

    def pending() -> list[str]:
        pods = as_json(own, "get", "pods", "-n", namespace)["items"]
        return [p["metadata"]["name"] for p in pods if not p["spec"].get("nodeName")]

    eventually(lambda: len(pending()) == 1 and len(as_json(own, "get", "pods", "-n", namespace)["items"]) == 3, "two placed, one pending")
    message = ("0/3 nodes are available: 1 node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }, "
               "2 node(s) didn't match pod anti-affinity rules. preemption: 0/3 nodes are available: "
               "1 Preemption is not helpful for scheduling, 2 No preemption victims found for incoming pod.")
    eventually(lambda: failed_scheduling(own, namespace, pending()[0]) == [message], "the anti-affinity event")
    own("delete", "namespace", namespace, "--wait=false")


def test_a_host_port_is_taken_once_per_node(kubectl: Kubectl, namespace: str) -> None:
    kubectl("create", "namespace", namespace)
    port = {"ports": [{"containerPort": 80, "hostPort": 18080}]}
    for name in ("a", "b", "c"):
        kubectl("apply", "-f", "-", stdin=pod_manifest(name, namespace, container=port))
    message = ("0/3 nodes are available: 1 node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }, "
               "2 node(s) didn't have free ports for the requested pod ports. preemption: 0/3 nodes are available: "
               "1 Preemption is not helpful for scheduling, 2 No preemption victims found for incoming pod.")
    eventually(lambda: sum(bool(failed_scheduling(kubectl, namespace, n)) for n in "abc") == 1, "one pod left without a port")
    waiting = next(n for n in "abc" if failed_scheduling(kubectl, namespace, n))
    assert failed_scheduling(kubectl, namespace, waiting) == [message]
    assert {node_of(kubectl, namespace, n) for n in "abc" if n != waiting} == {WORKER, WORKER2}


@pytest.fixture
def drained(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Kubectl]:
    """A sandbox of the test's own: a drain evicts every namespace's pods from the node."""
    from labrunner.sandbox.control import stop

    files = start_sandbox(tmp_path_factory.mktemp("drain"))
    yield kubectl_for(files, tmp_path_factory.mktemp("home"))
    stop(files)


def test_cordon_drain_and_a_disruption_budget(drained: Kubectl) -> None:
    kubectl = drained
    kubectl("create", "namespace", "shop")
    kubectl("create", "deployment", "web", "--image=nginx:1.27", "--replicas=2", "-n", "shop")
    daemon = {"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": "agent", "namespace": "shop"},
              "spec": {"selector": {"matchLabels": {"app": "agent"}}, "template": {"metadata": {"labels": {"app": "agent"}}, "spec": {
                  "containers": [{"name": "agent", "image": "busybox:1.36", "command": ["sleep", "3600"]}]}}}}
    kubectl("apply", "-f", "-", stdin=json.dumps(daemon))
    kubectl("rollout", "status", "deployment/web", "-n", "shop", "--timeout=60s")
    kubectl("rollout", "status", "daemonset/agent", "-n", "shop", "--timeout=60s")
    # the DaemonSet stays off the control plane it does not tolerate
    agents = as_json(kubectl, "get", "pods", "-n", "shop", "-l", "app=agent")["items"]
    assert sorted(p["spec"]["nodeName"] for p in agents) == [WORKER, WORKER2]
    # each pinned to its node by a required node affinity, and bound there by the scheduler
    for agent in agents:
        terms = agent["spec"]["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"]
        assert terms == [{"matchFields": [{"key": "metadata.name", "operator": "In", "values": [agent["spec"]["nodeName"]]}]}]
        scheduled = as_json(kubectl, "get", "events", "-n", "shop", "--field-selector", f"involvedObject.name={agent['metadata']['name']},reason=Scheduled")
        assert [e["source"]["component"] for e in scheduled["items"]] == ["default-scheduler"]
    kubectl("create", "pdb", "web", "-n", "shop", "--selector=app=web", "--min-available=1")
    eventually(lambda: kubectl("get", "pdb", "web", "-n", "shop", "--no-headers").stdout.split()[1:4] == ["1", "N/A", "1"], "the budget's status")
    status = as_json(kubectl, "get", "pdb", "web", "-n", "shop")["status"]
    assert {k: status[k] for k in ("currentHealthy", "desiredHealthy", "disruptionsAllowed", "expectedPods")} == {
        "currentHealthy": 2, "desiredHealthy": 1, "disruptionsAllowed": 1, "expectedPods": 2}

    # forgetting --ignore-daemonsets: kubectl refuses (the node is cordoned all the same)
    refused = kubectl("drain", WORKER, check=False)
    assert refused.returncode != 0 and "cannot delete DaemonSet-managed Pods (use --ignore-daemonsets to ignore)" in refused.stderr
    assert "Ready,SchedulingDisabled" in kubectl("get", "node", WORKER).stdout
    described = kubectl("describe", "node", WORKER).stdout
    assert "Taints:             node.kubernetes.io/unschedulable:NoSchedule" in described and "Unschedulable:      true" in described

    drained_out = kubectl("drain", WORKER, "--ignore-daemonsets", "--timeout=60s")
    assert f"node/{WORKER} drained" in drained_out.stdout
    web = as_json(kubectl, "get", "pods", "-n", "shop", "-l", "app=web")["items"]
    assert {p["spec"].get("nodeName") for p in web} <= {WORKER2, None}
    kubectl("rollout", "status", "deployment/web", "-n", "shop", "--timeout=60s")
    assert {p["spec"]["nodeName"] for p in as_json(kubectl, "get", "pods", "-n", "shop", "-l", "app=web")["items"]} == {WORKER2}

    # the budget now forbids a second disruption: draining worker2 retries until its timeout
    kubectl("patch", "pdb", "web", "-n", "shop", "--type=merge", "-p", '{"spec":{"minAvailable":2}}')
    eventually(lambda: as_json(kubectl, "get", "pdb", "web", "-n", "shop")["status"].get("disruptionsAllowed") == 0
               and as_json(kubectl, "get", "pdb", "web", "-n", "shop")["status"].get("observedGeneration") == 2, "the stricter budget")
    blocked = kubectl("drain", WORKER2, "--ignore-daemonsets", "--timeout=3s", check=False)
    assert blocked.returncode != 0
    assert "Cannot evict pod as it would violate the pod's disruption budget." in blocked.stderr
    assert len(as_json(kubectl, "get", "pods", "-n", "shop", "-l", "app=web")["items"]) == 2

    kubectl("uncordon", WORKER)
    kubectl("uncordon", WORKER2)
    assert "Taints:             <none>" in kubectl("describe", "node", WORKER).stdout


def test_the_eviction_api_answers_as_kube_apiserver(drained: Kubectl) -> None:
    kubectl = drained
    kubectl("create", "namespace", "shop")
    kubectl("apply", "-f", "-", stdin=pod_manifest("solo", "shop", labels={"app": "solo"}))
    kubectl("wait", "--for=condition=Ready", "pod/solo", "-n", "shop", "--timeout=60s")
    kubectl("create", "pdb", "solo", "-n", "shop", "--selector=app=solo", "--min-available=1")
    eventually(lambda: (as_json(kubectl, "get", "pdb", "solo", "-n", "shop").get("status") or {}).get("currentHealthy") == 1, "the budget")
    eviction = json.dumps({"apiVersion": "policy/v1", "kind": "Eviction", "metadata": {"name": "solo", "namespace": "shop"}})
    refused = kubectl("create", "--raw", "/api/v1/namespaces/shop/pods/solo/eviction", "-f", "-", stdin=eviction, check=False)
    assert refused.returncode != 0 and "Cannot evict pod as it would violate the pod's disruption budget." in refused.stderr
    kubectl("delete", "pdb", "solo", "-n", "shop")
    answer = json.loads(kubectl("create", "--raw", "/api/v1/namespaces/shop/pods/solo/eviction", "-f", "-", stdin=eviction).stdout)
    assert answer == {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201}
    assert kubectl("get", "pod", "solo", "-n", "shop", check=False).returncode != 0


def test_a_no_execute_taint_evicts_what_does_not_tolerate_it(drained: Kubectl) -> None:
    kubectl = drained
    kubectl("create", "namespace", "ops")
    for name, tolerations in (("plain", []), ("brief", [{"key": "maintenance", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 20}]),
                              ("patient", [{"key": "maintenance", "operator": "Exists", "effect": "NoExecute"}])):
        kubectl("apply", "-f", "-", stdin=pod_manifest(name, "ops", tolerations=tolerations, nodeName=WORKER2))
    kubectl("wait", "--for=condition=Ready", "pod/plain", "pod/brief", "pod/patient", "-n", "ops", "--timeout=60s")
    kubectl("taint", "node", WORKER2, "maintenance=now:NoExecute")

    def remaining() -> list[str]:
        return sorted(p["metadata"]["name"] for p in as_json(kubectl, "get", "pods", "-n", "ops")["items"])

    eventually(lambda: remaining() == ["brief", "patient"], "the untolerating pod evicted")
    eventually(lambda: remaining() == ["patient"], "the pod whose tolerationSeconds ran out evicted")
    events = as_json(kubectl, "get", "events", "-n", "ops", "--field-selector", "reason=TaintManagerEviction")["items"]
    assert sorted(e["message"] for e in events) == ["Marking for deletion Pod ops/brief", "Marking for deletion Pod ops/plain"]
    assert {e["source"]["component"] for e in events} == {"taint-eviction-controller"}
    kubectl("taint", "node", WORKER2, "maintenance-")


def test_priority_classes_are_served_with_the_built_in_two(kubectl: Kubectl, namespace: str) -> None:
    rows = [line.split() for line in kubectl("get", "priorityclass").stdout.splitlines()]
    assert rows[0] == ["NAME", "VALUE", "GLOBAL-DEFAULT", "AGE", "PREEMPTIONPOLICY"]
    assert [(r[0], r[1], r[2], r[4]) for r in rows[1:]] == [("system-cluster-critical", "2000000000", "false", "PreemptLowerPriority"),
                                                            ("system-node-critical", "2000001000", "false", "PreemptLowerPriority")]
    coredns = as_json(kubectl, "get", "pods", "-n", "kube-system", "-l", "k8s-app=kube-dns")["items"]
    assert {(p["spec"]["priority"], p["spec"]["preemptionPolicy"]) for p in coredns} == {(2000000000, "PreemptLowerPriority")}
    kubectl("create", "namespace", namespace)
    refused = kubectl("apply", "-f", "-", stdin=pod_manifest("vip", namespace, priorityClassName="gold"), check=False)
    assert refused.returncode != 0
    assert 'pods "vip" is forbidden: no PriorityClass with name gold was found' in refused.stderr
    plain = kubectl("apply", "-f", "-", stdin=pod_manifest("plain", namespace))
    assert plain.returncode == 0
    assert kubectl("get", "pod", "plain", "-n", namespace, "-o", "jsonpath={.spec.priority} {.spec.preemptionPolicy}").stdout == "0 PreemptLowerPriority"
    too_high = kubectl("create", "priorityclass", fresh_name("pc"), "--value=2000000000", check=False)
    assert "maximum allowed value of a user defined priority is 1000000000" in too_high.stderr


def test_a_higher_priority_pod_preempts_a_lower_one(drained: Kubectl) -> None:
    kubectl = drained
    kubectl("create", "namespace", "batch")
    kubectl("create", "priorityclass", "low", "--value=100", "--description=batch work")
    kubectl("create", "priorityclass", "high", "--value=100000", "--description=serving")
    for index, node in enumerate((WORKER, WORKER2)):
        kubectl("apply", "-f", "-", stdin=pod_manifest(f"filler-{index}", "batch", priorityClassName="low",
                                                        nodeSelector={"kubernetes.io/hostname": node},
                                                        container={"resources": {"requests": {"cpu": "1500m"}}}))
    kubectl("wait", "--for=condition=Ready", "pod/filler-0", "pod/filler-1", "-n", "batch", "--timeout=60s")
    kubectl("apply", "-f", "-", stdin=pod_manifest("urgent", "batch", priorityClassName="high",
                                                    container={"resources": {"requests": {"cpu": "1"}}}))
    kubectl("wait", "--for=condition=Ready", "pod/urgent", "-n", "batch", "--timeout=60s")
    left = [p["metadata"]["name"] for p in as_json(kubectl, "get", "pods", "-n", "batch")["items"]]
    assert len(left) == 2 and "urgent" in left
    victim = ({"filler-0", "filler-1"} - set(left)).pop()
    urgent = as_json(kubectl, "get", "pod", "urgent", "-n", "batch")
    events = as_json(kubectl, "get", "events", "-n", "batch", "--field-selector", f"involvedObject.name={victim},reason=Preempted")["items"]
    assert [e["message"] for e in events] == [f"Preempted by pod {urgent['metadata']['uid']} on node {urgent['spec']['nodeName']}"]
    failed = failed_scheduling(kubectl, "batch", "urgent")
    assert failed == ["0/3 nodes are available: 1 node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }, 2 Insufficient cpu."]


def test_a_new_pod_tolerates_a_failed_node_for_five_minutes(kubectl: Kubectl, namespace: str) -> None:
    kubectl("create", "namespace", namespace)
    kubectl("apply", "-f", "-", stdin=pod_manifest("web", namespace))
    described = kubectl("describe", "pod", "web", "-n", namespace).stdout
    assert ("Tolerations:                  node.kubernetes.io/not-ready:NoExecute op=Exists for 300s\n"
            "                              node.kubernetes.io/unreachable:NoExecute op=Exists for 300s\n") in described


def test_a_sandbox_from_before_gets_its_second_worker_and_zones_at_start(tmp_path: Any) -> None:
    """An older labrunner made two nodes without zones and an untainted control plane: at start
    the missing worker registers as a kubelet registers it and the zone labels are put back as a
    kubelet's updateDefaultLabels does; the control plane keeps its spec (kubeadm taints at init only)."""
    from labrunner.sandbox import resources
    from labrunner.sandbox.seed import NODES, node, report_nodes
    from labrunner.sandbox.store import Store

    nodes = resources.lookup("", "v1", "nodes")
    assert nodes is not None
    store = Store(tmp_path / "state.db")
    for name, address, control_plane in NODES[:2]:
        old = node(name, address, control_plane)
        old["spec"].pop("taints", None)
        old["metadata"]["labels"] = {k: v for k, v in old["metadata"]["labels"].items() if not k.startswith("topology.")}
        old["metadata"]["labels"]["team"] = "learner's own"
        store.create(nodes, old)
    report_nodes(store)
    found = {n["metadata"]["name"]: n for n in store.list(nodes)}
    assert sorted(found) == [CONTROL_PLANE, WORKER, WORKER2]
    assert found[CONTROL_PLANE]["metadata"]["labels"]["topology.kubernetes.io/zone"] == "labrunner-1a"
    assert found[CONTROL_PLANE]["metadata"]["labels"]["team"] == "learner's own"
    assert not found[CONTROL_PLANE]["spec"].get("taints")
    assert found[WORKER2]["metadata"]["labels"]["topology.kubernetes.io/zone"] == "labrunner-1b"
    assert "node-role.kubernetes.io/control-plane" not in found[WORKER2]["metadata"]["labels"]
    store.close()


def test_deleting_a_node_instead_of_draining_it(drained: Kubectl) -> None:
    """The classic mistake: the Node object goes, its pods stay bound to it until the pod garbage
    collector's quarantine has passed; then they are deleted and their controllers place new ones."""
    kubectl = drained
    kubectl("create", "namespace", "shop")
    kubectl("create", "deployment", "web", "--image=nginx:1.27", "--replicas=2", "-n", "shop")
    kubectl("rollout", "status", "deployment/web", "-n", "shop", "--timeout=60s")
    kubectl("delete", "node", WORKER)
    assert [line.split()[0] for line in kubectl("get", "nodes", "--no-headers").stdout.splitlines()] == [CONTROL_PLANE, WORKER2]

    def nodes() -> list[str]:
        return sorted(p["spec"].get("nodeName") or "" for p in as_json(kubectl, "get", "pods", "-n", "shop")["items"])

    eventually(lambda: nodes() == [WORKER2, WORKER2], "the orphaned pod replaced on the remaining worker")
    kubectl("rollout", "status", "deployment/web", "-n", "shop", "--timeout=60s")


def test_the_higher_priority_pod_gets_the_room_that_frees_up(drained: Kubectl) -> None:
    """PrioritySort: of two pods waiting for the same room, the higher-priority one is scheduled
    first, whatever their names."""
    kubectl = drained
    kubectl("create", "namespace", "queue")
    for name, value in (("fill", 5000), ("low", 100), ("high", 1000)):
        kubectl("create", "priorityclass", name, f"--value={value}")
    big = {"resources": {"requests": {"cpu": "1500m"}}}
    for index, node in enumerate((WORKER, WORKER2)):
        kubectl("apply", "-f", "-", stdin=pod_manifest(f"filler-{index}", "queue", priorityClassName="fill",
                                                        nodeSelector={"kubernetes.io/hostname": node}, container=big))
    kubectl("wait", "--for=condition=Ready", "pod/filler-0", "pod/filler-1", "-n", "queue", "--timeout=60s")
    kubectl("apply", "-f", "-", stdin=pod_manifest("a-low", "queue", priorityClassName="low", container=big))
    kubectl("apply", "-f", "-", stdin=pod_manifest("z-high", "queue", priorityClassName="high", container=big))
    eventually(lambda: bool(failed_scheduling(kubectl, "queue", "a-low")) and bool(failed_scheduling(kubectl, "queue", "z-high")), "both waiting")
    kubectl("delete", "pod", "filler-0", "-n", "queue")
    eventually(lambda: node_of(kubectl, "queue", "z-high") == WORKER, "the high-priority pod placed")
    assert node_of(kubectl, "queue", "a-low") == ""


def test_a_pod_given_a_full_node_by_hand_is_rejected_by_its_kubelet(kubectl: Kubectl, namespace: str) -> None:
    """Manual scheduling (spec.nodeName) skips the scheduler, not the kubelet's admission."""
    kubectl("create", "namespace", namespace)
    kubectl("apply", "-f", "-", stdin=pod_manifest("huge", namespace, nodeName=WORKER, container={"resources": {"requests": {"cpu": "3"}}}))
    kubectl("apply", "-f", "-", stdin=pod_manifest("elsewhere", namespace, nodeName=WORKER, nodeSelector={"disktype": "nvme"}))
    kubectl("apply", "-f", "-", stdin=pod_manifest("fine", namespace, nodeName=CONTROL_PLANE))

    def rejected(name: str) -> str:
        status = as_json(kubectl, "get", "pod", name, "-n", namespace)["status"]
        return f"{status.get('phase')} {status.get('reason')}: {status.get('message')}"

    eventually(lambda: rejected("huge").startswith("Failed"), "the kubelet's rejection")
    assert rejected("huge").startswith("Failed OutOfcpu: Pod was rejected: Node didn't have enough resource: cpu, requested: 3000, used: ")
    assert rejected("huge").endswith(", capacity: 2000")
    assert rejected("elsewhere") == ("Failed NodeAffinity: Pod was rejected: Predicate NodeAffinity failed: "
                                     "node(s) didn't match Pod's node affinity/selector")
    assert kubectl("get", "pod", "huge", "-n", namespace, "--no-headers").stdout.split()[2] == "OutOfcpu"
    kubectl("wait", "--for=condition=Ready", "pod/fine", "-n", namespace, "--timeout=60s")  # a NoSchedule taint does not stop the kubelet


def test_topology_spread_constraints_count_the_control_plane_as_a_domain(kubectl: Kubectl, namespace: str) -> None:
    """maxSkew 1 over hostnames: the tainted control plane is a domain with no pod (nodeTaintsPolicy
    defaults to Ignore), so each worker takes one replica and the third waits."""
    kubectl("create", "namespace", namespace)
    spread = [{"maxSkew": 1, "topologyKey": "kubernetes.io/hostname", "whenUnsatisfiable": "DoNotSchedule",
               "labelSelector": {"matchLabels": {"app": "web"}}}]
    deployment = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": namespace},
                  "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "web"}}, "template": {
                      "metadata": {"labels": {"app": "web"}},
                      "spec": {"topologySpreadConstraints": spread, "containers": [{"name": "web", "image": "nginx:1.27"}]}}}}
    kubectl("apply", "-f", "-", stdin=json.dumps(deployment))

    def waiting() -> list[str]:
        pods = as_json(kubectl, "get", "pods", "-n", namespace)["items"]
        return [p["metadata"]["name"] for p in pods if not p["spec"].get("nodeName")] if len(pods) == 3 else []

    eventually(lambda: len(waiting()) == 1, "one replica left waiting")
    message = ("0/3 nodes are available: 1 node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }, "
               "2 node(s) didn't match pod topology spread constraints. preemption: 0/3 nodes are available: "
               "1 Preemption is not helpful for scheduling, 2 No preemption victims found for incoming pod.")
    eventually(lambda: failed_scheduling(kubectl, namespace, waiting()[0]) == [message], "the spread event")
