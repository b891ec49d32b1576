"""``labrunner netpol``: the NetworkPolicy engine on files, no cluster needed.

    matrix  PATH... [--port PROTO/PORT]... [--external IP]... [--json | --summary]
    explain PATH... --from SRC --to DST --port PROTO/PORT [--json]
    diff    --mine PATH... --reference PATH... [--json]
    lint    PATH... [--json]

Exit codes: 0 as expected (allowed / same meaning / no errors), 1 the answer is
no (denied / different / errors found), 2 bad input (with file:line).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from labrunner.cli.diagnostics import CliError, ExitCode

if TYPE_CHECKING:
    from labrunner.topics.networkpolicy.files import SourceObject
    from labrunner.topics.networkpolicy.model import Cluster


def add_commands(commands: Any, lazy: Any) -> None:
    netpol = commands.add_parser("netpol", help="the NetworkPolicy engine on YAML files: matrix, explain, diff, lint",
                                 description="Predict and explain NetworkPolicy verdicts from YAML (Namespaces, Pods, NetworkPolicies); no cluster needed.")
    sub = netpol.add_subparsers(dest="netpol_command", metavar="COMMAND", required=True)
    paths_help = "YAML files or folders (multi-document and kind: List, as kubectl get -o yaml prints)"

    matrix = sub.add_parser("matrix", help="who can reach whom, for every pair of pods and ports")
    matrix.add_argument("paths", nargs="+", type=Path, metavar="PATH", help=paths_help)
    matrix.add_argument("--port", action="append", default=[], metavar="PROTO/PORT", help="a port to test (repeatable; default: every port a policy or container names)")
    matrix.add_argument("--external", action="append", default=[], metavar="IP", help="an address outside the cluster to include (repeatable)")
    output = matrix.add_mutually_exclusive_group()
    output.add_argument("--json", action="store_true", help='print {"verdicts": [...]} with every verdict and its reason')
    output.add_argument("--summary", action="store_true", help="print only counts, as JSON (for large clusters)")
    matrix.set_defaults(handler=lazy("labrunner.topics.networkpolicy.cli", "matrix"))

    explain = sub.add_parser("explain", help="one connection: allowed or not, and why")
    explain.add_argument("paths", nargs="+", type=Path, metavar="PATH", help=paths_help)
    explain.add_argument("--from", dest="source", required=True, metavar="SRC", help="namespace/pod or an IP address")
    explain.add_argument("--to", dest="destination", required=True, metavar="DST", help="namespace/pod or an IP address")
    explain.add_argument("--port", required=True, metavar="PROTO/PORT", help="e.g. TCP/3306")
    explain.add_argument("--json", action="store_true")
    explain.set_defaults(handler=lazy("labrunner.topics.networkpolicy.cli", "explain"))

    diff = sub.add_parser("diff", help="do two policy sets mean the same? (over pods of both, plus synthetic ones)")
    diff.add_argument("--mine", nargs="+", type=Path, required=True, metavar="PATH", help="your policies (and pods/namespaces)")
    diff.add_argument("--reference", nargs="+", type=Path, required=True, metavar="PATH", help="the reference policies")
    diff.add_argument("--json", action="store_true")
    diff.set_defaults(handler=lazy("labrunner.topics.networkpolicy.cli", "diff"))

    lint = sub.add_parser("lint", help="the classic mistakes, with line numbers and fixes")
    lint.add_argument("paths", nargs="+", type=Path, metavar="PATH", help=paths_help)
    lint.add_argument("--json", action="store_true")
    lint.set_defaults(handler=lazy("labrunner.topics.networkpolicy.cli", "lint"))


def _read(paths: list[Path]) -> tuple[list[SourceObject], Cluster, dict[int, SourceObject]]:
    from labrunner.topics.networkpolicy.files import InputError, cluster_from_sources, read_objects

    try:
        objects = read_objects(paths)
        cluster, origins = cluster_from_sources(objects)
    except InputError as error:
        raise CliError(str(error), ExitCode.USAGE) from None
    return objects, cluster, origins


def _ports(texts: list[str], cluster: Any) -> list[Any]:
    from labrunner.topics.networkpolicy.matrix import default_ports, parse_port

    try:
        return [parse_port(text) for text in texts] if texts else default_ports(cluster)
    except ValueError as error:
        raise CliError(str(error)) from None


def _addresses(texts: list[str]) -> list[Any]:
    from labrunner.topics.networkpolicy.matrix import parse_address

    try:
        return [parse_address(text) for text in texts]
    except ValueError as error:
        raise CliError(str(error)) from None


def matrix(arguments: argparse.Namespace) -> int:
    from labrunner.topics.networkpolicy.evaluate import endpoint_name
    from labrunner.topics.networkpolicy.matrix import Matrix

    _, cluster, _ = _read(arguments.paths)
    result = Matrix(cluster, _ports(arguments.port, cluster), _addresses(arguments.external))
    if arguments.summary:
        _json(result.summary())
    elif arguments.json:
        verdicts = [
            {"src": endpoint_name(s), "dst": endpoint_name(d), "protocol": port[0], "port": port[1], "allowed": allowed, "reason": result.reason(s, d, port)}
            for s, d, port, allowed in result.verdicts()
        ]
        _json({"verdicts": verdicts})
    else:
        print("\n".join(_grid(result)))
    return ExitCode.OK


def _grid(result: Any) -> list[str]:
    """One table per port: rows are sources, columns destinations, by groups of alike pods."""
    from labrunner.topics.networkpolicy.evaluate import endpoint_name

    groups: list[list[Any]] = result.behaviour_groups() + [[address] for address in result.externals]
    names = [f"G{i + 1}" for i in range(len(groups) - len(result.externals))] + [str(a) for a in result.externals]
    lines = ["Groups (pods that behave alike):"]
    for name, group in zip(names, groups):
        if hasattr(group[0], "ref"):
            lines.append(f"  {name}: {', '.join(endpoint_name(m) for m in group)}  ({group[0].describe_labels()})")
    width = max(len(name) for name in names)
    for port in result.ports:
        lines += ["", f"{port[0]} {port[1]}   (rows: from, columns: to; ✓ allowed, ✗ denied)"]
        lines.append(" " * (width + 2) + " ".join(name.rjust(width) for name in names))
        for row_name, sources in zip(names, groups):
            cells = []
            for destinations in groups:
                pod_involved = hasattr(sources[0], "ref") or hasattr(destinations[0], "ref")
                if sources is destinations:
                    pair = (sources[0], sources[1]) if len(sources) > 1 else None
                else:
                    pair = (sources[0], destinations[0]) if pod_involved else None
                if pair is None:
                    cells.append("-".rjust(width))
                else:
                    cells.append(("✓" if result.allowed(pair[0], pair[1], *port) else "✗").rjust(width))
            lines.append(row_name.rjust(width) + "  " + " ".join(cells))
    return lines


def explain(arguments: argparse.Namespace) -> int:
    from labrunner.topics.networkpolicy.evaluate import evaluate, resolve_endpoint
    from labrunner.topics.networkpolicy.matrix import parse_port

    _, cluster, _ = _read(arguments.paths)
    try:
        source = resolve_endpoint(cluster, arguments.source)
        destination = resolve_endpoint(cluster, arguments.destination)
        protocol, port = parse_port(arguments.port)
    except (KeyError, ValueError) as error:
        raise CliError(str(error.args[0]) if error.args else str(error)) from None
    verdict = evaluate(cluster, source, destination, protocol, port)
    if arguments.json:
        _json({**verdict.as_json(), "egress": _side(verdict.egress), "ingress": _side(verdict.ingress)})
    else:
        print(verdict.sentence())
    return ExitCode.OK if verdict.allowed else ExitCode.FAILED


def _side(side: Any) -> dict[str, Any]:
    admitted = side.admitted_by
    return {
        "endpoint": side.endpoint,
        "isolated_by": [policy.ref for policy in side.isolating],
        "allowed": side.allowed,
        "admitted_by": (
            {"policy": admitted.policy.ref, "rule": admitted.rule + 1, "peer": None if admitted.peer is None else admitted.peer + 1, "port": None if admitted.port is None else admitted.port + 1}
            if admitted
            else None
        ),
        "why_not": list(side.misses),
        "sentence": side.sentence(),
    }


def diff(arguments: argparse.Namespace) -> int:
    from labrunner.topics.networkpolicy.diff import diff as compare
    from labrunner.topics.networkpolicy.model import Cluster

    _, mine_cluster, mine_origins = _read(arguments.mine)
    _, reference_cluster, _ = _read(arguments.reference)
    namespaces = {**reference_cluster.namespaces, **mine_cluster.namespaces}
    pods = {pod.ref: pod for pod in (*reference_cluster.pods, *mine_cluster.pods)}
    world = Cluster(namespaces=namespaces, pods=tuple(pods.values()), policies=())
    result = compare(world, mine_cluster.policies, reference_cluster.policies)
    mistakes = [] if result.same else _mistakes(world, mine_cluster.policies, reference_cluster.policies, mine_origins)
    if arguments.json:
        _json({"same": result.same, "mistakes": mistakes, "summary": result.summary(),
               "differences": [d.as_json() for d in result.differences],
               "universe": {"pods": result.universe_pods, "ports": result.universe_ports}})
    elif result.same:
        print(f"Same meaning: every connection is decided alike ({result.universe_pods} pods, real and synthetic, on {result.universe_ports} ports).")
    else:
        if mistakes:
            print("Why:")
            for mistake in mistakes:
                print(f"  - {mistake['sentence']}")
        print("Different meaning:")
        for line in result.summary(limit=10):
            print(f"  - {line}")
    return ExitCode.OK if result.same else ExitCode.FAILED


def _mistakes(world: Any, mine: Any, reference: Any, origins: dict[int, SourceObject]) -> list[dict[str, Any]]:
    """The parts of ``mine`` that make it mean something else, each with its place in its file."""
    from labrunner.topics.networkpolicy.pinpoint import judge_of, pinpoint

    found = []
    by_name = {policy.name: origins.get(id(policy)) for policy in mine}
    for culprit in pinpoint(world, mine, reference, judge_of(world, reference, 10.0)):
        source = by_name.get(culprit.policy)
        where = source.where(culprit.path) if source is not None and culprit.path else None
        found.append({"policy": culprit.policy, "field": ".".join(str(part) for part in culprit.path), "where": where,
                      "sentence": culprit.sentence(f" ({where})" if where else "").replace("this step", "the reference")})
    return found


def lint(arguments: argparse.Namespace) -> int:
    from labrunner.topics.networkpolicy.lint import lint as find

    objects, _, _ = _read_lenient(arguments.paths)
    findings = find(objects)
    if arguments.json:
        _json({"findings": [finding.as_json() for finding in findings]})
    else:
        for finding in findings:
            print(finding)
        suggestion = next((f.suggestion for f in findings if f.suggestion), None)
        if suggestion:
            print("\nThe manifest most likely meant:\n")
            print(suggestion)
        errors = sum(1 for f in findings if f.severity == "error")
        print(f"labrunner: {len(findings)} finding(s), {errors} error(s)", file=sys.stderr)
    return ExitCode.FAILED if any(f.severity == "error" for f in findings) else ExitCode.OK


def _read_lenient(paths: list[Path]) -> tuple[list[SourceObject], None, None]:
    """Like _read, but a policy the engine cannot parse is a lint finding, not a stop."""
    from labrunner.topics.networkpolicy.files import InputError, read_objects

    try:
        return read_objects(paths), None, None
    except InputError as error:
        raise CliError(str(error), ExitCode.USAGE) from None


def _json(data: Any) -> None:
    json.dump(data, sys.stdout, indent=2, ensure_ascii=False)
    print()
