"""The RBAC lab as shipped: complete, parameterised (namespace and the learner's working folder),
its manifests valid, its broken manifest broken in the ways the step teaches, and every step
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

LAB_DIR = REPO / "labs" / "rbac"
ASSETS = REPO / "assets" / "rbac"

ORDER = ["create-namespace", "service-account", "role-binding", "cluster-role", "user-certificate", "user-kubeconfig",
         "team-edit", "scale-only", "aggregated-role", "repair-binding", "least-privilege", "review", "impersonation",
         "clean-up"]


@pytest.fixture(scope="module")
def lab() -> Lab:
    return load_lab(LAB_DIR)


def test_the_fourteen_steps_in_order(lab: Lab) -> None:
    assert [step.id for step in lab.steps] == ORDER
    assert (lab.id, lab.level, lab.tags, lab.minutes) == ("rbac", "intermediate", ("cluster-architecture",), 90)


def test_every_step_has_its_five_parts(lab: Lab) -> None:
    assert_every_step_has_its_parts(lab, shows_output=True, resets=True)


def test_permissions_are_judged_by_the_cluster_never_by_names(lab: Lab) -> None:
    kinds = {step.id: [check.kind for check in step.checks] for step in lab.steps}
    for step_id in ("role-binding", "cluster-role", "team-edit", "scale-only", "repair-binding", "least-privilege",
                    "review", "impersonation"):
        assert set(kinds[step_id]) <= {"access", "rbac-grants"}, step_id
    assert kinds["user-kubeconfig"] == ["kubeconfig-user"]
    assert "namespace-absent" in kinds["clean-up"]
    # The classic scopes: yes in the namespace, no in default; nodes at the cluster scope.
    role_binding = [check.args for check in lab.step("role-binding").checks]
    assert {(a.get("verb"), a.get("namespace"), a.get("allowed", True)) for a in role_binding if "verb" in a} == {
        ("list", "rbacdemo", True), ("delete", "rbacdemo", False), ("list", "default", False)}
    assert [a.get("namespace") for a in (c.args for c in lab.step("cluster-role").checks)] == [None, None]
    assert any(c.args.get("exactly") for c in lab.step("least-privilege").checks)
    scale = {(c.args["verb"], c.args["resource"], c.args.get("allowed", True)) for c in lab.step("scale-only").checks}
    assert ("patch", "deployments.apps/scale", True) in scale and ("get", "deployments.apps", True) in scale
    assert ("patch", "deployments.apps", False) in scale
    kubeconfig = lab.step("user-kubeconfig").checks[0].args
    assert (kubeconfig["context"], kubeconfig["user"], tuple(kubeconfig["groups"])) == ("jane", "jane", ("dev-team",))
    impersonation = [c.args for c in lab.step("impersonation").checks]
    assert {"verb": "impersonate", "resource": "serviceaccounts", "name": "ci"}.items() <= impersonation[0].items()


def test_the_namespace_and_the_working_folder_are_parameters_everywhere() -> None:
    other = load_lab(LAB_DIR, {"namespace": "learner-7", "workdir": "/srv/learner-7/files"})
    texts: list[str] = []
    for step in other.steps:
        texts.append(other.instructions(step))
        texts += [command.run for command in step.commands] + [command.output or "" for command in step.commands]
        texts += list(step.hints) + [str(dict(check.args)) + check.says for check in step.checks]
        texts += [action.target for action in (*step.solution, *(step.reset or ()))]
    texts += [action.target for action in other.reset or ()]
    joined = "\n".join(texts)
    assert "rbacdemo" not in joined and "~/rbac-lab" not in joined and "{{" not in joined
    assert "kubectl create namespace learner-7" in joined
    assert "openssl genrsa -out /srv/learner-7/files/jane.key 2048" in joined
    assert "--serviceaccount=learner-7:deployer" in joined and "--as=system:serviceaccount:learner-7:ci" in joined
    assert other.step("user-kubeconfig").checks[0].args["kubeconfig"] == "/srv/learner-7/files/jane.kubeconfig"


def test_manifests_pass_strict_kubernetes_132_validation_and_name_no_namespace() -> None:
    paths = sorted(ASSETS.glob("*.yaml"))
    assert {path.name for path in paths} == {"broken-binding.yaml", "release-bot-role.yaml", "deployment-scaler.yaml",
                                             "monitoring.yaml", "developer.yaml"}
    assert_manifests_valid(paths)


def test_the_broken_binding_holds_the_classic_mistakes_and_the_repair_fixes_the_role() -> None:
    account, role, binding = documents(ASSETS / "broken-binding.yaml")
    assert (account["kind"], role["kind"], binding["kind"]) == ("ServiceAccount", "Role", "RoleBinding")
    assert binding["roleRef"]["kind"] == "ClusterRole" and binding["roleRef"]["name"] == role["metadata"]["name"]
    assert binding["subjects"] == [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "release-bot"}]
    assert {"apiGroups": [""], "resources": ["deployments"], "verbs": ["get", "list", "patch"]} in role["rules"]
    assert not any("pods/log" in rule["resources"] for rule in role["rules"])
    [fixed] = documents(ASSETS / "release-bot-role.yaml")
    assert fixed["metadata"]["name"] == role["metadata"]["name"]
    assert {"apiGroups": ["apps"], "resources": ["deployments"], "verbs": ["get", "list", "patch"]} in fixed["rules"]
    assert {"apiGroups": [""], "resources": ["pods/log"], "verbs": ["get"]} in fixed["rules"]


def test_the_assets_are_what_the_steps_teach() -> None:
    [scaler] = documents(ASSETS / "deployment-scaler.yaml")
    assert scaler["rules"] == [{"apiGroups": ["apps"], "resources": ["deployments"], "verbs": ["get"]},
                               {"apiGroups": ["apps"], "resources": ["deployments/scale"], "verbs": ["get", "patch"]}]
    monitoring, endpoints = documents(ASSETS / "monitoring.yaml")
    [selector] = monitoring["aggregationRule"]["clusterRoleSelectors"]
    assert selector["matchLabels"].items() <= endpoints["metadata"]["labels"].items() and monitoring["rules"] == []
    [developer] = documents(ASSETS / "developer.yaml")
    granted = {resource for rule in developer["rules"] for resource in rule["resources"]}
    assert not granted & {"secrets", "serviceaccounts", "serviceaccounts/token", "*"}
    assert {"deployments", "pods/log"} <= granted


def test_the_sandbox_s_own_words_are_quoted_where_they_teach(lab: Lab) -> None:
    assert "error: serviceaccount must be <namespace>:<name>" in lab.instructions(lab.step("role-binding"))
    assert "--as=deployer" in lab.instructions(lab.step("role-binding"))
    assert "at the cluster scope" in lab.instructions(lab.step("cluster-role"))
    certificate = lab.instructions(lab.step("user-certificate"))
    assert "invalid usage for client certificate: server auth" in certificate and "Approved,Failed" in certificate
    assert "cannot change roleRef" in lab.instructions(lab.step("repair-binding"))
    assert "subjects[0].namespace: Required value" in lab.instructions(lab.step("aggregated-role"))
    assert "no objects passed to scale" in lab.instructions(lab.step("scale-only"))
    assert "cannot patch resource \"deployments\"" in lab.instructions(lab.step("least-privilege"))
    assert "Unable to connect to the server: EOF" in lab.instructions(lab.step("user-kubeconfig"))


def test_the_lab_is_valid_through_the_cli() -> None:
    assert_valid_through_the_cli(LAB_DIR)


@pytest.mark.skipif(shutil.which("kubectl") is None or shutil.which("openssl") is None,
                    reason="kubectl and openssl must be on PATH (the lab's solutions use them)")
def test_selftest_on_the_sandbox_every_step_fails_before_and_passes_after(tmp_path: Path) -> None:
    work = tmp_path / "learner"
    assert_selftest_passes("rbac", ORDER, tmp_path / "state", "namespace=rbac-selftest", f"workdir={work}")
    assert {path.name for path in work.iterdir()} >= {"jane.key", "jane.crt", "jane.kubeconfig"}
