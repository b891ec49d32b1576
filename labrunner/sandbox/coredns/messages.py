"""A DNS question and its answer as the simulated CoreDNS passes them from plugin to plugin, and
their sizes on the wire (what the log plugin prints)."""

from __future__ import annotations

import random
from dataclasses import dataclass, field, replace

NOERROR, NXDOMAIN, SERVFAIL, REFUSED = "NOERROR", "NXDOMAIN", "SERVFAIL", "REFUSED"
RCODE_NUMBERS = {NOERROR: 0, "FORMERR": 1, SERVFAIL: 2, NXDOMAIN: 3, "NOTIMP": 4, REFUSED: 5}


@dataclass(frozen=True)
class Record:
    name: str
    type: str
    """A, AAAA, CNAME or PTR."""
    value: str
    ttl: int


@dataclass
class Query:
    name: str
    """The name asked, fully qualified; a rewrite changes it on its way down the chain."""
    type: str
    client: str
    """The client's address (a pod's IP, or another CoreDNS forwarding)."""
    client_port: int = field(default_factory=lambda: random.randint(32768, 60999))
    id: int = field(default_factory=lambda: random.randint(0, 65535))
    depth: int = 0
    """How many DNS servers of the cluster forwarded it here (a guard against loops)."""

    def renamed(self, name: str) -> Query:
        return replace(self, name=name)


@dataclass(frozen=True)
class Reply:
    rcode: str
    answer: tuple[Record, ...] = ()
    authoritative: bool = False
    recursion_available: bool = False
    error: str = ""
    """The error the plugin returned with its code; the errors plugin logs it."""
    delay: float = 0.0
    """Seconds (of simulated time) the answer took: an upstream that never answers."""
    soa: str = ""
    """The zone whose SOA the authority section carries (a negative answer of an authoritative plugin)."""

    @property
    def found(self) -> bool:
        return self.rcode == NOERROR and any(record.type in ("A", "AAAA", "PTR") for record in self.answer)


def wire_length(name: str) -> int:
    """A name's length on the wire, uncompressed."""
    labels = [label for label in name.rstrip(".").split(".") if label]
    return sum(len(label) + 1 for label in labels) + 1


def request_size(query: Query) -> int:
    """A question without EDNS (busybox's and musl's resolvers send none): header, name, type, class."""
    return 12 + wire_length(query.name) + 4


def reply_size(query: Query, reply: Reply) -> int:
    """The reply's size, names compressed against the question as miekg/dns compresses them."""
    size = request_size(query)
    for record in reply.answer:
        owner = 2 if record.name.lower() == query.name.lower() else wire_length(record.name)
        data = {"A": 4, "AAAA": 16}.get(record.type, wire_length(record.value))
        size += owner + 10 + data
    if reply.soa:
        size += 2 + 10 + (1 + 2 + 1 + 3 + 2) + (1 + 10 + 2) + 20  # ns.dns.<zone> and hostmaster.<zone>, compressed
    return size


def flags(reply: Reply) -> str:
    """The log plugin's ``{>rflags}``."""
    return ",".join(["qr"] + (["aa"] if reply.authoritative else []) + ["rd"] + (["ra"] if reply.recursion_available else []))
