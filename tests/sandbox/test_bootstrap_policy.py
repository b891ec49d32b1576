"""The default RBAC policy of a new sandbox (labrunner/sandbox/bootstrap_policy.py), judged by the
pure RBAC engine, and the ClusterRole aggregation controller that fills ``admin``, ``edit`` and
``view``.

The truth table's rows cite the Kubernetes documentation's RBAC page,
https://kubernetes.io/docs/reference/access-authn-authz/rbac/#default-roles-and-role-bindings
(its tables "API discovery roles", "User-facing roles", "Core component roles", "Other
component roles" and the section "Controller roles"). Everything here runs on a Store, no server.
"""

from __future__ import annotations

import importlib.resources
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from labrunner.sandbox.bootstrap_policy import (
    AUTOUPDATE,
    CLUSTER_ROLE_BINDINGS,
    CLUSTER_ROLES,
    ROLE_BINDINGS,
    ROLES,
    apiserver_defaults,
    ensure_bootstrap_policy,
    kubeadm_objects,
)
from labrunner.sandbox.controllers import clusterroleaggregation
from labrunner.sandbox.controllers.shared import Cluster
from labrunner.sandbox.seed import seed
from labrunner.sandbox.store import NotFound, Store
from labrunner.topics.rbac.evaluate import decide
from labrunner.topics.rbac.model import Attributes

AUTHENTICATED = ("system:authenticated",)
TOKEN_GROUPS = ("system:bootstrappers", "system:bootstrappers:kubeadm:default-node-token", "system:authenticated")
RBAC = "rbac.authorization.k8s.io"


def _sa(namespace: str, name: str) -> tuple[str, tuple[str, ...]]:
    return (f"system:serviceaccount:{namespace}:{name}",
            ("system:serviceaccounts", f"system:serviceaccounts:{namespace}", "system:authenticated"))


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    """A new sandbox's store as the server leaves it: seeded (kubeadm init), the API server's
    defaults ensured, the aggregated roles filled."""
    opened = Store(tmp_path / "objects.db")
    seed(opened)
    ensure_bootstrap_policy(opened)
    clusterroleaggregation.reconcile(Cluster(opened))
    yield opened
    opened.close()


def rbac_objects(store: Store) -> list[dict[str, Any]]:
    return [obj for resource in (CLUSTER_ROLES, CLUSTER_ROLE_BINDINGS, ROLES, ROLE_BINDINGS) for obj in store.list(resource)]


def binding(kind: str, name: str, role: str, user: str, namespace: str = "") -> dict[str, Any]:
    metadata = {"name": name, **({"namespace": namespace} if namespace else {})}
    return {"metadata": metadata, "roleRef": {"apiGroup": RBAC, "kind": "ClusterRole", "name": role},
            "subjects": [{"apiGroup": RBAC, "kind": "User", "name": user}]}


# -- what is there ---------------------------------------------------------------------------------


def test_a_new_sandbox_has_the_default_objects_of_each_kind(store: Store) -> None:
    assert Counter(resource.kind for resource, _ in apiserver_defaults()) == {
        "ClusterRole": 64, "ClusterRoleBinding": 45, "Role": 7, "RoleBinding": 7}
    assert Counter(resource.kind for resource, _ in kubeadm_objects()) == {
        "ClusterRole": 2, "ClusterRoleBinding": 7, "Role": 4, "RoleBinding": 4}
    assert Counter(obj["kind"] for obj in rbac_objects(store)) == {  # and kind's local-path provisioner's role and binding
        "ClusterRole": 67, "ClusterRoleBinding": 53, "Role": 11, "RoleBinding": 11}
    names = {obj["metadata"]["name"] for obj in store.list(CLUSTER_ROLES)}
    assert {"cluster-admin", "admin", "edit", "view", "system:basic-user", "system:discovery", "system:public-info-viewer",
            "system:monitoring", "system:node", "system:node-proxier", "system:kube-scheduler", "system:kube-controller-manager",
            "system:controller:deployment-controller", "system:controller:clusterrole-aggregation-controller",
            "system:coredns", "kubeadm:get-nodes"} <= names
    assert {(r["metadata"]["namespace"], r["metadata"]["name"]) for r in store.list(ROLES)} >= {
        ("kube-system", "extension-apiserver-authentication-reader"), ("kube-system", "kube-proxy"),
        ("kube-public", "system:controller:bootstrap-signer"), ("kube-public", "kubeadm:bootstrap-signer-clusterinfo")}


