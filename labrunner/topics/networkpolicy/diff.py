"""Do two policy sets mean the same? Compared as connections, not as YAML.

Both sets are evaluated over one *universe*: the cluster's namespaces and pods,
plus synthetic namespaces and pods built from every label any selector of either
set mentions (and a pod and a namespace with no labels at all), every port
either set names (with the edges of every range), and external addresses inside
and outside every ipBlock and its exceptions. So a policy that is right only for
the pods running today ("it selects app=web, and today only web pods exist
there") is still told apart from one that is right for every pod.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from labrunner.topics.networkpolicy.evaluate import Endpoint, endpoint_name
from labrunner.topics.networkpolicy.matrix import Group, Matrix, PortKey, _bits, classify, selector_bits
from labrunner.topics.networkpolicy.model import (
    NAME_LABEL,
    PROTOCOLS,
    Cluster,
    ContainerPort,
    IPAddress,
    Namespace,
    Pod,
    Policy,
    Protocol,
    Selector,
)

_SYNTHETIC_RANGE = ipaddress.IPv4Network("100.64.0.0/10")  # shared address space: rarely in anyone's ipBlock


@dataclass(frozen=True)
class Difference:
    source: Endpoint
    destination: Endpoint
    port: PortKey
    mine: bool
    reference: bool
    source_text: str
    destination_text: str
    synthetic: bool

    def sentence(self) -> str:
        protocol, number = self.port
        path = f"{self.source_text} -> {self.destination_text} on {protocol} {number}"
        if self.mine:
            return f"yours also allows {path}"
        return f"yours does not allow {path}, which should be allowed"

    def as_json(self) -> dict[str, object]:
        return {
            "src": endpoint_name(self.source),
            "dst": endpoint_name(self.destination),
            "protocol": self.port[0],
            "port": self.port[1],
            "mine": self.mine,
            "reference": self.reference,
            "synthetic": self.synthetic,
            "sentence": self.sentence(),
        }


@dataclass(frozen=True)
class PolicyDiff:
    differences: tuple[Difference, ...]
    universe_pods: int
    universe_ports: int
    ports: tuple[PortKey, ...] = ()
    """Every port compared (the rules' ports, their neighbours, the pods' ports, and one
    port nothing names per protocol), so a line can say "any port" when it means it."""

    @property
    def same(self) -> bool:
        return not self.differences

    def summary(self, limit: int = 5, focus: str | None = None) -> list[str]:
        """Learner-sized: one line per pair of endpoints (ports merged). Pairs of the
        pods that exist come first; pairs involving pods that do not exist yet are
        only sampled when they are all there is, or counted otherwise. With ``focus``
        (a namespace), pairs whose source is in it come before others, since that is
        where the learner's own pods (and probes) live."""
        merged: dict[tuple[bool, bool, str, str], list[PortKey]] = {}
        outside: set[tuple[bool, bool, str, str]] = set()
        for difference in self.differences:
            key = (difference.synthetic, difference.mine, difference.source_text, difference.destination_text)
            merged.setdefault(key, []).append(difference.port)
            if not (isinstance(difference.source, Pod) and isinstance(difference.destination, Pod)):
                outside.add(key)
        real: list[str] = []
        hypothetical: list[str] = []
        examples: list[str] = []
        # Pod-to-pod lines before lines about addresses outside the cluster: learners think in pods.
        here = f"{focus}/" if focus else None
        ordered = sorted(merged.items(), key=lambda item: (not item[0][1], item[0] in outside,
                                                           here is not None and not item[0][2].startswith(here), item[0][2:]))
        for (synthetic, mine, source, destination), ports in ordered:
            path = f"{source} -> {destination} on {_ports_text(sorted(ports), self.ports)}"
            line = f"yours also allows {path}" if mine else f"yours does not allow {path}, which should be allowed"
            (hypothetical if synthetic else real).append(line)
            if synthetic:
                examples.append(f"{path} ({'allowed' if mine else 'denied'} by yours)")
        if real:
            lines = real[:limit]
            hidden = len(real) - len(lines)
            if hidden:
                lines.append(f"... and {hidden} more")
            if hypothetical:
                lines.append(
                    f"... and {len(hypothetical)} more for pods and namespaces that do not exist yet, such as {examples[0]}"
                )
            return lines
        lines = [f"{line} (a pod that does not exist yet, but could)" for line in hypothetical[:limit]]
        if len(hypothetical) > limit:
            lines.append(f"... and {len(hypothetical) - limit} more")
        return lines


