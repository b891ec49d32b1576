#!/usr/bin/env python3
"""A room under load: N learners publishing progress and watching the workshop record, one sandbox.

    .venv/bin/python benchmarks/workshop_load.py [--learners 100] [--every 5] [--seconds 60] [--processes 4]

A fresh sandbox in a temporary folder gets a workshop of N learners (``workshop init``) and their
kubeconfigs (tokens from TokenRequest). Each learner is a ``ClusterProgressStore`` with its own
credentials (its heartbeat Lease renewed every 20-30 s) and a ``WorkshopWatcher`` (get + watch of
the ``workshop`` ConfigMap by name), spread over ``--processes`` client processes; every learner
records a check result every ``--every`` seconds (random phase). The instructor follows the room
with a ``RoomWatcher`` (two watches). Printed, never asserted:

- the delay from a learner's ``record()`` call to the instructor's watcher holding it (the record's
  message carries the send time; every process is on this machine's clock), goal under 2 s;
- the delay from an announcement to the learners' watchers seeing it;
- the sandbox process's CPU over the measured window (from /proc), and the clients'.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
WS = "load"


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def percentiles(values: list[float]) -> str:
    if not values:
        return "no samples"
    ordered = sorted(values)
    pick = lambda q: ordered[min(len(ordered) - 1, int(q * len(ordered)))]  # noqa: E731
    return (f"n={len(ordered)} median {statistics.median(ordered) * 1000:.0f} ms, p95 {pick(0.95) * 1000:.0f} ms, "
            f"p99 {pick(0.99) * 1000:.0f} ms, max {ordered[-1] * 1000:.0f} ms")


# -- a client process: some of the learners ---------------------------------------------------------


def worker(folder: Path, learners: list[str], every: float, until: float, measure_from: float) -> None:
    from labrunner.cluster.kube import connect
    from labrunner.session.progress import ProgressKey
    from labrunner.workshop.reader import WorkshopWatcher
    from labrunner.workshop.store import ClusterProgressStore

    seen: list[float] = []
    lock = threading.Lock()
    stores, watchers = [], []
    for ident in learners:
        port = connect(folder / f"learner-{ident}.yaml")
        stores.append((ident, ClusterProgressStore(port, WS, ident)))

        def on_change(record: Any, received: list[float] = seen) -> None:
            now = time.time()
            for announcement in record.announcements[-1:]:
                text = announcement.text
                if text.startswith("at ") and now >= measure_from:
                    with lock:
                        received.append(now - float(text.split()[1]))

        watcher = WorkshopWatcher(port, WS, on_change)
        for attempt in range(5):  # a sandbox busy with a hundred new connections may not answer in time
            try:
                watcher.start()
                break
            except Exception:
                time.sleep(1 + attempt)
        watchers.append(watcher)
    key = ProgressKey("load", "load")
    sent = 0
    schedule = sorted((time.time() + random.uniform(0, every), ident, store) for ident, store in stores)
    while time.time() < until:
        due, ident, store = schedule.pop(0)
        time.sleep(max(0.0, due - time.time()))
        sent += 1
        store.record(key, "step", "failed", [{"id": "c", "status": "failed", "message": f"tick {time.time():.6f}"}])
        schedule.append((due + every, ident, store))
        schedule.sort(key=lambda item: item[0])
    problems = [store.problem for _, store in stores if store.problem]
    for watcher in watchers:
        watcher.stop()
    for _, store in stores:
        store.close()
    print(json.dumps({"sent": sent, "announcement_delays": seen, "problems": problems[:5], "cpu": cpu_seconds(os.getpid())}))


# -- the instructor and the harness -----------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--learners", type=int, default=100)
    parser.add_argument("--every", type=float, default=5.0, help="seconds between a learner's writes")
    parser.add_argument("--seconds", type=float, default=60.0, help="how long to measure")
    parser.add_argument("--processes", type=int, default=4, help="client processes the learners are spread over")
    parser.add_argument("--worker", nargs="*", help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.worker is not None:
        folder, every, until, measure_from, *learners = arguments.worker
        worker(Path(folder), learners, float(every), float(until), float(measure_from))
        return

    with tempfile.TemporaryDirectory() as scratch:
        os.environ.update(LABRUNNER_STATE_DIR=scratch, HOME=scratch, LABRUNNER_WARM="0")
        os.environ.pop("KUBECONFIG", None)
        from labrunner.cluster.kube import connect
        from labrunner.sandbox.control import start, stop
        from labrunner.sandbox.files import SandboxFiles
        from labrunner.workshop import names, service
        from labrunner.workshop.reader import RoomWatcher

        files = SandboxFiles(Path(scratch) / "sandbox")
        info, _ = start(files)
        try:
            admin = connect(files.kubeconfig)
            lab = service.load_lab("workloads")
            learners = names.numbered(arguments.learners)
            began = time.monotonic()
            service.init(admin, WS, lab, [names.Learner(i, i) for i in learners], jobs=4)
            print(f"init of {len(learners)} learners: {time.monotonic() - began:.1f} s")
            out = Path(scratch) / "out"
            began = time.monotonic()
            service.write_kubeconfigs(admin, WS, out)
            print(f"kubeconfigs: {time.monotonic() - began:.1f} s")

            delays: list[float] = []
            lock = threading.Lock()
            latest: dict[str, str] = {}
            measuring = threading.Event()

            def on_room(room: Any) -> None:
                now = time.time()
                for learner in room.learners:
                    claim = learner.record.steps.get("step")
                    if claim is None or not claim.message.startswith("tick ") or latest.get(learner.id) == claim.message:
                        continue
                    latest[learner.id] = claim.message
                    if measuring.is_set():
                        with lock:
                            delays.append(now - float(claim.message.split()[1]))

            room = RoomWatcher(admin, WS, on_room)
            room.start()
            warmup = 10.0
            start_at = time.time()
            measure_from = start_at + warmup
            until = measure_from + arguments.seconds
            groups = [learners[i::arguments.processes] for i in range(arguments.processes)]
            workers = [subprocess.Popen([sys.executable, __file__, "--worker", str(out), str(arguments.every), str(until),
                                         str(measure_from), *group], stdout=subprocess.PIPE, text=True, env=os.environ.copy())
                       for group in groups if group]
            time.sleep(max(0.0, measure_from - time.time()))
            measuring.set()
            cpu_before, wall_before = cpu_seconds(info.pid), time.monotonic()
            announcements = 0
            while time.time() < until - 5:
                time.sleep(10)
                service.change_workshop(admin, WS, lambda record: record.announcing(f"at {time.time():.6f}", time.time()))
                announcements += 1
            time.sleep(max(0.0, until - time.time()))
            cpu_after, wall_after = cpu_seconds(info.pid), time.monotonic()
            measuring.clear()
            results = [json.loads((w.communicate(timeout=120)[0] or "{}").strip().splitlines()[-1]) for w in workers]
            room.stop()
            sent = sum(r.get("sent", 0) for r in results)
            print(f"{len(learners)} learners, a write each every {arguments.every:g} s, over {arguments.seconds:g} s "
                  f"(+{warmup:g} s warm-up), {len(workers)} client processes")
            print(f"  writes sent: {sent} ({sent / (arguments.seconds + warmup):.1f}/s, plus heartbeats every 20-30 s)")
            print(f"  learner write -> instructor's watcher: {percentiles(delays)}")
            print(f"  announcement -> learners' watchers ({announcements} announcements): "
                  f"{percentiles([d for r in results for d in r.get('announcement_delays', [])])}")
            sandbox_cpu = (cpu_after - cpu_before) / (wall_after - wall_before)
            print(f"  sandbox process CPU: {sandbox_cpu * 100:.0f}% of one core (pid {info.pid})")
            print(f"  client processes CPU: {sum(r.get('cpu', 0.0) for r in results):.1f} s in all")
            print(f"  this machine's load average at the end (1, 5, 15 min): {', '.join(f'{v:.1f}' for v in os.getloadavg())} "
                  f"on {os.cpu_count()} cores")
            problems = [p for r in results for p in r.get("problems", [])]
            if problems:
                print(f"  learners with a publishing problem at the end: {problems}")
        finally:
            stop(files)


if __name__ == "__main__":
    main()
