"""Full connectivity: every source, every destination, every port, at once.

Pods are never evaluated pair by pair. Pods that no policy can tell apart (same
namespace, labels, container ports, and the same ipBlocks containing their IPs)
form one *class*; each external address is a class of its own. Sets of classes
are Python ints used as bitsets, each distinct selector is matched once through
label indexes, and for every port and destination class we compute the bitset of
source classes allowed to reach it:

    allowed[D] = ingress_admits[D] & egress_reaches[D]

``ingress_admits[D]`` ORs the peers of every ingress rule (of the policies
selecting D) whose ports match; ``egress_reaches[D]`` ORs the *selected pods* of
every egress rule whose peers and ports include D, plus every class that is not
isolated for egress. Counting weighs each class by its number of pods.
"""

from __future__ import annotations

import bisect
import ipaddress
import itertools
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field

from labrunner.topics.networkpolicy.evaluate import Endpoint, Verdict, endpoint_name, evaluate
from labrunner.topics.networkpolicy.model import (
    Cluster,
    IPAddress,
    IPBlock,
    Peer,
    Pod,
    Policy,
    PortRule,
    Protocol,
    Rule,
    Selector,
)

PortKey = tuple[Protocol, int]


@dataclass
class Group:
    """A class of endpoints no policy can tell apart."""

    index: int
    members: list[Endpoint] = field(default_factory=list)
    namespace: str | None = None
    """None for an external address."""
    holding: tuple[int, ...] = ()
    """The ipBlocks (by number) holding the members' addresses."""

    @property
    def is_pod(self) -> bool:
        return self.namespace is not None

    @property
    def weight(self) -> int:
        return len(self.members)


def _bits(mask: int) -> Iterator[int]:
    while mask:
        low = mask & -mask
        yield low.bit_length() - 1
        mask ^= low


class _Block:
    """An ipBlock as integers, for fast containment tests."""

    def __init__(self, block: IPBlock) -> None:
        self.version = block.cidr.version
        self.ranges = (int(block.cidr.network_address), int(block.cidr.broadcast_address))
        self.excepts = [
            (int(e.network_address), int(e.broadcast_address)) for e in block.excepts if e.version == self.version
        ]

    def contains(self, address: IPAddress) -> bool:
        if address.version != self.version:
            return False
        value = int(address)
        low, high = self.ranges
        return low <= value <= high and not any(a <= value <= b for a, b in self.excepts)


def selector_bits(selector: Selector, label_bits: dict[tuple[str, str], int], key_bits: dict[str, int], everyone: int) -> int:
    """The members of ``everyone`` whose labels ``selector`` matches, from indexes of which
    members carry each label (``label_bits``) and each key (``key_bits``)."""
    mask = everyone
    for key, value in selector.match_labels:
        mask &= label_bits.get((key, value), 0)
    for requirement in selector.match_expressions:
        with_value = 0
        for value in requirement.values:
            with_value |= label_bits.get((requirement.key, value), 0)
        with_key = key_bits.get(requirement.key, 0)
        if requirement.operator == "In":
            mask &= with_value
        elif requirement.operator == "NotIn":
            mask &= ~with_value
        elif requirement.operator == "Exists":
            mask &= with_key
        else:
            mask &= ~with_key
    return mask & everyone


def classify(pods: Sequence[Pod], externals: Sequence[IPAddress], policies: Sequence[Policy]
             ) -> tuple[list[Group], dict[str, int], dict[IPBlock, _Block]]:
    """Pods into classes no policy of ``policies`` can tell apart by what they are (namespace,
    labels, container ports, the ipBlocks holding their addresses), then one class per
    external address; the classes, the class of each endpoint's name, and the ipBlocks."""
    blocks: dict[IPBlock, _Block] = {}
    for policy in policies:
        for rule in (*policy.ingress, *policy.egress):
            for peer in rule.peers:
                if peer.ip_block is not None and peer.ip_block not in blocks:
                    blocks[peer.ip_block] = _Block(peer.ip_block)
    holding = _blocks_holding(pods, list(blocks.values()))
    by_key: dict[object, Group] = {}
    groups: list[Group] = []
    group_of: dict[str, int] = {}
    for position, pod in enumerate(pods):
        held = holding.get(position, ())
        key = (pod.namespace, frozenset(pod.labels.items()), frozenset(pod.ports), held)
        group = by_key.get(key)
        if group is None:
            group = by_key[key] = Group(index=len(groups), namespace=pod.namespace, holding=held)
            groups.append(group)
        group.members.append(pod)
        group_of[pod.ref] = group.index
    for address in externals:
        group = Group(index=len(groups), members=[address])
        groups.append(group)
        group_of[str(address)] = group.index
    return groups, group_of, blocks


