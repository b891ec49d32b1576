#!/usr/bin/env python3
"""What the sandbox's scheduler costs: 1,000 pods with affinity rules onto its 3 nodes.

    .venv/bin/python benchmarks/scheduling.py [--pods N] [--runs N]

1. The pure algorithm (``labrunner.sandbox.scheduling.schedule``): one cycle per pod, each pod
   bound in the snapshot before the next, as the scheduler's cache assumes it.
2. The sandbox's scheduler controller on a real store (a seeded sandbox database, no server):
   each pod's cycle, its bind written to SQLite and its Scheduled event, as the control loop
   runs it.

The pods carry the rules the CKA teaches: a required node affinity (``kubernetes.io/os In
linux``), a preferred zone, a preferred pod anti-affinity on the hostname (weight 100) and a
required pod affinity to a zone where a ``cache`` pod runs. A seeded sandbox's nodes allow 110
pods each and its control plane is tainted, so the two workers' pod count is raised to 600 for
the run (their status written as a kubelet with ``--max-pods=600`` would report it).

Beside it, kube-scheduler's published figures: the minimum throughputs its CI asserts in
scheduler_perf (kubernetes/kubernetes, test/integration/scheduler_perf/affinity/performance-config.yaml,
``threshold`` in pods/s, measured on 5,000 simulated nodes) and clusterloader2's default
scheduling-throughput threshold (kubernetes/perf-tests, clusterloader2 load test,
``CL2_SCHEDULER_THROUGHPUT_THRESHOLD``, 100 pods/s). No figure is published for a cluster of
three nodes: scheduler_perf's 5-node workloads carry no threshold. Nothing is asserted.
"""

from __future__ import annotations

import argparse
import copy
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

PUBLISHED = (
    ("scheduler_perf SchedulingNodeAffinity, 5000 nodes (CI threshold)", 220),
    ("scheduler_perf SchedulingPreferredPodAntiAffinity, 5000 nodes (CI threshold)", 90),
    ("scheduler_perf SchedulingPodAntiAffinity, 5000 nodes (CI threshold)", 60),
    ("scheduler_perf SchedulingPodAffinity, 5000 nodes (CI threshold)", 35),
    ("clusterloader2 load test, scheduling throughput threshold (default)", 100),
)
"""(workload, pods per second)."""


def pod(index: int) -> dict[str, Any]:
    app = f"app-{index % 10}"
    return {
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": f"bench-{index:04d}", "namespace": "bench", "labels": {"app": app}},
        "spec": {
            "containers": [{"name": "web", "image": "nginx:1.27", "resources": {"requests": {"cpu": "1m", "memory": "4Mi"}}}],
            "affinity": {
                "nodeAffinity": {
                    "requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
                        {"matchExpressions": [{"key": "kubernetes.io/os", "operator": "In", "values": ["linux"]}]}]},
                    "preferredDuringSchedulingIgnoredDuringExecution": [
                        {"weight": 10, "preference": {"matchExpressions": [{"key": "topology.kubernetes.io/zone", "operator": "In",
                                                                            "values": ["labrunner-1b"]}]}}]},
                "podAntiAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
                    {"weight": 100, "podAffinityTerm": {"labelSelector": {"matchLabels": {"app": app}}, "topologyKey": "kubernetes.io/hostname"}}]},
                "podAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
                    {"labelSelector": {"matchLabels": {"role": "cache"}}, "topologyKey": "topology.kubernetes.io/region"}]},
            },
        },
    }


def seeded_store(folder: Path) -> Any:
    from labrunner.sandbox import resources
    from labrunner.sandbox.seed import seed
    from labrunner.sandbox.store import Store

    store = Store(folder / "state.db")
    seed(store)
    nodes = resources.lookup("", "v1", "nodes")
    namespaces = resources.lookup("", "v1", "namespaces")
    pods = resources.lookup("", "v1", "pods")
    assert nodes is not None and namespaces is not None and pods is not None
    for node in store.list(nodes):
        node["status"]["allocatable"]["pods"] = node["status"]["capacity"]["pods"] = "600"
        store.update(nodes, node)
    store.create(namespaces, {"metadata": {"name": "bench", "labels": {"kubernetes.io/metadata.name": "bench"}}})
    store.create(pods, {"metadata": {"name": "cache", "namespace": "bench", "labels": {"role": "cache"}},
                        "spec": {"nodeName": "labrunner-sandbox-worker", "containers": [{"name": "redis", "image": "redis:7"}]}})
    return store


