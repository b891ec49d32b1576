#!/usr/bin/env python3
"""Full-connectivity figures: labrunner's NetworkPolicy engine beside IBM's
network-config-analyzer (NCA), on the same generated clusters and ports.

    .venv/bin/python benchmarks/netpol_scale.py [--peer-max-pods 1000]

Each engine runs in a fresh process (ours: best of three); wall time and peak RSS are that process's
(ours reads the cluster as JSON, NCA as YAML files, each its own way).
NCA runs from ``.venv-nca`` (made by scripts/test) and only up to
``--peer-max-pods`` (it grows ~8x per doubling of pods; the issue's figures on
this machine: ~13 s at 1000 x 500, ~7.5 min at 5000 x 2000). Both must count
the same allowed connections: the generator stays where their semantics agree
(no ipBlock covers a pod IP, no ``egress: []`` without policyTypes, self pairs
excluded). Targets (issue 4): 1000 x 500 at least 50x faster than NCA,
5000 x 2000 under 5 s, memory under 1 GiB.
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
from netpol_cluster_gen import PORTS, generate  # noqa: E402

SIZES = [(100, 50, 10), (1000, 500, 20), (5000, 2000, 50)]
NCA_PYTHON = REPO / ".venv-nca" / "bin" / "python"
DRIVER = REPO / "tests" / "netpol" / "nca_driver.py"

OURS = """
import json, sys, time
from labrunner.topics.networkpolicy.parse import cluster_from_objects
from labrunner.topics.networkpolicy.matrix import Matrix
objects = json.load(open(sys.argv[1]))["items"]
ports = [tuple(p) for p in json.loads(sys.argv[2])]
started = time.perf_counter()
summary = Matrix(cluster_from_objects(objects), ports).summary()
print(json.dumps({**summary, "engine_seconds": time.perf_counter() - started}))
"""


def timed(command: list[str]) -> tuple[float, int, str]:
    """Wall seconds, peak RSS in MiB, and stdout of one fresh process."""
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    output = process.stdout.read() if process.stdout else ""
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"{command[:2]} failed")
    return elapsed, usage.ru_maxrss // 1024, output


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--peer-max-pods", type=int, default=1000, help="largest cluster to give NCA (default 1000)")
    arguments = parser.parse_args()
    print(f"ports: {', '.join(f'{p}/{n}' for p, n in PORTS)}")
    print(f"{'pods x policies (ns)':<22} {'ours':>9} {'rss':>7} {'NCA':>10} {'rss':>7} {'speed-up':>9}  allowed (ours / NCA)")
    for pods, policies, namespaces in SIZES:
        objects = generate(pods, policies, namespaces)
        with tempfile.TemporaryDirectory() as folder:
            case = Path(folder)
            (case / "all.json").write_text(json.dumps({"apiVersion": "v1", "kind": "List", "items": objects}))
            # Best of three for ours (a fraction of a second each); one run of the peer, which takes minutes.
            ours_time, ours_rss, ours_out = min(
                (timed([sys.executable, "-c", OURS, str(case / "all.json"), json.dumps(PORTS)]) for _ in range(3)),
                key=lambda run: run[0],
            )
            summary = json.loads(ours_out)
            peer = "not run"
            row_tail = f"{summary['allowed']} / -"
            if NCA_PYTHON.exists() and pods <= arguments.peer_max_pods:
                for name, kind in (("ns.yaml", "Namespace"), ("pods.yaml", "Pod"), ("policies.yaml", "NetworkPolicy")):
                    items = [obj for obj in objects if obj["kind"] == kind]
                    (case / name).write_text(yaml.safe_dump({"apiVersion": "v1", "kind": "List", "items": items}))
                ports_arg = ",".join(f"{p}/{n}" for p, n in PORTS)
                nca_time, nca_rss, nca_out = timed([str(NCA_PYTHON), str(DRIVER), "--count", ports_arg, str(case)])
                nca_allowed = json.loads(nca_out)[str(case)]
                agree = "agree" if nca_allowed == summary["allowed"] else "DISAGREE"
                peer = f"{nca_time:>9.2f}s {nca_rss:>5}MiB {nca_time / ours_time:>8.0f}x"
                row_tail = f"{summary['allowed']} / {nca_allowed} ({agree})"
            elif not NCA_PYTHON.exists():
                peer = "(no .venv-nca)"
            label = f"{pods} x {policies} ({namespaces})"
            if peer.startswith(" ") or peer[0].isdigit():
                print(f"{label:<22} {ours_time:>8.2f}s {ours_rss:>5}MiB {peer}  {row_tail}")
            else:
                print(f"{label:<22} {ours_time:>8.2f}s {ours_rss:>5}MiB {peer:>27}  {row_tail}")
        print(
            f"{'':<22} ours: {summary['engine_seconds']:.2f}s in the engine (the rest is start-up and JSON input); "
            f"groups of alike pods: {summary['groups']}, verdicts: {summary['verdicts']}",
            flush=True,
        )


if __name__ == "__main__":
    main()
