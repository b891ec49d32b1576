"""The sandbox authenticates and authorises every request as kube-apiserver does: kubectl as
a learner's own users (a certificate, no credentials, a bad token, --as), refused with the
API server's 403 words, allowed by exactly what their Roles and bindings grant."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from labrunner.sandbox.files import SandboxFiles
from tests.identities import certificate_kubeconfig
from tests.sandboxes import KUBECTL, Kubectl, fresh_name

pytestmark = [pytest.mark.kubectl, pytest.mark.skipif(KUBECTL is None, reason="needs the kubectl binary on PATH")]


@pytest.fixture
def jane(sandbox: SandboxFiles, tmp_path: Path) -> str:
    """A kubeconfig for a user jane (groups dev-team, qa) with a client certificate."""
    return str(certificate_kubeconfig(sandbox, tmp_path / "jane.kubeconfig", "jane", ("dev-team", "qa")))


def apply(kubectl: Kubectl, manifest: str) -> None:
    kubectl("apply", "-f", "-", stdin=manifest)


def role(namespace: str, name: str, rules: list[dict[str, object]]) -> str:
    return json.dumps({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
                       "metadata": {"name": name, "namespace": namespace}, "rules": rules})


def test_a_certificate_user_with_no_binding_is_refused_in_the_api_servers_words(kubectl: Kubectl, jane: str, namespace: str) -> None:
    kubectl("create", "namespace", namespace)
    refused = kubectl("--kubeconfig", jane, "get", "pods", "-n", namespace, check=False)
    assert refused.returncode == 1
    assert refused.stderr.strip() == (f'Error from server (Forbidden): pods is forbidden: User "jane" cannot list resource "pods" '
                                      f'in API group "" in the namespace "{namespace}"')
    nodes = kubectl("--kubeconfig", jane, "delete", "node", "node-1", check=False)
    assert 'nodes "node-1" is forbidden: User "jane" cannot delete resource "nodes" in API group "" at the cluster scope' in nodes.stderr


def test_a_rolebinding_grants_its_roles_rules_in_its_namespace_only(kubectl: Kubectl, jane: str, namespace: str) -> None:
    other = fresh_name()
    kubectl("create", "namespace", namespace)
    kubectl("create", "namespace", other)
    try:
        kubectl("create", "role", "pod-reader", "--verb=get,list", "--resource=pods", "-n", namespace)
        kubectl("create", "rolebinding", "jane-reads", "--role=pod-reader", "--user=jane", "-n", namespace)
        assert kubectl("--kubeconfig", jane, "get", "pods", "-n", namespace, check=False).returncode == 0
        elsewhere = kubectl("--kubeconfig", jane, "get", "pods", "-n", other, check=False)
        assert f'cannot list resource "pods" in API group "" in the namespace "{other}"' in elsewhere.stderr
        # Authorisation comes before the object is looked for: a pod that does not exist is still 403.
        deleting = kubectl("--kubeconfig", jane, "delete", "pod", "web", "-n", namespace, check=False)
        assert f'pods "web" is forbidden: User "jane" cannot delete resource "pods" in API group "" in the namespace "{namespace}"' in deleting.stderr
        # A group in the certificate's O is a subject like any other.
        kubectl("create", "rolebinding", "qa-reads", "--role=pod-reader", "--group=qa", "-n", other)
        kubectl("create", "role", "pod-reader", "--verb=list", "--resource=pods", "-n", other)
        assert kubectl("--kubeconfig", jane, "get", "pods", "-n", other, check=False).returncode == 0
    finally:
        kubectl("delete", "namespace", other, "--wait=false", check=False)


def test_resource_names_and_subresources_grant_exactly_what_they_name(kubectl: Kubectl, jane: str, namespace: str) -> None:
    kubectl("create", "namespace", namespace)
    kubectl("create", "configmap", "web", "--from-literal=a=1", "-n", namespace)
    kubectl("create", "configmap", "other", "--from-literal=a=1", "-n", namespace)
    kubectl("create", "deployment", "web", "--image=nginx", "-n", namespace)
    apply(kubectl, role(namespace, "narrow", [
        {"apiGroups": [""], "resources": ["configmaps"], "resourceNames": ["web"], "verbs": ["get"]},
        {"apiGroups": ["apps"], "resources": ["deployments/scale"], "verbs": ["get", "patch", "update"]},
    ]))
    kubectl("create", "rolebinding", "narrow", "--role=narrow", "--user=jane", "-n", namespace)
    assert kubectl("--kubeconfig", jane, "get", "configmap", "web", "-n", namespace, check=False).returncode == 0
    other = kubectl("--kubeconfig", jane, "get", "configmap", "other", "-n", namespace, check=False)
    assert f'configmaps "other" is forbidden: User "jane" cannot get resource "configmaps" in API group "" in the namespace "{namespace}"' in other.stderr
    listing = kubectl("--kubeconfig", jane, "get", "configmaps", "-n", namespace, check=False)
    assert "cannot list resource" in listing.stderr  # resourceNames never match a list
    # kubectl scale reads the Deployment first: the scale subresource alone does not let it.
    scaling = kubectl("--kubeconfig", jane, "scale", "deployment", "web", "--replicas=2", "-n", namespace, check=False)
    assert 'deployments.apps "web" is forbidden: User "jane" cannot get resource "deployments" in API group "apps"' in scaling.stderr
    patched = kubectl("--kubeconfig", jane, "patch", "deployment/scale", "web", "-n", namespace, check=False)
    assert patched.returncode != 0
    raw = kubectl("--kubeconfig", jane, "get", "--raw", f"/apis/apps/v1/namespaces/{namespace}/deployments/web/scale", check=False)
    assert raw.returncode == 0 and json.loads(raw.stdout)["kind"] == "Scale"


def test_a_binding_to_a_missing_role_is_the_rbac_reason_of_the_refusal(kubectl: Kubectl, jane: str, namespace: str) -> None:
    kubectl("create", "namespace", namespace)
    kubectl("create", "rolebinding", "ghostly", "--role=ghost", "--user=jane", "-n", namespace)
    refused = kubectl("--kubeconfig", jane, "get", "pods", "-n", namespace, check=False)
    assert refused.stderr.strip().endswith(': RBAC: role.rbac.authorization.k8s.io "ghost" not found')


def anonymous_get(files: SandboxFiles, path: str) -> tuple[int, str]:
    """A request with no credentials at all, as ``curl --cacert ca.crt https://...`` sends it
    (kubectl, given a user with none, asks for a username instead)."""
    import http.client
    import ssl

    port = json.loads(files.server_info.read_text())["port"]
    context = ssl.create_default_context(cafile=str(files.ca_certificate))
    connection = http.client.HTTPSConnection("127.0.0.1", port, context=context, timeout=30)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return response.status, response.read().decode()
    finally:
        connection.close()


def test_no_credentials_is_system_anonymous_and_a_bad_token_is_401(kubectl: Kubectl, sandbox: SandboxFiles) -> None:
    code, body = anonymous_get(sandbox, "/api/v1/namespaces/default/pods")
    assert code == 403 and json.loads(body)["message"] == (
        'pods is forbidden: User "system:anonymous" cannot list resource "pods" in API group "" in the namespace "default"')
    # system:public-info-viewer, bound to system:unauthenticated, lets anyone read the health endpoints and /version.
    assert anonymous_get(sandbox, "/healthz") == (200, "ok")
    assert anonymous_get(sandbox, "/version")[0] == 200
    code, body = anonymous_get(sandbox, "/api")  # discovery is for system:authenticated only
    assert code == 403 and json.loads(body)["message"] == 'forbidden: User "system:anonymous" cannot get path "/api"'
    bad = kubectl("--token", "not-a-real-token", "get", "pods", check=False)
    assert bad.stderr.strip() == "error: You must be logged in to the server (Unauthorized)"


def test_a_certificate_from_another_ca_never_authenticates(kubectl: Kubectl, sandbox: SandboxFiles, tmp_path: Path) -> None:
    """kube-apiserver answers such a certificate 401; Python's TLS cannot request a client
    certificate without verifying it, so the sandbox refuses it in the handshake instead
    (docs/architecture.md, "Authentication"). Either way: no access, even as system:masters."""
    forged = str(certificate_kubeconfig(sandbox, tmp_path / "forged.kubeconfig", "mallory", ("system:masters",), own_ca=True))
    refused = kubectl("--kubeconfig", forged, "get", "pods", "-n", "default", "--request-timeout=10s", check=False)
    assert refused.returncode != 0 and "No resources found" not in refused.stdout


def test_impersonation_needs_the_impersonate_verb(kubectl: Kubectl, jane: str, namespace: str) -> None:
    kubectl("create", "namespace", namespace)
    kubectl("create", "role", "cm-reader", "--verb=list", "--resource=configmaps", "-n", namespace)
    kubectl("create", "rolebinding", "bob-reads", "--role=cm-reader", "--user=bob", "-n", namespace)
    refused = kubectl("--kubeconfig", jane, "get", "configmaps", "-n", namespace, "--as=bob", check=False)
    assert refused.stderr.strip() == ('Error from server (Forbidden): users "bob" is forbidden: User "jane" cannot impersonate '
                                      'resource "users" in API group "" at the cluster scope')
    name = fresh_name("impersonate-bob")
    kubectl("create", "clusterrole", name, "--verb=impersonate", "--resource=users", "--resource-name=bob")
    kubectl("create", "clusterrolebinding", name, f"--clusterrole={name}", "--user=jane")
    try:
        assert kubectl("--kubeconfig", jane, "get", "configmaps", "-n", namespace, "--as=bob", check=False).returncode == 0
        as_alice = kubectl("--kubeconfig", jane, "get", "configmaps", "-n", namespace, "--as=alice", check=False)
        assert 'users "alice" is forbidden' in as_alice.stderr
        # The admin may impersonate anyone; as bob it may do only what bob may.
        assert kubectl("get", "secrets", "-n", namespace, "--as=bob", check=False).stderr.strip().startswith(
            'Error from server (Forbidden): secrets is forbidden: User "bob" cannot list resource "secrets"')
    finally:
        kubectl("delete", "clusterrolebinding", name, check=False)
        kubectl("delete", "clusterrole", name, check=False)


def test_a_subject_access_review_answers_with_the_binding_that_allows(kubectl: Kubectl, namespace: str) -> None:
    kubectl("create", "namespace", namespace)
    kubectl("create", "role", "pod-reader", "--verb=get,list", "--resource=pods", "-n", namespace)
    kubectl("create", "rolebinding", "reads", "--role=pod-reader", "--serviceaccount", f"{namespace}:robot", "-n", namespace)
    review = {"apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview",
              "spec": {"user": f"system:serviceaccount:{namespace}:robot", "groups": ["system:serviceaccounts"],
                       "resourceAttributes": {"namespace": namespace, "verb": "list", "resource": "pods"}}}
    answer = json.loads(kubectl("create", "-o", "json", "-f", "-", stdin=json.dumps(review)).stdout)
    assert answer["status"] == {"allowed": True, "reason": f'RBAC: allowed by RoleBinding "reads/{namespace}" of Role "pod-reader" '
                                                         f'to ServiceAccount "robot/{namespace}"'}
    review["spec"]["resourceAttributes"]["verb"] = "delete"  # type: ignore[index]
    assert json.loads(kubectl("create", "-o", "json", "-f", "-", stdin=json.dumps(review)).stdout)["status"] == {"allowed": False}
    del review["spec"]["user"]  # type: ignore[attr-defined]
    del review["spec"]["groups"]  # type: ignore[attr-defined]
    invalid = kubectl("create", "-f", "-", stdin=json.dumps(review), check=False)
    assert "at least one of user or group must be specified" in invalid.stderr
    # kubectl auth can-i --as asks the same question through a SelfSubjectAccessReview.
    sa = f"system:serviceaccount:{namespace}:robot"
    assert kubectl("auth", "can-i", "list", "pods", "-n", namespace, f"--as={sa}", check=False).stdout.strip() == "yes"
    assert kubectl("auth", "can-i", "delete", "pods", "-n", namespace, f"--as={sa}", check=False).stdout.strip() == "no"
    # --as=robot is a user named robot, not the service account: the classic mistake.
    assert kubectl("auth", "can-i", "list", "pods", "-n", namespace, "--as=robot", check=False).stdout.strip() == "no"
