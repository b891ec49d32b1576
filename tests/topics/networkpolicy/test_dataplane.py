"""The NetworkPolicy topic's data-plane hook on its own: objects in, verdicts out, no sandbox."""

from __future__ import annotations

from typing import Any

from labrunner.sandbox.dataplane import ALLOWED, Attempt, Verdict, connection_filters, decide
from labrunner.topics.networkpolicy.dataplane import POLICY_FILTER


def pod(name: str, namespace: str, ip: str, **labels: str) -> dict[str, Any]:
    return {"kind": "Pod", "apiVersion": "v1", "metadata": {"name": name, "namespace": namespace, "labels": labels},
            "spec": {"containers": [{"name": "c", "image": "nginx", "ports": [{"containerPort": 80, "protocol": "TCP"}]}]},
            "status": {"podIP": ip}}


def namespace(name: str) -> dict[str, Any]:
    return {"kind": "Namespace", "apiVersion": "v1", "metadata": {"name": name, "labels": {"kubernetes.io/metadata.name": name}}}


DENY_INGRESS = {"kind": "NetworkPolicy", "apiVersion": "networking.k8s.io/v1", "metadata": {"name": "deny-ingress", "namespace": "demo"},
                "spec": {"podSelector": {}, "policyTypes": ["Ingress"]}}


def calico(ready: int, desired: int = 2, where: str = "kube-system") -> dict[str, Any]:
    return {"kind": "DaemonSet", "apiVersion": "apps/v1", "metadata": {"name": "calico-node", "namespace": where},
            "status": {"desiredNumberScheduled": desired, "numberReady": ready}}


class Objects:
    def __init__(self, *objects: dict[str, Any]) -> None:
        self.objects = objects

    def list(self, group: str, plural: str, namespace: str | None = None) -> list[dict[str, Any]]:
        kind = {"pods": "Pod", "namespaces": "Namespace", "networkpolicies": "NetworkPolicy", "daemonsets": "DaemonSet"}[plural]
        return [o for o in self.objects if o["kind"] == kind and (namespace is None or o["metadata"].get("namespace") == namespace)]

    def get(self, group: str, plural: str, namespace: str, name: str) -> dict[str, Any] | None:
        return next((o for o in self.list(group, plural, namespace) if o["metadata"]["name"] == name), None)


CLIENT, WEB = pod("client", "demo", "10.244.0.5", app="client"), pod("web", "demo", "10.244.0.6", app="web")


def test_policies_have_no_say_until_calico_node_is_ready_everywhere() -> None:
    assert not POLICY_FILTER.active(Objects(namespace("demo"), DENY_INGRESS))
    assert not POLICY_FILTER.active(Objects(calico(ready=1)))
    assert POLICY_FILTER.active(Objects(calico(ready=2)))
    assert POLICY_FILTER.active(Objects(calico(ready=1, desired=1, where="calico-system")))
    assert not POLICY_FILTER.active(Objects(calico(ready=0, desired=0)))


def test_a_deny_policy_drops_with_the_engines_reason() -> None:
    objects = Objects(namespace("demo"), CLIENT, WEB, DENY_INGRESS, calico(ready=2))
    verdict = POLICY_FILTER.decide(Attempt(CLIENT, WEB, "TCP", 80), objects)
    assert not verdict.allowed and "deny-ingress" in verdict.reason
    assert POLICY_FILTER.decide(Attempt(WEB, CLIENT, "TCP", 80), Objects(namespace("demo"), CLIENT, WEB, calico(ready=2))) == ALLOWED


def test_pods_without_an_address_or_going_away_are_not_on_the_network() -> None:
    leaving = pod("web", "demo", "10.244.0.6", app="web")
    leaving["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    assert POLICY_FILTER.decide(Attempt(CLIENT, leaving, "TCP", 80), Objects(namespace("demo"), CLIENT, leaving, DENY_INGRESS)) == ALLOWED


def test_the_sandbox_asks_only_active_hooks_and_the_first_denial_decides() -> None:
    objects = Objects(namespace("demo"), CLIENT, WEB, DENY_INGRESS)
    assert decide(connection_filters(), Attempt(CLIENT, WEB, "TCP", 80), objects) == ALLOWED  # no CNI enforcing yet

    class Never:
        def active(self, objects: Any) -> bool:
            return True

        def decide(self, attempt: Attempt, objects: Any) -> Verdict:
            return Verdict(False, "never")

    assert decide((POLICY_FILTER, Never()), Attempt(CLIENT, WEB, "TCP", 80), objects) == Verdict(False, "never")
    enforced = Objects(namespace("demo"), CLIENT, WEB, DENY_INGRESS, calico(ready=2))
    assert "deny-ingress" in decide((POLICY_FILTER, Never()), Attempt(CLIENT, WEB, "TCP", 80), enforced).reason
