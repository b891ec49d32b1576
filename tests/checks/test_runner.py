"""The runner turns cluster failures into error results, and says which of them mean the
cluster as a whole is gone (the TUI's "Lost the cluster" banner) and which do not."""

from __future__ import annotations

from labrunner.checks.runner import run_step
from labrunner.lab.loader import load_lab
from tests.conftest import REPO
from tests.fakes import FakeCluster

LAB = load_lab(REPO / "labs" / "networkpolicies")


def test_an_unreachable_cluster_is_a_lost_cluster() -> None:
    cluster = FakeCluster()
    cluster.reachable = False
    [result] = run_step(LAB.step("create-namespace"), cluster)
    assert result.status == "error" and result.cluster_lost
    assert result.message.startswith("The connection to the server 127.0.0.1:6443 was refused")


def test_a_request_the_cluster_answers_with_a_failure_is_not_a_lost_cluster() -> None:
    # The fake runs no pods: a probe's pod is refused at once, as a cluster refuses one request.
    results = run_step(LAB.step("baseline-probe"), FakeCluster())
    assert results and all(r.status == "error" and not r.cluster_lost for r in results)
    assert "the fake cluster runs no pods" in results[0].message
