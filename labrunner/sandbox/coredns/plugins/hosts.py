"""The hosts plugin: ``hosts [FILE [ZONES...]] { IP NAME...; ttl; no_reverse; reload; fallthrough }``.

Names come from the inline entries, then the file (the container's /etc/hosts by default, read
as it is when asked). A name in its zones with no address of any type is SERVFAIL (a hosts file
has no SOA to say NXDOMAIN with) unless ``fallthrough`` covers it; a name with an address of the
other type is NODATA."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from dataclasses import dataclass, field

from labrunner.sandbox.coredns.corefile import CorefileError
from labrunner.sandbox.coredns.dispenser import Controller
from labrunner.sandbox.coredns.messages import NOERROR, SERVFAIL, Query, Record, Reply
from labrunner.sandbox.coredns.names import best_zone, normalize
from labrunner.sandbox.coredns.plugins.base import Context, Next, Plugin, go_duration
from labrunner.sandbox.coredns.plugins.kubernetes import fall_zones, origins


def entries(lines: list[str]) -> list[tuple[str, list[str]]]:
    """(address, names) per hosts line; comments and lines without a valid address left out."""
    found = []
    for line in lines:
        fields = line.split("#", 1)[0].split()
        if len(fields) < 2:
            continue
        try:
            address = str(ipaddress.ip_address(fields[0].split("%", 1)[0]))
        except ValueError:
            continue
        found.append((address, [normalize(name) for name in fields[1:]]))
    return found


@dataclass
class Hosts(Plugin):
    name = "hosts"
    path: str = "/etc/hosts"
    origins: list[str] = field(default_factory=list)
    inline: list[str] = field(default_factory=list)
    fallthrough: tuple[str, ...] = ()
    ttl: int = 3600
    reverse: bool = True

    def _table(self, context: Context) -> list[tuple[str, list[str]]]:
        content = context.files.get(self.path)
        return entries(self.inline) + entries((content or b"").decode(errors="replace").splitlines())

    def serve(self, query: Query, context: Context, following: Next) -> Reply:
        name = normalize(query.name)
        if not best_zone(self.origins, name) and query.type != "PTR":
            return following(query)
        table = self._table(context)
        answer: list[Record] = []
        if query.type == "PTR" and self.reverse:
            labels = name.removesuffix(".in-addr.arpa.").split(".")
            address = ".".join(reversed(labels)) if name.endswith(".in-addr.arpa.") and len(labels) == 4 else ""
            answer = [Record(query.name, "PTR", host, self.ttl) for ip, hosts in table if ip == address for host in hosts]
        elif query.type in ("A", "AAAA"):
            version = 4 if query.type == "A" else 6
            answer = [Record(query.name, query.type, ip, self.ttl) for ip, hosts in table
                      if name in hosts and ipaddress.ip_address(ip).version == version]
        if not answer and not any(name in hosts for _, hosts in table):
            if best_zone(self.fallthrough, name):
                return following(query)
            return Reply(SERVFAIL)
        return Reply(NOERROR, tuple(answer), authoritative=True)


def setup(c: Controller, exists: Callable[[str], bool], log: list[str]) -> Hosts:
    plugin: Hosts | None = None
    while c.next():
        if plugin is not None:
            raise CorefileError("this plugin can only be used once per Server Block")
        plugin = Hosts()
        arguments = c.remaining_args()
        if arguments:
            plugin.path, arguments = arguments[0], arguments[1:]
            if not exists(plugin.path):
                log.append(f"[WARNING] plugin/hosts: File does not exist: {plugin.path}")
        plugin.origins = origins(arguments, c.server_block_keys)
        while c.next_block():
            option = c.val()
            if option == "fallthrough":
                plugin.fallthrough = fall_zones(c.remaining_args())
            elif option == "no_reverse":
                plugin.reverse = False
            elif option == "ttl":
                remaining = c.remaining_args()
                if not remaining:
                    raise c.err("ttl needs a time in second")
                if not remaining[0].lstrip("-").isdigit():
                    raise c.err("ttl needs a number of second")
                if not 0 < int(remaining[0]) <= 65535:
                    raise c.err("ttl provided is invalid")
                plugin.ttl = int(remaining[0])
            elif option == "reload":
                remaining = c.remaining_args()
                if len(remaining) != 1:
                    raise c.err("reload needs a duration (zero seconds to disable)")
                try:
                    go_duration(remaining[0])
                except ValueError:
                    raise c.err(f"invalid duration for reload '{remaining[0]}'") from None
            elif not plugin.fallthrough:
                plugin.inline.append(" ".join([option, *c.remaining_args()]))
            else:
                raise c.err(f"unknown property '{option}'")
    assert plugin is not None
    return plugin
