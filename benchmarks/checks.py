#!/usr/bin/env python3
"""Check times per step of the NetworkPolicy lab on a fresh sandbox.

    .venv/bin/python benchmarks/checks.py [--runs N]

For each step (after its solution ran): the median in-process time of its checks
(``run_step``), and one ``labrunner check networkpolicies N --json`` as a process.
Targets (issue 7): resource checks under 100 ms in-process, probe checks under
1.5 s; a probe that must time out takes the probe's own wget timeout (5 s) by
design, and is marked so.
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        os.environ["LABRUNNER_STATE_DIR"] = folder
        os.environ["HOME"] = folder
        os.environ.pop("KUBECONFIG", None)
        from labrunner.checks.result import step_status
        from labrunner.checks.runner import run_step
        from labrunner.session.progress import Progress
        from labrunner.session.session import Session
        from labrunner.cluster.kube import connect
        from labrunner.lab.loader import load_lab
        from labrunner.sandbox.control import start, stop
        from labrunner.sandbox.files import SandboxFiles

        files = SandboxFiles.default()
        start(files)
        try:
            cluster = connect(files.kubeconfig)
            lab = load_lab(REPO / "labs" / "networkpolicies")
            session = Session(lab, cluster, Progress.default())
            print(f"{'step':<30} {'kinds':<34} {'in-process':>11} {'process':>9}  status")
            for step in lab.steps:
                session.solve(step)
                timings, status = [], ""
                for _ in range(arguments.runs):
                    started = time.perf_counter()
                    status = step_status(run_step(step, cluster))
                    timings.append(time.perf_counter() - started)
                started = time.perf_counter()
                subprocess.run([sys.executable, "-m", "labrunner", "check", "networkpolicies", str(step.number), "--json", "--sandbox"],
                               capture_output=True, env=dict(os.environ))
                process = time.perf_counter() - started
                kinds = ",".join(sorted({c.kind.replace("-ready", "").replace("namespace-", "ns-") for c in step.checks}))
                slow_by_design = any(c.kind == "probe-http" and c.args.get("expect") == "timeout" for c in step.checks) or any(
                    c.kind == "probe-dns" and c.args.get("expect") == "fails" for c in step.checks)
                note = "  (a probe that must time out)" if slow_by_design else ""
                print(f"{step.number:>2} {step.id:<27} {kinds[:34]:<34} {statistics.median(timings) * 1000:>8.0f} ms {process * 1000:>6.0f} ms  {status}{note}", flush=True)
        finally:
            stop(files)


if __name__ == "__main__":
    main()
