"""The RBAC world as frozen values: rules, roles, bindings and a request's attributes.

Built from API objects by :mod:`labrunner.topics.rbac.parse`, aggregated ClusterRoles
already filled, so the evaluator only matches.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Literal

RoleKind = Literal["Role", "ClusterRole"]
BindingKind = Literal["RoleBinding", "ClusterRoleBinding"]
SubjectKind = Literal["User", "Group", "ServiceAccount"]

ALL = "*"
"""rbacv1.VerbAll, APIGroupAll, ResourceAll and NonResourceAll."""
SERVICE_ACCOUNT_PREFIX = "system:serviceaccount:"
SERVICE_ACCOUNTS_GROUP = "system:serviceaccounts"
AUTHENTICATED_GROUP = "system:authenticated"
DEFAULTS_LABEL = ("kubernetes.io/bootstrapping", "rbac-defaults")
"""What the API server's own default roles and bindings carry."""


@dataclass(frozen=True)
class Requirement:
    """One ``matchExpressions`` entry of a label selector."""

    key: str
    operator: Literal["In", "NotIn", "Exists", "DoesNotExist"]
    values: frozenset[str] = frozenset()

    def matches(self, labels: Mapping[str, str]) -> bool:
        # NotIn and DoesNotExist match objects without the key (apimachinery labels.Requirement.Matches).
        if self.operator == "In":
            return self.key in labels and labels[self.key] in self.values
        if self.operator == "NotIn":
            return self.key not in labels or labels[self.key] not in self.values
        if self.operator == "Exists":
            return self.key in labels
        return self.key not in labels


@dataclass(frozen=True)
class Selector:
    """A label selector; the empty one matches every object."""

    match_labels: tuple[tuple[str, str], ...] = ()
    match_expressions: tuple[Requirement, ...] = ()

    def matches(self, labels: Mapping[str, str]) -> bool:
        return all(labels.get(key) == value for key, value in self.match_labels) and all(
            requirement.matches(labels) for requirement in self.match_expressions)


@dataclass(frozen=True)
class Rule:
    """A PolicyRule. A rule is about resources (``resources``, ``apiGroups``) or about
    non-resource paths (``nonResourceURLs``, only meaningful in ClusterRoles)."""

    verbs: tuple[str, ...]
    api_groups: tuple[str, ...] = ()
    resources: tuple[str, ...] = ()
    resource_names: tuple[str, ...] = ()
    non_resource_urls: tuple[str, ...] = ()
    aggregated_from: str = field(default="", compare=False)
    """The ClusterRole this rule was aggregated from ("" for a role's own rule)."""

    def describe(self) -> str:
        """``get, list on pods``, ``every verb on deployments in API group "apps"``, ``get on /healthz``."""
        verbs = "every verb" if ALL in self.verbs else ", ".join(self.verbs) or "no verb"
        if not self.resources and self.non_resource_urls:
            return f"{verbs} on {', '.join(self.non_resource_urls)}"
        return f"{verbs} on {self.describe_target()}"

    def describe_target(self) -> str:
        resources = "every resource" if ALL in self.resources else ", ".join(self.resources) or "no resource"
        if ALL in self.api_groups:
            groups = " in every API group"
        elif tuple(self.api_groups) == ("",):
            groups = ""
        elif not self.api_groups:
            groups = " in no API group"
        else:
            names = ", ".join(f'"{group}"' for group in self.api_groups)
            groups = f" in API group{'s' if len(self.api_groups) > 1 else ''} {names}"
        named = f" named {', '.join(self.resource_names)}" if self.resource_names else ""
        return f"{resources}{groups}{named}"


@dataclass(frozen=True)
class Role:
    """A Role (namespaced) or a ClusterRole (``namespace`` "")."""

    kind: RoleKind
    name: str
    namespace: str = ""
    rules: tuple[Rule, ...] = ()
    labels: tuple[tuple[str, str], ...] = ()
    aggregation: tuple[Selector, ...] | None = None
    """``aggregationRule.clusterRoleSelectors``; None when the ClusterRole is not aggregated."""

    def describe(self) -> str:
        return f"{self.kind} {self.namespace}/{self.name}" if self.namespace else f"{self.kind} {self.name}"


@dataclass(frozen=True)
class Subject:
    kind: SubjectKind
    name: str
    namespace: str = ""

    def describe(self) -> str:
        if self.kind == "ServiceAccount":
            return f"ServiceAccount {self.namespace}/{self.name}" if self.namespace else f"ServiceAccount {self.name}"
        return f"{self.kind} {self.name}"


