"""The upstream e2e NetworkPolicy world, compact policies, and expected tables.

Modelled on kubernetes/test/e2e/network/netpol: namespaces x, y, z (labels
``ns: <name>``), pods a, b, c in each (labels ``pod: <name>``), every pod serving
80 and 81 on TCP and UDP (``serve-80-tcp`` ...) and SCTP 80 (``serve-80-sctp``).
Pod IPs come from one /24 per namespace: x 10.0.1.0/24, y 10.0.2.0/24,
z 10.0.3.0/24, so ``x/a`` is 10.0.1.1 and ``z/c`` is 10.0.3.3.

A :class:`Reachability` is the expected truth table, written by hand from the
documentation; :func:`assert_table` evaluates every ordered pair at once and, on
failure, prints the grids with the mismatches marked and each mismatch explained.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import pytest

from labrunner.topics.networkpolicy.evaluate import evaluate, resolve_endpoint
from labrunner.topics.networkpolicy.model import Cluster
from labrunner.topics.networkpolicy.parse import cluster_from_objects

NAMESPACES = ("x", "y", "z")
POD_NAMES = ("a", "b", "c")
PODS = tuple(f"{ns}/{pod}" for ns in NAMESPACES for pod in POD_NAMES)

EXT4 = "192.0.2.10"  # TEST-NET-1, outside every pod /24
EXT4_OTHER = "198.51.100.7"  # TEST-NET-2
EXT6 = "2001:db8::10"  # IPv6 documentation prefix
EXTERNALS = (EXT4, EXT6)


def pod_ip(ref: str) -> str:
    namespace, name = ref.split("/")
    return f"10.0.{NAMESPACES.index(namespace) + 1}.{POD_NAMES.index(name) + 1}"


NAMESPACE_CIDR = {ns: f"10.0.{i + 1}.0/24" for i, ns in enumerate(NAMESPACES)}

CONTAINER_PORTS = [
    {"containerPort": 80, "name": "serve-80-tcp", "protocol": "TCP"},
    {"containerPort": 81, "name": "serve-81-tcp", "protocol": "TCP"},
    {"containerPort": 80, "name": "serve-80-udp", "protocol": "UDP"},
    {"containerPort": 81, "name": "serve-81-udp", "protocol": "UDP"},
    {"containerPort": 80, "name": "serve-80-sctp", "protocol": "SCTP"},
]


# -- the world ---------------------------------------------------------------------


def world_objects(
    *policies: Mapping[str, Any],
    pod_labels: Mapping[str, Mapping[str, str]] | None = None,
    namespace_labels: Mapping[str, Mapping[str, str]] | None = None,
) -> list[dict[str, Any]]:
    """Namespaces, pods and the given policies as API dicts.

    ``pod_labels`` / ``namespace_labels`` add labels to some pods (``"x/b"``) or
    namespaces (``"y"``) on top of the standard ``pod:``/``ns:`` ones.
    """
    objects: list[dict[str, Any]] = []
    for ns in NAMESPACES:
        labels = {"ns": ns, **dict((namespace_labels or {}).get(ns, {}))}
        objects.append({"kind": "Namespace", "metadata": {"name": ns, "labels": labels}})
    for ref in PODS:
        ns, name = ref.split("/")
        labels = {"pod": name, **dict((pod_labels or {}).get(ref, {}))}
        objects.append(
            {
                "kind": "Pod",
                "metadata": {"namespace": ns, "name": name, "labels": labels},
                "status": {"podIP": pod_ip(ref)},
                "spec": {"containers": [{"name": "cont", "ports": [dict(p) for p in CONTAINER_PORTS]}]},
            }
        )
    objects.extend(dict(policy) for policy in policies)
    return objects


def world(*policies: Mapping[str, Any], **labels: Any) -> Cluster:
    """The cluster of the standard world plus ``policies`` (see :func:`world_objects`)."""
    return cluster_from_objects(world_objects(*policies, **labels))


# -- writing policies compactly ----------------------------------------------------

ABSENT: Any = object()
"""Leave the field out of the object entirely (as opposed to ``[]`` or ``{}``)."""


def sel(*expressions: Mapping[str, Any], **match_labels: str) -> dict[str, Any]:
    """A label selector: ``sel(pod="a")``, ``sel()`` (empty: everything),
    ``sel(expr("pod", "In", "a", "b"))``."""
    selector: dict[str, Any] = {}
    if match_labels:
        selector["matchLabels"] = dict(match_labels)
    if expressions:
        selector["matchExpressions"] = [dict(e) for e in expressions]
    return selector


def name_sel(namespace: str) -> dict[str, Any]:
    """A namespace selector by the API server's automatic name label."""
    return {"matchLabels": {"kubernetes.io/metadata.name": namespace}}


