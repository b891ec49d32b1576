"""The explainer blames the part that is wrong, whatever the mistake: every reference policy set
of the NetworkPolicy lab, changed in one field at a time (a selector, policyTypes, a port, a
protocol, a rule emptied, a peer's selector, an ipBlock, a peer dropped, two peers merged or
split), must be explained by a culprit in the policy changed, at that field or around it
(one path a prefix of the other), and the culprit's repair must reach the step's meaning.
No cluster: the lab's pods as the engine's values."""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import yaml

from labrunner.topics.networkpolicy.diff import diff
from labrunner.topics.networkpolicy.model import NAME_LABEL, Cluster, ContainerPort, Namespace, Pod, Policy
from labrunner.topics.networkpolicy.parse import policy_from_object
from labrunner.topics.networkpolicy.pinpoint import judge_of, pinpoint
from tests.conftest import REPO

ASSETS = REPO / "assets" / "networkpolicies"
SETS = {
    "database": (("deny-ingress-db", "allow-ingress-db"), "networkdemo"),
    "web": (("deny-ingress", "allow-ingress-webserver"), "networkdemo"),
    "dns": (("deny-ingress-db", "allow-ingress-db", "deny-all-egress", "egress-allow-dns"), "networkdemo"),
    "broken": (("ingress-egress-policy",), "default"),
}
Path_ = tuple[str | int, ...]


def world() -> Cluster:
    namespaces = {name: Namespace(name, {NAME_LABEL: name, **extra}) for name, extra in
                  (("networkdemo", {}), ("kube-system", {}), ("default", {}), ("shop", {"project": "myproject"}))}
    web = (ContainerPort(80, "TCP", "http"),)
    pods = [
        Pod("networkdemo", "mysql-0", {"app": "mysql"}, ports=(ContainerPort(3306, "TCP", "mysql"),)),
        *(Pod("networkdemo", f"web-{i}", {"app": "interpoddemo"}, ports=web) for i in range(2)),
        Pod("networkdemo", "demopod", {"run": "demopod"}),
        *(Pod("kube-system", f"coredns-{i}", {"k8s-app": "kube-dns"},
              ports=(ContainerPort(53, "UDP", "dns"), ContainerPort(53, "TCP", "dns-tcp"))) for i in range(2)),
        Pod("default", "db-0", {"role": "db"}, ports=(ContainerPort(6379, "TCP"),)),
        Pod("default", "frontend-0", {"role": "frontend"}),
        Pod("shop", "cart-0", {"app": "cart"}),
    ]
    return Cluster(namespaces=namespaces, pods=tuple(pods), policies=())


def documents(names: tuple[str, ...], namespace: str) -> list[dict[str, Any]]:
    found = []
    for name in names:
        document: dict[str, Any] = yaml.safe_load((ASSETS / f"{name}.yaml").read_text())
        document["metadata"].setdefault("namespace", namespace)
        found.append(document)
    return found


Mutation = tuple[str, int, Path_, Callable[[dict[str, Any]], None]]
"""(what it does, which document, the path it changes, the change)."""


def mutations(docs: list[dict[str, Any]]) -> Iterator[Mutation]:
    for n, doc in enumerate(docs):
        spec = doc["spec"]
        yield "podSelector {}", n, ("spec", "podSelector"), lambda d: d["spec"].update(podSelector={})
        if spec["podSelector"].get("matchLabels"):
            yield "podSelector value", n, ("spec", "podSelector"), lambda d: _relabel(d["spec"]["podSelector"])
        types = spec.get("policyTypes") or []
        other = ["Egress"] if types == ["Ingress"] else ["Ingress"]
        yield f"policyTypes {other}", n, ("spec", "policyTypes"), lambda d, o=other: d["spec"].update(policyTypes=o)
        yield "policyTypes both", n, ("spec", "policyTypes"), lambda d: d["spec"].update(policyTypes=["Ingress", "Egress"])
        for direction, word in (("ingress", "from"), ("egress", "to")):
            for i, rule in enumerate(spec.get(direction) or []):
                base: Path_ = ("spec", direction, i)
                yield f"{direction}[{i}] emptied", n, base, lambda d, di=direction, i=i: d["spec"][di].__setitem__(i, {})
                if rule.get("ports"):
                    yield f"{direction}[{i}] port+1", n, (*base, "ports"), lambda d, di=direction, i=i: _next_port(d["spec"][di][i])
                    yield f"{direction}[{i}] protocol", n, (*base, "ports"), lambda d, di=direction, i=i: _swap_protocol(d["spec"][di][i])
                    yield f"{direction}[{i}] no ports", n, (*base, "ports"), lambda d, di=direction, i=i: d["spec"][di][i].pop("ports")
                for k, peer in enumerate(rule.get(word) or []):
                    at: Path_ = (*base, word, k)
                    if (peer.get("podSelector") or {}).get("matchLabels"):
                        yield f"{direction}[{i}] peer {k} podSelector", n, (*at, "podSelector"), \
                            lambda d, di=direction, i=i, w=word, k=k: _relabel(d["spec"][di][i][w][k]["podSelector"])
                    if (peer.get("namespaceSelector") or {}).get("matchLabels"):
                        yield f"{direction}[{i}] peer {k} namespaceSelector", n, (*at, "namespaceSelector"), \
                            lambda d, di=direction, i=i, w=word, k=k: _relabel(d["spec"][di][i][w][k]["namespaceSelector"])
                    if (peer.get("ipBlock") or {}).get("except"):
                        yield f"{direction}[{i}] peer {k} except dropped", n, (*at, "ipBlock"), \
                            lambda d, di=direction, i=i, w=word, k=k: d["spec"][di][i][w][k]["ipBlock"].pop("except")
                    if peer.get("ipBlock"):
                        yield f"{direction}[{i}] peer {k} cidr", n, (*at, "ipBlock"), \
                            lambda d, di=direction, i=i, w=word, k=k: d["spec"][di][i][w][k]["ipBlock"].update(cidr="10.9.0.0/16")
                    if len(rule[word]) > 1:
                        yield f"{direction}[{i}] peer {k} dropped", n, (*base, word), \
                            lambda d, di=direction, i=i, w=word, k=k: d["spec"][di][i][w].pop(k)
                    if peer.get("podSelector") and peer.get("namespaceSelector"):
                        yield f"{direction}[{i}] peer {k} split", n, (*base, word), \
                            lambda d, di=direction, i=i, w=word, k=k: _split(d["spec"][di][i][w], k)


