#!/usr/bin/env python3
"""How long a failing diagnosis's first sentence is (issue 17's goal: under 160 characters),
over every learner mistake the suite makes on the sandbox.

    .venv/bin/python benchmarks/diagnosis_length.py [--workers N] [--show N] [MODULE ...]

Runs the mistake modules under pytest (tests/checks/test_*mistakes*.py and the other modules
that make mistakes on purpose) with a recorder that keeps every failing check's message, as the
learner reads it (the runner's, near misses included; kinds run directly too). Prints the median,
95th percentile and longest first sentence, how many are under 160 characters, and the longest
ones. For NetworkPolicy meaning checks, side by side: the sentence labrunner said before its
diagnoses named the field ("your policies in NS do not mean what this step asks: " and the first
differing connection), rebuilt from the evidence the check still gives.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
MODULES = [
    *sorted(str(p.relative_to(REPO)) for p in (REPO / "tests" / "checks").glob("test_*mistakes*.py")),
    "tests/checks/test_policy_diagnoses.py", "tests/checks/test_root_causes.py", "tests/checks/test_near_misses.py",
    "tests/checks/test_workload_diagnoses.py", "tests/checks/test_probe_explained.py",
]
GOAL = 160


def first_sentence(message: str) -> str:
    return message.split(". ", 1)[0]


def percentile(values: list[int], share: float) -> int:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


def summary(name: str, lengths: list[int]) -> str:
    if not lengths:
        return f"{name:<44} (none)"
    under = sum(1 for n in lengths if n < GOAL)
    return (f"{name:<44} {len(lengths):>5} {statistics.median(lengths):>7.0f} {percentile(lengths, 0.95):>6} "
            f"{max(lengths):>6} {100 * under / len(lengths):>8.0f} %")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("modules", nargs="*", default=[m for m in MODULES if (REPO / m).exists()])
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--show", type=int, default=8, help="how many of the longest first sentences to print")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        record = Path(folder) / "diagnoses.jsonl"
        environment = {**os.environ, "LABRUNNER_DIAGNOSIS_RECORD": str(record),
                       "PYTHONPATH": os.pathsep.join([str(REPO / "benchmarks"), os.environ.get("PYTHONPATH", "")])}
        workers = ["-n", str(options.workers), "--dist", "loadfile"] if options.workers > 1 else []
        completed = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "diagnosis_recorder",
                                    *workers, *options.modules], cwd=REPO, env=environment, capture_output=True, text=True)
        tail = completed.stdout.strip().splitlines()[-1:] or ["(no output)"]
        print(f"pytest over {len(options.modules)} modules: {tail[0]}")
        rows = [json.loads(line) for line in record.read_text().splitlines()] if record.exists() else []
    unique: dict[str, dict[str, object]] = {}
    for row in rows:
        unique.setdefault(str(row["message"]), row)
    found = list(unique.values())
    now = [len(first_sentence(str(row["message"]))) for row in found]
    policy = [row for row in found if row["kind"] == "policy-meaning"]
    before = [len(str(row["before"])) for row in policy if row.get("before")]
    print(f"\n{'failing first sentences (distinct)':<44} {'n':>5} {'median':>7} {'p95':>6} {'max':>6} {'<' + str(GOAL):>10}")
    print(summary("every check kind, now", now))
    print(summary("policy-meaning, now", [len(first_sentence(str(row["message"]))) for row in policy]))
    print(summary("policy-meaning, before issue 17", before))
    by_kind: dict[str, list[int]] = {}
    for row in found:
        by_kind.setdefault(str(row["kind"]), []).append(len(first_sentence(str(row["message"]))))
    print("\nby kind (now):")
    for kind, lengths in sorted(by_kind.items(), key=lambda item: -statistics.median(item[1])):
        print(summary(f"  {kind}", lengths))
    print(f"\nthe {options.show} longest first sentences:")
    for row in sorted(found, key=lambda r: -len(first_sentence(str(r["message"]))))[:options.show]:
        sentence = first_sentence(str(row["message"]))
        print(f"  {len(sentence):>4}  [{row['kind']}] {sentence}")


if __name__ == "__main__":
    main()
