#!/usr/bin/env python3
"""Start-up figures: median wall time of headless commands, beside the floor
(``python -c pass``) measured in the same run.

    .venv/bin/python benchmarks/startup.py [--runs N]

Target (issue 3): ``labrunner list`` under 0.2 s on the 2-core development machine.
``list`` reads lab summaries from labrunner's cache when no lab file changed; the
"no cache" row shows the price of validating (pydantic import and model build).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CASES = {
    "python -c pass (floor)": [sys.executable, "-c", "pass"],
    "labrunner --help": [sys.executable, "-m", "labrunner", "--help"],
    "labrunner list": [sys.executable, "-m", "labrunner", "list"],
    "labrunner list --json": [sys.executable, "-m", "labrunner", "list", "--json"],
    "labrunner list (no cache: validates every lab)": [sys.executable, "-m", "labrunner", "list"],
    "labrunner validate labs/": [sys.executable, "-m", "labrunner", "validate", "labs"],
    "labrunner show networkpolicies deny-ingress": [sys.executable, "-m", "labrunner", "show", "networkpolicies", "deny-ingress"],
}


def measure(command: list[str], runs: int, *, cold_cache: bool) -> list[float]:
    environment = dict(os.environ)
    subprocess.run(command, cwd=REPO, capture_output=True, env=environment, check=True)  # warm the OS caches
    timings = []
    for _ in range(runs):
        with tempfile.TemporaryDirectory() as empty:
            if cold_cache:
                environment["LABRUNNER_CACHE_DIR"] = empty  # labrunner's own lab index starts empty
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
        timings = measure(command, arguments.runs, cold_cache="no cache" in name)
        median = statistics.median(timings)
        floor = median if floor is None else floor
        extra = "" if name.startswith("python") else f"  (+{(median - floor) * 1000:.0f} ms)"
        print(f"{name:<46} {median * 1000:>6.0f}ms {min(timings) * 1000:>6.0f}ms {max(timings) * 1000:>6.0f}ms{extra}")


if __name__ == "__main__":
    main()
