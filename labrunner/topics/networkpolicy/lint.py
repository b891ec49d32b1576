"""The classic NetworkPolicy mistakes, found in YAML with their line and column.

Two kinds of finding: structure (fields the API server does not know, named with
its own path syntax, and a plain-words diagnosis of the mis-indentations that
produce them, with the structure the author most likely meant), and meaning
(selectors that match nothing, egress isolation that kills DNS, rules that
policyTypes makes the server ignore, ports and ipBlocks that cannot do what they
seem to). Each finding has a severity and a one-line fix.
"""

from __future__ import annotations

import copy
import ipaddress
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import yaml

from labrunner import yamlsource
from labrunner.topics.networkpolicy.files import SourceObject, api_path, context_cluster
from labrunner.topics.networkpolicy.model import NAME_LABEL, Policy
from labrunner.topics.networkpolicy.parse import ObjectError, policy_from_object

Severity = Literal["error", "warning", "info"]

_SELECTOR: dict[str, Any] = {"matchLabels": "map", "matchExpressions": [{"key": None, "operator": None, "values": [None]}]}
_PEER: dict[str, Any] = {
    "podSelector": _SELECTOR,
    "namespaceSelector": _SELECTOR,
    "ipBlock": {"cidr": None, "except": [None]},
}
_PORT: dict[str, Any] = {"protocol": None, "port": None, "endPort": None}
_SPEC: dict[str, Any] = {
    "podSelector": _SELECTOR,
    "policyTypes": [None],
    "ingress": [{"from": [_PEER], "ports": [_PORT]}],
    "egress": [{"to": [_PEER], "ports": [_PORT]}],
}
NETWORK_POLICY_FIELDS: dict[str, Any] = {"apiVersion": None, "kind": None, "metadata": "map", "spec": _SPEC, "status": "map"}

OBSOLETE_ANNOTATION = "net.beta.kubernetes.io/network-policy"


@dataclass(frozen=True)
class Finding:
    severity: Severity
    file: str
    line: int
    column: int
    path: str
    """The field, in the API server's syntax: ``spec.ingress[1].namespaceSelector``."""
    message: str
    fix: str
    suggestion: str | None = field(default=None, compare=False)
    """The likely intended manifest, when a structural mistake was diagnosed."""

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}:{self.column}"
        field_text = f" {self.path}:" if self.path else ""
        return f"{where}: {self.severity}:{field_text} {self.message}\n    fix: {self.fix}"

    def as_json(self) -> dict[str, object]:
        return {
            "severity": self.severity,
            "file": self.file,
            "line": self.line,
            "column": self.column,
            "path": self.path,
            "message": self.message,
            "fix": self.fix,
            "suggestion": self.suggestion,
        }


def unknown_fields(data: Any) -> list[tuple[str | int, ...]]:
    """The paths of fields a NetworkPolicy does not have (a strict API server refuses them; one
    told not to validate drops them)."""
    unknown: list[tuple[str | int, ...]] = []

    def walk(data: Any, schema: Any, path: tuple[str | int, ...]) -> None:
        if isinstance(schema, dict) and isinstance(data, dict):
            for key, value in data.items():
                if key not in schema:
                    unknown.append((*path, key))
                else:
                    walk(value, schema[key], (*path, key))
        elif isinstance(schema, list) and isinstance(data, list):
            for index, item in enumerate(data):
                walk(item, schema[0], (*path, index))

    walk(data, NETWORK_POLICY_FIELDS, ())
    return unknown


