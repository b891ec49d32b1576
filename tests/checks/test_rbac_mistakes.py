"""The RBAC lab's own checks against the mistakes learners make, on the shared sandbox (which
authenticates and authorises like kube-apiserver): each mistake is made with real kubectl (and
openssl), the step's checks run through the registry, and the diagnosis must name the object,
the field and the value responsible. Correct answers written other ways (YAML or imperative,
a ClusterRole bound by a RoleBinding, rules split over two Roles, a User subject spelt as the
ServiceAccount's user name, other names) must pass."""

from __future__ import annotations

import base64
import datetime
import json
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from labrunner.lab.loader import load_lab
from labrunner.lab.model import Lab
from labrunner.registry.types import Outcome
from labrunner.sandbox.files import SandboxFiles
from tests.checks.lab_checks import failing_text, step_results
from tests.conftest import REPO
from tests.sandboxes import KUBECTL, Kubectl, eventually, fresh_name

OPENSSL = shutil.which("openssl")
pytestmark = [pytest.mark.kubectl, pytest.mark.skipif(KUBECTL is None or OPENSSL is None,
                                                      reason="needs the kubectl and openssl binaries on PATH")]

LAB_DIR = REPO / "labs" / "rbac"
RBAC = "rbac.authorization.k8s.io"


# -- running a step's checks ---------------------------------------------------------------------