def _relabel(selector: dict[str, Any]) -> None:
    key = sorted(selector["matchLabels"])[0]
    selector["matchLabels"][key] = selector["matchLabels"][key] + "x"


def _next_port(rule: dict[str, Any]) -> None:
    port = rule["ports"][0]
    port["port"] = port["port"] + 1 if isinstance(port.get("port"), int) else 1


def _swap_protocol(rule: dict[str, Any]) -> None:
    port = rule["ports"][0]
    port["protocol"] = "UDP" if port.get("protocol", "TCP") == "TCP" else "TCP"


def _split(peers: list[dict[str, Any]], k: int) -> None:
    peer = peers.pop(k)
    peers[k:k] = [{"namespaceSelector": peer["namespaceSelector"]}, {"podSelector": peer["podSelector"]}]


def related(found: Path_, changed: Path_) -> bool:
    shortest = min(len(found), len(changed))
    return found[:shortest] == changed[:shortest]


def changed_sets() -> Iterator[tuple[str, str, int, Path_, Callable[[dict[str, Any]], None], bool]]:
    """Every change, and whether it changes the meaning in the lab's world (a change to a rule of
    mysql's policy means nothing once every pod's egress is denied, as in the DNS step)."""
    here = world()
    for set_name, (names, namespace) in SETS.items():
        docs = documents(names, namespace)
        reference = tuple(policy_from_object(d) for d in docs)
        for what, n, path, change in mutations(docs):
            changed = copy.deepcopy(docs)
            change(changed[n])
            differs = not diff(here, tuple(policy_from_object(d) for d in changed), reference).same
            yield set_name, f"{set_name}-{docs[n]['metadata']['name']}-{what}", n, path, change, differs


def cases() -> Iterator[Any]:
    for set_name, name, n, path, change, differs in changed_sets():
        if differs:
            yield pytest.param(set_name, n, path, change, id=name)


@pytest.mark.parametrize(("set_name", "n", "path", "change"), list(cases()))
def test_one_field_changed_is_the_one_blamed(set_name: str, n: int, path: Path_, change: Callable[[dict[str, Any]], None]) -> None:
    names, namespace = SETS[set_name]
    docs = documents(names, namespace)
    reference = tuple(policy_from_object(d) for d in docs)
    changed = copy.deepcopy(docs)
    change(changed[n])
    mine: tuple[Policy, ...] = tuple(policy_from_object(d) for d in changed)
    here = world()
    culprits = pinpoint(here, mine, reference, judge_of(here, reference, 30.0))
    assert culprits, "no part of the changed policy was blamed"
    first = culprits[0]
    assert first.policy == changed[n]["metadata"]["name"], first.sentence()
    assert related(first.path, path), f"{first.path} blamed for a change at {path}: {first.sentence()}"
    assert culprits[-1].remaining == 0 or len(culprits) == 3, [c.sentence() for c in culprits]


def test_every_kind_of_change_is_tried() -> None:
    tried = [case.id for case in cases()]
    assert len(tried) >= 55 and sum(1 for *_, differs in changed_sets() if not differs) <= 15
    for kind in ("podSelector {}", "policyTypes", "emptied", "port+1", "protocol", "no ports", "namespaceSelector",
                 "except dropped", "cidr", "dropped", "split"):
        assert any(kind in case for case in tried), kind

