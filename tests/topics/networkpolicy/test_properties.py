"""Properties of the engine that hold for every cluster and policy set, checked on
random small worlds: monotonicity, order independence, diff of a set with itself,
and the grouped matrix agreeing with pair-by-pair evaluation."""

from __future__ import annotations

import ipaddress
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from labrunner.topics.networkpolicy.diff import diff
from labrunner.topics.networkpolicy.evaluate import evaluate
from labrunner.topics.networkpolicy.matrix import Matrix
from labrunner.topics.networkpolicy.model import Cluster, Pod
from labrunner.topics.networkpolicy.parse import cluster_from_objects, policy_from_object

NAMESPACES = ("n1", "n2")
PORTS = [("TCP", 80), ("TCP", 81), ("UDP", 53), ("SCTP", 80), ("TCP", 8080)]
EXTERNALS = [ipaddress.ip_address("192.0.2.10"), ipaddress.ip_address("10.1.0.200")]

labels = st.fixed_dictionaries({"app": st.sampled_from(["a", "b", "c"])}, optional={"tier": st.just("t")})
selector = st.one_of(
    st.just({}),
    st.builds(lambda v: {"matchLabels": {"app": v}}, st.sampled_from("abc")),
    st.builds(
        lambda op, v: {"matchExpressions": [{"key": "app", "operator": op, "values": [v]}]},
        st.sampled_from(["In", "NotIn"]), st.sampled_from("abc"),
    ),
    st.builds(lambda op: {"matchExpressions": [{"key": "tier", "operator": op}]}, st.sampled_from(["Exists", "DoesNotExist"])),
)
namespace_selector = st.one_of(
    st.just({}),
    st.builds(lambda v: {"matchLabels": {"team": v}}, st.sampled_from("xy")),
    st.builds(lambda n: {"matchLabels": {"kubernetes.io/metadata.name": n}}, st.sampled_from(NAMESPACES)),
)
ip_block = st.builds(
    lambda cidr, excepts: {"ipBlock": {"cidr": cidr, **({"except": excepts} if excepts else {})}},
    st.sampled_from(["10.1.0.0/16", "10.1.1.0/24", "0.0.0.0/0", "192.0.2.0/24"]),
    st.sampled_from([[], ["10.1.1.0/28"]]),
)
peer = st.one_of(
    st.builds(lambda s: {"podSelector": s}, selector),
    st.builds(lambda n: {"namespaceSelector": n}, namespace_selector),
    st.builds(lambda s, n: {"podSelector": s, "namespaceSelector": n}, selector, namespace_selector),
    ip_block,
)
port = st.sampled_from([
    {"port": 80}, {"protocol": "UDP", "port": 53}, {"port": "http"}, {"port": 80, "endPort": 81},
    {"protocol": "UDP"}, {"protocol": "SCTP", "port": 80},
])


def rule(peers_key: str) -> st.SearchStrategy[dict[str, Any]]:
    return st.builds(
        lambda peers, ports: {**({peers_key: peers} if peers is not None else {}), **({"ports": ports} if ports else {})},
        st.one_of(st.none(), st.lists(peer, max_size=2)),
        st.lists(port, max_size=2),
    )


policy = st.builds(
    lambda namespace, pod_selector, ingress, egress, types: {
        "kind": "NetworkPolicy",
        "metadata": {"namespace": namespace},
        "spec": {
            "podSelector": pod_selector,
            **({"ingress": ingress} if ingress is not None else {}),
            **({"egress": egress} if egress is not None else {}),
            **({"policyTypes": types} if types else {}),
        },
    },
    st.sampled_from(NAMESPACES), selector,
    st.one_of(st.none(), st.lists(rule("from"), max_size=2)),
    st.one_of(st.none(), st.lists(rule("to"), max_size=2)),
    st.sampled_from([None, ["Ingress"], ["Egress"], ["Ingress", "Egress"]]),
)


@st.composite
def worlds(draw: st.DrawFn) -> Cluster:
    objects: list[dict[str, Any]] = [
        {"kind": "Namespace", "metadata": {"name": name, "labels": {"team": draw(st.sampled_from("xy"))}}} for name in NAMESPACES
    ]
    count = draw(st.integers(min_value=1, max_value=6))
    for index in range(count):
        objects.append({
            "kind": "Pod",
            "metadata": {"namespace": draw(st.sampled_from(NAMESPACES)), "name": f"p{index}", "labels": draw(labels)},
            "status": {"podIP": f"10.1.{draw(st.sampled_from([0, 1]))}.{index + 1}"},
            "spec": {"containers": [{"ports": [
                {"containerPort": draw(st.sampled_from([80, 8080])), "name": "http"},
                {"containerPort": 53, "protocol": "UDP"},
            ]}]},
        })
    policies = draw(st.lists(policy, max_size=4))
    for index, item in enumerate(policies):
        item["metadata"]["name"] = f"np{index}"
    return cluster_from_objects([*objects, *policies])


