"""Data inside a workload: the rows of a table, read through ``kubectl exec``-style exec."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path
from typing import Literal

from pydantic import Field

from labrunner.cluster import errors
from labrunner.cluster.port import ClusterPort
from labrunner.lab.check_args import CheckArgs
from labrunner.lab.fields import AssetPath, KubeName, NonEmptyStr
from labrunner.registry.types import CheckContext, CheckKind, Outcome
from labrunner.topics.basics.selectors import selector_text


class SqlRows(CheckArgs):
    """Queried through ``kubectl exec``-style exec in the workload's pod, the table
    holds exactly the rows the SQL file ``rows_from`` inserts into it."""

    kind: Literal["sql-rows"]
    namespace: KubeName
    workload: NonEmptyStr = Field(pattern=r"^(deployment|statefulset|pod)/[a-z0-9.-]+$")
    """What to exec into, kubectl style: ``deployment/mysql``."""
    database: KubeName
    table: NonEmptyStr
    rows_from: AssetPath


def rows_of(sql_file: Path, table: str | None = None) -> list[tuple[str, ...]]:
    """The rows a SQL file inserts (into ``table``, or its only table), as text."""
    script = re.sub(r"(?im)^\s*(CREATE DATABASE|USE)\b[^;]*;", "", sql_file.read_text(encoding="utf-8"))
    database = sqlite3.connect(":memory:")
    database.executescript(script)
    tables = [row[0] for row in database.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
    name = table or tables[0]
    return [tuple("" if v is None else str(v) for v in row) for row in database.execute(f"SELECT * FROM {name} ORDER BY 1")]


def workload_pod(cluster: ClusterPort, namespace: str, workload: str) -> str:
    kind, _, name = workload.partition("/")
    if kind == "pod":
        return name
    plural = {"deployment": "deployments", "statefulset": "statefulsets"}[kind]
    owner = cluster.get(plural, name, namespace)
    pods = [p for p in cluster.list("pods", namespace, labels=selector_text((owner.get("spec") or {}).get("selector")))
            if (p.get("status") or {}).get("phase") == "Running"]
    if not pods:
        raise errors.NotFound(f"{workload} has no running pod")
    return str(pods[0]["metadata"]["name"])


def sql_rows(args: SqlRows, context: CheckContext) -> Outcome:
    cluster, namespace = context.cluster, args.namespace
    try:
        pod = workload_pod(cluster, namespace, args.workload)
    except errors.NotFound as absent:
        return "failed", absent.message, []
    query = f"SELECT * FROM {args.database}.{args.table} ORDER BY 1"
    result = cluster.exec(pod, namespace, ["sh", "-c", f'mysql -N -B -uroot -p"$MYSQL_ROOT_PASSWORD" -e "{query}"'])
    errors_seen = [line for line in result.stderr.splitlines() if line.startswith("ERROR")]
    if result.exit_code != 0:
        said = errors_seen[0] if errors_seen else result.stderr.strip()[:200]
        if re.match(r"ERROR (1049|1146) ", said):  # unknown database / table: nothing was loaded
            where = f"{args.database}.{args.table}"
            return "failed", f"{where} does not exist in {pod}: the data is not loaded yet", [
                said, "load it with kubectl exec -i ... < the SQL file: without -i, kubectl does not pass the file to mysql"]
        return "failed", f"the query in {pod} failed: {said}", []
    found = {tuple(line.split("\t")) for line in result.stdout.splitlines() if line}
    expected = set(rows_of(Path(args.rows_from), args.table))
    missing, extra = sorted(expected - found), sorted(found - expected)
    if not missing and not extra:
        return "passed", f"{args.database}.{args.table} holds the {len(expected)} rows of {Path(args.rows_from).name}", []
    details = [f"missing: {' | '.join(row)}" for row in missing[:5]] + [f"extra: {' | '.join(row)}" for row in extra[:5]]
    return "failed", f"{args.database}.{args.table} has {len(found)} row(s); {len(missing)} missing, {len(extra)} unexpected", details


KINDS = (
    CheckKind(model=SqlRows, run=sql_rows, watches=("pods",), polled=True, prerequisite=True),
)
