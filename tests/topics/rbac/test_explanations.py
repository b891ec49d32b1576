"""What the engine says: why a request was allowed or denied, and kube-apiserver's 403 words
(staging/src/k8s.io/apiserver/pkg/endpoints/handlers/responsewriters/errors.go, forbiddenMessage)."""

from __future__ import annotations

from labrunner.topics.rbac.evaluate import decide, forbidden_message, go_quote, why_not
from labrunner.topics.rbac.model import Attributes, Rule, service_account
from labrunner.topics.rbac.parse import policies_from_objects
from tests.topics.rbac.world import WORLD

POLICIES = policies_from_objects(WORLD)


def test_an_allowed_request_names_the_binding_the_role_and_the_rule() -> None:
    decision = decide(POLICIES, "jane", ["system:authenticated"],
                      Attributes(verb="get", resource="pods", namespace="dev", name="web"))
    assert decision.explain() == [
        "allowed: RoleBinding dev/read-pods binds Role dev/pod-reader to User jane; "
        "its rules[0] allows get, watch, list on pods"]


def test_a_denied_request_says_why_each_binding_of_the_subject_missed() -> None:
    decision = decide(POLICIES, "jane", [], Attributes(verb="delete", resource="pods", namespace="dev", name="web"))
    assert not decision.allowed
    assert decision.explain() == [
        "denied: no RBAC rule allows it",
        "RoleBinding dev/nodes-in-dev binds ClusterRole node-reader to User jane: "
        "cluster role node-reader allows get, list, watch on nodes, not delete",
        "RoleBinding dev/read-pods binds Role dev/pod-reader to User jane: "
        "role pod-reader allows get, watch, list on pods, not delete",
    ]


def test_a_role_binding_never_grants_at_the_cluster_scope() -> None:
    decision = decide(POLICIES, "jane", [], Attributes(verb="list", resource="nodes"))
    assert decision.explain() == [
        "denied: no RBAC rule allows it",
        "RoleBinding dev/nodes-in-dev binds ClusterRole node-reader to User jane, but a RoleBinding grants "
        "only in its namespace (dev), never nodes at the cluster scope",
        "RoleBinding dev/read-pods binds Role dev/pod-reader to User jane, but a RoleBinding grants "
        "only in its namespace (dev), never nodes at the cluster scope",
    ]


def test_a_role_binding_grants_only_in_its_namespace() -> None:
    decision = decide(POLICIES, "dave", [], Attributes(verb="get", resource="secrets", namespace="prod", name="s"))
    assert decision.explain()[1] == (
        "RoleBinding development/read-secrets binds ClusterRole secret-reader to User dave, but a RoleBinding "
        "grants only in its namespace (development), not in prod")


def test_nobody_named() -> None:
    decision = decide(POLICIES, "eve", ["system:authenticated"],
                      Attributes(verb="get", resource="pods", namespace="dev", name="x"))
    assert decision.explain() == [
        "denied: no RBAC rule allows it",
        'no RoleBinding or ClusterRoleBinding names User "eve" or any of the groups system:authenticated']


def test_a_service_account_is_named_by_its_subject_and_an_aggregated_rule_by_its_origin() -> None:
    sa = service_account("qa", "tester")
    assert sa.user == "system:serviceaccount:qa:tester"
    assert sa.groups == ("system:serviceaccounts", "system:serviceaccounts:qa", "system:authenticated")
    decision = decide(POLICIES, sa.user, sa.groups, Attributes(verb="list", resource="pods"))
    assert decision.explain() == [
        "allowed: ClusterRoleBinding qa-sees-pods binds ClusterRole pod-viewer to Group system:serviceaccounts:qa; "
        "its rules[0] allows get, list on pods"]
    decision = decide(POLICIES, "mona", [], Attributes(verb="watch", resource="services", namespace="dev"))
    assert decision.explain() == [
        "allowed: ClusterRoleBinding monitors binds ClusterRole monitoring to User mona; its rules[0] "
        "(aggregated from ClusterRole monitoring-endpoints) allows get, list, watch on services, endpointslices, pods"]


