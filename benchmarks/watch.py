#!/usr/bin/env python3
"""How soon the Session re-checks the current step after the learner changes the cluster.

    .venv/bin/python benchmarks/watch.py [--runs N]

On a fresh sandbox, the session sits on "create-namespace" and watches; each run
types ``kubectl create namespace`` and measures from the moment kubectl returns
(the change is in the API) to the moment the session hands over a passed outcome.
Side by side: what polling would give, ``watch -n 2 labrunner check`` (half the
interval plus one check process, on average). Target (issue 7): within a second.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        os.environ.update(LABRUNNER_STATE_DIR=folder, HOME=folder)
        os.environ.pop("KUBECONFIG", None)
        from labrunner.cluster.kube import connect
        from labrunner.lab.loader import load_lab
        from labrunner.sandbox.control import start, stop
        from labrunner.sandbox.files import SandboxFiles
        from labrunner.session.progress import Progress
        from labrunner.session.session import Session, StepOutcome

        files = SandboxFiles.default()
        start(files)
        kubectl = ["kubectl", "--kubeconfig", str(files.kubeconfig)]
        try:
            cluster = connect(files.kubeconfig)
            session = Session(load_lab(REPO / "labs" / "networkpolicies", {"namespace": "watchbench"}), cluster, Progress.default())
            step = session.lab.step("create-namespace")
            passed = threading.Event()

            def on_outcome(outcome: StepOutcome, reasons: list[str]) -> None:
                if outcome.step.id == step.id and outcome.status == "passed":
                    passed.set()

            session.jump(step)
            session.watch(on_outcome)
            time.sleep(1.0)  # the watches connect
            latencies = []
            for _ in range(arguments.runs):
                passed.clear()
                subprocess.run([*kubectl, "create", "namespace", "watchbench"], check=True, capture_output=True)
                changed = time.perf_counter()
                if not passed.wait(10):
                    print("no re-check within 10 s", file=sys.stderr)
                    break
                latencies.append(time.perf_counter() - changed)
                session.unwatch()
                subprocess.run([*kubectl, "delete", "namespace", "watchbench"], check=True, capture_output=True)
                session.jump(step)
                session.watch(on_outcome)
                time.sleep(1.0)
            started = time.perf_counter()
            subprocess.run([sys.executable, "-m", "labrunner", "check", "networkpolicies", "create-namespace", "--sandbox", "--json"],
                           capture_output=True)
            one_check = time.perf_counter() - started
            session.unwatch()
        finally:
            stop(files)
    print(f"change -> passed outcome, {len(latencies)} runs: median {statistics.median(latencies) * 1000:.0f} ms, "
          f"max {max(latencies) * 1000:.0f} ms (debounce: 0.3 s of quiet, at most 1 s)")
    print(f"polling peer, watch -n 2 labrunner check: mean {1000 + one_check * 1000:.0f} ms, worst {2000 + one_check * 1000:.0f} ms "
          f"(one check process: {one_check * 1000:.0f} ms)")


if __name__ == "__main__":
    main()
