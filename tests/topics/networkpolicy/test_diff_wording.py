"""How a policy difference is worded for a learner: ports say "any port" when they mean it."""

from __future__ import annotations

from typing import Any

from labrunner.topics.networkpolicy.diff import diff
from labrunner.topics.networkpolicy.parse import cluster_from_objects, policy_from_object

WORLD = cluster_from_objects([
    {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "demo", "labels": {"kubernetes.io/metadata.name": "demo"}}},
    {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web", "namespace": "demo", "labels": {"app": "web"}},
     "spec": {"containers": [{"name": "web", "ports": [{"containerPort": 80}]}]}, "status": {"podIP": "10.0.0.2"}},
    {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "client", "namespace": "demo", "labels": {"app": "client"}},
     "spec": {"containers": [{"name": "c"}]}, "status": {"podIP": "10.0.0.3"}},
])


def policy(name: str, ingress: list[dict[str, Any]] | None) -> Any:
    spec: dict[str, Any] = {"podSelector": {"matchLabels": {"app": "web"}}, "policyTypes": ["Ingress"]}
    if ingress is not None:
        spec["ingress"] = ingress
    return policy_from_object({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
                               "metadata": {"name": name, "namespace": "demo"}, "spec": spec})


def first_line(mine: list[Any], reference: list[Any]) -> str:
    """The line about the client pod (external addresses are listed too)."""
    return next(line for line in diff(WORLD, mine, reference).summary(limit=20) if "demo/client ->" in line)


def test_a_missing_deny_allows_any_port() -> None:
    assert first_line([], [policy("deny", None)]) == "yours also allows demo/client -> demo/web on any port"


def test_a_missing_port_restriction_allows_any_port_but_the_one_asked_for() -> None:
    line = first_line([], [policy("only-80", [{"ports": [{"protocol": "TCP", "port": 80}]}])])
    assert line == "yours also allows demo/client -> demo/web on any SCTP port, any TCP port but 80, any UDP port"


def test_a_single_wrong_port_is_named() -> None:
    line = first_line([policy("only-8080", [{"ports": [{"protocol": "TCP", "port": 8080}]}])],
                      [policy("only-80", [{"ports": [{"protocol": "TCP", "port": 80}]}])])
    assert line == "yours also allows demo/client -> demo/web on TCP 8080"


def test_pods_come_before_addresses_outside_the_cluster() -> None:
    lines = diff(WORLD, [], [policy("deny", None)]).summary()
    assert lines[0] == "yours also allows demo/client -> demo/web on any port"
    assert lines[1].startswith("yours also allows 198.51.100.7 -> demo/web")
