"""RBAC: labrunner's own engine for Kubernetes role-based access control.

Pure Python, objects in, verdicts with reasons out, knowing nothing of clusters or
UI (like :mod:`labrunner.topics.networkpolicy`): :mod:`.parse` turns Roles,
ClusterRoles, RoleBindings and ClusterRoleBindings (API JSON) into the model of
:mod:`.model`, filling aggregated ClusterRoles as the aggregation controller
would; :mod:`.evaluate` decides one request as kube-apiserver's RBAC authorizer
does, says which binding, role and rule granted it or why none did, and words the
API server's 403.

The topic's check kinds (:mod:`.kinds`, loaded when first needed): ``access`` (the
cluster's own SubjectAccessReview, explained by the engine), ``rbac-grants`` (what a
subject holds, compared by meaning, with least privilege) and ``kubeconfig-user`` (a
kubeconfig context authenticates as a user).
"""

from __future__ import annotations

from labrunner.registry.types import Resource, Topic, View

TOPIC = Topic(
    name="rbac",
    kinds="labrunner.topics.rbac.kinds:KINDS",
    resources=(
        Resource(plural="roles", kind="Role", group="rbac.authorization.k8s.io"),
        Resource(plural="rolebindings", kind="RoleBinding", group="rbac.authorization.k8s.io"),
        Resource(plural="clusterroles", kind="ClusterRole", group="rbac.authorization.k8s.io", namespaced=False),
        Resource(plural="clusterrolebindings", kind="ClusterRoleBinding", group="rbac.authorization.k8s.io", namespaced=False),
        Resource(plural="certificatesigningrequests", kind="CertificateSigningRequest", group="certificates.k8s.io",
                 namespaced=False),
    ),
    views=(
        View(id="rbac-access", key="a", label="Who may do what",
             description="the step's subjects against the verbs on its resources, each cell explained",
             screen="labrunner.topics.rbac.tui.views:access"),
    ),
)
