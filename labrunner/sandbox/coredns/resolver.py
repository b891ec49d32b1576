"""A pod's resolver asking the cluster DNS, as musl's and busybox's do: one server (the kube-dns
Service, which kube-proxy sends to one ready CoreDNS pod), the search list of the pod's
resolv.conf with ndots:5, an A and an AAAA question for each name tried, the first name with an
address winning. Egress policies decide whether the question reaches the server at all."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Any

from labrunner.sandbox.coredns.instances import ask
from labrunner.sandbox.coredns.messages import NXDOMAIN, Query, Record, Reply
from labrunner.sandbox.coredns.names import reverse_name

CLUSTER_DNS = "10.96.0.10"


@dataclass
class Lookup:
    reachable: bool
    """A server answered (False: the question was dropped, or no CoreDNS was ready behind kube-dns)."""
    name: str = ""
    """The name asked that gave the answer (or the name given, when none did)."""
    reply: Reply = field(default_factory=lambda: Reply(NXDOMAIN))
    delay: float = 0.0
    """Seconds of simulated time the answers took (a forward that never heard back)."""

    @property
    def addresses(self) -> list[str]:
        return [record.value for record in self.reply.answer if record.type == "A"]

    @property
    def records(self) -> tuple[Record, ...]:
        return self.reply.answer


def lookup(network: Any, client: dict[str, Any], name: str) -> Lookup:
    """``name`` looked up from the pod ``client`` (an address gets a reverse lookup)."""
    connection = network.connect(client, CLUSTER_DNS, "UDP", 53)
    if connection.outcome != "connected" or connection.pod is None:
        return Lookup(False, name)
    server, source = connection.pod, str((client.get("status") or {}).get("podIP", ""))
    try:
        ipaddress.IPv4Address(name)
    except ValueError:
        pass
    else:
        reply = ask(server, Query(reverse_name(name), "PTR", source), network)
        return Lookup(reply is not None, reverse_name(name).rstrip("."), reply or Reply(NXDOMAIN), reply.delay if reply else 0.0)
    delay, failure = 0.0, Reply(NXDOMAIN)
    for candidate in network.candidates(name, client["metadata"]["namespace"]):
        address = ask(server, Query(candidate + ".", "A", source), network)
        other = ask(server, Query(candidate + ".", "AAAA", source), network)
        if address is None or other is None:
            return Lookup(False, name)
        delay += max(address.delay, other.delay)  # both questions are asked at once
        if address.found:
            return Lookup(True, candidate, address, delay)
        if address.rcode != NXDOMAIN:
            failure = address
    return Lookup(True, name, failure, delay)