class _Linter:
    def __init__(self, objects: Sequence[SourceObject]) -> None:
        self.objects = objects
        self.findings: list[Finding] = []
        self.cluster = context_cluster(objects)

    def add(self, obj: SourceObject, path: Sequence[str | int], severity: Severity, message: str, fix: str, *, at_key: bool = False, suggestion: str | None = None) -> None:
        located = yamlsource.locate(obj.node, path)
        line, column = located.mark(at_key=at_key)
        self.findings.append(Finding(severity, str(obj.file), line, column, yamlsource.format_path(path), message, fix, suggestion))

    # -- structure ----------------------------------------------------------------

    def unknown_fields(self, obj: SourceObject) -> list[tuple[str | int, ...]]:
        return unknown_fields(obj.data)

    def structure(self, obj: SourceObject) -> None:
        unknown = self.unknown_fields(obj)
        if not unknown:
            return
        server_text = ", ".join(sorted(f'unknown field "{yamlsource.format_path(path)}"' for path in unknown))
        fixed = _likely_intended(obj.data, unknown)
        suggestion = yaml.safe_dump(fixed, sort_keys=False) if fixed is not None else None
        for path in unknown:
            message, fix = _diagnose(obj, path)
            self.add(obj, path, "error", message, fix, at_key=True, suggestion=suggestion)
        self.add(
            obj, (), "info",
            f"a strict API server (kubectl 1.27+ validates strictly) rejects this object: strict decoding error: {server_text}",
            "fix the errors above; the likely intended manifest follows" if suggestion else "fix the errors above",
            suggestion=suggestion,
        )

    # -- meaning ---------------------------------------------------------------------

    def meaning(self, obj: SourceObject, policy: Policy, policies: Sequence[Policy]) -> None:
        spec = obj.data.get("spec") or {}
        declared = spec.get("policyTypes") or []
        for direction, type_name in (("ingress", "Ingress"), ("egress", "Egress")):
            if declared and type_name not in declared and spec.get(direction):
                self.add(
                    obj, ("spec", direction), "warning",
                    f"these {direction} rules are ignored: policyTypes lists only {', '.join(declared)}",
                    f"add {type_name} to spec.policyTypes, or delete the {direction} rules",
                )
        if policy.types == frozenset({"ingress"}) and not declared and "egress" in spec and not spec["egress"]:
            self.add(
                obj, ("spec", "egress"), "warning",
                "egress: [] without policyTypes does not isolate egress: the API server defaults policyTypes to [Ingress]",
                "add policyTypes: [Ingress, Egress] to deny all egress",
            )
        for direction in ("ingress", "egress"):
            peers_key = "from" if direction == "ingress" else "to"
            for r_index, rule in enumerate(spec.get(direction) or []):
                if not isinstance(rule, dict):
                    continue
                where = ("spec", direction, r_index)
                self.ports(obj, where, rule, peers_key, direction, policy)
                self.or_of_selectors(obj, (*where, peers_key), rule.get(peers_key) or [])
                for p_index, peer in enumerate(rule.get(peers_key) or []):
                    self.peer(obj, (*where, peers_key, p_index), peer, policy)
        self.selector_matches(obj, ("spec", "podSelector"), policy.pod_selector, policy.namespace, "selects")
        if "egress" in policy.types:
            self.dns(obj, policy, policies)

    def ports(self, obj: SourceObject, where: tuple[str | int, ...], rule: dict[str, Any], peers_key: str, direction: str, policy: Policy) -> None:
        peers = rule.get(peers_key) or []
        for index, port in enumerate(rule.get("ports") or []):
            if not isinstance(port, dict):
                continue
            path = (*where, "ports", index)
            number, end = port.get("port"), port.get("endPort")
            if end is not None:
                if not isinstance(number, int):
                    self.add(obj, (*path, "endPort"), "error", "endPort needs a numeric port (not a named port, not absent)", "give port a number, or remove endPort")
                elif end < number:
                    self.add(obj, (*path, "endPort"), "error", f"endPort {end} is below port {number}", f"make endPort at least {number}")
            if isinstance(number, str) and not number.isdigit():
                protocol = port.get("protocol") or "TCP"
                if direction == "egress" and any(isinstance(p, dict) and "ipBlock" in p for p in peers):
                    self.add(
                        obj, (*path, "port"), "warning",
                        f"named port {number!r} towards an ipBlock: a name is resolved on the destination pod, so it never matches an address outside the cluster",
                        "use the port number for ipBlock destinations",
                    )
                self.named_port(obj, (*path, "port"), number, protocol, direction, rule, peers_key, policy)

    def named_port(self, obj: SourceObject, path: tuple[str | int, ...], name: str, protocol: str, direction: str, rule: dict[str, Any], peers_key: str, policy: Policy) -> None:
        if self.cluster is None or not self.cluster.pods:
            return
        if direction == "ingress":
            targets = [pod for pod in self.cluster.pods if pod.namespace == policy.namespace and policy.pod_selector.matches(pod.labels)]
            whose = "the pods this policy selects"
        else:
            from labrunner.topics.networkpolicy.evaluate import peer_matches

            rule_index = path[2]
            parsed_rule = policy.egress[rule_index] if isinstance(rule_index, int) and rule_index < len(policy.egress) else None
            if parsed_rule is None or not parsed_rule.peers:
                targets = list(self.cluster.pods)
            else:
                targets = [pod for pod in self.cluster.pods if any(peer_matches(peer, policy, pod, self.cluster) for peer in parsed_rule.peers)]
            whose = "the pods this rule sends to"
        if targets and not any(pod.named_port(name, protocol) is not None for pod in targets):  # type: ignore[arg-type]
            self.add(obj, path, "warning", f"no container of {whose} has a {protocol} port named {name!r}, so this port matches nothing", "check the name against the pods' containerPorts (kubectl get pod -o yaml), or use the number")

    def or_of_selectors(self, obj: SourceObject, path: tuple[str | int, ...], peers: list[Any]) -> None:
        """A namespaceSelector item followed by a podSelector item: ORed, often meant ANDed."""
        for index in range(len(peers) - 1):
            first, second = peers[index], peers[index + 1]
            if not (isinstance(first, dict) and isinstance(second, dict)):
                continue
            if {frozenset(first), frozenset(second)} == {frozenset({"namespaceSelector"}), frozenset({"podSelector"})}:
                self.add(
                    obj, (*path, index + 1), "info",
                    "these are two peers, ORed: every pod of the selected namespaces, OR the selected pods of this namespace. "
                    "If you meant only the selected pods in the selected namespaces, both selectors belong in ONE peer",
                    f"remove the '-' before `{next(iter(second))}:` so it joins the item above (line {yamlsource.locate(obj.node, (*path, index)).mark()[0]})",
                )

    def peer(self, obj: SourceObject, path: tuple[str | int, ...], peer: Any, policy: Policy) -> None:
        if not isinstance(peer, dict):
            return
        if not any(key in peer for key in ("podSelector", "namespaceSelector", "ipBlock")):
            self.add(obj, path, "error", "an empty peer selects nothing; the API server rejects it", "give it a podSelector, a namespaceSelector or an ipBlock")
        block = peer.get("ipBlock")
        if isinstance(block, dict):
            self.ip_block(obj, (*path, "ipBlock"), block)
        if "ipBlock" in peer and len(peer) > 1:
            self.add(obj, path, "error", "an ipBlock cannot be combined with selectors in one peer", "make the ipBlock a separate item of the list")
        namespaces = peer.get("namespaceSelector")
        if isinstance(namespaces, dict) and self.cluster is not None and self.cluster.namespaces:
            from labrunner.topics.networkpolicy.parse import selector as parse_selector

            try:
                namespace_selector = parse_selector(namespaces, "")
            except ObjectError:
                return
            known = {**{ns: self.cluster.namespace_labels(ns) for ns in self.cluster.namespaces}}
            if not any(namespace_selector.matches(labels) for labels in known.values()):
                self.add(
                    obj, (*path, "namespaceSelector"), "warning",
                    f"namespaceSelector {namespace_selector.describe()} matches none of the namespaces given ({', '.join(sorted(known))})",
                    f"label the namespace you mean (kubectl label namespace NAME KEY=VALUE), or select it by {NAME_LABEL}",
                )
        pods = peer.get("podSelector")
        if isinstance(pods, dict) and not isinstance(namespaces, dict):
            from labrunner.topics.networkpolicy.parse import selector as parse_selector

            try:
                pod_selector = parse_selector(pods, "")
            except ObjectError:
                return
            self.selector_matches(obj, (*path, "podSelector"), pod_selector, policy.namespace, "admits")

    def selector_matches(self, obj: SourceObject, path: tuple[str | int, ...], selector: Any, namespace: str, verb: str) -> None:
        if self.cluster is None:
            return
        pods_there = [pod for pod in self.cluster.pods if pod.namespace == namespace]
        if not pods_there or selector.is_empty:
            return
        if not any(selector.matches(pod.labels) for pod in pods_there):
            seen = sorted({pod.describe_labels() for pod in pods_there})
            self.add(
                obj, path, "warning",
                f"{selector.describe()} matches no pod in {namespace} (pods there have: {'; '.join(seen[:5])})",
                "check the labels: kubectl get pods -n " + namespace + " --show-labels",
            )

    def ip_block(self, obj: SourceObject, path: tuple[str | int, ...], block: dict[str, Any]) -> None:
        try:
            cidr = ipaddress.ip_network(str(block.get("cidr")), strict=False)
        except ValueError:
            self.add(obj, (*path, "cidr"), "error", f"{block.get('cidr')!r} is not a valid CIDR", "write an address and prefix length, like 10.0.0.0/24")
            return
        if str(cidr) != str(block.get("cidr")) and "/" in str(block.get("cidr")):
            self.add(obj, (*path, "cidr"), "info", f"{block.get('cidr')} has host bits set; it means {cidr}", f"write {cidr}")
        for index, excluded in enumerate(block.get("except") or []):
            try:
                network = ipaddress.ip_network(str(excluded), strict=False)
            except ValueError:
                self.add(obj, (*path, "except", index), "error", f"{excluded!r} is not a valid CIDR", "write an address and prefix length, like 10.0.1.0/24")
                continue
            if network.version != cidr.version or not network.subnet_of(cidr) or network == cidr:  # type: ignore[arg-type]
                self.add(obj, (*path, "except", index), "error", f"except {network} is not inside cidr {cidr}; the API server rejects it", f"use a range inside {cidr}, or remove it")
        if self.cluster is not None:
            inside = [pod.ref for pod in self.cluster.pods if any(ip in cidr for ip in pod.ips if ip.version == cidr.version)]
            if inside:
                self.add(
                    obj, (*path, "cidr"), "info",
                    f"{cidr} also covers the IPs of {len(inside)} pod(s) ({', '.join(inside[:3])}{', ...' if len(inside) > 3 else ''}); labrunner, like Calico, then treats those pods as matched, but some CNIs ignore pod IPs in ipBlocks",
                    "select pods with podSelector/namespaceSelector, and keep ipBlocks for addresses outside the cluster (or add the pod network to except)",
                )

    def dns(self, obj: SourceObject, policy: Policy, policies: Sequence[Policy]) -> None:
        from labrunner.topics.networkpolicy.evaluate import port_matches

        covering = [
            other for other in policies
            if other.namespace == policy.namespace and "egress" in other.types
            and (other.pod_selector.is_empty or other.pod_selector == policy.pod_selector)
        ]
        allows = {
            protocol: any(
                not rule.ports or any(port_matches(port, protocol, 53, _Anywhere()) for port in rule.ports)  # type: ignore[arg-type]
                for other in covering for rule in other.egress
            )
            for protocol in ("UDP", "TCP")
        }
        if not allows["UDP"]:
            self.add(
                obj, ("spec",), "warning",
                f"the pods this policy selects are isolated for egress and no policy in {policy.namespace} lets them send DNS queries (UDP and TCP 53): name lookups will fail",
                "add an egress rule to the cluster DNS: to kube-system pods k8s-app=kube-dns on UDP 53 and TCP 53",
            )
        elif not allows["TCP"]:
            self.add(
                obj, ("spec",), "info",
                "DNS is allowed on UDP 53 but not TCP 53: answers too large for UDP fall back to TCP and will fail",
                "add TCP 53 beside UDP 53",
            )

    def namespace_annotations(self, obj: SourceObject) -> None:
        annotations = (obj.data.get("metadata") or {}).get("annotations") or {}
        if OBSOLETE_ANNOTATION in annotations:
            self.add(
                obj, ("metadata", "annotations", OBSOLETE_ANNOTATION), "warning",
                f"{OBSOLETE_ANNOTATION} (Weave's DefaultDeny, before NetworkPolicy v1) is obsolete and has no effect on current clusters",
                "delete the annotation and create a default-deny NetworkPolicy (podSelector: {}, policyTypes: [Ingress])",
                at_key=True,
            )


