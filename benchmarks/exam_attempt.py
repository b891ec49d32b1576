#!/usr/bin/env python3
"""How long an exam attempt takes to begin and to grade, on a fresh sandbox.

    .venv/bin/python benchmarks/exam_attempt.py [--tasks 16] [--runs 3]

Each run starts a sandbox of its own, then times, through the CLI a candidate uses:
``labrunner exam start --tasks N`` (draw the tasks by the curriculum's weights among those the
sandbox runs, set each up with kubectl, record the attempt) and ``labrunner exam submit``
(grade every sub-task against the cluster). Goals (issue 19): start under 20 s and submit
under 10 s for 16 tasks. The peer, killer.sh, provisions a remote cluster per session and
grades on demand; it publishes no figures, so none is printed beside these.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def labrunner(environment: dict[str, str], *argv: str) -> tuple[float, subprocess.CompletedProcess[str]]:
    began = time.perf_counter()
    completed = subprocess.run([sys.executable, "-m", "labrunner", *argv], capture_output=True, text=True, env=environment, timeout=900)
    return time.perf_counter() - began, completed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=16)
    parser.add_argument("--runs", type=int, default=3)
    arguments = parser.parse_args()
    starts, submits, counts = [], [], []
    for run in range(arguments.runs):
        with tempfile.TemporaryDirectory(prefix="labrunner-bench-exam-") as scratch:
            environment = {**os.environ, "LABRUNNER_STATE_DIR": scratch, "LABRUNNER_WARM": "0", "HOME": scratch}
            environment.pop("KUBECONFIG", None)
            try:
                labrunner(environment, "sandbox", "start")
                took, started = labrunner(environment, "exam", "start", "--sandbox", "--tasks", str(arguments.tasks),
                                          "--seed", str(100 + run), "--json")
                if started.returncode != 0:
                    sys.exit(f"exam start failed: {started.stderr}")
                document = json.loads(started.stdout)
                starts.append(took)
                counts.append(len(document["tasks"]))
                took, submitted = labrunner(environment, "exam", "submit", document["attempt"], "--json")
                if submitted.returncode not in (0, 1):
                    sys.exit(f"exam submit failed: {submitted.stderr}")
                submits.append(took)
            finally:
                labrunner(environment, "sandbox", "stop")
    print(f"exam attempt on a fresh sandbox, {arguments.runs} runs of {counts[0]} tasks (asked {arguments.tasks})")
    print(f"  start (draw + set up + record):  median {statistics.median(starts):5.1f} s  (runs: {', '.join(f'{t:.1f}' for t in starts)})  goal < 20 s")
    print(f"  submit (grade every sub-task):   median {statistics.median(submits):5.1f} s  (runs: {', '.join(f'{t:.1f}' for t in submits)})  goal < 10 s")


if __name__ == "__main__":
    main()
