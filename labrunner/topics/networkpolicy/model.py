"""The NetworkPolicy world as frozen values: namespaces, pods, policies.

Built from API objects by :mod:`labrunner.topics.networkpolicy.parse`, with the API server's
defaults already applied, so the evaluator never has to ask "was this field
absent or empty?". Selectors are values (hashable), so the matrix can match each
distinct selector once.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Literal

Protocol = Literal["TCP", "UDP", "SCTP"]
Direction = Literal["ingress", "egress"]
PROTOCOLS: tuple[Protocol, ...] = ("TCP", "UDP", "SCTP")
NAME_LABEL = "kubernetes.io/metadata.name"
"""Set by the API server on every namespace (since 1.21): selecting a namespace by name."""

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


@dataclass(frozen=True)
class Requirement:
    """One ``matchExpressions`` entry."""

    key: str
    operator: Literal["In", "NotIn", "Exists", "DoesNotExist"]
    values: frozenset[str] = frozenset()

    def matches(self, labels: Mapping[str, str]) -> bool:
        # NotIn and DoesNotExist also match objects that lack the key entirely
        # (apimachinery labels.Requirement.Matches).
        if self.operator == "In":
            return self.key in labels and labels[self.key] in self.values
        if self.operator == "NotIn":
            return self.key not in labels or labels[self.key] not in self.values
        if self.operator == "Exists":
            return self.key in labels
        return self.key not in labels

    def describe(self) -> str:
        values = ",".join(sorted(self.values))
        return {
            "In": f"{self.key} in ({values})",
            "NotIn": f"{self.key} notin ({values})",
            "Exists": self.key,
            "DoesNotExist": f"!{self.key}",
        }[self.operator]


@dataclass(frozen=True)
class Selector:
    """A label selector. The empty selector matches everything; matchLabels and
    matchExpressions are ANDed."""

    match_labels: tuple[tuple[str, str], ...] = ()
    match_expressions: tuple[Requirement, ...] = ()

    @property
    def is_empty(self) -> bool:
        return not self.match_labels and not self.match_expressions

    def matches(self, labels: Mapping[str, str]) -> bool:
        return all(labels.get(key) == value for key, value in self.match_labels) and all(
            requirement.matches(labels) for requirement in self.match_expressions
        )

    def describe(self) -> str:
        """kubectl's selector syntax: ``app=web,tier in (a,b)``; ``<all>`` when empty."""
        parts = [f"{key}={value}" for key, value in self.match_labels]
        parts += [requirement.describe() for requirement in self.match_expressions]
        return ",".join(parts) if parts else "<all>"

    def mentioned_labels(self) -> Iterator[tuple[str, str | None]]:
        """Every (key, value) the selector names; value None where only the key matters."""
        yield from self.match_labels
        for requirement in self.match_expressions:
            if requirement.values:
                for value in sorted(requirement.values):
                    yield requirement.key, value
            else:
                yield requirement.key, None


@dataclass(frozen=True)
class IPBlock:
    cidr: IPNetwork
    excepts: tuple[IPNetwork, ...] = ()

    def contains(self, address: IPAddress) -> bool:
        return (
            address.version == self.cidr.version
            and address in self.cidr
            and not any(address in excluded for excluded in self.excepts if excluded.version == address.version)
        )

    def describe(self) -> str:
        if self.excepts:
            return f"{self.cidr} except {', '.join(str(e) for e in self.excepts)}"
        return str(self.cidr)


@dataclass(frozen=True)
class Peer:
    """One ``from``/``to`` item. ``pod_selector`` and ``namespace_selector`` in ONE
    peer are ANDed; a peer with only a pod selector means the policy's namespace."""

    pod_selector: Selector | None = None
    namespace_selector: Selector | None = None
    ip_block: IPBlock | None = None


@dataclass(frozen=True)
class PortRule:
    """One ``ports`` item: protocol (default TCP), a number or a named port (or
    none: every port of the protocol), and an optional ``endPort`` range end."""

    protocol: Protocol = "TCP"
    port: int | str | None = None
    end_port: int | None = None

    def describe(self) -> str:
        if self.port is None:
            return f"every {self.protocol} port"
        if self.end_port is not None:
            return f"{self.protocol} {self.port}-{self.end_port}"
        if isinstance(self.port, str):
            return f"{self.protocol} port named {self.port!r}"
        return f"{self.protocol} {self.port}"


@dataclass(frozen=True)
class Rule:
    """An ingress or egress rule. Empty ``peers`` means every peer ("from"/"to"
    absent or empty); empty ``ports`` means every port."""

    peers: tuple[Peer, ...] = ()
    ports: tuple[PortRule, ...] = ()


@dataclass(frozen=True)
class Policy:
    namespace: str
    name: str
    pod_selector: Selector
    types: frozenset[Direction]
    """Directions this policy isolates, after the API server's defaulting."""
    ingress: tuple[Rule, ...] = ()
    egress: tuple[Rule, ...] = ()
    source: str | None = field(default=None, compare=False)
    """Where it was read from (``file:line``), for explanations."""

    def rules(self, direction: Direction) -> tuple[Rule, ...]:
        return self.ingress if direction == "ingress" else self.egress

    @property
    def ref(self) -> str:
        return f"{self.namespace}/{self.name}"


@dataclass(frozen=True)
class ContainerPort:
    port: int
    protocol: Protocol = "TCP"
    name: str | None = None


@dataclass(frozen=True)
class Namespace:
    name: str
    labels: Mapping[str, str]


@dataclass(frozen=True)
class Pod:
    namespace: str
    name: str
    labels: Mapping[str, str]
    ips: tuple[IPAddress, ...] = ()
    ports: tuple[ContainerPort, ...] = ()

    @property
    def ref(self) -> str:
        return f"{self.namespace}/{self.name}"

    def named_port(self, name: str, protocol: Protocol) -> int | None:
        """The container port a policy's named port resolves to on this pod."""
        for port in self.ports:
            if port.name == name and port.protocol == protocol:
                return port.port
        return None

    def describe_labels(self) -> str:
        return ",".join(f"{key}={value}" for key, value in sorted(self.labels.items())) or "no labels"


@dataclass(frozen=True)
class Cluster:
    """Namespaces, pods and policies; a pod's namespace that was not given is
    assumed to exist with only its automatic name label."""

    namespaces: Mapping[str, Namespace]
    pods: tuple[Pod, ...]
    policies: tuple[Policy, ...]

    def namespace_labels(self, name: str) -> Mapping[str, str]:
        namespace = self.namespaces.get(name)
        return namespace.labels if namespace is not None else {NAME_LABEL: name}

    def pod(self, ref: str) -> Pod:
        """The pod named ``namespace/name``.

        Raises:
            KeyError: no such pod; the message lists close names.
        """
        for pod in self.pods:
            if pod.ref == ref:
                return pod
        import difflib

        close = difflib.get_close_matches(ref, [pod.ref for pod in self.pods], n=1)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        raise KeyError(f"no pod {ref!r}{hint}")

    def with_policies(self, policies: tuple[Policy, ...]) -> Cluster:
        return Cluster(namespaces=self.namespaces, pods=self.pods, policies=policies)
