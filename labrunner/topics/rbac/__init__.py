"""RBAC: labrunner's own engine for Kubernetes role-based access control.

Pure Python, objects in, verdicts with reasons out, knowing nothing of clusters or
UI (like :mod:`labrunner.topics.networkpolicy`): :mod:`.parse` turns Roles,
ClusterRoles, RoleBindings and ClusterRoleBindings (API JSON) into the model of
:mod:`.model`, filling aggregated ClusterRoles as the aggregation controller
would; :mod:`.evaluate` decides one request as kube-apiserver's RBAC authorizer
does, says which binding, role and rule granted it or why none did, and words the
API server's 403.

Not a topic yet: this package exposes no ``TOPIC`` (the registry skips it), as it
has no check kinds, views or docs of its own so far.
"""

from __future__ import annotations
