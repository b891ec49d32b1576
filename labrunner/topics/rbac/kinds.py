"""The rbac topic's check kinds."""

from __future__ import annotations

from labrunner.registry.types import CheckKind
from labrunner.topics.rbac.access import Access, access
from labrunner.topics.rbac.grants import RbacGrants, rbac_grants
from labrunner.topics.rbac.kubeconfigs import KubeconfigUser, kubeconfig_user
from labrunner.topics.rbac.reading import WATCHED

KINDS = (
    CheckKind(model=Access, run=access, watches=WATCHED, views=("rbac-access",)),
    CheckKind(model=RbacGrants, run=rbac_grants, watches=WATCHED, views=("rbac-access",)),
    CheckKind(model=KubeconfigUser, run=kubeconfig_user, polled=True, prerequisite=True),
)