def expr(key: str, operator: str, *values: str) -> dict[str, Any]:
    expression: dict[str, Any] = {"key": key, "operator": operator}
    if values:
        expression["values"] = list(values)
    return expression


def peer(pods: Mapping[str, Any] | None = None, namespaces: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """One from/to item; both selectors in ONE peer are ANDed."""
    item: dict[str, Any] = {}
    if pods is not None:
        item["podSelector"] = dict(pods)
    if namespaces is not None:
        item["namespaceSelector"] = dict(namespaces)
    return item


def ipblock(cidr: str, *excepts: str) -> dict[str, Any]:
    block: dict[str, Any] = {"cidr": cidr}
    if excepts:
        block["except"] = list(excepts)
    return {"ipBlock": block}


def port(number: int | str | None = None, protocol: str | None = None, end: int | None = None) -> dict[str, Any]:
    """One ports item; a missing ``protocol`` is left out (the API defaults it to TCP)."""
    item: dict[str, Any] = {}
    if protocol is not None:
        item["protocol"] = protocol
    if number is not None:
        item["port"] = number
    if end is not None:
        item["endPort"] = end
    return item


def _rule(key: str, peers: Any, ports: Any) -> dict[str, Any]:
    rule: dict[str, Any] = {}
    if peers is not ABSENT:
        rule[key] = list(peers)
    if ports is not ABSENT:
        rule["ports"] = list(ports)
    return rule


def ingress_rule(*peers: Mapping[str, Any], ports: Any = ABSENT) -> dict[str, Any]:
    """An ingress rule; no peers given means ``from`` is left out (every source)."""
    return _rule("from", peers if peers else ABSENT, ports)


def egress_rule(*peers: Mapping[str, Any], ports: Any = ABSENT) -> dict[str, Any]:
    """An egress rule; no peers given means ``to`` is left out (every destination)."""
    return _rule("to", peers if peers else ABSENT, ports)


def netpol(
    name: str,
    namespace: str = "x",
    pods: Mapping[str, Any] | None = None,
    types: Sequence[str] | None = None,
    ingress: Any = ABSENT,
    egress: Any = ABSENT,
) -> dict[str, Any]:
    """A NetworkPolicy object. ``pods`` is the spec.podSelector (default ``{}``:
    every pod of the namespace); ``types`` the policyTypes (None: left out, so the
    API server's defaulting applies); ``ingress``/``egress`` left out unless given."""
    spec: dict[str, Any] = {"podSelector": dict(pods or {})}
    if types is not None:
        spec["policyTypes"] = list(types)
    if ingress is not ABSENT:
        spec["ingress"] = list(ingress)
    if egress is not ABSENT:
        spec["egress"] = list(egress)
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"namespace": namespace, "name": name},
        "spec": spec,
    }


def deny_all(namespace: str, *types: str) -> dict[str, Any]:
    """The documentation's default-deny policy for ``types`` in ``namespace``."""
    return netpol(f"default-deny-{'-'.join(t.lower() for t in types)}", namespace, types=list(types))


# -- the expected table ------------------------------------------------------------