def connections(cluster: Cluster) -> list[tuple[Any, Any, tuple[str, int]]]:
    endpoints: list[Any] = [*cluster.pods, *EXTERNALS]
    return [
        (source, destination, port)
        for source in endpoints
        for destination in endpoints
        if source is not destination and (isinstance(source, Pod) or isinstance(destination, Pod))
        for port in PORTS
    ]


def allowed_set(cluster: Cluster) -> set[tuple[str, str, tuple[str, int]]]:
    matrix = Matrix(cluster, PORTS, EXTERNALS)
    return {(str(getattr(s, "ref", s)), str(getattr(d, "ref", d)), p) for s, d, p in connections(cluster) if matrix.allowed(s, d, *p)}


FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(worlds())
def test_matrix_agrees_with_evaluate_and_counts_every_verdict(cluster: Cluster) -> None:
    matrix = Matrix(cluster, PORTS, EXTERNALS)
    expected = 0
    for source, destination, (protocol, number) in connections(cluster):
        verdict = evaluate(cluster, source, destination, protocol, number)  # type: ignore[arg-type]
        assert matrix.allowed(source, destination, protocol, number) == verdict.allowed, verdict.sentence()  # type: ignore[arg-type]
        expected += verdict.allowed
    summary = matrix.summary()
    assert summary["verdicts"] == len(connections(cluster))
    assert summary["allowed"] == expected


@FAST
@given(worlds(), st.data())
def test_adding_a_rule_never_removes_a_connection(cluster: Cluster, data: st.DataObject) -> None:
    if not cluster.policies:
        return
    index = data.draw(st.integers(min_value=0, max_value=len(cluster.policies) - 1))
    direction = data.draw(st.sampled_from(["ingress", "egress"]))
    extra = policy_from_object({"kind": "NetworkPolicy", "metadata": {"namespace": "n1", "name": "x"},
                                "spec": {"podSelector": {}, direction: [data.draw(rule("from" if direction == "ingress" else "to"))]}})
    target = cluster.policies[index]
    grown = target.__class__(
        namespace=target.namespace, name=target.name, pod_selector=target.pod_selector, types=target.types,
        ingress=target.ingress + (extra.ingress if direction == "ingress" else ()),
        egress=target.egress + (extra.egress if direction == "egress" else ()),
    )
    bigger = cluster.with_policies(cluster.policies[:index] + (grown,) + cluster.policies[index + 1:])
    assert allowed_set(cluster) <= allowed_set(bigger)


@FAST
@given(worlds(), st.randoms(use_true_random=False))
def test_policy_order_does_not_matter(cluster: Cluster, random: Any) -> None:
    shuffled = list(cluster.policies)
    random.shuffle(shuffled)
    assert allowed_set(cluster) == allowed_set(cluster.with_policies(tuple(shuffled)))


@settings(max_examples=60, deadline=None)
@given(worlds())
def test_a_policy_set_diffed_with_itself_is_the_same(cluster: Cluster) -> None:
    assert diff(cluster, cluster.policies, cluster.policies).same


@settings(max_examples=100, deadline=None)
@given(worlds(), st.lists(policy, max_size=3))
def test_diff_never_calls_different_meanings_the_same(cluster: Cluster, other_objects: list[dict[str, Any]]) -> None:
    """If two sets decide any real connection differently, diff must say so (and
    it is symmetric: swapping the sides swaps mine and reference)."""
    for index, item in enumerate(other_objects):
        item["metadata"]["name"] = f"other{index}"
    others = tuple(policy_from_object(item) for item in other_objects)
    forward, backward = diff(cluster, cluster.policies, others), diff(cluster, others, cluster.policies)
    if allowed_set(cluster) != allowed_set(cluster.with_policies(others)):
        assert not forward.same
    assert len(forward.differences) == len(backward.differences)
    assert sorted((d.port, d.mine) for d in forward.differences) == sorted((d.port, d.reference) for d in backward.differences)