def test_the_api_servers_objects_carry_the_bootstrapping_label_and_autoupdate_and_kubeadms_do_not(store: Store) -> None:
    defaults = {(resource.kind, obj["metadata"].get("namespace", ""), obj["metadata"]["name"]) for resource, obj in apiserver_defaults()}
    for obj in rbac_objects(store):
        metadata = obj["metadata"]
        if (obj["kind"], metadata.get("namespace", ""), metadata["name"]) in defaults:
            assert metadata["labels"]["kubernetes.io/bootstrapping"] == "rbac-defaults", metadata["name"]
            assert metadata["annotations"] == {AUTOUPDATE: "true"}, metadata["name"]
        else:
            assert "kubernetes.io/bootstrapping" not in (metadata.get("labels") or {}), metadata["name"]
            assert AUTOUPDATE not in (metadata.get("annotations") or {}), metadata["name"]


def test_the_user_facing_roles_are_aggregated_and_their_rules_are_the_controllers(tmp_path: Path) -> None:
    store = Store(tmp_path / "objects.db")
    ensure_bootstrap_policy(store)
    view = store.get(CLUSTER_ROLES, "", "view")
    assert view["rules"] is None  # as created: the controller writes them
    assert view["aggregationRule"] == {"clusterRoleSelectors": [{"matchLabels": {f"{RBAC}/aggregate-to-view": "true"}}]}
    assert view["metadata"]["labels"][f"{RBAC}/aggregate-to-edit"] == "true"
    assert store.get(CLUSTER_ROLES, "", "edit")["metadata"]["labels"][f"{RBAC}/aggregate-to-admin"] == "true"
    clusterroleaggregation.reconcile(Cluster(store))
    to_view = store.get(CLUSTER_ROLES, "", "system:aggregate-to-view")["rules"]
    to_edit = store.get(CLUSTER_ROLES, "", "system:aggregate-to-edit")["rules"]
    to_admin = store.get(CLUSTER_ROLES, "", "system:aggregate-to-admin")["rules"]
    assert store.get(CLUSTER_ROLES, "", "view")["rules"] == to_view
    # For each selector, the matching roles by name: edit takes system:aggregate-to-edit, then view.
    assert store.get(CLUSTER_ROLES, "", "edit")["rules"] == to_edit + [rule for rule in to_view if rule not in to_edit]
    edit = store.get(CLUSTER_ROLES, "", "edit")["rules"]
    assert store.get(CLUSTER_ROLES, "", "admin")["rules"] == edit + [rule for rule in to_admin if rule not in edit]
    store.close()


def test_the_data_file_ships_inside_the_package() -> None:
    assert importlib.resources.files("labrunner.sandbox").joinpath("bootstrap_policy.yaml").is_file()


# -- the truth table -------------------------------------------------------------------------------

