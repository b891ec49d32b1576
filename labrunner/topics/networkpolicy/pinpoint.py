"""Which part of the learner's policies makes them mean something other than the step asks.

The meaning-diff stays the judge (any correct set of policies passes). This maps its
differences back to the manifest: it pairs the learner's policies with the reference's,
proposes edits (the learner's policy with one part, a selector, the policyTypes, a rule,
its ports, one peer or one field of a peer, as the reference has it), re-judges the
learner's set with each edit, and names the part whose edit removes the most differences,
the most specific part among equals. An explanation is only ever given for a part whose
repair provably brings the learner's policies closer to the step's meaning, so it cannot
blame a field that is fine. Repeated on the repaired set, it finds the next mistake.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from labrunner.topics.networkpolicy import wording
from labrunner.topics.networkpolicy.model import Cluster, Direction, Peer, Pod, Policy, Rule

Path = tuple[str | int, ...]
Judge = Callable[[tuple[Policy, ...]], int]
"""The number of differences between a set of policies and the reference."""


@dataclass(frozen=True)
class Culprit:
    """One mistake: the policy, the field (its path in the object, for a line in the
    learner's file), the words naming it, and how many differences remain once it is fixed."""

    policy: str
    path: Path
    head: str
    """Names the field and its value: ``deny-db's podSelector is {}``."""
    tail: str
    """The consequence and what the step wants, starting with its punctuation."""
    remaining: int

    def sentence(self, at: str = "") -> str:
        return f"{self.head}{at}{self.tail}"


@dataclass(frozen=True)
class _Edit:
    policy: str
    path: Path
    depth: int
    """How specific the part is: a whole policy 0, a policy's field 1, a rule 2, a rule's
    ports or peers 3, a peer 4, a peer's field 5."""
    result: tuple[Policy, ...]
    head: str
    tail: str
    fallback: bool = False
    """A coarse edit (a whole policy, all rules of a direction): named only when no finer
    part's repair helps, since "all of it is wrong" teaches nothing."""


def pinpoint(world: Cluster, mine: Sequence[Policy], reference: Sequence[Policy], judge: Judge, *,
             declared: Mapping[str, Mapping[str, Any]] | None = None, limit: int = 3) -> list[Culprit]:
    """The mistakes in ``mine``, the one whose repair helps most first. ``declared`` holds
    the learner's own manifests by policy name (as kubectl's last-applied annotation or
    their file has them), to tell a field they wrote from one the API server defaulted.
    A judge may raise TimeoutError: the mistakes found by then are returned."""
    culprits: list[Culprit] = []
    try:
        _search(world, tuple(mine), reference, judge, declared or {}, limit, culprits)
    except TimeoutError:  # the judge's time is up: say what was found
        pass
    return culprits[:limit]


def _search(world: Cluster, mine: tuple[Policy, ...], reference: Sequence[Policy], judge: Judge,
            declared: Mapping[str, Mapping[str, Any]], limit: int, culprits: list[Culprit]) -> None:
    current, remaining = mine, judge(mine)
    seen: set[Path] = set()
    while remaining and len(culprits) < limit:
        edits = [edit for edit in _edits(world, current, tuple(reference), declared) if (edit.policy, *edit.path) not in seen]
        scored = [(edit.fallback, judge(edit.result), -edit.depth, number) for number, edit in enumerate(edits)]
        helping = sorted(rank for rank in scored if rank[1] < remaining)
        chosen = [edits[helping[0][3]]] if helping and not helping[0][0] else _two_at_once(world, current, reference, declared, edits, remaining, judge)
        if not chosen and helping:
            chosen = [edits[helping[0][3]]]
        if not chosen:
            break
        for edit in chosen:
            left = judge(edit.result)
            culprits.append(Culprit(edit.policy, edit.path, edit.head, edit.tail, left))
            seen.add((edit.policy, *edit.path))
        current, remaining = chosen[-1].result, judge(chosen[-1].result)


def _two_at_once(world: Cluster, current: tuple[Policy, ...], reference: Sequence[Policy], declared: Mapping[str, Mapping[str, Any]],
                 edits: Sequence[_Edit], remaining: int, judge: Judge) -> list[_Edit]:
    """Two parts of one rule or policy wrong together (the peer and the port), where fixing
    either alone changes which connections differ but not how many: the pair of fine edits
    that helps most, the second proposed on the set the first repaired."""
    best: tuple[int, int, list[_Edit]] | None = None
    for first in [edit for edit in edits if not edit.fallback and edit.depth >= 2][:8]:
        for second in _edits(world, first.result, tuple(reference), declared):
            if second.fallback or second.depth < 2 or second.path == first.path or second.policy != first.policy:
                continue
            left = judge(second.result)
            rank = (left, -(first.depth + second.depth))
            if left < remaining and (best is None or rank < best[:2]):
                best = (*rank, [first, second])
    return best[2] if best is not None else []


def judge_of(world: Cluster, reference: Sequence[Policy], seconds: float) -> Judge:
    """A judge counting the meaning-diff's differences with ``reference``, each set judged once,
    over one pod of each kind (replicas are alike to every policy, so a Deployment of 300 costs
    what one pod does; only counts are compared, and those change alike for every replica). It
    raises TimeoutError once ``seconds`` have passed."""
    from labrunner.topics.networkpolicy.diff import diff

    seen: dict[object, Pod] = {}
    for pod in world.pods:
        seen.setdefault((pod.namespace, tuple(sorted(pod.labels.items())), pod.ports), pod)
    alike = Cluster(namespaces=world.namespaces, pods=tuple(seen.values()), policies=())
    judged: dict[tuple[Policy, ...], int] = {}
    deadline = time.monotonic() + seconds

    def judge(policies: tuple[Policy, ...]) -> int:
        if policies not in judged:
            if time.monotonic() > deadline:
                raise TimeoutError
            judged[policies] = len(diff(alike, policies, reference).differences)
        return judged[policies]

    return judge


# -- proposing edits ------------------------------------------------------------------


def _edits(world: Cluster, mine: tuple[Policy, ...], reference: tuple[Policy, ...],
           declared: Mapping[str, Mapping[str, Any]]) -> Iterator[_Edit]:
    pairs, missing, extra = _pair(world, mine, reference)
    for m, r in pairs:
        yield from _policy_edits(world, mine, m, r, declared.get(m.name))
    for r in missing:
        if mine:
            yield _Edit(r.name, (), 0, (*mine, r), f"none of your policies is like {r.name}", f", which {wording.gist(r)}")
        else:
            yield _Edit(r.name, (), 0, (*mine, r), f"{r.namespace} has no NetworkPolicy", f"; this step wants {r.name}, which {wording.gist(r)}")
    for m in extra:
        yield _Edit(m.name, (), 0, tuple(p for p in mine if p is not m), f"{m.name} is not part of this step",
                    f": it {wording.gist(m)}; remove it")


def _pair(world: Cluster, mine: Sequence[Policy], reference: Sequence[Policy]) -> tuple[list[tuple[Policy, Policy]], list[Policy], list[Policy]]:
    """Each reference policy with the learner's policy most like it: the same name, else the
    same podSelector, else the one selecting the most of the same pods with the most
    directions in common."""
    free = list(mine)
    pairs: list[tuple[Policy, Policy]] = []
    missing: list[Policy] = []
    for r in sorted(reference, key=lambda p: (p.name not in {m.name for m in mine}, p.name)):
        def likeness(m: Policy) -> tuple[int, int, int, int]:
            selected_m = {pod.ref for pod in world.pods if pod.namespace == m.namespace and m.pod_selector.matches(pod.labels)}
            selected_r = {pod.ref for pod in world.pods if pod.namespace == r.namespace and r.pod_selector.matches(pod.labels)}
            return (m.name == r.name, m.pod_selector == r.pod_selector, len(selected_m & selected_r), len(m.types & r.types))
        ranked = sorted(free, key=likeness, reverse=True)
        if ranked and any(likeness(ranked[0])):
            pairs.append((ranked[0], r))
            free.remove(ranked[0])
        else:
            missing.append(r)
    return pairs, missing, free


def _replaced(mine: tuple[Policy, ...], old: Policy, new: Policy) -> tuple[Policy, ...]:
    return tuple(new if p is old else p for p in mine)


def _who(policy: Policy) -> str:
    return f"every pod in {policy.namespace}" if policy.pod_selector.is_empty else f"{policy.pod_selector.describe()} pods"


def _policy_edits(world: Cluster, mine: tuple[Policy, ...], m: Policy, r: Policy, declared: Mapping[str, Any] | None) -> Iterator[_Edit]:
    whole = dataclasses.replace(r, name=m.name, namespace=m.namespace)
    yield _Edit(m.name, (), 0, _replaced(mine, m, whole), f"{m.name} does not do what this step asks",
                f": this step wants one that {wording.gist(r)}", fallback=True)
    if m.pod_selector != r.pod_selector:
        yield _Edit(m.name, ("spec", "podSelector"), 1, _replaced(mine, m, dataclasses.replace(m, pod_selector=r.pod_selector)),
                    *_selector_words(world, m, r))
    if m.types != r.types:
        yield _Edit(m.name, ("spec", "policyTypes"), 1, _replaced(mine, m, dataclasses.replace(m, types=r.types)),
                    *_types_words(m, r, declared))
    for direction in ("ingress", "egress"):
        yield from _direction_edits(world, mine, m, r, direction)


def _with_rules(policy: Policy, direction: Direction, rules: tuple[Rule, ...]) -> Policy:
    return dataclasses.replace(policy, ingress=rules) if direction == "ingress" else dataclasses.replace(policy, egress=rules)


def _direction_edits(world: Cluster, mine: tuple[Policy, ...], m: Policy, r: Policy, direction: Direction) -> Iterator[_Edit]:
    ours, theirs = m.rules(direction), r.rules(direction)
    if set(ours) == set(theirs):
        return
    home = m.namespace
    listed = "; ".join(wording.rule(rule, direction, home) for rule in theirs) or "none"
    yield _Edit(m.name, ("spec", direction), 1, _replaced(mine, m, _with_rules(m, direction, theirs)),
                f"{m.name}'s {direction} rules", f" are not the step's: it wants {direction} {listed}", fallback=True)
    matched, extra, missing = _align(ours, theirs, _rule_likeness)
    for i, j in matched:
        if ours[i] != theirs[j]:
            yield from _rule_edits(world, mine, m, direction, i, ours[i], theirs[j])
    for i in extra:
        rules = ours[:i] + ours[i + 1:]
        if not ours[i].peers and not ours[i].ports:
            head, tail = f"{m.name}'s {direction} rule {i + 1} is empty ({{}})", ", which allows anyone on any port: remove that rule"
        else:
            head, tail = (f"{m.name}'s {direction} rule {i + 1} allows {wording.rule(ours[i], direction, home)}",
                          ", which this step does not allow: remove that rule")
        yield _Edit(m.name, ("spec", direction, i), 2, _replaced(mine, m, _with_rules(m, direction, rules)), head, tail)
    for j in missing:
        rules = (*ours, theirs[j])
        yield _Edit(m.name, ("spec", direction), 2, _replaced(mine, m, _with_rules(m, direction, rules)),
                    f"{m.name} has no {direction} rule {wording.rule(theirs[j], direction, home)}",
                    f"; this step wants one (add it to {direction}:)")


def _rule_edits(world: Cluster, mine: tuple[Policy, ...], m: Policy, direction: Direction, i: int, ours: Rule, theirs: Rule) -> Iterator[_Edit]:
    home, number = m.namespace, i + 1
    word = "from" if direction == "ingress" else "to"
    base: Path = ("spec", direction, i)

    def edit(rule: Rule) -> tuple[Policy, ...]:
        rules = list(m.rules(direction))
        rules[i] = rule
        return _replaced(mine, m, _with_rules(m, direction, tuple(rules)))

    wanted = wording.rule(theirs, direction, home)
    if not ours.peers and not ours.ports:
        yield _Edit(m.name, base, 2, edit(theirs), f"{m.name}'s {direction} rule {number} is empty ({{}})",
                    f", which allows anyone on any port; this step allows only {wanted}")
    if ours.ports != theirs.ports:
        tail = (f", so every port is allowed; this step allows only {wording.ports(theirs.ports)}" if not ours.ports
                else f"; this step wants {wording.ports(theirs.ports)}")
        head = f"{m.name}'s {direction} rule {number} has no ports" if not ours.ports else \
            f"{m.name}'s {direction} rule {number} allows {wording.ports(ours.ports)}"
        yield _Edit(m.name, (*base, "ports"), 3, edit(dataclasses.replace(ours, ports=theirs.ports)), head, tail)
    if ours.peers == theirs.peers:
        return
    peers_path: Path = (*base, word)
    if not ours.peers:
        yield _Edit(m.name, peers_path, 3, edit(dataclasses.replace(ours, peers=theirs.peers)),
                    f"{m.name}'s {direction} rule {number} has no {word}",
                    f", so it allows anyone; this step allows only {word} {wording.peers(theirs.peers, home)}")
        return
    if not theirs.peers:
        yield _Edit(m.name, peers_path, 3, edit(dataclasses.replace(ours, peers=())),
                    f"{m.name}'s {direction} rule {number} allows only {word} {wording.peers(ours.peers, home)}",
                    f"; this step allows {word} anyone (no {word})")
        return
    yield from _merged_or_split(m, direction, i, ours, theirs, edit)
    yield _Edit(m.name, peers_path, 3, edit(dataclasses.replace(ours, peers=theirs.peers)),
                f"{m.name}'s {direction} rule {number} allows {word} {wording.peers(ours.peers, home)}",
                f"; this step allows {word} {wording.peers(theirs.peers, home)}")
    matched, extra, missing = _align(ours.peers, theirs.peers, _peer_likeness)
    for a, b in matched:
        if ours.peers[a] != theirs.peers[b]:
            yield from _peer_edits(world, m, direction, i, a, ours, ours.peers[a], theirs.peers[b], edit)
    for a in extra:
        peers = ours.peers[:a] + ours.peers[a + 1:]
        yield _Edit(m.name, (*peers_path, a), 4, edit(dataclasses.replace(ours, peers=peers)),
                    f"{m.name}'s {direction} rule {number} also allows {word} {wording.peer(ours.peers[a], home)}",
                    ", which this step does not")
    for b in missing:
        peers = (*ours.peers, theirs.peers[b])
        yield _Edit(m.name, peers_path, 4, edit(dataclasses.replace(ours, peers=peers)),
                    f"{m.name}'s {direction} rule {number} does not allow {word} {wording.peer(theirs.peers[b], home)}",
                    "; this step does")


def _merged_or_split(m: Policy, direction: Direction, i: int, ours: Rule, theirs: Rule,
                     edit: Callable[[Rule], tuple[Policy, ...]]) -> Iterator[_Edit]:
    """A namespaceSelector and a podSelector in one item where two items were meant (ANDed
    where ORed was wanted), or the other way round: the classic dash."""
    word = "from" if direction == "ingress" else "to"
    number = i + 1
    for a, peer in enumerate(ours.peers):
        if peer.namespace_selector is None or peer.pod_selector is None:
            continue
        alone_ns, alone_pods = Peer(namespace_selector=peer.namespace_selector), Peer(pod_selector=peer.pod_selector)
        if alone_ns in theirs.peers and alone_pods in theirs.peers and peer not in theirs.peers:
            peers = (*ours.peers[:a], alone_ns, alone_pods, *ours.peers[a + 1:])
            yield _Edit(m.name, ("spec", direction, i, word, a), 4, edit(dataclasses.replace(ours, peers=peers)),
                        f"{m.name}'s {direction} rule {number} has namespaceSelector {wording.selector(peer.namespace_selector)} "
                        f"and podSelector {wording.selector(peer.pod_selector)} in one peer",
                        ", so both must match; this step wants two peers")
    for a, first in enumerate(ours.peers):
        for b, second in enumerate(ours.peers):
            if first.namespace_selector is None or first.pod_selector is not None or first.ip_block is not None:
                continue
            if second.pod_selector is None or second.namespace_selector is not None:
                continue
            merged = Peer(pod_selector=second.pod_selector, namespace_selector=first.namespace_selector)
            if merged in theirs.peers and merged not in ours.peers:
                peers = tuple(p for k, p in enumerate(ours.peers) if k not in (a, b)) + (merged,)
                yield _Edit(m.name, ("spec", direction, i, word, max(a, b)), 4, edit(dataclasses.replace(ours, peers=peers)),
                            f"{m.name}'s {direction} rule {number} has namespaceSelector {wording.selector(first.namespace_selector)} "
                            f"and podSelector {wording.selector(second.pod_selector)} as two peers",
                            ", so either admits; this step wants one")


def _peer_edits(world: Cluster, m: Policy, direction: Direction, i: int, a: int, rule: Rule, ours: Peer, theirs: Peer,
                edit: Callable[[Rule], tuple[Policy, ...]]) -> Iterator[_Edit]:
    word = "from" if direction == "ingress" else "to"
    where = f"{m.name}'s {direction} rule {i + 1}"
    path: Path = ("spec", direction, i, word, a)

    def with_peer(peer: Peer) -> tuple[Policy, ...]:
        peers = list(rule.peers)
        peers[a] = peer
        return edit(dataclasses.replace(rule, peers=tuple(peers)))

    if (ours.pod_selector is None and theirs.pod_selector is not None and ours.namespace_selector is not None
            and ours.namespace_selector == theirs.namespace_selector):
        yield _Edit(m.name, path, 4, with_peer(theirs),
                    f"{where} has no podSelector beside namespaceSelector {wording.selector(ours.namespace_selector)}",
                    f", so every pod there may; this step allows only {wording.selector(theirs.pod_selector)}")
    yield _Edit(m.name, path, 4, with_peer(theirs), f"{where} allows {word} {wording.peer(ours, m.namespace)}",
                f"; this step allows {word} {wording.peer(theirs, m.namespace)}")
    if ours.namespace_selector != theirs.namespace_selector and ours.namespace_selector is not None and theirs.namespace_selector is not None:
        yield _Edit(m.name, (*path, "namespaceSelector"), 5, with_peer(dataclasses.replace(ours, namespace_selector=theirs.namespace_selector)),
                    f"{where} has namespaceSelector {wording.selector(ours.namespace_selector)}",
                    _namespace_tail(world, ours.namespace_selector, theirs.namespace_selector))
    if ours.pod_selector != theirs.pod_selector and ours.pod_selector is not None and theirs.pod_selector is not None:
        yield _Edit(m.name, (*path, "podSelector"), 5, with_peer(dataclasses.replace(ours, pod_selector=theirs.pod_selector)),
                    f"{where} allows {word} podSelector {wording.selector(ours.pod_selector)}",
                    f"; this step allows {wording.selector(theirs.pod_selector)}")
    if ours.ip_block is not None and theirs.ip_block is not None and ours.ip_block != theirs.ip_block:
        if ours.ip_block.cidr == theirs.ip_block.cidr and not ours.ip_block.excepts:
            head, tail = (f"{where}'s ipBlock {ours.ip_block.cidr} has no except",
                          f", so it also allows {', '.join(map(str, theirs.ip_block.excepts))}; this step excepts it")
        else:
            head, tail = f"{where}'s ipBlock is {ours.ip_block.describe()}", f"; this step wants {theirs.ip_block.describe()}"
        yield _Edit(m.name, (*path, "ipBlock"), 5, with_peer(dataclasses.replace(ours, ip_block=theirs.ip_block)), head, tail)


def _namespace_tail(world: Cluster, ours: Any, theirs: Any) -> str:
    if not wording.namespaces_matching(world, ours):
        meant = wording.namespaces_matching(world, theirs)
        if len(meant) == 1:
            carried = wording.labels(dict(world.namespace_labels(meant[0])))
            if carried == wording.selector(theirs):
                return f", matching no namespace ({meant[0]} has only {carried})"
            return f", matching no namespace ({meant[0]} has {carried}); this step selects {wording.selector(theirs)}"
        return f", matching no namespace; this step selects {wording.selector(theirs)}"
    return f"; this step selects {wording.selector(theirs)}"


# -- words for a policy's own fields ------------------------------------------------------


def _selector_words(world: Cluster, m: Policy, r: Policy) -> tuple[str, str]:
    namespace = m.namespace
    ours, theirs = wording.picked(world, namespace, m.pod_selector), wording.picked(world, namespace, r.pod_selector)
    head = f"{m.name}'s podSelector is {wording.selector(m.pod_selector)}"
    wanted = wording.selector(r.pod_selector)
    present = wording.pods_of(world, namespace)
    if not m.pod_selector.is_empty and not ours and present:
        return (f"{m.name}'s podSelector {wording.selector(m.pod_selector)}",
                f" selects no pod in {namespace} (its pods: {', '.join(present[:3])}); this step selects {wanted}")
    if m.pod_selector.is_empty:
        others = [labels for labels in ours if labels not in theirs]
        also = f" ({', '.join(others[:2])} too)" if others else ""
        return head, f", so it selects every pod in {namespace}{also}; this step selects only {wanted}"
    if r.pod_selector.is_empty:
        return head, f", so it leaves out the other pods of {namespace}; this step selects every pod ({{}})"
    return head, f", which selects {', '.join(ours[:2]) or 'no pod'}; this step selects {wanted}"


def _types_words(m: Policy, r: Policy, declared: Mapping[str, Any] | None) -> tuple[str, str]:
    spec = (declared or {}).get("spec") or {}
    defaulted = declared is not None and not spec.get("policyTypes")
    head = f"{m.name} has no policyTypes" if defaulted else f"{m.name}'s policyTypes is {wording.types(m.types)}"
    who = _who(m)
    extra, missing = sorted(m.types - r.types), sorted(r.types - m.types)
    parts = []
    for direction in missing:
        if m.rules(direction):
            parts.append(f"its {direction} rules are ignored and {who} are not isolated for {direction}")
        else:
            parts.append(f"it isolates nothing for {direction}")
    for direction in extra:
        if m.rules(direction):
            parts.append(f"{who} are isolated for {direction} too")
        else:
            parts.append(f"it blocks all {direction}")
    consequence = (f", so the API server set {wording.types(m.types)}: " if defaulted else ", so ") + " and ".join(parts)
    return head, f"{consequence}; this step wants {wording.types(r.types)}"


# -- alignment -----------------------------------------------------------------------------


def _align(ours: Sequence[Any], theirs: Sequence[Any], likeness: Callable[[Any, Any], float]) -> tuple[list[tuple[int, int]], list[int], list[int]]:
    """Pairs (ours, theirs) by likeness, most alike first; then what is left of each."""
    scored = sorted(((likeness(a, b), i, j) for i, a in enumerate(ours) for j, b in enumerate(theirs)), key=lambda s: (-s[0], s[1], s[2]))
    used_i: set[int] = set()
    used_j: set[int] = set()
    pairs: list[tuple[int, int]] = []
    for score, i, j in scored:
        if i in used_i or j in used_j or score <= 0 and len(pairs) >= min(len(ours), len(theirs)):
            continue
        if len(pairs) >= min(len(ours), len(theirs)):
            break
        pairs.append((i, j))
        used_i.add(i)
        used_j.add(j)
    return sorted(pairs), [i for i in range(len(ours)) if i not in used_i], [j for j in range(len(theirs)) if j not in used_j]


def _rule_likeness(a: Rule, b: Rule) -> float:
    return 2.0 * (a.peers == b.peers) + 1.0 * (a.ports == b.ports) + 0.5 * len(set(a.peers) & set(b.peers)) + 0.25 * len(set(a.ports) & set(b.ports)) + 0.01


def _peer_likeness(a: Peer, b: Peer) -> float:
    return (1.0 * (a.pod_selector == b.pod_selector) + 1.0 * (a.namespace_selector == b.namespace_selector)
            + 1.0 * (a.ip_block == b.ip_block) + 0.5 * ((a.ip_block is None) == (b.ip_block is None)) + 0.01)
