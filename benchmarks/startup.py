#!/usr/bin/env python3
"""Start-up figures: median wall time of headless commands, beside the floor
(``python -c pass``) measured in the same run.

    .venv/bin/python benchmarks/startup.py [--runs N]

Target (issue 3): ``labrunner list`` under 0.2 s on the 2-core development machine.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CASES = {
    "python -c pass (floor)": [sys.executable, "-c", "pass"],
    "labrunner --help": [sys.executable, "-m", "labrunner", "--help"],
    "labrunner list": [sys.executable, "-m", "labrunner", "list"],
    "labrunner list --json": [sys.executable, "-m", "labrunner", "list", "--json"],
    "labrunner validate labs/": [sys.executable, "-m", "labrunner", "validate", "labs"],
    "labrunner show networkpolicies deny-ingress": [sys.executable, "-m", "labrunner", "show", "networkpolicies", "deny-ingress"],
}


def measure(command: list[str], runs: int) -> list[float]:
    environment = {**os.environ, "PYTHONDONTWRITEBYTECODE": "0"}
    subprocess.run(command, cwd=REPO, capture_output=True, env=environment, check=True)  # warm the caches
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(command, cwd=REPO, capture_output=True, env=environment, check=True)
        timings.append(time.perf_counter() - started)
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    arguments = parser.parse_args()
    print(f"{'command':<46} {'median':>8} {'min':>8} {'max':>8}  (over the floor)")
    floor = None
    for name, command in CASES.items():
        timings = measure(command, arguments.runs)
        median = statistics.median(timings)
        floor = median if floor is None else floor
        extra = "" if name.startswith("python") else f"  (+{(median - floor) * 1000:.0f} ms)"
        print(f"{name:<46} {median * 1000:>6.0f}ms {min(timings) * 1000:>6.0f}ms {max(timings) * 1000:>6.0f}ms{extra}")


if __name__ == "__main__":
    main()
