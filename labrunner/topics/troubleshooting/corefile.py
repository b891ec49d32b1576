"""``corefile-serves``: CoreDNS's Corefile (in its ConfigMap) answers what a cluster needs. It is
read with the sandbox's copy of caddy's parser (CoreDNS's own errors, on any cluster), then each
name is followed to the server block CoreDNS would give it (the most specific zone on port 53):
the cluster domain must reach the kubernetes plugin, every other name a ``forward .``, and each
zone of ``forward_zones`` a forward to its servers (a stub domain)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from pydantic import Field

from labrunner.lab.check_args import CheckArgs
from labrunner.lab.fields import DnsName, KubeName, NonEmptyStr
from labrunner.registry.types import CheckContext, CheckKind, Outcome
from labrunner.topics.troubleshooting.common import find


class CorefileServes(CheckArgs):
    """The Corefile in the ConfigMap ``configmap`` of ``namespace`` (kubeadm's coredns in
    kube-system by default) parses, gives the cluster ``domain`` to the kubernetes plugin, sends
    other names upstream (``upstream``) and each zone of ``forward_zones`` to its servers."""

    kind: Literal["corefile-serves"]
    namespace: KubeName = "kube-system"
    configmap: KubeName = "coredns"
    domain: DnsName = "cluster.local"
    upstream: bool = True
    """Names outside the cluster go to a ``forward .`` of the block serving the root zone."""
    forward_zones: dict[DnsName, list[NonEmptyStr]] = Field(default_factory=dict)
    """Stub domains: each zone's names are forwarded to these servers (``10.10.0.53``)."""


@dataclass(frozen=True)
class Block:
    zones: tuple[str, ...]
    """Fully qualified, on port 53."""
    keys: str
    directives: Mapping[str, Sequence[tuple[int, tuple[str, ...]]]]
    """Each directive's occurrences: (line, the arguments on its line)."""

    def said(self) -> str:
        return f"the server block {self.keys}"


def _fqdn(name: str) -> str:
    name = name.lower()
    return name if name.endswith(".") else name + "."


def _within(zone: str, name: str) -> bool:
    zone, name = _fqdn(zone), _fqdn(name)
    return zone == "." or name == zone or name.endswith("." + zone)


def _blocks(text: str, path: str) -> list[Block]:
    """The server blocks, each with its zones on port 53 and its directives' arguments.

    Raises:
        CorefileError: caddy's words for a Corefile it refuses.
    """
    from labrunner.sandbox.coredns.corefile import CorefileError, parse
    from labrunner.sandbox.coredns.directives import DIRECTIVES
    from labrunner.sandbox.coredns.names import split_host_port, transport

    found = []
    for block in parse(text, path, DIRECTIVES):
        zones = []
        for key in block.keys:
            scheme, rest = transport(key)
            try:
                hosts, port = split_host_port(rest)
            except ValueError as error:
                raise CorefileError(str(error)) from None
            if scheme == "dns" and (port or "53") == "53":
                zones += [_fqdn(host) for host in hosts]
        directives: dict[str, list[tuple[int, tuple[str, ...]]]] = {}
        for name, tokens in block.tokens.items():
            occurrences: list[tuple[int, tuple[str, ...]]] = []
            for index, token in enumerate(tokens):
                starts = index == 0 or tokens[index - 1].line != token.line or tokens[index - 1].text in ("{", "}")
                if token.text == name and starts:
                    arguments = tuple(t.text for t in tokens[index + 1:] if t.line == token.line and t.text not in ("{", "}"))
                    occurrences.append((token.line, arguments))
            directives[name] = occurrences
        found.append(Block(tuple(zones), " ".join(block.keys), directives))
    return found


COREFILE = "/etc/coredns/Corefile"
"""Where kubeadm's Deployment mounts it, as CoreDNS names it in its errors."""


def _refused(text: str) -> str | None:
    """What CoreDNS says setting its plugins up with ``text`` (an argument it refuses, a plugin
    twice in a block), or None: the sandbox's CoreDNS does it as CoreDNS 1.11.3 does."""
    from labrunner.sandbox.coredns.setup import Files, StartError, load

    resolv = "nameserver 192.0.2.53\n"  # the node's resolver, for forward . /etc/resolv.conf
    files = Files(read=lambda path: resolv if path == "/etc/resolv.conf" else None, names=lambda: [])
    try:
        load(text, COREFILE, files)
    except StartError as error:
        return str(error)
    return None


def _serving(blocks: Sequence[Block], name: str) -> Block | None:
    """The block CoreDNS gives ``name``: the most specific zone containing it, on port 53."""
    best: tuple[int, Block] | None = None
    for block in blocks:
        for zone in block.zones:
            if _within(zone, name) and (best is None or len(zone) > best[0]):
                best = (len(zone), block)
    return best[1] if best else None


