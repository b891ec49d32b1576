"""The rbac topic's checks on the shared sandbox (which enforces RBAC as kube-apiserver does):
each verdict is the cluster's, each failure names the binding, rule or subject responsible."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from labrunner.lab.check_args import CheckArgs
from labrunner.registry import registry
from labrunner.registry.types import CheckContext, Outcome
from labrunner.sandbox.files import SandboxFiles
from tests.identities import certificate_kubeconfig
from tests.sandboxes import KUBECTL, Kubectl

pytestmark = [pytest.mark.kubectl, pytest.mark.skipif(KUBECTL is None, reason="needs the kubectl binary on PATH")]


def run(cluster: Any, declaration: dict[str, Any]) -> Outcome:
    kind = registry().kind(declaration["kind"])
    assert kind is not None
    args: CheckArgs = kind.model.model_validate({"says": "x", **declaration})
    return kind.run(args, CheckContext(cluster=cluster))


def text(outcome: Outcome) -> str:
    return outcome[1] + "\n" + "\n".join(outcome[2])


def sa(namespace: str, name: str = "deployer") -> dict[str, str]:
    return {"serviceaccount": f"{namespace}:{name}"}


def test_access_passes_both_ways_and_says_which_binding_allowed(kubectl: Kubectl, cluster: Any, namespace: str) -> None:
    kubectl("create", "namespace", namespace)
    kubectl("create", "serviceaccount", "deployer", "-n", namespace)
    kubectl("create", "role", "pod-reader", "--verb=get,list,watch", "--resource=pods", "-n", namespace)
    kubectl("create", "rolebinding", "deployer-reads", "--role=pod-reader", f"--serviceaccount={namespace}:deployer", "-n", namespace)
    can = run(cluster, {"kind": "access", "subject": sa(namespace), "verb": "list", "resource": "pods", "namespace": namespace})
    assert can[0] == "passed" and can[1] == f"ServiceAccount {namespace}/deployer can list pods in namespace {namespace}"
    assert f'RoleBinding "deployer-reads/{namespace}" of Role "pod-reader"' in can[2][0]
    cannot = run(cluster, {"kind": "access", "subject": sa(namespace), "verb": "delete", "resource": "pods",
                           "namespace": namespace, "allowed": False})
    assert cannot[0] == "passed"
    wrongly = run(cluster, {"kind": "access", "subject": sa(namespace), "verb": "list", "resource": "pods",
                            "namespace": namespace, "allowed": False})
    assert wrongly[0] == "failed" and "which this step must not allow" in wrongly[1]
    assert f"RoleBinding {namespace}/deployer-reads binds Role {namespace}/pod-reader" in text(wrongly)


def test_a_user_subject_where_the_service_account_was_meant_is_named(kubectl: Kubectl, cluster: Any, namespace: str) -> None:
    kubectl("create", "namespace", namespace)
    kubectl("create", "role", "pod-reader", "--verb=list", "--resource=pods", "-n", namespace)
    kubectl("create", "rolebinding", "reads", "--role=pod-reader", "--user=deployer", "-n", namespace)
    outcome = run(cluster, {"kind": "access", "subject": sa(namespace), "verb": "list", "resource": "pods", "namespace": namespace})
    # the binding that almost names the subject is the mistake, said first
    assert outcome[0] == "failed" and outcome[1] == (
        f"RoleBinding {namespace}/reads names User deployer, a user, not the ServiceAccount {namespace}/deployer")
    # then its fix, then the verdict it explains
    assert outcome[2][:2] == [f"write kind ServiceAccount with namespace {namespace} (kubectl: --serviceaccount={namespace}:deployer)",
                              f"ServiceAccount {namespace}/deployer cannot list pods in namespace {namespace}"]
    assert not any("names User deployer" in line for line in outcome[2])


def test_deployments_in_the_core_group_and_a_subresource_not_implied(kubectl: Kubectl, cluster: Any, namespace: str) -> None:
    kubectl("create", "namespace", namespace)
    kubectl("apply", "-f", "-", stdin=json.dumps({
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": {"name": "deployer", "namespace": namespace},
        "rules": [{"apiGroups": [""], "resources": ["deployments"], "verbs": ["get", "patch"]}]}))
    kubectl("create", "rolebinding", "deployer", "--role=deployer", "--user=jane", "-n", namespace)
    core = run(cluster, {"kind": "access", "subject": {"user": "jane"}, "verb": "get", "resource": "deployments.apps", "namespace": namespace})
    assert core[0] == "failed"
    assert 'allows get, patch on deployments, not API group "apps"' in text(core)
    kubectl("create", "role", "scaler", "--verb=get,patch", "--resource=deployments.apps", "-n", namespace)
    kubectl("create", "rolebinding", "scaler", "--role=scaler", "--user=sam", "-n", namespace)
    scale = run(cluster, {"kind": "access", "subject": {"user": "sam"}, "verb": "patch", "resource": "deployments.apps/scale",
                          "namespace": namespace})
    assert scale[0] == "failed" and "a subresource is not implied by its resource, a rule must name deployments/scale" in text(scale)


def test_a_clusterrole_bound_by_a_rolebinding_grants_in_its_namespace_only(kubectl: Kubectl, cluster: Any, namespace: str) -> None:
    kubectl("create", "namespace", namespace)
    kubectl("create", "rolebinding", "ops-nodes", "--clusterrole=system:node-reader-absent", "--group=ops", "-n", namespace, check=False)
    kubectl("create", "rolebinding", "ops-view", "--clusterrole=view", "--group=ops", "-n", namespace)
    nodes = run(cluster, {"kind": "access", "subject": {"groups": ["ops"]}, "verb": "list", "resource": "nodes"})
    assert nodes[0] == "failed" and nodes[1] == "the group ops cannot list nodes cluster-wide"
    elsewhere = run(cluster, {"kind": "access", "subject": {"groups": ["ops"]}, "verb": "list", "resource": "pods", "namespace": "default"})
    assert f"RoleBinding {namespace}/ops-view is in namespace {namespace}: a RoleBinding grants only in its own namespace, not in default" in text(elsewhere)


def role_rules(*rules: dict[str, Any]) -> list[dict[str, Any]]:
    return list(rules)


def test_rbac_grants_compares_meaning_and_least_privilege(kubectl: Kubectl, cluster: Any, namespace: str) -> None:
    kubectl("create", "namespace", namespace)
    kubectl("create", "serviceaccount", "ci", "-n", namespace)
    wanted = {"kind": "rbac-grants", "subject": sa(namespace, "ci"), "namespace": namespace, "exactly": True,
              "rules": [{"apiGroups": ["apps"], "resources": ["deployments"], "verbs": ["get", "list", "create", "update"]}]}
    nothing = run(cluster, wanted)
    assert nothing[0] == "failed" and f"no RoleBinding in {namespace} or ClusterRoleBinding names ServiceAccount {namespace}/ci" in nothing[2]
    # Split over two Roles, written in another order: the same permissions.
    kubectl("create", "role", "ci-read", "--verb=list,get", "--resource=deployments.apps", "-n", namespace)
    kubectl("create", "role", "ci-write", "--verb=update,create", "--resource=deployments.apps", "-n", namespace)
    kubectl("create", "rolebinding", "ci-read", "--role=ci-read", f"--serviceaccount={namespace}:ci", "-n", namespace)
    kubectl("create", "rolebinding", "ci-write", "--role=ci-write", f"--serviceaccount={namespace}:ci", "-n", namespace)
    assert run(cluster, wanted)[0] == "passed"
    kubectl("create", "role", "ci-more", "--verb=delete", "--resource=deployments.apps", "-n", namespace)
    kubectl("create", "rolebinding", "ci-more", "--role=ci-more", f"--serviceaccount={namespace}:ci", "-n", namespace)
    extra = run(cluster, wanted)
    assert extra[0] == "failed" and extra[1] == (f"RoleBinding {namespace}/ci-more -> Role ci-more also lets ServiceAccount "
                                                 f"{namespace}/ci delete deployments.apps, more than this step asks")
    assert extra[2][0] == (f"ServiceAccount {namespace}/ci holds more than this step asks in namespace {namespace}; "
                           "least privilege grants only what is needed")
    assert (f"extra: yours also lets ServiceAccount {namespace}/ci delete deployments.apps in namespace {namespace} "
            f"(RoleBinding {namespace}/ci-more -> Role ci-more)") in extra[2]
    assert run(cluster, {**wanted, "exactly": False})[0] == "passed"


def test_kubeconfig_user_follows_the_chain_and_names_the_broken_link(sandbox: SandboxFiles, cluster: Any, tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    good = certificate_kubeconfig(sandbox, tmp_path / "jane.kubeconfig", "jane", ("dev",))
    check = {"kind": "kubeconfig-user", "kubeconfig": str(good), "context": "labrunner-sandbox", "user": "jane", "groups": ["dev"]}
    assert run(cluster, check) == ("passed", f"context labrunner-sandbox of {good} authenticates as jane (groups dev, system:authenticated)", [])
    assert run(cluster, {**check, "context": "jane"})[1] == f"{good} has no context jane"
    monkeypatch.chdir(tmp_path)  # a file below the working directory is named relative to it, as the learner typed it
    assert run(cluster, {**check, "context": "jane"})[1] == "jane.kubeconfig has no context jane"
    assert run(cluster, {**check, "kubeconfig": "jane.kubeconfig", "context": "jane"})[1] == "jane.kubeconfig has no context jane"
    wrong_cn = certificate_kubeconfig(sandbox, tmp_path / "j.kubeconfig", "Jane", ("dev",))
    assert run(cluster, {**check, "kubeconfig": str(wrong_cn)})[1] == "context labrunner-sandbox authenticates as 'Jane', not 'jane'"
    no_group = certificate_kubeconfig(sandbox, tmp_path / "g.kubeconfig", "jane")
    assert "without dev" in run(cluster, {**check, "kubeconfig": str(no_group)})[1]
    forged = certificate_kubeconfig(sandbox, tmp_path / "f.kubeconfig", "jane", ("dev",), own_ca=True)
    refused = run(cluster, {**check, "kubeconfig": str(forged)})
    assert refused[0] == "failed" and refused[1].startswith("context labrunner-sandbox could not reach the cluster at https://")
    assert "not signed by this cluster's CA" in text(refused)
    assert run(cluster, {**check, "kubeconfig": str(tmp_path / "missing")})[1] == "there is no kubeconfig file missing"
    assert run(cluster, {**check, "kubeconfig": "/nowhere/jane.kubeconfig"})[1] == "there is no kubeconfig file /nowhere/jane.kubeconfig"