def _ports_text(ports: Sequence[PortKey], compared: Sequence[PortKey] = ()) -> str:
    """"TCP 80/443", or "any TCP port" / "any TCP port but 80" / "any port" when the
    differing ports include the one nothing names and all (or all but one or two) of
    the others compared for that protocol: lists of 11 numbers help no one."""
    by_protocol: dict[Protocol, list[int]] = {}
    for protocol, number in ports:
        by_protocol.setdefault(protocol, []).append(number)
    everything: dict[Protocol, list[int]] = {}
    for protocol, number in compared:
        everything.setdefault(protocol, []).append(number)
    parts: list[str] = []
    whole = bool(everything) and set(by_protocol) == set(everything)
    for protocol, numbers in by_protocol.items():
        universe = everything.get(protocol, [])
        missing = sorted(set(universe) - set(numbers))
        if universe and max(universe) in numbers and len(missing) <= 2:
            parts.append(f"any {protocol} port" + (f" but {'/'.join(map(str, missing))}" if missing else ""))
            whole = whole and not missing
        else:
            parts.append(f"{protocol} {'/'.join(map(str, numbers))}")
            whole = False
    return "any port" if whole else ", ".join(parts)


def diff(cluster: Cluster, mine: Sequence[Policy], reference: Sequence[Policy]) -> PolicyDiff:
    """Compare the meaning of ``mine`` with ``reference`` over ``cluster``'s pods and
    the synthetic universe (``cluster``'s own policies are ignored).

    The universe is large (every namespace times every label set the selectors mention: 140,000
    pods for 2,000 policies), but most of its pods no policy of either set can tell apart. Both
    sets are evaluated over one representative of each such class, one port at a time, and each
    difference between classes is then spelled out for the pod groups in them, in the order a
    group-by-group comparison gives (tests/topics/networkpolicy/diff_oracle.py is that comparison)."""
    policies = (*mine, *reference)
    universe, synthetic = build_universe(cluster, policies)
    ports = universe_ports(universe, policies)
    externals = universe_externals(policies)
    groups, _, _ = classify(universe.pods, externals, policies)
    representatives, class_of = _classes(universe, groups, policies)
    world = Cluster(namespaces=universe.namespaces, pods=tuple(representatives), policies=())
    ours = Matrix(world.with_policies(tuple(mine)), (), externals, grouping_policies=policies)
    theirs = Matrix(world.with_policies(tuple(reference)), (), externals, grouping_policies=policies)
    # A class's index in both matrices: its representative's group (pods first, then addresses).
    members: dict[int, list[int]] = {}
    for group in groups:
        name = representatives[class_of[group.index]].ref if group.is_pod else endpoint_name(group.members[0])
        members.setdefault(ours.group_of[name], []).append(group.index)
    differences = []
    for port in ports:
        our_columns, their_columns = ours.connectivity(port), theirs.connectivity(port)
        pairs: list[tuple[int, int, bool, bool]] = []
        for d_class, (our_column, their_column) in enumerate(zip(our_columns, their_columns)):
            changed = our_column ^ their_column
            for s_class in _bits(changed):
                allowed_mine, allowed_reference = bool(our_column >> s_class & 1), bool(their_column >> s_class & 1)
                pairs.extend((d, s, allowed_mine, allowed_reference) for d in members[d_class] for s in members[s_class])
        pairs.sort()
        for d, s, allowed_mine, allowed_reference in pairs:
            source_group, destination_group = groups[s], groups[d]
            if not source_group.is_pod and not destination_group.is_pod:
                continue
            if s == d and source_group.weight == 1:
                continue  # a pod and itself
            source, destination = _pair(source_group, destination_group)
            differences.append(
                Difference(
                    source=source,
                    destination=destination,
                    port=port,
                    mine=allowed_mine,
                    reference=allowed_reference,
                    source_text=_describe(source, source_group, synthetic, universe),
                    destination_text=_describe(destination, destination_group, synthetic, universe),
                    synthetic=endpoint_name(source) in synthetic or endpoint_name(destination) in synthetic,
                )
            )
    return PolicyDiff(differences=tuple(differences), universe_pods=len(universe.pods), universe_ports=len(ports), ports=tuple(ports))


