"""One connection, decided, with the reasons for both directions.

The rules, as the Kubernetes documentation states them (concepts/services-networking/
network-policies, and the NetworkPolicySpec API reference):

- A pod is isolated for a direction when at least one policy in its namespace
  selects it with that direction among its policyTypes; otherwise everything is
  allowed in that direction. Policies are additive: a connection is allowed
  when ANY rule of ANY policy selecting the pod admits it (their union).
- A connection between two pods needs egress allowed at the source AND
  ingress allowed at the destination.
- A pod is never blocked from reaching itself ("a pod cannot block access to
  itself").
- A rule with no peers (``from``/``to`` absent or empty) matches every peer; a
  rule with no ports matches every port. An empty ``ingress``/``egress`` list
  isolates and allows nothing.
- In ONE peer, ``podSelector`` and ``namespaceSelector`` are ANDed: the pods
  matching podSelector in the namespaces matching namespaceSelector. A
  podSelector alone means the policy's own namespace; a namespaceSelector alone
  means every pod of the matching namespaces. Separate peers are ORed.
- ``ipBlock`` matches addresses in ``cidr`` but not in ``except``. We match it
  against pod IPs too, as the upstream conformance tests and Calico do; the
  docs leave cluster-internal traffic to ipBlocks "implementation-defined", and
  some CNIs ignore pod IPs there, so explanations say so.
- Ports: protocol defaults to TCP; a numeric port, with ``endPort`` a range; a
  named port is resolved on the destination pod (its container port of that
  name and protocol), so it can never match a connection to a plain IP.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from labrunner.topics.networkpolicy.model import (
    Cluster,
    Direction,
    IPAddress,
    Peer,
    Pod,
    Policy,
    PortRule,
    Protocol,
    Rule,
)

Endpoint = Pod | IPAddress

IPBLOCK_POD_NOTE = (
    "an ipBlock also matches pod IPs here, as in Calico and the upstream conformance tests; some CNIs differ"
)


def endpoint_name(endpoint: Endpoint) -> str:
    return endpoint.ref if isinstance(endpoint, Pod) else str(endpoint)


def selects(policy: Policy, pod: Pod, direction: Direction) -> bool:
    """Whether ``policy`` isolates ``pod`` for ``direction``: same namespace, podSelector
    matching (``{}`` matches every pod), direction among the defaulted policyTypes.
    Docs: network-policies, "The two sorts of pod isolation"."""
    return direction in policy.types and policy.namespace == pod.namespace and policy.pod_selector.matches(pod.labels)


def peer_matches(peer: Peer, policy: Policy, other: Endpoint, cluster: Cluster) -> bool:
    """Whether one ``from``/``to`` item matches the other end of the connection.

    Docs: network-policies, "Behavior of to and from selectors": podSelector alone
    selects pods in the policy's namespace; namespaceSelector alone, all pods of the
    matching namespaces; both in one item, pods matching podSelector in namespaces
    matching namespaceSelector (AND). ipBlock: API reference IPBlock, ``cidr`` minus
    ``except``; applied to pod IPs too (see the module docstring).
    """
    if peer.ip_block is not None:
        addresses = other.ips if isinstance(other, Pod) else (other,)
        return any(peer.ip_block.contains(address) for address in addresses)
    if not isinstance(other, Pod):
        return False  # selectors only ever match pods
    if peer.namespace_selector is None and peer.pod_selector is None:
        return False  # an empty peer is invalid; the API server rejects it
    if peer.namespace_selector is None:
        namespace_ok = other.namespace == policy.namespace
    else:
        namespace_ok = peer.namespace_selector.matches(cluster.namespace_labels(other.namespace))
    return namespace_ok and (peer.pod_selector is None or peer.pod_selector.matches(other.labels))


def port_matches(rule_port: PortRule, protocol: Protocol, port: int, destination: Endpoint) -> bool:
    """Whether one ``ports`` item matches the connection.

    API reference NetworkPolicyPort: protocol defaults to TCP; ``port`` absent
    matches every port of the protocol; a named port is a container port name on
    the destination pod (resolved per pod, so it never matches a plain IP);
    ``endPort`` makes ``port..endPort`` inclusive and needs a numeric ``port``.
    """
    if rule_port.protocol != protocol:
        return False
    if rule_port.port is None:
        return True
    if isinstance(rule_port.port, str):
        if not isinstance(destination, Pod):
            return False
        return destination.named_port(rule_port.port, protocol) == port
    if rule_port.end_port is not None:
        return rule_port.port <= port <= rule_port.end_port
    return rule_port.port == port


@dataclass(frozen=True)
class RuleRef:
    """A rule that admitted a connection, with the peer and port that matched."""

    policy: Policy
    direction: Direction
    rule: int
    peer: int | None
    port: int | None

    def describe(self) -> str:
        rule = self.policy.rules(self.direction)[self.rule]
        return f"{self.policy.name} rule {self.rule + 1} ({describe_rule(rule, self.policy, self.direction)})"


@dataclass(frozen=True)
class DirectionVerdict:
    direction: Direction
    endpoint: str
    """The pod (or address) whose side this is: the source for egress, the destination for ingress."""
    is_pod: bool
    isolating: tuple[Policy, ...]
    admitted_by: RuleRef | None
    misses: tuple[str, ...]
    """Why each rule of the isolating policies did not admit the connection."""
    via_ip_block: bool = False

    @property
    def allowed(self) -> bool:
        return not self.isolating or self.admitted_by is not None

    def sentence(self) -> str:
        if not self.is_pod:
            return f"{self.direction}: {self.endpoint} is not a pod, so no policy applies to it"
        if not self.isolating:
            return f"{self.direction}: {self.endpoint} is not isolated for {self.direction} (no policy selects it)"
        head = f"{self.direction}: {self.endpoint} is isolated for {self.direction} by {', '.join(p.name for p in self.isolating)}"
        if self.admitted_by is not None:
            note = f" ({IPBLOCK_POD_NOTE})" if self.via_ip_block else ""
            return f"{head}; {self.admitted_by.describe()} admits it{note}"
        return f"{head}; " + "; ".join(self.misses)


@dataclass(frozen=True)
class Verdict:
    source: str
    destination: str
    protocol: Protocol
    port: int
    egress: DirectionVerdict
    ingress: DirectionVerdict
    same_pod: bool = False

    @property
    def allowed(self) -> bool:
        return self.same_pod or (self.egress.allowed and self.ingress.allowed)

    def sentence(self) -> str:
        outcome = "allowed" if self.allowed else "denied"
        head = f"{self.source} -> {self.destination} on {self.protocol} {self.port}: {outcome}"
        if self.same_pod:
            return f"{head}. A pod can always reach itself; policies never block it."
        return f"{head}. {_capital(self.egress.sentence())}. {_capital(self.ingress.sentence())}."

    def reason(self) -> str:
        """A short reason naming only policies and rules (the same for alike pods)."""
        if self.same_pod:
            return "same pod"
        parts = []
        for side in (self.egress, self.ingress):
            if not side.is_pod or not side.isolating:
                continue
            if side.admitted_by is not None:
                parts.append(f"{side.direction} allowed by {side.admitted_by.policy.name} rule {side.admitted_by.rule + 1}")
            else:
                parts.append(f"{side.direction} denied: isolated by {', '.join(p.name for p in side.isolating)}, no rule admits it")
        return "; ".join(parts) or "no policy applies"

    def as_json(self) -> dict[str, object]:
        return {
            "src": self.source,
            "dst": self.destination,
            "protocol": self.protocol,
            "port": self.port,
            "allowed": self.allowed,
            "reason": self.reason(),
            "explanation": self.sentence(),
        }


def direction_verdict(
    cluster: Cluster, direction: Direction, pod: Endpoint, other: Endpoint, protocol: Protocol, port: int, destination: Endpoint
) -> DirectionVerdict:
    """The verdict at ``pod``'s side: egress when it is the source, ingress when it is the destination."""
    if not isinstance(pod, Pod):
        return DirectionVerdict(direction, str(pod), False, (), None, ())
    isolating = tuple(policy for policy in cluster.policies if selects(policy, pod, direction))
    misses: list[str] = []
    for policy in isolating:
        rules = policy.rules(direction)
        if not rules:
            misses.append(f"{policy.name} has no {direction} rules, so it allows nothing")
            continue
        for index, rule in enumerate(rules):
            match = _rule_match(rule, policy, other, protocol, port, destination, cluster)
            if match is not None:
                peer_index, port_index = match
                via_block = peer_index is not None and isinstance(other, Pod) and rule.peers[peer_index].ip_block is not None
                reference = RuleRef(policy, direction, index, peer_index, port_index)
                return DirectionVerdict(direction, endpoint_name(pod), True, isolating, reference, (), via_block)
            misses.append(
                f"{policy.name} rule {index + 1} admits {describe_rule(rule, policy, direction)}, but "
                + _why_not(rule, policy, direction, other, protocol, port, destination, cluster)
            )
    return DirectionVerdict(direction, endpoint_name(pod), True, isolating, None, tuple(misses))