@dataclass(frozen=True)
class RoleRef:
    kind: RoleKind
    name: str


@dataclass(frozen=True)
class Binding:
    """A RoleBinding (grants in its namespace only) or a ClusterRoleBinding (``namespace`` "")."""

    kind: BindingKind
    name: str
    role_ref: RoleRef
    subjects: tuple[Subject, ...] = ()
    namespace: str = ""
    default: bool = field(default=False, compare=False)
    """One of the API server's own bindings (labelled ``kubernetes.io/bootstrapping: rbac-defaults``):
    what every cluster grants, not what a learner wrote."""

    def describe(self) -> str:
        return f"{self.kind} {self.namespace}/{self.name}" if self.namespace else f"{self.kind} {self.name}"


@dataclass(frozen=True)
class Policies:
    """Every role and binding, aggregated ClusterRoles filled.

    Indexed on first use (roles by kind, namespace and name; bindings by the subject they
    name), so a decision looks only at the bindings naming the asker: a cluster with
    1,000 bindings answers as fast as one with ten."""

    roles: tuple[Role, ...] = ()
    bindings: tuple[Binding, ...] = ()

    @cached_property
    def _roles_by_ref(self) -> dict[tuple[str, str, str], Role]:
        index: dict[tuple[str, str, str], Role] = {}
        for role in self.roles:
            index.setdefault((role.kind, role.namespace, role.name), role)
        return index

    @cached_property
    def _bindings_by_subject(self) -> dict[tuple[str, str, str], list[Binding]]:
        """(kind, namespace, name) -> the bindings naming that subject, ClusterRoleBindings first,
        then RoleBindings, each by namespace and name. A ServiceAccount subject without a
        namespace is filed under its RoleBinding's namespace (in a ClusterRoleBinding it matches
        no one, so it is not filed)."""
        index: dict[tuple[str, str, str], list[Binding]] = {}
        ordered = sorted(self.bindings, key=lambda binding: (binding.kind != "ClusterRoleBinding", binding.namespace, binding.name))
        for binding in ordered:
            for subject in binding.subjects:
                namespace = (subject.namespace or binding.namespace) if subject.kind == "ServiceAccount" else ""
                if subject.kind == "ServiceAccount" and not namespace:
                    continue
                listed = index.setdefault((subject.kind, namespace, subject.name), [])
                if not listed or listed[-1] is not binding:
                    listed.append(binding)
        return index

    def role_for(self, binding: Binding) -> Role | None:
        """The role a binding refers to: a ClusterRole, or a Role in the RoleBinding's namespace
        (a ClusterRoleBinding can refer to no Role)."""
        if binding.kind == "ClusterRoleBinding" and binding.role_ref.kind == "Role":
            return None
        namespace = binding.namespace if binding.role_ref.kind == "Role" else ""
        return self._roles_by_ref.get((binding.role_ref.kind, namespace, binding.role_ref.name))

    def role(self, kind: RoleKind, namespace: str, name: str) -> Role | None:
        """The Role (in ``namespace``) or ClusterRole (``namespace`` "") of that name."""
        return self._roles_by_ref.get((kind, namespace, name))

    def bindings_naming(self, user: str, groups: tuple[str, ...]) -> list[Binding]:
        """The bindings with a subject that is ``user``, one of ``groups``, or (for a
        ``system:serviceaccount:NS:NAME`` user) that service account, in evaluation order."""
        keys = [("User", "", user)] + [("Group", "", group) for group in groups]
        if user.startswith(SERVICE_ACCOUNT_PREFIX):
            namespace, _, name = user[len(SERVICE_ACCOUNT_PREFIX):].partition(":")
            if namespace and name:
                keys.append(("ServiceAccount", namespace, name))
        found = [binding for key in keys for binding in self._bindings_by_subject.get(key, ())]
        if len(keys) == 1 or len(found) < 2:
            return found
        position = self._binding_positions
        return sorted({id(binding): binding for binding in found}.values(), key=lambda binding: position[id(binding)])

    @cached_property
    def _binding_positions(self) -> dict[int, int]:
        ordered = sorted(self.bindings, key=lambda binding: (binding.kind != "ClusterRoleBinding", binding.namespace, binding.name))
        return {id(binding): index for index, binding in enumerate(ordered)}