ROWS: list[tuple[str, str, tuple[str, ...], Attributes, bool]] = [
    # User-facing roles: view, "read-only access to see most objects in a namespace"
    ("view reads pods", "alice", AUTHENTICATED, Attributes(verb="get", resource="pods", name="web", namespace="team"), True),
    ("view reads a pod's log", "alice", AUTHENTICATED, Attributes(verb="get", resource="pods", subresource="log", namespace="team"), True),
    ("view lists deployments", "alice", AUTHENTICATED, Attributes(verb="list", api_group="apps", resource="deployments", namespace="team"), True),
    ("view: 'does not allow viewing Secrets'", "alice", AUTHENTICATED, Attributes(verb="get", resource="secrets", name="s", namespace="team"), False),
    ("view: 'does not allow viewing roles or role bindings'", "alice", AUTHENTICATED,
     Attributes(verb="list", api_group=RBAC, resource="roles", namespace="team"), False),
    ("view writes nothing", "alice", AUTHENTICATED, Attributes(verb="create", api_group="apps", resource="deployments", namespace="team"), False),
    ("view cannot exec", "alice", AUTHENTICATED, Attributes(verb="create", resource="pods", subresource="exec", namespace="team"), False),
    # edit: "read/write access to most objects in a namespace"
    ("edit creates deployments", "bob", AUTHENTICATED, Attributes(verb="create", api_group="apps", resource="deployments", namespace="team"), True),
    ("edit creates secrets", "bob", AUTHENTICATED, Attributes(verb="create", resource="secrets", namespace="team"), True),
    ("edit reads secrets ('accessing Secrets')", "bob", AUTHENTICATED, Attributes(verb="get", resource="secrets", name="s", namespace="team"), True),
    ("edit execs into pods", "bob", AUTHENTICATED, Attributes(verb="create", resource="pods", subresource="exec", namespace="team"), True),
    ("edit asks tokens for service accounts", "bob", AUTHENTICATED,
     Attributes(verb="create", resource="serviceaccounts", subresource="token", name="default", namespace="team"), True),
    ("edit: 'does not allow viewing or modifying roles'", "bob", AUTHENTICATED,
     Attributes(verb="create", api_group=RBAC, resource="roles", namespace="team"), False),
    ("edit: nor role bindings", "bob", AUTHENTICATED, Attributes(verb="create", api_group=RBAC, resource="rolebindings", namespace="team"), False),
    ("edit: no write access to EndpointSlices", "bob", AUTHENTICATED,
     Attributes(verb="create", api_group="discovery.k8s.io", resource="endpointslices", namespace="team"), False),
    # admin: "including the ability to create roles and role bindings within the namespace"
    ("admin creates role bindings", "carol", AUTHENTICATED, Attributes(verb="create", api_group=RBAC, resource="rolebindings", namespace="team"), True),
    ("admin creates roles", "carol", AUTHENTICATED, Attributes(verb="create", api_group=RBAC, resource="roles", namespace="team"), True),
    ("admin creates LocalSubjectAccessReviews", "carol", AUTHENTICATED,
     Attributes(verb="create", api_group="authorization.k8s.io", resource="localsubjectaccessreviews", namespace="team"), True),
    ("admin, bound in team, has nothing in prod", "carol", AUTHENTICATED, Attributes(verb="get", resource="pods", name="web", namespace="prod"), False),
    ("admin in a RoleBinding: nothing cluster-scoped", "carol", AUTHENTICATED, Attributes(verb="create", resource="namespaces"), False),
    ("admin: 'no write access to resource quota'", "carol", AUTHENTICATED,
     Attributes(verb="update", resource="resourcequotas", name="q", namespace="team"), False),
    ("admin: 'or to the namespace itself'", "carol", AUTHENTICATED, Attributes(verb="delete", resource="namespaces", name="team", namespace="team"), False),
    ("view bound cluster-wide reads every namespace", "dave", AUTHENTICATED, Attributes(verb="list", resource="pods"), True),
    # cluster-admin, bound to system:masters: "super-user access to perform any action on any resource"
    ("system:masters deletes nodes", "kubernetes-admin", ("system:masters", *AUTHENTICATED), Attributes(verb="delete", resource="nodes", name="n"), True),
    ("system:masters reads /metrics", "kubernetes-admin", ("system:masters", *AUTHENTICATED), Attributes(verb="get", path="/metrics"), True),
    ("system:masters escalates", "kubernetes-admin", ("system:masters", *AUTHENTICATED),
     Attributes(verb="escalate", api_group=RBAC, resource="clusterroles", name="view"), True),
    ("kubeadm's admin.conf group kubeadm:cluster-admins is cluster-admin", "kubernetes-admin", ("kubeadm:cluster-admins", *AUTHENTICATED),
     Attributes(verb="delete", resource="nodes", name="n"), True),
    # API discovery roles: system:basic-user, system:discovery (system:authenticated)
    ("any authenticated user creates a SelfSubjectAccessReview", "erin", AUTHENTICATED,
     Attributes(verb="create", api_group="authorization.k8s.io", resource="selfsubjectaccessreviews"), True),
    ("... and a SelfSubjectRulesReview", "erin", AUTHENTICATED,
     Attributes(verb="create", api_group="authorization.k8s.io", resource="selfsubjectrulesreviews", namespace="team"), True),
    ("... and a SelfSubjectReview (kubectl auth whoami)", "erin", AUTHENTICATED,
     Attributes(verb="create", api_group="authentication.k8s.io", resource="selfsubjectreviews"), True),
    ("an authenticated user GETs /version", "erin", AUTHENTICATED, Attributes(verb="get", path="/version"), True),
    ("an authenticated user GETs /healthz", "erin", AUTHENTICATED, Attributes(verb="get", path="/healthz"), True),
    ("an authenticated user discovers /apis/apps/v1", "erin", AUTHENTICATED, Attributes(verb="get", path="/apis/apps/v1"), True),
    ("an authenticated user POSTs no path", "erin", AUTHENTICATED, Attributes(verb="post", path="/version"), False),
    ("an authenticated user reads no /metrics", "erin", AUTHENTICATED, Attributes(verb="get", path="/metrics"), False),
    ("an authenticated user lists no pods", "erin", AUTHENTICATED, Attributes(verb="list", resource="pods", namespace="default"), False),
    # system:public-info-viewer: system:authenticated and system:unauthenticated
    ("anonymous GETs /version", "system:anonymous", ("system:unauthenticated",), Attributes(verb="get", path="/version"), True),
    ("anonymous GETs /livez", "system:anonymous", ("system:unauthenticated",), Attributes(verb="get", path="/livez"), True),
    ("anonymous discovers nothing (system:discovery is for authenticated users)", "system:anonymous", ("system:unauthenticated",),
     Attributes(verb="get", path="/apis"), False),
    ("anonymous cannot ask access reviews", "system:anonymous", ("system:unauthenticated",),
     Attributes(verb="create", api_group="authorization.k8s.io", resource="selfsubjectaccessreviews"), False),
    ("anonymous reads kube-public's cluster-info (kubeadm)", "system:anonymous", ("system:unauthenticated",),
     Attributes(verb="get", resource="configmaps", name="cluster-info", namespace="kube-public"), True),
    ("... and no other ConfigMap", "system:anonymous", ("system:unauthenticated",),
     Attributes(verb="get", resource="configmaps", name="other", namespace="kube-public"), False),
    # Other component roles: system:monitoring (system:monitoring group)
    ("system:monitoring reads /metrics", "prometheus", ("system:monitoring", *AUTHENTICATED), Attributes(verb="get", path="/metrics"), True),
    ("system:monitoring reads one readiness check", "prometheus", ("system:monitoring", *AUTHENTICATED), Attributes(verb="get", path="/readyz/etcd"), True),
    # system:service-account-issuer-discovery (system:serviceaccounts group)
    ("a service account reads the OIDC discovery document", *_sa("team", "default"),
     Attributes(verb="get", path="/.well-known/openid-configuration"), True),
    ("a service account reads the issuer's keys", *_sa("team", "default"), Attributes(verb="get", path="/openid/v1/jwks"), True),
    ("a namespace's default service account reads nothing of it", *_sa("team", "default"),
     Attributes(verb="list", resource="pods", namespace="team"), False),
    # Core component roles
    ("system:kube-scheduler binds pods", "system:kube-scheduler", AUTHENTICATED,
     Attributes(verb="create", resource="pods", subresource="binding", name="web", namespace="default"), True),
    ("system:kube-scheduler creates no pods", "system:kube-scheduler", AUTHENTICATED, Attributes(verb="create", resource="pods", namespace="default"), False),
    ("system:kube-scheduler holds its leader lease", "system:kube-scheduler", AUTHENTICATED,
     Attributes(verb="update", api_group="coordination.k8s.io", resource="leases", name="kube-scheduler", namespace="kube-system"), True),
    ("system:kube-controller-manager lists everything", "system:kube-controller-manager", AUTHENTICATED,
     Attributes(verb="list", api_group="apps", resource="deployments"), True),
    ("system:kube-controller-manager updates no deployments", "system:kube-controller-manager", AUTHENTICATED,
     Attributes(verb="update", api_group="apps", resource="deployments", name="web", namespace="default"), False),
    ("system:node-proxier (User system:kube-proxy) watches EndpointSlices", "system:kube-proxy", AUTHENTICATED,
     Attributes(verb="watch", api_group="discovery.k8s.io", resource="endpointslices"), True),
    ("kubeadm:node-proxier: the kube-proxy service account too", *_sa("kube-system", "kube-proxy"),
     Attributes(verb="list", resource="services"), True),
    ("system:node binds no one: a node's pods come from the Node authorizer", "system:node:worker", ("system:nodes", *AUTHENTICATED),
     Attributes(verb="list", resource="pods"), False),
    ("a node renews its client certificate (kubeadm)", "system:node:worker", ("system:nodes", *AUTHENTICATED),
     Attributes(verb="create", api_group="certificates.k8s.io", resource="certificatesigningrequests", subresource="selfnodeclient"), True),
    ("a node reads the kubelet's configuration (kubeadm)", "system:node:worker", ("system:nodes", *AUTHENTICATED),
     Attributes(verb="get", resource="configmaps", name="kubelet-config", namespace="kube-system"), True),
    # kubeadm's bootstrap tokens, then system:node-bootstrapper
    ("a bootstrap token creates a CSR", "system:bootstrap:abcdef", TOKEN_GROUPS,
     Attributes(verb="create", api_group="certificates.k8s.io", resource="certificatesigningrequests"), True),
    ("a bootstrap token's CSR is auto-approved", "system:bootstrap:abcdef", TOKEN_GROUPS,
     Attributes(verb="create", api_group="certificates.k8s.io", resource="certificatesigningrequests", subresource="nodeclient"), True),
    ("a bootstrap token gets a node", "system:bootstrap:abcdef", TOKEN_GROUPS, Attributes(verb="get", resource="nodes", name="worker"), True),
    ("a bootstrap token lists no nodes", "system:bootstrap:abcdef", TOKEN_GROUPS, Attributes(verb="list", resource="nodes"), False),
    ("a bootstrap token reads kube-proxy's ConfigMap", "system:bootstrap:abcdef", TOKEN_GROUPS,
     Attributes(verb="get", resource="configmaps", name="kube-proxy", namespace="kube-system"), True),
    # Controller roles: system:controller:<name>, bound to ServiceAccount kube-system/<name>
    ("the deployment controller creates ReplicaSets", *_sa("kube-system", "deployment-controller"),
     Attributes(verb="create", api_group="apps", resource="replicasets", namespace="default"), True),
    ("the deployment controller creates no pods", *_sa("kube-system", "deployment-controller"),
     Attributes(verb="create", resource="pods", namespace="default"), False),
    ("the garbage collector deletes anything", *_sa("kube-system", "generic-garbage-collector"),
     Attributes(verb="delete", api_group="example.com", resource="widgets", name="w", namespace="default"), True),
    ("the aggregation controller escalates ClusterRoles", *_sa("kube-system", "clusterrole-aggregation-controller"),
     Attributes(verb="escalate", api_group=RBAC, resource="clusterroles", name="view"), True),
    ("the statefulset controller deletes its claims (StatefulSetAutoDeletePVC)", *_sa("kube-system", "statefulset-controller"),
     Attributes(verb="delete", resource="persistentvolumeclaims", name="data-db-0", namespace="default"), True),
    ("CoreDNS watches EndpointSlices (kubeadm's system:coredns)", *_sa("kube-system", "coredns"),
     Attributes(verb="watch", api_group="discovery.k8s.io", resource="endpointslices"), True),
]