def test_why_a_rule_misses() -> None:
    pods = Rule(verbs=("get", "list"), api_groups=("",), resources=("pods",))
    named = Rule(verbs=("get", "list"), api_groups=("",), resources=("configmaps",), resource_names=("my-configmap",))
    apps = Rule(verbs=("*",), api_groups=("apps",), resources=("*",))
    healthz = Rule(verbs=("get",), non_resource_urls=("/healthz",))
    assert why_not(pods, Attributes(verb="get", resource="pods", namespace="dev", name="x")) == ""
    assert why_not(pods, Attributes(verb="get", resource="pods", subresource="log", namespace="d", name="x")) == (
        "allows get, list on pods, not pods/log: a subresource is not implied by its resource, "
        "a rule must name pods/log")
    assert why_not(pods, Attributes(verb="get", resource="services", namespace="d")) == (
        "allows get, list on pods, not services")
    assert why_not(pods, Attributes(verb="get", api_group="apps", resource="pods", namespace="d")) == (
        'allows get, list on pods, not API group "apps"')
    assert why_not(apps, Attributes(verb="get", resource="pods", namespace="d")) == (
        'allows every verb on every resource in API group "apps", not API group ""')
    assert why_not(named, Attributes(verb="get", resource="configmaps", namespace="d", name="other")) == (
        "allows get, list on configmaps named my-configmap, not other")
    assert why_not(named, Attributes(verb="list", resource="configmaps", namespace="d")) == (
        "allows get, list on configmaps named my-configmap only, and a list of configmaps names no object "
        "(resourceNames never match it)")
    assert why_not(pods, Attributes(verb="get", path="/healthz")) == (
        "allows get, list on pods, which are resources, not the path /healthz")
    assert why_not(healthz, Attributes(verb="get", path="/metrics")) == "allows get on /healthz, not the path /metrics"
    assert why_not(healthz, Attributes(verb="post", path="/healthz")) == "allows get on /healthz, not post"
    assert why_not(healthz, Attributes(verb="get", resource="pods", namespace="d")) == (
        "allows get on /healthz, which are paths, not resources")


def test_forbidden_messages_in_the_api_servers_words() -> None:
    assert forbidden_message("jane", Attributes(verb="list", resource="pods", namespace="dev")) == (
        'User "jane" cannot list resource "pods" in API group "" in the namespace "dev"')
    assert forbidden_message("jane", Attributes(verb="list", resource="nodes")) == (
        'User "jane" cannot list resource "nodes" in API group "" at the cluster scope')
    assert forbidden_message("system:serviceaccount:dev:builder", Attributes(
        verb="update", api_group="apps", resource="deployments", subresource="scale", namespace="dev", name="web")) == (
        'User "system:serviceaccount:dev:builder" cannot update resource "deployments/scale" in API group "apps" '
        'in the namespace "dev"')
    assert forbidden_message("jane", Attributes(verb="get", path="/metrics")) == (
        'User "jane" cannot get path "/metrics"')
    assert go_quote('a"b\\c\n') == '"a\\"b\\\\c\\n"'


def test_a_missing_role_and_a_cluster_role_binding_to_a_role_grant_nothing() -> None:
    from tests.topics.rbac.world import binding, user

    objects = [binding("gone", "dev", "Role", "no-such-role", user("ann")),
               binding("wrong", "", "Role", "pod-reader", user("ann"))]
    decision = decide(objects, "ann", [], Attributes(verb="get", resource="pods", namespace="dev", name="x"))
    assert decision.explain() == [
        "denied: no RBAC rule allows it",
        "ClusterRoleBinding wrong binds Role pod-reader to User ann, but a ClusterRoleBinding can refer to no Role",
        "RoleBinding dev/gone binds Role dev/no-such-role to User ann, but that role does not exist",
    ]
