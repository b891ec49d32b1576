"""Where the forward plugin sends a query, and what comes back.

- The node's resolver (``/etc/resolv.conf`` of a pod with ``dnsPolicy: Default``, as CoreDNS's
  is; kind's nodes have their network's gateway there) and any public address stand for the
  world outside: names under a public suffix get the sandbox's stand-in address (see
  :func:`labrunner.sandbox.network.external_address`), any other name NXDOMAIN.
- An address in the cluster goes through the data plane from the CoreDNS pod (a Service to one
  of its ready pods, policies decided): a pod running a DNS server the sandbox simulates
  (CoreDNS) answers with its own configuration; anything else fails as Go's resolver says it
  (``read udp ...: i/o timeout``, ``...: read: connection refused``).
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from labrunner.sandbox.coredns.messages import NOERROR, NXDOMAIN, Query, Record, Reply
from labrunner.sandbox.coredns.plugins.base import Context

NODE_RESOLVER = "10.89.0.1"
NODE_RESOLV_CONF = f"nameserver {NODE_RESOLVER}\n"
"""A kind node's /etc/resolv.conf: its network's gateway (the sandbox's nodes are 10.89.0.x)."""
MAX_DEPTH = 8
"""Forwarded this many times within the cluster, a query is going round in circles: it never comes back."""
READ_TIMEOUT = 2.0
"""How long forward waits for one upstream's answer (its read timeout)."""


@dataclass(frozen=True)
class Failure:
    error: str
    timed_out: bool


def ask(context: Context, address: str, port: int, query: Query) -> Reply | Failure:
    """``query`` sent from the CoreDNS pod of ``context`` to ``address:port`` over UDP."""
    source = f"{context.ip}:{random.randint(32768, 60999)}"
    timeout = Failure(f"read udp {source}->{address}:{port}: i/o timeout", True)
    network = context.network
    if query.depth >= MAX_DEPTH:
        return timeout
    if address == NODE_RESOLVER:
        from labrunner.sandbox.dataplane import Attempt, decide

        verdict = decide(network.filters, Attempt(dict(context.pod), None, "UDP", port, address), network.objects)
        return outside(query) if verdict.allowed and port == 53 else timeout
    connection = network.connect(dict(context.pod), address, "UDP", port)
    if connection.outcome == "refused":
        return Failure(f"read udp {source}->{address}:{port}: read: connection refused", False)
    if connection.outcome != "connected":
        return timeout
    if connection.outside:
        return outside(query) if port == 53 else timeout
    if connection.pod is None:
        return timeout
    forwarded = Query(query.name, query.type, context.ip, depth=query.depth + 1)
    reply = context.ask_server(connection.pod, forwarded)
    return timeout if reply is None else reply


def outside(query: Query) -> Reply:
    """A recursive resolver beyond the cluster, as the sandbox stands it in."""
    from labrunner.sandbox.network import PUBLIC_SUFFIXES, external_address

    name = query.name.rstrip(".")
    labels = name.split(".")
    public = len(labels) >= 2 and labels[-1].lower() in PUBLIC_SUFFIXES
    if not public:
        return Reply(NXDOMAIN, recursion_available=True)
    if query.type == "A":
        return Reply(NOERROR, (Record(query.name, "A", external_address(name), 300),), recursion_available=True)
    return Reply(NOERROR, recursion_available=True)