@pytest.fixture
def with_learners(store: Store) -> list[dict[str, Any]]:
    """The defaults plus bindings a teacher would make: alice views, bob edits and carol
    administers namespace team; dave views every namespace."""
    store.create(ROLE_BINDINGS, binding("RoleBinding", "alice-view", "view", "alice", "team"))
    store.create(ROLE_BINDINGS, binding("RoleBinding", "bob-edit", "edit", "bob", "team"))
    store.create(ROLE_BINDINGS, binding("RoleBinding", "carol-admin", "admin", "carol", "team"))
    store.create(CLUSTER_ROLE_BINDINGS, binding("ClusterRoleBinding", "dave-view", "view", "dave"))
    return rbac_objects(store)


@pytest.mark.parametrize(("why", "user", "groups", "attributes", "allowed"), ROWS, ids=[row[0] for row in ROWS])
def test_the_defaults_allow_what_the_documentation_says(with_learners: list[dict[str, Any]], why: str, user: str,
                                                       groups: tuple[str, ...], attributes: Attributes, allowed: bool) -> None:
    decision = decide(with_learners, user, groups, attributes)
    assert decision.allowed is allowed, "\n".join(decision.explain())


# -- kube-apiserver's reconciliation at every start --------------------------------------------------


def test_every_start_puts_back_what_a_default_lost_and_keeps_what_was_added(store: Store) -> None:
    basic = store.get(CLUSTER_ROLES, "", "system:basic-user")
    extra = {"verbs": ["get"], "apiGroups": [""], "resources": ["configmaps"]}
    basic["rules"] = [basic["rules"][1], extra]  # selfsubjectaccessreviews and selfsubjectrulesreviews dropped, one added
    basic["metadata"]["labels"] = {"team": "x"}
    basic["metadata"]["annotations"] = {}
    store.update(CLUSTER_ROLES, basic)
    discovery = store.get(CLUSTER_ROLE_BINDINGS, "", "system:public-info-viewer")
    discovery["subjects"] = [discovery["subjects"][0]]
    store.update(CLUSTER_ROLE_BINDINGS, discovery)
    store.delete(CLUSTER_ROLES, "", "system:monitoring")
    view = store.get(CLUSTER_ROLES, "", "view")
    del view["aggregationRule"]
    store.update(CLUSTER_ROLES, view)

    ensure_bootstrap_policy(store)

    basic = store.get(CLUSTER_ROLES, "", "system:basic-user")
    # What was missing comes back as validation.Covers breaks it down: one verb on one resource a rule.
    assert basic["rules"] == [
        {"verbs": ["create"], "apiGroups": ["authentication.k8s.io"], "resources": ["selfsubjectreviews"]}, extra,
        {"verbs": ["create"], "apiGroups": ["authorization.k8s.io"], "resources": ["selfsubjectaccessreviews"]},
        {"verbs": ["create"], "apiGroups": ["authorization.k8s.io"], "resources": ["selfsubjectrulesreviews"]}]
    assert basic["metadata"]["labels"] == {"team": "x", "kubernetes.io/bootstrapping": "rbac-defaults"}
    assert basic["metadata"]["annotations"] == {AUTOUPDATE: "true"}
    assert [s["name"] for s in store.get(CLUSTER_ROLE_BINDINGS, "", "system:public-info-viewer")["subjects"]] == [
        "system:authenticated", "system:unauthenticated"]
    assert store.get(CLUSTER_ROLES, "", "system:monitoring")["rules"][0]["nonResourceURLs"][0] == "/healthz"
    assert store.get(CLUSTER_ROLES, "", "view")["aggregationRule"]["clusterRoleSelectors"] == [
        {"matchLabels": {f"{RBAC}/aggregate-to-view": "true"}}]


