#!/usr/bin/env python3
"""Containers that run their own command, at scale, beside kubectl's own start-up (issue 13):

    .venv/bin/python benchmarks/sandbox_containers.py [--pods N]

- N busybox pods (200 by default) each running ``while true; do date >> /tmp/x; sleep 1; done``:
  the sandbox's CPU share and resident size once they all run;
- ``kubectl get pods -A`` meanwhile, beside ``kubectl version --client`` (goal: within 1.5x) and
  beside ``kubectl get namespace kube-system`` (kubectl's floor with any server: its kubeconfig,
  TLS, one tiny answer);
- the event loop's worst stall meanwhile, seen from outside: the slowest of 100 ``/healthz``
  round trips, beside the median (goal: under 50 ms);
- ``kubectl apply`` of an nginx Deployment to its pod Ready (goal: under 1 s at time scale 1).
Nothing is asserted; time scale 1.
"""

from __future__ import annotations

import argparse
import json
import os
import ssl
import statistics
import sys
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from sandbox_session import sandbox_kubectl  # noqa: E402

TICKER = "while true; do date >> /tmp/x; sleep 1; done"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pods", type=int, default=200)
    arguments = parser.parse_args()
    with sandbox_kubectl() as (run, state):
        server = json.loads((state / "sandbox" / "server.json").read_text())

        def median_ms(*argv: str, runs: int = 7) -> float:
            timings = []
            for _ in range(runs):
                started = time.perf_counter()
                run(*argv)
                timings.append(time.perf_counter() - started)
            return statistics.median(timings) * 1000

        manifest = "".join(
            f"---\napiVersion: v1\nkind: Pod\nmetadata: {{name: ticker-{i}, namespace: default}}\n"
            f"spec:\n  containers:\n  - name: ticker\n    image: busybox\n    command: [sh, -c, {json.dumps(TICKER)}]\n"
            for i in range(arguments.pods))
        run("apply", "-f", "-", stdin=manifest)
        deadline = time.monotonic() + 120
        while True:
            pods = json.loads(run("get", "pods", "-o", "json").stdout)["items"]
            running = sum(1 for p in pods if (p.get("status") or {}).get("phase") == "Running")
            if running == arguments.pods or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        time.sleep(5)  # every loop has written a few lines
        cpu_before, wall_before = _cpu_seconds(server["pid"]), time.monotonic()
        time.sleep(10)
        cpu_share = (_cpu_seconds(server["pid"]) - cpu_before) / (time.monotonic() - wall_before)
        print(f"{arguments.pods} pods running '{TICKER}' ({running} Running)")
        print(f"  sandbox CPU {cpu_share * 100:5.1f} % of one core, resident {_rss_mib(server['pid']):5.0f} MiB")
        get_all = median_ms("get", "pods", "-A")
        client = median_ms("version", "--client")
        one = median_ms("get", "namespace", "kube-system")
        print(f"  kubectl get pods -A {get_all:6.0f} ms   kubectl version --client {client:4.0f} ms   ratio {get_all / client:4.1f}x (goal: 1.5x)")
        # kubectl's own floor with any server: loading the kubeconfig, TLS, one tiny answer
        print(f"  kubectl get namespace kube-system {one:4.0f} ms (one object: {one / client:3.1f}x of --client; "
              f"200 pods cost {get_all - one:3.0f} ms more)")
        stalls = _healthz_round_trips(server["port"], state / "sandbox" / "ca.crt")
        print(f"  /healthz round trip: median {statistics.median(stalls):5.1f} ms, slowest {max(stalls):5.1f} ms of {len(stalls)} "
              "(the event loop's worst stall, seen from outside; goal: under 50 ms)")
        lines = run("exec", "ticker-0", "--", "wc", "-l", "/tmp/x").stdout.split()[0]
        print(f"  ticker-0 wrote {lines} lines to /tmp/x")
        run("delete", "pods", "--all", "--wait=false")
        started = time.perf_counter()
        run("create", "deployment", "web", "--image=nginx:1.27")
        run("wait", "--for=condition=Ready", "pod", "-l", "app=web", "--timeout=60s")
        print(f"nginx Deployment, kubectl create to pod Ready: {(time.perf_counter() - started) * 1000:.0f} ms (goal: under 1 s)")


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _healthz_round_trips(port: int, ca: Path) -> list[float]:
    context = ssl.create_default_context(cafile=str(ca))
    timings = []
    for _ in range(100):
        started = time.perf_counter()
        with urllib.request.urlopen(f"https://127.0.0.1:{port}/healthz", context=context, timeout=10) as answer:
            answer.read()
        timings.append((time.perf_counter() - started) * 1000)
        time.sleep(0.05)
    return timings


if __name__ == "__main__":
    main()