@pytest.fixture
def lab(namespace: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Lab:
    """The lab as a learner runs it: in the test's namespace, with a working folder of its own,
    from the folder above it (so the checks name jane's files as work/jane.key)."""
    monkeypatch.chdir(tmp_path)
    return load_lab(LAB_DIR, {"namespace": namespace, "workdir": str(tmp_path / "work")})


@pytest.fixture
def checks(lab: Lab, cluster: Any) -> Callable[[str], list[tuple[str, Outcome]]]:
    """Run a step's checks through the registry, as the session does: (says, outcome) each."""

    def run(step_id: str) -> list[tuple[str, Outcome]]:
        return step_results(lab, cluster, step_id)

    return run


def failed(results: list[tuple[str, Outcome]], *texts: str) -> str:
    """The step fails, and its failing checks' sentences and details say each of ``texts``."""
    said = failing_text(results)
    assert said, f"the step passed: {results}"
    for text in texts:
        assert text in said, f"{text!r} not in:\n{said}"
    return said


def first(results: list[tuple[str, Outcome]]) -> Outcome:
    """The first failing check's outcome: its sentence is the first the learner reads."""
    failing = [outcome for _, outcome in results if outcome[0] != "passed"]
    assert failing, f"the step passed: {results}"
    return failing[0]


def passed(results: list[tuple[str, Outcome]]) -> None:
    assert all(outcome[0] == "passed" for _, outcome in results), [r for r in results if r[1][0] != "passed"]


def apply(kubectl: Kubectl, *objects: dict[str, Any], namespace: str | None = None) -> None:
    where = ["-n", namespace] if namespace else []
    kubectl("apply", *where, "-f", "-", stdin=json.dumps({"apiVersion": "v1", "kind": "List", "items": list(objects)}))


def role(name: str, *rules: dict[str, Any], cluster: bool = False, labels: dict[str, str] | None = None) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": name, **({"labels": labels} if labels else {})}
    return {"apiVersion": f"{RBAC}/v1", "kind": "ClusterRole" if cluster else "Role", "metadata": metadata, "rules": list(rules)}


def binding(name: str, role_kind: str, role_name: str, *subjects: dict[str, str], cluster: bool = False) -> dict[str, Any]:
    return {"apiVersion": f"{RBAC}/v1", "kind": "ClusterRoleBinding" if cluster else "RoleBinding", "metadata": {"name": name},
            "roleRef": {"apiGroup": RBAC, "kind": role_kind, "name": role_name}, "subjects": list(subjects)}


def rule(verbs: str, resources: str, group: str = "", **more: Any) -> dict[str, Any]:
    return {"apiGroups": [group], "resources": resources.split(","), "verbs": verbs.split(","), **more}


@pytest.fixture
def cluster_wide(kubectl: Kubectl) -> Iterator[Callable[[str, str], str]]:
    """Register a cluster-scoped object (kind, name) the test makes; all are deleted afterwards,
    with the objects of fixed names the lab's checks read (CSR jane, ClusterRole monitoring)."""
    made: list[tuple[str, str]] = [("csr", "jane"), ("clusterrole", "monitoring")]

    def register(kind: str, name: str) -> str:
        made.append((kind, name))
        return name

    yield register
    for kind, name in reversed(made):
        kubectl("delete", kind, name, "--ignore-not-found", "--wait=false", check=False)


def sa(namespace: str, name: str) -> dict[str, str]:
    return {"kind": "ServiceAccount", "name": name, "namespace": namespace}


# -- step 1: the ServiceAccount ------------------------------------------------------------------


def test_a_service_account_made_in_another_namespace_is_found_there(kubectl: Kubectl, checks: Any, namespace: str) -> None:
    elsewhere = fresh_name("other")
    kubectl("create", "namespace", namespace)
    kubectl("create", "namespace", elsewhere)
    try:
        kubectl("create", "serviceaccount", "deployer", "-n", elsewhere)  # forgot -n NAMESPACE
        failed(checks("service-account"), f"there is no ServiceAccount deployer in namespace {namespace}, only in:", elsewhere,
               f"kubectl create serviceaccount deployer -n {namespace}")
        kubectl("create", "serviceaccount", "deployer", "-n", namespace)
        passed(checks("service-account"))
    finally:
        kubectl("delete", "namespace", elsewhere, "--wait=false", check=False)


# -- step 2: Role, RoleBinding and the subject ---------------------------------------------------


def pod_reader(kubectl: Kubectl, namespace: str, *rules: dict[str, Any]) -> None:
    kubectl("create", "serviceaccount", "deployer", "-n", namespace)
    apply(kubectl, role("pod-reader", *(rules or [rule("get,list,watch", "pods")])), namespace=namespace)


def test_serviceaccount_without_namespace_is_refused_and_a_user_subject_is_named(kubectl: Kubectl, checks: Any,
                                                                                 namespace: str, lab: Lab) -> None:
    kubectl("create", "namespace", namespace)
    pod_reader(kubectl, namespace)
    refused = kubectl("create", "rolebinding", "deployer-pod-reader", "--role=pod-reader", "--serviceaccount=deployer",
                      "-n", namespace, check=False)
    assert refused.returncode == 1 and refused.stderr.strip() == "error: serviceaccount must be <namespace>:<name>"
    assert refused.stderr.strip() in lab.instructions(lab.step("role-binding"))
    kubectl("create", "rolebinding", "deployer-pod-reader", "--role=pod-reader", "--user=deployer", "-n", namespace)
    _, sentence, details = first(checks("role-binding"))
    assert sentence == f"RoleBinding {namespace}/deployer-pod-reader names User deployer, a user, not the ServiceAccount {namespace}/deployer"
    assert details[:2] == [f"write kind ServiceAccount with namespace {namespace} (kubectl: --serviceaccount={namespace}:deployer)",
                           f"ServiceAccount {namespace}/deployer cannot list pods in namespace {namespace}"]


def test_nothing_bound_yet_is_said_by_rbac_grants(kubectl: Kubectl, checks: Any, namespace: str) -> None:
    kubectl("create", "namespace", namespace)
    pod_reader(kubectl, namespace)
    failed(checks("role-binding"), f"no RoleBinding in {namespace} or ClusterRoleBinding names ServiceAccount {namespace}/deployer",
           f"missing: ServiceAccount {namespace}/deployer may not list pods in namespace {namespace}")


def test_access_says_plainly_that_nothing_names_the_subject(kubectl: Kubectl, checks: Any, namespace: str) -> None:
    kubectl("create", "namespace", namespace)
    pod_reader(kubectl, namespace)
    status, _, details = checks("role-binding")[0][1]
    assert status == "failed"
    assert any("names ServiceAccount" in line and "no " in line for line in details), details
    assert not any("system:basic-user" in line for line in details), details


def test_as_deployer_asks_about_a_user_while_the_check_asks_about_the_service_account(kubectl: Kubectl, checks: Any,
                                                                                      namespace: str) -> None:
    kubectl("create", "namespace", namespace)
    pod_reader(kubectl, namespace)
    kubectl("create", "rolebinding", "deployer-pod-reader", "--role=pod-reader", f"--serviceaccount={namespace}:deployer",
            "-n", namespace)
    assert kubectl("auth", "can-i", "list", "pods", "-n", namespace, "--as=deployer", check=False).stdout.strip() == "no"
    full = kubectl("auth", "can-i", "list", "pods", "-n", namespace, f"--as=system:serviceaccount:{namespace}:deployer")
    assert full.stdout.strip() == "yes"
    passed(checks("role-binding"))


def test_a_rolebinding_in_another_namespace_and_a_subject_in_another_namespace(kubectl: Kubectl, checks: Any,
                                                                               namespace: str) -> None:
    elsewhere = fresh_name("other")
    kubectl("create", "namespace", namespace)
    kubectl("create", "namespace", elsewhere)
    try:
        pod_reader(kubectl, namespace)
        # The Role and RoleBinding made in the wrong namespace (a context whose namespace is not the lab's).
        apply(kubectl, role("pod-reader", rule("get,list,watch", "pods")),
              binding("deployer-pod-reader", "Role", "pod-reader", sa(namespace, "deployer")), namespace=elsewhere)
        failed(checks("role-binding"), f"RoleBinding {elsewhere}/deployer-pod-reader is in namespace {elsewhere}: a RoleBinding "
                                       f"grants only in its own namespace, not in {namespace}")
        # In the right namespace, but naming the ServiceAccount of another namespace.
        kubectl("create", "rolebinding", "deployer-pod-reader", "--role=pod-reader", f"--serviceaccount={elsewhere}:deployer",
                "-n", namespace)
        assert first(checks("role-binding"))[1] == (f"RoleBinding {namespace}/deployer-pod-reader names ServiceAccount "
                                                    f"{elsewhere}/deployer, in namespace {elsewhere}, not {namespace}")
    finally:
        kubectl("delete", "namespace", elsewhere, "--wait=false", check=False)


def test_resource_names_limit_a_list_and_the_rule_is_named(kubectl: Kubectl, checks: Any, namespace: str) -> None:
    kubectl("create", "namespace", namespace)
    pod_reader(kubectl, namespace, rule("get,list,watch", "pods", resourceNames=["web"]))
    kubectl("create", "rolebinding", "deployer-pod-reader", "--role=pod-reader", f"--serviceaccount={namespace}:deployer",
            "-n", namespace)
    failed(checks("role-binding"),
           "role pod-reader allows get, list, watch on pods named web only, and a list of pods names no object "
           "(resourceNames never match it)",
           "Role pod-reader limits pods to resourceNames web; list on any pods needs a rule without resourceNames")


def test_edit_bound_for_a_pod_reader_allows_delete_and_more(kubectl: Kubectl, checks: Any, namespace: str) -> None:
    kubectl("create", "namespace", namespace)
    kubectl("create", "serviceaccount", "deployer", "-n", namespace)
    kubectl("create", "rolebinding", "deployer-edit", "--clusterrole=edit", f"--serviceaccount={namespace}:deployer", "-n", namespace)
    said = failed(checks("role-binding"),
                  f"ServiceAccount {namespace}/deployer can delete pods in namespace {namespace}, which this step must not allow",
                  f"RoleBinding {namespace}/deployer-edit binds ClusterRole edit to ServiceAccount {namespace}/deployer",
                  "least privilege",
                  f"extra: yours also lets ServiceAccount {namespace}/deployer")
    assert "(aggregated from ClusterRole system:aggregate-to-edit)" in said


def test_a_clusterrolebinding_for_the_pod_reader_reaches_every_namespace(kubectl: Kubectl, checks: Any, namespace: str,
                                                                        cluster_wide: Callable[[str, str], str]) -> None:
    kubectl("create", "namespace", namespace)
    kubectl("create", "serviceaccount", "deployer", "-n", namespace)
    name = cluster_wide("clusterrole", f"{namespace}-pod-reader")
    kubectl("create", "clusterrole", name, "--verb=get,list,watch", "--resource=pods")
    kubectl("create", "clusterrolebinding", cluster_wide("clusterrolebinding", name), f"--clusterrole={name}",
            f"--serviceaccount={namespace}:deployer")
    failed(checks("role-binding"),
           f"ServiceAccount {namespace}/deployer can list pods in namespace default, which this step must not allow",
           f"ClusterRoleBinding {name} binds ClusterRole {name} to ServiceAccount {namespace}/deployer")


def test_correct_variants_of_the_pod_reader(kubectl: Kubectl, checks: Any, namespace: str) -> None:
    kubectl("create", "namespace", namespace)
    kubectl("create", "serviceaccount", "deployer", "-n", namespace)
    # YAML: a ClusterRole bound by a RoleBinding whose ServiceAccount subject omits the namespace
    # (in a RoleBinding it means the binding's own), verbs split over two rules.
    apply(kubectl, role(f"{namespace}-reads", rule("list,watch", "pods"), rule("get", "pods"), cluster=True))
    try:
        apply(kubectl, binding("reads", "ClusterRole", f"{namespace}-reads", {"kind": "ServiceAccount", "name": "deployer"}),
              namespace=namespace)
        passed(checks("role-binding"))
    finally:
        kubectl("delete", "clusterrole", f"{namespace}-reads", "--wait=false", check=False)
    # Imperative, other names, a User subject spelt as the ServiceAccount's user name.
    kubectl("delete", "rolebinding", "reads", "-n", namespace)
    kubectl("create", "role", "see-pods", "--verb=get,list,watch", "--resource=pods", "-n", namespace)
    kubectl("create", "rolebinding", "see-pods", "--role=see-pods", f"--user=system:serviceaccount:{namespace}:deployer",
            "-n", namespace)
    passed(checks("role-binding"))


# -- step 3: a ClusterRole for nodes ------------------------------------------------------------


@pytest.fixture
def node_reader(kubectl: Kubectl, namespace: str, cluster_wide: Callable[[str, str], str]) -> str:
    name = cluster_wide("clusterrole", f"{namespace}-node-reader")
    kubectl("create", "clusterrole", name, "--verb=get,list,watch", "--resource=nodes")
    return name


def test_a_rolebinding_of_the_node_reader_grants_no_nodes(kubectl: Kubectl, checks: Any, namespace: str, node_reader: str) -> None:
    kubectl("create", "namespace", namespace)
    kubectl("create", "rolebinding", "ops-node-reader", f"--clusterrole={node_reader}", "--group=ops", "-n", namespace)
    denied = kubectl("get", "nodes", "--as=ops-member", "--as-group=ops", check=False)
    assert 'cannot list resource "nodes" in API group "" at the cluster scope' in denied.stderr
    failed(checks("cluster-role"), "the group ops cannot list nodes cluster-wide", "the group ops lacks 3 permission(s)",
           "missing: the group ops may not list nodes at the cluster scope")


def test_a_rolebinding_of_the_node_reader_is_named_as_the_mistake(kubectl: Kubectl, checks: Any, namespace: str,
                                                                  node_reader: str) -> None:
    kubectl("create", "namespace", namespace)
    kubectl("create", "rolebinding", "ops-node-reader", f"--clusterrole={node_reader}", "--group=ops", "-n", namespace)
    said = failed(checks("cluster-role"))
    assert f"RoleBinding {namespace}/ops-node-reader" in said
    assert "no RoleBinding or ClusterRoleBinding names the group ops" not in said


def test_a_user_named_ops_is_not_the_group_and_a_missing_verb_is_named(kubectl: Kubectl, checks: Any, namespace: str,
                                                                      node_reader: str,
                                                                      cluster_wide: Callable[[str, str], str]) -> None:
    name = cluster_wide("clusterrolebinding", f"{namespace}-ops")
    kubectl("create", "clusterrolebinding", name, f"--clusterrole={node_reader}", "--user=ops")
    _, sentence, details = first(checks("cluster-role"))
    assert sentence == f"ClusterRoleBinding {name} names User ops, not the Group ops"
    assert details[0] == "the group ops cannot list nodes cluster-wide"
    kubectl("delete", "clusterrolebinding", name)
    getter = cluster_wide("clusterrole", f"{namespace}-node-getter")
    kubectl("create", "clusterrole", getter, "--verb=get", "--resource=nodes")
    kubectl("create", "clusterrolebinding", name, f"--clusterrole={getter}", "--group=ops")
    failed(checks("cluster-role"), f"ClusterRoleBinding {name} binds ClusterRole {getter} to Group ops: cluster role {getter} "
                                   "allows get on nodes, not list")


def test_correct_variant_of_the_node_reader_in_yaml_split_over_two_cluster_roles(kubectl: Kubectl, checks: Any, namespace: str,
                                                                                 cluster_wide: Callable[[str, str], str]) -> None:
    one, two = cluster_wide("clusterrole", f"{namespace}-nodes-a"), cluster_wide("clusterrole", f"{namespace}-nodes-b")
    group = {"apiGroup": RBAC, "kind": "Group", "name": "ops"}
    apply(kubectl, role(one, rule("get", "nodes"), cluster=True), role(two, rule("watch,list", "nodes"), cluster=True),
          binding(cluster_wide("clusterrolebinding", one), "ClusterRole", one, group, cluster=True),
          binding(cluster_wide("clusterrolebinding", two), "ClusterRole", two, group, cluster=True))
    passed(checks("cluster-role"))


# -- step 4: a certificate from a CSR -----------------------------------------------------------


def openssl(*argv: str) -> None:
    subprocess.run([OPENSSL or "openssl", *argv], check=True, capture_output=True, timeout=30)


def key_and_request(work: Path, subject: str = "/CN=jane/O=dev-team") -> None:
    work.mkdir(parents=True, exist_ok=True)
    openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", str(work / "jane.key"))
    openssl("req", "-new", "-key", str(work / "jane.key"), "-subj", subject, "-out", str(work / "jane.csr"))


def submit(kubectl: Kubectl, work: Path, usages: tuple[str, ...] = ("client auth",), *, approve: bool = True) -> None:
    kubectl("delete", "csr", "jane", "--ignore-not-found")
    request = base64.b64encode((work / "jane.csr").read_bytes()).decode()
    apply(kubectl, {"apiVersion": "certificates.k8s.io/v1", "kind": "CertificateSigningRequest", "metadata": {"name": "jane"},
                    "spec": {"request": request, "signerName": "kubernetes.io/kube-apiserver-client", "usages": list(usages)}})
    if approve:
        kubectl("certificate", "approve", "jane")
        eventually(lambda: any(kubectl("get", "csr", "jane", "-o", f"jsonpath={{{field}}}").stdout
                               for field in (".status.certificate", ".status.conditions[?(@.type=='Failed')].type")),
                   "the signer issued or failed csr jane")


def save(kubectl: Kubectl, work: Path) -> None:
    issued = kubectl("get", "csr", "jane", "-o", "jsonpath={.status.certificate}").stdout
    (work / "jane.crt").write_bytes(base64.b64decode(issued))


def test_wrong_usages_make_the_csr_fail_and_the_signer_s_reason_is_quoted(kubectl: Kubectl, checks: Any, lab: Lab,
                                                                          cluster_wide: Any) -> None:
    work = Path(lab.placeholder_values["workdir"])
    key_and_request(work)
    submit(kubectl, work, ("digital signature", "server auth"))
    assert "Approved,Failed" in kubectl("get", "csr", "jane").stdout
    failed(checks("user-certificate"), "csr jane: the signer failed it: invalid usage for client certificate: server auth",
           "kubectl delete csr jane, then create it again with usages: [client auth]")


def test_pending_then_issued_but_not_saved_then_saved_encoded(kubectl: Kubectl, checks: Any, lab: Lab, cluster_wide: Any) -> None:
    work = Path(lab.placeholder_values["workdir"])
    assert first(checks("user-certificate"))[1:] == ("there is no private key work/jane.key",
                                                     ["openssl genrsa -out work/jane.key 2048", "(the script exited with 1, expected 0)"])
    key_and_request(work)
    failed(checks("user-certificate"), "there is no certificate work/jane.crt, and no CertificateSigningRequest jane")
    submit(kubectl, work, approve=False)
    assert first(checks("user-certificate"))[1:3] == ("csr jane is Pending", ["approve it with kubectl certificate approve jane",
                                                                              "(the script exited with 1, expected 0)"])
    kubectl("certificate", "approve", "jane")
    eventually(lambda: bool(kubectl("get", "csr", "jane", "-o", "jsonpath={.status.certificate}").stdout), "csr jane issued")
    failed(checks("user-certificate"), "csr jane is issued, but work/jane.crt does not hold the certificate yet",
           "| base64 -d > work/jane.crt")
    # Saved without base64 -d: the file holds base64 text, not PEM.
    (work / "jane.crt").write_text(kubectl("get", "csr", "jane", "-o", "jsonpath={.status.certificate}").stdout)
    assert first(checks("user-certificate"))[1] == "work/jane.crt is not a PEM certificate"
    save(kubectl, work)
    passed(checks("user-certificate"))


def test_a_request_without_o_gives_jane_no_group(kubectl: Kubectl, checks: Any, lab: Lab, cluster_wide: Any) -> None:
    work = Path(lab.placeholder_values["workdir"])
    key_and_request(work, "/CN=jane")
    submit(kubectl, work)
    save(kubectl, work)
    _, sentence, details = first(checks("user-certificate"))
    assert sentence == "work/jane.crt is for jane without O=dev-team"
    assert details[0] == "each O is a group, so jane is in no group dev-team" and "its subject: CN=jane" in details


def test_another_cn_and_a_key_made_again_after_the_request(kubectl: Kubectl, checks: Any, lab: Lab, cluster_wide: Any) -> None:
    work = Path(lab.placeholder_values["workdir"])
    key_and_request(work, "/CN=Jane/O=dev-team")
    submit(kubectl, work)
    save(kubectl, work)
    _, sentence, details = first(checks("user-certificate"))
    assert sentence == "work/jane.crt is for CN=Jane, not jane" and "its subject: CN=Jane,O=dev-team" in details
    key_and_request(work)
    submit(kubectl, work)
    save(kubectl, work)
    openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", str(work / "jane.key"))
    assert first(checks("user-certificate"))[1:3] == ("work/jane.crt does not belong to work/jane.key", [
        "the certificate was requested with another key (generated again since?)", "(the script exited with 1, expected 0)"])


def test_correct_variant_rsa_key_and_more_usages(kubectl: Kubectl, checks: Any, lab: Lab, cluster_wide: Any) -> None:
    work = Path(lab.placeholder_values["workdir"])
    work.mkdir(parents=True)
    openssl("genrsa", "-out", str(work / "jane.key"), "2048")
    openssl("req", "-new", "-key", str(work / "jane.key"), "-subj", "/O=dev-team/CN=jane", "-out", str(work / "jane.csr"))
    submit(kubectl, work, ("digital signature", "key encipherment", "client auth"))
    save(kubectl, work)
    passed(checks("user-certificate"))


# -- step 5: jane's kubeconfig ------------------------------------------------------------------


def signed_by_the_sandbox(sandbox: SandboxFiles, work: Path, cn: str = "jane", groups: tuple[str, ...] = ("dev-team",)) -> None:
    """jane.key and jane.crt, as an approved CSR gives them (signed by the sandbox's CA)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key = serialization.load_pem_private_key(sandbox.ca_key.read_bytes(), None)
    ca_name = x509.load_pem_x509_certificate(sandbox.ca_certificate.read_bytes()).subject
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, g) for g in groups] + [x509.NameAttribute(NameOID.COMMON_NAME, cn)])
    certificate = (x509.CertificateBuilder().subject_name(subject).issuer_name(ca_name).public_key(key.public_key())
                   .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
                   .not_valid_after(now + datetime.timedelta(days=1))
                   .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
                   .sign(ca_key, hashes.SHA256()))  # type: ignore[arg-type]
    work.mkdir(parents=True, exist_ok=True)
    (work / "jane.crt").write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    (work / "jane.key").write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                      serialization.NoEncryption()))


def jane_kubeconfig(kubectl: Kubectl, sandbox: SandboxFiles, work: Path, *, context: str = "jane", user: str = "jane") -> Path:
    """The learner's kubectl config commands, each with --kubeconfig."""
    config = json.loads(sandbox.kubeconfig.read_text())["clusters"][0]["cluster"]
    (work / "ca.crt").write_bytes(base64.b64decode(config["certificate-authority-data"]))
    file = str(work / "jane.kubeconfig")
    kubectl("config", "set-cluster", "rbac-lab", "--server", config["server"], "--certificate-authority", str(work / "ca.crt"),
            "--embed-certs", "--kubeconfig", file)
    kubectl("config", "set-credentials", "jane", "--client-certificate", str(work / "jane.crt"), "--client-key",
            str(work / "jane.key"), "--embed-certs", "--kubeconfig", file)
    kubectl("config", "set-context", context, "--cluster", "rbac-lab", "--user", user, "--kubeconfig", file)
    return work / "jane.kubeconfig"


def test_a_context_naming_the_admin_user_and_a_context_of_another_name(kubectl: Kubectl, checks: Any, lab: Lab,
                                                                       sandbox: SandboxFiles) -> None:
    work = Path(lab.placeholder_values["workdir"])
    signed_by_the_sandbox(sandbox, work)
    file = jane_kubeconfig(kubectl, sandbox, work, user="kubernetes-admin")
    assert first(checks("user-kubeconfig"))[1] == "context jane names user 'kubernetes-admin', which work/jane.kubeconfig does not define"
    file.unlink()
    jane_kubeconfig(kubectl, sandbox, work, context="jane@rbac-lab")
    assert first(checks("user-kubeconfig"))[1:] == ("work/jane.kubeconfig has no context jane", ["its contexts: jane@rbac-lab"])


def test_a_certificate_without_the_group_and_no_file_at_all(kubectl: Kubectl, checks: Any, lab: Lab, sandbox: SandboxFiles) -> None:
    work = Path(lab.placeholder_values["workdir"])
    assert first(checks("user-kubeconfig"))[1] == "there is no kubeconfig file work/jane.kubeconfig"
    signed_by_the_sandbox(sandbox, work, groups=())
    jane_kubeconfig(kubectl, sandbox, work)
    failed(checks("user-kubeconfig"), "context jane is jane in groups system:authenticated, without dev-team",
           '-subj "/CN=jane/O=dev-team"')
    signed_by_the_sandbox(sandbox, work)
    jane_kubeconfig(kubectl, sandbox, work)
    passed(checks("user-kubeconfig"))


# -- step 6: edit for the team ------------------------------------------------------------------


def test_edit_cluster_wide_and_admin_instead_of_edit(kubectl: Kubectl, checks: Any, namespace: str,
                                                     cluster_wide: Callable[[str, str], str]) -> None:
    kubectl("create", "namespace", namespace)
    name = cluster_wide("clusterrolebinding", f"{namespace}-dev-team-edit")
    kubectl("create", "clusterrolebinding", name, "--clusterrole=edit", "--group=dev-team")
    failed(checks("team-edit"), "the group dev-team can create deployments.apps in namespace default, which this step must not allow",
           f"ClusterRoleBinding {name} binds ClusterRole edit to Group dev-team")
    kubectl("delete", "clusterrolebinding", name)
    kubectl("create", "rolebinding", "dev-team-admin", "--clusterrole=admin", "--group=dev-team", "-n", namespace)
    failed(checks("team-edit"),
           f"the group dev-team can create roles.rbac.authorization.k8s.io in namespace {namespace}, which this step must not allow",
           f"RoleBinding {namespace}/dev-team-admin binds ClusterRole admin to Group dev-team")


def test_edit_bound_to_the_user_not_the_group_then_the_group(kubectl: Kubectl, checks: Any, namespace: str) -> None:
    kubectl("create", "namespace", namespace)
    kubectl("create", "rolebinding", "jane-edit", "--clusterrole=edit", "--user=jane", "-n", namespace)
    failed(checks("team-edit"), f"the group dev-team cannot create deployments.apps in namespace {namespace}")
    kubectl("delete", "rolebinding", "jane-edit", "-n", namespace)
    kubectl("create", "rolebinding", "dev-team-edit", "--clusterrole=edit", "--group=dev-team", "-n", namespace)
    # --as=jane alone impersonates a jane in no group: "no", though the team's binding is right.
    assert kubectl("auth", "can-i", "create", "deployments", "-n", namespace, "--as=jane", check=False).stdout.strip() == "no"
    passed(checks("team-edit"))


# -- step 7: the scale subresource --------------------------------------------------------------


def autoscaler(kubectl: Kubectl, namespace: str, *rules: dict[str, Any]) -> None:
    kubectl("create", "namespace", namespace)
    kubectl("create", "serviceaccount", "autoscaler", "-n", namespace)
    apply(kubectl, role("scaler", *rules), binding("scaler", "Role", "scaler", sa(namespace, "autoscaler")), namespace=namespace)


def test_deployments_do_not_imply_their_scale(kubectl: Kubectl, checks: Any, namespace: str) -> None:
    autoscaler(kubectl, namespace, rule("get,update,patch", "deployments", "apps"))
    failed(checks("scale-only"),
           f"ServiceAccount {namespace}/autoscaler cannot patch deployments.apps/scale in namespace {namespace}",
           "a subresource is not implied by its resource, a rule must name deployments/scale",
           f"ServiceAccount {namespace}/autoscaler can patch deployments.apps in namespace {namespace}, which this step must not allow")


def test_scale_without_get_on_deployments_and_one_rule_for_both(kubectl: Kubectl, checks: Any, namespace: str) -> None:
    autoscaler(kubectl, namespace, rule("get,patch", "deployments/scale", "apps"))
    refused = kubectl("scale", "deployment", "web", "--replicas=2", "-n", namespace,
                      f"--as=system:serviceaccount:{namespace}:autoscaler", check=False)
    assert 'cannot get resource "deployments" in API group "apps"' in refused.stderr
    failed(checks("scale-only"), f"ServiceAccount {namespace}/autoscaler cannot get deployments.apps in namespace {namespace}",
           'role scaler allows get, patch on deployments/scale in API group "apps", not deployments')
    # kubectl create role --resource=deployments.apps/scale,deployments.apps: one rule, patch on both.
    kubectl("create", "role", "scaler-2", "--verb=get,patch", "--resource=deployments.apps/scale,deployments.apps", "-n", namespace)
    kubectl("create", "rolebinding", "scaler-2", "--role=scaler-2", f"--serviceaccount={namespace}:autoscaler", "-n", namespace)
    failed(checks("scale-only"), f"can patch deployments.apps in namespace {namespace}, which this step must not allow",
           'its rules[0] allows get, patch on deployments/scale, deployments in API group "apps"')


def test_the_scale_in_the_core_group(kubectl: Kubectl, checks: Any, namespace: str) -> None:
    autoscaler(kubectl, namespace, rule("get", "deployments", "apps"), rule("get,patch", "deployments/scale"))
    failed(checks("scale-only"), 'allows get, patch on deployments/scale, not API group "apps"')


def test_correct_variant_of_the_scaler_with_update_and_other_names(kubectl: Kubectl, checks: Any, namespace: str) -> None:
    kubectl("create", "namespace", namespace)
    kubectl("create", "serviceaccount", "autoscaler", "-n", namespace)
    kubectl("create", "role", "read-deployments", "--verb=get,list", "--resource=deployments.apps", "-n", namespace)
    kubectl("create", "role", "resize", "--verb=get,update,patch", "--resource=deployments.apps/scale", "-n", namespace)
    for name in ("read-deployments", "resize"):
        kubectl("create", "rolebinding", name, f"--role={name}", f"--serviceaccount={namespace}:autoscaler", "-n", namespace)
    passed(checks("scale-only"))


# -- step 8: aggregation ------------------------------------------------------------------------


def test_a_label_that_does_not_match_leaves_monitoring_empty(kubectl: Kubectl, checks: Any, namespace: str,
                                                             cluster_wide: Callable[[str, str], str]) -> None:
    kubectl("create", "namespace", namespace)
    kubectl("create", "serviceaccount", "prometheus", "-n", namespace)
    joining = cluster_wide("clusterrole", f"{namespace}-endpoints")
    apply(kubectl, {**role("monitoring", cluster=True),
                    "aggregationRule": {"clusterRoleSelectors": [{"matchLabels": {"rbac.example.com/aggregate-to-monitoring": "true"}}]}},
          role(joining, rule("get,list,watch", "pods,services,endpoints"), cluster=True,
               labels={"rbac.example.com/aggregate-to-monitring": "yes"}))
    crb = cluster_wide("clusterrolebinding", f"{namespace}-monitoring")
    kubectl("create", "clusterrolebinding", crb, "--clusterrole=monitoring", f"--serviceaccount={namespace}:prometheus")
    assert first(checks("aggregated-role"))[1] == ("ClusterRole monitoring has gathered no rules: no ClusterRole has labels its "
                                                    "selectors match")
    failed(checks("aggregated-role"), "its clusterRoleSelectors: [{\"matchLabels\":{\"rbac.example.com/aggregate-to-monitoring\":\"true\"}}]",
           f"ClusterRoleBinding {crb} binds ClusterRole monitoring to ServiceAccount {namespace}/prometheus, but ClusterRole monitoring has no rules")
    kubectl("label", "clusterrole", joining, "rbac.example.com/aggregate-to-monitoring=true", "--overwrite")
    eventually(lambda: "pods" in kubectl("get", "clusterrole", "monitoring", "-o", "jsonpath={.rules}").stdout, "monitoring aggregated")
    passed(checks("aggregated-role"))


def test_monitoring_without_an_aggregation_rule_and_bound_by_a_rolebinding(kubectl: Kubectl, checks: Any, namespace: str,
                                                                          cluster_wide: Callable[[str, str], str]) -> None:
    kubectl("create", "namespace", namespace)
    kubectl("create", "clusterrole", "monitoring", "--verb=get,list,watch", "--resource=pods,services,endpoints")
    kubectl("create", "rolebinding", "prometheus-monitoring", "--clusterrole=monitoring", f"--serviceaccount={namespace}:prometheus",
            "-n", namespace)
    assert first(checks("aggregated-role"))[1:3] == ("ClusterRole monitoring has no aggregationRule", [
        "its rules are its own, not gathered from labelled ClusterRoles", "(the script exited with 1, expected 0)"])
    failed(checks("aggregated-role"),
           f"ServiceAccount {namespace}/prometheus cannot list pods cluster-wide",
           f"RoleBinding {namespace}/prometheus-monitoring is in namespace {namespace}: a RoleBinding grants only in its own "
           "namespace, not in kube-system")


def test_correct_variant_of_the_aggregation_with_match_expressions(kubectl: Kubectl, checks: Any, namespace: str,
                                                                   cluster_wide: Callable[[str, str], str]) -> None:
    kubectl("create", "namespace", namespace)
    label = f"example.org/{namespace}"
    apply(kubectl, {**role("monitoring", cluster=True), "aggregationRule": {"clusterRoleSelectors": [
        {"matchExpressions": [{"key": label, "operator": "In", "values": ["metrics"]}]}]}},
          role(cluster_wide("clusterrole", f"{namespace}-a"), rule("get,list,watch", "pods,endpoints"), cluster=True,
               labels={label: "metrics"}),
          role(cluster_wide("clusterrole", f"{namespace}-b"), rule("get,list,watch", "services"), cluster=True,
               labels={label: "metrics"}),
          binding(cluster_wide("clusterrolebinding", f"{namespace}-scrapes"), "ClusterRole", "monitoring",
                  sa(namespace, "prometheus"), cluster=True))
    eventually(lambda: "services" in kubectl("get", "clusterrole", "monitoring", "-o", "jsonpath={.rules}").stdout,
               "monitoring aggregated both roles")
    passed(checks("aggregated-role"))


# -- step 9: the broken binding, repaired one mistake at a time ---------------------------------


def test_the_broken_binding_is_diagnosed_one_mistake_at_a_time(kubectl: Kubectl, checks: Any, namespace: str, lab: Lab) -> None:
    kubectl("create", "namespace", namespace)
    kubectl("create", "deployment", "web", "--image=nginx:1.27", "-n", namespace)
    kubectl("apply", "-n", namespace, "-f", str(lab.assets_dir / "broken-binding.yaml"))
    _, sentence, details = first(checks("repair-binding"))
    assert sentence == f"RoleBinding {namespace}/release-bot names User release-bot, a user, not the ServiceAccount {namespace}/release-bot"
    assert details[:2] == [f"write kind ServiceAccount with namespace {namespace} (kubectl: --serviceaccount={namespace}:release-bot)",
                           f"ServiceAccount {namespace}/release-bot cannot patch deployments.apps in namespace {namespace}"]
    kubectl("patch", "rolebinding", "release-bot", "-n", namespace, "--type=json", "-p",
            json.dumps([{"op": "replace", "path": "/subjects/0", "value": sa(namespace, "release-bot")}]))
    failed(checks("repair-binding"),
           f"RoleBinding {namespace}/release-bot binds ClusterRole release-bot to ServiceAccount {namespace}/release-bot, "
           "but that role does not exist",
           'RBAC: clusterrole.rbac.authorization.k8s.io "release-bot" not found')
    kubectl("delete", "rolebinding", "release-bot", "-n", namespace)  # roleRef cannot be changed: made again
    kubectl("create", "rolebinding", "release-bot", "--role=release-bot", f"--serviceaccount={namespace}:release-bot", "-n", namespace)
    failed(checks("repair-binding"), 'role release-bot rules[0] allows get, list, patch on deployments, not API group "apps"',
           'Role release-bot names deployments in apiGroups [""] (the core group); deployments are in the API group apps',
           "role release-bot rules[1] allows get, list on pods, not pods/log: a subresource is not implied by its resource",
           "Role release-bot grants pods, which does not include its subresource pods/log")
    kubectl("apply", "-n", namespace, "-f", str(lab.assets_dir / "release-bot-role.yaml"))
    passed(checks("repair-binding"))
    restarted = kubectl("rollout", "restart", "deployment/web", "-n", namespace, f"--as=system:serviceaccount:{namespace}:release-bot")
    assert restarted.stdout.strip() == "deployment.apps/web restarted"


def test_a_role_ref_kind_mismatch_is_named_as_such(kubectl: Kubectl, checks: Any, namespace: str, lab: Lab) -> None:
    kubectl("create", "namespace", namespace)
    kubectl("apply", "-n", namespace, "-f", str(lab.assets_dir / "broken-binding.yaml"))
    kubectl("patch", "rolebinding", "release-bot", "-n", namespace, "--type=json", "-p",
            json.dumps([{"op": "replace", "path": "/subjects/0", "value": sa(namespace, "release-bot")}]))
    said = failed(checks("repair-binding"))
    assert f"Role {namespace}/release-bot" in said.split("but that role does not exist", 1)[1]
    assert f"no RoleBinding in {namespace} or ClusterRoleBinding names ServiceAccount {namespace}/release-bot" not in said


def test_binding_edit_to_the_bot_is_not_a_repair(kubectl: Kubectl, checks: Any, namespace: str) -> None:
    kubectl("create", "namespace", namespace)
    kubectl("create", "serviceaccount", "release-bot", "-n", namespace)
    kubectl("create", "rolebinding", "bot-edit", "--clusterrole=edit", f"--serviceaccount={namespace}:release-bot", "-n", namespace)
    failed(checks("repair-binding"),
           f"ServiceAccount {namespace}/release-bot can delete deployments.apps in namespace {namespace}, which this step must not allow",
           f"RoleBinding {namespace}/bot-edit binds ClusterRole edit to ServiceAccount {namespace}/release-bot")


def test_the_api_server_refuses_what_the_steps_say_it_refuses(kubectl: Kubectl, namespace: str, lab: Lab,
                                                              cluster_wide: Callable[[str, str], str]) -> None:
    kubectl("create", "namespace", namespace)
    kubectl("apply", "-n", namespace, "-f", str(lab.assets_dir / "broken-binding.yaml"))
    changed = kubectl("patch", "rolebinding", "release-bot", "-n", namespace, "--type=json", "-p",
                      json.dumps([{"op": "replace", "path": "/roleRef/kind", "value": "Role"}]), check=False)
    assert changed.returncode == 1 and changed.stderr.strip() in lab.instructions(lab.step("repair-binding"))
    without_namespace = kubectl("apply", "-f", "-", check=False, stdin=json.dumps(binding(
        cluster_wide("clusterrolebinding", "prometheus-monitoring"), "ClusterRole", "monitoring",
        {"kind": "ServiceAccount", "name": "prometheus"}, cluster=True)))
    assert without_namespace.returncode == 1
    assert without_namespace.stderr.strip() in lab.instructions(lab.step("aggregated-role"))
    of_a_role = kubectl("apply", "-f", "-", check=False, stdin=json.dumps(binding(
        cluster_wide("clusterrolebinding", f"{namespace}-of-a-role"), "Role", "release-bot", sa(namespace, "release-bot"),
        cluster=True)))
    assert of_a_role.returncode == 1
    assert 'roleRef.kind: Unsupported value: "Role": supported values: "ClusterRole"' in of_a_role.stderr
    assert 'roleRef.kind: Unsupported value: "Role": supported values: "ClusterRole"' in lab.instructions(lab.step("repair-binding"))


# -- step 10: least privilege -------------------------------------------------------------------


def ci(kubectl: Kubectl, namespace: str) -> None:
    kubectl("create", "namespace", namespace)
    kubectl("create", "serviceaccount", "ci", "-n", namespace)


def test_a_star_verb_and_a_missing_verb_are_named_as_permissions(kubectl: Kubectl, checks: Any, namespace: str) -> None:
    ci(kubectl, namespace)
    kubectl("create", "role", "ci-deployer", "--verb=*", "--resource=deployments.apps", "-n", namespace)
    kubectl("create", "rolebinding", "ci-deployer", "--role=ci-deployer", f"--serviceaccount={namespace}:ci", "-n", namespace)
    _, sentence, details = first(checks("least-privilege"))
    assert sentence == (f"RoleBinding {namespace}/ci-deployer -> Role ci-deployer also lets ServiceAccount {namespace}/ci every verb "
                        "on deployments.apps, more than this step asks")
    assert details[0] == (f"ServiceAccount {namespace}/ci holds more than this step asks in namespace {namespace}; least privilege "
                          "grants only what is needed")
    failed(checks("least-privilege"), f"extra: yours also lets ServiceAccount {namespace}/ci every verb on deployments.apps in namespace {namespace} "
           f"(RoleBinding {namespace}/ci-deployer -> Role ci-deployer)")
    apply(kubectl, role("ci-deployer", rule("get,list,create", "deployments", "apps")), namespace=namespace)
    failed(checks("least-privilege"), f"missing: ServiceAccount {namespace}/ci may not update deployments.apps in namespace {namespace}")


def test_deployments_in_the_core_group_for_ci(kubectl: Kubectl, checks: Any, namespace: str) -> None:
    ci(kubectl, namespace)
    apply(kubectl, role("ci-deployer", rule("get,list,create,update", "deployments")),
          binding("ci-deployer", "Role", "ci-deployer", sa(namespace, "ci")), namespace=namespace)
    failed(checks("least-privilege"),
           'Role ci-deployer names deployments in apiGroups [""] (the core group); deployments are in the API group apps',
           f'extra: yours also lets ServiceAccount {namespace}/ci create deployments in namespace {namespace}')


def test_ci_bound_cluster_wide_grants_every_namespace(kubectl: Kubectl, checks: Any, namespace: str,
                                                      cluster_wide: Callable[[str, str], str]) -> None:
    ci(kubectl, namespace)
    name = cluster_wide("clusterrole", f"{namespace}-ci")
    kubectl("create", "clusterrole", name, "--verb=get,list,create,update", "--resource=deployments.apps")
    kubectl("create", "clusterrolebinding", cluster_wide("clusterrolebinding", name), f"--clusterrole={name}",
            f"--serviceaccount={namespace}:ci")
    results = checks("least-privilege")
    assert results[0][1][0] == "passed"  # the same permissions in the namespace...
    failed(results, f"ServiceAccount {namespace}/ci can create deployments.apps in namespace default, which this step must not allow",
           f"ClusterRoleBinding {name} binds ClusterRole {name} to ServiceAccount {namespace}/ci")  # ...and everywhere else


def test_correct_variants_for_ci_split_roles_and_a_user_subject(kubectl: Kubectl, checks: Any, namespace: str) -> None:
    ci(kubectl, namespace)
    ci_user = {"apiGroup": RBAC, "kind": "User", "name": f"system:serviceaccount:{namespace}:ci"}
    apply(kubectl, role("ci-read", rule("list,get", "deployments", "apps")), role("ci-write", rule("update", "deployments", "apps"),
                                                                                 rule("create", "deployments", "apps")),
          binding("ci-read", "Role", "ci-read", sa(namespace, "ci")), binding("ci-write", "Role", "ci-write", ci_user),
          namespace=namespace)
    passed(checks("least-privilege"))


# -- step 11: the review ------------------------------------------------------------------------


def test_edit_left_beside_the_new_role_still_lets_the_team_become_ci(kubectl: Kubectl, checks: Any, namespace: str, lab: Lab) -> None:
    kubectl("create", "namespace", namespace)
    kubectl("create", "rolebinding", "dev-team-edit", "--clusterrole=edit", "--group=dev-team", "-n", namespace)
    kubectl("apply", "-n", namespace, "-f", str(lab.assets_dir / "developer.yaml"))
    kubectl("create", "rolebinding", "dev-team-developer", "--role=developer", "--group=dev-team", "-n", namespace)
    failed(checks("review"),
           f"the group dev-team can impersonate serviceaccounts ci in namespace {namespace}, which this step must not allow",
           f"RoleBinding {namespace}/dev-team-edit binds ClusterRole edit to Group dev-team",
           "(aggregated from ClusterRole system:aggregate-to-edit) allows impersonate on serviceaccounts",
           f"the group dev-team can create serviceaccounts/token ci in namespace {namespace}, which this step must not allow")
    kubectl("delete", "rolebinding", "dev-team-edit", "-n", namespace)
    kubectl("delete", "rolebinding", "dev-team-developer", "-n", namespace)
    failed(checks("review"), f"the group dev-team cannot update deployments.apps in namespace {namespace}")


# -- step 12: impersonation ---------------------------------------------------------------------


def test_impersonating_users_named_as_the_service_account_is_not_impersonating_it(kubectl: Kubectl, checks: Any, namespace: str,
                                                                                  lab: Lab, sandbox: SandboxFiles,
                                                                                  cluster_wide: Callable[[str, str], str]) -> None:
    kubectl("create", "namespace", namespace)
    name = cluster_wide("clusterrole", f"{namespace}-as-ci")
    kubectl("create", "clusterrole", name, "--verb=impersonate", "--resource=users",
            f"--resource-name=system:serviceaccount:{namespace}:ci")
    kubectl("create", "rolebinding", "jane-as-ci", f"--clusterrole={name}", "--user=jane", "-n", namespace)
    failed(checks("impersonation"), f"User jane (groups dev-team) cannot impersonate serviceaccounts ci in namespace {namespace}",
           f"cluster role {name} allows impersonate on users named system:serviceaccount:{namespace}:ci, not serviceaccounts")
    # And jane's own kubeconfig is refused as the API server words it.
    work = Path(lab.placeholder_values["workdir"])
    signed_by_the_sandbox(sandbox, work)
    file = jane_kubeconfig(kubectl, sandbox, work)
    refused = kubectl("--kubeconfig", str(file), "--context", "jane", f"--as=system:serviceaccount:{namespace}:ci", "get", "pods",
                      "-n", namespace, check=False)
    assert (f'serviceaccounts "ci" is forbidden: User "jane" cannot impersonate resource "serviceaccounts" in API group "" '
            f'in the namespace "{namespace}"') in refused.stderr


def test_impersonation_without_resource_names_or_for_the_whole_team(kubectl: Kubectl, checks: Any, namespace: str) -> None:
    kubectl("create", "namespace", namespace)
    kubectl("create", "role", "impersonate-any", "--verb=impersonate", "--resource=serviceaccounts", "-n", namespace)
    kubectl("create", "rolebinding", "jane-impersonates", "--role=impersonate-any", "--user=jane", "-n", namespace)
    failed(checks("impersonation"),
           f"User jane (groups dev-team) can impersonate serviceaccounts deployer in namespace {namespace}, which this step must not allow",
           f"RoleBinding {namespace}/jane-impersonates binds Role {namespace}/impersonate-any to User jane; its rules[0] allows "
           "impersonate on serviceaccounts")
    kubectl("delete", "rolebinding", "jane-impersonates", "-n", namespace)
    kubectl("create", "role", "impersonate-ci", "--verb=impersonate", "--resource=serviceaccounts", "--resource-name=ci", "-n", namespace)
    kubectl("create", "rolebinding", "team-impersonates-ci", "--role=impersonate-ci", "--group=dev-team", "-n", namespace)
    failed(checks("impersonation"),
           f"User dev-team-member (groups dev-team) can impersonate serviceaccounts ci in namespace {namespace}, which this step must not allow",
           f"RoleBinding {namespace}/team-impersonates-ci binds Role {namespace}/impersonate-ci to Group dev-team")


def test_impersonation_granted_in_another_namespace(kubectl: Kubectl, checks: Any, namespace: str) -> None:
    elsewhere = fresh_name("other")
    kubectl("create", "namespace", elsewhere)
    try:
        kubectl("create", "role", "impersonate-ci", "--verb=impersonate", "--resource=serviceaccounts", "--resource-name=ci",
                "-n", elsewhere)
        kubectl("create", "rolebinding", "jane-impersonate-ci", "--role=impersonate-ci", "--user=jane", "-n", elsewhere)
        failed(checks("impersonation"), f"RoleBinding {elsewhere}/jane-impersonate-ci is in namespace {elsewhere}: a RoleBinding "
                                        f"grants only in its own namespace, not in {namespace}")
    finally:
        kubectl("delete", "namespace", elsewhere, "--wait=false", check=False)


def test_correct_variant_a_cluster_role_bound_in_the_namespace(kubectl: Kubectl, checks: Any, namespace: str,
                                                               cluster_wide: Callable[[str, str], str]) -> None:
    kubectl("create", "namespace", namespace)
    name = cluster_wide("clusterrole", f"{namespace}-impersonate-ci")
    apply(kubectl, role(name, rule("impersonate", "serviceaccounts", resourceNames=["ci"]), cluster=True))
    apply(kubectl, binding("jane-may-be-ci", "ClusterRole", name, {"apiGroup": RBAC, "kind": "User", "name": "jane"}),
          namespace=namespace)
    passed(checks("impersonation"))


# -- step 13: clean up --------------------------------------------------------------------------


def test_deleting_the_namespace_leaves_the_cluster_role_bindings(kubectl: Kubectl, checks: Any, namespace: str,
                                                                 cluster_wide: Callable[[str, str], str], node_reader: str) -> None:
    kubectl("create", "namespace", namespace)
    ops = cluster_wide("clusterrolebinding", f"{namespace}-ops")
    prometheus = cluster_wide("clusterrolebinding", f"{namespace}-prometheus")
    kubectl("create", "clusterrolebinding", ops, f"--clusterrole={node_reader}", "--group=ops")
    kubectl("create", "clusterrolebinding", prometheus, "--clusterrole=view", f"--serviceaccount={namespace}:prometheus")
    kubectl("delete", "namespace", namespace)
    eventually(lambda: kubectl("get", "namespace", namespace, check=False).returncode != 0, "the namespace is gone")
    failed(checks("clean-up"), "the group ops can list nodes cluster-wide, which this step must not allow",
           f"ClusterRoleBinding {ops} binds ClusterRole {node_reader} to Group ops",
           f"ServiceAccount {namespace}/prometheus can list pods cluster-wide, which this step must not allow",
           f"ClusterRoleBinding {prometheus} binds ClusterRole view to ServiceAccount {namespace}/prometheus")
    kubectl("delete", "clusterrolebinding", ops, prometheus)
    passed(checks("clean-up"))