class _Anywhere:
    """A destination that is not a pod: named ports never match it."""


def lint(objects: Sequence[SourceObject]) -> list[Finding]:
    """Findings for every NetworkPolicy and Namespace in ``objects``, in file order."""
    linter = _Linter(objects)
    parsed: list[tuple[SourceObject, Policy]] = []
    for obj in objects:
        if obj.kind == "Namespace":
            linter.namespace_annotations(obj)
        if obj.kind != "NetworkPolicy":
            continue
        linter.structure(obj)
        if "podSelector" not in (obj.data.get("spec") or {}):
            linter.add(obj, ("spec",), "error", "spec.podSelector is required (use podSelector: {} to select every pod)", "add podSelector: {} or a selector")
        try:
            parsed.append((obj, policy_from_object(obj.data, source=obj.where())))
        except ObjectError as error:
            linter.add(obj, api_path(error.path), "error", error.message, "correct the value")
    policies = [policy for _, policy in parsed]
    for obj, policy in parsed:
        linter.meaning(obj, policy, policies)
    order = {"error": 0, "warning": 1, "info": 2}
    return sorted(set(linter.findings), key=lambda f: (f.file, f.line, f.column, order[f.severity]))


# -- the classic mis-indentations -------------------------------------------------

_RULE_KEYS = {"from", "to", "ports"}
_PEER_KEYS = {"podSelector", "namespaceSelector", "ipBlock"}
_SPEC_KEYS = set(_SPEC)


