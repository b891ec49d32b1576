#!/usr/bin/env python3
"""Workload figures on the sandbox, beside kubectl's own start-up, in one run:

    .venv/bin/python benchmarks/sandbox_workloads.py [--runs N]

- ``kubectl exec deploy/mysql -- mysql ... -e 'SELECT ...'`` round trip;
- a busybox ``wget`` of the lab's page (through the simulated network, the PHP
  page's own MySQL connection included);
- seeding 10,000 rows from a file through ``kubectl exec -i``.
Medians; nothing is asserted. Issue 6 asks for these figures.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "benchmarks"))
from sandbox_session import sandbox_kubectl  # noqa: E402

ASSETS = REPO / "assets" / "networkpolicies"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=11)
    arguments = parser.parse_args()
    with sandbox_kubectl() as (run, _):
        def median_ms(*argv: str, stdin: str | None = None) -> float:
            run(*argv, stdin=stdin)
            timings = []
            for _ in range(arguments.runs):
                started = time.perf_counter()
                run(*argv, stdin=stdin)
                timings.append(time.perf_counter() - started)
            return statistics.median(timings) * 1000

        run("create", "namespace", "networkdemo")
        run("apply", "-n", "networkdemo", "-f", str(ASSETS / "mysqlpod.yaml"))
        run("apply", "-n", "networkdemo", "-f", str(ASSETS / "app.yaml"))
        run("rollout", "status", "deployment/mysql", "-n", "networkdemo", "--timeout=60s")
        run("rollout", "status", "deployment/interpoddemo", "-n", "networkdemo", "--timeout=60s")
        run("expose", "deployment", "mysql", "-n", "networkdemo", "--port", "3306")
        run("expose", "deployment", "interpoddemo", "-n", "networkdemo", "--port", "80")
        run("run", "demopod", "-n", "networkdemo", "--image=busybox", "--labels=run=demopod", "--", "sleep", "3600")
        run("wait", "-n", "networkdemo", "--for=condition=Ready", "pod/demopod", "--timeout=30s")
        seed = 'exec mysql -uroot -p"$MYSQL_ROOT_PASSWORD"'
        run("exec", "-i", "-n", "networkdemo", "deploy/mysql", "--", "sh", "-c", seed, stdin=(ASSETS / "db.txt").read_text())

        client = median_ms("version", "--client")
        select = median_ms("exec", "-n", "networkdemo", "deploy/mysql", "--", "sh", "-c",
                           'mysql -uroot -p"$MYSQL_ROOT_PASSWORD" -N -e "SELECT COUNT(*) FROM db1.users"')
        page = median_ms("exec", "-n", "networkdemo", "demopod", "--", "wget", "-q", "-T", "5", "-O", "-", "http://interpoddemo/index.php")
        rows = "CREATE DATABASE IF NOT EXISTS bulk;\nUSE bulk;\nCREATE TABLE IF NOT EXISTS t (id INT PRIMARY KEY, name VARCHAR(64));\n"
        rows += "".join(f"INSERT INTO t VALUES ({n}, 'row {n}');\n" for n in range(10_000))
        started = time.perf_counter()
        run("exec", "-i", "-n", "networkdemo", "deploy/mysql", "--", "sh", "-c", seed, stdin=rows)
        seeding = (time.perf_counter() - started) * 1000
    print(f"{'kubectl version --client (kubectl start-up)':<58} {client:>7.0f} ms")
    print(f"{'kubectl exec deploy/mysql -- mysql -e SELECT COUNT(*)':<58} {select:>7.0f} ms   ({select / client:.2f}x)")
    print(f"{'busybox wget of the lab page (via the PHP page and MySQL)':<58} {page:>7.0f} ms   ({page / client:.2f}x)")
    print(f"{'seeding 10,000 rows through kubectl exec -i (one run)':<58} {seeding:>7.0f} ms")


if __name__ == "__main__":
    main()
