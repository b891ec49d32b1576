"""One query answered by a loaded configuration, as dnsserver.Server.ServeDNS does: the most
specific zone among the server blocks listening on the port takes it (none: REFUSED), and its
plugins run in the plugins' order, each handing on to the next; past the last one the query
fails (SERVFAIL, ``plugin/NAME: no next plugin found``)."""

from __future__ import annotations

from dataclasses import replace

from labrunner.sandbox.coredns.messages import REFUSED, Query, Reply
from labrunner.sandbox.coredns.names import is_subdomain
from labrunner.sandbox.coredns.plugins.base import Context, Next, Plugin, end_of_chain
from labrunner.sandbox.coredns.setup import Config, ZoneConfig

MAX_CHASE = 8
"""CNAME targets followed through the server itself before giving up."""


def zone_for(config: Config, name: str, port: int) -> ZoneConfig | None:
    candidates = [zone for zone in config.zones if zone.port == port and zone.transport == "dns" and is_subdomain(zone.zone, name)]
    return max(candidates, key=lambda zone: len(zone.zone), default=None)


def answer(config: Config, query: Query, context: Context, port: int = 53) -> Reply:
    zone = zone_for(config, query.name, port)
    if zone is None or not zone.chain:
        return Reply(REFUSED)
    chased = {"count": 0}

    def upstream(renamed: Query) -> Reply:
        chased["count"] += 1
        if chased["count"] > MAX_CHASE:
            return Reply(REFUSED)
        return answer(config, replace(renamed, id=query.id), context, port)

    context.upstream = upstream
    return _run(zone.chain, 0, query, context)


def _run(chain: list[Plugin], index: int, query: Query, context: Context) -> Reply:
    if index == len(chain):
        return end_of_chain(chain[-1].name)(query)
    following: Next = lambda next_query: _run(chain, index + 1, next_query, context)
    return chain[index].serve(query, context, following)
