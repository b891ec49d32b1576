"""Loading a Corefile as CoreDNS 1.11.3 starts (or reloads) with it: caddy parses it with the
known directives, the DNS server type checks the server block keys, each directive's setup runs
for every block that has it (directive by directive in the plugins' order, so the first error
reported is the first in that order), then the zones are checked for overlap.

Every refusal is the text CoreDNS prints (:class:`StartError`): caddy's parse errors, the
plugins' own (``plugin/forward: not an IP address or file: "x"``), the server's (``cannot serve
dns://.:53 - it is already defined``)."""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from labrunner.sandbox.coredns.corefile import CorefileError, ServerBlock, Sources, config_digest, parse
from labrunner.sandbox.coredns.directives import DIRECTIVES, SIMULATED
from labrunner.sandbox.coredns.dispenser import Controller
from labrunner.sandbox.coredns.names import DEFAULT_PORTS, normalize, split_host_port, transport
from labrunner.sandbox.coredns.plugins import forward, hosts, kubernetes, lifecycle, logging, rewrite, template
from labrunner.sandbox.coredns.plugins.base import Plugin
from labrunner.sandbox.coredns.plugins.lifecycle import Listener, Named, Reload


class StartError(Exception):
    """What CoreDNS prints before it exits 1 (or logs when a reload fails)."""


@dataclass
class ZoneConfig:
    zone: str
    port: int
    transport: str
    block: int
    chain: list[Plugin]


@dataclass
class Config:
    path: str
    zones: list[ZoneConfig]
    plugins: list[list[Plugin]]
    """Each server block's plugins, in the plugins' order."""
    digest: str
    warnings: list[str] = field(default_factory=list)
    """What setting up logged (a hosts file missing, a plugin the sandbox does not simulate)."""

    def every(self, name: str) -> list[Plugin]:
        return [plugin for block in self.plugins for plugin in block if plugin.name == name]

    @property
    def reload(self) -> Reload | None:
        """The reload settings; one process has one reloader, the last block's setup winning."""
        found = self.every("reload")
        return found[-1] if found and isinstance(found[-1], Reload) else None

    @property
    def lameduck(self) -> list[float]:
        return [plugin.lameduck for plugin in self.every("health") if isinstance(plugin, Listener) and plugin.lameduck > 0]

    def ports(self) -> set[tuple[str, int]]:
        """Where the process listens: its DNS servers over UDP and TCP, and its HTTP endpoints."""
        found = {(protocol, zone.port) for zone in self.zones if zone.transport == "dns" for protocol in ("UDP", "TCP")}
        found |= {(protocol, zone.port) for zone in self.zones if zone.transport != "dns" for protocol in ("TCP",)}
        for block in self.plugins:
            for plugin in block:
                found |= plugin.ports()
        return found

    def servers(self) -> dict[tuple[str, int], list[str]]:
        """The zones each listener serves, as the start-up lines list them."""
        grouped: dict[tuple[str, int], list[str]] = {}
        for zone in self.zones:
            grouped.setdefault((zone.transport, zone.port), []).append(zone.zone)
        return grouped


@dataclass(frozen=True)
class Files:
    """What setting up may read in the container: its files, and /etc/resolv.conf as the pod's dnsPolicy makes it."""

    read: Callable[[str], str | None]
    names: Callable[[], list[str]]
    environment: Mapping[str, str] = field(default_factory=dict)


def digest_of(text: str, path: str, files: Files) -> str:
    """The reload plugin's SHA-512 of ``text`` (any directive accepted, as its parse does).

    Raises:
        CorefileError: caddy's parse error.
    """
    return config_digest(parse(text, path, None, environment=files.environment, sources=_sources(files)))


def _sources(files: Files) -> Sources:
    return Sources(lambda name: (lambda text: None if text is None else text.encode())(files.read(name)), files.names)