def _diagnose(obj: SourceObject, path: tuple[str | int, ...]) -> tuple[str, str]:
    key = path[-1]
    parent = path[:-1]

    def line_of(p: tuple[str | int, ...]) -> int:
        return yamlsource.locate(obj.node, p).mark(at_key=True)[0]

    if len(parent) == 3 and parent[0] == "spec" and parent[1] in ("ingress", "egress") and key in _PEER_KEYS:
        direction, index = parent[1], parent[2]
        peers_key = "from" if direction == "ingress" else "to"
        if isinstance(index, int) and index > 0:
            return (
                f"unknown field: {key} is not a field of an {direction} rule. This `- {key}:` became {direction} rule {index + 1} "
                f"of its own instead of another peer in rule {index}'s `{peers_key}` list (it is indented too little). "
                f"A server that drops unknown fields would store rule {index + 1} as {{}}, which admits everything",
                f"indent `- {key}:` (line {line_of(path)}) to line up with the peers under `{peers_key}:` of rule {index} (line {line_of((*parent[:2], index - 1, peers_key))})",
            )
        return (
            f"unknown field: {key} is not a field of an {direction} rule; peers go in the rule's `{peers_key}` list",
            f"put it under `{peers_key}:` as `- {key}: ...`",
        )
    if parent == ("spec",) and key in _RULE_KEYS:
        return (
            f"unknown field: {key} fell out of its rule. At spec level nothing reads it, so the rule it was meant for "
            f"is not limited to these {key}",
            f"indent `{key}:` (line {line_of(path)}) to line up with `from:`/`to:` inside the rule it belongs to",
        )
    if parent == () and key in _SPEC_KEYS:
        return (
            f"unknown field: {key} fell out of spec. At the top level it is not part of the policy at all",
            f"indent `{key}:` (line {line_of(path)}) to line up with the other fields under `spec:`",
        )
    return (f"unknown field {key!r}: the API server does not know it here", "remove it, or move it where it belongs (see kubectl explain networkpolicy.spec)")


