"""The authoriser and the request attributes it decides on, with no server."""

from __future__ import annotations

from labrunner.sandbox.authorization import ADMIN, Authorizer, User, forbidden_message
from labrunner.sandbox.requestinfo import RequestInfo, request_info


def test_request_info_reads_verb_resource_namespace_and_name() -> None:
    assert request_info("GET", "/api/v1/namespaces/demo/pods", {}) == RequestInfo("/api/v1/namespaces/demo/pods", "list", True, "", "v1", "pods", namespace="demo")
    assert request_info("GET", "/api/v1/namespaces/demo/pods", {"watch": "true"}).verb == "watch"
    exec_info = request_info("POST", "/api/v1/namespaces/demo/pods/web/exec", {})
    assert (exec_info.verb, exec_info.resource, exec_info.subresource, exec_info.name) == ("create", "pods", "exec", "web")
    assert request_info("DELETE", "/apis/apps/v1/namespaces/demo/deployments", {}).verb == "deletecollection"
    assert request_info("GET", "/api/v1/namespaces/demo", {}).name == "demo"  # a namespace is a cluster-scoped object
    for path in ("/api", "/apis", "/api/v1", "/apis/apps/v1", "/version"):
        assert not request_info("GET", path, {}).is_resource, path


def test_system_masters_may_do_anything_whatever_rbac_says() -> None:
    decision = Authorizer().decide(ADMIN, request_info("DELETE", "/api/v1/namespaces/kube-system/pods/x", {}))
    assert decision.allowed and decision.reason == ""  # the privileged-group authorizer gives no reason
    assert "system:masters" in decision.explanation[0]


def test_anyone_else_is_refused_in_the_api_servers_words() -> None:
    stranger = User("jane", ("system:authenticated",))
    info = request_info("GET", "/api/v1/namespaces/demo/pods/web", {})
    decision = Authorizer().decide(stranger, info)
    assert not decision.allowed and decision.reason == ""
    assert forbidden_message(stranger, info, "") == 'pods "web" is forbidden: User "jane" cannot get resource "pods" in API group "" in the namespace "demo"'
    cluster = request_info("GET", "/api/v1/nodes", {})
    assert forbidden_message(stranger, cluster, "") == 'nodes is forbidden: User "jane" cannot list resource "nodes" in API group "" at the cluster scope'
    assert forbidden_message(stranger, request_info("GET", "/logs", {}), "no") == 'forbidden: User "jane" cannot get path "/logs": no'
    deployments = request_info("PATCH", "/apis/apps/v1/namespaces/demo/deployments/web/scale", {})
    assert forbidden_message(stranger, deployments, "").startswith(
        'deployments.apps "web" is forbidden: User "jane" cannot patch resource "deployments/scale" in API group "apps"')


def test_a_namespace_is_in_its_own_namespace_and_a_name_selected_by_field_is_named() -> None:
    """RequestInfoFactory: GET /api/v1/namespaces/dev has namespace dev; a list or watch with
    fieldSelector metadata.name=web names web (so resourceNames rules can allow ``get -w``)."""
    stranger = User("jane", ("system:authenticated",))
    assert forbidden_message(stranger, request_info("GET", "/api/v1/namespaces/dev", {}), "") == \
        'namespaces "dev" is forbidden: User "jane" cannot get resource "namespaces" in API group "" in the namespace "dev"'
    watch = request_info("GET", "/api/v1/namespaces/dev/pods", {"watch": "1", "fieldSelector": "metadata.name=web"})
    assert forbidden_message(stranger, watch, "").startswith('pods "web" is forbidden: User "jane" cannot watch')
    assert request_info("GET", "/api/v1/namespaces/dev/pods", {"fieldSelector": "metadata.name!=web"}).selected_name == ""
    finalize = request_info("PUT", "/api/v1/namespaces/dev/finalize", {})
    assert (finalize.resource, finalize.subresource, finalize.name) == ("namespaces", "finalize", "dev")
