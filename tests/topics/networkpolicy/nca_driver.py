"""Run IBM's network-config-analyzer (NCA) on cases and print its verdicts as JSON.

Runs under NCA's own interpreter (``.venv-nca``, made by ``scripts/test``): NCA
pins PyYAML 6.0.2 while kubernetes 37 needs 6.0.3, so the two cannot share a
venv. Usage: ``python nca_driver.py CASE_DIR...``; each CASE_DIR holds ns.yaml,
pods.yaml and policies.yaml. Prints ``{CASE_DIR: {"SRC DST": {"TCP": [[lo, hi],
...], ...}}}`` for every pod pair with any allowed connection (NCA's pod names
are ``namespace/name``). ``python nca_driver.py --count TCP/80,UDP/53 CASE_DIR...``
prints only the number of allowed (source, destination, port) triples between
distinct pods, for the benchmark.
"""

from __future__ import annotations

import contextlib
import json
import sys
from collections import defaultdict

from nca.CoreDS.CanonicalIntervalSet import CanonicalIntervalSet
from nca.CoreDS.Peer import BasePeerSet, Pod
from nca.CoreDS.ProtocolNameResolver import ProtocolNameResolver
from nca.NetworkConfig.ResourcesHandler import ResourcesHandler
from nca.Resources.PolicyResources.NetworkPolicy import PolicyConnectionsFilter
from nca.Utils.NcaLogger import NcaLogger

PROTOCOLS = ("TCP", "UDP", "SCTP")


def verdicts(case: str) -> dict[str, dict[str, list[list[int]]]]:
    BasePeerSet.reset()  # NCA keeps peers in a process-wide singleton
    NcaLogger().mute()
    config = ResourcesHandler().get_network_config(
        np_list=[f"{case}/policies.yaml"], ns_list=[f"{case}/ns.yaml"], pod_list=[f"{case}/pods.yaml"], resource_list=None
    )
    NcaLogger().unmute()
    connections = config.allowed_connections(res_conns_filter=PolicyConnectionsFilter.only_all_allowed_connections())
    properties = config.filter_conns_by_peer_types(connections.all_allowed_conns)
    result: dict[tuple[str, str], dict[str, CanonicalIntervalSet]] = defaultdict(lambda: defaultdict(CanonicalIntervalSet))
    for cube in properties:
        view = properties.get_connectivity_cube(cube)
        sources = [peer for peer in view["src_peers"] if isinstance(peer, Pod)]
        destinations = [peer for peer in view["dst_peers"] if isinstance(peer, Pod)]
        protocols = view.get_dim_directly("protocols")
        ports = view.get_dim_directly("dst_ports")
        for protocol in PROTOCOLS:
            if ProtocolNameResolver.get_protocol_number(protocol) not in protocols:
                continue
            for source in sources:
                for destination in destinations:
                    entry = result[(source.full_name(), destination.full_name())]
                    entry[protocol] = entry[protocol] | ports
    return {
        f"{source} {destination}": {
            protocol: [[int(lo), int(hi)] for lo, hi in _ranges(ports)] for protocol, ports in entry.items()
        }
        for (source, destination), entry in result.items()
    }


def _ranges(ports: CanonicalIntervalSet) -> list[tuple[int, int]]:
    found = []
    for item in ports.get_interval_set_list_numbers_and_ranges():
        if isinstance(item, str) and "-" in item:
            lo, hi = item.split("-")
            found.append((int(lo), int(hi)))
        else:
            found.append((int(item), int(item)))
    return found


def count_allowed(case: str, ports: list[tuple[str, int]]) -> int:
    """Allowed (source, destination, port) triples over distinct pods, for the benchmark."""
    total = 0
    for pair, entry in verdicts(case).items():
        source, destination = pair.split(" ")
        if source == destination:
            continue
        total += sum(1 for protocol, port in ports if any(lo <= port <= hi for lo, hi in entry.get(protocol, [])))
    return total


if __name__ == "__main__":
    with contextlib.redirect_stdout(sys.stderr):  # NCA prints progress lines of its own
        if sys.argv[1] == "--count":
            wanted = [(text.split("/")[0], int(text.split("/")[1])) for text in sys.argv[2].split(",")]
            results: object = {case: count_allowed(case, wanted) for case in sys.argv[3:]}
        else:
            results = {case: verdicts(case) for case in sys.argv[1:]}
    json.dump(results, sys.stdout)