class Reachability:
    """An expected truth table over the 9 pods plus ``externals``.

    Patterns are shell-style on endpoint names: ``"x/a"``, ``"x/*"`` (namespace
    x), ``"*/a"``, ``"*/*"`` (every pod), ``"*"`` (every pod and external) or an
    address. External -> external pairs are not part of the table. The diagonal
    is always allowed: a pod cannot block access to itself.
    """

    def __init__(self, default: bool = True, externals: Iterable[str] = EXTERNALS) -> None:
        self.externals = tuple(externals)
        self.endpoints = PODS + self.externals
        self.expected: dict[tuple[str, str], bool] = {
            (src, dst): default for src in self.endpoints for dst in self.endpoints if self._in_table(src, dst)
        }

    def _in_table(self, src: str, dst: str) -> bool:
        return src in PODS or dst in PODS

    def _select(self, pattern: str) -> list[str]:
        found = [e for e in self.endpoints if fnmatch.fnmatchcase(e, pattern)]
        if not found:
            raise ValueError(f"pattern {pattern!r} matches no endpoint of the table")
        return found

    def expect(self, from_: str, to: str, allowed: bool) -> Reachability:
        for src in self._select(from_):
            for dst in self._select(to):
                if (src, dst) in self.expected:
                    self.expected[(src, dst)] = allowed
        return self

    def expect_all_ingress(self, to: str, allowed: bool) -> Reachability:
        """Every source (pods and externals) to ``to``."""
        return self.expect("*", to, allowed)

    def expect_all_egress(self, from_: str, allowed: bool) -> Reachability:
        """``from_`` to every destination (pods and externals)."""
        return self.expect(from_, "*", allowed)

    def get(self, src: str, dst: str) -> bool:
        if src == dst and src in PODS:
            return True
        return self.expected[(src, dst)]


def _short(endpoint: str, externals: Sequence[str]) -> str:
    return endpoint if endpoint in PODS else f"E{externals.index(endpoint) + 1}"


def _grid(title: str, table: Reachability, cells: Mapping[tuple[str, str], bool], marks: set[tuple[str, str]]) -> str:
    names = [_short(e, table.externals) for e in table.endpoints]
    lines = [title, "from\\to " + "".join(f"{n:^5}" for n in names)]
    for src in table.endpoints:
        row = []
        for dst in table.endpoints:
            if (src, dst) not in cells:
                row.append("     ")
                continue
            symbol = "." if cells[(src, dst)] else "X"
            row.append(f"[{symbol}]".center(5) if (src, dst) in marks else symbol.center(5))
        lines.append(f"{_short(src, table.externals):<8}" + "".join(row))
    return "\n".join(lines)


def assert_table(cluster: Cluster, table: Reachability, protocol: str = "TCP", port: int = 80) -> None:
    """Evaluate every pair of ``table`` on ``protocol``/``port``; fail with grids."""
    actual: dict[tuple[str, str], bool] = {}
    expected: dict[tuple[str, str], bool] = {}
    verdicts = {}
    for src, dst in table.expected:
        verdict = evaluate(cluster, resolve_endpoint(cluster, src), resolve_endpoint(cluster, dst), protocol, port)  # type: ignore[arg-type]
        verdicts[(src, dst)] = verdict
        actual[(src, dst)] = verdict.allowed
        expected[(src, dst)] = table.get(src, dst)
    wrong = {pair for pair in expected if expected[pair] != actual[pair]}
    if not wrong:
        return
    legend = ", ".join(f"E{i + 1}={e}" for i, e in enumerate(table.externals))
    report = [
        f"{len(wrong)} of {len(expected)} verdicts differ on {protocol} {port}"
        f" (rows: source, columns: destination; '.' allowed, 'X' denied, [ ] mismatch; {legend})",
        _grid("expected:", table, expected, wrong),
        _grid("engine:", table, actual, wrong),
        "mismatches:",
    ]
    for src, dst in sorted(wrong, key=lambda pair: (table.endpoints.index(pair[0]), table.endpoints.index(pair[1]))):
        want = "allowed" if expected[(src, dst)] else "denied"
        report.append(f"  {src} -> {dst}: expected {want}; engine: {verdicts[(src, dst)].sentence()}")
    pytest.fail("\n".join(report), pytrace=False)