def pure(count: int) -> tuple[float, dict[str, int]]:
    """Seconds for ``count`` cycles of the pure algorithm, and where the pods went."""
    from labrunner.sandbox.scheduling import Snapshot, schedule
    from labrunner.sandbox.seed import NODES, node

    nodes = []
    for name, address, control_plane in NODES:
        made = node(name, address, control_plane)
        made["status"]["allocatable"]["pods"] = "600"
        nodes.append(made)
    cache = {"metadata": {"name": "cache", "namespace": "bench", "uid": "cache", "labels": {"role": "cache"}},
             "spec": {"nodeName": "labrunner-sandbox-worker", "containers": [{"name": "redis"}]}}
    snapshot = Snapshot.build(nodes, [cache], namespace_labels={"bench": {"kubernetes.io/metadata.name": "bench"}})
    placed: dict[str, int] = {}
    started = time.perf_counter()
    for index in range(count):
        incoming = pod(index)
        incoming["metadata"]["uid"] = f"uid-{index}"
        decision = schedule(incoming, snapshot)
        assert decision.node is not None, decision.error
        bound = copy.deepcopy(incoming)
        bound["spec"]["nodeName"] = decision.node
        info = snapshot.node(decision.node)
        assert info is not None
        info.add(bound)
        placed[decision.node] = placed.get(decision.node, 0) + 1
    return time.perf_counter() - started, placed


def controller(count: int) -> tuple[float, dict[str, int]]:
    """Seconds for the sandbox's scheduler controller to bind ``count`` pods on a seeded store."""
    from labrunner.sandbox import resources
    from labrunner.sandbox.controllers import scheduler
    from labrunner.sandbox.controllers.shared import Cluster

    pods = resources.lookup("", "v1", "pods")
    assert pods is not None
    with tempfile.TemporaryDirectory() as folder:
        store = seeded_store(Path(folder))
        for index in range(count):
            store.create(pods, pod(index))
        cluster = Cluster(store)
        waiting = [p for p in store.list(pods, "bench") if not p["spec"].get("nodeName")]
        started = time.perf_counter()
        for incoming in waiting:
            assert scheduler.schedule(cluster, incoming), incoming["metadata"]["name"]
        elapsed = time.perf_counter() - started
        placed: dict[str, int] = {}
        for bound in store.list(pods, "bench"):
            if bound["metadata"]["name"] != "cache":
                placed[bound["spec"]["nodeName"]] = placed.get(bound["spec"]["nodeName"], 0) + 1
        store.close()
    return elapsed, placed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pods", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=3)
    arguments = parser.parse_args()
    count = arguments.pods
    pure_runs = [pure(count) for _ in range(arguments.runs)]
    controller_runs = [controller(count) for _ in range(arguments.runs)]
    pure_seconds = statistics.median(seconds for seconds, _ in pure_runs)
    controller_seconds = statistics.median(seconds for seconds, _ in controller_runs)
    print(f"Scheduling {count} pods with affinity rules onto the sandbox's 3 nodes (median of {arguments.runs} runs)")
    print(f"  pure algorithm:         {pure_seconds * 1000 / count:7.2f} ms per pod  {count / pure_seconds:8.0f} pods/s   "
          f"placed {dict(sorted(pure_runs[0][1].items()))}")
    print(f"  sandbox scheduler:      {controller_seconds * 1000 / count:7.2f} ms per pod  {count / controller_seconds:8.0f} pods/s   "
          f"(cycle + bind + event in SQLite) placed {dict(sorted(controller_runs[0][1].items()))}")
    print("kube-scheduler's published throughput (no figure exists for a 3-node cluster):")
    for workload, rate in PUBLISHED:
        print(f"  {workload:72} {rate:5d} pods/s  ({1000 / rate:5.1f} ms per pod)")


if __name__ == "__main__":
    main()
