"""PodTopologySpread's constraints as the docs' examples give them
(concepts/scheduling-eviction/topology-spread-constraints)."""

from __future__ import annotations

from typing import Any

from labrunner.sandbox.scheduling import Snapshot, schedule
from tests.sandbox.scheduling.test_filters import node, pod

ZONE = "topology.kubernetes.io/zone"


def four_nodes() -> list[dict[str, Any]]:
    """The docs' cluster: node1 and node2 in zoneA, node3 and node4 in zoneB."""
    return [node("node1", labels={ZONE: "zoneA"}), node("node2", labels={ZONE: "zoneA"}),
            node("node3", labels={ZONE: "zoneB"}), node("node4", labels={ZONE: "zoneB"})]


def bar(name: str, where: str) -> dict[str, Any]:
    return pod(name, labels={"foo": "bar"}, node_name=where)


def constraint(key: str, skew: int = 1, when: str = "DoNotSchedule", **more: Any) -> dict[str, Any]:
    return {"maxSkew": skew, "topologyKey": key, "whenUnsatisfiable": when, "labelSelector": {"matchLabels": {"foo": "bar"}}, **more}


def test_one_constraint_keeps_the_zones_within_max_skew() -> None:
    """Three foo=bar pods on node1, node2, node3: a fourth with maxSkew 1 over zones goes to zoneB."""
    bound = [bar("a", "node1"), bar("b", "node2"), bar("c", "node3")]
    incoming = pod("mypod", labels={"foo": "bar"}, topologySpreadConstraints=[constraint(ZONE)])
    decision = schedule(incoming, Snapshot.build(four_nodes(), bound))
    assert decision.node in ("node3", "node4")
    cordoned = four_nodes()[:2] + [node("node3", labels={ZONE: "zoneB"}, unschedulable=True), node("node4", labels={ZONE: "zoneB"}, unschedulable=True)]
    blocked = schedule(incoming, Snapshot.build(cordoned, bound))
    assert str(blocked.error) == ("0/4 nodes are available: 2 node(s) didn't match pod topology spread constraints, 2 node(s) were unschedulable. "
                                  "preemption: 0/4 nodes are available: 2 No preemption victims found for incoming pod, "
                                  "2 Preemption is not helpful for scheduling.")


def test_two_constraints_leave_node4_alone() -> None:
    """The docs' second example: zone and hostname, each maxSkew 1: only node4 is left."""
    bound = [bar("a", "node1"), bar("b", "node2"), bar("c", "node3")]
    incoming = pod("mypod", labels={"foo": "bar"},
                   topologySpreadConstraints=[constraint(ZONE), constraint("kubernetes.io/hostname")])
    assert schedule(incoming, Snapshot.build(four_nodes(), bound)).node == "node4"


def test_a_node_without_the_key_and_min_domains() -> None:
    nodes = [node("labelled", labels={ZONE: "zoneA"}), node("bare")]
    incoming = pod("mypod", labels={"foo": "bar"}, topologySpreadConstraints=[constraint(ZONE)])
    assert schedule(incoming, Snapshot.build(nodes, [bar("a", "labelled")])).node == "labelled"
    decision = schedule(incoming, Snapshot.build(nodes[1:], []))
    assert str(decision.error).startswith("0/1 nodes are available: 1 node(s) didn't match pod topology spread constraints (missing required label).")
    # one domain with one pod: skew 1 + 1 - 1 = 1 fits; with minDomains 2 the minimum is 0 and it does not
    assert schedule(incoming, Snapshot.build(nodes[:1], [])).node == "labelled"
    picky = pod("mypod", labels={"foo": "bar"}, topologySpreadConstraints=[constraint(ZONE, minDomains=2)])
    assert schedule(picky, Snapshot.build(nodes[:1], [bar("a", "labelled")])).node is None


def test_schedule_anyway_only_scores() -> None:
    bound = [bar("a", "node1"), bar("b", "node2"), bar("c", "node3")]
    incoming = pod("mypod", labels={"foo": "bar"}, topologySpreadConstraints=[constraint("kubernetes.io/hostname", when="ScheduleAnyway")])
    assert schedule(incoming, Snapshot.build(four_nodes(), bound)).node == "node4"
    assert schedule(incoming, Snapshot.build(four_nodes()[:1], bound)).node == "node1"


def test_a_tainted_node_counts_as_a_domain_unless_taints_are_honoured() -> None:
    """nodeTaintsPolicy Ignore (the default): the tainted control plane is an empty hostname domain,
    so each worker takes one replica; Honor leaves it out."""
    from tests.sandbox.scheduling.test_filters import CONTROL_PLANE_TAINT

    nodes = [node("cp", taints=[CONTROL_PLANE_TAINT]), node("w1"), node("w2")]
    bound = [bar("a", "w1"), bar("b", "w2")]
    ignoring = pod("c", labels={"foo": "bar"}, topologySpreadConstraints=[constraint("kubernetes.io/hostname")])
    assert str(schedule(ignoring, Snapshot.build(nodes, bound)).error).startswith(
        "0/3 nodes are available: 1 node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }, "
        "2 node(s) didn't match pod topology spread constraints.")
    honouring = pod("c", labels={"foo": "bar"}, topologySpreadConstraints=[constraint("kubernetes.io/hostname", nodeTaintsPolicy="Honor")])
    assert schedule(honouring, Snapshot.build(nodes, bound)).node in ("w1", "w2")