def test_a_default_annotated_autoupdate_false_is_left_alone(store: Store) -> None:
    basic = store.get(CLUSTER_ROLES, "", "system:basic-user")
    basic["metadata"]["annotations"] = {AUTOUPDATE: "false"}
    basic["rules"] = []
    store.update(CLUSTER_ROLES, basic)
    reader = store.get(ROLE_BINDINGS, "kube-system", "system::extension-apiserver-authentication-reader")
    reader["metadata"]["annotations"] = {AUTOUPDATE: "false"}
    reader["subjects"] = []
    store.update(ROLE_BINDINGS, reader)
    before = store.revision()
    ensure_bootstrap_policy(store)
    assert store.revision() == before
    assert store.get(CLUSTER_ROLES, "", "system:basic-user")["rules"] == []
    assert decide(rbac_objects(store), "erin", AUTHENTICATED, Attributes(
        verb="create", api_group="authorization.k8s.io", resource="selfsubjectaccessreviews")).allowed is False


def test_a_start_with_nothing_to_do_writes_nothing(store: Store) -> None:
    before = store.revision()
    ensure_bootstrap_policy(store)
    assert store.revision() == before


def test_a_binding_whose_role_changed_is_made_anew(store: Store) -> None:
    # The API refuses to change a roleRef; a store can hold one all the same (an old sandbox, a bug).
    bound = store.get(CLUSTER_ROLE_BINDINGS, "", "system:basic-user")
    bound["roleRef"]["name"] = "view"
    bound["subjects"].append({"apiGroup": RBAC, "kind": "User", "name": "mallory"})
    store.update(CLUSTER_ROLE_BINDINGS, bound)
    ensure_bootstrap_policy(store)
    remade = store.get(CLUSTER_ROLE_BINDINGS, "", "system:basic-user")
    assert remade["roleRef"]["name"] == "system:basic-user"
    assert [s["name"] for s in remade["subjects"]] == ["system:authenticated"]
    assert remade["metadata"]["uid"] != bound["metadata"]["uid"]


