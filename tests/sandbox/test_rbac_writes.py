"""Writing RBAC objects as kube-apiserver admits them, seen through real kubectl: a user may grant
in a Role only what they hold, and bind only a role whose permissions they hold, unless RBAC gives
them ``escalate`` or ``bind``; an aggregation rule needs every permission; ``system:masters``
skips it all; then validation names every invalid field in one 422, and the API groups a binding
leaves out are filled in. Approving a CertificateSigningRequest needs ``approve`` on its signer.

Each refusal is asserted as kubectl prints it: kube-apiserver's words after kubectl's own
(``Error from server (Forbidden): ...``, ``error: failed to create rolebinding: ...``).
"""

from __future__ import annotations

import base64
import json
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from labrunner.sandbox.files import SandboxFiles
from tests.identities import certificate_kubeconfig, token_kubeconfig
from tests.sandboxes import KUBECTL, Kubectl, fresh_name

pytestmark = [pytest.mark.kubectl, pytest.mark.skipif(KUBECTL is None, reason="needs the kubectl binary on PATH")]

RBAC = "rbac.authorization.k8s.io"
As = Callable[..., subprocess.CompletedProcess[str]]
"""kubectl as one user, never failing the test by itself: ``as_ann("get", "pods", stdin=...)``."""


# -- objects and people ---------------------------------------------------------------------------


def rule(verbs: str, resources: str = "", groups: str = '""', names: str = "", urls: str = "") -> dict[str, Any]:
    """A PolicyRule from space-separated lists; ``'""'`` is the core group (the default)."""
    if urls:
        return {"nonResourceURLs": urls.split(), "verbs": verbs.split()}
    made: dict[str, Any] = {"apiGroups": ["" if group == '""' else group for group in groups.split()], "resources": resources.split(),
                            "verbs": verbs.split()}
    return {**made, "resourceNames": names.split()} if names else made


def role(namespace: str, name: str, *rules: dict[str, Any]) -> str:
    return json.dumps({"apiVersion": f"{RBAC}/v1", "kind": "Role", "metadata": {"name": name, "namespace": namespace}, "rules": list(rules)})


def cluster_role(name: str, *rules: dict[str, Any], **extra: Any) -> str:
    return json.dumps({"apiVersion": f"{RBAC}/v1", "kind": "ClusterRole", "metadata": {"name": name}, "rules": list(rules), **extra})


def binding(kind: str, name: str, ref_kind: str, ref_name: str, *subjects: dict[str, Any], namespace: str = "",
            api_group: str | None = RBAC) -> str:
    ref = {"kind": ref_kind, "name": ref_name, **({"apiGroup": api_group} if api_group is not None else {})}
    metadata = {"name": name, **({"namespace": namespace} if namespace else {})}
    return json.dumps({"apiVersion": f"{RBAC}/v1", "kind": kind, "metadata": metadata, "roleRef": ref, "subjects": list(subjects)})


def not_held(plural: str, name: str, user: str, groups: str, *missing: str) -> str:
    """ConfirmNoEscalation's 403 as the API server words it; ``groups`` as Go's ``%q`` prints them."""
    return (f'{plural}.{RBAC} "{name}" is forbidden: user "{user}" (groups={groups}) is attempting to grant RBAC permissions '
            "not currently held:\n" + "\n".join(missing))