def _forward_targets(block: Block, zone: str) -> list[str] | None:
    """The servers ``block`` forwards ``zone``'s names to, or None when no forward takes them."""
    for _, arguments in block.directives.get("forward", ()):
        if not arguments:
            continue
        origin = arguments[0]
        covered = block.zones if origin == "." else [_fqdn(origin)]
        if any(_within(c, zone) for c in covered):
            return list(arguments[1:])
    return None


def _same_server(target: str, server: str) -> bool:
    """``10.10.0.53``, ``10.10.0.53:53`` and ``dns://10.10.0.53`` are one server."""
    target = target.removeprefix("dns://")
    return target == server or target == f"{server}:53"


def corefile_serves(args: CorefileServes, context: CheckContext) -> Outcome:
    from labrunner.sandbox.coredns.corefile import CorefileError

    where = f"configmap {args.configmap} in {args.namespace}"
    configmap = find(context.cluster, "configmaps", args.configmap, args.namespace)
    if configmap is None:
        return "failed", f"{where} does not exist", ["CoreDNS mounts its Corefile from it"]
    text = (configmap.get("data") or {}).get("Corefile")
    if text is None:
        return "failed", f"{where} has no key Corefile (it has {', '.join(sorted(configmap.get('data') or {})) or 'none'})", []
    try:
        blocks = _blocks(str(text), COREFILE)
        refused = _refused(str(text))
    except CorefileError as error:
        refused = str(error)
    if refused:
        return "failed", f"{where}: CoreDNS refuses the Corefile: {refused}", [
            "a running CoreDNS keeps the Corefile it had (its reload plugin logs the refusal); a new pod exits 1 on this one "
            "(CrashLoopBackOff)"]
    domain = _fqdn(args.domain)
    block = _serving(blocks, domain)
    if block is None:
        return "failed", f"{where}: no server block of the Corefile serves {domain} on port 53", ["so Service names get no answer"]
    kubernetes = block.directives.get("kubernetes", ())
    if not kubernetes:
        return "failed", f"{where}: {block.said()} serves {domain} but has no kubernetes plugin", [
            "so nothing answers the names of Services and pods"]
    line, zones = kubernetes[0]
    covered = [_fqdn(z) for z in zones] or list(block.zones)
    if not any(_within(zone, domain) for zone in covered):
        return "failed", f"{where}: the kubernetes plugin (line {line}) serves {' '.join(zones)}, not {args.domain}", [
            f"names of Services (web.default.svc.{args.domain}) are not answered from the cluster"]
    stubs = {server for servers in args.forward_zones.values() for server in servers}
    if args.upstream:
        root = _serving(blocks, "www.example.com.")
        targets = None if root is None else _forward_targets(root, "www.example.com.")
        if root is None or targets is None:
            return "failed", (f"{where}: " + (f"{root.said()} has no forward for the root zone (forward . /etc/resolv.conf)"
                                                if root else "no server block serves the root zone .")), [
                "so names outside the cluster (www.example.com) get no answer"]
        if any(_same_server(target, stub) for target in targets for stub in stubs):
            line = next(line for line, arguments in root.directives["forward"] if list(arguments[1:]) == targets)
            return "failed", (f"{where}: forward . (line {line}) sends every name outside the cluster to {' '.join(targets)}, a server "
                              f"meant for {', '.join(args.forward_zones)} only"), ["so other names (www.example.com) no longer resolve"]
    for zone, servers in args.forward_zones.items():
        serving = _serving(blocks, zone)
        targets = None if serving is None else _forward_targets(serving, zone)
        if serving is None or targets is None:
            return "failed", f"{where}: no forward sends {zone} to {' '.join(servers)}", [
                f"a server block {zone}:53 with forward . {' '.join(servers)} does"]
        if not all(any(_same_server(target, server) for target in targets) for server in servers):
            if _fqdn(zone) not in serving.zones:  # a broader block takes the zone's names with the rest
                return "failed", (f"{where}: no server block sends {zone} to {' '.join(servers)}; {serving.keys} forwards it to "
                                  f"{' '.join(targets)}"), [
                    f"{serving.said()} forwards its names to {' '.join(targets)} with every other name",
                    f"a server block {zone}:53 with forward . {' '.join(servers)} does"]
            return "failed", f"{where}: {serving.said()} forwards {zone} to {' '.join(targets)}, not {' '.join(servers)}", []
    forwarded = "".join(f", {zone} to {' '.join(servers)}" for zone, servers in args.forward_zones.items())
    return "passed", f"{where}: the Corefile gives {args.domain} to the kubernetes plugin{forwarded}" + (
        ", other names upstream" if args.upstream else ""), []


KINDS = (CheckKind(model=CorefileServes, run=corefile_serves, watches=("configmaps",)),)
