#!/usr/bin/env python3
"""Sandbox figures: start-to-ready, the server's memory, and kubectl round trips
beside kubectl's own start-up, in one run.

    .venv/bin/python benchmarks/sandbox_kubectl.py [--runs N]

Targets (issue 5): start to ready under 1 s; ``kubectl get pods -n networkdemo``
with the lab deployed within 1.5x of ``kubectl version --client`` (kubectl's own
start-up); RSS under 150 MiB with the lab deployed (its steps 1 to 5 and 7).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def labrunner(state: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "LABRUNNER_STATE_DIR": str(state)}
    return subprocess.run([sys.executable, "-m", "labrunner", *argv], capture_output=True, text=True, env=environment, check=True)


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def median_ms(command: list[str], environment: dict[str, str], runs: int) -> float:
    subprocess.run(command, capture_output=True, env=environment, check=True)  # warm caches
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(command, capture_output=True, env=environment, check=True)
        timings.append(time.perf_counter() - started)
    return statistics.median(timings) * 1000


def deploy_lab(kubectl: str, environment: dict[str, str]) -> None:
    """The NetworkPolicy lab's steps 1 to 5 and 7, as a learner types them."""
    assets = REPO / "assets" / "networkpolicies"
    for argv in (
        ["create", "namespace", "networkdemo"],
        ["apply", "-n", "networkdemo", "-f", str(assets / "mysqlpod.yaml")],
        ["apply", "-n", "networkdemo", "-f", str(assets / "app.yaml")],
        ["rollout", "status", "deployment/mysql", "-n", "networkdemo", "--timeout=60s"],
        ["rollout", "status", "deployment/interpoddemo", "-n", "networkdemo", "--timeout=60s"],
        ["expose", "deployment", "mysql", "-n", "networkdemo", "--port", "3306"],
        ["expose", "deployment", "interpoddemo", "-n", "networkdemo", "--port", "80"],
        ["apply", "-f", str(assets / "calico-sandbox.yaml")],
        ["rollout", "status", "daemonset/calico-node", "-n", "kube-system", "--timeout=60s"],
    ):
        subprocess.run([kubectl, *argv], capture_output=True, env=environment, check=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    arguments = parser.parse_args()
    starts, first_starts = [], []
    with tempfile.TemporaryDirectory() as folder:
        state = Path(folder)
        for attempt in range(5):
            fresh = state / f"fresh-{attempt}"
            started = time.perf_counter()
            labrunner(fresh, "sandbox", "start")
            first_starts.append(time.perf_counter() - started)
            labrunner(fresh, "sandbox", "stop")
            started = time.perf_counter()
            labrunner(fresh, "sandbox", "start")  # certificates exist now
            starts.append(time.perf_counter() - started)
            if attempt < 4:
                labrunner(fresh, "sandbox", "stop")
        import json

        info = json.loads((fresh / "sandbox" / "server.json").read_text())
        print(f"{'sandbox start to ready (first, makes its CA)':<50} {statistics.median(first_starts) * 1000:>7.0f} ms")
        print(f"{'sandbox start to ready (restart)':<50} {statistics.median(starts) * 1000:>7.0f} ms")
        print(f"{'sandbox server RSS, idle':<50} {rss_mib(info['pid']):>7.1f} MiB")
        kubectl = shutil.which("kubectl")
        if kubectl:
            # A HOME of its own: kubectl keeps its discovery cache there (warmed by the first run of each command).
            environment = {**os.environ, "KUBECONFIG": str(fresh / "sandbox" / "kubeconfig"), "HOME": str(state)}
            deploy_lab(kubectl, environment)
            print(f"{'sandbox server RSS, the lab deployed':<50} {rss_mib(info['pid']):>7.1f} MiB")
            client_only = median_ms([kubectl, "version", "--client"], environment, arguments.runs)
            print(f"{'kubectl version --client (kubectl start-up)':<50} {client_only:>7.0f} ms")
            for label, command in (
                ("kubectl version (against the sandbox)", [kubectl, "version"]),
                ("kubectl get pods -n networkdemo", [kubectl, "get", "pods", "-n", "networkdemo"]),
                ("kubectl get netpol,svc,deploy -n networkdemo", [kubectl, "get", "netpol,svc,deploy", "-n", "networkdemo"]),
            ):
                round_trip = median_ms(command, environment, arguments.runs)
                print(f"{label:<50} {round_trip:>7.0f} ms   ({round_trip / client_only:.2f}x)")
        else:
            print("kubectl not on PATH: round trips not measured")
        labrunner(fresh, "sandbox", "stop")


if __name__ == "__main__":
    main()
