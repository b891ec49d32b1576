#!/usr/bin/env python3
"""Sandbox figures: start-to-ready, the server's memory, and kubectl round trips
beside kubectl's own start-up, in one run.

    .venv/bin/python benchmarks/sandbox_kubectl.py [--runs N]

Targets (issue 5): start to ready under 1 s; a kubectl command against the
sandbox within 1.5x of ``kubectl version --client``; RSS under 150 MiB with the
lab deployed. This slice of the sandbox serves /version and health only, so the
round trip measured is ``kubectl version`` (client and server); ``kubectl get
pods -n networkdemo`` joins when the sandbox stores objects.
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
            environment = {**os.environ, "KUBECONFIG": str(fresh / "sandbox" / "kubeconfig")}
            client_only = median_ms([kubectl, "version", "--client"], environment, arguments.runs)
            round_trip = median_ms([kubectl, "version"], environment, arguments.runs)
            print(f"{'kubectl version --client (kubectl start-up)':<50} {client_only:>7.0f} ms")
            print(f"{'kubectl version (against the sandbox)':<50} {round_trip:>7.0f} ms   ({round_trip / client_only:.2f}x)")
        else:
            print("kubectl not on PATH: round trips not measured")
        labrunner(fresh, "sandbox", "stop")


if __name__ == "__main__":
    main()
