"""The Scheduling lab as shipped: complete, parameterised (namespace and the node it dedicates,
drains and gives back), its manifests valid, its broken manifest broken in the ways the step
teaches, and every step proved on the sandbox (failing before its solution, passing after), on
the other worker than the default to prove the node is a parameter everywhere."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from labrunner.lab.loader import load_lab
from labrunner.lab.model import Lab
from tests.conftest import REPO
from tests.shipped_labs import (
    assert_every_step_has_its_parts,
    assert_manifests_valid,
    assert_selftest_passes,
    assert_valid_through_the_cli,
    documents,
)

LAB_DIR = REPO / "labs" / "scheduling"
ASSETS = REPO / "assets" / "scheduling"

ORDER = ["create-namespace", "read-nodes", "dedicate-node", "batch-on-node", "others-off", "requests", "pending-pod",
         "release-node", "spread", "drain", "uncordon", "quota-limits", "priority"]


@pytest.fixture(scope="module")
def lab() -> Lab:
    return load_lab(LAB_DIR)


def test_the_steps_in_order(lab: Lab) -> None:
    assert [step.id for step in lab.steps] == ORDER
    assert (lab.id, lab.level, lab.tags) == ("scheduling", "intermediate", ("workloads-scheduling", "troubleshooting"))


def test_every_step_has_its_five_parts(lab: Lab) -> None:
    assert_every_step_has_its_parts(lab, shows_output=True, resets=True)


def test_each_topic_of_the_issue_has_its_check(lab: Lab) -> None:
    kinds = {step.id: [check.kind for check in step.checks] for step in lab.steps}
    assert kinds["dedicate-node"] == ["node-state"]
    assert kinds["batch-on-node"] == ["pods-placed"] and kinds["others-off"] == ["pods-placed", "pods-placed", "node-state"]
    assert kinds["requests"] == ["container-resources", "pods-placed"]
    assert kinds["pending-pod"] == ["pods-placed", "container-resources"]
    assert kinds["spread"] == ["pods-placed", "shell"]
    assert kinds["drain"] == ["node-state", "daemonset-ready", "disruption-budget"]
    assert kinds["uncordon"] == ["node-state", "pods-placed"]
    assert kinds["quota-limits"] == ["limit-range", "quota-limits", "pods-placed", "shell"]
    assert kinds["priority"] == ["priority-class", "pods-placed"]
    args = {step.id: [check.args for check in step.checks] for step in lab.steps}
    # The dedicated node: a NoSchedule taint and a label of the same key and value; batch is sent there.
    assert [dict(t) for t in args["dedicate-node"][0]["taints"]] == [{"key": "dedicated", "value": "batch", "effect": "NoSchedule"}]
    assert args["dedicate-node"][0]["labels"] == {"dedicated": "batch"}
    assert args["batch-on-node"][0]["on"] == {"dedicated": "batch"} and args["others-off"][0]["off"] == {"dedicated": "batch"}
    assert args["read-nodes"][0]["off"] == {"node-role.kubernetes.io/control-plane": ""}
    assert args["spread"][0]["spread"] == 2 and args["uncordon"][1]["spread"] == 2
    assert args["drain"][0]["drained"] is True and args["uncordon"][0]["unschedulable"] is False
    assert list(args["release-node"][0]["untainted"]) == list(args["release-node"][0]["unlabelled"]) == ["dedicated"]


def test_the_namespace_and_the_node_are_parameters_everywhere() -> None:
    other = load_lab(LAB_DIR, {"namespace": "learner-7", "node": "kind-worker"})
    run: list[str] = []
    shown: list[str] = []
    for step in other.steps:
        shown.append(other.instructions(step))
        run += [command.run for command in step.commands] + list(step.hints)
        run += [str(dict(check.args)) + check.says for check in step.checks]
        run += [action.target for action in (*step.solution, *(step.reset or ()))]
        shown += [command.output or "" for command in step.commands]
    run += [action.target for action in other.reset or ()]
    everything = "\n".join(run + shown)
    assert "scheddemo" not in everything and "{{" not in everything
    # What is run or checked names the parameter's node; sample outputs show the sandbox's nodes.
    assert not re.search(r"labrunner-sandbox-worker\b", "\n".join(run))
    assert "kubectl taint node kind-worker dedicated=batch:NoSchedule" in everything
    assert "kubectl drain kind-worker --ignore-daemonsets" in everything
    assert other.step("drain").checks[0].args["node"] == "kind-worker"
    # The lab's reset puts back what a namespace does not hold: the node, and the PriorityClass.
    reset = "\n".join(action.target for action in other.reset or ())
    assert "kubectl uncordon kind-worker" in reset and "kubectl delete priorityclass business-critical" in reset


def test_manifests_pass_strict_kubernetes_132_validation_and_name_no_namespace() -> None:
    paths = sorted(ASSETS.glob("*.yaml"))
    assert {path.name for path in paths} == {"batch.yaml", "report.yaml", "cache.yaml", "node-agent.yaml", "cache-pdb.yaml",
                                             "limits.yaml", "quota.yaml", "priority-class.yaml"}
    assert_manifests_valid(paths)


def test_batch_is_tolerating_and_affine_and_the_report_breaks_both_ways(lab: Lab) -> None:
    [batch] = documents(ASSETS / "batch.yaml")
    spec = batch["spec"]["template"]["spec"]
    taint = lab.step("dedicate-node").checks[0].args["taints"][0]
    assert spec["tolerations"] == [{"key": taint["key"], "operator": "Equal", "value": taint["value"], "effect": taint["effect"]}]
    assert spec["nodeSelector"] == lab.step("dedicate-node").checks[0].args["labels"]
    [report] = documents(ASSETS / "report.yaml")
    spec = report["spec"]["template"]["spec"]
    assert spec["nodeSelector"] == {"dedicated": "batch"}
    assert spec["tolerations"][0]["effect"] == "NoExecute"  # the effect mismatch
    assert spec["containers"][0]["resources"]["requests"] == {"cpu": "500m", "memory": "512Gi"}  # 512Gi for 512Mi
    assert "needs half a CPU and 512 MiB" in (ASSETS / "report.yaml").read_text(encoding="utf-8")
    assert dict(lab.step("pending-pod").checks[1].args["requests"]) == {"cpu": "500m", "memory": "512Mi"}


def test_the_cache_keeps_away_from_itself_and_its_budget_selects_it() -> None:
    [cache] = documents(ASSETS / "cache.yaml")
    labels = cache["spec"]["template"]["metadata"]["labels"]
    [term] = cache["spec"]["template"]["spec"]["affinity"]["podAntiAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
    assert term["topologyKey"] == "kubernetes.io/hostname" and term["labelSelector"]["matchLabels"].items() <= labels.items()
    [budget] = documents(ASSETS / "cache-pdb.yaml")
    assert budget["spec"] == {"minAvailable": 1, "selector": {"matchLabels": labels}}
    [agent] = documents(ASSETS / "node-agent.yaml")
    assert agent["kind"] == "DaemonSet"
    [limits] = documents(ASSETS / "limits.yaml")
    assert limits["spec"]["limits"] == [{"type": "Container", "defaultRequest": {"cpu": "100m", "memory": "128Mi"},
                                         "default": {"cpu": "200m", "memory": "256Mi"}}]
    [priority] = documents(ASSETS / "priority-class.yaml")
    assert (priority["metadata"]["name"], priority["value"], priority["globalDefault"]) == ("business-critical", 100000, False)
    [quota] = documents(ASSETS / "quota.yaml")
    assert quota["spec"]["hard"] == {"requests.cpu": "2", "requests.memory": "2Gi", "limits.cpu": "4", "limits.memory": "4Gi",
                                     "pods": "10"}


def test_the_lab_is_valid_through_the_cli() -> None:
    assert_valid_through_the_cli(LAB_DIR)


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl must be on PATH (the lab's solutions use it)")
def test_selftest_on_the_sandbox_every_step_fails_before_and_passes_after(tmp_path: Path) -> None:
    assert_selftest_passes("scheduling", ORDER, tmp_path / "state", "namespace=sched-selftest", "node=labrunner-sandbox-worker2")
