"""``coredns-alias``: a name CoreDNS sends to another name's addresses (a rewrite rule, a stub
domain, a hosts entry), asked from a pod as the learner's own would ask it.

The verdict is the lookup's; the explanation reads the Corefile of the ``coredns`` ConfigMap with
CoreDNS's own loader (the sandbox's, pure: caddy's parser, every plugin's setup and its refusal in
CoreDNS's words), finds the server block that answers the name (the most specific zone) and the
rules in it, and reads the CoreDNS pods' logs for the configuration each runs (the reload plugin's
``Running configuration SHA512``) or its refusal, so it holds on kind as on the sandbox."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from pydantic import Field

from labrunner.cluster import errors
from labrunner.lab.check_args import CheckArgs
from labrunner.lab.fields import DnsName, KubeName, Labels
from labrunner.registry.types import CheckContext, CheckKind, Outcome
from labrunner.sandbox.coredns.names import best_zone, normalize
from labrunner.sandbox.coredns.plugins.forward import Forward
from labrunner.sandbox.coredns.plugins.hosts import Hosts
from labrunner.sandbox.coredns.plugins.rewrite import NameRule, Rewrite
from labrunner.sandbox.coredns.corefile import CorefileError
from labrunner.sandbox.coredns.setup import Config, Files, StartError, digest_of, load
from labrunner.sandbox.coredns.upstreams import NODE_RESOLV_CONF
from labrunner.topics.basics.probes import no_namespace, run_in_probe_pod
from labrunner.topics.services.dns import answered

COREFILE_PATH = "/etc/coredns/Corefile"
SEPARATOR = "--- labrunner: the name to compare with ---"
RELOAD_WAIT = ("the reload plugin reads the Corefile every 30 s, give or take 7.5 s; on a real cluster the kubelet also takes up to a "
               "minute to put a changed ConfigMap into the pods")


class CorednsAlias(CheckArgs):
    """From a short-lived busybox pod in ``namespace`` (labelled ``from_labels``), ``name``
    resolves to exactly the addresses ``same_as`` resolves to, through the cluster's CoreDNS,
    whose Corefile (the ConfigMap ``configmap`` in ``configmap_namespace``) it accepts and runs."""

    kind: Literal["coredns-alias"]
    namespace: KubeName
    name: DnsName
    same_as: DnsName
    from_labels: Labels = Field(default_factory=dict)
    configmap: KubeName = "coredns"
    configmap_namespace: KubeName = "kube-system"


def _files() -> Files:
    return Files(read=lambda path: NODE_RESOLV_CONF if path == "/etc/resolv.conf" else None, names=lambda: [])


def _running(cluster: Any, namespace: str) -> tuple[list[tuple[str, str]], list[str]]:
    """Each CoreDNS pod's last reload line (``Running configuration SHA512 = ...`` or a refusal),
    and the pods that are not ready."""
    pods = cluster.list("pods", namespace, labels="k8s-app=kube-dns")
    lines, unready = [], []
    for pod in pods:
        if pod["metadata"].get("deletionTimestamp"):
            continue
        name = str(pod["metadata"]["name"])
        if not any(c.get("type") == "Ready" and c.get("status") == "True" for c in (pod.get("status") or {}).get("conditions") or []):
            unready.append(name)
            continue
        try:
            log = cluster.logs(name, namespace, tail=400)
        except errors.ClusterError:
            continue
        said = [line for line in log.splitlines() if "Running configuration SHA512" in line or "reload failed" in line]
        if said:
            lines.append((name, said[-1]))
    return lines, unready


def _runs(lines: list[tuple[str, str]], corefile: str) -> bool:
    """Whether every CoreDNS pod logs that it runs ``corefile`` (the reload plugin's digest of it)."""
    try:
        digest = digest_of(corefile, COREFILE_PATH, _files())
    except CorefileError:
        return False
    return bool(lines) and all(line.endswith(digest) for _, line in lines)


@dataclass(frozen=True)
class Rule:
    """A rule of the Corefile that takes the name."""

    said: str
    """As written: ``rewrite name exact A B (sends it to B)``, ``forward A to 10.0.0.1:53``, ``hosts``."""
    does: str
    """What it does with the name: ``rewrites A to B``, ``forwards A to 10.0.0.1:53``."""
    block: str
    """The keys of its server block: ``.:53``."""
    target: str = ""
    """The name a rewrite sends it to."""


def _rules_for(config: Config, name: str, asked: str) -> tuple[str, list[Rule], list[Rule], set[str]]:
    """The zone of the server block that answers ``name`` (``asked``, as the step writes it); what
    its plugins do with it; the rewrite rules of other blocks that would have matched it; the
    plugins of its block."""
    zones = [zone.zone for zone in config.zones if zone.transport == "dns" and zone.port == 53]
    zone = best_zone(zones, name)
    block = next((z.block for z in config.zones if z.zone == zone and z.transport == "dns" and z.port == 53), None)
    here: list[Rule] = []
    elsewhere: list[Rule] = []
    for index, plugins in enumerate(config.plugins):
        keys = ", ".join(f"{z.zone}:{z.port}" for z in config.zones if z.block == index and z.transport == "dns") or "none"
        for plugin in plugins:
            if isinstance(plugin, Rewrite):
                for rule in plugin.rules:
                    if isinstance(rule, NameRule) and (target := rule.apply(name)) is not None:
                        source, goal = (rule.source, rule.target) if rule.match == "regex" else (rule.source.rstrip("."), rule.target.rstrip("."))
                        sent = target.rstrip(".")
                        found = Rule(f"rewrite name {rule.match} {source} {goal} (sends it to {sent})", f"rewrites {asked} to {sent}", keys, sent)
                        (here if index == block else elsewhere).append(found)
            elif isinstance(plugin, Forward) and index == block and plugin.origin != ".":
                targets = ", ".join(f"{address}:{port}" for address, port in plugin.upstreams)
                here.append(Rule(f"forward {plugin.origin} to {targets}", f"forwards {asked} to {targets}", keys))
            elif isinstance(plugin, Hosts) and index == block:
                here.append(Rule("hosts", f"answers {asked} from its hosts plugin", keys))
    names = {plugin.name for plugin in config.plugins[block]} if block is not None else set()
    return zone, here, elsewhere, names


def _block_keys(config: Config, zone: str) -> str:
    return ", ".join(f"{z.zone}:{z.port}" for z in config.zones if z.zone == zone and z.transport == "dns") or "none"


def coredns_alias(args: CorednsAlias, context: CheckContext) -> Outcome:
    cluster = context.cluster
    where = f"configmap {args.configmap} ({args.configmap_namespace})"
    try:
        corefile = str((cluster.get("configmaps", args.configmap, args.configmap_namespace).get("data") or {}).get("Corefile") or "")
    except errors.NotFound:
        return "failed", f"{where} does not exist: CoreDNS reads its Corefile from it", []
    lines, unready = _running(cluster, args.configmap_namespace)
    config: Config | None
    try:
        config = load(corefile, COREFILE_PATH, _files())
    except StartError as refused:
        if not _runs(lines, corefile):
            return "failed", f"{where}: CoreDNS refuses this Corefile: {refused}", [
                "the running CoreDNS pods keep their last configuration (their log: [ERROR] plugin/reload: Corefile changed but reload "
                "failed); a restarted pod would crash-loop with that line in kubectl logs --previous"]
        config = None  # what this cluster's CoreDNS runs, beyond what labrunner reads (its own plugins, files it imports)
    refusals = [(pod, line) for pod, line in lines if "reload failed" in line]
    if refusals:
        pod, line = refusals[0]
        said = line.split("] ", 1)[-1]
        # CoreDNS's reload error nests its causes ("...reload failed: starting with listener ...: plugin/rewrite:
        # invalid rule type"): the innermost is the mistake, the whole line the evidence.
        return "failed", f"CoreDNS pod {pod} refused the Corefile of {where}: {'plugin/' + said.rsplit(': plugin/', 1)[-1] if ': plugin/' in said else said}", [said]
    stale = [pod for pod, line in lines if config is not None and config.reload is not None and not line.endswith(config.digest)]
    if stale:
        return "pending", f"CoreDNS pod(s) {', '.join(stale)} still run the previous Corefile", [RELOAD_WAIT]
    lookup = "nslookup -timeout=2 -retry=0"
    try:
        stdout, _, code = run_in_probe_pod(cluster, args.namespace, dict(args.from_labels),
                                           ["sh", "-c", f"{lookup} {args.name}; echo {SEPARATOR}; {lookup} {args.same_as}"])
    except errors.NotFound:
        return "failed", no_namespace(args.namespace), []
    answer, _, reference = stdout.partition(SEPARATOR)
    got, expected = answered(answer), answered(reference)
    if not expected:
        return "failed", f"from a pod in {args.namespace}, {args.same_as} does not resolve", [f"so {args.name} cannot be compared with it"]
    if got and sorted(got) == sorted(expected):
        return "passed", f"from a pod in {args.namespace}, {args.name} resolves to {', '.join(got)}, as {args.same_as} does", []
    name = normalize(args.name)
    found = f"resolves to {', '.join(got)}" if got else "does not resolve"
    lead = f"from a pod in {args.namespace}, {args.name} {found}, where {args.same_as} resolves to {', '.join(expected)}"
    if config is None:
        return "failed", lead, [f"{where}'s Corefile is one labrunner cannot read rule by rule; kubectl logs -n {args.configmap_namespace} "
                                "-l k8s-app=kube-dns shows what CoreDNS made of it"]
    zone, here, elsewhere, plugins = _rules_for(config, name, args.name)
    if not zone:
        return "failed", f"no server block of the Corefile in {where} answers {args.name}", ["CoreDNS refuses the query", lead]
    keys = _block_keys(config, zone)
    block = f"the server block {keys}"
    if not here and elsewhere:
        rule = elsewhere[0]
        return "failed", (f"the Corefile's rewrite of {args.name} is in server block {rule.block}, which does not answer it; {keys} "
                          "does"), [f"move the rule into {block} of {where}: CoreDNS gives a name to the server block of its most "
                                    "specific zone", f"the rule: {rule.said}", lead]
    if not here:
        return "failed", f"no rule of {block}, which answers {args.name}, rewrites or forwards it", [
            lead, f"{where}'s Corefile is the one CoreDNS runs ({', '.join(pod for pod, _ in lines) or 'no ready pod'})"]
    first = here[0]
    if first.target and not {"kubernetes", "forward", "hosts", "template", "file"} & plugins:
        return "failed", f"{block} of the Corefile rewrites {args.name}, but has no plugin to answer the new name", [
            "a rewrite renames the question inside the block that took it: put the rule in the block with the kubernetes plugin",
            f"{block} has {first.said}", lead]
    details = [lead, *(f"{block} does: {rule.said}" for rule in here)]
    if unready:
        details.append(f"CoreDNS pod(s) not ready: {', '.join(unready)}")
    if first.target and normalize(first.target) != normalize(args.same_as):
        return "failed", f"{block} {first.does}, not to {args.same_as}", details
    return "failed", f"{block} {first.does}, which does not answer as {args.same_as} does", details


def _watched(args: object) -> tuple[str, ...]:
    return ("configmaps", "pods", "services")


KINDS = (CheckKind(model=CorednsAlias, run=coredns_alias, watches=_watched, polled=True),)
