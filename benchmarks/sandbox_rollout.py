#!/usr/bin/env python3
"""A 50-replica rolling update on the sandbox (time scale 1), beside what the real
deployment controller's arithmetic gives for the same rollout:

    .venv/bin/python benchmarks/sandbox_rollout.py [--runs N] [--replicas N]

Sandbox: ``kubectl set env deployment/web RUN=n`` (a new template each run, strategy
defaults 25 %/25 %), then the time until ``kubectl rollout status`` returns, and the number of
ScalingReplicaSet events the rollout wrote (each is one ReplicaSet scale step).

Model: the rules of pkg/controller/deployment (NewRSNewReplicas, reconcileOldReplicaSets,
scaleDownOldReplicaSetsForRollingUpdate, ResolveFenceposts' rounding), applied by a controller
that reacts at once, to pods that all become available exactly T after their ReplicaSet is scaled
up, T being the sandbox kubelet's time from scheduling to Ready (kubelet_stages.READY_SECONDS).
On a real cluster T is the image pull, start and readiness time, different per pod, so a real
rollout takes about as many waves but more (smaller) steps, as pods turn available one by one.
Medians; nothing is asserted.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "benchmarks"))
sys.path.insert(0, str(REPO))
from sandbox_session import sandbox_kubectl  # noqa: E402

from labrunner.sandbox.controllers.kubelet_stages import READY_SECONDS  # noqa: E402


def model(desired: int, surge_percent: int = 25, unavailable_percent: int = 25, ready_after: float = READY_SECONDS) -> tuple[float, int]:
    """(time to complete, scale steps) of a rolling update by the controller's rules, every new
    pod available ``ready_after`` seconds after its scale-up, the controller reacting at once."""
    surge = math.ceil(surge_percent * desired / 100)
    unavailable = math.floor(unavailable_percent * desired / 100)
    if surge == 0 and unavailable == 0:
        unavailable = 1
    min_available = desired - unavailable
    old, new, ready_at = desired, 0, []  # ready_at: when each new pod becomes available
    now, steps = 0.0, 0
    while True:
        while True:  # syncs at this instant, one step each, until none changes anything
            available_new = sum(1 for t in ready_at if t <= now)
            total = old + new
            if new < desired and total < desired + surge:  # reconcileNewReplicaSet
                count = min(desired + surge - total, desired - new)
                new += count
                ready_at += [now + ready_after] * count
                steps += 1
                continue
            most = total - min_available - (new - available_new)  # reconcileOldReplicaSets' maxScaledDown
            available = old + available_new  # old pods are all healthy: cleanupUnhealthyReplicas does nothing
            if old > 0 and most > 0 and available > min_available:
                old -= min(old, available - min_available)  # scaleDownOldReplicaSetsForRollingUpdate
                steps += 1
                continue
            break
        if old == 0 and sum(1 for t in ready_at if t <= now) == desired:
            return now, steps
        now = min(t for t in ready_at if t > now)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--replicas", type=int, default=50)
    arguments = parser.parse_args()
    timings, step_counts = [], []
    with sandbox_kubectl() as (run, _):
        client = []
        for _ in range(5):
            started = time.perf_counter()
            run("version", "--client")
            client.append(time.perf_counter() - started)
        run("create", "deployment", "web", "--image=nginx:1.27", f"--replicas={arguments.replicas}")
        run("rollout", "status", "deployment/web", "--timeout=300s")
        for number in range(1, arguments.runs + 1):
            before = {e["metadata"]["name"] for e in json.loads(run("get", "events", "-o", "json").stdout)["items"]}
            started = time.perf_counter()
            run("set", "env", "deployment/web", f"RUN={number}")
            run("rollout", "status", "deployment/web", "--timeout=300s")
            timings.append(time.perf_counter() - started)
            events = json.loads(run("get", "events", "-o", "json").stdout)["items"]
            step_counts.append(sum(1 for e in events if e["reason"] == "ScalingReplicaSet" and e["metadata"]["name"] not in before))
    model_time, model_steps = model(arguments.replicas)
    kubectl_ms = statistics.median(client) * 1000
    print(f"rolling update of {arguments.replicas} replicas, maxSurge 25% / maxUnavailable 25%, time scale 1 ({arguments.runs} runs)")
    print(f"{'sandbox: set env until rollout status returns (median)':<62} {statistics.median(timings):>7.2f} s"
          f"   (includes two kubectl start-ups, {kubectl_ms:.0f} ms each)")
    print(f"{'sandbox: ReplicaSet scale steps (ScalingReplicaSet events)':<62} {statistics.median(step_counts):>7.0f}"
          f"   (runs: {', '.join(str(n) for n in step_counts)})")
    print(f"{'model: the controller rules, pods available after T':<62} {model_time:>7.2f} s   (T = {READY_SECONDS} s, the sandbox kubelet's)")
    print(f"{'model: ReplicaSet scale steps':<62} {model_steps:>7d}")


if __name__ == "__main__":
    main()