def _rule_match(
    rule: Rule, policy: Policy, other: Endpoint, protocol: Protocol, port: int, destination: Endpoint, cluster: Cluster
) -> tuple[int | None, int | None] | None:
    port_index: int | None = None
    if rule.ports:
        port_index = next((i for i, p in enumerate(rule.ports) if port_matches(p, protocol, port, destination)), None)
        if port_index is None:
            return None
    peer_index: int | None = None
    if rule.peers:
        peer_index = next((i for i, p in enumerate(rule.peers) if peer_matches(p, policy, other, cluster)), None)
        if peer_index is None:
            return None
    return peer_index, port_index


def evaluate(cluster: Cluster, source: Endpoint, destination: Endpoint, protocol: Protocol, port: int) -> Verdict:
    """Decide one connection: egress at the source, ingress at the destination."""
    if isinstance(source, Pod) and isinstance(destination, Pod) and source.ref == destination.ref:
        empty_egress = DirectionVerdict("egress", source.ref, True, (), None, ())
        empty_ingress = DirectionVerdict("ingress", destination.ref, True, (), None, ())
        return Verdict(source.ref, destination.ref, protocol, port, empty_egress, empty_ingress, same_pod=True)
    egress = direction_verdict(cluster, "egress", source, destination, protocol, port, destination)
    ingress = direction_verdict(cluster, "ingress", destination, source, protocol, port, destination)
    return Verdict(endpoint_name(source), endpoint_name(destination), protocol, port, egress, ingress)


