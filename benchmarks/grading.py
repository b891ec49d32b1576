#!/usr/bin/env python3
"""A grader's cost: `labrunner check` per step as a process, cold and answered by the warm
server, beside `kubectl get` of the same object (issue 21's floor: within 4x), and every step
in one `check --all` beside one process per step.

    .venv/bin/python benchmarks/grading.py [--runs N]

On a fresh sandbox with the NetworkPolicy lab solved through step 3 (namespace, mysql and
its Service), so resource steps pass and the rest fail as a half-done learner's would.
Also prints where one `check` process spends its time before it sends a request: the
interpreter, then the imports it makes (python -X importtime, top entries).
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
LABRUNNER = [sys.executable, "-m", "labrunner"]


def timed(argv: list[str], environment: dict[str, str], runs: int) -> float:
    spent = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(argv, env=environment, capture_output=True, check=False)
        spent.append(time.perf_counter() - started)
    return statistics.median(spent)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        environment = {**os.environ, "LABRUNNER_STATE_DIR": folder, "HOME": folder, "LABRUNNER_WARM": "0"}
        environment.pop("KUBECONFIG", None)
        subprocess.run([*LABRUNNER, "solve", "networkpolicies", "--through", "3", "--sandbox"], env=environment,
                       capture_output=True, check=True)
        environment["KUBECONFIG"] = str(Path(folder) / "sandbox" / "kubeconfig")
        warm = {**environment, "LABRUNNER_WARM": "1"}
        try:
            check = timed([*LABRUNNER, "check", "networkpolicies", "3", "--json"], environment, arguments.runs)
            kubectl = timed(["kubectl", "get", "service", "mysql", "-n", "networkdemo", "-o", "json"], environment, arguments.runs)
            subprocess.run([*LABRUNNER, "warm", "start"], env=warm, capture_output=True, check=True)
            warmed = timed([*LABRUNNER, "check", "networkpolicies", "3", "--json"], warm, arguments.runs)
            print(f"one resource step   kubectl get {kubectl * 1000:4.0f} ms")
            print(f"  labrunner check, cold            {check * 1000:6.0f} ms   ratio {check / kubectl:4.1f}x (goal: 4x)")
            print(f"  labrunner check, warm server     {warmed * 1000:6.0f} ms   ratio {warmed / kubectl:4.1f}x (goal: 4x)")
            bare = timed([sys.executable, "-c", "pass"], environment, arguments.runs)
            print(f"  of which the interpreter starting: {bare * 1000:.0f} ms")
            imports = subprocess.run([sys.executable, "-X", "importtime", "-m", "labrunner", "check", "networkpolicies", "3", "--json"],
                                     env=environment, capture_output=True, text=True, check=False).stderr
            top = []
            for line in imports.splitlines():
                found = re.match(r"import time:\s+\d+ \|\s+(\d+) \|( *)(\S+)", line)
                if found and len(found.group(2)) == 1:  # top-level imports only
                    top.append((int(found.group(1)), found.group(3)))
            for microseconds, module in sorted(top, reverse=True)[:6]:
                print(f"  import {module:<40} {microseconds / 1000:6.0f} ms")
            spent = {}
            for name, setting in (("cold", environment), ("warm", warm)):
                started = time.perf_counter()
                for step in range(20):
                    subprocess.run([*LABRUNNER, "check", "networkpolicies", str(step), "--json"], env=setting, capture_output=True, check=False)
                spent[name] = time.perf_counter() - started
            started = time.perf_counter()
            subprocess.run([*LABRUNNER, "check", "networkpolicies", "--all", "--json"], env=environment, capture_output=True, check=False)
            together = time.perf_counter() - started
            print(f"every step (20)      one process per step: cold {spent['cold']:5.1f} s, warm {spent['warm']:5.1f} s   "
                  f"check --all {together:5.1f} s   (the probes' own time is in all three)")
        finally:
            subprocess.run([*LABRUNNER, "warm", "stop"], env=warm, capture_output=True, check=False)
            environment.pop("KUBECONFIG")
            subprocess.run([*LABRUNNER, "sandbox", "stop"], env=environment, capture_output=True, check=False)


if __name__ == "__main__":
    main()
