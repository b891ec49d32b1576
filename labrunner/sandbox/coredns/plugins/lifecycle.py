"""Plugins about the server rather than the answers: health (``/health`` on :8080, its lameduck),
ready (``/ready`` on :8181), prometheus (:9153), reload (its interval and jitter), loop, and the
ones the sandbox accepts without simulating what they change (cache, loadbalance, whoami)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from labrunner.sandbox.coredns.corefile import CorefileError
from labrunner.sandbox.coredns.dispenser import Controller
from labrunner.sandbox.coredns.messages import NOERROR, Query, Reply
from labrunner.sandbox.coredns.plugins.base import Context, Next, Plugin, go_duration

Setup = Callable[[Controller], Plugin]
RELOAD_INTERVAL, RELOAD_JITTER = 30.0, 15.0
MIN_INTERVAL, MIN_JITTER = 2.0, 1.0


def _port(address: str, default: int) -> tuple[str, int]:
    """net.SplitHostPort's host and port of ``address`` ("" is the default address).

    Raises:
        CorefileError: ``address 8080: missing port in address``.
    """
    if not address:
        return "", default
    host, colon, port = address.rpartition(":")
    if not colon:
        raise CorefileError(f"address {address}: missing port in address")
    if not port.isdigit():
        return host, default
    return host, int(port)


@dataclass
class Listener(Plugin):
    """health, ready or prometheus: an HTTP endpoint of the process."""

    name: str = ""
    host: str = ""
    port: int = 0
    lameduck: float = 0.0

    def __post_init__(self) -> None:
        self.in_chain = self.name == "prometheus"  # health and ready only serve HTTP

    def ports(self) -> set[tuple[str, int]]:
        return set() if self.host in ("localhost", "127.0.0.1", "::1") else {("TCP", self.port)}


def listener_setup(name: str, default: str) -> Setup:
    def setup(c: Controller) -> Listener:
        plugin = Listener(name=name)
        plugin.host, plugin.port = _port(default, 0)
        while c.next():
            arguments = c.remaining_args()
            if len(arguments) > 1:
                raise c.arg_err()
            if arguments:
                plugin.host, plugin.port = _port(arguments[0], plugin.port)
            while c.next_block():
                if name != "health" or c.val() != "lameduck":
                    raise c.arg_err()
                values = c.remaining_args()
                if len(values) != 1:
                    raise c.arg_err()
                try:
                    plugin.lameduck = go_duration(values[0])
                except ValueError as error:
                    raise CorefileError(f"unable to parse lameduck duration value: '{values[0]}' : {error}") from None
        return plugin
    return setup


@dataclass
class Reload(Plugin):
    name = "reload"
    in_chain = False
    interval: float = RELOAD_INTERVAL
    jitter: float = RELOAD_JITTER


def reload_setup(c: Controller) -> Reload:
    plugin = Reload()
    while c.next():
        arguments = c.remaining_args()
        if len(arguments) > 2:
            raise c.arg_err()
        try:
            values = [go_duration(argument) for argument in arguments]
        except ValueError as error:
            raise CorefileError(str(error)) from None
        if values:
            plugin.interval = values[0]
        if plugin.interval < MIN_INTERVAL:
            raise CorefileError("interval value must be greater or equal to 2s")
        if len(values) > 1:
            plugin.jitter = values[1]
        if plugin.jitter < MIN_JITTER:
            raise CorefileError("jitter value must be greater or equal to 1s")
        plugin.jitter = min(plugin.jitter, plugin.interval / 2)
    return plugin


def no_arguments(name: str) -> Setup:
    """loop and whoami take nothing."""
    def setup(c: Controller) -> Plugin:
        seen = False
        while c.next():
            if seen and name == "loop":
                raise CorefileError("this plugin can only be used once per Server Block")
            seen = True
            if c.remaining_args():
                raise c.arg_err()
        return Whoami() if name == "whoami" else Named(name)
    return setup


class Named(Plugin):
    """A plugin that changes nothing the sandbox answers: loop (checked at start), cache, loadbalance..."""

    def __init__(self, name: str) -> None:
        self.name = name


class Whoami(Plugin):
    """whoami puts the client's address in the additional section: the answer itself is empty."""

    name = "whoami"

    def serve(self, query: Query, context: Context, following: Next) -> Reply:
        return Reply(NOERROR, authoritative=True)


def cache_setup(c: Controller) -> Plugin:
    while c.next():
        arguments = c.remaining_args()
        if arguments and arguments[0].lstrip("-").isdigit() and int(arguments[0]) <= 0:
            raise c.err(f"cache TTL can not be zero or negative: {int(arguments[0])}")
        while c.next_block():
            if c.val() not in ("success", "denial", "prefetch", "serve_stale", "servfail", "disable", "keepttl"):
                raise c.arg_err()
            c.remaining_args()
    return Named("cache")


def loadbalance_setup(c: Controller) -> Plugin:
    while c.next():
        arguments = c.remaining_args()
        if arguments and arguments[0] not in ("round_robin", "weighted"):
            raise c.err(f"unknown policy: {arguments[0]}")
    return Named("loadbalance")