@dataclass(frozen=True, kw_only=True)
class Attributes:
    """What kube-apiserver's authorizer is asked about one request.

    A resource request names ``resource`` (plural, ``pods``), its ``api_group`` (""
    for the core group), maybe a ``subresource`` (``log``), the object's ``name`` (""
    for list, watch, create and deletecollection without a name) and its ``namespace``
    ("" for cluster-scoped resources and requests across all namespaces). A
    non-resource request sets ``path`` (``/healthz``) instead.
    """

    verb: str
    api_group: str = ""
    resource: str = ""
    subresource: str = ""
    name: str = ""
    namespace: str = ""
    path: str | None = None

    @property
    def is_resource_request(self) -> bool:
        return self.path is None

    @property
    def combined_resource(self) -> str:
        """``pods/log``: how RBAC rules name a subresource."""
        return f"{self.resource}/{self.subresource}" if self.subresource else self.resource


@dataclass(frozen=True)
class Identity:
    """Who asks: the user name and groups the authenticator gave."""

    user: str
    groups: tuple[str, ...] = ()


def service_account(namespace: str, name: str) -> Identity:
    """A service account's token, authenticated: ``system:serviceaccount:<ns>:<name>`` in
    the groups ``system:serviceaccounts``, ``system:serviceaccounts:<ns>`` and
    ``system:authenticated``."""
    return Identity(user=f"{SERVICE_ACCOUNT_PREFIX}{namespace}:{name}",
                    groups=(SERVICE_ACCOUNTS_GROUP, f"{SERVICE_ACCOUNTS_GROUP}:{namespace}", AUTHENTICATED_GROUP))


@dataclass(frozen=True)
class Grant:
    """What allowed a request: the binding, its role and the index of the rule in the
    role's ``rules``."""

    binding: Binding
    role: Role
    rule_index: int
    subject: Subject

    @property
    def rule(self) -> Rule:
        return self.role.rules[self.rule_index]

    def describe(self) -> str:
        origin = f" (aggregated from ClusterRole {self.rule.aggregated_from})" if self.rule.aggregated_from else ""
        return (f"{self.binding.describe()} binds {self.role.describe()} to {self.subject.describe()}; "
                f"its rules[{self.rule_index}]{origin} allows {self.rule.describe()}")


@dataclass(frozen=True)
class Miss:
    """Why one rule of a role did not allow the request."""

    rule_index: int
    rule: Rule
    why: str


@dataclass(frozen=True)
class Considered:
    """A binding that names the subject, looked at for a denied request."""

    binding: Binding
    subject: Subject
    role: Role | None
    out_of_scope: str = ""
    """Why the binding cannot grant this request at all ("" when it can)."""
    misses: tuple[Miss, ...] = ()

    def describe(self) -> list[str]:
        head = f"{self.binding.describe()} binds {self._role_name()} to {self.subject.describe()}"
        if self.out_of_scope:
            return [f"{head}, but {self.out_of_scope}"]
        if self.role is None:
            return [f"{head}, but that role does not exist"]
        if not self.misses:
            return [f"{head}, but {self.role.describe()} has no rules"]
        role = f"{'role' if self.role.kind == 'Role' else 'cluster role'} {self.role.name}"
        if len(self.misses) == 1:
            return [f"{head}: {role} {self.misses[0].why}"]
        return [f"{head}:"] + [f"  {role} rules[{miss.rule_index}] {miss.why}" for miss in self.misses]

    def _role_name(self) -> str:
        ref = self.binding.role_ref
        if ref.kind == "Role" and self.binding.namespace:
            return f"Role {self.binding.namespace}/{ref.name}"
        return f"{ref.kind} {ref.name}"


@dataclass(frozen=True)
class Decision:
    """The verdict on one request and why."""

    allowed: bool
    identity: Identity
    attributes: Attributes
    grant: Grant | None = None
    considered: tuple[Considered, ...] = ()

    def explain(self) -> list[str]:
        if self.grant is not None:
            return [f"allowed: {self.grant.describe()}"]
        lines = ["denied: no RBAC rule allows it"]
        if not self.considered:
            groups = ", ".join(self.identity.groups)
            lines.append(f'no RoleBinding or ClusterRoleBinding names User "{self.identity.user}"'
                         + (f" or any of the groups {groups}" if groups else ""))
        for considered in self.considered:
            lines += considered.describe()
        return lines
