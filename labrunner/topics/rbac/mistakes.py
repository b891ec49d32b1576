"""The binding mistakes behind a subject's missing permission, said as an instructor would.

Shared by ``access`` and ``rbac-grants``: a binding that names the subject but grants
nothing here, because its role does not exist (often a roleRef of the wrong kind: a
``--clusterrole`` where the Role of that name was meant), or because it is a RoleBinding in
another namespace, or a RoleBinding where a cluster-wide permission needs a
ClusterRoleBinding.
"""

from __future__ import annotations

from labrunner.cluster import errors
from labrunner.cluster.port import ClusterPort
from labrunner.topics.rbac.evaluate import applies_to
from labrunner.topics.rbac.model import Binding, Identity, Policies
from labrunner.topics.rbac.parse import ObjectError, parse_binding


def naming(policies: Policies, identity: Identity, namespace: str) -> list[Binding]:
    """The learner's bindings (not the API server's defaults) that name ``identity`` and
    could grant in ``namespace`` ("" for the cluster scope)."""
    return [binding for binding in policies.bindings_naming(identity.user, identity.groups)
            if not binding.default and (binding.kind == "ClusterRoleBinding" or binding.namespace == namespace)
            and any(applies_to(subject, identity, binding.namespace) for subject in binding.subjects)]


def dangling(policies: Policies, identity: Identity, namespace: str) -> list[str]:
    """Bindings naming ``identity`` whose role does not exist, each with the near miss: a role
    of the other kind under that name."""
    found: list[str] = []
    for binding in naming(policies, identity, namespace):
        if policies.role_for(binding) is not None:
            continue
        ref = binding.role_ref
        if ref.kind == "ClusterRole" and binding.namespace and policies.role("Role", binding.namespace, ref.name):
            found.append(f"{binding.describe()} has roleRef kind ClusterRole {ref.name}, which does not exist; a Role "
                         f"{binding.namespace}/{ref.name} does: a binding of a Role says roleRef kind Role (kubectl create "
                         f"rolebinding --role={ref.name}). roleRef cannot be changed: delete the binding and create it again")
        elif ref.kind == "Role" and policies.role("ClusterRole", "", ref.name):
            found.append(f"{binding.describe()} has roleRef kind Role {ref.name}, which does not exist in "
                         f"{binding.namespace or 'its namespace'}; a ClusterRole {ref.name} does: say roleRef kind ClusterRole "
                         f"(kubectl create rolebinding --clusterrole={ref.name}). roleRef cannot be changed: delete the binding "
                         "and create it again")
        else:
            found.append(f"{binding.describe()} refers to {ref.kind} {ref.name}, which does not exist, so it grants nothing")
    return found


def nothing_names(who: str, namespace: str) -> str:
    bindings = f"RoleBinding in {namespace} or ClusterRoleBinding" if namespace else "ClusterRoleBinding"
    return f"no {bindings} names {who}"


def elsewhere(cluster: ClusterPort, identity: Identity, namespace: str, target: str) -> list[str]:
    """RoleBindings naming ``identity`` outside ``namespace`` ("" for a cluster-wide request):
    they grant only in their own namespace. ``target`` says what was asked (``nodes``)."""
    try:
        listed = cluster.list("rolebindings")
    except errors.ClusterError:
        return []
    found: list[str] = []
    for obj in listed:
        try:
            binding = parse_binding({**obj, "kind": "RoleBinding"})
        except ObjectError:
            continue
        if binding.namespace == namespace or not any(applies_to(s, identity, binding.namespace) for s in binding.subjects):
            continue
        if namespace:
            found.append(f"{binding.describe()} is in namespace {binding.namespace}: a RoleBinding grants only in its own "
                         f"namespace, not in {namespace}")
        else:
            found.append(f"{binding.describe()} grants only in namespace {binding.namespace}, never {target} at the "
                         "cluster scope: a cluster-wide permission needs a ClusterRoleBinding")
    return found
