"""The change watcher with a cluster that refuses cluster-wide watches (a workshop
learner who may only see their own namespace)."""

from __future__ import annotations

import threading

import pytest

from labrunner.session.watch import ChangeWatcher
from tests.fakes import FakeCluster, named


def namespace_only() -> FakeCluster:
    """Refuses cluster-wide watches; in alice-np, one pod appears."""
    return FakeCluster(cluster_wide_watch_forbidden=True,
                       watch_events={("pods", "alice-np"): [("ADDED", named("mysql-0", "alice-np", "Pod"))]})


def test_a_refused_cluster_wide_watch_becomes_one_per_namespace() -> None:
    cluster = namespace_only()
    changes: list[list[str]] = []
    refusals: list[tuple[str, bool]] = []
    seen = threading.Event()

    def on_change(reasons: list[str]) -> None:
        changes.append(reasons)
        seen.set()

    watcher = ChangeWatcher(cluster, ["alice-np"], on_change, resources=("pods", "networkpolicies"),
                            quiet=0.05, latest=0.2,
                            on_error=lambda message, lost: refusals.append((message, lost))).start()
    try:
        assert seen.wait(10)
    finally:
        watcher.stop()
        cluster.quiet.set()
    assert changes[0] == ["ADDED pods/mysql-0"]
    assert ("pods", "alice-np") in cluster.watched and ("networkpolicies", "alice-np") in cluster.watched
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
    watcher = ChangeWatcher(namespace_only(), [], lambda reasons: None, resources=sorted(watched))
    assert sorted(watcher.targets) == ["namespaces", "nodes"]  # no namespace named: only the cluster-scoped ones


def test_a_kind_not_served_yet_is_watched_once_it_is(monkeypatch: pytest.MonkeyPatch) -> None:
    """A lab installs its CRDs (the Gateway API) in a later step: the watch of its kinds begins then."""
    from labrunner.cluster import errors
    from labrunner.session import watch

    monkeypatch.setattr(watch, "UNSERVED_RETRY_SECONDS", 0.05)
    gateway = {"metadata": {"name": "edge", "namespace": "alice-np"}}

    class Installing(FakeCluster):
        served = False

        def watch(self, kind: str, namespace: str | None = None, **options: object) -> object:  # type: ignore[override]
            if kind == "gateways" and not self.served:
                self.served = True  # the CRDs arrive between this look and the next
                raise errors.NotFound('the server could not find the requested resource')
            return super().watch(kind, namespace, **options)  # type: ignore[arg-type]

    cluster = Installing(watch_events={("gateways", None): [("ADDED", gateway)]})
    seen = threading.Event()
    changes: list[list[str]] = []

    def on_change(reasons: list[str]) -> None:
        changes.append(reasons)
        seen.set()

    watcher = ChangeWatcher(cluster, ["alice-np"], on_change, resources=("gateways",), quiet=0.05, latest=0.2).start()
    try:
        assert seen.wait(10)
    finally:
        watcher.stop()
        cluster.quiet.set()
    assert changes[0] == ["ADDED gateways/edge"] and cluster.watched.count(("gateways", None)) == 1
