"""The scheduling package's filters, scores and messages as truth tables, each row taken from the
Kubernetes documentation (Taints and Tolerations, Assigning Pods to Nodes, Resource Management
for Pods and Containers, Pod QoS classes, Pod Priority and Preemption) or from kube-scheduler's
Go source where the documentation says no more (the reason strings, FitError's sorting)."""

from __future__ import annotations

from typing import Any

import pytest

from labrunner.sandbox.scheduling import Snapshot, pod_requests, qos_class, schedule
from labrunner.sandbox.scheduling.matching import requirement_matches, tolerates

CONTROL_PLANE_TAINT = {"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}


def node(name: str, *, cpu: str = "2", memory: str = "4Gi", pods: str = "110", taints: list[dict[str, Any]] | None = None,
         labels: dict[str, str] | None = None, unschedulable: bool = False) -> dict[str, Any]:
    return {"metadata": {"name": name, "labels": {"kubernetes.io/hostname": name, **(labels or {})}},
            "spec": {"taints": taints or [], **({"unschedulable": True} if unschedulable else {})},
            "status": {"allocatable": {"cpu": cpu, "memory": memory, "pods": pods, "ephemeral-storage": "20Gi"}}}


def pod(name: str = "p", namespace: str = "default", *, labels: dict[str, str] | None = None, requests: dict[str, str] | None = None,
        node_name: str | None = None, priority: int | None = None, **spec: Any) -> dict[str, Any]:
    container: dict[str, Any] = {"name": "c", "image": "nginx"}
    if requests:
        container["resources"] = {"requests": requests}
    body: dict[str, Any] = {"containers": [container], **spec}
    if node_name:
        body["nodeName"] = node_name
    if priority is not None:
        body["priority"] = priority
    return {"metadata": {"name": name, "namespace": namespace, "uid": f"uid-{name}", "labels": labels or {}}, "spec": body}


def cluster() -> list[dict[str, Any]]:
    """kubeadm's three nodes: a tainted control plane and two workers, in two zones."""
    return [node("cp", taints=[CONTROL_PLANE_TAINT], labels={"topology.kubernetes.io/zone": "a"}),
            node("w1", labels={"topology.kubernetes.io/zone": "a"}), node("w2", labels={"topology.kubernetes.io/zone": "b"})]


def message(incoming: dict[str, Any], nodes: list[dict[str, Any]], bound: list[dict[str, Any]] = ()) -> str:  # type: ignore[assignment]
    decision = schedule(incoming, Snapshot.build(nodes, bound))
    assert decision.node is None, f"expected no node, got {decision.node}"
    return str(decision.error)


# -- tolerations (concepts/scheduling-eviction/taint-and-toleration) -----------------------------

TAINT = {"key": "key1", "value": "value1", "effect": "NoSchedule"}


@pytest.mark.parametrize(("toleration", "expected"), [
    ({"key": "key1", "operator": "Equal", "value": "value1", "effect": "NoSchedule"}, True),
    ({"key": "key1", "operator": "Exists", "effect": "NoSchedule"}, True),
    ({"key": "key1", "value": "value1", "effect": "NoSchedule"}, True),  # the operator defaults to Equal
    ({"operator": "Exists"}, True),  # "An empty key with operator Exists matches all keys, values and effects"
    ({"key": "key1", "operator": "Exists"}, True),  # "An empty effect matches all effects with key key1"
    ({"key": "key1", "operator": "Equal", "value": "value2", "effect": "NoSchedule"}, False),
    ({"key": "key1", "operator": "Equal", "value": "value1", "effect": "NoExecute"}, False),
    ({"key": "key2", "operator": "Exists", "effect": "NoSchedule"}, False),
    ({"key": "key1", "operator": "Equal", "effect": "NoSchedule"}, False),  # Equal without the value
])
def test_toleration_matching(toleration: dict[str, Any], expected: bool) -> None:
    assert tolerates(toleration, TAINT) is expected


def test_every_untolerated_taint_counts_the_docs_three_taints_example() -> None:
    taints = [{"key": "key1", "value": "value1", "effect": "NoSchedule"}, {"key": "key1", "value": "value1", "effect": "NoExecute"},
              {"key": "key2", "value": "value2", "effect": "NoSchedule"}]
    tolerations = [{"key": "key1", "operator": "Equal", "value": "value1", "effect": "NoSchedule"},
                   {"key": "key1", "operator": "Equal", "value": "value1", "effect": "NoExecute"}]
    assert message(pod(tolerations=tolerations), [node("n", taints=taints)]) == (
        "0/1 nodes are available: 1 node(s) had untolerated taint {key2: value2}. "
        "preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling.")
    assert schedule(pod(tolerations=[*tolerations, {"key": "key2", "operator": "Exists"}]),
                    Snapshot.build([node("n", taints=taints)], [])).node == "n"


def test_prefer_no_schedule_only_scores() -> None:
    nodes = [node("a", taints=[{"key": "k", "value": "v", "effect": "PreferNoSchedule"}]), node("b")]
    assert schedule(pod(), Snapshot.build(nodes, [])).node == "b"
    assert schedule(pod(), Snapshot.build(nodes[:1], [])).node == "a"


def test_control_plane_taint_and_its_kubeadm_toleration() -> None:
    only_cp = cluster()[:1]
    assert message(pod(), only_cp).startswith("0/1 nodes are available: 1 node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }.")
    tolerating = pod(tolerations=[{"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}])
    assert schedule(tolerating, Snapshot.build(only_cp, [])).node == "cp"


def test_no_execute_taint_filters_too() -> None:
    nodes = [node("n", taints=[{"key": "maintenance", "value": "true", "effect": "NoExecute"}])]
    assert "1 node(s) had untolerated taint {maintenance: true}" in message(pod(), nodes)


# -- cordon (NodeUnschedulable) ---------------------------------------------------------------------


def test_cordoned_nodes_were_unschedulable_before_any_taint_is_looked_at() -> None:
    nodes = [node("cp", taints=[CONTROL_PLANE_TAINT]), node("w1", unschedulable=True), node("w2", unschedulable=True)]
    assert message(pod(), nodes) == (
        "0/3 nodes are available: 1 node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }, 2 node(s) were unschedulable. "
        "preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling.")
    tolerant = pod(tolerations=[{"key": "node.kubernetes.io/unschedulable", "operator": "Exists", "effect": "NoSchedule"}])
    assert schedule(tolerant, Snapshot.build(nodes, [])).node == "w1"


# -- node selection (concepts/scheduling-eviction/assign-pod-node) ------------------------------------


@pytest.mark.parametrize(("operator", "values", "labels", "expected"), [
    ("In", ["antarctica-east1", "antarctica-west1"], {"zone": "antarctica-east1"}, True),
    ("In", ["antarctica-east1"], {"zone": "antarctica-west1"}, False),
    ("In", ["antarctica-east1"], {}, False),
    ("NotIn", ["antarctica-east1"], {"zone": "antarctica-west1"}, True),
    ("NotIn", ["antarctica-east1"], {}, True),
    ("NotIn", ["antarctica-east1"], {"zone": "antarctica-east1"}, False),
    ("Exists", [], {"zone": ""}, True),
    ("Exists", [], {}, False),
    ("DoesNotExist", [], {}, True),
    ("DoesNotExist", [], {"zone": "x"}, False),
    ("Gt", ["5"], {"zone": "6"}, True),
    ("Gt", ["5"], {"zone": "5"}, False),
    ("Gt", ["5"], {"zone": "six"}, False),
    ("Lt", ["5"], {"zone": "4"}, True),
    ("Lt", ["5"], {}, False),
])
def test_node_selector_operators(operator: str, values: list[str], labels: dict[str, str], expected: bool) -> None:
    assert requirement_matches({"key": "zone", "operator": operator, "values": values}, labels) is expected


def _required(*terms: dict[str, Any]) -> dict[str, Any]:
    return {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": list(terms)}}}


def test_node_selector_and_required_affinity() -> None:
    nodes = [node("ssd", labels={"disktype": "ssd"}), node("hdd", labels={"disktype": "hdd"})]
    assert schedule(pod(nodeSelector={"disktype": "ssd"}), Snapshot.build(nodes, [])).node == "ssd"
    assert message(pod(nodeSelector={"disktype": "nvme"}), nodes) == (
        "0/2 nodes are available: 2 node(s) didn't match Pod's node affinity/selector. "
        "preemption: 0/2 nodes are available: 2 Preemption is not helpful for scheduling.")
    ors = _required({"matchExpressions": [{"key": "disktype", "operator": "In", "values": ["nvme"]}]},
                    {"matchExpressions": [{"key": "disktype", "operator": "In", "values": ["hdd"]}]})
    assert schedule(pod(affinity=ors), Snapshot.build(nodes, [])).node == "hdd"
    ands = _required({"matchExpressions": [{"key": "disktype", "operator": "In", "values": ["hdd"]},
                                           {"key": "kubernetes.io/hostname", "operator": "NotIn", "values": ["hdd"]}]})
    assert "2 node(s) didn't match Pod's node affinity/selector" in message(pod(affinity=ands), nodes)
    # Both nodeSelector and affinity must be satisfied
    both = pod(nodeSelector={"disktype": "ssd"}, affinity=_required({"matchExpressions": [{"key": "disktype", "operator": "In", "values": ["hdd"]}]}))
    assert "2 node(s) didn't match Pod's node affinity/selector" in message(both, nodes)


def test_match_fields_names_the_node_and_other_nodes_did_not_satisfy_the_plugin() -> None:
    named = _required({"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["cp"]}]})
    assert message(pod(affinity=named), cluster()) == (
        "0/3 nodes are available: 1 node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }, "
        "2 node(s) didn't satisfy plugin(s) [NodeAffinity]. preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling.")
    assert schedule(pod(affinity=_required({"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["w2"]}]})),
                    Snapshot.build(cluster(), [])).node == "w2"


def test_preferred_node_affinity_weights() -> None:
    """The docs' example: label-1 (weight 1) and label-2 (weight 50); the node with label-2 wins."""
    nodes = [node("one", labels={"label-1": "key-1"}), node("two", labels={"label-2": "key-2"})]
    affinity = {"nodeAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
        {"weight": 1, "preference": {"matchExpressions": [{"key": "label-1", "operator": "In", "values": ["key-1"]}]}},
        {"weight": 50, "preference": {"matchExpressions": [{"key": "label-2", "operator": "In", "values": ["key-2"]}]}}]}}
    assert schedule(pod(affinity=affinity), Snapshot.build(nodes, [])).node == "two"


# -- resources (concepts/configuration/manage-resources-containers) ------------------------------------


def test_requests_sum_containers_and_take_the_init_containers_peak() -> None:
    spec = {"spec": {"containers": [{"resources": {"requests": {"cpu": "250m", "memory": "64Mi"}}},
                                    {"resources": {"requests": {"cpu": "250m", "memory": "64Mi"}}}],
                     "initContainers": [{"resources": {"requests": {"cpu": "1", "memory": "32Mi"}}}]}}
    assert pod_requests(spec) == {"cpu": 1000, "memory": 128 * 2 ** 20}
    with_sidecar = {"spec": {"containers": [{"resources": {"requests": {"cpu": "100m"}}}],
                             "initContainers": [{"restartPolicy": "Always", "resources": {"requests": {"cpu": "200m"}}},
                                                {"resources": {"requests": {"cpu": "250m"}}}]}}
    assert pod_requests(with_sidecar) == {"cpu": 450}  # the init container runs beside the sidecar: 200m + 250m
    overhead = {"spec": {"containers": [{"resources": {"limits": {"cpu": "500m"}}}], "overhead": {"cpu": "250m", "memory": "120Mi"}}}
    assert pod_requests(overhead) == {"cpu": 750, "memory": 120 * 2 ** 20}  # a limit alone is the request


def test_requests_against_allocatable_less_what_is_bound() -> None:
    nodes = [node("a", cpu="1", memory="1Gi"), node("b", cpu="1", memory="1Gi")]
    bound = [pod("x", requests={"cpu": "600m"}, node_name="a"), pod("y", requests={"cpu": "600m", "memory": "900Mi"}, node_name="b"),
             {**pod("done", requests={"cpu": "900m"}, node_name="a"), "status": {"phase": "Succeeded"}}]
    assert schedule(pod(requests={"cpu": "400m", "memory": "200Mi"}), Snapshot.build(nodes, bound)).node == "a"  # b has 124Mi left
    assert message(pod(requests={"cpu": "500m", "memory": "200Mi"}), nodes, bound) == (
        "0/2 nodes are available: 1 Insufficient memory, 2 Insufficient cpu. "
        "preemption: 0/2 nodes are available: 2 No preemption victims found for incoming pod.")


def test_too_many_pods_and_extended_resources() -> None:
    full = [node("a", pods="1")]
    assert "1 Too many pods" in message(pod(), full, [pod("x", node_name="a")])
    assert "1 Insufficient nvidia.com/gpu" in message(pod(requests={"nvidia.com/gpu": "1"}), full)


def test_least_allocated_prefers_the_emptier_node() -> None:
    nodes = [node("a"), node("b")]
    assert schedule(pod(requests={"cpu": "100m"}), Snapshot.build(nodes, [pod("x", requests={"cpu": "1"}, node_name="a")])).node == "b"


# -- host ports --------------------------------------------------------------------------------------


def test_host_port_conflicts() -> None:
    def with_port(name: str, port: int, node_name: str | None = None, protocol: str = "TCP", ip: str | None = None) -> dict[str, Any]:
        created = pod(name, node_name=node_name)
        created["spec"]["containers"][0]["ports"] = [{"containerPort": 80, "hostPort": port, "protocol": protocol, **({"hostIP": ip} if ip else {})}]
        return created

    nodes = [node("a")]
    bound = [with_port("x", 8080, "a")]
    assert message(with_port("p", 8080), nodes, bound).startswith(
        "0/1 nodes are available: 1 node(s) didn't have free ports for the requested pod ports.")
    assert schedule(with_port("p", 8081), Snapshot.build(nodes, bound)).node == "a"
    assert schedule(with_port("p", 8080, protocol="UDP"), Snapshot.build(nodes, bound)).node == "a"
    assert schedule(with_port("p", 9090, ip="10.0.0.1"), Snapshot.build(nodes, [with_port("x", 9090, "a", ip="10.0.0.2")])).node == "a"
    assert schedule(with_port("p", 9090, ip="10.0.0.1"), Snapshot.build(nodes, [with_port("x", 9090, "a")])).node is None


# -- inter-pod affinity -------------------------------------------------------------------------------


def _pod_term(kind: str, labels: dict[str, str], key: str, **more: Any) -> dict[str, Any]:
    return {kind: {"requiredDuringSchedulingIgnoredDuringExecution": [{"labelSelector": {"matchLabels": labels}, "topologyKey": key, **more}]}}


def test_anti_affinity_spreads_replicas_over_hostnames() -> None:
    """The docs' redis-cache example: three replicas with anti-affinity on hostname, two workers:
    the third stays Pending."""
    anti = _pod_term("podAntiAffinity", {"app": "store"}, "kubernetes.io/hostname")
    nodes = cluster()
    first = schedule(pod("r1", labels={"app": "store"}, affinity=anti), Snapshot.build(nodes, [])).node
    bound = [pod("r1", labels={"app": "store"}, affinity=anti, node_name=first)]
    second = schedule(pod("r2", labels={"app": "store"}, affinity=anti), Snapshot.build(nodes, bound)).node
    assert {first, second} == {"w1", "w2"}
    bound.append(pod("r2", labels={"app": "store"}, affinity=anti, node_name=second))
    assert message(pod("r3", labels={"app": "store"}, affinity=anti), nodes, bound) == (
        "0/3 nodes are available: 1 node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }, "
        "2 node(s) didn't match pod anti-affinity rules. preemption: 0/3 nodes are available: "
        "1 Preemption is not helpful for scheduling, 2 No preemption victims found for incoming pod.")


def test_existing_pods_anti_affinity_keeps_the_incoming_pod_away() -> None:
    anti = _pod_term("podAntiAffinity", {"app": "web"}, "topology.kubernetes.io/zone")
    bound = [pod("loner", affinity=anti, node_name="w1")]
    assert schedule(pod("web", labels={"app": "web"}), Snapshot.build(cluster(), bound)).node == "w2"
    assert "1 node(s) didn't satisfy existing pods anti-affinity rules" in message(
        pod("web", labels={"app": "web"}), cluster()[1:2], bound)


def test_affinity_follows_the_pod_into_its_zone_and_the_first_pod_of_a_series() -> None:
    affinity = _pod_term("podAffinity", {"app": "cache"}, "topology.kubernetes.io/zone")
    bound = [pod("cache", labels={"app": "cache"}, node_name="w2")]
    assert schedule(pod("web", affinity=affinity), Snapshot.build(cluster(), bound)).node == "w2"
    assert "2 node(s) didn't match pod affinity rules" in message(pod("web", affinity=affinity), cluster())
    # A pod with affinity to its own label may start the series
    assert schedule(pod("cache", labels={"app": "cache"}, affinity=affinity), Snapshot.build(cluster(), [])).node in ("w1", "w2")


def test_affinity_namespaces() -> None:
    selecting = _pod_term("podAffinity", {"app": "db"}, "kubernetes.io/hostname")
    bound = [pod("db", "data", labels={"app": "db"}, node_name="w2")]
    namespaces = {"default": {"kubernetes.io/metadata.name": "default"}, "data": {"kubernetes.io/metadata.name": "data", "team": "x"}}
    # the term's namespace defaults to the pod's own: the db in "data" does not count
    assert "didn't match pod affinity rules" in message(pod(affinity=selecting), cluster(), bound)
    listed = _pod_term("podAffinity", {"app": "db"}, "kubernetes.io/hostname", namespaces=["data"])
    assert schedule(pod(affinity=listed), Snapshot.build(cluster(), bound, namespace_labels=namespaces)).node == "w2"
    by_label = _pod_term("podAffinity", {"app": "db"}, "kubernetes.io/hostname", namespaceSelector={"matchLabels": {"team": "x"}})
    assert schedule(pod(affinity=by_label), Snapshot.build(cluster(), bound, namespace_labels=namespaces)).node == "w2"
    everywhere = _pod_term("podAffinity", {"app": "db"}, "kubernetes.io/hostname", namespaceSelector={})
    assert schedule(pod(affinity=everywhere), Snapshot.build(cluster(), bound, namespace_labels=namespaces)).node == "w2"


def test_preferred_anti_affinity_scores_away_from_matching_pods() -> None:
    preferred = {"podAntiAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
        {"weight": 100, "podAffinityTerm": {"labelSelector": {"matchLabels": {"app": "web"}}, "topologyKey": "kubernetes.io/hostname"}}]}}
    bound = [pod("web-1", labels={"app": "web"}, node_name="w1")]
    assert schedule(pod("web-2", labels={"app": "web"}, affinity=preferred), Snapshot.build(cluster(), bound)).node == "w2"


def test_replicas_of_a_replica_set_spread_without_rules() -> None:
    """PodTopologySpread's system defaults spread a controller's pods."""
    owner = {"kind": "ReplicaSet", "name": "web-1", "controller": True}
    replica_set = {"spec": {"selector": {"matchLabels": {"app": "web"}}}}
    bound = [{**pod("a", labels={"app": "web"}, node_name="w1"), "metadata": {
        "name": "a", "namespace": "default", "uid": "a", "labels": {"app": "web"}, "ownerReferences": [owner]}}]
    incoming = pod("b", labels={"app": "web"})
    incoming["metadata"]["ownerReferences"] = [owner]
    snapshot = Snapshot.build(cluster(), bound, owners={("ReplicaSet", "default", "web-1"): replica_set})
    assert schedule(incoming, snapshot).node == "w2"


# -- preemption (concepts/scheduling-eviction/pod-priority-preemption) -----------------------------------


def test_a_higher_priority_pod_preempts_the_fewest_lowest_pods() -> None:
    nodes = [node("a", cpu="1")]
    bound = [pod("low-1", requests={"cpu": "400m"}, node_name="a", priority=10), pod("low-2", requests={"cpu": "400m"}, node_name="a", priority=5),
             pod("high", requests={"cpu": "100m"}, node_name="a", priority=2000)]
    decision = schedule(pod("urgent", requests={"cpu": "400m"}, priority=1000), Snapshot.build(nodes, bound))
    assert decision.node is None and decision.nominated == "a"
    assert [v["metadata"]["name"] for v in decision.victims] == ["low-2"]
    assert str(decision.error) == "0/1 nodes are available: 1 Insufficient cpu."


def test_preemption_that_cannot_help() -> None:
    nodes = [node("a", cpu="1")]
    bound = [pod("peer", requests={"cpu": "800m"}, node_name="a", priority=1000)]
    assert message(pod("urgent", requests={"cpu": "400m"}, priority=1000), nodes, bound).endswith(
        "preemption: 0/1 nodes are available: 1 No preemption victims found for incoming pod.")
    never = pod("polite", requests={"cpu": "400m"}, priority=2000, preemptionPolicy="Never")
    assert message(never, nodes, bound) == "0/1 nodes are available: 1 Insufficient cpu. preemption: not eligible due to preemptionPolicy=Never."
    too_big = [pod("low", requests={"cpu": "100m"}, node_name="a")]
    assert message(pod("huge", requests={"cpu": "2"}, priority=1), nodes, too_big).endswith(
        "preemption: 0/1 nodes are available: 1 Insufficient cpu.")


# -- QoS (concepts/workloads/pods/pod-qos) ------------------------------------------------------------


@pytest.mark.parametrize(("resources", "expected"), [
    ({"limits": {"cpu": "700m", "memory": "200Mi"}, "requests": {"cpu": "700m", "memory": "200Mi"}}, "Guaranteed"),
    ({"limits": {"cpu": "700m", "memory": "200Mi"}}, "Guaranteed"),
    ({"limits": {"memory": "200Mi"}, "requests": {"memory": "100Mi"}}, "Burstable"),
    ({"requests": {"cpu": "1"}}, "Burstable"),
    ({"limits": {"cpu": "700m", "memory": "200Mi"}, "requests": {"cpu": "500m", "memory": "200Mi"}}, "Burstable"),
    ({}, "BestEffort"),
    ({"requests": {"ephemeral-storage": "1Gi"}}, "BestEffort"),
])
def test_qos_class(resources: dict[str, Any], expected: str) -> None:
    assert qos_class({"spec": {"containers": [{"name": "c", "resources": resources}]}}) == expected


def test_qos_class_needs_every_container() -> None:
    guaranteed = {"limits": {"cpu": "1", "memory": "1Gi"}}
    assert qos_class({"spec": {"containers": [{"resources": guaranteed}, {"resources": {}}]}}) == "Burstable"
    assert qos_class({"spec": {"containers": [{"resources": guaranteed}], "initContainers": [{"resources": guaranteed}]}}) == "Guaranteed"
