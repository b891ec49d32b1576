"""The headless paths pay for no heavy import: proved in a fresh interpreter,
because import-linter sees only the static graph, not what a command imports."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

HEAVY = ("textual", "kubernetes", "aiohttp")

PROBE = """
import json, runpy, sys
sys.argv = ["labrunner", *json.loads(sys.argv[1])]
try:
    runpy.run_module("labrunner", run_name="__main__", alter_sys=True)
except SystemExit:
    pass
sys.stdout.flush()
print("\\nMODULES=" + json.dumps(sorted({name.split(".")[0] for name in sys.modules})), file=sys.stderr)
"""


@pytest.mark.parametrize(
    "argv",
    [["--help"], ["list"], ["list", "--json"], ["validate", "labs"], ["show", "networkpolicies", "deny-ingress"], ["doctor"],
     ["netpol", "lint", "assets/networkpolicies/ingress-egress-policy-broken.yaml"],
     ["netpol", "matrix", "assets/networkpolicies", "--summary"], ["sandbox", "status"], ["sandbox", "env"]],
    ids=lambda argv: " ".join(argv),
)
def test_headless_commands_import_no_heavy_package(argv: list[str]) -> None:
    completed = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(argv)], capture_output=True, text=True, check=False
    )
    line = next(line for line in completed.stderr.splitlines() if line.startswith("MODULES="))
    loaded = set(json.loads(line.removeprefix("MODULES=")))
    assert loaded.isdisjoint(HEAVY), f"labrunner {' '.join(argv)} imported {sorted(loaded & set(HEAVY))}"
    assert "labrunner" in loaded
