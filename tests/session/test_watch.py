"""The change watcher with a cluster that refuses cluster-wide watches (a workshop
learner who may only see their own namespace)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

from labrunner.cluster import errors
from labrunner.session.watch import ChangeWatcher


class NamespaceOnly:
    """Refuses cluster-wide watches; in alice-np, one pod appears."""

    def __init__(self) -> None:
        self.asked: list[tuple[str, str | None]] = []
        self.quiet = threading.Event()

    def watch(self, kind: str, namespace: str | None = None, *, timeout_seconds: int = 60,
              cursor: dict[str, str] | None = None) -> Iterator[tuple[str, dict[str, Any]]]:
        self.asked.append((kind, namespace))
        if namespace is None:
            raise errors.Forbidden(f'{kind} is forbidden: User "alice" cannot watch resource "{kind}" at the cluster scope',
                                   "alice", "watch", kind, "")
        if kind == "pods":
            yield "ADDED", {"metadata": {"name": "mysql-0", "namespace": namespace}}
        self.quiet.wait(timeout_seconds)


def test_a_refused_cluster_wide_watch_becomes_one_per_namespace() -> None:
    cluster = NamespaceOnly()
    changes: list[list[str]] = []
    refusals: list[tuple[str, bool]] = []
    seen = threading.Event()

    def on_change(reasons: list[str]) -> None:
        changes.append(reasons)
        seen.set()

    watcher = ChangeWatcher(cluster, ["alice-np"], on_change, resources=("pods", "networkpolicies"),  # type: ignore[arg-type]
                            quiet=0.05, latest=0.2,
                            on_error=lambda message, lost: refusals.append((message, lost))).start()
    try:
        assert seen.wait(10)
    finally:
        watcher.stop()
        cluster.quiet.set()
    assert changes[0] == ["ADDED pods/mysql-0"]
    assert ("pods", "alice-np") in cluster.asked and ("networkpolicies", "alice-np") in cluster.asked
    # Namespaces can only be watched cluster-wide: that one is said once, and it is not a lost cluster.
    assert [(lost, "not watching namespaces" in message) for message, lost in refusals] == [(False, True)]


def test_what_is_watched_is_what_the_lab_s_check_kinds_read() -> None:
    """The NetworkPolicy lab's checks read namespaces, nodes, workloads, Services and policies;
    no kind asks for Endpoints (a probe pod a Service selects would re-trigger the check)."""
    from labrunner.lab.loader import load_lab
    from labrunner.registry import registry
    from tests.conftest import REPO

    lab = load_lab(REPO / "labs" / "networkpolicies")
    watched = set(registry().watched(check for step in lab.steps for check in step.checks))
    assert {"pods", "services", "deployments", "daemonsets", "networkpolicies", "namespaces", "nodes"} == watched
    watcher = ChangeWatcher(NamespaceOnly(), [], lambda reasons: None, resources=sorted(watched))  # type: ignore[arg-type]
    assert sorted(watcher.targets) == ["namespaces", "nodes"]  # no namespace named: only the cluster-scoped ones