def _classes(universe: Cluster, groups: Sequence[Group], policies: Sequence[Policy]) -> tuple[list[Pod], dict[int, int]]:
    """Pod groups no policy of ``policies`` can tell apart, as one representative pod per class
    and the class of each pod group (by group index).

    What the policies see of a pod in namespace N: whether N holds policies (then N itself
    matters: policies select there, and peers without a namespaceSelector mean it), otherwise
    only which namespaceSelectors N matches; which of the podSelectors that are ever asked about
    N's pods its labels match (the podSelectors of N's policies and of their peers without a
    namespaceSelector, and of any peer whose namespaceSelector matches N); its container ports
    (named ports); which ipBlocks hold its addresses. Groups alike in all of these are allowed
    and denied alike, so a label set that matters in one namespace does not multiply the rest."""
    pod_groups = [group for group in groups if group.is_pod]
    homes = {policy.namespace for policy in policies}
    namespace_selectors = list(dict.fromkeys(
        peer.namespace_selector for policy in policies for rule in (*policy.ingress, *policy.egress)
        for peer in rule.peers if peer.namespace_selector is not None))
    namespace_keys: dict[str, object] = {}
    matching_namespaces: dict[Selector, set[str]] = {selector: set() for selector in namespace_selectors}
    for name in universe.namespaces:
        labels = universe.namespace_labels(name)
        matches = tuple(selector.matches(labels) for selector in namespace_selectors)
        namespace_keys[name] = name if name in homes else matches
        for selector, matches_it in zip(namespace_selectors, matches):
            if matches_it:
                matching_namespaces[selector].add(name)
    # Where each podSelector is asked about pods: the namespaces whose pods it can select.
    asked: dict[Selector, set[str]] = {}
    for policy in policies:
        asked.setdefault(policy.pod_selector, set()).add(policy.namespace)
        for rule in (*policy.ingress, *policy.egress):
            for peer in rule.peers:
                if peer.pod_selector is None:
                    continue
                namespaces = {policy.namespace} if peer.namespace_selector is None else matching_namespaces[peer.namespace_selector]
                asked.setdefault(peer.pod_selector, set()).update(namespaces)
    # Which of those selectors each group's labels match, from label indexes over the groups (a
    # bitset per label) rather than selector by group: 4,000 selectors over 140,000 groups in
    # well under a second.
    label_bits: dict[tuple[str, str], int] = {}
    key_bits: dict[str, int] = {}
    namespace_bits: dict[str, int] = {}
    for position, group in enumerate(pod_groups):
        bit = 1 << position
        namespace_bits[group.namespace or ""] = namespace_bits.get(group.namespace or "", 0) | bit
        for key, value in group.members[0].labels.items():  # type: ignore[union-attr]
            label_bits[(key, value)] = label_bits.get((key, value), 0) | bit
            key_bits[key] = key_bits.get(key, 0) | bit
    everyone = (1 << len(pod_groups)) - 1
    matched: list[list[int]] = [[] for _ in pod_groups]
    for number, (selector, asked_in) in enumerate(asked.items()):
        where = 0
        for namespace in asked_in:
            where |= namespace_bits.get(namespace, 0)
        mask = selector_bits(selector, label_bits, key_bits, everyone)
        if mask & where in (0, where):
            continue  # matches all or none of the pods it is asked about: tells none apart
        for position in _bits(mask & where):
            matched[position].append(number)
    representatives: list[Pod] = []
    class_of: dict[int, int] = {}
    by_signature: dict[object, int] = {}
    for position, group in enumerate(pod_groups):
        pod = group.members[0]
        assert isinstance(pod, Pod)
        signature = (namespace_keys.get(pod.namespace, pod.namespace), tuple(matched[position]), frozenset(pod.ports),
                     group.holding)
        known = by_signature.get(signature)
        if known is None:
            known = by_signature[signature] = len(representatives)
            representatives.append(pod)
        class_of[group.index] = known
    return representatives, class_of