def test_kubeadms_objects_are_not_put_back(store: Store) -> None:
    store.delete(CLUSTER_ROLE_BINDINGS, "", "kubeadm:cluster-admins")
    ensure_bootstrap_policy(store)
    with pytest.raises(NotFound):
        store.get(CLUSTER_ROLE_BINDINGS, "", "kubeadm:cluster-admins")


def test_a_missing_kube_system_is_made_for_its_roles(tmp_path: Path) -> None:
    from labrunner.sandbox.bootstrap_policy import NAMESPACES

    store = Store(tmp_path / "objects.db")
    ensure_bootstrap_policy(store)
    assert {ns["metadata"]["name"] for ns in store.list(NAMESPACES)} == {"kube-system", "kube-public"}
    store.close()


# -- the aggregation controller --------------------------------------------------------------------


def crontab_viewer(labels: dict[str, str]) -> dict[str, Any]:
    return {"metadata": {"name": "crontab-viewer", "labels": labels},
            "rules": [{"verbs": ["get", "list", "watch"], "apiGroups": ["stable.example.com"], "resources": ["crontabs"]}]}


def test_a_role_labelled_aggregate_to_view_extends_view_edit_and_admin_until_the_label_goes(with_learners: list[dict[str, Any]],
                                                                                            store: Store) -> None:
    cluster = Cluster(store)
    read_crontabs = Attributes(verb="list", api_group="stable.example.com", resource="crontabs", namespace="team")
    assert not decide(rbac_objects(store), "alice", AUTHENTICATED, read_crontabs).allowed
    store.create(CLUSTER_ROLES, crontab_viewer({f"{RBAC}/aggregate-to-view": "true"}))
    clusterroleaggregation.reconcile(cluster)
    crontabs = crontab_viewer({})["rules"][0]
    for name in ("view", "edit", "admin"):
        assert crontabs in store.get(CLUSTER_ROLES, "", name)["rules"], name
    # crontab-viewer sorts before system:aggregate-to-view: its rule comes first
    assert store.get(CLUSTER_ROLES, "", "view")["rules"][0] == crontabs
    for user in ("alice", "bob", "carol"):
        decision = decide(rbac_objects(store), user, AUTHENTICATED, read_crontabs)
        assert decision.allowed, user

    role = store.get(CLUSTER_ROLES, "", "crontab-viewer")
    role["metadata"]["labels"] = {}
    store.update(CLUSTER_ROLES, role)
    clusterroleaggregation.reconcile(cluster)
    for name in ("view", "edit", "admin"):
        assert crontabs not in store.get(CLUSTER_ROLES, "", name)["rules"], name
    assert not decide(rbac_objects(store), "bob", AUTHENTICATED, read_crontabs).allowed