def _likely_intended(data: dict[str, Any], unknown: Iterable[tuple[str | int, ...]]) -> dict[str, Any] | None:
    """Undo the classic mis-indentations; None when some unknown field is not one of them."""
    fixed = copy.deepcopy(data)
    spec = fixed.setdefault("spec", {})
    moves = sorted(unknown, key=lambda path: [str(e) for e in path], reverse=True)
    handled = 0
    for path in moves:
        key = path[-1]
        if path[:1] == () or len(path) == 1:
            if key in _SPEC_KEYS and isinstance(spec, dict):
                spec[key] = fixed.pop(key)
                handled += 1
    for direction, peers_key in (("ingress", "from"), ("egress", "to")):
        rules = spec.get(direction)
        if not isinstance(rules, list):
            continue
        merged: list[Any] = []
        for rule in rules:
            if isinstance(rule, dict) and rule and set(rule) <= _PEER_KEYS and merged and isinstance(merged[-1], dict) and peers_key in merged[-1]:
                merged[-1][peers_key].append(rule)
                handled += sum(1 for path in unknown if len(path) == 4 and path[1] == direction and path[3] in rule)
            else:
                merged.append(rule)
        spec[direction] = merged
    if "ports" in spec:
        ports = spec.pop("ports")
        target = next((rules[-1] for rules in (spec.get("ingress"), spec.get("egress")) if isinstance(rules, list) and rules and isinstance(rules[-1], dict) and "ports" not in rules[-1]), None)
        if target is None:
            return None
        target["ports"] = ports
        handled += 1
    if handled < len(list(unknown)):
        return None
    return {key: fixed[key] for key in ("apiVersion", "kind", "metadata", "spec") if key in fixed} | {
        key: value for key, value in fixed.items() if key not in ("apiVersion", "kind", "metadata", "spec")
    }