def resolve_endpoint(cluster: Cluster, text: str) -> Endpoint:
    """``namespace/name`` for a pod, or an IP address.

    Raises:
        KeyError: neither a known pod nor an address.
    """
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        pass
    if "/" not in text:
        raise KeyError(f"{text!r} is neither an IP address nor a pod as namespace/name")
    return cluster.pod(text)


# -- words -------------------------------------------------------------------


def describe_peer(peer: Peer, policy: Policy) -> str:
    if peer.ip_block is not None:
        return f"addresses {peer.ip_block.describe()}"
    pods, namespaces = peer.pod_selector, peer.namespace_selector
    if namespaces is None:
        if pods is None:
            return "no one (an empty peer)"
        return f"all pods of {policy.namespace}" if pods.is_empty else f"pods {pods.describe()}"
    where = "any namespace" if namespaces.is_empty else f"namespaces {namespaces.describe()}"
    if pods is None or pods.is_empty:
        return f"all pods in {where}"
    return f"pods {pods.describe()} in {where}"


def describe_rule(rule: Rule, policy: Policy, direction: Direction) -> str:
    any_peer = "any source" if direction == "ingress" else "any destination"
    peers = " or ".join(describe_peer(peer, policy) for peer in rule.peers) if rule.peers else any_peer
    ports = ", ".join(port.describe() for port in rule.ports) if rule.ports else "any port"
    return f"{peers} on {ports}"


def _why_not(
    rule: Rule, policy: Policy, direction: Direction, other: Endpoint, protocol: Protocol, port: int, destination: Endpoint, cluster: Cluster
) -> str:
    if rule.ports and not any(port_matches(p, protocol, port, destination) for p in rule.ports):
        named = [p for p in rule.ports if isinstance(p.port, str) and p.protocol == protocol]
        if named and isinstance(destination, Pod):
            resolved = [f"{p.port!r} is {destination.named_port(str(p.port), protocol) or 'not a port'} on {destination.name}" for p in named]
            return f"the connection is {protocol} {port} ({'; '.join(resolved)})"
        if named:
            return f"the connection is {protocol} {port}, and a named port cannot match an address outside the cluster"
        return f"the connection is {protocol} {port}"
    reasons = []
    for peer in rule.peers:
        reason = _peer_miss(peer, policy, other, cluster)
        if reason not in reasons:
            reasons.append(reason)
    return " and ".join(reasons)


def _peer_miss(peer: Peer, policy: Policy, other: Endpoint, cluster: Cluster) -> str:
    name = endpoint_name(other)
    if peer.ip_block is not None:
        if isinstance(other, Pod):
            ips = ", ".join(str(ip) for ip in other.ips) or "no IP"
            return f"{name} ({ips}) is not in {peer.ip_block.describe()}"
        return f"{name} is not in {peer.ip_block.describe()}"
    if not isinstance(other, Pod):
        return f"{name} is not a pod, and selectors only match pods"
    if peer.namespace_selector is None and peer.pod_selector is None:
        return "the peer is empty (invalid: the API server rejects it)"
    if peer.namespace_selector is None and other.namespace != policy.namespace:
        return f"{other.name} is in namespace {other.namespace}, not {policy.namespace}"
    if peer.namespace_selector is not None and not peer.namespace_selector.matches(cluster.namespace_labels(other.namespace)):
        labels = ",".join(f"{k}={v}" for k, v in sorted(cluster.namespace_labels(other.namespace).items()))
        return f"namespace {other.namespace} has {labels}"
    return f"{other.name} has {other.describe_labels()}"


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]
