"""The forward plugin: ``forward FROM TO... { except ...; policy ...; ... }``. TO is an address
(port 53 unless given) or a resolv.conf-style file in the container (``/etc/resolv.conf``).

A query under FROM (and not under an ``except`` name) goes to the upstreams in the policy's
order; the first answer is the answer. When none answers, forward keeps trying until its 5 s
deadline (each silent upstream costing its 2 s read timeout) and returns SERVFAIL with the last
upstream's error, which the errors plugin logs."""

from __future__ import annotations

import ipaddress
import random
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from labrunner.sandbox.coredns.corefile import CorefileError
from labrunner.sandbox.coredns.dispenser import Controller
from labrunner.sandbox.coredns.messages import SERVFAIL, Query, Reply
from labrunner.sandbox.coredns.names import is_subdomain, normalize, split_host_port, transport
from labrunner.sandbox.coredns.plugins.base import Context, Next, Plugin, go_duration
from labrunner.sandbox.coredns.upstreams import READ_TIMEOUT, Failure, ask

DEADLINE = 5.0
FLAGS = frozenset({"force_tcp", "prefer_udp", "failfast_all_unhealthy_upstreams"})
VALUED = frozenset({"expire", "health_check", "tls", "tls_servername", "max_concurrent", "next", "max_idle_conns", "max_age"})


@dataclass
class Forward(Plugin):
    name = "forward"
    origin: str = "."
    upstreams: list[tuple[str, int]] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)
    policy: str = "random"

    def serve(self, query: Query, context: Context, following: Next) -> Reply:
        name = normalize(query.name)
        if not is_subdomain(self.origin, name) or (name != self.origin and any(is_subdomain(x, name) for x in self.ignored)):
            return following(query)
        order = list(self.upstreams)
        if self.policy == "random":
            random.shuffle(order)
        spent, last = 0.0, Failure("no healthy proxies", False)
        for address, port in order:
            result = ask(context, address, port, query)
            if isinstance(result, Reply):
                return replace(result, delay=result.delay + spent)
            last = result
            spent += READ_TIMEOUT if result.timed_out else 0.0
        delay = max(DEADLINE, spent) + (1.0 if last.timed_out else 0.0)
        return Reply(SERVFAIL, error=last.error, delay=delay)


def host_port_or_file(targets: list[str], read: Callable[[str], str | None]) -> list[tuple[str, int]]:
    """parse.HostPortOrFile: each target an address, ``address:port`` or a resolv.conf file.

    Raises:
        CorefileError: ``not an IP address or file: "x"``.
    """
    found: list[tuple[str, int]] = []
    for target in targets:
        scheme, host = transport(target)
        port = {"dns": 53, "tls": 853, "grpc": 443, "https": 443}[scheme]
        address = host
        if host.count(":") == 1:
            address, _, given = host.partition(":")
            if not given.isdigit():
                address = host
            else:
                port = int(given)
        try:
            ipaddress.ip_address(address)
        except ValueError:
            content = read(host)
            if content is None:
                raise CorefileError(f'not an IP address or file: "{host}"') from None
            found += [(line.split()[1], 53) for line in content.splitlines() if line.split()[:1] == ["nameserver"] and len(line.split()) > 1]
            continue
        found.append((address, port))
    return found


def setup(c: Controller, read: Callable[[str], str | None]) -> Forward:
    plugin: Forward | None = None
    while c.next():
        if plugin is not None:
            raise CorefileError("this plugin can only be used once per Server Block")
        origin = c.args(1)
        if origin is None:
            raise c.arg_err()
        try:
            zones, _ = split_host_port(transport(origin[0])[1])
        except ValueError as error:
            raise CorefileError(str(error)) from None
        targets = c.remaining_args()
        if not targets:
            raise c.arg_err()
        plugin = Forward(origin=normalize(zones[0]), upstreams=host_port_or_file(targets, read))
        while c.next_block():
            option = c.val()
            if option == "except":
                names = c.remaining_args()
                if not names:
                    raise c.arg_err()
                plugin.ignored += [normalize(name) for name in names]
            elif option == "policy":
                arguments = c.remaining_args()
                if len(arguments) != 1:
                    raise c.arg_err()
                if arguments[0] not in ("random", "round_robin", "sequential"):
                    raise c.err(f"unknown policy '{arguments[0]}'")
                plugin.policy = arguments[0]
            elif option == "max_fails":
                arguments = c.remaining_args()
                if len(arguments) != 1:
                    raise c.arg_err()
                if not arguments[0].lstrip("-").isdigit():
                    raise CorefileError(f'strconv.Atoi: parsing "{arguments[0]}": invalid syntax')
            elif option == "expire":
                arguments = c.remaining_args()
                if len(arguments) != 1:
                    raise c.arg_err()
                try:
                    go_duration(arguments[0])
                except ValueError as error:
                    raise CorefileError(str(error)) from None
            elif option in FLAGS:
                if c.remaining_args():
                    raise c.arg_err()
            elif option in VALUED:
                c.remaining_args()
            else:
                raise c.err(f"unknown property '{option}'")
    assert plugin is not None
    return plugin
