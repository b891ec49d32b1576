"""The RBAC engine against the Kubernetes RBAC documentation
(reference/access-authn-authz/rbac) and the authorizer's source
(plugin/pkg/auth/authorizer/rbac/rbac.go, pkg/apis/rbac/v1/evaluation_helpers.go).

Every row's expectation is written from the documentation, quoted or cited above it,
never from the engine's output.
"""

from __future__ import annotations

import pytest

from labrunner.topics.rbac.evaluate import decide
from labrunner.topics.rbac.model import Attributes, Identity, service_account
from labrunner.topics.rbac.parse import policies_from_objects
from tests.topics.rbac.world import WORLD

POLICIES = policies_from_objects(WORLD)


def who(name: str, *groups: str) -> Identity:
    return Identity(user=name, groups=(*groups, "system:authenticated"))


def res(verb: str, resource: str, namespace: str = "", *, group: str = "", sub: str = "", name: str = "") -> Attributes:
    return Attributes(verb=verb, api_group=group, resource=resource, subresource=sub, name=name, namespace=namespace)


def path(verb: str, url: str) -> Attributes:
    return Attributes(verb=verb, path=url)


# (identity, request, the binding and rule index that grant it, or None: denied)
ROWS: list[tuple[Identity, Attributes, tuple[str, int] | None]] = [
    # "a Role always sets permissions within a particular namespace": pod-reader grants read access to pods in dev.
    (who("jane"), res("get", "pods", "dev", name="web"), ("read-pods", 0)),
    (who("jane"), res("list", "pods", "dev"), ("read-pods", 0)),
    # "Permissions are purely additive (there are no deny rules)": a verb no rule lists is denied.
    (who("jane"), res("delete", "pods", "dev", name="web"), None),
    # "A RoleBinding grants permissions within a specific namespace": not in another namespace...
    (who("jane"), res("get", "pods", "prod", name="web"), None),
    # ...nor across all namespaces (namespace "" is the cluster scope: only ClusterRoleBindings apply).
    (who("jane"), res("list", "pods"), None),
    # "Referring to resources": pods/log is a subresource, granted only when named (pods does not imply it).
    (who("jane"), res("get", "pods", "dev", sub="log", name="web"), None),
    (who("logan"), res("get", "pods", "dev", sub="log", name="web"), ("logs", 0)),
    # "A RoleBinding can also reference a ClusterRole ... dave can only read Secrets in the development namespace".
    (who("dave"), res("get", "secrets", "development", name="s"), ("read-secrets", 0)),
    (who("dave"), res("get", "secrets", "prod", name="s"), None),
    # "ClusterRoleBinding ... allows any user in the group manager to read secrets in any namespace".
    (who("ann", "manager"), res("get", "secrets", "prod", name="s"), ("read-secrets-global", 0)),
    (who("ann", "manager"), res("list", "secrets"), ("read-secrets-global", 0)),
    # ClusterRoles grant "cluster-scoped resources (like nodes)" only through a ClusterRoleBinding;
    # jane's RoleBinding dev/nodes-in-dev to node-reader never grants nodes.
    (who("jane"), res("list", "nodes"), None),
    (who("olga", "ops"), res("list", "nodes"), ("node-readers", 0)),
    # "restrict ... to only get or update a ConfigMap named my-configmap" (resourceNames).
    (who("cmu"), res("get", "configmaps", "dev", name="my-configmap"), ("cm", 0)),
    (who("cmu"), res("get", "configmaps", "dev", name="other"), None),
    # "You cannot restrict create or deletecollection requests by their resource name" ...
    (who("cmu"), res("create", "configmaps", "dev"), None),
    # ... "if you restrict list or watch by resourceName, clients must include a metadata.name
    # field selector": a list without it names no object and is denied, with it (name set) allowed.
    (who("cmu"), res("list", "configmaps", "dev"), None),
    (who("cmu"), res("list", "configmaps", "dev", name="my-configmap"), ("cm", 0)),
    # ResourceMatches: "*/scale" matches the scale subresource of every resource...
    (who("scaler"), res("update", "deployments", "dev", group="apps", sub="scale", name="web"), ("scalers", 0)),
    # ...but not the resource itself, nor another subresource.
    (who("scaler"), res("update", "deployments", "dev", group="apps", name="web"), None),
    (who("scaler"), res("get", "pods", "dev", sub="status", name="web"), None),
    # PolicyRule.nonResourceURLs: "*s are allowed, but only as the full, final step in the path"
    # (the RBAC page's healthz example: "/healthz", "/healthz/*"); NonResourceURLMatches: a prefix match.
    (who("pat", "probers"), path("get", "/healthz"), ("probers", 0)),
    (who("pat", "probers"), path("get", "/healthz/ready"), ("probers", 0)),
    (who("pat", "probers"), path("get", "/metrics"), None),
    # Non-resource requests use HTTP-method verbs ("post"); a verb not listed is denied.
    (who("pat", "probers"), path("delete", "/healthz"), None),
    # PolicyRule (API reference): in verbs "'*' represents all verbs", in resources "'*' represents
    # all resources" - of the API groups the rule lists...
    (who("dan", "dev-team"), res("delete", "deployments", "dev", group="apps", name="web"), ("apps-admins", 0)),
    # ...of that API group only: pods are in the core group "".
    (who("dan", "dev-team"), res("get", "pods", "dev", name="web"), None),
    # "Referring to subjects": a ServiceAccount subject; in a RoleBinding, its namespace defaults to the binding's.
    (service_account("dev", "builder"), res("get", "pods", "dev", name="web"), ("builder-reads-pods", 0)),
    (service_account("prod", "builder"), res("get", "pods", "dev", name="web"), None),
    # A ServiceAccount subject named with its namespace, in a ClusterRoleBinding, grants everywhere.
    (service_account("dev", "builder"), res("update", "statefulsets", "qa", group="apps", sub="scale", name="db"),
     ("scalers", 0)),
    # "all service accounts in the qa namespace": Group system:serviceaccounts:qa.
    (service_account("qa", "tester"), res("list", "pods"), ("qa-sees-pods", 0)),
    (service_account("qb", "tester"), res("list", "pods"), None),
    # "Aggregated ClusterRoles": monitoring gets the rules of every ClusterRole labelled to aggregate into it.
    (who("mona"), res("list", "endpointslices", "dev"), ("monitors", 0)),
    (who("mona"), res("delete", "endpointslices", "dev", name="e"), None),
    # cluster-admin's shape: "*" on every resource of every group, and every non-resource URL.
    (who("root", "admins"), res("delete", "nodes", name="n1"), ("admins", 0)),
    (who("root", "admins"), path("get", "/metrics"), ("admins", 1)),
    # No binding names the subject: "Permissions are purely additive", so nothing allows it.
    (who("eve"), res("get", "pods", "dev", name="web"), None),
]


@pytest.mark.parametrize(("identity", "attributes", "expected"), ROWS,
                         ids=[f"{row[0].user}-{row[1].verb}-{row[1].path or row[1].combined_resource}-{index}"
                              for index, row in enumerate(ROWS)])
def test_truth_table(identity: Identity, attributes: Attributes, expected: tuple[str, int] | None) -> None:
    decision = decide(POLICIES, identity.user, identity.groups, attributes)
    assert decision.allowed == (expected is not None), decision.explain()
    if expected is None:
        assert decision.grant is None
    else:
        assert decision.grant is not None
        assert (decision.grant.binding.name, decision.grant.rule_index) == expected


def test_the_table_is_long_enough() -> None:
    assert len(ROWS) >= 25
