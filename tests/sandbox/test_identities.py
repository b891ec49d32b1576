"""Each way of being someone on the sandbox, end to end with kubectl, as a learner does it:
a user from a CertificateSigningRequest, a service account's token, impersonation; and
``kubectl auth whoami`` / ``auth can-i --list`` telling them who they are and what they may do."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from labrunner.sandbox.files import SandboxFiles
from tests.identities import token_kubeconfig
from tests.sandboxes import KUBECTL, Kubectl, eventually, fresh_name

pytestmark = [pytest.mark.kubectl, pytest.mark.skipif(KUBECTL is None, reason="needs the kubectl binary on PATH")]


def whoami(kubectl: Kubectl, *argv: str) -> dict[str, object]:
    answer = json.loads(kubectl(*argv, "auth", "whoami", "-o", "json").stdout)
    return answer["status"]["userInfo"]  # type: ignore[no-any-return]


def test_a_user_made_from_a_csr_works_in_a_kubeconfig_context_of_its_own(kubectl: Kubectl, sandbox: SandboxFiles,
                                                                          namespace: str, tmp_path: Path) -> None:
    """The CKA classic: key, CSR, approve, certificate, set-credentials, set-context, use it."""
    user = fresh_name("jane")
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    request = (x509.CertificateSigningRequestBuilder()
               .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, user), x509.NameAttribute(NameOID.ORGANIZATION_NAME, "dev-team")]))
               .sign(key, hashes.SHA256()))
    manifest = {"apiVersion": "certificates.k8s.io/v1", "kind": "CertificateSigningRequest", "metadata": {"name": user},
                "spec": {"request": base64.b64encode(request.public_bytes(serialization.Encoding.PEM)).decode(),
                         "signerName": "kubernetes.io/kube-apiserver-client", "expirationSeconds": 86400, "usages": ["client auth"]}}
    kubectl("create", "-f", "-", stdin=json.dumps(manifest))
    kubectl("certificate", "approve", user)
    eventually(lambda: bool(kubectl("get", "csr", user, "-o", "jsonpath={.status.certificate}").stdout), "the certificate issued")
    (tmp_path / "jane.crt").write_bytes(base64.b64decode(kubectl("get", "csr", user, "-o", "jsonpath={.status.certificate}").stdout))
    (tmp_path / "jane.key").write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                                                          serialization.NoEncryption()))
    own = tmp_path / "config"
    own.write_text(sandbox.kubeconfig.read_text())
    mine = ("--kubeconfig", str(own))
    kubectl(*mine, "config", "set-credentials", user, f"--client-certificate={tmp_path / 'jane.crt'}",
            f"--client-key={tmp_path / 'jane.key'}", "--embed-certs=true")
    kubectl(*mine, "config", "set-context", user, "--cluster=labrunner-sandbox", f"--user={user}", f"--namespace={namespace}")
    kubectl(*mine, "config", "use-context", user)
    assert whoami(kubectl, *mine) == {"username": user, "groups": ["dev-team", "system:authenticated"]}
    kubectl("create", "namespace", namespace)
    refused = kubectl(*mine, "get", "pods", check=False)
    assert f'User "{user}" cannot list resource "pods"' in refused.stderr
    kubectl("create", "rolebinding", "devs-edit", "--clusterrole=edit", "--group=dev-team", "-n", namespace)
    kubectl(*mine, "create", "deployment", "web", "--image=nginx")  # the default edit role lets the group do it
    assert kubectl(*mine, "auth", "can-i", "create", "roles", check=False).stdout.strip() == "no"


def test_a_service_account_token_from_kubectl_create_token_is_that_account(kubectl: Kubectl, sandbox: SandboxFiles,
                                                                              namespace: str, tmp_path: Path) -> None:
    kubectl("create", "namespace", namespace)
    kubectl("create", "serviceaccount", "robot", "-n", namespace)
    token = kubectl("create", "token", "robot", "-n", namespace).stdout.strip()
    config = str(token_kubeconfig(sandbox, tmp_path / "robot", token))
    info = whoami(kubectl, "--kubeconfig", config)
    assert info["username"] == f"system:serviceaccount:{namespace}:robot"
    assert info["groups"] == ["system:serviceaccounts", f"system:serviceaccounts:{namespace}", "system:authenticated"]
    refused = kubectl("--kubeconfig", config, "get", "pods", "-n", namespace, check=False)
    assert f'User "system:serviceaccount:{namespace}:robot" cannot list resource "pods"' in refused.stderr
    kubectl("create", "rolebinding", "robot-view", "--clusterrole=view", f"--serviceaccount={namespace}:robot", "-n", namespace)
    assert kubectl("--kubeconfig", config, "get", "pods", "-n", namespace, check=False).returncode == 0
    # The account deleted, its tokens stop working: 401, not 403.
    kubectl("delete", "serviceaccount", "robot", "-n", namespace)
    gone = kubectl("--kubeconfig", config, "get", "pods", "-n", namespace, check=False)
    assert gone.stderr.strip() == "error: You must be logged in to the server (Unauthorized)"


def test_can_i_list_shows_the_rules_held_in_a_namespace(kubectl: Kubectl, namespace: str) -> None:
    kubectl("create", "namespace", namespace)
    kubectl("create", "role", "scaler", "--verb=get,patch", "--resource=deployments/scale", "-n", namespace)
    kubectl("create", "rolebinding", "scaler", "--role=scaler", "--user=sam", "-n", namespace)
    listed = kubectl("auth", "can-i", "--list", "-n", namespace, "--as=sam").stdout
    rows = {line.split()[0]: line for line in listed.splitlines()[1:] if line.strip()}
    assert "deployments.apps/scale" in rows and "[get patch]" in rows["deployments.apps/scale"]
    assert "selfsubjectaccessreviews.authorization.k8s.io" in rows  # system:basic-user, for every authenticated user
    elsewhere = kubectl("auth", "can-i", "--list", "-n", "default", "--as=sam").stdout
    assert "deployments.apps/scale" not in elsewhere
    assert kubectl("auth", "can-i", "patch", "deployments", "--subresource=scale", "-n", namespace, "--as=sam", check=False).stdout.strip() == "yes"
    assert kubectl("auth", "can-i", "patch", "deployments", "-n", namespace, "--as=sam", check=False).stdout.strip() == "no"


def test_whoami_as_another_user_and_group(kubectl: Kubectl) -> None:
    assert whoami(kubectl) == {"username": "kubernetes-admin", "groups": ["system:masters", "system:authenticated"]}
    assert whoami(kubectl, "--as=jane", "--as-group=dev-team") == {"username": "jane", "groups": ["dev-team", "system:authenticated"]}
    assert whoami(kubectl, "--as=system:serviceaccount:dev:ci")["groups"] == [
        "system:serviceaccounts", "system:serviceaccounts:dev", "system:authenticated"]
