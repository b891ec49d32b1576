"""The diff as it was first written: one Matrix per side over the whole universe, every pod
group compared with every other. Kept as the oracle the fast diff (which computes over classes of
groups no policy tells apart) must agree with, difference for difference, in the same order."""

from __future__ import annotations

from collections.abc import Sequence

from labrunner.topics.networkpolicy.diff import (
    Difference,
    PolicyDiff,
    _describe,
    _pair,
    build_universe,
    universe_externals,
    universe_ports,
)
from labrunner.topics.networkpolicy.evaluate import endpoint_name
from labrunner.topics.networkpolicy.matrix import Matrix, _bits
from labrunner.topics.networkpolicy.model import Cluster, Policy


def slow_diff(cluster: Cluster, mine: Sequence[Policy], reference: Sequence[Policy]) -> PolicyDiff:
    universe, synthetic = build_universe(cluster, [*mine, *reference])
    ports = universe_ports(universe, [*mine, *reference])
    externals = universe_externals([*mine, *reference])
    grouping = (*mine, *reference)
    ours = Matrix(universe.with_policies(tuple(mine)), ports, externals, grouping_policies=grouping)
    theirs = Matrix(universe.with_policies(tuple(reference)), ports, externals, grouping_policies=grouping)
    differences = []
    for port in ports:
        for d, (our_column, their_column) in enumerate(zip(ours.allowed_bits[port], theirs.allowed_bits[port])):
            changed = our_column ^ their_column
            destination_group = ours.groups[d]
            for s in _bits(changed):
                source_group = ours.groups[s]
                if not source_group.is_pod and not destination_group.is_pod:
                    continue
                if s == d and source_group.weight == 1:
                    continue
                source, destination = _pair(source_group, destination_group)
                differences.append(Difference(
                    source=source, destination=destination, port=port,
                    mine=bool(our_column >> s & 1), reference=bool(their_column >> s & 1),
                    source_text=_describe(source, source_group, synthetic, universe),
                    destination_text=_describe(destination, destination_group, synthetic, universe),
                    synthetic=endpoint_name(source) in synthetic or endpoint_name(destination) in synthetic,
                ))
    return PolicyDiff(differences=tuple(differences), universe_pods=len(universe.pods), universe_ports=len(ports), ports=tuple(ports))