def load(text: str, path: str, files: Files, default_port: int = 53) -> Config:
    """The configuration CoreDNS would run with ``text``.

    Raises:
        StartError: CoreDNS's words for what it refuses.
    """
    warnings: list[str] = []
    try:
        blocks = parse(text, path, DIRECTIVES, environment=files.environment, sources=_sources(files), warnings=warnings)
    except CorefileError as error:
        raise StartError(str(error)) from None
    digest = config_digest(blocks)
    blocks = copy.deepcopy(blocks)
    addresses = _inspect(blocks, default_port)
    plugins: list[list[Plugin]] = [[] for _ in blocks]
    for directive in DIRECTIVES:
        for index, block in enumerate(blocks):
            tokens = block.tokens.get(directive)
            if tokens is None:
                continue
            controller = Controller(path, tokens, block.keys)
            try:
                plugins[index].append(_setup(directive, controller, files, warnings))
            except CorefileError as error:
                raise StartError(f"plugin/{directive}: {error}") from None
            if directive not in SIMULATED:
                warnings.append(f"[WARNING] plugin/{directive}: the labrunner sandbox does not simulate this plugin: "
                                "queries pass it to the next plugin")
    zones: list[ZoneConfig] = []
    seen: set[tuple[str, str, int]] = set()
    for index, block_addresses in enumerate(addresses):
        chain = [plugin for plugin in plugins[index] if plugin.in_chain]
        for scheme, zone, port in block_addresses:
            if (scheme, zone, port) in seen:
                raise StartError(f"cannot serve {scheme}://{zone}:{port} - it is already defined")
            seen.add((scheme, zone, port))
            zones.append(ZoneConfig(zone, port, scheme, index, chain))
    return Config(path, zones, plugins, digest, warnings)


def _inspect(blocks: list[ServerBlock], default_port: int) -> list[list[tuple[str, str, int]]]:
    """InspectServerBlocks: each key's transport, zone (a CIDR expanded to its reverse zones) and
    port; the keys rewritten as the server normalises them (``dns://.:53``)."""
    found = []
    for block in blocks:
        addresses = []
        for key in block.keys:
            scheme, rest = transport(key)
            try:
                hosts_, port = split_host_port(rest)
                for host in hosts_:
                    split_host_port(normalize(host))
            except ValueError as error:
                raise StartError(str(error)) from None
            number = int(port) if port else (default_port if scheme == "dns" else int(DEFAULT_PORTS[scheme]))
            addresses += [(scheme, normalize(host), number) for host in hosts_]
        block.keys = [f"{scheme}://{zone}:{port}" for scheme, zone, port in addresses]
        found.append(addresses)
    return found


def _setup(directive: str, c: Controller, files: Files, warnings: list[str]) -> Plugin:
    if directive == "kubernetes":
        return kubernetes.setup(c, warnings)
    if directive == "forward":
        return forward.setup(c, files.read)
    if directive == "rewrite":
        plugin = rewrite.setup(c)
        for rule in plugin.rules:
            if isinstance(rule, rewrite.PassRule):
                warnings.append(f"[WARNING] plugin/rewrite: the labrunner sandbox does not rewrite the {rule.field} field: "
                                "such rules let queries pass unchanged")
        return plugin
    if directive == "hosts":
        return hosts.setup(c, lambda path: files.read(path) is not None, warnings)
    if directive == "template":
        return template.setup(c, warnings)
    if directive == "log":
        return logging.log_setup(c)
    if directive == "errors":
        return logging.errors_setup(c)
    if directive in LISTENERS:
        return lifecycle.listener_setup(directive, LISTENERS[directive])(c)
    if directive == "reload":
        return lifecycle.reload_setup(c)
    if directive in ("loop", "whoami"):
        return lifecycle.no_arguments(directive)(c)
    if directive == "cache":
        return lifecycle.cache_setup(c)
    if directive == "loadbalance":
        return lifecycle.loadbalance_setup(c)
    return Named(directive)


LISTENERS = {"health": ":8080", "ready": ":8181", "prometheus": "localhost:9153"}