def _pair(source: Group, destination: Group) -> tuple[Endpoint, Endpoint]:
    if source.index == destination.index:
        return source.members[0], source.members[1]
    return source.members[0], destination.members[0]


def _describe(member: Endpoint, group: Group, synthetic: set[str], universe: Cluster) -> str:
    if not isinstance(member, Pod):
        return str(member)
    if member.ref not in synthetic:
        alike = sum(1 for other in group.members if endpoint_name(other) not in synthetic) - 1
        return f"{member.ref} (and {alike} more like it)" if alike > 0 else member.ref
    labels = member.describe_labels()
    namespace_labels = {k: v for k, v in universe.namespace_labels(member.namespace).items() if k != NAME_LABEL}
    if member.namespace.startswith("synthetic-"):
        where = (
            "a namespace labelled " + ",".join(f"{k}={v}" for k, v in sorted(namespace_labels.items()))
            if namespace_labels
            else "another namespace"
        )
    else:
        where = member.namespace
    return f"a pod with {labels} in {where}"


# -- the universe ------------------------------------------------------------------


def _satisfying(selector: Selector) -> dict[str, str] | None:
    """Labels an object could carry to match ``selector`` (None if it cannot be built simply)."""
    labels = dict(selector.match_labels)
    for requirement in selector.match_expressions:
        if requirement.operator == "In":
            labels.setdefault(requirement.key, sorted(requirement.values)[0])
        elif requirement.operator == "Exists":
            labels.setdefault(requirement.key, "any")
    return labels if selector.matches(labels) else None


def _selectors(policies: Iterable[Policy]) -> tuple[list[Selector], list[Selector]]:
    pod_selectors: list[Selector] = []
    namespace_selectors: list[Selector] = []
    for policy in policies:
        pod_selectors.append(policy.pod_selector)
        for rule in (*policy.ingress, *policy.egress):
            for peer in rule.peers:
                if peer.pod_selector is not None:
                    pod_selectors.append(peer.pod_selector)
                if peer.namespace_selector is not None:
                    namespace_selectors.append(peer.namespace_selector)
    return pod_selectors, namespace_selectors


def _label_sets(selectors: Iterable[Selector]) -> list[dict[str, str]]:
    sets: list[dict[str, str]] = [{}]
    for selector in selectors:
        whole = _satisfying(selector)
        candidates = [whole] if whole else []
        for key, value in selector.mentioned_labels():
            candidates.append({key: value if value is not None else "any"})
            if value is not None:
                candidates.append({key: f"not-{value}"})
        for labels in candidates:
            if labels is not None and labels not in sets:
                sets.append(labels)
    return sets


