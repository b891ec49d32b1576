"""Policies' parts in an instructor's words: a selector, the pods it picks, a peer, a
rule's ports, what a whole policy does. Shared by the explanations of what is wrong."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from labrunner.topics.networkpolicy.model import NAME_LABEL, Cluster, Direction, Peer, Policy, PortRule, Rule, Selector

CONTROLLER_LABELS = frozenset({"pod-template-hash", "controller-revision-hash", "statefulset.kubernetes.io/pod-name",
                               "batch.kubernetes.io/controller-uid", "controller-uid", "pod-template-generation"})


def selector(value: Selector) -> str:
    """``app=mysql``; ``{}`` for the empty selector, as the learner wrote it."""
    return "{}" if value.is_empty else value.describe()


def labels(values: dict[str, str] | Iterable[tuple[str, str]]) -> str:
    items = values.items() if isinstance(values, dict) else values
    shown = sorted((k, v) for k, v in items if k not in CONTROLLER_LABELS)
    return ",".join(f"{k}={v}" for k, v in shown) or "no labels"


def picked(world: Cluster, namespace: str, chosen: Selector) -> list[str]:
    """The distinct label sets of the pods ``chosen`` selects in ``namespace``."""
    return sorted({labels(dict(pod.labels)) for pod in world.pods if pod.namespace == namespace and chosen.matches(pod.labels)})


def pods_of(world: Cluster, namespace: str) -> list[str]:
    return sorted({labels(dict(pod.labels)) for pod in world.pods if pod.namespace == namespace})


def namespaces_matching(world: Cluster, chosen: Selector) -> list[str]:
    return sorted(name for name in world.namespaces if chosen.matches(world.namespace_labels(name)))


def peer(value: Peer, home: str) -> str:
    """Who one ``from``/``to`` item means."""
    if value.ip_block is not None:
        return f"addresses in {value.ip_block.describe()}"
    if value.namespace_selector is None:
        chosen = value.pod_selector or Selector()
        return f"every pod in {home}" if chosen.is_empty else f"{chosen.describe()} pods in {home}"
    where = "every namespace" if value.namespace_selector.is_empty else f"namespaces {value.namespace_selector.describe()}"
    if value.pod_selector is None or value.pod_selector.is_empty:
        return f"every pod in {where}"
    return f"{value.pod_selector.describe()} pods in {where}"


def peers(values: Sequence[Peer], home: str) -> str:
    return " or ".join(peer(value, home) for value in values) if values else "anyone"


def ports(values: Sequence[PortRule]) -> str:
    return ", ".join(port.describe() for port in values) if values else "any port"


def rule(value: Rule, direction: Direction, home: str) -> str:
    """``from app=web pods in shop on TCP 80``."""
    word = "from" if direction == "ingress" else "to"
    return f"{word} {peers(value.peers, home)} on {ports(value.ports)}"


def types(values: Iterable[Direction]) -> str:
    return "[" + ", ".join(t.capitalize() for t in sorted(values, key=("ingress", "egress").index)) + "]"


def gist(policy: Policy) -> str:
    """What a whole policy does, in one clause: ``isolates app=mysql pods for ingress and
    admits from app=web pods in shop on TCP 3306``."""
    who = f"every pod in {policy.namespace}" if policy.pod_selector.is_empty else f"{policy.pod_selector.describe()} pods"
    parts = []
    for direction in ("ingress", "egress"):
        if direction not in policy.types:
            continue
        rules = policy.rules(direction)
        if not rules:
            parts.append(f"denies all {direction}")
        else:
            parts.append(f"allows {direction} " + " and ".join(rule(r, direction, policy.namespace) for r in rules))
    return f"selects {who} and " + "; ".join(parts) if parts else f"selects {who} and isolates nothing"


def name_label(namespace: str) -> str:
    return f"{NAME_LABEL}={namespace}"
