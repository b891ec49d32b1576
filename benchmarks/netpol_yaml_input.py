#!/usr/bin/env python3
"""YAML input figures: ``labrunner netpol matrix|explain|diff|lint`` on a cluster
written as YAML files, beside the same command on the same cluster as one JSON file
(``kubectl get -o json``), and beside the floor: the same engine work on the same
objects read with ``json.load`` in a bare interpreter (no CLI).

    .venv/bin/python benchmarks/netpol_yaml_input.py [--runs N]

The cluster is benchmarks/netpol_cluster_gen.py's 5,000 pods, 50 namespaces and
2,000 policies (seed 7), written as ``kubectl get ns|pods|netpol -A -o yaml``
prints them (a ``kind: List`` per file, keys sorted, block style), and as one
JSON List. ``diff`` compares the whole cluster (namespaces, 5,000 pods, 2,000 policies)
with the same policies but the last (a universe of ~140,000 pods, real and synthetic). Each run
is a fresh process; wall seconds are the best of ``--runs``, peak memory that
process's ru_maxrss. The floor has no node tree, so ``lint``'s floor names no
places (it does the checks, not the locating). Target (issue 21): YAML within
2x of JSON, under 500 MiB.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "benchmarks"))
from netpol_cluster_gen import generate  # noqa: E402

PODS, POLICIES, NAMESPACES = 5000, 2000, 50

FLOOR = """
import json, sys
from pathlib import Path
import yaml
from labrunner.topics.networkpolicy.parse import cluster_from_objects
command, folder = sys.argv[1], Path(sys.argv[2])
def items(name):
    return json.load(open(folder / name))["items"]
if command == "matrix":
    from labrunner.topics.networkpolicy.matrix import Matrix, default_ports
    cluster = cluster_from_objects(items("cluster.json"))
    print(json.dumps(Matrix(cluster, default_ports(cluster)).summary()))
elif command == "explain":
    from labrunner.topics.networkpolicy.evaluate import evaluate, resolve_endpoint
    cluster = cluster_from_objects(items("cluster.json"))
    verdict = evaluate(cluster, resolve_endpoint(cluster, sys.argv[3]), resolve_endpoint(cluster, sys.argv[4]), "TCP", 8080)
    print(verdict.sentence())
elif command == "diff":
    from labrunner.topics.networkpolicy.diff import diff
    from labrunner.topics.networkpolicy.model import Cluster
    mine = cluster_from_objects(items("cluster.json"))
    reference = cluster_from_objects(items("diff-reference.json"))
    world = Cluster(namespaces={**reference.namespaces, **mine.namespaces}, pods=mine.pods, policies=())
    print(diff(world, mine.policies, reference.policies).summary(limit=10))
else:
    from labrunner.topics.networkpolicy.files import SourceObject
    from labrunner.topics.networkpolicy.lint import lint
    nowhere = yaml.MappingNode("tag:yaml.org,2002:map", [], start_mark=yaml.Mark("", 0, 0, 0, None, None))
    objects = [SourceObject(file=folder / "cluster.json", data=obj, node=nowhere) for obj in items("cluster.json")]
    print(len(lint(objects)))
"""


def dump(path: Path, objects: list[dict]) -> None:
    listing = {"apiVersion": "v1", "items": objects, "kind": "List", "metadata": {"resourceVersion": ""}}
    path.write_text(yaml.safe_dump(listing, sort_keys=True, width=1_000_000))


def write_cluster(folder: Path) -> tuple[str, str]:
    objects = generate(PODS, POLICIES, NAMESPACES, seed=7)
    policies = [obj for obj in objects if obj["kind"] == "NetworkPolicy"]
    for name, kind in (("namespaces.yaml", "Namespace"), ("pods.yaml", "Pod"), ("policies.yaml", "NetworkPolicy")):
        dump(folder / name, [obj for obj in objects if obj["kind"] == kind])
    dump(folder / "diff-reference.yaml", policies[:-1])
    (folder / "cluster.json").write_text(json.dumps({"apiVersion": "v1", "kind": "List", "items": objects}, indent=4))
    (folder / "diff-reference.json").write_text(json.dumps({"apiVersion": "v1", "kind": "List", "items": policies[:-1]}, indent=4))
    pods = [obj for obj in objects if obj["kind"] == "Pod" and obj["metadata"]["namespace"] != "kube-system"]
    source, destination = pods[0]["metadata"], pods[len(pods) // 2]["metadata"]
    return f"{source['namespace']}/{source['name']}", f"{destination['namespace']}/{destination['name']}"


def timed(command: list[str]) -> tuple[float, int]:
    """Wall seconds and peak RSS (MiB) of one fresh process."""
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) not in (0, 1):
        raise RuntimeError(f"{' '.join(command)} failed ({os.waitstatus_to_exitcode(status)})")
    return elapsed, usage.ru_maxrss // 1024


def best(command: list[str], runs: int) -> tuple[float, int]:
    return min((timed(command) for _ in range(runs)), key=lambda run: run[0])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        source, destination = write_cluster(folder)
        yaml_files = [str(folder / n) for n in ("namespaces.yaml", "pods.yaml", "policies.yaml")]
        labrunner = [sys.executable, "-m", "labrunner", "netpol"]
        floor = [sys.executable, "-c", FLOOR]
        json_file = str(folder / "cluster.json")
        explain = ["--from", source, "--to", destination, "--port", "TCP/8080"]
        cases = {
            "matrix --summary": (labrunner + ["matrix", "--summary", *yaml_files], labrunner + ["matrix", "--summary", json_file],
                                 floor + ["matrix", str(folder)]),
            "explain (one pair)": (labrunner + ["explain", *yaml_files, *explain], labrunner + ["explain", json_file, *explain],
                                   floor + ["explain", str(folder), source, destination]),
            "diff (2,000 vs 1,999)": (labrunner + ["diff", "--mine", *yaml_files, "--reference", str(folder / "diff-reference.yaml")],
                                      labrunner + ["diff", "--mine", json_file, "--reference", str(folder / "diff-reference.json")],
                                      floor + ["diff", str(folder)]),
            "lint": (labrunner + ["lint", *yaml_files], labrunner + ["lint", json_file], floor + ["lint", str(folder)]),
        }
        sizes = sum((folder / n).stat().st_size for n in ("namespaces.yaml", "pods.yaml", "policies.yaml"))
        print(f"{PODS} pods, {NAMESPACES} namespaces, {POLICIES} policies: {sizes / 2**20:.1f} MiB of YAML, "
              f"{(folder / 'cluster.json').stat().st_size / 2**20:.1f} MiB of JSON; best of {arguments.runs}")
        print(f"{'command':<24} {'YAML':>8} {'JSON':>8} {'ratio':>7} {'floor':>8} {'ratio':>7} {'YAML peak':>10} {'JSON peak':>10}")
        for label, (on_yaml, on_json, on_floor) in cases.items():
            yaml_seconds, yaml_rss = best(on_yaml, arguments.runs)
            json_seconds, json_rss = best(on_json, arguments.runs)
            floor_seconds, _ = best(on_floor, arguments.runs)
            print(f"{label:<24} {yaml_seconds:>7.2f}s {json_seconds:>7.2f}s {yaml_seconds / json_seconds:>6.1f}x "
                  f"{floor_seconds:>7.2f}s {yaml_seconds / floor_seconds:>6.1f}x {yaml_rss:>7}MiB {json_rss:>7}MiB", flush=True)


if __name__ == "__main__":
    main()
