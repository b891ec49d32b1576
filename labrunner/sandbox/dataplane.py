"""The data plane's hooks: what, besides addresses and listening ports, decides
whether a connection gets through.

The sandbox routes a connection (a Service IP to a ready endpoint, a name through
CoreDNS) and knows whether anything listens; whether a connection is *allowed*
is for the hooks to say, each active or not on this cluster right now (a
NetworkPolicy means nothing until a CNI enforces it). A hook is given the
connection and a read-only view of the cluster's objects, and answers a
:class:`Verdict` with the reason a drop is explained by. The first active hook
that denies decides; with none, everything connects.

This module imports no HTTP server and no topic at module level, so a topic can
implement :class:`ConnectionFilter` without depending on the rest of the sandbox.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol


@dataclass(frozen=True)
class Attempt:
    """One connection a simulated program opens."""

    source: Mapping[str, Any]
    """The pod that opens it."""
    destination: Mapping[str, Any] | None
    """The pod it reaches (after a Service's IP was resolved to one of its endpoints); None for an
    address outside the cluster (``address``)."""
    protocol: str
    """TCP, UDP or SCTP; ICMP for ping, which only rules without ports admit."""
    port: int
    """The destination's port (the target port behind a Service); 0 for ICMP."""
    address: str = ""
    """The destination's address (set for one outside the cluster)."""


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    reason: str = ""
    """Why it was dropped, in words a learner can act on."""


ALLOWED = Verdict(True)


class ClusterObjects(Protocol):
    """The cluster's objects as a hook may read them (plain API JSON, never written)."""

    def list(self, group: str, plural: str, namespace: str | None = None) -> list[dict[str, Any]]: ...

    def get(self, group: str, plural: str, namespace: str, name: str) -> dict[str, Any] | None: ...


class ConnectionFilter(Protocol):
    def active(self, objects: ClusterObjects) -> bool:
        """Whether this hook has a say on this cluster now (its enforcer installed and ready)."""
        ...

    def decide(self, attempt: Attempt, objects: ClusterObjects) -> Verdict: ...


def connection_filters() -> tuple[ConnectionFilter, ...]:
    """The hooks the topics provide (each topic's ``dataplane``, a ``module:name``)."""
    from labrunner.registry import registry, resolve

    return tuple(resolve(path) for path in registry().dataplanes)


def decide(filters: Iterable[ConnectionFilter], attempt: Attempt, objects: ClusterObjects) -> Verdict:
    for hook in filters:
        if hook.active(objects):
            verdict = hook.decide(attempt, objects)
            if not verdict.allowed:
                return verdict
    return ALLOWED
