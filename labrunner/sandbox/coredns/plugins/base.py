"""What every simulated plugin is: a handler in the server block's chain, given the query, what
the server knows (:class:`Context`) and the rest of the chain."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from labrunner.sandbox.coredns.messages import SERVFAIL, Query, Reply

Next = Callable[[Query], Reply]


@dataclass
class Context:
    """The CoreDNS process answering: its pod, its files, the cluster it asks, where it logs."""

    network: Any
    """The sandbox's data plane (:class:`labrunner.sandbox.network.Network`)."""
    pod: Mapping[str, Any]
    files: Mapping[str, bytes]
    log: Callable[[list[str]], None]
    ask_server: Callable[[Mapping[str, Any], Query], Reply | None] = field(default=lambda pod, query: None)
    """Another DNS server of the cluster answering a forwarded query (None: that pod runs none)."""
    upstream: Callable[[Query], Reply] = field(default=lambda query: Reply(SERVFAIL))
    """This server answering a name from the top of its chain (the kubernetes plugin's CNAME targets)."""

    @property
    def ip(self) -> str:
        return str((self.pod.get("status") or {}).get("podIP", ""))


class Plugin:
    """A plugin that lets every query through; the simulated ones override :meth:`serve`."""

    name = ""
    in_chain = True
    """Whether it handles queries (health, ready and reload only run beside the server)."""

    def serve(self, query: Query, context: Context, following: Next) -> Reply:
        return following(query)

    def ports(self) -> set[tuple[str, int]]:
        """What it listens on beside the DNS servers (health's 8080, ready's 8181)."""
        return set()


def end_of_chain(name: str) -> Next:
    """plugin.NextOrFailure past the last plugin: SERVFAIL, ``plugin/NAME: no next plugin found``."""
    return lambda query: Reply(SERVFAIL, error=f"plugin/{name}: no next plugin found")


def go_duration(text: str) -> float:
    """time.ParseDuration's seconds (``5s``, ``1m30s``, ``250ms``).

    Raises:
        ValueError: Go's text, ``time: invalid duration "x"``.
    """
    import re

    units = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
    body = text[1:] if text[:1] in "+-" else text
    if body == "0":
        return 0.0
    parts = re.findall(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)", body)
    if not parts or "".join(number + unit for number, unit in parts) != body:
        if parts == [] and re.fullmatch(r"\d+(?:\.\d*)?", body):
            raise ValueError(f'time: missing unit in duration "{text}"')
        raise ValueError(f'time: invalid duration "{text}"')
    seconds = sum(float(number) * units[unit] for number, unit in parts)
    return -seconds if text.startswith("-") else seconds