@pytest.fixture
def person(sandbox: SandboxFiles, kubectl: Kubectl, tmp_path: Path) -> Callable[..., As]:
    """``person("ann", "dev")``: kubectl as a user with a client certificate (CN=ann, O=dev)."""

    def make(user: str, *groups: str) -> As:
        kubeconfig = str(certificate_kubeconfig(sandbox, tmp_path / f"{user}.kubeconfig", user, groups))

        def run(*argv: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
            return kubectl("--kubeconfig", kubeconfig, *argv, check=False, stdin=stdin)

        return run

    return make


@pytest.fixture
def cluster_scoped(kubectl: Kubectl) -> Iterator[Callable[[str, str], str]]:
    """``made("clusterrole", name)`` names a cluster-scoped object the test makes; each is deleted afterwards."""
    made: list[tuple[str, str]] = []

    def remember(kind: str, name: str) -> str:
        made.append((kind, name))
        return name

    yield remember
    for kind, name in made:
        kubectl("delete", kind, name, "--ignore-not-found", "--wait=false", check=False)


def refused(completed: subprocess.CompletedProcess[str]) -> str:
    """kubectl's error, once it has failed as it fails on a refusal."""
    assert completed.returncode == 1, completed.stdout
    return completed.stderr.strip()


def succeeded(completed: subprocess.CompletedProcess[str]) -> None:
    assert completed.returncode == 0, completed.stderr


# -- escalation through a Role ------------------------------------------------------------------


def test_a_namespace_admin_grants_in_a_role_only_what_they_hold(kubectl: Kubectl, namespace: str, person: Callable[..., As]) -> None:
    kubectl("create", "namespace", namespace)
    kubectl("create", "rolebinding", "ann-admin", "--clusterrole=admin", "--user=ann", "-n", namespace)
    ann = person("ann", "dev")
    groups = '["dev" "system:authenticated"]'

    succeeded(ann("create", "role", "pod-reader", "--verb=get,list", "--resource=pods,secrets,deployments.apps/scale", "-n", namespace))
    assert refused(ann("create", "role", "node-reader", "--verb=get,list", "--resource=nodes", "-n", namespace)) == (
        "Error from server (Forbidden): " + not_held("roles", "node-reader", "ann", groups, '{APIGroups:[""], Resources:["nodes"], Verbs:["get" "list"]}'))
    # Holding every verb the admin role names is not holding "*".
    assert refused(ann("create", "role", "everything", "--verb=*", "--resource=pods", "-n", namespace)).endswith(
        '\n{APIGroups:[""], Resources:["pods"], Verbs:["*"]}')
    # Only the pieces not held are named, each (group, resource) once with its verbs, sorted.
    mixed = role(namespace, "mixed", rule("get", "nodes"), rule("get", "persistentvolumes"), rule("get", "pods"), rule("list watch", "nodes"))
    assert refused(ann("create", "-f", "-", stdin=mixed)) == 'Error from server (Forbidden): error when creating "STDIN": ' + not_held(
        "roles", "mixed", "ann", groups,
        '{APIGroups:[""], Resources:["nodes"], Verbs:["get" "list" "watch"]}', '{APIGroups:[""], Resources:["persistentvolumes"], Verbs:["get"]}')
    # A server-side dry run is refused alike, and nothing was stored.
    assert "is attempting to grant RBAC permissions not currently held" in refused(
        ann("create", "role", "node-reader", "--verb=get", "--resource=nodes", "-n", namespace, "--dry-run=server"))
    assert kubectl("get", "roles", "-n", namespace, "-o", "name").stdout.split() == ["role.rbac.authorization.k8s.io/pod-reader"]


def test_a_namespace_admin_binds_what_they_hold_and_no_cluster_wide_binding_at_all(kubectl: Kubectl, namespace: str,
                                                                                   person: Callable[..., As]) -> None:
    kubectl("create", "namespace", namespace)
    kubectl("create", "rolebinding", "ann-admin", "--clusterrole=admin", "--user=ann", "-n", namespace)
    ann = person("ann", "dev")
    # admin holds edit's and view's rules (aggregated into it), so it may hand them out in its namespace.
    succeeded(ann("create", "rolebinding", "bob-edits", "--clusterrole=edit", "--user=bob", "-n", namespace))
    succeeded(ann("create", "rolebinding", "bob-views", "--clusterrole=view", "--user=bob", "-n", namespace))
    assert refused(ann("create", "rolebinding", "ann-owns-all", "--clusterrole=cluster-admin", "--user=ann", "-n", namespace)) == (
        "error: failed to create rolebinding: " + not_held("rolebindings", "ann-owns-all", "ann", '["dev" "system:authenticated"]',
                                                           '{APIGroups:["*"], Resources:["*"], Verbs:["*"]}', '{NonResourceURLs:["*"], Verbs:["*"]}'))
    # A ClusterRoleBinding is refused before any of this: RBAC lets a namespace admin create none.
    assert refused(ann("create", "clusterrolebinding", "ann-views", "--clusterrole=view", "--user=ann")) == (
        f'error: failed to create clusterrolebinding: clusterrolebindings.{RBAC} is forbidden: User "ann" cannot create resource '
        f'"clusterrolebindings" in API group "{RBAC}" at the cluster scope')


def test_a_service_account_is_named_with_its_groups(kubectl: Kubectl, sandbox: SandboxFiles, namespace: str, tmp_path: Path) -> None:
    kubectl("create", "namespace", namespace)
    kubectl("create", "serviceaccount", "ci", "-n", namespace)
    kubectl("create", "rolebinding", "ci-admin", "--clusterrole=admin", f"--serviceaccount={namespace}:ci", "-n", namespace)
    token = kubectl("create", "token", "ci", "-n", namespace).stdout.strip()
    ci = str(token_kubeconfig(sandbox, tmp_path / "ci.kubeconfig", token))
    answer = kubectl("--kubeconfig", ci, "create", "role", "nodes", "--verb=get", "--resource=nodes", "-n", namespace, check=False)
    assert refused(answer) == "Error from server (Forbidden): " + not_held(
        "roles", "nodes", f"system:serviceaccount:{namespace}:ci", f'["system:serviceaccounts" "system:serviceaccounts:{namespace}" "system:authenticated"]',
        '{APIGroups:[""], Resources:["nodes"], Verbs:["get"]}')


def test_every_kind_of_write_is_checked_but_a_garbage_collector_change(kubectl: Kubectl, namespace: str, person: Callable[..., As]) -> None:
    kubectl("create", "namespace", namespace)
    kubectl("create", "rolebinding", "ann-admin", "--clusterrole=admin", "--user=ann", "-n", namespace)
    ann = person("ann")
    missing = '{APIGroups:[""], Resources:["nodes"], Verbs:["get"]}'
    words = not_held("roles", "mine", "ann", '["system:authenticated"]', missing)
    succeeded(ann("apply", "-f", "-", stdin=role(namespace, "mine", rule("get", "pods"))))
    wider = role(namespace, "mine", rule("get", "pods"), rule("get", "nodes"))
    applied = refused(ann("apply", "-f", "-", stdin=wider))
    assert applied.startswith("Error from server (Forbidden): error when applying patch:") and applied.endswith(
        f'for: "STDIN": error when patching "STDIN": {words}')
    assert refused(ann("apply", "--server-side", "-f", "-", stdin=wider)) == f"Error from server (Forbidden): {words}"
    assert refused(ann("replace", "-f", "-", stdin=wider)) == f'Error from server (Forbidden): error when replacing "STDIN": {words}'
    added = '[{"op": "add", "path": "/rules/-", "value": {"apiGroups": [""], "resources": ["nodes"], "verbs": ["get"]}}]'
    assert refused(ann("patch", "role", "mine", "-n", namespace, "--type=json", "-p", added)) == f"Error from server (Forbidden): {words}"
    assert kubectl("get", "role", "mine", "-n", namespace, "-o", "jsonpath={.rules[*].resources}").stdout == '["pods"]'

    # An update that changes only what the garbage collector writes (finalizers, ownerReferences)
    # is never checked: ann may keep or release a role she could not have written.
    kubectl("apply", "-f", "-", stdin=role(namespace, "theirs", rule("get", "nodes")))
    # (An empty map is no change: Go compares the objects as structs, where nil and empty are equal.)
    succeeded(ann("patch", "role", "theirs", "-n", namespace, "--type=merge", "-p", '{"metadata": {"finalizers": ["example.com/keep"], "labels": {}}}'))
    labelled = refused(ann("label", "role", "theirs", "-n", namespace, "team=dev"))
    assert labelled == "Error from server (Forbidden): " + not_held("roles", "theirs", "ann", '["system:authenticated"]', missing)
    succeeded(ann("patch", "role", "theirs", "-n", namespace, "--type=json", "-p", '[{"op": "remove", "path": "/metadata/finalizers"}]'))


# -- escalate ----------------------------------------------------------------------------------


def test_escalate_on_roles_lets_a_writer_grant_what_they_do_not_hold(kubectl: Kubectl, namespace: str, person: Callable[..., As]) -> None:
    kubectl("create", "namespace", namespace)
    kubectl("apply", "-f", "-", stdin=role(namespace, "role-writer", rule("create get patch update", "roles", RBAC)))
    kubectl("create", "rolebinding", "ann-writes-roles", "--role=role-writer", "--user=ann", "-n", namespace)
    ann = person("ann")
    # What she holds she may grant (reading roles); nodes she may not.
    succeeded(ann("create", "role", "role-reader", "--verb=get", f"--resource=roles.{RBAC}", "-n", namespace))
    assert "not currently held" in refused(ann("create", "role", "named", "--verb=get", "--resource=nodes", "-n", namespace))

    # escalate on one role by name: the API server asks about the name in the URL, and a POST has none.
    kubectl("apply", "-f", "-", stdin=role(namespace, "escalate-named", rule("escalate", "roles", RBAC, names="named")))
    kubectl("create", "rolebinding", "ann-escalates-named", "--role=escalate-named", "--user=ann", "-n", namespace)
    assert "not currently held" in refused(ann("create", "role", "named", "--verb=get", "--resource=nodes", "-n", namespace))
    succeeded(ann("apply", "--server-side", "-f", "-", stdin=role(namespace, "named", rule("get", "nodes"))))
    succeeded(ann("patch", "role", "named", "-n", namespace, "--type=merge", "-p", '{"rules": [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}]}'))
    assert "not currently held" in refused(ann("apply", "--server-side", "-f", "-", stdin=role(namespace, "other", rule("get", "nodes"))))

    # escalate on every role in the namespace.
    kubectl("apply", "-f", "-", stdin=role(namespace, "escalate-all", rule("escalate", "roles", RBAC)))
    kubectl("create", "rolebinding", "ann-escalates", "--role=escalate-all", "--user=ann", "-n", namespace)
    succeeded(ann("create", "role", "node-reader", "--verb=get", "--resource=nodes", "-n", namespace))


def test_an_aggregation_rule_needs_every_permission_unless_the_writer_may_escalate(
        kubectl: Kubectl, person: Callable[..., As], cluster_scoped: Callable[[str, str], str]) -> None:
    user = fresh_name("ann")
    writer = cluster_scoped("clusterrole", fresh_name("clusterrole-writer"))
    kubectl("apply", "-f", "-", stdin=cluster_role(writer, rule("create get patch update", "clusterroles", RBAC)))
    kubectl("create", "clusterrolebinding", cluster_scoped("clusterrolebinding", writer), f"--clusterrole={writer}", f"--user={user}")
    ann = person(user)
    # Every authenticated user holds get on /healthz (system:public-info-viewer), so may grant it.
    succeeded(ann("create", "clusterrole", cluster_scoped("clusterrole", fresh_name("health")), "--verb=get", "--non-resource-url=/healthz"))

    aggregated = cluster_scoped("clusterrole", fresh_name("monitoring"))
    manifest = cluster_role(aggregated, aggregationRule={"clusterRoleSelectors": [{"matchLabels": {"example.com/monitoring": "true"}}]})
    words = f'clusterroles.{RBAC} "{aggregated}" is forbidden: must have cluster-admin privileges to use the aggregationRule'
    assert refused(ann("create", "-f", "-", stdin=manifest)) == f'Error from server (Forbidden): error when creating "STDIN": {words}'
    kubectl("create", "-f", "-", stdin=manifest)
    # Taking the rule away, or any change to a role that has one, needs the same.
    assert refused(ann("patch", "clusterrole", aggregated, "--type=json", "-p", '[{"op": "remove", "path": "/aggregationRule"}]')) == (
        f"Error from server (Forbidden): {words}")
    assert refused(ann("label", "clusterrole", aggregated, "team=dev")) == f"Error from server (Forbidden): {words}"

    escalate = cluster_scoped("clusterrole", fresh_name("escalate-clusterroles"))
    kubectl("apply", "-f", "-", stdin=cluster_role(escalate, rule("escalate", "clusterroles", RBAC)))
    kubectl("create", "clusterrolebinding", cluster_scoped("clusterrolebinding", escalate), f"--clusterrole={escalate}", f"--user={user}")
    succeeded(ann("label", "clusterrole", aggregated, "team=dev"))
    other = cluster_scoped("clusterrole", fresh_name("aggregated"))
    succeeded(ann("create", "-f", "-", stdin=cluster_role(other, aggregationRule={"clusterRoleSelectors": [{"matchLabels": {"x": "y"}}]})))


# -- bind ---------------------------------------------------------------------------------------


def test_bind_lets_a_writer_bind_only_the_roles_it_names(kubectl: Kubectl, namespace: str, person: Callable[..., As],
                                                          cluster_scoped: Callable[[str, str], str]) -> None:
    kubectl("create", "namespace", namespace)
    kubectl("apply", "-f", "-", stdin=role(namespace, "binder", rule("create get patch update", "rolebindings", RBAC)))
    kubectl("create", "rolebinding", "ann-binds", "--role=binder", "--user=ann", "-n", namespace)
    pods, secrets = cluster_scoped("clusterrole", fresh_name("pod-getter")), cluster_scoped("clusterrole", fresh_name("secret-getter"))
    kubectl("create", "clusterrole", pods, "--verb=get", "--resource=pods")
    kubectl("create", "clusterrole", secrets, "--verb=get", "--resource=secrets")
    ann = person("ann")

    assert refused(ann("create", "rolebinding", "bob-gets-pods", f"--clusterrole={pods}", "--user=bob", "-n", namespace)) == (
        "error: failed to create rolebinding: " + not_held("rolebindings", "bob-gets-pods", "ann", '["system:authenticated"]',
                                                           '{APIGroups:[""], Resources:["pods"], Verbs:["get"]}'))
    kubectl("apply", "-f", "-", stdin=role(namespace, "may-bind", rule("bind", "clusterroles", RBAC, names=pods)))
    kubectl("create", "rolebinding", "ann-may-bind", "--role=may-bind", "--user=ann", "-n", namespace)
    succeeded(ann("create", "rolebinding", "bob-gets-pods", f"--clusterrole={pods}", "--user=bob", "-n", namespace))
    assert "not currently held" in refused(ann("create", "rolebinding", "bob-gets-secrets", f"--clusterrole={secrets}", "--user=bob", "-n", namespace))
    # Holding the role's permissions is enough, without bind.
    kubectl("create", "rolebinding", "ann-gets-secrets", f"--clusterrole={secrets}", "--user=ann", "-n", namespace)
    succeeded(ann("create", "rolebinding", "bob-gets-secrets", f"--clusterrole={secrets}", "--user=bob", "-n", namespace))
    # Every update of a binding is checked again, a change of its subjects too.
    def add(subject: str) -> str:
        return f'[{{"op": "add", "path": "/subjects/-", "value": {{"kind": "User", "apiGroup": "{RBAC}", "name": "{subject}"}}}}]'

    succeeded(ann("patch", "rolebinding", "bob-gets-secrets", "-n", namespace, "--type=json", "-p", add("eve")))
    kubectl("delete", "rolebinding", "ann-gets-secrets", "-n", namespace)
    assert "not currently held" in refused(ann("patch", "rolebinding", "bob-gets-secrets", "-n", namespace, "--type=json", "-p", add("mallory")))


def test_a_binding_to_a_role_that_does_not_exist(kubectl: Kubectl, namespace: str, person: Callable[..., As]) -> None:
    kubectl("create", "namespace", namespace)
    kubectl("apply", "-f", "-", stdin=role(namespace, "binder", rule("create get", "rolebindings roles", RBAC)))
    kubectl("create", "rolebinding", "ann-binds", "--role=binder", "--user=ann", "-n", namespace)
    ann = person("ann")
    # The role is looked up to compare its rules: a missing one is the registry's 404, in its plural words.
    assert refused(ann("create", "rolebinding", "ghostly", "--role=ghost", "--user=bob", "-n", namespace)) == (
        f'error: failed to create rolebinding: roles.{RBAC} "ghost" not found')
    missing = fresh_name("ghost")
    assert refused(ann("create", "rolebinding", "ghostly", f"--clusterrole={missing}", "--user=bob", "-n", namespace)) == (
        f'error: failed to create rolebinding: clusterroles.{RBAC} "{missing}" not found')
    # A lower-case kind is no role kind: the lookup fails before validation could say so, as a 500.
    assert refused(ann("create", "-f", "-", stdin=binding("RoleBinding", "lower", "role", "binder", namespace=namespace))) == (
        'Error from server: error when creating "STDIN": unsupported role reference kind: "role"')
    # Whoever may bind any role needs no lookup; the admin's own dangling binding is ann's too.
    kubectl("create", "rolebinding", "ann-ghost", "--role=ghost", "--user=ann", "-n", namespace)
    assert refused(ann("create", "role", "secrets", "--verb=get", "--resource=secrets", "-n", namespace)) == (
        "Error from server (Forbidden): " + not_held("roles", "secrets", "ann", '["system:authenticated"]',
                                                     '{APIGroups:[""], Resources:["secrets"], Verbs:["get"]}')
        + f'; resolution errors: [roles.{RBAC} "ghost" not found]')
    kubectl("apply", "-f", "-", stdin=role(namespace, "may-bind", rule("bind", "roles", RBAC)))
    kubectl("create", "rolebinding", "ann-may-bind", "--role=may-bind", "--user=ann", "-n", namespace)
    succeeded(ann("create", "rolebinding", "ghostly", "--role=ghost", "--user=bob", "-n", namespace))


def test_system_masters_skips_every_check(kubectl: Kubectl, namespace: str, cluster_scoped: Callable[[str, str], str]) -> None:
    kubectl("create", "namespace", namespace)
    kubectl("create", "role", "nodes", "--verb=*", "--resource=nodes", "-n", namespace)
    kubectl("create", "rolebinding", "ghostly", "--role=ghost", "--user=bob", "-n", namespace)
    kubectl("create", "-f", "-", stdin=cluster_role(cluster_scoped("clusterrole", fresh_name("aggregated")),
                                                    aggregationRule={"clusterRoleSelectors": [{"matchLabels": {"x": "y"}}]}))
    # Impersonating a user who is in the group is being in it; without it, the impersonated user is checked.
    kubectl("create", "rolebinding", "ann-admin", "--clusterrole=admin", "--user=ann", "-n", namespace)
    alone = kubectl("--as=ann", "create", "role", "more-nodes", "--verb=get", "--resource=nodes", "-n", namespace, check=False)
    assert 'user "ann" (groups=["system:authenticated"]) is attempting to grant RBAC permissions not currently held' in refused(alone)
    kubectl("--as=ann", "--as-group=system:masters", "create", "rolebinding", "ann-owns-all", "--clusterrole=cluster-admin", "--user=ann", "-n", namespace)
    kubectl("--as=ann", "create", "role", "more-nodes", "--verb=get", "--resource=nodes", "-n", namespace)  # she holds everything there now


# -- validation and defaults ------------------------------------------------------------------------


def invalid(kind: str, name: str, *causes: str) -> str:
    """kubectl's words for a 422: one cause on the line, several as a list."""
    if len(causes) == 1:
        return f'The {kind} "{name}" is invalid: {causes[0]}'
    return f'The {kind} "{name}" is invalid: \n' + "\n".join(f"* {cause}" for cause in causes)


VALIDATION = [
    pytest.param(lambda ns, name: role(ns, name, {}), invalid(
        "Role", "{name}", "rules[0].verbs: Required value: verbs must contain at least one value",
        "rules[0].apiGroups: Required value: resource rules must supply at least one api group",
        "rules[0].resources: Required value: resource rules must supply at least one resource"), id="a rule of nothing"),
    pytest.param(lambda ns, name: role(ns, name, rule("get", urls="/healthz")), invalid(
        "Role", "{name}", 'rules[0].nonResourceURLs: Invalid value: []string{"/healthz"}: namespaced rules cannot apply to non-resource URLs'),
        id="a path in a Role"),
    pytest.param(lambda ns, name: cluster_role(name, {"apiGroups": [""], "resources": ["pods"], "nonResourceURLs": ["/healthz", "/livez"], "verbs": ["get"]}),
                 invalid("ClusterRole", "{name}", 'rules[0].nonResourceURLs: Invalid value: []string{"/healthz", "/livez"}: '
                         "rules cannot apply to both regular resources and non-resource URLs"), id="resources and paths"),
    pytest.param(lambda ns, name: cluster_role(name, aggregationRule={"clusterRoleSelectors": []}), invalid(
        "ClusterRole", "{name}", "aggregationRule.clusterRoleSelectors: Required value: at least one clusterRoleSelector required if aggregationRule is non-nil"),
        id="an aggregation rule selecting nothing"),
    pytest.param(lambda ns, name: binding("ClusterRoleBinding", name, "Role", "reader", {"kind": "ServiceAccount", "name": "default"}), invalid(
        "ClusterRoleBinding", "{name}", 'roleRef.kind: Unsupported value: "Role": supported values: "ClusterRole"',
        "subjects[0].namespace: Required value"), id="a ClusterRoleBinding to a Role"),
    pytest.param(lambda ns, name: binding("RoleBinding", name, "role", "", namespace=ns), invalid(
        "RoleBinding", "{name}", 'roleRef.kind: Unsupported value: "role": supported values: "Role", "ClusterRole"', "roleRef.name: Required value"),
        id="a lower-case kind and no name"),
    pytest.param(lambda ns, name: binding("RoleBinding", name, "ClusterRole", "view", {"kind": "ServiceAccount", "name": "My_SA", "apiGroup": RBAC},
                                          {"kind": "user", "name": "jane"}, {"kind": "Group", "name": "devs", "apiGroup": "v1"}, {"kind": "User"},
                                          namespace=ns), invalid(
        "RoleBinding", "{name}",
        'subjects[0].name: Invalid value: "My_SA": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '
        "'-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is "
        "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')",
        f'subjects[0].apiGroup: Unsupported value: "{RBAC}": supported values: ""',
        'subjects[1].kind: Unsupported value: "user": supported values: "ServiceAccount", "User", "Group"',
        f'subjects[2].apiGroup: Unsupported value: "v1": supported values: "{RBAC}"', "subjects[3].name: Required value"), id="subjects"),
    pytest.param(lambda ns, name: json.dumps({"apiVersion": f"{RBAC}/v1", "kind": "RoleBinding", "metadata": {"name": name, "namespace": ns}}), invalid(
        "RoleBinding", "{name}", 'roleRef.kind: Unsupported value: "": supported values: "Role", "ClusterRole"', "roleRef.name: Required value"),
        id="no roleRef, its apiGroup defaulted"),
]


@pytest.mark.parametrize(("manifest", "words"), VALIDATION)
def test_an_invalid_object_is_refused_naming_every_invalid_field(manifest: Callable[[str, str], str], words: str, kubectl: Kubectl,
                                                                 namespace: str, cluster_scoped: Callable[[str, str], str]) -> None:
    kubectl("create", "namespace", namespace)
    name = fresh_name("invalid")
    for kind in ("clusterrole", "clusterrolebinding"):
        cluster_scoped(kind, name)
    assert refused(kubectl("create", "-f", "-", stdin=manifest(namespace, name), check=False)) == words.replace("{name}", name)


def test_a_null_in_a_rules_list_is_an_empty_string_as_go_decodes_it(kubectl: Kubectl, namespace: str, person: Callable[..., As]) -> None:
    kubectl("create", "namespace", namespace)
    kubectl("create", "rolebinding", "ann-admin", "--clusterrole=admin", "--user=ann", "-n", namespace)
    manifest = role(namespace, "odd", {"apiGroups": [""], "resources": ["pods"], "verbs": ["get", None]})
    assert refused(person("ann")("create", "-f", "-", stdin=manifest)).endswith('\n{APIGroups:[""], Resources:["pods"], Verbs:[""]}')
    kubectl("create", "-f", "-", stdin=manifest)
    assert json.loads(kubectl("get", "role", "odd", "-n", namespace, "-o", "json").stdout)["rules"] == [
        {"apiGroups": [""], "resources": ["pods"], "verbs": ["get", ""]}]


def test_rbac_names_are_path_segments_so_colons_are_fine(kubectl: Kubectl, cluster_scoped: Callable[[str, str], str]) -> None:
    name = cluster_scoped("clusterrole", f"system:{fresh_name('aggregate-to-view')}")
    kubectl("create", "clusterrole", name, "--verb=get", "--resource=pods")
    assert kubectl("get", "clusterrole", name, "-o", "jsonpath={.metadata.name}").stdout == name


def test_a_bindings_role_ref_cannot_change_however_it_is_written(kubectl: Kubectl, namespace: str) -> None:
    kubectl("create", "namespace", namespace)
    kubectl("apply", "-f", "-", stdin=binding("RoleBinding", "devs", "ClusterRole", "view", {"kind": "Group", "name": "devs"}, namespace=namespace))
    words = invalid("RoleBinding", "devs", f'roleRef: Invalid value: rbac.RoleRef{{APIGroup:"{RBAC}", Kind:"ClusterRole", Name:"edit"}}: cannot change roleRef')
    changed = binding("RoleBinding", "devs", "ClusterRole", "edit", {"kind": "Group", "name": "devs"}, namespace=namespace)
    assert refused(kubectl("apply", "-f", "-", stdin=changed, check=False)) == words
    assert refused(kubectl("replace", "-f", "-", stdin=changed, check=False)) == words
    assert refused(kubectl("patch", "rolebinding", "devs", "-n", namespace, "-p", '{"roleRef": {"name": "edit"}}', check=False)) == words
    # On an update every other invalid field is said too (each once, though the API server validates twice).
    both = kubectl("patch", "rolebinding", "devs", "-n", namespace, "--type=merge", "-p",
                   '{"roleRef": {"name": "edit"}, "subjects": [{"kind": "Team", "name": "devs"}]}', check=False)
    assert refused(both) == invalid("RoleBinding", "devs", 'subjects[0].kind: Unsupported value: "Team": supported values: "ServiceAccount", "User", "Group"',
                                    f'roleRef: Invalid value: rbac.RoleRef{{APIGroup:"{RBAC}", Kind:"ClusterRole", Name:"edit"}}: cannot change roleRef')
    # Deleting and creating it again is how a binding changes role.
    kubectl("delete", "rolebinding", "devs", "-n", namespace)
    kubectl("apply", "-f", "-", stdin=changed)


def test_a_binding_left_without_api_groups_gets_them(kubectl: Kubectl, namespace: str, cluster_scoped: Callable[[str, str], str]) -> None:
    kubectl("create", "namespace", namespace)
    subjects = ({"kind": "User", "name": "jane"}, {"kind": "Group", "name": "devs"}, {"kind": "ServiceAccount", "name": "ci", "namespace": namespace})
    kubectl("create", "-f", "-", stdin=binding("RoleBinding", "devs", "ClusterRole", "view", *subjects, namespace=namespace, api_group=None))
    name = cluster_scoped("clusterrolebinding", fresh_name("viewers"))
    kubectl("create", "-f", "-", stdin=binding("ClusterRoleBinding", name, "ClusterRole", "view", *subjects, api_group=None))
    for stored in (json.loads(kubectl("get", "rolebinding", "devs", "-n", namespace, "-o", "json").stdout),
                   json.loads(kubectl("get", "clusterrolebinding", name, "-o", "json").stdout)):
        assert stored["roleRef"] == {"apiGroup": RBAC, "kind": "ClusterRole", "name": "view"}
        assert stored["subjects"] == [{"apiGroup": RBAC, "kind": "User", "name": "jane"}, {"apiGroup": RBAC, "kind": "Group", "name": "devs"},
                                      {"kind": "ServiceAccount", "name": "ci", "namespace": namespace}]
    yaml = kubectl("get", "rolebinding", "devs", "-n", namespace, "-o", "yaml").stdout
    assert f"roleRef:\n  apiGroup: {RBAC}\n  kind: ClusterRole\n  name: view\n" in yaml


# -- approving a certificate ------------------------------------------------------------------------


def certificate_request(name: str, signer: str) -> str:
    key = ec.generate_private_key(ec.SECP256R1())
    request = x509.CertificateSigningRequestBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])).sign(key, hashes.SHA256())
    return json.dumps({"apiVersion": "certificates.k8s.io/v1", "kind": "CertificateSigningRequest", "metadata": {"name": name},
                       "spec": {"request": base64.b64encode(request.public_bytes(serialization.Encoding.PEM)).decode(),
                                "signerName": signer, "usages": ["client auth"]}})