def _blocks_holding(pods: Sequence[Pod], blocks: Sequence[_Block]) -> dict[int, tuple[int, ...]]:
    """For each pod (by position) that some block holds, the blocks holding one of its
    addresses, in order. Addresses are sorted once and each block finds its range by
    bisection, so 100,000 pods and 1,000 blocks cost milliseconds, not a test per pair."""
    by_version: dict[int, list[tuple[int, int]]] = {}
    for position, pod in enumerate(pods):
        for address in pod.ips:
            by_version.setdefault(address.version, []).append((int(address), position))
    for entries in by_version.values():
        entries.sort()
    held: dict[int, set[int]] = {}
    for number, block in enumerate(blocks):
        entries = by_version.get(block.version, [])
        low, high = block.ranges
        start = bisect.bisect_left(entries, (low, -1))
        for value, position in itertools.takewhile(lambda entry: entry[0] <= high, itertools.islice(entries, start, None)):
            if not any(a <= value <= b for a, b in block.excepts):
                held.setdefault(position, set()).add(number)
    return {position: tuple(sorted(numbers)) for position, numbers in held.items()}


class Matrix:
    """Connectivity of ``cluster`` for ``ports``, between its pods and ``externals``."""

    def __init__(
        self,
        cluster: Cluster,
        ports: Sequence[PortKey],
        externals: Iterable[IPAddress] = (),
        grouping_policies: Sequence[Policy] | None = None,
    ) -> None:
        """``grouping_policies``: group pods by these policies' ipBlocks instead of
        the cluster's, so that two matrices over one universe share their groups."""
        self.cluster = cluster
        self._grouping_policies = cluster.policies if grouping_policies is None else grouping_policies
        self.ports: tuple[PortKey, ...] = tuple(dict.fromkeys(ports))
        self.externals = tuple(dict.fromkeys(externals))
        self._classify()
        self._index()
        self.allowed_bits: dict[PortKey, list[int]] = {port: self.connectivity(port) for port in self.ports}
        self._reasons: dict[tuple[int, int, PortKey], str] = {}

    # -- grouping -----------------------------------------------------------

    def _classify(self) -> None:
        self.groups, self.group_of, self._blocks = classify(self.cluster.pods, self.externals, self._grouping_policies)

    def _index(self) -> None:
        self.all_bits = (1 << len(self.groups)) - 1
        self.pod_bits = 0
        self.label_bits: dict[tuple[str, str], int] = {}
        self.key_bits: dict[str, int] = {}
        self.namespace_bits: dict[str, int] = {}
        for group in self.groups:
            if not group.is_pod:
                continue
            bit = 1 << group.index
            self.pod_bits |= bit
            pod = group.members[0]
            assert isinstance(pod, Pod)
            self.namespace_bits[pod.namespace] = self.namespace_bits.get(pod.namespace, 0) | bit
            for key, value in pod.labels.items():
                self.label_bits[(key, value)] = self.label_bits.get((key, value), 0) | bit
                self.key_bits[key] = self.key_bits.get(key, 0) | bit
        self._selector_cache: dict[Selector, int] = {}
        self._namespace_cache: dict[Selector, int] = {}
        self._block_cache: dict[IPBlock, int] = {}
        self._named_cache: dict[tuple[str, Protocol, int], int] = {}
        weights = [group.weight for group in self.groups]
        self._weight_masks = [
            sum(1 << i for i, weight in enumerate(weights) if weight >> k & 1) for k in range(max(weights, default=0).bit_length())
        ]

    # -- selectors as bitsets -------------------------------------------------

    def pods_matching(self, selector: Selector) -> int:
        cached = self._selector_cache.get(selector)
        if cached is not None:
            return cached
        mask = selector_bits(selector, self.label_bits, self.key_bits, self.pod_bits)
        self._selector_cache[selector] = mask
        return mask

    def pods_in_namespaces(self, selector: Selector) -> int:
        cached = self._namespace_cache.get(selector)
        if cached is None:
            cached = 0
            for namespace, bits in self.namespace_bits.items():
                if selector.matches(self.cluster.namespace_labels(namespace)):
                    cached |= bits
            self._namespace_cache[selector] = cached
        return cached

    def _block_bits(self, block: IPBlock) -> int:
        cached = self._block_cache.get(block)
        if cached is None:
            fast = self._blocks.get(block) or _Block(block)
            cached = 0
            for group in self.groups:
                first = group.members[0]
                addresses = first.ips if isinstance(first, Pod) else (first,)
                if any(fast.contains(address) for address in addresses):
                    cached |= 1 << group.index
            self._block_cache[block] = cached
        return cached

    def peer_bits(self, peer: Peer, policy: Policy) -> int:
        if peer.ip_block is not None:
            return self._block_bits(peer.ip_block)
        if peer.pod_selector is None and peer.namespace_selector is None:
            return 0
        if peer.namespace_selector is None:
            where = self.namespace_bits.get(policy.namespace, 0)
        else:
            where = self.pods_in_namespaces(peer.namespace_selector)
        return where & (self.pods_matching(peer.pod_selector) if peer.pod_selector is not None else self.pod_bits)

    def rule_peer_bits(self, rule: Rule, policy: Policy) -> int:
        if not rule.peers:
            return self.all_bits
        mask = 0
        for peer in rule.peers:
            mask |= self.peer_bits(peer, policy)
        return mask

    def selected_bits(self, policy: Policy) -> int:
        return self.namespace_bits.get(policy.namespace, 0) & self.pods_matching(policy.pod_selector)

    def _named_bits(self, name: str, protocol: Protocol, port: int) -> int:
        key = (name, protocol, port)
        cached = self._named_cache.get(key)
        if cached is None:
            cached = 0
            for group in self.groups:
                if group.is_pod and group.members[0].named_port(name, protocol) == port:  # type: ignore[union-attr]
                    cached |= 1 << group.index
            self._named_cache[key] = cached
        return cached

    def port_destination_bits(self, rule_ports: Sequence[PortRule], port: PortKey) -> int:
        """The destination classes for which a rule's ports match ``port``."""
        if not rule_ports:
            return self.all_bits
        protocol, number = port
        mask = 0
        for rule_port in rule_ports:
            if rule_port.protocol != protocol:
                continue
            if rule_port.port is None:
                return self.all_bits
            if isinstance(rule_port.port, str):
                mask |= self._named_bits(rule_port.port, protocol, number)
            elif rule_port.end_port is not None:
                if rule_port.port <= number <= rule_port.end_port:
                    return self.all_bits
            elif rule_port.port == number:
                return self.all_bits
        return mask

    # -- connectivity -----------------------------------------------------------

    def connectivity(self, port: PortKey) -> list[int]:
        """For each destination class, the bitset of source classes allowed to reach it on
        ``port`` (computed afresh: callers that walk many ports one at a time keep only one)."""
        count = len(self.groups)
        ingress_isolated = 0
        egress_isolated = 0
        for policy in self.cluster.policies:
            selected = self.selected_bits(policy)
            if "ingress" in policy.types:
                ingress_isolated |= selected
            if "egress" in policy.types:
                egress_isolated |= selected
        admits = [0 if ingress_isolated >> d & 1 else self.all_bits for d in range(count)]
        reaches = [self.all_bits & ~egress_isolated for _ in range(count)]
        for policy in self.cluster.policies:
            selected = self.selected_bits(policy)
            if not selected:
                continue
            if "ingress" in policy.types:
                for rule in policy.ingress:
                    targets = selected & self.port_destination_bits(rule.ports, port)
                    if targets:
                        peers = self.rule_peer_bits(rule, policy)
                        for d in _bits(targets):
                            admits[d] |= peers
            if "egress" in policy.types:
                for rule in policy.egress:
                    destinations = self.rule_peer_bits(rule, policy) & self.port_destination_bits(rule.ports, port)
                    for d in _bits(destinations):
                        reaches[d] |= selected
        return [admits[d] & reaches[d] for d in range(count)]

    # -- answers ------------------------------------------------------------------

    def allowed(self, source: Endpoint, destination: Endpoint, protocol: Protocol, port: int) -> bool:
        if isinstance(source, Pod) and isinstance(destination, Pod) and source.ref == destination.ref:
            return True
        s, d = self.group_of[endpoint_name(source)], self.group_of[endpoint_name(destination)]
        return bool(self.allowed_bits[(protocol, port)][d] >> s & 1)

    def _weighted(self, mask: int) -> int:
        return sum((mask & weight_mask).bit_count() << k for k, weight_mask in enumerate(self._weight_masks))

    def summary(self) -> dict[str, int]:
        """Counts over every ordered pair of distinct pods, external -> pod and pod -> external."""
        pods = sum(group.weight for group in self.groups if group.is_pod)
        externals = len(self.externals)
        verdicts = allowed = 0
        for port in self.ports:
            verdicts += pods * (pods - 1) + 2 * pods * externals
            for group in self.groups:
                mask = self.allowed_bits[port][group.index]
                if group.is_pod:
                    count = self._weighted(mask)
                    if mask >> group.index & 1:
                        count -= 1  # a pod and itself is not a pair
                    allowed += count * group.weight
                else:
                    allowed += self._weighted(mask & self.pod_bits)
        return {
            "pods": pods,
            "externals": externals,
            "groups": sum(1 for group in self.groups if group.is_pod),
            "ports": len(self.ports),
            "verdicts": verdicts,
            "allowed": allowed,
        }

    def verdicts(self) -> Iterator[tuple[Endpoint, Endpoint, PortKey, bool]]:
        """Every verdict the summary counts, one by one (for small clusters)."""
        endpoints = [(member, group.index) for group in self.groups for member in group.members]
        for port in self.ports:
            allowed_bits = self.allowed_bits[port]
            for destination, d in endpoints:
                column = allowed_bits[d]
                for source, s in endpoints:
                    if source is destination or not (isinstance(source, Pod) or isinstance(destination, Pod)):
                        continue
                    yield source, destination, port, bool(column >> s & 1)

    def reason(self, source: Endpoint, destination: Endpoint, port: PortKey) -> str:
        """The short reason for a verdict; computed once per pair of classes."""
        key = (self.group_of[endpoint_name(source)], self.group_of[endpoint_name(destination)], port)
        if key not in self._reasons:
            self._reasons[key] = self.explain(source, destination, port).reason()
        return self._reasons[key]

    def explain(self, source: Endpoint, destination: Endpoint, port: PortKey) -> Verdict:
        return evaluate(self.cluster, source, destination, port[0], port[1])

    def behaviour_groups(self) -> list[list[Endpoint]]:
        """Pods grouped by identical connectivity (same sources and destinations on every port)."""
        rows: list[list[int]] = [[0] * len(self.ports) for _ in self.groups]
        for q, port in enumerate(self.ports):
            for d, column in enumerate(self.allowed_bits[port]):
                for s in _bits(column):
                    rows[s][q] |= 1 << d
        merged: dict[tuple[object, ...], list[Endpoint]] = {}
        for group in self.groups:
            if not group.is_pod:
                continue
            signature = (
                tuple(self.allowed_bits[port][group.index] for port in self.ports),
                tuple(rows[group.index]),
                group.weight > 1,
            )
            merged.setdefault(signature, []).extend(group.members)
        return list(merged.values())