def test_rules_already_aggregated_are_not_written_again(store: Store) -> None:
    before = store.revision()
    clusterroleaggregation.reconcile(Cluster(store))
    assert store.revision() == before


def test_an_aggregated_role_never_takes_its_own_rules(store: Store) -> None:
    store.create(CLUSTER_ROLES, {"metadata": {"name": "selfish", "labels": {"pick": "me"}},
                                 "aggregationRule": {"clusterRoleSelectors": [{"matchLabels": {"pick": "me"}}]},
                                 "rules": [{"verbs": ["get"], "apiGroups": [""], "resources": ["pods"]}]})
    store.create(CLUSTER_ROLES, {"metadata": {"name": "other", "labels": {"pick": "me"}},
                                 "rules": [{"verbs": ["list"], "apiGroups": [""], "resources": ["nodes"]}]})
    clusterroleaggregation.reconcile(Cluster(store))
    assert store.get(CLUSTER_ROLES, "", "selfish")["rules"] == [{"verbs": ["list"], "apiGroups": [""], "resources": ["nodes"]}]


def test_selectors_are_taken_in_turn_and_rules_kept_once(store: Store) -> None:
    rule = {"verbs": ["get"], "apiGroups": [""], "resources": ["pods"]}
    store.create(CLUSTER_ROLES, {"metadata": {"name": "b-role", "labels": {"first": "yes"}}, "rules": [rule]})
    store.create(CLUSTER_ROLES, {"metadata": {"name": "a-role", "labels": {"second": "yes", "first": "yes"}},
                                 "rules": [{**rule, "resourceNames": []}, {"verbs": ["list"], "apiGroups": [""], "resources": ["pods"]}]})
    store.create(CLUSTER_ROLES, {"metadata": {"name": "sum"}, "aggregationRule": {"clusterRoleSelectors": [
        {"matchExpressions": [{"key": "second", "operator": "DoesNotExist"}, {"key": "first", "operator": "In", "values": ["yes"]}]},
        {"matchLabels": {"second": "yes"}}]}})
    clusterroleaggregation.reconcile(Cluster(store))
    # b-role for the first selector; then a-role for the second, whose first rule is b-role's again (nil and empty alike)
    assert store.get(CLUSTER_ROLES, "", "sum")["rules"] == [rule, {"verbs": ["list"], "apiGroups": [""], "resources": ["pods"]}]