def build_universe(cluster: Cluster, policies: Sequence[Policy]) -> tuple[Cluster, set[str]]:
    """The cluster plus synthetic namespaces and pods; returns it and the synthetic pods' refs."""
    pod_selectors, namespace_selectors = _selectors(policies)
    namespaces: dict[str, Namespace] = dict(cluster.namespaces)
    for name in {pod.namespace for pod in cluster.pods} | {policy.namespace for policy in policies}:
        namespaces.setdefault(name, Namespace(name, {NAME_LABEL: name}))
    for index, labels in enumerate(_label_sets(namespace_selectors)):
        if any(key == NAME_LABEL for key in labels):
            name = labels[NAME_LABEL]
            if name not in namespaces:
                namespaces[name] = Namespace(name, {**labels, NAME_LABEL: name})
            continue
        name = f"synthetic-{index}"
        namespaces[name] = Namespace(name, {**labels, NAME_LABEL: name})
    named_ports = _named_ports(policies, cluster.pods)
    pod_label_sets = _label_sets(pod_selectors)
    addresses = _SYNTHETIC_RANGE.hosts()
    pods = list(cluster.pods)
    synthetic: set[str] = set()
    for namespace in sorted(namespaces):
        for index, labels in enumerate(pod_label_sets):
            pod = Pod(
                namespace=namespace,
                name=f"synthetic-{index}",
                labels=labels,
                ips=(next(addresses),),
                ports=named_ports,
            )
            pods.append(pod)
            synthetic.add(pod.ref)
    return Cluster(namespaces=namespaces, pods=tuple(pods), policies=()), synthetic


def _named_ports(policies: Iterable[Policy], pods: Iterable[Pod]) -> tuple[ContainerPort, ...]:
    """Container ports for synthetic pods: every port name the policies use, numbered as
    the cluster's own pods number it (so "port: mysql" means 3306 where mysql is 3306),
    or with a number nobody uses when no pod names it."""
    names: dict[tuple[str, Protocol], None] = {}
    for policy in policies:
        for rule in (*policy.ingress, *policy.egress):
            for rule_port in rule.ports:
                if isinstance(rule_port.port, str):
                    names[(rule_port.port, rule_port.protocol)] = None
    known: dict[tuple[str, Protocol], int] = {}
    for pod in pods:
        for container_port in pod.ports:
            if container_port.name:
                known.setdefault((container_port.name, container_port.protocol), container_port.port)
    return tuple(
        ContainerPort(port=known.get((name, protocol), 40000 + index), protocol=protocol, name=name)
        for index, (name, protocol) in enumerate(names)
    )


def universe_ports(universe: Cluster, policies: Iterable[Policy]) -> list[PortKey]:
    ports: dict[PortKey, None] = {}
    for policy in policies:
        for rule in (*policy.ingress, *policy.egress):
            for rule_port in rule.ports:
                if isinstance(rule_port.port, int):
                    ends = [rule_port.port, rule_port.port - 1, rule_port.port + 1]
                    if rule_port.end_port is not None:
                        ends += [rule_port.end_port, rule_port.end_port + 1]
                    for number in ends:
                        if 1 <= number <= 65535:
                            ports[(rule_port.protocol, number)] = None
    for pod in universe.pods:
        for container_port in pod.ports:
            ports[(container_port.protocol, container_port.port)] = None
    for protocol in PROTOCOLS:  # a port nothing names, for every protocol
        number = next(n for n in range(65535, 1, -1) if (protocol, n) not in ports)
        ports[(protocol, number)] = None
    return sorted(ports)


def universe_externals(policies: Iterable[Policy]) -> list[IPAddress]:
    blocks = [
        peer.ip_block
        for policy in policies
        for rule in (*policy.ingress, *policy.egress)
        for peer in rule.peers
        if peer.ip_block is not None
    ]
    addresses: dict[IPAddress, None] = {}
    for block in blocks:
        for network in (block.cidr, *block.excepts):
            addresses[network.network_address] = None
            addresses[network.broadcast_address] = None
            if network.num_addresses > 2:
                addresses[network.network_address + 1] = None
    # Somewhere outside every block, in each address family in use.
    for candidate in ("198.51.100.7", "203.0.113.9", "8.8.8.8", "2001:db8:ffff::7"):
        address = ipaddress.ip_address(candidate)
        if address.version == 6 and not any(b.cidr.version == 6 for b in blocks):
            continue
        if not any(address in b.cidr for b in blocks if b.cidr.version == address.version):
            addresses[address] = None
    return list(addresses)
