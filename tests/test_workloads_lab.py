"""The Workloads lab as shipped: complete, parameterised, its manifests valid, and every step
proved on the sandbox (failing before its solution, passing after)."""

from __future__ import annotations

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

LAB_DIR = REPO / "labs" / "workloads"
ASSETS = REPO / "assets" / "workloads"

ORDER = ["create-namespace", "deploy-web", "scale-web", "rolling-update", "bad-image", "rollback", "configmap", "secret",
         "configmap-change", "resources", "probes", "sidecar", "job", "cronjob", "autoscale"]


@pytest.fixture(scope="module")
def lab() -> Lab:
    return load_lab(LAB_DIR)


def test_the_fifteen_steps_in_order(lab: Lab) -> None:
    assert [step.id for step in lab.steps] == ORDER


def test_every_step_has_its_five_parts(lab: Lab) -> None:
    assert_every_step_has_its_parts(lab)


def test_each_topic_of_the_issue_has_its_check(lab: Lab) -> None:
    kinds = {step.id: {check.kind for check in step.checks} for step in lab.steps}
    assert kinds["scale-web"] == kinds["rolling-update"] == kinds["rollback"] == {"deployment-rollout"}
    assert kinds["bad-image"] == {"rollout-stuck"}
    assert kinds["configmap"] == kinds["secret"] == {"config-consumed"}
    assert kinds["configmap-change"] == {"env-matches-configmap"}
    assert kinds["resources"] == {"container-resources"} and kinds["probes"] == {"probes-configured"}
    assert kinds["sidecar"] == {"native-sidecar"} and kinds["job"] == {"job-complete"}
    assert kinds["cronjob"] == {"cronjob-ran"} and kinds["autoscale"] == {"hpa-scales"}
    rolling = lab.step("rolling-update").checks[0].args
    assert (rolling["max_surge"], rolling["max_unavailable"]) == (1, 0)
    watched = " ".join(command.run for command in lab.step("rolling-update").commands)
    assert "kubectl rollout status" in watched and "kubectl get rs" in watched and "-w" in watched


def test_the_namespace_is_a_parameter_everywhere() -> None:
    other = load_lab(LAB_DIR, {"namespace": "learner-7"})
    texts: list[str] = []
    for step in other.steps:
        texts.append(other.instructions(step))
        texts += [command.run for command in step.commands] + list(step.hints)
        texts += [str(dict(check.args)) + check.says for check in step.checks]
        texts += [action.target for action in step.solution]
    joined = "\n".join(texts)
    assert "workloaddemo" not in joined and "{{" not in joined
    assert "kubectl create namespace learner-7" in joined


def test_full_manifests_pass_strict_kubernetes_132_validation_and_name_no_namespace() -> None:
    assert_manifests_valid(sorted(ASSETS.glob("*.yaml")), patches=True)


def test_the_sidecar_and_the_job_are_what_the_steps_teach() -> None:
    [logger] = documents(ASSETS / "logger.yaml")
    spec = logger["spec"]["template"]["spec"]
    [sidecar] = spec["initContainers"]
    assert sidecar["restartPolicy"] == "Always"
    assert {m["name"] for m in sidecar["volumeMounts"]} & {m["name"] for m in spec["containers"][0]["volumeMounts"]} == {"logs"}
    assert spec["volumes"] == [{"name": "logs", "emptyDir": {}}]
    [job] = documents(ASSETS / "countdown-job.yaml")
    assert job["spec"]["template"]["spec"]["restartPolicy"] == "Never" and job["spec"]["completions"] == 3


def test_the_sandbox_s_differences_are_said_where_they_matter(lab: Lab) -> None:
    change = lab.instructions(lab.step("configmap-change"))
    assert "subPath" in change and "sandbox" in change and "exec" in change
    assert "tail -F" in lab.instructions(lab.step("sidecar"))
    assert 'Required value: valid values: "OnFailure", "Never"' in lab.instructions(lab.step("job"))
    assert "missing request for cpu" in lab.instructions(lab.step("autoscale"))


def test_the_lab_is_valid_through_the_cli() -> None:
    assert_valid_through_the_cli(LAB_DIR)


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not on PATH (the lab's solutions use it)")
def test_selftest_on_the_sandbox_every_step_fails_before_and_passes_after(tmp_path: Path) -> None:
    assert_selftest_passes("workloads", ORDER, tmp_path / "state", "namespace=wl-selftest")