def test_a_selector_it_cannot_read_is_reported_and_the_other_roles_are_still_filled(tmp_path: Path) -> None:
    from labrunner.sandbox.resources import lookup

    store = Store(tmp_path / "objects.db")
    seed(store)
    ensure_bootstrap_policy(store)
    store.create(CLUSTER_ROLES, {"metadata": {"name": "broken"}, "aggregationRule": {"clusterRoleSelectors": [
        {"matchExpressions": [{"key": "a", "operator": "Near"}]}]}})
    clusterroleaggregation.reconcile(Cluster(store))
    assert store.get(CLUSTER_ROLES, "", "view")["rules"]
    events = lookup("", "v1", "events")
    assert events is not None
    reported = [e for e in store.list(events) if e["involvedObject"]["name"] == "broken"]
    assert [(e["type"], e["reason"]) for e in reported] == [("Warning", "ReconcileError")]
    store.close()


def test_the_control_plane_runs_the_aggregation_controller(tmp_path: Path) -> None:
    from labrunner.sandbox.controllers import ControlPlane

    store = Store(tmp_path / "objects.db")
    seed(store)
    ensure_bootstrap_policy(store)
    ControlPlane(store).reconcile()
    assert store.get(CLUSTER_ROLES, "", "admin")["rules"]
    store.close()