def default_ports(cluster: Cluster) -> list[PortKey]:
    """Every port a policy or a container names (named ports resolved on the pods)."""
    ports: dict[PortKey, None] = {}
    for policy in cluster.policies:
        for rule in (*policy.ingress, *policy.egress):
            for rule_port in rule.ports:
                if isinstance(rule_port.port, int):
                    ports[(rule_port.protocol, rule_port.port)] = None
                    if rule_port.end_port is not None:
                        ports[(rule_port.protocol, rule_port.end_port)] = None
    for pod in cluster.pods:  # named ports resolve to these
        for container_port in pod.ports:
            ports[(container_port.protocol, container_port.port)] = None
    return sorted(ports) or [("TCP", 80)]


def parse_port(text: str) -> PortKey:
    """``TCP/80``, ``udp/53`` or ``80`` (TCP).

    Raises:
        ValueError: not a protocol and port number.
    """
    protocol, _, number = text.rpartition("/")
    protocol = (protocol or "TCP").upper()
    if protocol not in ("TCP", "UDP", "SCTP") or not number.isdigit() or not 1 <= int(number) <= 65535:
        raise ValueError(f"{text!r} is not PROTOCOL/PORT, e.g. TCP/80 or UDP/53")
    return protocol, int(number)  # type: ignore[return-value]


def parse_address(text: str) -> IPAddress:
    return ipaddress.ip_address(text)