def test_approving_a_request_needs_approve_on_its_signer(kubectl: Kubectl, person: Callable[..., As],
                                                         cluster_scoped: Callable[[str, str], str]) -> None:
    user = fresh_name("approver")
    client, custom = cluster_scoped("csr", fresh_name("jane")), cluster_scoped("csr", fresh_name("joe"))
    kubectl("create", "-f", "-", stdin=certificate_request(client, "kubernetes.io/kube-apiserver-client"))
    kubectl("create", "-f", "-", stdin=certificate_request(custom, "example.com/team"))
    approver = cluster_scoped("clusterrole", fresh_name("csr-approver"))
    kubectl("apply", "-f", "-", stdin=cluster_role(approver, rule("get list", "certificatesigningrequests", "certificates.k8s.io"),
                                                   rule("update", "certificatesigningrequests/approval", "certificates.k8s.io")))
    kubectl("create", "clusterrolebinding", cluster_scoped("clusterrolebinding", approver), f"--clusterrole={approver}", f"--user={user}")
    ann = person(user)

    def words(name: str, signer: str) -> str:
        return (f'Error from server (Forbidden): certificatesigningrequests.certificates.k8s.io "{name}" is forbidden: '
                f'user not permitted to approve requests with signerName "{signer}"')

    assert refused(ann("certificate", "approve", client)) == words(client, "kubernetes.io/kube-apiserver-client")
    assert refused(ann("certificate", "deny", client)) == words(client, "kubernetes.io/kube-apiserver-client")  # denying is approving's verb too
    # approve on signers, named by the signer name or by its domain and "/*"; another signer's grant is no help.
    signers = cluster_scoped("clusterrole", fresh_name("signers"))
    kubectl("apply", "-f", "-", stdin=cluster_role(signers, rule("approve", "signers", "certificates.k8s.io",
                                                                 names="kubernetes.io/kube-apiserver-client-kubelet example.com/team")))
    kubectl("create", "clusterrolebinding", cluster_scoped("clusterrolebinding", signers), f"--clusterrole={signers}", f"--user={user}")
    assert refused(ann("certificate", "approve", client)) == words(client, "kubernetes.io/kube-apiserver-client")
    succeeded(ann("certificate", "approve", custom))
    domain = cluster_scoped("clusterrole", fresh_name("kubernetes-signers"))
    kubectl("apply", "-f", "-", stdin=cluster_role(domain, rule("approve", "signers", "certificates.k8s.io", names="kubernetes.io/*")))
    kubectl("create", "clusterrolebinding", cluster_scoped("clusterrolebinding", domain), f"--clusterrole={domain}", f"--user={user}")
    succeeded(ann("certificate", "approve", client))
    conditions = json.loads(kubectl("get", "csr", client, "-o", "json").stdout)["status"]["conditions"]
    assert conditions[0]["type"] == "Approved"
